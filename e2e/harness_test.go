package e2e

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/config"
)

// envDatabaseURL names a PostgreSQL server the tests may create databases
// on; envRequirePostgres=1 turns its absence into a failure. They are the
// variables of server/internal/testdb, which e2e cannot import.
const (
	envDatabaseURL     = "CSTAR_TEST_DATABASE_URL"
	envRequirePostgres = "CSTAR_REQUIRE_POSTGRES"
)

// dialects are the databases every scenario runs on.
var dialects = []string{"sqlite", "postgres"}

// databaseURL returns a fresh, empty database of the dialect that lives as
// long as tb, as testdb.URL does.
func databaseURL(tb testing.TB, dialect string) string {
	tb.Helper()
	if dialect == "sqlite" {
		return "sqlite:" + filepath.Join(tb.TempDir(), "cstar.db")
	}
	admin := os.Getenv(envDatabaseURL)
	if admin == "" {
		if os.Getenv(envRequirePostgres) == "1" {
			tb.Fatalf("%s is not set but %s=1: run the tests with `make test`", envDatabaseURL, envRequirePostgres)
		}
		tb.Skipf("%s not set: skipping the PostgreSQL run (make test starts a cluster)", envDatabaseURL)
	}
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("parse %s: %v", envDatabaseURL, err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "cstar_e2e_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", admin)
	if err != nil {
		tb.Fatalf("open admin connection: %v", err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		tb.Fatalf("create test database: %v", err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u.Path = "/" + name
	return u.String()
}

// env is one running server with a team, and the site that embeds its widget.
type env struct {
	API    string // the server, http://127.0.0.1:port
	Site   string // the embedding page's origin, http://localhost:port
	PKTest string
	PKLive string
	// SKTest is the team's test secret key, for the agent's side of chats.
	SKTest string
	TeamID string
	// Server is the running server; its Stop and Restart are a deploy.
	Server *apptest.Server
	// IdentityTest and IdentityLive are the team's identity-verification
	// secrets.
	IdentityTest string
	IdentityLive string
}

// newEnv starts the server in-process on a fresh database of the dialect,
// creates a team and serves the test pages from another origin.
func newEnv(tb testing.TB, dialect string) *env {
	tb.Helper()
	return newEnvOn(tb, dialect, databaseURL(tb, dialect))
}

// newEnvOn is newEnv on the database at dbURL (a cluster the test stops
// and starts, for one), with the server's options (apptest.Mail, say).
func newEnvOn(tb testing.TB, dialect, dbURL string, opts ...apptest.Option) *env {
	tb.Helper()
	// The harness's cheap hashing: the tests are about the browser, not
	// argon2id's cost.
	srv := apptest.Start(tb, dbURL, append([]apptest.Option{apptest.NoTeam,
		apptest.Config(func(c *config.Config) { c.WidgetDir = widgetDir })}, opts...)...)
	created := srv.CreateTeam(tb, "E2E "+dialect, "e2e-"+dialect)
	srv.Team = created // the team of srv.CreateAgent
	e := &env{API: srv.URL, PKTest: created.Keys["pk_test"].Secret, PKLive: created.Keys["pk_live"].Secret,
		SKTest: created.Keys["sk_test"].Secret, TeamID: created.ID, Server: srv}
	for mode, s := range created.IdentitySecrets {
		switch mode {
		case "test":
			e.IdentityTest = s
		case "live":
			e.IdentityLive = s
		}
	}
	if e.PKTest == "" || e.PKLive == "" || e.IdentityTest == "" || e.IdentityLive == "" {
		tb.Fatalf("team: got keys %v and identity secrets %v, want pk_test, pk_live and both secrets", created.Keys, created.IdentitySecrets)
	}

	site := httptest.NewServer(e.siteHandler())
	tb.Cleanup(site.Close)
	_, port, _ := net.SplitHostPort(site.Listener.Addr().String())
	// The API is on 127.0.0.1 and the site on localhost: two origins.
	e.Site = "http://localhost:" + port
	return e
}

// stop closes the server as a deploy would; start opens it again on the
// same address and database.
func (e *env) stop(tb testing.TB) { tb.Helper(); e.Server.Stop(tb) }

func (e *env) start(tb testing.TB) { tb.Helper(); e.Server.Restart(tb) }

// Page scripts, served as files: the page allows no inline script.
// hostileCSS is a host page's stylesheet at its worst (?css=hostile).
const hostileCSS = `* { all: unset !important; } div { display: none !important; } button { display: none !important; }`

const violationsJS = `"use strict";
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " blocked " + e.blockedURI);
});
`

// earlyJS runs right after the loader tag, before the module has loaded: it
// records what a product page's snippet would see then, and when ready()
// resolves.
const earlyJS = `"use strict";
(function () {
  var c = window.CStarChat;
  window.__early = {
    defined: !!c,
    wasmLoaded: typeof window.Go !== "undefined",
    identified: c.isIdentified(),
    customer: c.getCustomer()
  };
  window.__events = [];
  ["identified", "logout"].forEach(function (name) {
    c.on(name, function () { window.__events.push(name); });
  });
  // Live chat: every message event, connection state and typing event.
  window.__msgs = [];
  window.__conn = [];
  window.__typing = [];
  c.on("message", function (m) { window.__msgs.push(m); });
  c.on("connection", function (s) { window.__conn.push(s); });
  c.on("typing", function (t) { window.__typing.push(t); });
  // The panel's events, and an open() before anything has loaded
  // (?openearly=1).
  window.__panel = [];
  c.on("open", function (o) { window.__panel.push("open:" + (o && o.message || "")); });
  c.on("close", function () { window.__panel.push("close"); });
  if (/[?&]openearly=1/.test(location.search)) c.open({ message: "Hello from the page" });
  // ready() loads the module; a ?lazy=1 page only listens for it, as a
  // page that leaves the loading to the widget does.
  var atReady = function () {
    window.__readyAt = performance.now();
    window.__atReady = { identified: c.isIdentified(), customer: c.getCustomer() };
  };
  if (/[?&]lazy=1/.test(location.search)) c.on("ready", atReady);
  else c.ready().then(atReady, function (err) { window.__readyError = String(err && err.message); });
})();
`

// siteHandler serves /?mode=test|live, a page that embeds the widget with
// that mode's publishable key under a strict Content-Security-Policy.
func (e *env) siteHandler() http.Handler {
	mux := http.NewServeMux()
	js := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			fmt.Fprint(w, body)
		}
	}
	mux.HandleFunc("GET /violations.js", js(violationsJS))
	mux.HandleFunc("GET /early.js", js(earlyJS))
	mux.HandleFunc("GET /init.js", js(`CStarChat.init({locale: "de", title: "Hilfe", position: "left"});`))
	// The site's own button, for data-launcher="none" (?sitebutton=1).
	mux.HandleFunc("GET /sitebutton.js", js(`document.addEventListener("DOMContentLoaded", function () {
  var b = document.createElement("button");
  b.id = "site-help"; b.type = "button"; b.textContent = "Help with my order";
  b.addEventListener("click", function () { CStarChat.open({ message: "About order #1234: " }); });
  document.body.appendChild(b);
});`))
	mux.HandleFunc("GET /hostile.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		fmt.Fprint(w, hostileCSS)
	})
	// No favicon: answered so that the console shows only the widget's errors.
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		pk := e.PKTest
		if r.URL.Query().Get("mode") == "live" {
			pk = e.PKLive
		}
		// The chat socket's ws:// origin must be listed besides the API's
		// http:// one: Chromium does not let http sources cover websockets.
		wsOrigin := "ws" + strings.TrimPrefix(e.API, "http")
		w.Header().Set("Content-Security-Policy", fmt.Sprintf(
			"default-src 'self'; script-src 'self' %s 'wasm-unsafe-eval'; connect-src %s %s", e.API, e.API, wsOrigin))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		// The SDK tests run without the widget UI (its history fetch
		// would change what they observe); ?ui=1 turns it on.
		ui := ` data-ui="none"`
		if r.URL.Query().Get("ui") == "1" {
			ui = ""
		}
		q := r.URL.Query()
		for _, a := range []string{"ask-email", "launcher", "locale", "color"} {
			if v := q.Get(a); v != "" {
				ui += fmt.Sprintf(` data-%s="%s"`, a, html.EscapeString(v))
			}
		}
		extra := ""
		if q.Get("sitebutton") == "1" {
			extra += "\n<script src=\"/sitebutton.js\"></script>"
		}
		if r.URL.Query().Get("init") == "1" {
			extra += "\n<script src=\"/init.js\"></script>"
		}
		if r.URL.Query().Get("css") == "hostile" {
			extra += "\n<link rel=\"stylesheet\" href=\"/hostile.css\">"
		}
		fmt.Fprintf(w, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>cStar e2e</title>
<script src="/violations.js"></script>
<script src="%s/widget/cstar-chat.js" data-publishable-key="%s"%s></script>
<script src="/early.js"></script>%s
</head><body><h1>A product page</h1></body></html>
`, html.EscapeString(e.API), html.EscapeString(pk), ui, extra)
	})
	return mux
}

// page is the URL of the test page in a mode ("test" or "live").
func (e *env) page(mode string) string { return e.Site + "/?mode=" + mode }

// tab is one browser tab.
type tab struct {
	ctx context.Context
	tb  testing.TB

	mu      sync.Mutex
	console []string
}

// newTab opens a tab in a fresh browser context (its own storage), or, with
// a non-nil sibling, in the sibling's browser context.
func newTab(tb testing.TB, sibling *tab) *tab {
	tb.Helper()
	requireBrowser(tb)
	var ctx context.Context
	var cancel context.CancelFunc
	if sibling != nil {
		ctx, cancel = chromedp.NewContext(sibling.ctx)
	} else {
		ctx, cancel = chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	}
	msgs := chromedp.Console(ctx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		tb.Fatalf("open a tab: %v", err)
	}
	t := &tab{ctx: ctx, tb: tb}
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			t.mu.Lock()
			t.console = append(t.console, m.String())
			t.mu.Unlock()
		}
	}()
	tb.Cleanup(cancel)
	t.watch(tb)
	return t
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// watch saves a screenshot of the tab and logs its console when tb fails.
func (t *tab) watch(tb testing.TB) {
	tb.Cleanup(func() {
		if !tb.Failed() {
			return
		}
		t.mu.Lock()
		lines := append([]string(nil), t.console...)
		t.mu.Unlock()
		if len(lines) > 0 {
			tb.Logf("browser console:\n  %s", strings.Join(lines, "\n  "))
		}
		ctx, cancel := context.WithTimeout(t.ctx, 5*time.Second)
		defer cancel()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			tb.Logf("screenshot: %v", err)
			return
		}
		dir := filepath.Join("testdata", "output")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Logf("screenshot: %v", err)
			return
		}
		name := filepath.Join(dir, unsafeName.ReplaceAllString(tb.Name(), "_")+".png")
		if err := os.WriteFile(name, png, 0o644); err != nil {
			tb.Logf("screenshot: %v", err)
			return
		}
		abs, _ := filepath.Abs(name)
		tb.Logf("screenshot: %s", abs)
	})
}

// open navigates to url and waits until CStarChat.ready() has settled.
func (t *tab) open(tb testing.TB, url string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(t.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		tb.Fatalf("navigate to %s: %v", url, err)
	}
	t.waitFor(tb, `window.__readyAt !== undefined || window.__readyError !== undefined`, 15*time.Second)
	if msg := eval[string](tb, t, `window.__readyError || ""`); msg != "" {
		tb.Fatalf("ready(): got rejection %q, want it resolved", msg)
	}
}

// visit navigates to url and waits for the page's load event only: on a
// ?lazy=1 page nothing asks for the module, so ready() may never come.
func (t *tab) visit(tb testing.TB, url string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(t.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		tb.Fatalf("navigate to %s: %v", url, err)
	}
	t.waitFor(tb, `document.readyState === "complete" && !!window.CStarChat`, 15*time.Second)
}

// waitFor polls expr until it is truthy. It does not rely on animation
// frames, which a background tab does not get.
func (t *tab) waitFor(tb testing.TB, expr string, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		// An evaluation that fails counts as false until the deadline: a
		// click that navigates can end the page the expression ran in
		// ("Inspected target navigated or closed").
		ctx, cancel := context.WithTimeout(t.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")", chromedp.EvalAwaitPromise))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("waited %s for %s: still false (last error: %v)", timeout, expr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// eval evaluates expr in the tab and decodes its JSON value into T.
func eval[T any](tb testing.TB, t *tab, expr string) T {
	tb.Helper()
	ctx, cancel := context.WithTimeout(t.ctx, 15*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	var v T
	if err != nil {
		tb.Fatalf("evaluate %s: %v", expr, err)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		tb.Fatalf("evaluate %s: decode %s: %v", expr, raw, err)
	}
	return v
}

// result is a settled SDK promise.
type result struct {
	OK      bool            `json:"ok"`
	Value   json.RawMessage `json:"value"`
	Message string          `json:"message"`
	Status  int             `json:"status"`
	Code    string          `json:"code"`
	IsError bool            `json:"isError"`
}

// call awaits the SDK call expr (for example `CStarChat.login({...})`) and
// returns how it settled.
func (t *tab) call(tb testing.TB, expr string) result {
	tb.Helper()
	return eval[result](tb, t, `(async () => {
  try {
    const v = await (`+expr+`);
    return { ok: true, value: v === undefined ? null : v };
  } catch (e) {
    return { ok: false, message: String(e && e.message), status: e && e.status, code: e && e.code, isError: e instanceof Error };
  }
})()`)
}

// args renders v as a JavaScript object literal.
func args(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// customer is the SDK's Customer.
type customer struct {
	ID         string `json:"id"`
	Email      string `json:"email"`
	Name       string `json:"name"`
	ExternalID string `json:"externalId"`
	CreatedAt  string `json:"createdAt"`
}

func (r result) customer(tb testing.TB) customer {
	tb.Helper()
	if !r.OK {
		tb.Fatalf("got rejection %d %q (code %q), want a customer", r.Status, r.Message, r.Code)
	}
	var c customer
	if err := json.Unmarshal(r.Value, &c); err != nil || c.ID == "" {
		tb.Fatalf("got %s, want a customer (%v)", r.Value, err)
	}
	return c
}

// wantRejected checks that r is an Error with the status and message.
func (r result) wantRejected(tb testing.TB, status int, message string) {
	tb.Helper()
	if r.OK {
		tb.Fatalf("got resolved with %s, want rejection %d %q", r.Value, status, message)
	}
	if r.Status != status || r.Message != message {
		tb.Errorf("got rejection %d %q, want %d %q", r.Status, r.Message, status, message)
	}
	if !r.IsError || r.Code == "" {
		tb.Errorf("rejection: got isError=%v code=%q, want an Error with a code", r.IsError, r.Code)
	}
}

// state is what the page sees of the session.
type state struct {
	Identified bool      `json:"identified"`
	Customer   *customer `json:"customer"`
}

func (t *tab) state(tb testing.TB) state {
	tb.Helper()
	return eval[state](tb, t, `({ identified: CStarChat.isIdentified(), customer: CStarChat.getCustomer() })`)
}

// early is what the page script right after the loader tag saw.
type early struct {
	Defined    bool      `json:"defined"`
	WasmLoaded bool      `json:"wasmLoaded"`
	Identified bool      `json:"identified"`
	Customer   *customer `json:"customer"`
}

func (t *tab) early(tb testing.TB) early {
	tb.Helper()
	e := eval[early](tb, t, `window.__early`)
	if !e.Defined {
		tb.Fatalf("CStarChat right after the loader tag: got undefined, want the stub")
	}
	if e.WasmLoaded {
		tb.Errorf("the module had loaded before the page script after the tag ran; want it loaded after the page's load event")
	}
	return e
}

// atReady is what the page saw when ready() resolved.
func (t *tab) atReady(tb testing.TB) state {
	tb.Helper()
	return eval[state](tb, t, `window.__atReady`)
}

// noViolations fails tb when the page reported Content-Security-Policy
// violations.
func (t *tab) noViolations(tb testing.TB) {
	tb.Helper()
	v := eval[*[]string](tb, t, `window.__violations || null`)
	if v == nil {
		tb.Fatalf("window.__violations: got nothing, want the list that /violations.js keeps")
	}
	if len(*v) > 0 {
		tb.Errorf("Content-Security-Policy violations: got %q, want none", *v)
	}
}

// readyTime loads the page runs times and returns each time from
// navigation start to ready() resolving, in milliseconds.
func (t *tab) readyTimes(tb testing.TB, url string, runs int) []float64 {
	tb.Helper()
	ms := make([]float64, 0, runs)
	for range runs {
		t.open(tb, url)
		ms = append(ms, eval[float64](tb, t, `window.__readyAt`))
	}
	return ms
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
