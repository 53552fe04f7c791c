package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/identitytoken"
)

const password = "purple-otter-battery-42"

// TestWidget runs the SDK's scenarios on each database.
func TestWidget(t *testing.T) {
	requireBrowser(t)
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			t.Run("session", func(t *testing.T) { testSession(t, e) })
			t.Run("two_tabs", func(t *testing.T) { testTwoTabs(t, e) })
			t.Run("identify", func(t *testing.T) { testIdentify(t, e) })
			t.Run("ready_time", func(t *testing.T) {
				tb := newTab(t, nil)
				ms := tb.readyTimes(t, e.page("test"), 7)
				tb.noViolations(t)
				t.Logf("ready time on %s (navigation start to ready() resolved, 7 runs): median %.1f ms, runs %.1f", dialect, median(ms), ms)
			})
		})
	}
}

// testSession: signup, reload, the live key, logout, login failures.
func testSession(t *testing.T, e *env) {
	tb := newTab(t, nil)
	tb.open(t, e.page("test"))
	email := "ada@example.com"
	var signedUp customer

	t.Run("signup", func(t *testing.T) {
		if s := tb.state(t); s.Identified || s.Customer != nil {
			t.Fatalf("before signup: got %+v, want not identified", s)
		}
		signedUp = tb.call(t, `CStarChat.signup(`+args(map[string]string{"email": "Ada@Example.com", "name": "Ada Lovelace", "password": password})+`)`).customer(t)
		if signedUp.Email != email || signedUp.Name != "Ada Lovelace" || signedUp.CreatedAt == "" {
			t.Errorf("signup: got %+v, want email %s, name Ada Lovelace and createdAt", signedUp, email)
		}
		s := tb.state(t)
		if !s.Identified || s.Customer == nil || s.Customer.ID != signedUp.ID {
			t.Errorf("after signup: got %+v, want identified as %s", s, signedUp.ID)
		}
		if got := eval[[]string](t, tb, `window.__events`); len(got) != 1 || got[0] != "identified" {
			t.Errorf("events: got %q, want [identified]", got)
		}
		tb.noViolations(t)
	})
	if signedUp.ID == "" {
		t.FailNow()
	}

	t.Run("reload_still_identified", func(t *testing.T) {
		tb.open(t, e.page("test"))
		// Read synchronously by the page script right after the loader tag,
		// before the module had even loaded.
		before := tb.early(t)
		if !before.Identified || before.Customer == nil || before.Customer.ID != signedUp.ID || before.Customer.Email != email {
			t.Errorf("before ready(): got %+v, want identified as %s <%s>", before, signedUp.ID, email)
		}
		at := tb.atReady(t)
		if !at.Identified || at.Customer == nil || at.Customer.ID != signedUp.ID {
			t.Errorf("when ready() resolved: got %+v, want identified as %s", at, signedUp.ID)
		}
		if s := tb.state(t); !s.Identified || s.Customer == nil || *s.Customer != signedUp {
			t.Errorf("after ready(): got %+v, want %+v", s, signedUp)
		}
		tb.noViolations(t)
	})

	t.Run("live_key_does_not_see_test_session", func(t *testing.T) {
		tb.open(t, e.page("live")) // same origin, live publishable key
		if before := tb.early(t); before.Identified || before.Customer != nil {
			t.Errorf("live page before ready(): got %+v, want not identified", before)
		}
		if s := tb.state(t); s.Identified || s.Customer != nil {
			t.Errorf("live page after ready(): got %+v, want not identified", s)
		}
		tb.noViolations(t)
		tb.open(t, e.page("test"))
		if s := tb.state(t); !s.Identified {
			t.Errorf("test page again: got %+v, want the test session untouched", s)
		}
	})

	t.Run("logout_then_reload", func(t *testing.T) {
		tb.open(t, e.page("test"))
		if r := tb.call(t, `CStarChat.logout()`); !r.OK {
			t.Fatalf("logout: got rejection %d %q, want resolved", r.Status, r.Message)
		}
		if s := tb.state(t); s.Identified || s.Customer != nil {
			t.Errorf("after logout: got %+v, want not identified", s)
		}
		key := "cstar.session.v1.test." + e.PKTest[8:20]
		if got := eval[*string](t, tb, `localStorage.getItem(`+args(key)+`)`); got != nil {
			t.Errorf("localStorage[%s] after logout: got %q, want nothing", key, *got)
		}
		tb.open(t, e.page("test"))
		if before := tb.early(t); before.Identified || before.Customer != nil {
			t.Errorf("reload before ready(): got %+v, want not identified", before)
		}
		if s := tb.state(t); s.Identified {
			t.Errorf("reload after ready(): got %+v, want not identified", s)
		}
		tb.noViolations(t)
	})

	t.Run("wrong_password", func(t *testing.T) {
		tb.call(t, `CStarChat.login(`+args(map[string]string{"email": email, "password": "not-the-password-1"})+`)`).
			wantRejected(t, http.StatusUnauthorized, "Invalid email or password")
		if s := tb.state(t); s.Identified {
			t.Errorf("after a failed login: got %+v, want not identified", s)
		}
	})

	t.Run("login", func(t *testing.T) {
		got := tb.call(t, `CStarChat.login(`+args(map[string]string{"email": email, "password": password})+`)`).customer(t)
		if got.ID != signedUp.ID {
			t.Errorf("login: got customer %s, want %s", got.ID, signedUp.ID)
		}
	})

	t.Run("duplicate_email", func(t *testing.T) {
		tb.call(t, `CStarChat.signup(`+args(map[string]string{"email": email, "name": "Someone Else", "password": password + "x"})+`)`).
			wantRejected(t, http.StatusConflict, "An account with this email already exists")
		tb.noViolations(t)
	})
}

