package dashboard

import (
	"context"
	"html/template"
	"net/http"
	"regexp"
	"strings"

	"github.com/cstar-chat/cstar/server/internal/agent"
	"github.com/cstar-chat/cstar/server/internal/audit"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/mail"
	"github.com/cstar-chat/cstar/server/internal/team"
)

// Mail is what the dashboard shows of mail (mail.Service): the outbox's
// latest jobs and, on a server without a relay, the dev mailbox.
type Mail interface {
	Dev() bool
	DevMailbox(ctx context.Context, teamID string, limit int) ([]mail.DevMail, error)
	Recent(ctx context.Context, teamID string, limit int) ([]mail.Job, error)
}

// MailAgents is what the dashboard needs of agents for mail (agent.Service).
type MailAgents interface {
	RequestPasswordReset(ctx context.Context, email, ip string) error
	ResetPassword(ctx context.Context, token, pw string, c agent.Client) (agent.Agent, agent.Issued, error)
	SetNotifications(ctx context.Context, a agent.Agent, n agent.Notifications) (agent.Agent, error)
}

const msgResetSent = "If an agent signs in with this address, a link to choose a new password is on its way. It works for 30 minutes."

func (h *Handler) forgotPage(w http.ResponseWriter, r *req) error {
	h.render(w, r, http.StatusOK, "forgot", map[string]any{}, "Forgot your password")
	return nil
}

// forgot queues a reset link; the answer is the same whether an agent has
// the address or not (the worker looks it up).
func (h *Handler) forgot(w http.ResponseWriter, r *req) error {
	email := r.PostFormValue("email")
	err := h.Agents.RequestPasswordReset(r.Context(), email, h.clientIP(r.Request))
	switch errs.CodeOf(err) {
	case "":
		h.render(w, r, http.StatusOK, "forgot", map[string]any{"Sent": msgResetSent}, "Forgot your password")
		return nil
	case errs.Invalid, errs.RateLimited, errs.Unavailable:
		e := errs.Public(err)
		h.render(w, r, e.Code.HTTPStatus(), "forgot", map[string]any{"Email": email, "Error": e.Message}, "Forgot your password")
		return nil
	}
	return err
}

// resetPage is where a reset link opens: the token is in the fragment,
// which never reaches a server; the page's script moves it into the form.
func (h *Handler) resetPage(w http.ResponseWriter, r *req) error {
	h.render(w, r, http.StatusOK, "reset", map[string]any{}, "Choose a new password")
	return nil
}

// reset sets the new password, ends every other session of the agent (their
// open dashboards close) and signs this browser in.
func (h *Handler) reset(w http.ResponseWriter, r *req) error {
	tok := r.PostFormValue("token")
	_, iss, err := h.Agents.ResetPassword(r.Context(), tok, r.PostFormValue("password"), h.client(r))
	if err != nil {
		switch errs.CodeOf(err) {
		case errs.Invalid, errs.Unavailable:
			e := errs.Public(err)
			h.render(w, r, e.Code.HTTPStatus(), "reset", map[string]any{"Token": tok, "Error": e.Message,
				"BadLink": e.Field == "token"}, "Choose a new password")
			return nil
		}
		return err
	}
	h.setSession(w, r.Request, iss)
	h.flash(w, r, "Your password is changed; you are signed out everywhere else.")
	to := Prefix + "/inbox"
	switch iss.Session.Stage {
	case agent.WantsCode:
		to = Prefix + "/login/code"
	case agent.WantsEnroll:
		to = Prefix + "/account"
	}
	http.Redirect(w, r.Request, to, http.StatusSeeOther)
	return nil
}

// setNotifications saves what the agent wants to hear of by email.
func (h *Handler) setNotifications(w http.ResponseWriter, r *req) error {
	n := agent.Notifications{NewConversations: r.PostFormValue("new_conversations") == "on",
		AssignedReplies: r.PostFormValue("assigned_replies") == "on"}
	if _, err := h.Agents.SetNotifications(r.Context(), r.Agent, n); err != nil {
		return err
	}
	return h.back(w, r, r.base()+"/account", "Saved your email notifications.")
}

// mailView is a dev mailbox message as the page shows it: its text with
// the links made clickable.
type mailView struct {
	mail.DevMail
	Body template.HTML
}

var mailLinkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// linkify escapes text and turns its http(s) links into links.
func linkify(text string) template.HTML {
	var b strings.Builder
	last := 0
	for _, m := range mailLinkRE.FindAllStringIndex(text, -1) {
		b.WriteString(template.HTMLEscapeString(text[last:m[0]]))
		u := text[m[0]:m[1]]
		b.WriteString(`<a href="` + template.HTMLEscapeString(u) + `" rel="noreferrer">` + template.HTMLEscapeString(u) + `</a>`)
		last = m[1]
	}
	b.WriteString(template.HTMLEscapeString(text[last:]))
	return template.HTML(b.String())
}

// emailSettings shows the view's mode's pages that mail links open, the
// team's sender, the latest mail and, without a relay, the dev mailbox.
func (h *Handler) emailSettings(w http.ResponseWriter, r *req) error {
	recent, err := h.Mail.Recent(r.Context(), r.Agent.TeamID, 20)
	if err != nil {
		return err
	}
	data := map[string]any{"Pages": r.Team.Settings[r.Mode].Pages, "From": r.Team.MailFrom, "Recent": recent, "Dev": h.Mail.Dev()}
	if h.Mail.Dev() {
		box, err := h.Mail.DevMailbox(r.Context(), r.Agent.TeamID, 20)
		if err != nil {
			return err
		}
		views := make([]mailView, len(box))
		for i, m := range box {
			views[i] = mailView{DevMail: m, Body: linkify(m.Text)}
		}
		data["Mailbox"] = views
	}
	h.render(w, r, http.StatusOK, "email", data, "Email")
	return nil
}

// saveEmailSettings writes the mode's pages and, in live mode, the sender.
func (h *Handler) saveEmailSettings(w http.ResponseWriter, r *req) error {
	reset, chat := r.PostFormValue("password_reset_url"), r.PostFormValue("chat_url")
	u := team.Update{PasswordResetURL: &reset, ChatURL: &chat}
	if r.Form.Has("mail_from") {
		from := r.PostFormValue("mail_from")
		u.MailFrom = &from
	}
	to := r.base() + "/settings/email"
	t, err := h.Teams.Apply(r.Context(), r.scope(), u)
	if err != nil {
		return h.refused(w, r, to, err)
	}
	p := t.Settings[r.Mode].Pages
	h.record(r, audit.Entry{Mode: r.Mode, Action: audit.MailChanged,
		Detail: "password_reset_url=" + p.PasswordResetURL + " chat_url=" + p.ChatURL + " mail_from=" + t.MailFrom})
	return h.back(w, r, to, "Saved the email settings.")
}
