package dashboard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/cstar-chat/cstar/server/internal/agent"
	"github.com/cstar-chat/cstar/server/internal/audit"
	"github.com/cstar-chat/cstar/server/internal/errs"
)

// The session cookie. On HTTPS it is __Host- prefixed: Secure, for this
// host only, path /, which no other site or subdomain can set. It is
// HttpOnly (scripts never see it) and SameSite=Lax (another site's forms
// and scripts do not send it). Only /app/ reads it: the API never does,
// and the dashboard never reads an API key.
const (
	sessionCookie       = "cstar_session"
	secureSessionCookie = "__Host-cstar_session"
	// formCookie holds the sign-in forms' CSRF token (double submit), until
	// there is a session to derive one from.
	formCookie       = "cstar_form"
	secureFormCookie = "__Host-cstar_form"
	flashCookie      = "cstar_flash"
)

// secure tells whether the browser reached us over HTTPS: directly, or
// through a trusted proxy that says so.
func (h *Handler) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err == nil && h.trusted(ap.Addr().Unmap()) {
		return strings.EqualFold(strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-Proto"), ",")[0]), "https")
	}
	return false
}

func (h *Handler) trusted(ip netip.Addr) bool {
	for _, p := range h.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// clientIP is the peer address, or the first untrusted address of
// X-Forwarded-For when the peer is a trusted proxy (the API's rule).
func (h *Handler) clientIP(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	ip := ap.Addr().Unmap()
	if !h.trusted(ip) {
		return ip.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !h.trusted(a) {
			return a.String()
		}
		ip = a
	}
	return ip.String()
}

func (h *Handler) client(r *req) agent.Client {
	return agent.Client{IP: h.clientIP(r.Request), UserAgent: r.UserAgent()}
}

// origin is this server's origin as the browser sees it.
func (h *Handler) origin(r *http.Request) string {
	if h.secure(r) {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

var errCrossSite = errs.New(errs.Forbidden, "This form was sent from another site, so it was refused")

// checkOrigin refuses a state-changing request that a browser sent from
// another origin: by its Origin header, which browsers send with every
// POST, else by Sec-Fetch-Site. A request with neither (not a browser)
// still needs the CSRF token.
func (h *Handler) checkOrigin(r *http.Request) error {
	if o := r.Header.Get("Origin"); o != "" {
		if o != h.origin(r) {
			return errCrossSite
		}
		return nil
	}
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return errCrossSite
	}
	return nil
}

func (h *Handler) cookieName(r *http.Request, plain, hostOnly string) string {
	if h.secure(r) {
		return hostOnly
	}
	return plain
}

func (h *Handler) sessionToken(r *http.Request) string {
	c, err := r.Cookie(h.cookieName(r, sessionCookie, secureSessionCookie))
	if err != nil {
		return ""
	}
	return c.Value
}

func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, expires time.Time) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: h.secure(r)}
	if expires.IsZero() {
		c.MaxAge = -1
	} else {
		c.Expires = expires.UTC()
	}
	http.SetCookie(w, c)
}

func (h *Handler) setSession(w http.ResponseWriter, r *http.Request, iss agent.Issued) {
	h.setCookie(w, r, h.cookieName(r, sessionCookie, secureSessionCookie), iss.Token, iss.Session.AbsoluteExpiresAt)
}

func (h *Handler) clearSession(w http.ResponseWriter, r *http.Request) {
	h.setCookie(w, r, h.cookieName(r, sessionCookie, secureSessionCookie), "", time.Time{})
}

