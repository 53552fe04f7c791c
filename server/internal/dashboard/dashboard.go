package dashboard

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cstar-chat/cstar/server/internal/agent"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/socket"
	"github.com/cstar-chat/cstar/server/internal/team"
)

//go:embed all:templates
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Deps is what the dashboard needs; server/app wires it.
type Deps struct {
	Agents   Agents
	Keys     Keys
	Teams    Teams
	Identity Identity
	Helpdesk Helpdesk
	Chat     Chat
	Library  Library
	Audit    Audit
	Sockets  Sockets
	Mail     Mail
	Webhooks Webhooks
	Log      *slog.Logger
	Now      func() time.Time
	// TrustedProxies are the peers whose X-Forwarded-For and
	// X-Forwarded-Proto are believed (the API's setting).
	TrustedProxies []netip.Prefix
	// TLS says the server itself speaks HTTPS.
	TLS bool
}

// Handler serves /app/.
type Handler struct {
	Deps
	mux      *http.ServeMux
	pages    map[string]*template.Template
	upgrader *websocket.Upgrader
}

// Prefix is where the dashboard lives on the server's own origin.
const Prefix = "/app"

// testPrefix is where the test-mode view of every page lives.
const testPrefix = Prefix + "/test"

// New builds the dashboard.
func New(d Deps) (*Handler, error) {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	h := &Handler{Deps: d, mux: http.NewServeMux(), pages: pages, upgrader: socket.NewUpgrader()}
	h.routes()
	return h, nil
}

// routes lists every route of the dashboard, so that "what are the pages?"
// is answered here. Routes of a signed-in agent answer at /app/… (live)
// and at /app/test/… (test); settings are for owners and admins.
func (h *Handler) routes() {
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix(Prefix+"/static/", http.FileServerFS(static))
	h.mux.Handle("GET "+Prefix+"/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	}))

	// Signing in: no session yet, or one that waits for its second factor.
	h.public("GET /login", h.loginPage)
	h.public("POST /login", h.login)
	h.public("GET /invite", h.invitePage)
	h.public("POST /invite/open", h.openInvite)
	h.public("POST /invite", h.acceptInvite)
	h.public("GET /forgot", h.forgotPage)
	h.public("POST /forgot", h.forgot)
	h.public("GET /reset", h.resetPage)
	h.public("POST /reset", h.reset)
	h.pending("GET /login/code", h.codePage)
	h.pending("POST /login/code", h.verifyCode)
	h.public("POST /logout", h.logout)

	// Every agent. The account page is also where an agent whose team
	// requires a second factor sets it up before anything else.
	h.agent("GET /{$}", h.home)
	h.agent("GET /inbox", h.inbox)
	h.agent("GET /inbox/rows/{id}", h.inboxRow)
	h.agent("GET /inbox/counts", h.inboxCounts)
	h.agent("GET /live", h.live)
	h.agent("GET /conversations/{id}", h.conversation)
	h.agent("GET /conversations/{id}/messages", h.olderMessages)
	h.agent("POST /conversations/{id}/messages", h.postMessage)
	h.agent("POST /conversations/{id}/status", h.setStatus)
	h.agent("POST /conversations/{id}/assign", h.assign)
	h.agent("POST /conversations/{id}/read", h.markRead)
	h.agent("POST /customers/{id}/sign-out", h.signOutCustomer)
	h.agent("GET /saved-replies", h.savedReplies)
	h.agent("POST /saved-replies", h.saveReply)
	h.agent("POST /saved-replies/{id}/delete", h.deleteReply)
	h.enrolling("GET /account", h.account)
	h.enrolling("POST /account/totp", h.beginTOTP)
	h.enrolling("GET /account/totp/qr.png", h.totpQR)
	h.enrolling("POST /account/totp/enable", h.enableTOTP)
	h.agent("POST /account/totp/disable", h.disableTOTP)
	h.agent("POST /account/notifications", h.setNotifications)

	// Settings: owners and admins; an agent gets 403.
	h.manager("GET /settings", h.settingsHome)
	h.manager("GET /settings/keys", h.keys)
	h.manager("POST /settings/keys", h.createKey)
	h.manager("POST /settings/keys/{id}/roll", h.rollKey)
	h.manager("POST /settings/keys/{id}/revoke", h.revokeKey)
	h.manager("GET /settings/keys/{id}/usage", h.keyUsage)
	h.manager("GET /settings/origins", h.origins)
	h.manager("POST /settings/origins", h.saveOrigins)
	h.manager("GET /settings/identity", h.identity)
	h.manager("POST /settings/identity/roll", h.rollIdentitySecret)
	h.manager("POST /settings/identity/user-hash", h.setUserHash)
	h.manager("GET /settings/widget", h.widget)
	h.manager("POST /settings/widget", h.saveWidget)
	h.manager("GET /settings/library", h.library)
	h.manager("POST /settings/library/categories", h.createCategory)
	h.manager("POST /settings/library/categories/{id}", h.updateCategory)
	h.manager("POST /settings/library/categories/{id}/delete", h.deleteCategory)
	h.manager("GET /settings/library/articles/new", h.newArticle)
	h.manager("GET /settings/library/articles/{id}", h.editArticle)
	h.manager("POST /settings/library/articles", h.createArticle)
	h.manager("POST /settings/library/articles/{id}", h.updateArticle)
	h.manager("POST /settings/library/articles/{id}/delete", h.deleteArticle)
	h.manager("POST /settings/library/preview", h.previewArticle)
	h.manager("GET /settings/webhooks", h.webhooks)
	h.manager("POST /settings/webhooks", h.createWebhook)
	h.manager("GET /settings/webhooks/{id}", h.webhookPage)
	h.manager("POST /settings/webhooks/{id}", h.updateWebhook)
	h.manager("POST /settings/webhooks/{id}/roll", h.rollWebhook)
	h.manager("POST /settings/webhooks/{id}/test", h.testWebhook)
	h.manager("POST /settings/webhooks/{id}/delete", h.deleteWebhook)
	h.manager("POST /settings/webhooks/{id}/deliveries/{delivery}/redeliver", h.redeliverWebhook)
	h.manager("GET /settings/email", h.emailSettings)
	h.manager("POST /settings/email", h.saveEmailSettings)
	h.manager("GET /settings/team", h.teamPage)
	h.manager("POST /settings/team", h.saveTeam)
	h.manager("POST /settings/team/invitations", h.invite)
	h.manager("POST /settings/team/invitations/{id}/withdraw", h.withdrawInvitation)
	h.manager("POST /settings/team/agents/{id}/role", h.setRole)
	h.manager("POST /settings/team/agents/{id}/remove", h.removeAgent)
	h.manager("GET /settings/audit", h.auditLog)

	// Anything else under /app/ is a page that does not exist.
	h.mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, &req{Request: r, Mode: scope.Live}, errs.NotFoundf("There is no such page"))
	})
}

