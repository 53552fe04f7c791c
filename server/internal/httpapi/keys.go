package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/audit"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/team"
)

type keyJSON struct {
	ID         string     `json:"id"`
	Type       string     `json:"type"`
	Mode       string     `json:"mode"`
	Name       string     `json:"name"`
	Redacted   string     `json:"redacted"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	Key        string     `json:"key,omitempty"`
}

func keyOut(k apikey.Key) keyJSON {
	return keyJSON{ID: k.ID, Type: string(k.Type), Mode: string(k.Mode), Name: k.Name, Redacted: k.Redacted,
		CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, ExpiresAt: k.ExpiresAt}
}

func issuedOut(k apikey.Issued) keyJSON {
	j := keyOut(k.Key)
	j.Key = k.Secret
	return j
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.Keys.List(r.Context(), principalOf(r.Context()).scope())
	if err != nil {
		return err
	}
	out := make([]keyJSON, len(keys))
	for i, k := range keys {
		out[i] = keyOut(k)
	}
	return ok(w, http.StatusOK, out)
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Type apikey.Type `json:"type"`
		Name string      `json:"name"`
	}
	if err := decode(r, &in, false); err != nil {
		return err
	}
	k, err := s.Keys.CreateNamed(r.Context(), principalOf(r.Context()).scope(), in.Type, in.Name)
	if err != nil {
		return err
	}
	s.audit(r, k.Mode, audit.KeyCreated, k.Redacted, string(k.Type))
	return ok(w, http.StatusCreated, issuedOut(k))
}

func (s *Server) rollKey(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ExpiresIn int64 `json:"expires_in"`
	}
	if err := decode(r, &in, true); err != nil {
		return err
	}
	if in.ExpiresIn < 0 || in.ExpiresIn > int64(apikey.MaxRollGrace/time.Second) {
		in.ExpiresIn = -1 // let the service name the rule
	}
	sc := principalOf(r.Context()).scope()
	old, err := s.Keys.Get(r.Context(), sc, r.PathValue("keyId"))
	if err != nil {
		return err
	}
	k, err := s.Keys.Roll(r.Context(), sc, old.ID, time.Duration(in.ExpiresIn)*time.Second)
	if err != nil {
		return err
	}
	s.audit(r, k.Mode, audit.KeyRolled, old.Redacted, fmt.Sprintf("new key %s; the old one works %d s more", k.Redacted, in.ExpiresIn))
	return ok(w, http.StatusCreated, issuedOut(k))
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) error {
	sc := principalOf(r.Context()).scope()
	k, err := s.Keys.Get(r.Context(), sc, r.PathValue("keyId"))
	if err != nil {
		return err
	}
	if err := s.Keys.Revoke(r.Context(), sc, k.ID); err != nil {
		return err
	}
	s.audit(r, k.Mode, audit.KeyRevoked, k.Redacted, string(k.Type))
	now := s.Now().UTC()
	k.RevokedAt = &now
	return ok(w, http.StatusOK, struct {
		keyJSON
		Revoked bool `json:"revoked"`
	}{keyOut(k), true})
}

type usageHourJSON struct {
	Hour        time.Time `json:"hour"`
	Requests    int64     `json:"requests"`
	Errors      int64     `json:"errors"`
	RateLimited int64     `json:"rate_limited"`
}

func (s *Server) keyUsage(w http.ResponseWriter, r *http.Request) error {
	u, err := s.Keys.Usage(r.Context(), principalOf(r.Context()).scope(), r.PathValue("keyId"))
	if err != nil {
		return err
	}
	hours := make([]usageHourJSON, len(u.Hours))
	var tot usageHourJSON
	for i, h := range u.Hours {
		hours[i] = usageHourJSON{h.Hour, h.Requests, h.Errors, h.RateLimited}
		tot.Requests += h.Requests
		tot.Errors += h.Errors
		tot.RateLimited += h.RateLimited
	}
	return ok(w, http.StatusOK, map[string]any{
		"key_id": u.KeyID, "last_used_at": u.LastUsedAt, "hours": hours,
		"totals": map[string]int64{"requests": tot.Requests, "errors": tot.Errors, "rate_limited": tot.RateLimited},
	})
}

type teamJSON struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
	// AllowedOrigins are the key's mode's; only secret keys see them.
	AllowedOrigins []string `json:"allowed_origins,omitempty"`
	// Widget is the key's mode's widget settings; only secret keys see it.
	Widget *widgetJSON `json:"widget,omitempty"`
	// The pages mail links open (the key's mode's) and the team's sender;
	// only secret keys see them.
	PasswordResetURL *string   `json:"password_reset_url,omitempty"`
	ChatURL          *string   `json:"chat_url,omitempty"`
	MailFrom         *string   `json:"mail_from,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
}

