package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"time"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/idempotency"
	"github.com/cstar-chat/cstar/server/protocol"
)

// readyzTimeout bounds /readyz's database ping.
const readyzTimeout = 2 * time.Second

// routes lists every route of the API, the widget API and the Library API,
// so that "what are the endpoints?" is answered here (and, for programs, by
// openapi.json, which a test holds to this list).
func (s *Server) routes() {
	m := routeTable{s}
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "status": "ok"})
	})
	m.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		// A stalled database answers nothing: not ready, within a bound a
		// health checker can wait for.
		ctx, cancel := context.WithTimeout(r.Context(), readyzTimeout)
		defer cancel()
		if err := s.DB.Ping(ctx); err != nil {
			// An outage is the store's to log, once, not once per probe
			// (make chaos counts ERROR lines).
			s.Log.DebugContext(r.Context(), "readiness: database unreachable", "err", err)
			renderError(w, r, s.Log, &errs.Error{Code: errs.Unavailable, Message: "Database unreachable",
				RetryAfter: errs.RetryDatabase, Err: fmt.Errorf("%w: %w", errs.ErrUnavailable, err)})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "status": "ready"})
	})
	m.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		s.Metrics.WriteTo(w)
	})

	m.HandleFunc("GET /openapi.json", s.openAPI)

	m.HandleFunc("GET /widget/", func(w http.ResponseWriter, r *http.Request) {
		if s.Widget == nil {
			renderError(w, r, s.Log, errs.NotFoundf("The widget is not built: run make build"))
			return
		}
		s.Widget.ServeHTTP(w, r)
	})

	// The API of secret and publishable keys.
	const t = "/api/v1/teams/{teamId}"
	m.Handle("GET "+t, s.api(publishableRead, s.getTeam))
	m.Handle("PATCH "+t, s.api(secretOnly, s.updateTeam))

	m.Handle("GET "+t+"/api-keys", s.api(secretOnly, s.listKeys))
	m.Handle("POST "+t+"/api-keys", s.api(secretOnly, s.createKey))
	m.Handle("POST "+t+"/api-keys/{keyId}/roll", s.api(secretOnly, s.rollKey))
	m.Handle("DELETE "+t+"/api-keys/{keyId}", s.api(secretOnly, s.revokeKey))
	m.Handle("GET "+t+"/api-keys/{keyId}/usage", s.api(secretOnly, s.keyUsage))

	m.Handle("GET "+t+"/audit-log", s.api(secretOnly, s.auditLog))

	m.Handle("POST "+t+"/identity-secret/roll", s.api(secretOnly, s.rollIdentitySecret))
	m.Handle("PATCH "+t+"/identity-settings", s.api(secretOnly, s.identitySettings))

	m.Handle("GET "+t+"/customers", s.api(secretOnly, s.listCustomers))
	m.Handle("POST "+t+"/customers", s.api(secretOnly, s.idem(s.createCustomer)))
	m.Handle("POST "+t+"/customers/import", s.api(secretOnly, s.idem(s.importCustomers)))
	m.Handle("GET "+t+"/customers/{id}", s.api(secretOnly, s.getCustomer))
	m.Handle("PATCH "+t+"/customers/{id}", s.api(secretOnly, s.updateCustomer))
	m.Handle("DELETE "+t+"/customers/{id}", s.api(secretOnly, s.deleteCustomer))
	m.Handle("GET "+t+"/customers/{id}/sessions", s.api(secretOnly, s.listSessions))
	m.Handle("DELETE "+t+"/customers/{id}/sessions", s.api(secretOnly, s.revokeSessions))
	m.Handle("GET "+t+"/customers/{id}/export", s.api(secretOnly, s.exportCustomer))

	m.Handle("GET "+t+"/tickets", s.api(secretOnly, s.listTickets))
	m.Handle("POST "+t+"/tickets", s.api(secretOnly, s.idem(s.createTicket)))
	m.Handle("GET "+t+"/tickets/{id}", s.api(secretOnly, s.getTicket))
	m.Handle("PATCH "+t+"/tickets/{id}", s.api(secretOnly, s.updateTicket))
	m.Handle("DELETE "+t+"/tickets/{id}", s.api(secretOnly, s.deleteTicket))

	m.Handle("GET "+t+"/tickets/{id}/messages", s.api(secretOnly, s.listMessages))
	m.Handle("POST "+t+"/tickets/{id}/messages", s.api(secretOnly, s.idem(s.postMessage)))
	m.Handle("POST "+t+"/tickets/{id}/typing", s.api(secretOnly, s.postTyping))
	m.Handle("POST "+t+"/tickets/{id}/read", s.api(secretOnly, s.postRead))
	m.Handle("GET "+t+"/realtime", s.api(secretOnly, s.realtimeStream))
	m.Handle("GET "+t+"/events", s.api(secretOnly, s.listEvents))
	m.Handle("GET "+t+"/tickets/{id}/article-views", s.api(secretOnly, s.listArticleViews))

	m.Handle("GET "+t+"/webhooks", s.api(secretOnly, s.listWebhooks))
	m.Handle("POST "+t+"/webhooks", s.api(secretOnly, s.createWebhook))
	m.Handle("GET "+t+"/webhooks/{id}", s.api(secretOnly, s.getWebhook))
	m.Handle("PATCH "+t+"/webhooks/{id}", s.api(secretOnly, s.updateWebhook))
	m.Handle("DELETE "+t+"/webhooks/{id}", s.api(secretOnly, s.deleteWebhook))
	m.Handle("POST "+t+"/webhooks/{id}/roll-secret", s.api(secretOnly, s.rollWebhookSecret))
	m.Handle("POST "+t+"/webhooks/{id}/test", s.api(secretOnly, s.testWebhook))
	m.Handle("GET "+t+"/webhooks/{id}/deliveries", s.api(secretOnly, s.listWebhookDeliveries))
	m.Handle("POST "+t+"/webhooks/{id}/deliveries/{deliveryId}/redeliver", s.api(secretOnly, s.redeliverWebhook))

	m.Handle("GET "+t+"/categories", s.api(publishableRead, s.listCategories))
	m.Handle("POST "+t+"/categories", s.api(secretOnly, s.idem(s.createCategory)))
	m.Handle("GET "+t+"/categories/{id}", s.api(publishableRead, s.getCategory))
	m.Handle("PATCH "+t+"/categories/{id}", s.api(secretOnly, s.updateCategory))
	m.Handle("DELETE "+t+"/categories/{id}", s.api(secretOnly, s.deleteCategory))

	m.Handle("GET "+t+"/articles", s.api(publishableRead, s.listArticles))
	m.Handle("POST "+t+"/articles", s.api(secretOnly, s.idem(s.createArticle)))
	m.Handle("GET "+t+"/articles/{id}", s.api(publishableRead, s.getArticle))
	m.Handle("PATCH "+t+"/articles/{id}", s.api(secretOnly, s.updateArticle))
	m.Handle("DELETE "+t+"/articles/{id}", s.api(secretOnly, s.deleteArticle))

	// The public Library API: no key (an optional one picks the mode).
	const pub = "/api/library/{team}"
	m.Handle("GET "+pub+"/articles", s.public(s.publicArticles))
	m.Handle("GET "+pub+"/articles/{slug}", s.public(s.publicArticle))
	m.Handle("GET "+pub+"/categories", s.public(s.publicCategories))
	m.Handle("GET "+pub+"/search", s.public(s.publicSearch))

	// The widget API: a publishable key, and a customer's session where it
	// acts for one.
	const w = "/api/widget/v1"
	m.Handle("POST "+w+"/signup", s.widget(s.widgetSignup))
	m.Handle("POST "+w+"/login", s.widget(s.widgetLogin))
	m.Handle("POST "+w+"/logout", s.widget(s.widgetLogout))
	m.Handle("GET "+w+"/me", s.widget(s.widgetMe))
	m.Handle("POST "+w+"/identify", s.widget(s.widgetIdentify))
	m.Handle("POST "+w+"/password-reset", s.widget(s.widgetPasswordReset))
	m.Handle("POST "+w+"/password-reset/confirm", s.widget(s.widgetPasswordResetConfirm))
	m.Handle("POST "+w+"/verify-email", s.widget(s.widgetVerifyEmail))
	m.Handle("GET "+w+"/messages", s.widget(s.widgetMessages))
	m.Handle("POST "+w+"/visitor", s.widget(s.widgetCreateVisitor))
	m.Handle("PATCH "+w+"/visitor", s.widget(s.widgetUpdateVisitor))
	m.Handle("GET "+w+"/settings", s.widget(s.widgetSettings))
	m.HandleFunc("GET "+protocol.ChatPath, s.widgetChat)

	// The unsubscribe link of offline replies (RFC 8058: a POST unsubscribes).
	m.HandleFunc("GET /mail/unsubscribe/{token}", s.unsubscribe)
	m.HandleFunc("POST /mail/unsubscribe/{token}", s.unsubscribe)

	// The agents' dashboard, on this origin (its routes: package dashboard).
	if s.Dashboard != nil {
		m.Handle("/app/", s.Dashboard)
	}
}

