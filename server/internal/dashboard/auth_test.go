package dashboard_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/agent"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// TestSignIn: the session cookie's flags, on plain HTTP and on HTTPS behind
// a trusted proxy (__Host-, Secure); a new token at every sign-in, the old
// one worthless; sign-out; a wrong password and the throttle.
func TestSignIn(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL, apptest.TrustLoopbackProxy)

		t.Run("cookie_flags", func(t *testing.T) {
			for _, c := range []struct {
				name  string
				hdr   []string
				want  string
				https bool
			}{
				{"http", nil, "cstar_session=", false},
				{"https", []string{"X-Forwarded-Proto", "https", "Origin", e.URL[:len("http")] + "s" + e.URL[len("http"):]}, "__Host-cstar_session=", true},
			} {
				b := e.Browser(t)
				b.Get(t, "/app/login", c.hdr...)
				r := b.Post(t, "/app/login", form("email", "olive@acme.example", "password", apptest.AgentPassword), c.hdr...)
				wantRedirect(t, c.name+" sign-in", r, "/app/inbox")
				var set string
				for _, v := range r.Header.Values("Set-Cookie") {
					if strings.Contains(v, "_session=") {
						set = v
					}
				}
				if !strings.HasPrefix(set, c.want) || !strings.Contains(set, "HttpOnly") || !strings.Contains(set, "SameSite=Lax") ||
					!strings.Contains(set, "Path=/") || strings.Contains(set, "Domain=") || strings.Contains(set, "Secure") != c.https {
					t.Errorf("%s: Set-Cookie %q, want %s… HttpOnly, SameSite=Lax, Path=/, no Domain, Secure=%v", c.name, set, c.want, c.https)
				}
			}
		})

		t.Run("rotation_and_sign_out", func(t *testing.T) {
			b := e.as(t, "olive@acme.example")
			first := b.Cookie("cstar_session").Value
			b.SignIn(t, "olive@acme.example")
			second := b.Cookie("cstar_session").Value
			if first == second {
				t.Fatal("signing in again kept the session token; want a new one")
			}
			// The first token, replayed: it ended when the second sign-in
			// happened in its browser.
			wantRedirect(t, "the replaced token", e.Browser(t).Get(t, "/app/inbox", "Cookie", "cstar_session="+first), "/app/login")
			wantStatus(t, "inbox", b.Get(t, "/app/inbox"), http.StatusOK)
			wantRedirect(t, "sign out", b.Post(t, "/app/logout", nil), "/app/login")
			wantRedirect(t, "inbox after sign-out", b.Get(t, "/app/inbox"), "/app/login?next=")
			wantRedirect(t, "the signed-out token", e.Browser(t).Get(t, "/app/inbox", "Cookie", "cstar_session="+second), "/app/login")
		})

		t.Run("wrong_password", func(t *testing.T) {
			b := e.Browser(t)
			b.Get(t, "/app/login")
			for i := range 5 {
				r := b.Post(t, "/app/login", form("email", "mo@acme.example", "password", "not the password"), "X-Forwarded-For", "198.51.100.9")
				want := http.StatusUnauthorized
				if i == 4 {
					want = http.StatusTooManyRequests
				}
				wantStatus(t, "a wrong password", r, want)
				if b.Cookie("cstar_session") != nil {
					t.Fatal("a wrong password set a session cookie")
				}
			}
		})

		t.Run("api_and_dashboard_apart", func(t *testing.T) {
			b := e.as(t, "olive@acme.example")
			ck := "cstar_session=" + b.Cookie("cstar_session").Value
			e.Do(t, "GET", e.Path(""), "", nil, "Cookie", ck).WantError(t, http.StatusUnauthorized, protocol.MsgInvalidAPIKey)
			e.Do(t, "GET", e.Path("/api-keys"), "", nil, "Cookie", ck).WantError(t, http.StatusUnauthorized, protocol.MsgInvalidAPIKey)
			for _, key := range []string{e.SKLive, e.PKLive} {
				wantRedirect(t, "/app/ with an API key", e.Browser(t).Get(t, "/app/settings/keys", "Authorization", "Bearer "+key), "/app/login")
			}
		})
	})
}

