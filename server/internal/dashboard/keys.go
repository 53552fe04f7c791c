package dashboard

import (
	"net/http"
	"strconv"
	"time"

	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/audit"
	"github.com/cstar-chat/cstar/server/internal/errs"
)

func (h *Handler) settingsHome(w http.ResponseWriter, r *req) error {
	http.Redirect(w, r.Request, r.base()+"/settings/keys", http.StatusSeeOther)
	return nil
}

// keyLabel names a key for people: its name, else its type.
func keyLabel(k apikey.Key) string {
	if k.Name != "" {
		return k.Name
	}
	if k.Type == apikey.Secret {
		return "Secret key"
	}
	return "Publishable key"
}

// keys lists the mode's keys that can still authenticate; issued, when a
// key was just created or rolled, is shown this once and never again.
func (h *Handler) keysPage(w http.ResponseWriter, r *req, status int, issued *apikey.Issued, note string) error {
	list, err := h.Keys.List(r.Context(), r.scope())
	if err != nil {
		return err
	}
	h.render(w, r, status, "keys", map[string]any{"Keys": list, "Issued": issued, "Note": note,
		"Graces": rollGraces}, "API keys")
	return nil
}

func (h *Handler) keys(w http.ResponseWriter, r *req) error {
	return h.keysPage(w, r, http.StatusOK, nil, "")
}

// rollGraces are the choices of how long a rolled key keeps working.
var rollGraces = []struct {
	Seconds int
	Label   string
}{{0, "stops now"}, {3600, "works 1 more hour"}, {86400, "works 24 more hours"}, {604800, "works 7 more days"}}

// createKey issues a key of the view's mode and shows it once: the answer
// to this POST is the only place its secret appears (nothing caches it).
func (h *Handler) createKey(w http.ResponseWriter, r *req) error {
	k, err := h.Keys.CreateNamed(r.Context(), r.scope(), apikey.Type(r.PostFormValue("type")), r.PostFormValue("name"))
	if err != nil {
		return h.refused(w, r, r.base()+"/settings/keys", err)
	}
	h.record(r, audit.Entry{Mode: r.Mode, Action: audit.KeyCreated, Target: k.Redacted, Detail: keyLabel(k.Key)})
	return h.keysPage(w, r, http.StatusCreated, &k, "Your new key is below. Copy it now: it is shown only this once.")
}

// rollKey replaces a key; the old one keeps working for the chosen grace.
func (h *Handler) rollKey(w http.ResponseWriter, r *req) error {
	secs, err := strconv.Atoi(r.PostFormValue("grace"))
	if err != nil {
		secs = 0
	}
	old, err := h.Keys.Get(r.Context(), r.scope(), r.PathValue("id"))
	if err != nil {
		return h.refused(w, r, r.base()+"/settings/keys", err)
	}
	k, err := h.Keys.Roll(r.Context(), r.scope(), old.ID, time.Duration(secs)*time.Second)
	if err != nil {
		return h.refused(w, r, r.base()+"/settings/keys", err)
	}
	detail := "the old key stops at once"
	if secs > 0 {
		detail = "the old key works " + (time.Duration(secs) * time.Second).String() + " more"
	}
	h.record(r, audit.Entry{Mode: r.Mode, Action: audit.KeyRolled, Target: old.Redacted, Detail: "new key " + k.Redacted + "; " + detail})
	return h.keysPage(w, r, http.StatusCreated, &k, "The key was rolled: "+detail+". Copy the new key now: it is shown only this once.")
}

// revokeKey stops a key at once; sockets opened with it close on every
// process within a second.
func (h *Handler) revokeKey(w http.ResponseWriter, r *req) error {
	to := r.base() + "/settings/keys"
	k, err := h.Keys.Get(r.Context(), r.scope(), r.PathValue("id"))
	if err != nil {
		return h.refused(w, r, to, err)
	}
	if err := h.Keys.Revoke(r.Context(), r.scope(), k.ID); err != nil {
		return h.refused(w, r, to, err)
	}
	h.record(r, audit.Entry{Mode: r.Mode, Action: audit.KeyRevoked, Target: k.Redacted, Detail: keyLabel(k)})
	return h.back(w, r, to, "Revoked "+k.Redacted+": it stopped working, and widgets using it were disconnected.")
}

// keyUsage charts a key's last 7 days, hour by hour: requests, and the
// refused ones (errors, of which rate-limited).
func (h *Handler) keyUsage(w http.ResponseWriter, r *req) error {
	k, err := h.Keys.Get(r.Context(), r.scope(), r.PathValue("id"))
	if errs.Is(err, errs.NotFound) {
		return err
	}
	if err != nil {
		return err
	}
	u, err := h.Keys.UsageHours(r.Context(), r.scope(), k.ID, apikey.MaxUsageHours)
	if err != nil {
		return err
	}
	c := usageChart(u.Hours)
	h.render(w, r, http.StatusOK, "usage", map[string]any{"Key": k, "Label": keyLabel(k), "Usage": u, "Chart": c}, "Usage of "+k.Redacted)
	return nil
}