// ServeHTTP serves the dashboard with its security headers: a strict
// Content-Security-Policy (no inline script or style, nothing from another
// origin, no framing), no referrer to other origins (invitation links carry
// a token; "no-referrer" would also make browsers send "Origin: null" with
// the forms, which the CSRF check must see), and nothing cached.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	ws := "ws://"
	if h.secure(r) {
		ws = "wss://"
	}
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self' "+ws+r.Host+"; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	if hd.Get("Cache-Control") == "" {
		hd.Set("Cache-Control", "no-store")
	}
	// No form of the dashboard comes near a megabyte (an article is at most
	// a few hundred kilobytes): a bigger body is refused as it is read,
	// before a session is even looked at.
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	h.mux.ServeHTTP(w, r)
}

var errTooLarge = errs.New(errs.TooLarge, "This form is larger than 1 MiB")

// maxBody bounds a request's body, as the API's does.
const maxBody = 1 << 20

// req is one request of a signed-in agent (or one signing in).
type req struct {
	*http.Request
	// Agent, Session and token are the signed-in agent's; empty on public
	// pages.
	Agent   agent.Agent
	Session agent.Session
	token   string
	Team    team.Team
	// Mode is the view's: live at /app/…, test at /app/test/….
	Mode scope.Mode
}

func (r *req) scope() scope.Scope { return scope.Scope{TeamID: r.Agent.TeamID, Mode: r.Mode} }

// base is the prefix of the view's links: /app or /app/test.
func (r *req) base() string {
	if r.Mode == scope.Test {
		return testPrefix
	}
	return Prefix
}

type handler func(w http.ResponseWriter, r *req) error

// access says who may use a route.
type access int

const (
	anyone    access = iota // signing in
	codeStage               // a session waiting for its second factor
	enrolls                 // a full session, or one that must set up a second factor
	agents                  // a full session
	managers                // a full session of an owner or admin
)

func (h *Handler) public(pattern string, f handler)  { h.handle(pattern, anyone, f, false) }
func (h *Handler) pending(pattern string, f handler) { h.handle(pattern, codeStage, f, false) }
func (h *Handler) enrolling(pattern string, f handler) {
	h.handle(pattern, enrolls, f, true)
}
func (h *Handler) agent(pattern string, f handler)   { h.handle(pattern, agents, f, true) }
func (h *Handler) manager(pattern string, f handler) { h.handle(pattern, managers, f, true) }

// handle registers "METHOD /path" under /app (and under /app/test when
// both views have it) with the checks of its access.
func (h *Handler) handle(pattern string, a access, f handler, bothModes bool) {
	method, path, _ := strings.Cut(pattern, " ")
	h.mux.Handle(method+" "+Prefix+path, h.wrap(a, scope.Live, f))
	if bothModes {
		h.mux.Handle(method+" "+testPrefix+path, h.wrap(a, scope.Test, f))
	}
}

