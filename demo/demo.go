// Package demo is the sample store that `make run` serves on its own origin:
// a product page that embeds the widget with one script tag, and a page
// where the store's own login vouches for its user to cStar (bring your own
// auth: the store's backend signs the identity token). Agents answer in
// cStar's own dashboard (/app/ on the API's origin).
package demo

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

//go:embed pages.html
var pagesHTML string

var pages = template.Must(template.New("pages").Parse(pagesHTML))

// Config is what the demo needs of the cStar server and the demo team.
type Config struct {
	API            string // cStar's base URL as browsers reach it, e.g. http://localhost:8080
	Team           string // the team's id or slug
	TeamName       string
	PublishableKey string // pk_test_…: in the pages
	IdentitySecret string // the team's test-mode identity secret: only in this process
	Log            *slog.Logger
	Now            func() time.Time
}

// Site is the demo store's HTTP handler.
type Site struct {
	cfg   Config
	mux   *http.ServeMux
	users *users
	csp   string
}

// New returns the demo site.
func New(cfg Config) (*Site, error) {
	api, err := url.Parse(cfg.API)
	if err != nil || (api.Scheme != "http" && api.Scheme != "https") || api.Host == "" {
		return nil, fmt.Errorf("demo: API must be an http(s) URL, got %q", cfg.API)
	}
	if !strings.HasPrefix(cfg.PublishableKey, "pk_test_") {
		return nil, fmt.Errorf("demo: needs the team's test-mode publishable key")
	}
	if cfg.IdentitySecret == "" {
		return nil, fmt.Errorf("demo: needs the team's test-mode identity secret")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.API = strings.TrimRight(cfg.API, "/")
	ws := "ws" + strings.TrimPrefix(api.Scheme, "http") + "://" + api.Host
	s := &Site{cfg: cfg, mux: http.NewServeMux(), users: newUsers(cfg.Now),
		// The widget under a strict policy: no inline script or style anywhere.
		csp: fmt.Sprintf("default-src 'self'; script-src 'self' %s 'wasm-unsafe-eval'; connect-src 'self' %s %s; "+
			"style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
			cfg.API, cfg.API, ws)}
	sub, _ := fs.Sub(static, "static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(sub)))
	s.mux.HandleFunc("GET /{$}", s.page("store"))
	s.mux.HandleFunc("GET /account", s.page("account"))
	s.mux.HandleFunc("POST /account/login", s.login)
	s.mux.HandleFunc("POST /account/logout", s.logout)
	s.mux.HandleFunc("GET /account/me", s.me)
	s.mux.HandleFunc("POST /account/identity-token", s.identityToken)
	return s, nil
}

// ServeHTTP serves the demo with a few security headers on every answer.
// Only loopback host names are served: the store's backend signs identity
// tokens with the team's identity secret, and a page on another site whose
// name an attacker points at 127.0.0.1 (DNS rebinding) must not reach it.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !loopbackHost(r.Host) {
		http.Error(w, "this demo answers only on localhost", http.StatusMisdirectedRequest)
		return
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	s.mux.ServeHTTP(w, r)
}

// Close releases the site (nothing today; kept for the server's shutdown).
func (s *Site) Close() {}

func (s *Site) page(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", s.csp)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		err := pages.ExecuteTemplate(w, name, map[string]string{
			"API": s.cfg.API, "Key": s.cfg.PublishableKey, "Team": s.cfg.TeamName, "Dashboard": s.cfg.API + "/app/test/inbox",
		})
		if err != nil {
			s.cfg.Log.Error("demo page", "page", name, "err", err)
		}
	}
}

// loopbackHost reports whether host (with or without a port) names this
// machine's loopback interface.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
