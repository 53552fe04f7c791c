package dashboard

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cstar-chat/cstar/server/internal/agent"
	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/audit"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/page"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/team"
)

func (h *Handler) origins(w http.ResponseWriter, r *req) error {
	h.render(w, r, http.StatusOK, "origins", map[string]any{"Origins": strings.Join(r.Team.Settings[r.Mode].AllowedOrigins, "\n")},
		"Allowed origins")
	return nil
}

// saveOrigins sets the view's mode's allowed origins, one a line.
func (h *Handler) saveOrigins(w http.ResponseWriter, r *req) error {
	list := []string{}
	for _, l := range strings.Split(r.PostFormValue("origins"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			list = append(list, l)
		}
	}
	to := r.base() + "/settings/origins"
	t, err := h.Teams.Apply(r.Context(), r.scope(), team.Update{AllowedOrigins: &list})
	if err != nil {
		return h.refused(w, r, to, err)
	}
	detail := strings.Join(t.Settings[r.Mode].AllowedOrigins, " ")
	if detail == "" {
		detail = "any origin"
	}
	h.record(r, audit.Entry{Mode: r.Mode, Action: audit.OriginsChanged, Detail: detail})
	return h.back(w, r, to, "Saved the allowed origins.")
}

// redactSecret shows the start and end of a secret, as keys are shown.
func redactSecret(s string) string {
	if len(s) < 14 {
		return "…"
	}
	return s[:9] + "…" + s[len(s)-4:]
}

func (h *Handler) identityPage(w http.ResponseWriter, r *req, status int, shown string) error {
	sec, err := h.Identity.Secret(r.Context(), r.scope())
	if err != nil && !errors.Is(err, errs.ErrNotFound) {
		return err
	}
	on, err := h.Identity.UserHashEnabled(r.Context(), r.scope())
	if err != nil {
		return err
	}
	h.render(w, r, status, "identity", map[string]any{"Redacted": redactSecret(sec.Current), "Secret": sec, "Shown": shown,
		"UserHash": on, "Graces": rollGraces}, "Identity verification")
	return nil
}

func (h *Handler) identity(w http.ResponseWriter, r *req) error {
	return h.identityPage(w, r, http.StatusOK, "")
}

// rollIdentitySecret replaces the mode's identity secret and shows the new
// one this once.
func (h *Handler) rollIdentitySecret(w http.ResponseWriter, r *req) error {
	secs, _ := strconv.Atoi(r.PostFormValue("grace"))
	sec, err := h.Identity.RollSecret(r.Context(), r.scope(), time.Duration(secs)*time.Second)
	if err != nil {
		return h.refused(w, r, r.base()+"/settings/identity", err)
	}
	detail := "the old secret stops at once"
	if secs > 0 {
		detail = "the old secret works " + (time.Duration(secs) * time.Second).String() + " more"
	}
	h.record(r, audit.Entry{Mode: r.Mode, Action: audit.IdentitySecretRolled, Target: redactSecret(sec.Current), Detail: detail})
	return h.identityPage(w, r, http.StatusCreated, sec.Current)
}

func (h *Handler) setUserHash(w http.ResponseWriter, r *req) error {
	on := r.PostFormValue("enabled") == "1"
	to := r.base() + "/settings/identity"
	if err := h.Identity.SetUserHashEnabled(r.Context(), r.scope(), on); err != nil {
		return h.refused(w, r, to, err)
	}
	word := "off"
	if on {
		word = "on"
	}
	h.record(r, audit.Entry{Mode: r.Mode, Action: audit.UserHashChanged, Detail: "user hash " + word})
	return h.back(w, r, to, "Identification by user hash is "+word+".")
}

func (h *Handler) widget(w http.ResponseWriter, r *req) error {
	h.render(w, r, http.StatusOK, "widget", map[string]any{"W": r.Team.Settings[r.Mode].Widget,
		"Origin": h.origin(r.Request), "Locales": team.WidgetLocales, "ReplyTimes": team.WidgetReplyTimes, "KeyPrefix": apikey.Prefix(apikey.Publishable, r.Mode)},
		"Widget")
	return nil
}

func (h *Handler) saveWidget(w http.ResponseWriter, r *req) error {
	wg := team.Widget{Title: r.PostFormValue("title"), Greeting: r.PostFormValue("greeting"), Color: r.PostFormValue("color"),
		Position: r.PostFormValue("position"), Locale: r.PostFormValue("locale"), Availability: r.PostFormValue("availability"),
		ReplyTime: r.PostFormValue("reply_time"), AvatarURL: r.PostFormValue("avatar_url")}
	to := r.base() + "/settings/widget"
	t, err := h.Teams.Apply(r.Context(), r.scope(), team.Update{Widget: &wg})
	if err != nil {
		return h.refused(w, r, to, err)
	}
	nw := t.Settings[r.Mode].Widget
	h.record(r, audit.Entry{Mode: r.Mode, Action: audit.WidgetChanged, Detail: strings.Join([]string{"title " + strconv.Quote(nw.Title),
		"colour " + nw.Color, "position " + nw.Position, "locale " + nw.Locale, "availability " + nw.Availability,
		"reply time " + nw.ReplyTime, "avatar " + nw.AvatarURL}, ", ")})
	return h.back(w, r, to, "Saved the widget's settings.")
}