// TestCSRF: every state-changing request needs the page's token and a
// same-origin Origin (or Sec-Fetch-Site); a form from another site is 403,
// whatever its token.
func TestCSRF(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		b := e.as(t, "olive@acme.example")
		b.Get(t, "/app/settings/keys")
		created := func() int { return len(e.Do(t, "GET", e.Path("/api-keys"), e.SKLive, nil).Items(t)) }
		n := created()
		for _, c := range []struct {
			name string
			f    []string
			hdr  []string
		}{
			{"no token", []string{"type", "secret", "csrf", ""}, nil},
			{"a wrong token", []string{"type", "secret", "csrf", "x"}, nil},
			{"another site", []string{"type", "secret"}, []string{"Origin", "https://evil.example"}},
			{"Origin null", []string{"type", "secret"}, []string{"Origin", "null"}},
			{"cross-site fetch", []string{"type", "secret"}, []string{"Origin", "", "Sec-Fetch-Site", "cross-site"}},
			{"another port", []string{"type", "secret"}, []string{"Origin", "http://127.0.0.1:1"}},
		} {
			r := b.Post(t, "/app/settings/keys", form(c.f...), c.hdr...)
			wantStatus(t, c.name, r, http.StatusForbidden)
		}
		if got := created(); got != n {
			t.Fatalf("refused forms made keys: %d → %d", n, got)
		}
		// The sign-in form too: another site cannot sign a browser in.
		anon := e.Browser(t)
		anon.Get(t, "/app/login")
		wantStatus(t, "a cross-site sign-in", anon.Post(t, "/app/login", form("email", "olive@acme.example", "password", apptest.AgentPassword),
			"Origin", "https://evil.example"), http.StatusForbidden)
		wantStatus(t, "a sign-in without the form's token", anon.Post(t, "/app/login", form("email", "olive@acme.example",
			"password", apptest.AgentPassword, "csrf", "x")), http.StatusForbidden)
		// Same origin, no Origin header (not a browser), right token: allowed.
		wantStatus(t, "same origin", b.Post(t, "/app/settings/keys", form("type", "secret"), "Origin", ""), http.StatusCreated)
		wantStatus(t, "same origin, with Origin", b.Post(t, "/app/settings/keys", form("type", "publishable")), http.StatusCreated)
	})
}

// TestRoles: an agent gets 403 on every settings route, read or write, and
// sees no link to them; owners and admins get the pages.
func TestRoles(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		id := "01a20000-0000-7000-8000-000000000000"
		gets := []string{"/settings", "/settings/keys", "/settings/keys/" + id + "/usage", "/settings/origins", "/settings/identity",
			"/settings/widget", "/settings/library", "/settings/library/articles/new", "/settings/library/articles/" + id,
			"/settings/team", "/settings/audit"}
		posts := []string{"/settings/keys", "/settings/keys/" + id + "/roll", "/settings/keys/" + id + "/revoke", "/settings/origins",
			"/settings/identity/roll", "/settings/identity/user-hash", "/settings/widget", "/settings/library/categories",
			"/settings/library/categories/" + id, "/settings/library/categories/" + id + "/delete", "/settings/library/articles",
			"/settings/library/articles/" + id, "/settings/library/articles/" + id + "/delete", "/settings/library/preview",
			"/settings/team", "/settings/team/invitations", "/settings/team/invitations/" + id + "/withdraw",
			"/settings/team/agents/" + id + "/role", "/settings/team/agents/" + e.owner.ID + "/remove"}
		agentB := e.as(t, "mo@acme.example")
		for _, mode := range []string{"/app", "/app/test"} {
			for _, p := range gets {
				wantStatus(t, "agent GET "+mode+p, agentB.Get(t, mode+p), http.StatusForbidden)
			}
			for _, p := range posts {
				agentB.Get(t, mode+"/inbox")
				wantStatus(t, "agent POST "+mode+p, agentB.Post(t, mode+p, form("type", "secret", "email", "x@acme.example", "role", "owner")),
					http.StatusForbidden)
			}
		}
		if r := agentB.Get(t, "/app/inbox"); has(r, "/settings") {
			t.Error("an agent's inbox links to the settings")
		}
		if _, err := e.App.Agents().Get(t.Context(), e.Team.ID, e.owner.ID); err != nil {
			t.Fatalf("the owner after an agent's attempts: %v", err)
		}
		for _, email := range []string{"olive@acme.example", "ada@acme.example"} {
			b := e.as(t, email)
			for _, p := range gets[1:] {
				if strings.Contains(p, id) {
					continue
				}
				wantStatus(t, email+" GET "+p, b.Get(t, "/app"+p), http.StatusOK)
			}
			if r := b.Get(t, "/app/inbox"); !has(r, "/app/settings/keys") {
				t.Errorf("%s's inbox has no link to the settings", email)
			}
		}
	})
}

// TestRemovalAndSignOutCloseDashboards: removing an agent ends their
// sessions at once and closes their open dashboards (on every process: the
// event goes through the bus); signing out closes that session's.
func TestRemovalAndSignOutCloseDashboards(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		mo := e.as(t, "mo@acme.example")
		live, _, _ := mo.Live(t, "/app/live")
		testLive, _, _ := mo.Live(t, "/app/test/live")
		other := e.as(t, "ada@acme.example")
		adaLive, _, _ := other.Live(t, "/app/live")
		owner := e.as(t, "olive@acme.example")
		owner.Get(t, "/app/settings/team")
		wantRedirect(t, "remove", owner.Post(t, "/app/settings/team/agents/"+e.member.ID+"/remove", nil), "/app/settings/team")
		live.WantClose(protocol.CloseSessionInvalid)
		testLive.WantClose(protocol.CloseSessionInvalid)
		wantRedirect(t, "the removed agent's next page", mo.Get(t, "/app/inbox"), "/app/login")

		other.Get(t, "/app/inbox")
		other.Post(t, "/app/logout", nil)
		adaLive.WantClose(protocol.CloseSessionInvalid)
	})
}