// wrap checks, in order: a state-changing request's origin and CSRF token,
// the session and its stage, the role; then runs f and renders its error.
func (h *Handler) wrap(a access, mode scope.Mode, f handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		// Until the session is checked, its token (if any) only keys the
		// forms' CSRF token, also on a refusal's page.
		r := &req{Request: hr, Mode: mode, token: h.sessionToken(hr)}
		unsafe := hr.Method != http.MethodGet && hr.Method != http.MethodHead
		if unsafe {
			if err := h.checkOrigin(hr); err != nil {
				h.fail(w, r, err)
				return
			}
			var tooBig *http.MaxBytesError
			if err := hr.ParseForm(); errors.As(err, &tooBig) {
				h.fail(w, r, errTooLarge)
				return
			}
		}
		if a != anyone {
			if err := h.authenticate(w, r, a); err != nil {
				h.fail(w, r, err)
				return
			}
		}
		if unsafe {
			if err := h.checkCSRF(r); err != nil {
				h.fail(w, r, err)
				return
			}
		}
		if err := f(w, r); err != nil {
			h.fail(w, r, err)
		}
	})
}

// errSignIn sends a page to the sign-in form; a script or a form gets 401.
var errSignIn = errs.New(errs.Unauthorized, "Your session has ended: sign in again")

var errManagers = errs.New(errs.Forbidden, "Settings are for the team's owners and admins")

// authenticate finds the request's session and checks that it may use a
// route of access a.
func (h *Handler) authenticate(w http.ResponseWriter, r *req, a access) error {
	tok := h.sessionToken(r.Request)
	if tok == "" {
		return errSignIn
	}
	ses, ag, err := h.Agents.Authenticate(r.Context(), tok)
	if err != nil {
		if errs.Is(err, errs.Unauthorized) {
			h.clearSession(w, r.Request)
			r.token = ""
			return errSignIn
		}
		return err
	}
	r.Agent, r.Session, r.token = ag, ses, tok
	switch ses.Stage {
	case agent.WantsCode:
		if a != codeStage {
			return &redirect{to: Prefix + "/login/code"}
		}
	case agent.WantsEnroll:
		if a != enrolls {
			return &redirect{to: Prefix + "/account"}
		}
	case agent.Full:
		if a == codeStage {
			return &redirect{to: Prefix + "/inbox"}
		}
	}
	t, err := h.Teams.Resolve(r.Context(), ag.TeamID)
	if err != nil {
		return err
	}
	r.Team = t
	if a == managers && !ag.Role.Manages() {
		return errManagers
	}
	return nil
}

// redirect is an error that sends the browser elsewhere (303).
type redirect struct{ to string }

func (e *redirect) Error() string { return "redirect to " + e.to }

// wantsJSON tells a script's request (which asks for JSON, or opens a
// websocket) from a browser's navigation or form post.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json") || strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// fail answers err: a redirect; JSON for a script; for a browser, the
// sign-in form when the session is gone, else an error page. Internal
// errors are logged with the request's id and shown as a generic message.
func (h *Handler) fail(w http.ResponseWriter, r *req, err error) {
	var rd *redirect
	if errors.As(err, &rd) {
		http.Redirect(w, r.Request, rd.to, http.StatusSeeOther)
		return
	}
	e := errs.Public(err)
	status := e.Code.HTTPStatus()
	msg := e.Message
	if e.Code == errs.Internal {
		msg = "Something went wrong on our side; please try again. (" + w.Header().Get("X-Request-Id") + ")"
		h.Log.ErrorContext(r.Context(), "dashboard", "request_id", w.Header().Get("X-Request-Id"), "path", r.URL.Path, "err", err)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(e.RetryAfter.Seconds()+0.999)))
	}
	if wantsJSON(r.Request) {
		writeJSON(w, status, map[string]any{"error": msg, "code": e.Code, "field": e.Field})
		return
	}
	if status == http.StatusUnauthorized && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		to := Prefix + "/login"
		if p := r.URL.Path; p != Prefix+"/" && p != testPrefix+"/" {
			to += "?next=" + urlEscape(r.URL.RequestURI())
		}
		http.Redirect(w, r.Request, to, http.StatusSeeOther)
		return
	}
	h.render(w, r, status, "error", map[string]any{"Status": status, "Message": msg}, "Error")
}

// render writes page name with the layout; data is the page's own.
func (h *Handler) render(w http.ResponseWriter, r *req, status int, name string, data any, title string) {
	t := h.pages[name]
	if t == nil {
		h.Log.Error("dashboard: no template", "page", name)
		http.Error(w, "no template", http.StatusInternalServerError)
		return
	}
	v := h.view(r, name, title, data)
	v.CSRF, v.Flash = h.csrf(w, r), h.takeFlash(w, r)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		h.Log.ErrorContext(r.Context(), "dashboard: render", "page", name, "err", err)
		http.Error(w, "could not render the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fragment writes one named template of page (no layout) with data: a part
// of a page that a script fetches.
func (h *Handler) fragment(w http.ResponseWriter, r *req, page, name string, data any) error {
	var buf bytes.Buffer
	if err := h.pages[page].ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("dashboard: render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
	return nil
}

// ctxDone is a context for work that must finish although the browser went
// away (a write begun, an audit entry).
func ctxDone(r *req) context.Context { return context.WithoutCancel(r.Context()) }