// csrfOf is the CSRF token of a session: an HMAC of its token, so that it
// needs no storage, changes with every sign-in, and tells nothing of the
// cookie.
func csrfOf(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("cstar dashboard csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// formToken returns the sign-in forms' CSRF token, setting its cookie when
// the browser has none.
func (h *Handler) formToken(w http.ResponseWriter, r *http.Request) string {
	name := h.cookieName(r, formCookie, secureFormCookie)
	if c, err := r.Cookie(name); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	var b [32]byte
	rand.Read(b[:])
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	h.setCookie(w, r, name, tok, h.Now().Add(24*time.Hour))
	return tok
}

var errCSRF = errs.New(errs.Forbidden, "This form has expired: reload the page and send it again")

// checkCSRF compares the request's token (form field csrf, or header
// X-CSRF-Token) with the session's, or, before there is a session, with the
// form cookie's.
func (h *Handler) checkCSRF(r *req) error {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	var want string
	if r.token != "" {
		want = csrfOf(r.token)
	} else if c, err := r.Cookie(h.cookieName(r.Request, formCookie, secureFormCookie)); err == nil {
		want = c.Value
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return errCSRF
	}
	return nil
}

// csrf is the token a page's forms carry.
func (h *Handler) csrf(w http.ResponseWriter, r *req) string {
	if r.token != "" {
		return csrfOf(r.token)
	}
	return h.formToken(w, r.Request)
}

// flash keeps a message for the next page (after a redirect).
func (h *Handler) flash(w http.ResponseWriter, r *req, msg string) {
	h.setCookie(w, r.Request, flashCookie, base64.RawURLEncoding.EncodeToString([]byte(msg)), h.Now().Add(time.Minute))
}

// takeFlash reads and clears the message kept for this page.
func (h *Handler) takeFlash(w http.ResponseWriter, r *req) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	h.setCookie(w, r.Request, flashCookie, "", time.Time{})
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(b) > 500 {
		return ""
	}
	return string(b)
}

// back redirects to path after a form, with msg for the next page. A form
// refused for its input comes back the same way, its reason in the flash.
func (h *Handler) back(w http.ResponseWriter, r *req, path, msg string) error {
	if wantsJSON(r.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "message": msg})
		return nil
	}
	if msg != "" {
		h.flash(w, r, msg)
	}
	http.Redirect(w, r.Request, path, http.StatusSeeOther)
	return nil
}

// refused sends a form's refusal (bad input, a conflict, a rule) back to
// path as a message; other errors go on to the error page.
func (h *Handler) refused(w http.ResponseWriter, r *req, path string, err error) error {
	switch errs.CodeOf(err) {
	case errs.Invalid, errs.Conflict, errs.Forbidden, errs.NotFound, errs.RateLimited:
		if wantsJSON(r.Request) {
			return err
		}
		return h.back(w, r, path, "⚠ "+errs.Public(err).Message)
	}
	return err
}

// record writes an audit entry for the signed-in agent; a failure is
// logged (the change itself is done).
func (h *Handler) record(r *req, e audit.Entry) {
	e.TeamID = r.Agent.TeamID
	if e.ActorType == "" {
		e.ActorType, e.ActorID, e.ActorName = audit.ActorAgent, r.Agent.ID, r.Agent.Name+" <"+r.Agent.Email+">"
	}
	e.IP = h.clientIP(r.Request)
	if err := h.Audit.Record(ctxDone(r), e); err != nil {
		h.Log.ErrorContext(r.Context(), "dashboard: audit", "action", e.Action, "err", err)
	}
}

// safeNext keeps a post-sign-in destination on the dashboard.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, Prefix+"/") ||
		strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return Prefix + "/inbox"
	}
	return u.RequestURI()
}

func urlEscape(s string) string { return url.QueryEscape(s) }