func (h *Handler) teamPage(w http.ResponseWriter, r *req) error {
	return h.teamView(w, r, http.StatusOK, "", "")
}

// teamView shows the team, its agents and open invitations; link, when an
// invitation was just made, is shown this once.
func (h *Handler) teamView(w http.ResponseWriter, r *req, status int, link, linkEmail string) error {
	agents, err := h.Agents.List(r.Context(), r.Agent.TeamID)
	if err != nil {
		return err
	}
	invs, err := h.Agents.Invitations(r.Context(), r.Agent.TeamID)
	if err != nil {
		return err
	}
	h.render(w, r, status, "team", map[string]any{"Agents": agents, "Invitations": invs, "Link": link, "LinkEmail": linkEmail,
		"Roles": []agent.Role{agent.Member, agent.Admin, agent.Owner}, "Live": r.Mode == scope.Live}, "Team")
	return nil
}

// saveTeam changes the team's name and its two-factor rule (from live only:
// they are the whole team's).
func (h *Handler) saveTeam(w http.ResponseWriter, r *req) error {
	to := r.base() + "/settings/team"
	name := r.PostFormValue("name")
	req2fa := r.PostFormValue("require_totp") == "1"
	u := team.Update{}
	if name != r.Team.Name {
		u.Name = &name
	}
	if req2fa != r.Team.RequireTOTP {
		u.RequireTOTP = &req2fa
	}
	if u.Name == nil && u.RequireTOTP == nil {
		return h.back(w, r, to, "Nothing changed.")
	}
	t, err := h.Teams.Apply(r.Context(), r.scope(), u)
	if err != nil {
		return h.refused(w, r, to, err)
	}
	if u.Name != nil {
		h.record(r, audit.Entry{Action: audit.TeamRenamed, Target: t.Name, Detail: "was " + r.Team.Name})
	}
	if u.RequireTOTP != nil {
		word := "not required"
		if t.RequireTOTP {
			word = "required"
		}
		h.record(r, audit.Entry{Action: audit.TOTPRuleChanged, Detail: "two-factor sign-in " + word})
	}
	return h.back(w, r, to, "Saved the team.")
}

// invite makes an invitation and shows its link this once (the inviter
// sends it; email delivery can come later).
func (h *Handler) invite(w http.ResponseWriter, r *req) error {
	inv, tok, err := h.Agents.Invite(r.Context(), r.Agent, r.PostFormValue("email"), agent.Role(r.PostFormValue("role")))
	if err != nil {
		return h.refused(w, r, r.base()+"/settings/team", err)
	}
	h.record(r, audit.Entry{Action: audit.AgentInvited, Target: inv.Email, Detail: "role " + string(inv.Role)})
	return h.teamView(w, r, http.StatusCreated, h.origin(r.Request)+Prefix+"/invite#token="+tok, inv.Email)
}

func (h *Handler) withdrawInvitation(w http.ResponseWriter, r *req) error {
	to := r.base() + "/settings/team"
	inv, err := h.Agents.Withdraw(r.Context(), r.Agent, r.PathValue("id"))
	if err != nil {
		return h.refused(w, r, to, err)
	}
	h.record(r, audit.Entry{Action: audit.InvitationWithdrawn, Target: inv.Email})
	return h.back(w, r, to, "Withdrew the invitation of "+inv.Email+".")
}

func (h *Handler) setRole(w http.ResponseWriter, r *req) error {
	to := r.base() + "/settings/team"
	a, err := h.Agents.SetRole(r.Context(), r.Agent, r.PathValue("id"), agent.Role(r.PostFormValue("role")))
	if err != nil {
		return h.refused(w, r, to, err)
	}
	h.record(r, audit.Entry{Action: audit.AgentRoleChanged, Target: a.Email, Detail: "role " + string(a.Role)})
	return h.back(w, r, to, a.Name+" is now "+string(a.Role)+".")
}

// removeAgent takes an agent off the team: their sessions end and their
// open dashboards close at once, on every process.
func (h *Handler) removeAgent(w http.ResponseWriter, r *req) error {
	to := r.base() + "/settings/team"
	a, err := h.Agents.Remove(r.Context(), r.Agent, r.PathValue("id"))
	if err != nil {
		return h.refused(w, r, to, err)
	}
	h.record(r, audit.Entry{Action: audit.AgentRemoved, Target: a.Email, Detail: "was " + string(a.Role)})
	return h.back(w, r, to, "Removed "+a.Name+".")
}

// auditLog pages the log of the view's mode and of the team as a whole.
func (h *Handler) auditLog(w http.ResponseWriter, r *req) error {
	p, err := page.NewParams(50, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	pg, err := h.Audit.List(r.Context(), r.scope(), p)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "audit", map[string]any{"Entries": pg.Items, "Next": pg.Next}, "Audit log")
	return nil
}