// widgetJSON is what the widget shows of a team in one mode ("" is unset).
type widgetJSON struct {
	Availability string `json:"availability"`
	ReplyTime    string `json:"reply_time"`
	AvatarURL    string `json:"avatar_url"`
}

// teamOf is team t as a secret key of mode m sees it.
func teamOf(t team.Team, m scope.Mode) teamJSON {
	set := t.Settings[m]
	pages := set.Pages
	return teamJSON{ID: t.ID, Slug: t.Slug, Name: t.Name, AllowedOrigins: append([]string{}, set.AllowedOrigins...),
		Widget:           &widgetJSON{Availability: set.Widget.Availability, ReplyTime: set.Widget.ReplyTime, AvatarURL: set.Widget.AvatarURL},
		PasswordResetURL: &pages.PasswordResetURL, ChatURL: &pages.ChatURL, MailFrom: &t.MailFrom, CreatedAt: t.CreatedAt}
}

func (s *Server) getTeam(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r.Context())
	if p.Key.Type == apikey.Secret {
		return ok(w, http.StatusOK, teamOf(p.Team, p.Key.Mode))
	}
	return ok(w, http.StatusOK, teamJSON{ID: p.Team.ID, Slug: p.Team.Slug, Name: p.Team.Name, CreatedAt: p.Team.CreatedAt})
}

func (s *Server) updateTeam(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name             *string   `json:"name"`
		AllowedOrigins   *[]string `json:"allowed_origins"`
		PasswordResetURL *string   `json:"password_reset_url"`
		ChatURL          *string   `json:"chat_url"`
		MailFrom         *string   `json:"mail_from"`
		// The widget's fields an integration sets; those left out, and
		// those only the dashboard sets (title, colour, …), stay.
		Widget *struct {
			Availability *string `json:"availability"`
			ReplyTime    *string `json:"reply_time"`
			AvatarURL    *string `json:"avatar_url"`
		} `json:"widget"`
	}
	if err := decode(r, &in, false); err != nil {
		return err
	}
	sc := principalOf(r.Context()).scope()
	u := team.Update{Name: in.Name, AllowedOrigins: in.AllowedOrigins,
		PasswordResetURL: in.PasswordResetURL, ChatURL: in.ChatURL, MailFrom: in.MailFrom}
	if p := in.Widget; p != nil {
		u.EditWidget = func(w *team.Widget) {
			for _, f := range []struct{ from, to *string }{{p.Availability, &w.Availability}, {p.ReplyTime, &w.ReplyTime},
				{p.AvatarURL, &w.AvatarURL}} {
				if f.from != nil {
					*f.to = *f.from
				}
			}
		}
	}
	t, err := s.Teams.Apply(r.Context(), sc, u)
	if err != nil {
		return err
	}
	if in.Name != nil {
		s.audit(r, "", audit.TeamRenamed, t.Name, "")
	}
	if in.AllowedOrigins != nil {
		s.audit(r, sc.Mode, audit.OriginsChanged, "", strings.Join(t.Settings[sc.Mode].AllowedOrigins, " "))
	}
	if in.Widget != nil {
		s.audit(r, sc.Mode, audit.WidgetChanged, "", "")
	}
	if in.PasswordResetURL != nil || in.ChatURL != nil || in.MailFrom != nil {
		pages := t.Settings[sc.Mode].Pages
		s.audit(r, sc.Mode, audit.MailChanged, "", "password_reset_url="+pages.PasswordResetURL+" chat_url="+pages.ChatURL+
			" mail_from="+t.MailFrom)
	}
	return ok(w, http.StatusOK, teamOf(t, sc.Mode))
}