func (h *Handler) loginPage(w http.ResponseWriter, r *req) error {
	if tok := h.sessionToken(r.Request); tok != "" {
		if ses, _, err := h.Agents.Authenticate(r.Context(), tok); err == nil && ses.Stage == agent.Full {
			http.Redirect(w, r.Request, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
			return nil
		}
	}
	h.render(w, r, http.StatusOK, "login", map[string]any{"Next": r.URL.Query().Get("next"), "Email": ""}, "Sign in")
	return nil
}

// login signs an agent in: a new session (the old one, if any, ends: the
// token rotates), then the inbox, or the second factor's form.
func (h *Handler) login(w http.ResponseWriter, r *req) error {
	email, pw, next := r.PostFormValue("email"), r.PostFormValue("password"), r.PostFormValue("next")
	_, iss, err := h.Agents.SignIn(r.Context(), email, pw, h.client(r))
	if err != nil {
		switch errs.CodeOf(err) {
		case errs.Unauthorized, errs.RateLimited, errs.Unavailable:
			e := errs.Public(err)
			h.render(w, r, e.Code.HTTPStatus(), "login", map[string]any{"Next": next, "Email": email, "Error": e.Message}, "Sign in")
			return nil
		}
		return err
	}
	if old := h.sessionToken(r.Request); old != "" {
		h.Agents.SignOut(ctxDone(r), old)
	}
	h.setSession(w, r.Request, iss)
	switch iss.Session.Stage {
	case agent.WantsCode:
		http.Redirect(w, r.Request, Prefix+"/login/code?next="+urlEscape(next), http.StatusSeeOther)
	case agent.WantsEnroll:
		http.Redirect(w, r.Request, Prefix+"/account", http.StatusSeeOther)
	default:
		http.Redirect(w, r.Request, safeNext(next), http.StatusSeeOther)
	}
	return nil
}

func (h *Handler) codePage(w http.ResponseWriter, r *req) error {
	h.render(w, r, http.StatusOK, "code", map[string]any{"Next": r.URL.Query().Get("next")}, "Two-factor sign-in")
	return nil
}

func (h *Handler) verifyCode(w http.ResponseWriter, r *req) error {
	next := r.PostFormValue("next")
	_, iss, err := h.Agents.VerifyCode(r.Context(), r.token, r.PostFormValue("code"), h.client(r))
	if errs.Is(err, errs.Invalid) {
		h.render(w, r, http.StatusBadRequest, "code", map[string]any{"Next": next, "Error": errs.Public(err).Message}, "Two-factor sign-in")
		return nil
	}
	if err != nil {
		return err
	}
	h.setSession(w, r.Request, iss)
	http.Redirect(w, r.Request, safeNext(next), http.StatusSeeOther)
	return nil
}

// logout ends the session; its open dashboards close on every process.
func (h *Handler) logout(w http.ResponseWriter, r *req) error {
	if tok := h.sessionToken(r.Request); tok != "" {
		if err := h.Agents.SignOut(r.Context(), tok); err != nil {
			return err
		}
	}
	h.clearSession(w, r.Request)
	h.flash(w, r, "You are signed out.")
	http.Redirect(w, r.Request, Prefix+"/login", http.StatusSeeOther)
	return nil
}

// invitePage is where an invitation link opens. The token is in the
// link's fragment, which never reaches a server (nor its logs, nor a
// Referer): the page's script puts it in the form and sends it to
// openInvite; without script, it can be pasted.
func (h *Handler) invitePage(w http.ResponseWriter, r *req) error {
	h.render(w, r, http.StatusOK, "invite", map[string]any{}, "Join a team")
	return nil
}

// openInvite shows the invitation of the token posted, with the form that
// accepts it.
func (h *Handler) openInvite(w http.ResponseWriter, r *req) error {
	tok := r.PostFormValue("token")
	inv, err := h.Agents.Invitation(r.Context(), tok)
	if errs.Is(err, errs.NotFound) {
		h.render(w, r, http.StatusNotFound, "invite", map[string]any{"Error": errs.Public(err).Message}, "Join a team")
		return nil
	}
	if err != nil {
		return err
	}
	t, err := h.Teams.Resolve(r.Context(), inv.TeamID)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "invite", map[string]any{"Token": tok, "Invitation": inv, "TeamName": t.Name}, "Join "+t.Name)
	return nil
}

// acceptInvite makes the invited agent and signs them in.
func (h *Handler) acceptInvite(w http.ResponseWriter, r *req) error {
	tok := r.PostFormValue("token")
	inv, err := h.Agents.Invitation(r.Context(), tok)
	if err != nil {
		return err
	}
	t, err := h.Teams.Resolve(r.Context(), inv.TeamID)
	if err != nil {
		return err
	}
	name := r.PostFormValue("name")
	a, iss, err := h.Agents.Accept(r.Context(), tok, name, r.PostFormValue("password"), t.Name, h.client(r))
	if errs.Is(err, errs.Invalid) || errs.Is(err, errs.Conflict) {
		h.render(w, r, errs.CodeOf(err).HTTPStatus(), "invite", map[string]any{"Token": tok, "Invitation": inv, "TeamName": t.Name,
			"Name": name, "Error": errs.Public(err).Message}, "Join "+t.Name)
		return nil
	}
	if err != nil {
		return err
	}
	r.Agent = a
	h.record(r, audit.Entry{Action: audit.InvitationAccepted, Target: a.Email, Detail: "role " + string(a.Role)})
	h.setSession(w, r.Request, iss)
	to := Prefix + "/inbox"
	if iss.Session.Stage == agent.WantsEnroll {
		to = Prefix + "/account"
	}
	http.Redirect(w, r.Request, to, http.StatusSeeOther)
	return nil
}
