package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/identity"
	"github.com/cstar-chat/cstar/server/internal/mail"
	"github.com/cstar-chat/cstar/server/internal/scope"
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

func widgetSession(iss identity.Issued) protocol.Session {
	return protocol.Session{Token: iss.Token, ExpiresAt: iss.Session.ExpiresAt.UTC().Format(time.RFC3339)}
}

// signedIn answers a signup, login or identify of customer c: when the
// request carries an anonymous visitor's token (protocol.VisitorHeader),
// possession of it moves the visitor's conversations into c first. Nothing
// but that token merges: an email, a name or a customer id never does.
func (s *Server) signedIn(w http.ResponseWriter, r *http.Request, status int, c helpdesk.Customer, iss identity.Issued) error {
	out := protocol.AuthResult{Customer: widgetCustomer(c), Session: widgetSession(iss)}
	if tok := r.Header.Get(protocol.VisitorHeader); tok != "" {
		sc := principalOf(r.Context()).scope()
		m, err := s.Identity.MergeVisitor(r.Context(), sc, tok, c)
		if err != nil {
			// The customer is signed in already (a signup cannot be taken
			// back, and failing it would make its retry a 409): the merge
			// is tried again on its own, with the token this request proved.
			s.Log.WarnContext(r.Context(), "merge visitor: trying again in the background", "customer", c.ID, "err", err)
			s.Background(func(ctx context.Context) { s.mergeLater(ctx, sc, tok, c) })
		}
		if m.VisitorID != "" {
			s.visitorMerged(r.Context(), sc, m.VisitorID)
			out.Merged = &protocol.Merged{VisitorID: m.VisitorID, Tickets: m.Tickets}
		}
	}
	return ok(w, status, out)
}

// visitorMerged closes the merged visitor's sockets (4502): its token is gone.
func (s *Server) visitorMerged(ctx context.Context, sc scope.Scope, visitorID string) {
	s.Chat.SessionEnded(ctx, sc, visitorID, "")
}

// mergeLater tries a failed merge again, 10 times over about 43 seconds,
// or until the server stops.
func (s *Server) mergeLater(ctx context.Context, sc scope.Scope, visitorToken string, into helpdesk.Customer) {
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			s.Log.WarnContext(ctx, "merge visitor: stopped with the server", "customer", into.ID)
			return
		}
		m, err := s.Identity.MergeVisitor(ctx, sc, visitorToken, into)
		if err == nil {
			if m.VisitorID != "" {
				s.visitorMerged(ctx, sc, m.VisitorID)
			}
			return
		}
		if attempt == 10 {
			s.Log.ErrorContext(ctx, "merge visitor: gave up", "customer", into.ID, "err", err)
			return
		}
		wait = min(2*wait, 10*time.Second)
	}
}

func widgetVisitor(c helpdesk.Customer) protocol.Visitor {
	return protocol.Visitor{ID: c.ID, Name: c.Name, Email: wire.NilIfEmpty(c.UnverifiedEmail),
		CreatedAt: c.CreatedAt.UTC().Format(time.RFC3339)}
}

// widgetCreateVisitor makes an anonymous visitor, whose token the SDK then
// holds like a session: the widget calls it at a visitor's first message.
// Creation has its own budget per key and client IP.
func (s *Server) widgetCreateVisitor(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r.Context())
	if err := s.limit(r.Context(), w, "wvis:"+p.Key.ID+":"+s.clientKey(r), s.Limits.WidgetVisitor); err != nil {
		return err
	}
	var in protocol.VisitorRequest
	if err := decode(r, &in, true); err != nil {
		return err
	}
	c, iss, err := s.Identity.CreateVisitor(r.Context(), p.scope(), identity.VisitorInput{Email: in.Email, Name: in.Name})
	if err != nil {
		return err
	}
	return ok(w, http.StatusCreated, protocol.VisitorResult{Visitor: widgetVisitor(c), Session: widgetSession(iss)})
}

// widgetUpdateVisitor records the email or name a visitor typed, unverified.
func (s *Server) widgetUpdateVisitor(w http.ResponseWriter, r *http.Request) error {
	var in protocol.VisitorRequest
	if err := decode(r, &in, false); err != nil {
		return err
	}
	c, err := s.Identity.UpdateVisitor(r.Context(), principalOf(r.Context()).scope(), r.Header.Get(protocol.SessionHeader),
		identity.VisitorInput{Email: in.Email, Name: in.Name})
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, widgetVisitor(c))
}

// widgetSettings is what the widget shows of the team: its header's
// availability and reply time, agents' pictures, and the team's id and slug
// for the public Library API. It is read when the panel first opens.
func (s *Server) widgetSettings(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r.Context())
	ws := p.Team.Settings[p.Key.Mode].Widget
	return ok(w, http.StatusOK, protocol.WidgetSettings{
		Team:         protocol.WidgetTeam{ID: p.Team.ID, Slug: p.Team.Slug, Name: p.Team.Name},
		Availability: ws.Availability, ReplyTime: ws.ReplyTime, AvatarURL: ws.AvatarURL})
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
	return s.signedIn(w, r, http.StatusCreated, c, iss)
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
	return s.signedIn(w, r, http.StatusOK, c, iss)
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
	return s.signedIn(w, r, http.StatusOK, c, iss)
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
