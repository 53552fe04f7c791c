package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/identity"
	"github.com/cstar-chat/cstar/server/internal/mail"
	"github.com/cstar-chat/cstar/server/internal/team"
	"github.com/cstar-chat/cstar/server/internal/wire"
	"github.com/cstar-chat/cstar/server/protocol"
)

var errWidgetSecret = errs.New(errs.Forbidden, "Use a publishable key for the widget API")

// widget wraps a widget handler: a publishable key only (its team and mode
// are the scope), the widget's budgets, the team's allowed origins, CORS,
// usage counting and rendering. Nothing it answers may be cached, since
// answers carry session tokens and customer data.
func (s *Server) widget(h handlerFunc) http.Handler {
	inner := s.keyed(h, keyedRules{
		admit: func(k apikey.Key) error {
			if k.Type != apikey.Publishable {
				return errWidgetSecret
			}
			return nil
		},
		limit: s.widgetLimit,
		team: func(r *http.Request, k apikey.Key) (team.Team, error) {
			return s.Teams.Resolve(r.Context(), k.TeamID)
		},
		authorize: func(*http.Request, apikey.Key, team.Team) error { return nil },
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		inner.ServeHTTP(w, r)
	})
}

// widgetLimit charges the widget's budgets: per publishable key and client
// IP (generous: a household or an office behind one address), and per
// session when the request carries one, so that one visitor cannot spend
// the others' share. The session is counted by a hash: limiter keys are
// stored (on PostgreSQL) and a token must not be.
func (s *Server) widgetLimit(w http.ResponseWriter, r *http.Request, k apikey.Key) error {
	if err := s.limit(r.Context(), w, "wip:"+k.ID+":"+s.clientKey(r), s.Limits.WidgetIP); err != nil {
		return err
	}
	if tok := r.Header.Get(protocol.SessionHeader); tok != "" {
		sum := sha256.Sum256([]byte(tok))
		return s.limit(r.Context(), w, "wses:"+hex.EncodeToString(sum[:12]), s.Limits.WidgetSession)
	}
	return nil
}

func widgetCustomer(c helpdesk.Customer) protocol.Customer {
	return protocol.Customer{ID: c.ID, Email: wire.NilIfEmpty(c.Email), Name: c.Name, ExternalID: wire.NilIfEmpty(c.ExternalID),
		CreatedAt: c.CreatedAt.UTC().Format(time.RFC3339), EmailVerified: c.Email != "" && c.EmailVerified}
}

func authResult(c helpdesk.Customer, iss identity.Issued) protocol.AuthResult {
	return protocol.AuthResult{Customer: widgetCustomer(c), Session: protocol.Session{Token: iss.Token,
		ExpiresAt: iss.Session.ExpiresAt.UTC().Format(time.RFC3339)}}
}

func (s *Server) widgetSignup(w http.ResponseWriter, r *http.Request) error {
	var in protocol.SignupRequest
	if err := decode(r, &in, false); err != nil {
		return err
	}
	p := principalOf(r.Context())
	c, iss, err := s.Identity.Signup(r.Context(), p.scope(), identity.SignupInput{
		Email: in.Email, Name: in.Name, Password: in.Password, TeamName: p.Team.Name,
		Locale: mail.Locale(r.Header.Get("Accept-Language"))})
	if err != nil {
		return err
	}
	return ok(w, http.StatusCreated, authResult(c, iss))
}

func (s *Server) widgetLogin(w http.ResponseWriter, r *http.Request) error {
	var in protocol.LoginRequest
	if err := decode(r, &in, false); err != nil {
		return err
	}
	c, iss, err := s.Identity.Login(r.Context(), principalOf(r.Context()).scope(), in.Email, in.Password,
		s.clientKey(r))
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, authResult(c, iss))
}

// widgetIdentify signs in a site's own user, proven by an identity token or
// a user hash made with the team's identity secret.
func (s *Server) widgetIdentify(w http.ResponseWriter, r *http.Request) error {
	var in protocol.IdentifyRequest
	if err := decode(r, &in, false); err != nil {
		return err
	}
	c, iss, err := s.Identity.Identify(r.Context(), principalOf(r.Context()).scope(), identity.IdentifyInput{
		Token: in.Token, UserID: in.UserID, Email: in.Email, Name: in.Name, UserHash: in.UserHash,
	}, s.clientKey(r))
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, authResult(c, iss))
}

func (s *Server) widgetLogout(w http.ResponseWriter, r *http.Request) error {
	sc := principalOf(r.Context()).scope()
	ses, err := s.Identity.Logout(r.Context(), sc, r.Header.Get(protocol.SessionHeader))
	if err != nil {
		return err
	}
	// Close the session's live chat connections (code 4502).
	s.Chat.SessionEnded(r.Context(), sc, ses.CustomerID, ses.ID)
	return ok(w, http.StatusOK, map[string]any{"logged_out": true})
}

func (s *Server) widgetMe(w http.ResponseWriter, r *http.Request) error {
	_, c, err := s.Identity.Authenticate(r.Context(), principalOf(r.Context()).scope(), r.Header.Get(protocol.SessionHeader))
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, widgetCustomer(c))
}

type sessionJSON struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Identity.Sessions(r.Context(), principalOf(r.Context()).scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]sessionJSON, len(list))
	for i, ses := range list {
		out[i] = sessionJSON{ID: ses.ID, CreatedAt: ses.CreatedAt, LastUsedAt: ses.LastUsedAt, ExpiresAt: ses.ExpiresAt}
	}
	return ok(w, http.StatusOK, out)
}

func (s *Server) revokeSessions(w http.ResponseWriter, r *http.Request) error {
	sc := principalOf(r.Context()).scope()
	n, err := s.Identity.RevokeSessions(r.Context(), sc, r.PathValue("id"))
	if err != nil {
		return err
	}
	s.Chat.SessionEnded(r.Context(), sc, r.PathValue("id"), "")
	return ok(w, http.StatusOK, map[string]any{"revoked": n})
}