// testTwoTabs: login and logout in one tab reach the other through the
// storage event.
func testTwoTabs(t *testing.T, e *env) {
	a := newTab(t, nil)
	b := newTab(t, a) // same browser context, so the same localStorage
	a.open(t, e.page("test"))
	b.open(t, e.page("test"))
	email := "tabs@example.com"
	cust := a.call(t, `CStarChat.signup(`+args(map[string]string{"email": email, "name": "Two Tabs", "password": password})+`)`).customer(t)

	t.Run("login_reaches_other_tab", func(t *testing.T) {
		b.waitFor(t, `CStarChat.isIdentified()`, 5*time.Second)
		if s := b.state(t); s.Customer == nil || s.Customer.ID != cust.ID || s.Customer.Email != email {
			t.Errorf("tab B: got %+v, want identified as %s <%s>", s, cust.ID, email)
		}
		if got := eval[[]string](t, b, `window.__events`); len(got) != 1 || got[0] != "identified" {
			t.Errorf("tab B events: got %q, want [identified]", got)
		}
	})
	t.Run("logout_reaches_other_tab", func(t *testing.T) {
		if r := a.call(t, `CStarChat.logout()`); !r.OK {
			t.Fatalf("logout in tab A: got rejection %d %q", r.Status, r.Message)
		}
		b.waitFor(t, `!CStarChat.isIdentified()`, 5*time.Second)
		if s := b.state(t); s.Customer != nil {
			t.Errorf("tab B: got %+v, want no customer", s)
		}
		if got := eval[[]string](t, b, `window.__events`); len(got) != 2 || got[1] != "logout" {
			t.Errorf("tab B events: got %q, want [identified logout]", got)
		}
	})
	a.noViolations(t)
	b.noViolations(t)
}

