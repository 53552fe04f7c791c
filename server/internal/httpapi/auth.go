package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/ratelimit"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/team"
	"github.com/cstar-chat/cstar/server/internal/text"
	"github.com/cstar-chat/cstar/server/protocol"
)

var (
	errInvalidKey    = errs.New(errs.Unauthorized, protocol.MsgInvalidAPIKey)
	errReadOnly      = errs.New(errs.Forbidden, protocol.MsgPublishableRO)
	errPKScope       = errs.New(errs.Forbidden, protocol.MsgPublishableScope)
	errWrongTeam     = errs.New(errs.Forbidden, protocol.MsgWrongTeam)
	errOrigin        = errs.New(errs.Forbidden, protocol.MsgOriginNotAllowed)
	errHTTPSRequired = errs.New(errs.Forbidden, protocol.MsgHTTPSRequired)
	errInternal      = errs.Internalf(errors.New("panic"), "panic")
)

// principal is who is calling: the key, and the team it belongs to.
type principal struct {
	Key  apikey.Key
	Team team.Team
}

func (p principal) scope() scope.Scope { return p.Key.Scope() }

func principalOf(ctx context.Context) principal {
	p, _ := ctx.Value(ctxPrincipal).(principal)
	return p
}

// access says which keys a route admits.
type access int

const (
	secretOnly access = iota
	// publishableRead admits publishable keys as well (GET routes whose data
	// is safe in a browser).
	publishableRead
)

// bearer extracts the token of an "Authorization: Bearer …" header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	tok := strings.TrimSpace(h[7:])
	return tok, tok != ""
}

// publishableShaped tells whether the request's bearer token has a
// publishable key's prefix (whether it is a key is for Authenticate).
func publishableShaped(r *http.Request) bool {
	tok, _ := bearer(r)
	return strings.HasPrefix(tok, "pk_")
}