// routeTable registers routes on the mux and keeps their patterns.
type routeTable struct{ s *Server }

func (t routeTable) Handle(pattern string, h http.Handler) {
	t.s.patterns = append(t.s.patterns, pattern)
	t.s.mux.Handle(pattern, h)
}

func (t routeTable) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	t.Handle(pattern, http.HandlerFunc(h))
}

// Routes lists the pattern of every route ("METHOD /path/{param}"), in the
// order routes registers them.
func (s *Server) Routes() []string { return slices.Clone(s.patterns) }

// envelopeMux turns the mux's own plain-text 404 (unknown path) and 405
// (known path, wrong method) answers into the standard envelope. They are
// recognised by the request having matched no pattern.
type envelopeMux struct {
	http.ResponseWriter
	r        *http.Request
	s        *Server
	hijacked bool
}

func (e *envelopeMux) WriteHeader(code int) {
	if e.r.Pattern == "" && (code == http.StatusMethodNotAllowed || code == http.StatusNotFound) {
		e.hijacked = true
		err := errs.NotFoundf("Unknown route %s %s", e.r.Method, e.r.URL.Path)
		if code == http.StatusMethodNotAllowed {
			err = errs.New(errs.MethodNotAllowed, "Method "+e.r.Method+" is not allowed on "+e.r.URL.Path)
		}
		renderError(e.ResponseWriter, e.r, e.s.Log, err)
		return
	}
	e.ResponseWriter.WriteHeader(code)
}

