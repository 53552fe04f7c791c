package dashboard

import (
	"bytes"
	"image/png"
	"net/http"

	"github.com/pquerna/otp"

	"github.com/cstar-chat/cstar/server/internal/agent"
	"github.com/cstar-chat/cstar/server/internal/errs"
)

// account is the agent's own page: who they are, and their second factor
// (set up here; an agent whose team requires one comes here first).
func (h *Handler) account(w http.ResponseWriter, r *req) error {
	secret, url, err := h.Agents.PendingTOTP(r.Context(), r.Agent)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "account", map[string]any{"Pending": secret, "URL": url,
		"Required": r.Team.RequireTOTP, "Enrolling": r.Session.Stage == agent.WantsEnroll}, "Your account")
	return nil
}

func (h *Handler) beginTOTP(w http.ResponseWriter, r *req) error {
	if r.Agent.TOTP {
		return h.back(w, r, r.base()+"/account", "Two-factor sign-in is already on.")
	}
	if _, _, err := h.Agents.BeginTOTP(r.Context(), r.Agent); err != nil {
		return err
	}
	http.Redirect(w, r.Request, r.base()+"/account", http.StatusSeeOther)
	return nil
}

// totpQR is the QR code of the secret being set up, for an authenticator
// app's camera (served as an image: the page's policy allows no inline
// data but its own).
func (h *Handler) totpQR(w http.ResponseWriter, r *req) error {
	_, url, err := h.Agents.PendingTOTP(r.Context(), r.Agent)
	if err != nil {
		return err
	}
	if url == "" {
		return errs.NotFoundf("No second factor is being set up")
	}
	key, err := otp.NewKeyFromURL(url)
	if err != nil {
		return err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(buf.Bytes())
	return nil
}

// enableTOTP turns the second factor on with a first code; a session made
// to set it up becomes a full one (a new cookie).
func (h *Handler) enableTOTP(w http.ResponseWriter, r *req) error {
	iss, err := h.Agents.EnableTOTP(r.Context(), r.Agent, r.Session, r.PostFormValue("code"), h.client(r))
	if err != nil {
		return h.refused(w, r, r.base()+"/account", err)
	}
	if iss.Token != "" {
		h.setSession(w, r.Request, iss)
	}
	return h.back(w, r, r.base()+"/account", "Two-factor sign-in is on: the next sign-in asks for a code.")
}

func (h *Handler) disableTOTP(w http.ResponseWriter, r *req) error {
	if err := h.Agents.DisableTOTP(r.Context(), r.Agent, r.PostFormValue("code")); err != nil {
		return h.refused(w, r, r.base()+"/account", err)
	}
	return h.back(w, r, r.base()+"/account", "Two-factor sign-in is off.")
}

func (h *Handler) savedReplies(w http.ResponseWriter, r *req) error {
	list, err := h.Agents.SavedReplies(r.Context(), r.Agent.TeamID)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "replies", map[string]any{"Replies": list}, "Saved replies")
	return nil
}

func (h *Handler) saveReply(w http.ResponseWriter, r *req) error {
	to := r.base() + "/saved-replies"
	if _, err := h.Agents.SaveReply(r.Context(), r.Agent, r.PostFormValue("title"), r.PostFormValue("body")); err != nil {
		return h.refused(w, r, to, err)
	}
	return h.back(w, r, to, "Saved the reply.")
}

func (h *Handler) deleteReply(w http.ResponseWriter, r *req) error {
	to := r.base() + "/saved-replies"
	if err := h.Agents.DeleteReply(r.Context(), r.Agent, r.PathValue("id")); err != nil {
		return h.refused(w, r, to, err)
	}
	return h.back(w, r, to, "Deleted the saved reply.")
}