// setRateHeaders writes the classic and the IETF draft rate-limit headers.
func (s *Server) setRateHeaders(w http.ResponseWriter, res ratelimit.Result, l ratelimit.Limit) {
	h := w.Header()
	reset := ceilSecondsOrZero(res.ResetAfter)
	h.Set("X-RateLimit-Limit", strconv.Itoa(res.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(res.Remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(s.Now().Add(time.Duration(reset)*time.Second).Unix(), 10))
	h.Set("RateLimit-Policy", fmt.Sprintf(`"hourly";q=%d;w=%d`, l.Count, int(l.Period/time.Second)))
	h.Set("RateLimit", fmt.Sprintf(`"hourly";r=%d;t=%d`, res.Remaining, reset))
}

func ceilSecondsOrZero(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return ceilSeconds(d)
}

// limit takes one request from bucket key, sets the headers and returns a
// rate_limited error when the bucket is empty.
func (s *Server) limit(ctx context.Context, w http.ResponseWriter, key string, l ratelimit.Limit) error {
	res, err := s.Limiter.Allow(ctx, key, l)
	if err != nil {
		return fmt.Errorf("httpapi: rate limit: %w", err)
	}
	s.setRateHeaders(w, res, l)
	if !res.Allowed {
		return &errs.Error{Code: errs.RateLimited, Message: protocol.MsgRateLimited, RetryAfter: res.RetryAfter}
	}
	return nil
}

// authenticate checks the bearer key. Every kind of bad key gets the same
// 401, counted against the client IP's invalid-key budget.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (apikey.Key, error) {
	raw, _ := bearer(r)
	k, err := s.Auth.Authenticate(r.Context(), raw)
	if err == nil {
		return k, nil
	}
	if !errors.Is(err, apikey.ErrInvalid) {
		return apikey.Key{}, err
	}
	// A page whose publishable key was mistyped or revoked must be able to
	// read why; the 401 (or 429) says nothing about any real key.
	s.allowCORS(w, r)
	if err := s.limit(r.Context(), w, "invalid:"+s.clientKey(r), s.Limits.InvalidKey); err != nil {
		return apikey.Key{}, err
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="cstar"`)
	return apikey.Key{}, errInvalidKey
}

// keyLimit takes one request from the key's budget: per key for secret
// keys; per key and client IP for publishable keys, which every visitor of a
// site shares.
func (s *Server) keyLimit(w http.ResponseWriter, r *http.Request, k apikey.Key) error {
	if k.Type == apikey.Publishable {
		return s.limit(r.Context(), w, "pk:"+k.ID+":"+s.clientKey(r), s.Limits.Publishable)
	}
	return s.limit(r.Context(), w, "sk:"+k.ID, s.Limits.Secret)
}

// api wraps a /api/v1/teams/{teamId}/… handler: the team is the one in the
// path, and publishable keys may only GET routes that admit them.
func (s *Server) api(a access, h handlerFunc) http.Handler {
	return s.keyed(h, keyedRules{
		team: func(r *http.Request, k apikey.Key) (team.Team, error) {
			t, err := s.Teams.Resolve(r.Context(), r.PathValue("teamId"))
			if err != nil && !errs.Is(err, errs.NotFound) {
				return team.Team{}, err
			}
			if err != nil || t.ID != k.TeamID {
				return team.Team{}, errWrongTeam
			}
			return t, nil
		},
		authorize: func(r *http.Request, k apikey.Key, t team.Team) error {
			if k.Type != apikey.Publishable {
				return nil
			}
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				return errReadOnly
			}
			if a != publishableRead {
				return errPKScope
			}
			return nil
		},
	})
}

// keyedRules are what differs between the routes that a key authenticates.
type keyedRules struct {
	// admit may refuse a key before its rate budget is charged.
	admit func(k apikey.Key) error
	// limit charges the request's budgets; nil charges the key's (keyLimit).
	limit func(w http.ResponseWriter, r *http.Request, k apikey.Key) error
	// team finds the team the request acts on.
	team func(r *http.Request, k apikey.Key) (team.Team, error)
	// authorize may refuse the request once the team is known.
	authorize func(r *http.Request, k apikey.Key, t team.Team) error
}

// keyed runs the steps every key-authenticated route shares: authenticate,
// charge the key's rate budget, find the team, apply the route's rules and
// the team's allowed origins, allow CORS for publishable keys, call h, render
// any error and count the key's usage.
func (s *Server) keyed(h handlerFunc, rules keyedRules) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		canonicalIDs(r)
		sw := &statusWriter{ResponseWriter: w}
		var keyID string
		limited, publishable, corsDone := false, false, false
		err := func() error {
			if err := checkText(r); err != nil {
				return err
			}
			k, err := s.authenticate(sw, r)
			if err != nil {
				return err
			}
			keyID = k.ID
			if rules.admit != nil {
				if err := rules.admit(k); err != nil {
					return err
				}
			}
			publishable = k.Type == apikey.Publishable
			limit := s.keyLimit
			if rules.limit != nil {
				limit = rules.limit
			}
			if err := limit(sw, r, k); err != nil {
				limited = errs.Is(err, errs.RateLimited)
				return err
			}
			t, err := rules.team(r, k)
			if err != nil {
				return err
			}
			if err := rules.authorize(r, k, t); err != nil {
				return err
			}
			if publishable {
				if o := r.Header.Get("Origin"); o != "" && !t.AllowsOrigin(k.Mode, o) {
					return errOrigin
				}
				s.allowCORS(sw, r)
				corsDone = true
			}
			ctx := context.WithValue(r.Context(), ctxPrincipal, principal{Key: k, Team: t})
			return h(sw, r.WithContext(ctx))
		}()
		if err != nil {
			// A browser may read why its publishable key was refused, unless
			// the refusal is that its origin is not allowed; and that a key
			// shaped like a publishable one could not be checked at all, the
			// database being unavailable, so that the page waits and retries
			// rather than seeing a network error.
			unchecked := keyID == "" && errs.Is(err, errs.Unavailable) && publishableShaped(r)
			if (publishable || unchecked) && !corsDone && err != errOrigin {
				s.allowCORS(sw, r)
			}
			renderError(sw, r, s.Log, err)
		}
		if keyID != "" {
			s.Auth.Record(keyID, sw.status >= 400, limited)
		}
	})
}

// allowCORS lets any origin read the response. It is only called for
// publishable-key and Library requests; secret-key responses never get it.
func (s *Server) allowCORS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Add("Vary", "Origin")
	if o := r.Header.Get("Origin"); o != "" {
		h.Set("Access-Control-Allow-Origin", o)
		h.Set("Access-Control-Expose-Headers", "X-Request-Id, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, RateLimit, RateLimit-Policy, Retry-After")
	}
}

// preflight answers CORS preflights. Only GET is offered outside the widget
// API: publishable keys are read-only there, and refusing other methods keeps
// browsers from sending secret-key writes cross-origin at all. The widget API
// (publishable keys only) also takes POST and the session header.
func (s *Server) preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if o := r.Header.Get("Origin"); o != "" {
		h.Set("Access-Control-Allow-Origin", o)
		h.Add("Vary", "Origin")
	}
	if strings.HasPrefix(r.URL.Path, "/api/widget/") {
		h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, "+protocol.SessionHeader+", "+protocol.VisitorHeader)
	} else {
		h.Set("Access-Control-Allow-Methods", "GET")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	}
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// idParams are the path and query parameters that may hold an id.
var (
	idPathParams  = []string{"teamId", "team", "id", "keyId", "deliveryId"}
	idQueryParams = []string{"customer_id", "ticket_id"}
	// textPathParams are the path parameters that are not ids.
	textPathParams = []string{"slug"}
)

// checkText refuses a path or query value with a control character (a
// %00 in a slug or a filter reached the database before, as a 500).
func checkText(r *http.Request) error {
	for _, name := range append(idPathParams, textPathParams...) {
		if err := text.Controls(name, r.PathValue(name)); err != nil {
			return err
		}
	}
	for name, vs := range r.URL.Query() {
		for _, v := range vs {
			if err := text.Controls(name, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// canonicalIDs rewrites every id in the path and the query to its canonical
// (lower-case) form, once, before any handler sees it: the features and the
// hub compare ids as strings, so DELETE …/customers/<UPPER-CASE> must name
// the same customer, and close the same sockets, as the lower-case id.
// Slugs and other values are left alone.
func canonicalIDs(r *http.Request) {
	for _, name := range idPathParams {
		if c, ok := ids.Canonical(r.PathValue(name)); ok {
			r.SetPathValue(name, c)
		}
	}
	if r.URL.RawQuery == "" {
		return
	}
	q, changed := r.URL.Query(), false
	for _, name := range idQueryParams {
		if c, ok := ids.Canonical(q.Get(name)); ok && c != q.Get(name) {
			q.Set(name, c)
			changed = true
		}
	}
	if changed {
		r.URL.RawQuery = q.Encode()
	}
}
