package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cstar-chat/cstar/server/internal/agent"
	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/idempotency"
	"github.com/cstar-chat/cstar/server/internal/identity"
	"github.com/cstar-chat/cstar/server/internal/library"
	"github.com/cstar-chat/cstar/server/internal/metrics"
	"github.com/cstar-chat/cstar/server/internal/ratelimit"
	"github.com/cstar-chat/cstar/server/internal/socket"
	"github.com/cstar-chat/cstar/server/internal/team"
	"github.com/cstar-chat/cstar/server/internal/webhook"
)

// Limits are the hourly request budgets.
type Limits struct {
	Secret, Publishable, Library, InvalidKey ratelimit.Limit
	// The widget's own traffic (its API and socket): per session token,
	// and per publishable key and client IP, sized for real browsing
	// rather than for the public read API that Publishable governs.
	WidgetSession, WidgetIP ratelimit.Limit
	// WidgetVisitor is how many anonymous visitors a publishable key and
	// client IP may create.
	WidgetVisitor ratelimit.Limit
}

// Authenticator turns a bearer token into a key and counts its usage.
type Authenticator interface {
	Authenticate(ctx context.Context, raw string) (apikey.Key, error)
	Record(keyID string, isError, rateLimited bool)
}

// Pinger reports whether the database answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps is everything the HTTP layer needs; server/app wires it.
type Deps struct {
	Auth     Authenticator
	Keys     *apikey.Service
	Teams    *team.Service
	Helpdesk *helpdesk.Service
	Identity *identity.Service
	Library  *library.Service
	Chat     *chat.Service
	Webhooks *webhook.Service
	// Agents finds the team's agents a ticket is assigned to.
	Agents *agent.Service
	// Sockets runs the widget channel and the agents' stream once httpapi
	// has authenticated and upgraded them.
	Sockets *socket.Server
	Idem    *idempotency.Records
	Limiter ratelimit.Limiter
	Limits  Limits
	DB      Pinger
	// Widget serves /widget/… (the loader, wasm glue and SDK module); nil
	// when the widget has not been built.
	Widget  http.Handler
	Metrics *metrics.Registry
	Log     *slog.Logger
	Now     func() time.Time

	TLS            bool
	RequireHTTPS   bool
	TrustedProxies []netip.Prefix

	// Dashboard serves /app/, the agents' pages (package dashboard), with
	// its own sessions and CSRF checks: the API's keys never work there,
	// nor its session cookie here.
	Dashboard http.Handler
	// Audit reads the team's audit log for GET …/audit-log.
	Audit AuditLog
	// Mail answers the unsubscribe links of mail.
	Mail Mail
	// Background runs work that outlives its request (a failed visitor
	// merge tried again) until the server stops; nil runs it in a plain
	// goroutine.
	Background func(func(ctx context.Context))
}

// Server is the HTTP handler of the whole API.
type Server struct {
	Deps
	mux      *http.ServeMux
	patterns []string
	handler  http.Handler
	upgrader *websocket.Upgrader
}

// New builds the handler.
func New(d Deps) *Server {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Background == nil {
		d.Background = func(f func(context.Context)) { go f(context.Background()) }
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Metrics == nil {
		d.Metrics = metrics.NewRegistry()
	}
	s := &Server{Deps: d, mux: http.NewServeMux(), upgrader: socket.NewUpgrader()}
	s.routes()
	mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if strings.HasPrefix(r.URL.Path, "/api/v1/") || strings.HasPrefix(r.URL.Path, "/api/widget/") {
			// Customers, sessions, keys and messages must not sit in a
			// shared or browser cache.
			h.Set("Cache-Control", "no-store")
		}
		if r.Method == http.MethodOptions && strings.HasPrefix(r.URL.Path, "/api/") {
			s.preflight(w, r)
			return
		}
		s.mux.ServeHTTP(&envelopeMux{ResponseWriter: w, r: r, s: s}, r)
	})
	s.handler = s.withRequestID(s.withLog(s.withRecover(s.withHTTPS(mux))))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

type ctxKey int

const (
	ctxRequestID ctxKey = iota
	ctxPrincipal
)

// reqInfo is what the layers of one request tell each other: its ID, and
// why it was answered 503 (for the metrics).
type reqInfo struct {
	id    string
	cause string
}

func requestID(ctx context.Context) string {
	if ri, _ := ctx.Value(ctxRequestID).(*reqInfo); ri != nil {
		return ri.id
	}
	return ""
}

func newRequestID() string {
	var b [12]byte
	rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}

func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// withRequestID gives every request an ID (a sane incoming X-Request-Id is
// kept, so that traces line up with a proxy's) and echoes it.
func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxRequestID, &reqInfo{id: id})))
	})
}

func (s *Server) withRecover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Log.ErrorContext(r.Context(), "panic", "request_id", requestID(r.Context()), "panic", v)
				if sw, ok := w.(*statusWriter); ok && sw.status != 0 {
					panic(http.ErrAbortHandler) // a response is under way: cut it off
				}
				renderError(w, r, s.Log, errInternal)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status code for logs, metrics and usage.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withLog writes one structured line per request. Only the path is logged:
// no query string, no headers, so no secret can reach the log.
func (s *Server) withLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		// A token in a path (an unsubscribe link) is a secret: such a
		// request is logged by its pattern.
		path := r.URL.Path
		if strings.Contains(r.Pattern, "{token}") {
			path = route
		}
		s.Metrics.Observe(metricMethod(r.Method), route, sw.status, d)
		if sw.status == http.StatusServiceUnavailable {
			s.Metrics.Unavailable(causeOf(r.Context()))
		}
		s.Log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("request_id", requestID(r.Context())),
			slog.String("method", r.Method),
			slog.String("path", path),
			slog.Int("status", sw.status),
			slog.Int("bytes", sw.bytes),
			slog.Duration("duration", d),
			slog.String("ip", s.clientIP(r).String()))
	})
}

// metricMethod keeps the method label to a fixed set: clients may send any
// token as a method, and each would otherwise become a new series.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// clientIP is the peer address, or the first untrusted address of
// X-Forwarded-For when the peer is a trusted proxy.
func (s *Server) clientIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.IPv4Unspecified()
	}
	ip := ap.Addr().Unmap()
	if !s.trusted(ip) {
		return ip
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return a
		}
		ip = a
	}
	return ip
}

// clientKey is the client as budgets count it: an IPv4 address, or an IPv6
// client's /64, since one subscriber routinely holds a whole /64 and could
// otherwise take a fresh budget per address.
func (s *Server) clientKey(r *http.Request) string {
	ip := s.clientIP(r)
	if ip.Is6() {
		return netip.PrefixFrom(ip, 64).Masked().String()
	}
	return ip.String()
}

func (s *Server) trusted(ip netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// isHTTPS tells whether the client reached us over TLS: directly, or through
// a trusted proxy that says so.
func (s *Server) isHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err == nil && s.trusted(ap.Addr().Unmap()) {
		return strings.EqualFold(strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-Proto"), ",")[0]), "https")
	}
	return false
}

// withHTTPS sets HSTS on TLS responses and, with --require-https, refuses
// plain-HTTP API requests that do not come from loopback.
func (s *Server) withHTTPS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secure := s.isHTTPS(r)
		if secure && (s.TLS || s.RequireHTTPS) {
			w.Header().Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		if s.RequireHTTPS && !secure && strings.HasPrefix(r.URL.Path, "/api/") && !s.clientIP(r).IsLoopback() {
			renderError(w, r, s.Log, errHTTPSRequired)
			return
		}
		next.ServeHTTP(w, r)
	})
}