// TestLiveOrigin: the live connection needs the dashboard's own origin
// (a cookie would go with another site's websocket too) and a session.
func TestLiveOrigin(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		b := e.as(t, "mo@acme.example")
		if _, res, err := b.DialLive(t, "/app/live", "Origin", "https://evil.example"); err == nil || apptest.Status(res) != http.StatusForbidden {
			t.Fatalf("another site's websocket: got %v (status %d), want 403", err, apptest.Status(res))
		}
		if _, res, err := e.DialWS(t, "/app/live", "Origin", e.URL); err == nil || apptest.Status(res) != http.StatusUnauthorized {
			t.Fatalf("without a session: got %v (status %d), want 401", err, apptest.Status(res))
		}
	})
}

// TestTwoFactor: an agent sets up TOTP in the dashboard; signing in then
// asks for the code; a team that requires it sends an agent without one to
// set it up before anything else.
func TestTwoFactor(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		b := e.as(t, "mo@acme.example")
		b.Get(t, "/app/account")
		wantRedirect(t, "begin", b.Post(t, "/app/account/totp", nil), "/app/account")
		r := b.Get(t, "/app/account")
		secret := between(string(r.Raw), `<code class="secret-key">`, `</code>`)
		if len(secret) < 16 {
			t.Fatalf("the secret on the page: %q", secret)
		}
		if qr := b.Get(t, "/app/account/totp/qr.png"); qr.Status != 200 || qr.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("the QR code: %d %s", qr.Status, qr.Header.Get("Content-Type"))
		}
		code, _ := agent.Code(secret, e.Clock.Now())
		wantRedirect(t, "enable", b.Post(t, "/app/account/totp/enable", form("code", code)), "/app/account")
		if r := b.Get(t, "/app/account"); !has(r, "is <strong>on</strong>") {
			t.Fatalf("after enabling: %.300s", r.Raw)
		}

		c := e.Browser(t)
		c.Get(t, "/app/login")
		wantRedirect(t, "password", c.Post(t, "/app/login", form("email", "mo@acme.example", "password", apptest.AgentPassword)), "/app/login/code")
		wantRedirect(t, "the inbox before the code", c.Get(t, "/app/inbox"), "/app/login/code")
		c.Get(t, "/app/login/code")
		wantStatus(t, "a wrong code", c.Post(t, "/app/login/code", form("code", "000000")), http.StatusBadRequest)
		e.Clock.Advance(30 * time.Second)
		code, _ = agent.Code(secret, e.Clock.Now())
		wantRedirect(t, "the code", c.Post(t, "/app/login/code", form("code", code)), "/app/inbox")
		wantStatus(t, "the inbox", c.Get(t, "/app/inbox"), http.StatusOK)

		// The team requires it: Ada has none and must set it up first.
		o := e.as(t, "olive@acme.example")
		o.Get(t, "/app/settings/team")
		wantRedirect(t, "require", o.Post(t, "/app/settings/team", form("name", "Acme", "require_totp", "1")), "/app/settings/team")
		a := e.Browser(t)
		a.Get(t, "/app/login")
		wantRedirect(t, "Ada's password", a.Post(t, "/app/login", form("email", "ada@acme.example", "password", apptest.AgentPassword)), "/app/account")
		wantRedirect(t, "Ada's inbox before enrolling", a.Get(t, "/app/inbox"), "/app/account")
		a.Get(t, "/app/account")
		a.Post(t, "/app/account/totp", nil)
		s2 := between(string(a.Get(t, "/app/account").Raw), `<code class="secret-key">`, `</code>`)
		code, _ = agent.Code(s2, e.Clock.Now())
		wantRedirect(t, "Ada enrols", a.Post(t, "/app/account/totp/enable", form("code", code)), "/app/account")
		wantStatus(t, "Ada's inbox after enrolling", a.Get(t, "/app/inbox"), http.StatusOK)
	})
}

func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, to)
	return v
}

// TestBodyLimit: a form bigger than a megabyte is refused while it is read,
// also before sign-in; before, an anonymous POST /app/login of 31 MB was
// read whole into memory.
func TestBodyLimit(t *testing.T) {
	e := newEnv(t, testdb.SQLite(t))
	anon := e.Browser(t)
	anon.Get(t, "/app/login")
	big := form("email", "olive@acme.example", "password", strings.Repeat("x", 2<<20))
	wantStatus(t, "a 2 MB sign-in form", anon.Post(t, "/app/login", big), http.StatusRequestEntityTooLarge)
	// A normal form still works.
	anon.SignIn(t, "olive@acme.example")
}