// testIdentify: bring-your-own-auth by signed token and by user hash.
func testIdentify(t *testing.T, e *env) {
	if identifyMissing(t, e) {
		t.Skip("identify endpoint not available yet")
	}
	tb := newTab(t, nil)
	tb.open(t, e.page("test"))
	secret := []byte(e.IdentityTest)
	now := time.Now()
	sign := func(t *testing.T, c identitytoken.Claims) string {
		t.Helper()
		tok, err := identitytoken.Sign(secret, c, now)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	failed := func(t *testing.T, fields map[string]string) {
		t.Helper()
		tb.call(t, `CStarChat.identify(`+args(fields)+`)`).wantRejected(t, http.StatusUnauthorized, "Identity verification failed")
		if s := tb.state(t); s.Identified {
			t.Errorf("after a failed identify: got %+v, want not identified", s)
		}
	}

	t.Run("token", func(t *testing.T) {
		tok := sign(t, identitytoken.Claims{Subject: "site-user-1", Email: "Grace@Example.com", Name: "Grace Hopper"})
		got := tb.call(t, `CStarChat.identify(`+args(map[string]string{"token": tok})+`)`).customer(t)
		if got.ExternalID != "site-user-1" || got.Email != "grace@example.com" || got.Name != "Grace Hopper" {
			t.Errorf("identify by token: got %+v, want site-user-1, grace@example.com, Grace Hopper", got)
		}
		tb.open(t, e.page("test"))
		if before := tb.early(t); !before.Identified || before.Customer == nil || before.Customer.ID != got.ID {
			t.Errorf("reload before ready(): got %+v, want identified as %s", before, got.ID)
		}
		if r := tb.call(t, `CStarChat.logout()`); !r.OK {
			t.Fatalf("logout: got rejection %d %q", r.Status, r.Message)
		}
	})

	t.Run("user_hash", func(t *testing.T) {
		id := "site-user-2"
		got := tb.call(t, `CStarChat.identify(`+args(map[string]string{
			"userId": id, "userHash": identitytoken.UserHash(secret, id), "email": "linus@example.com", "name": "Linus",
		})+`)`).customer(t)
		if got.ExternalID != id || got.Email != "linus@example.com" || got.Name != "Linus" {
			t.Errorf("identify by hash: got %+v, want %s, linus@example.com, Linus", got, id)
		}
		if s := tb.state(t); !s.Identified || s.Customer == nil || s.Customer.ID != got.ID {
			t.Errorf("after identify: got %+v, want identified as %s", s, got.ID)
		}
		if r := tb.call(t, `CStarChat.logout()`); !r.OK {
			t.Fatalf("logout: got rejection %d %q", r.Status, r.Message)
		}
	})

	t.Run("tampered_token", func(t *testing.T) {
		tok := sign(t, identitytoken.Claims{Subject: "site-user-3"})
		failed(t, map[string]string{"token": tamper(t, tok, "sub", "admin")})
	})
	t.Run("expired_token", func(t *testing.T) {
		tok := sign(t, identitytoken.Claims{Subject: "site-user-3", IssuedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)})
		failed(t, map[string]string{"token": tok})
	})
	t.Run("token_of_other_mode", func(t *testing.T) {
		tok, err := identitytoken.Sign([]byte(e.IdentityLive), identitytoken.Claims{Subject: "site-user-3"}, now)
		if err != nil {
			t.Fatal(err)
		}
		failed(t, map[string]string{"token": tok})
	})
	t.Run("wrong_user_hash", func(t *testing.T) {
		failed(t, map[string]string{"userId": "site-user-3", "userHash": identitytoken.UserHash(secret, "site-user-4")})
	})
	tb.noViolations(t)
}

// tamper rewrites one claim of a token and keeps its signature.
func tamper(t *testing.T, token, claim, value string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token: got %d parts, want 3", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	claims[claim] = value
	raw, err = json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

// identifyMissing reports whether the server has no identify route yet.
func identifyMissing(t *testing.T, e *env) bool {
	t.Helper()
	req, err := http.NewRequest("POST", e.API+"/api/widget/v1/identify", bytes.NewReader([]byte(`{}`)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.PKTest)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("probe the identify endpoint: %v", err)
	}
	res.Body.Close()
	return res.StatusCode == http.StatusNotFound
}