func (e *envelopeMux) Write(b []byte) (int, error) {
	if e.hijacked {
		return len(b), nil
	}
	return e.ResponseWriter.Write(b)
}

// idem makes a POST handler honour the Idempotency-Key header. It is not used
// on routes whose response carries a secret (API key create and roll), since
// the stored response would keep the secret in clear for a day: a retry with
// the same key and body gets the first response again; the same key with a
// different request is a 409.
func (s *Server) idem(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			return h(w, r)
		}
		if len(key) > idempotency.MaxKeyLen {
			return errs.Invalidf("Idempotency-Key", "Idempotency-Key must be at most %d characters", idempotency.MaxKeyLen)
		}
		body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return errs.New(errs.TooLarge, "Request body is larger than 1 MiB")
			}
			return errs.New(errs.Invalid, "Could not read the request body")
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.New()
		io.WriteString(sum, r.Method+" "+r.URL.Path+"\n")
		sum.Write(body)
		hash := sum.Sum(nil)

		sc := principalOf(r.Context()).scope()
		reserved := s.Now()
		rec, fresh, err := s.Idem.Reserve(r.Context(), sc, key, hash, reserved)
		if err != nil {
			return err
		}
		if !fresh {
			switch {
			case !bytes.Equal(rec.RequestHash, hash):
				return errs.Conflictf("Idempotency-Key was already used with a different request")
			case rec.Status == 0:
				// The first request's answer is on its way (or waits for
				// the database to be recorded): a retry soon gets it.
				return &errs.Error{Code: errs.Conflict, Message: "A request with this Idempotency-Key is still in progress",
					RetryAfter: time.Second}
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(rec.Status)
			w.Write(rec.Body)
			return nil
		}
		// The record must be finished even when the client has gone away, or
		// a retry would find it "in progress" and later run the POST twice;
		// when the database is unavailable, Idem finishes it once it is
		// back.
		ctx := context.WithoutCancel(r.Context())
		finished := false
		defer func() {
			if !finished {
				s.Idem.Finish(ctx, sc, key, reserved, 0, nil)
			}
		}()
		rw := httptest.NewRecorder()
		herr := h(rw, r)
		if herr != nil {
			renderError(rw, r, s.Log, herr)
		}
		for k, v := range rw.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rw.Code)
		w.Write(rw.Body.Bytes())
		// The response is out; a failure to record it is only logged. Only
		// successes are replayed: a request refused for bad input, or for
		// an outage, may be retried under the same key, as Stripe allows.
		if rw.Code >= 400 {
			err = s.Idem.Finish(ctx, sc, key, reserved, 0, nil)
		} else {
			err = s.Idem.Finish(ctx, sc, key, reserved, rw.Code, rw.Body.Bytes())
		}
		finished = true
		if err != nil {
			s.Log.ErrorContext(r.Context(), "idempotency record", "request_id", requestID(r.Context()), "err", err)
		}
		return nil
	}
}
