package httpapi_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

const wv1 = "/api/widget/v1"

func signup(t *testing.T, s *testServer, key, email, name, pw string) (token, id string) {
	t.Helper()
	d := s.Do(t, "POST", wv1+"/signup", key, map[string]any{"email": email, "name": name, "password": pw}).Want(t, 201).Data(t)
	ses, _ := d["session"].(map[string]any)
	cust, _ := d["customer"].(map[string]any)
	return str(ses["token"]), str(cust["id"])
}

func TestWidgetSignupLoginMe(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s := newTestServer(t, dbURL)

		tok, id := signup(t, s, s.PKTest, "  Ann@Example.COM ", "Ann", "correct horse battery")
		if len(tok) != 46 || !strings.HasPrefix(tok, "cs_") {
			t.Fatalf("token %q: want cs_ and 43 characters", tok)
		}
		me := s.Do(t, "GET", wv1+"/me", s.PKTest, nil, protocol.SessionHeader, tok).Want(t, 200)
		if got := me.Data(t); str(got["id"]) != id || str(got["email"]) != "ann@example.com" || str(got["name"]) != "Ann" {
			t.Errorf("me: got %v, want id %s, ann@example.com, Ann", got, id)
		}
		if cc := me.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control: got %q, want no-store", cc)
		}

		// The customer is in the test mode's customers only (by id: an
		// unverified email is looked up by nothing).
		s.Do(t, "GET", s.Path("/customers/"+id), s.SKTest, nil).Want(t, 200)
		s.Do(t, "GET", s.Path("/customers/"+id), s.SKLive, nil).Want(t, 404)
		if r := s.Do(t, "GET", s.Path("/customers?email=ann@example.com"), s.SKTest, nil).Want(t, 200); len(r.Items(t)) != 0 {
			t.Errorf("test customers by the unverified email: got %d, want 0", len(r.Items(t)))
		}
		// A test-mode session means nothing in live mode.
		s.Do(t, "GET", wv1+"/me", s.PKLive, nil, protocol.SessionHeader, tok).WantError(t, 401, "Invalid session")

		// Taken email, in any case.
		r := s.Do(t, "POST", wv1+"/signup", s.PKTest, map[string]any{"email": "ANN@example.com", "name": "A", "password": "another password"})
		r.WantError(t, 409, "An account with this email already exists")
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("error Cache-Control: got %q, want no-store", cc)
		}
		// The same email is free in live mode.
		signup(t, s, s.PKLive, "ann@example.com", "Ann Live", "correct horse battery")

		// Login issues a new token each time; both work.
		login := func() string {
			d := s.Do(t, "POST", wv1+"/login", s.PKTest, map[string]any{"email": "ANN@example.com ", "password": "correct horse battery"}).Want(t, 200).Data(t)
			ses, _ := d["session"].(map[string]any)
			if str(ses["expires_at"]) == "" {
				t.Errorf("login: no expires_at in %v", d)
			}
			return str(ses["token"])
		}
		t2, t3 := login(), login()
		if t2 == tok || t2 == t3 {
			t.Fatalf("login tokens not new: %q %q %q", tok, t2, t3)
		}

		// The secret-key session list shows three sessions, never a token.
		list := s.Do(t, "GET", s.Path("/customers/"+id+"/sessions"), s.SKTest, nil).Want(t, 200)
		if got := len(list.Items(t)); got != 3 {
			t.Fatalf("sessions: got %d, want 3", got)
		}
		for _, it := range list.Items(t) {
			if it["token"] != nil || it["created_at"] == nil || it["last_used_at"] == nil || it["expires_at"] == nil {
				t.Errorf("session item %v: want id, created_at, last_used_at, expires_at only", it)
			}
		}
		if strings.Contains(string(list.Raw), t2[3:]) {
			t.Errorf("session list leaks a token")
		}
		s.Do(t, "GET", s.Path("/customers/"+id+"/sessions"), s.SKLive, nil).WantError(t, 404, "Customer not found")
		s.Do(t, "GET", s.Path("/customers/"+id+"/sessions"), s.PKTest, nil).Want(t, 403)

		// Logout revokes only that session.
		s.Do(t, "POST", wv1+"/logout", s.PKTest, nil, protocol.SessionHeader, t2).Want(t, 200)
		s.Do(t, "GET", wv1+"/me", s.PKTest, nil, protocol.SessionHeader, t2).WantError(t, 401, "Invalid session")
		s.Do(t, "GET", wv1+"/me", s.PKTest, nil, protocol.SessionHeader, t3).Want(t, 200)

		// DELETE …/sessions revokes the rest.
		d := s.Do(t, "DELETE", s.Path("/customers/"+id+"/sessions"), s.SKTest, nil).Want(t, 200).Data(t)
		if d["revoked"] != float64(2) {
			t.Errorf("revoked: got %v, want 2", d["revoked"])
		}
		for _, tk := range []string{tok, t3} {
			r := s.Do(t, "GET", wv1+"/me", s.PKTest, nil, protocol.SessionHeader, tk).WantError(t, 401, "Invalid session")
			if str(r.Body["code"]) != "unauthorized" {
				t.Errorf("code: got %q, want unauthorized", r.Body["code"])
			}
		}
		s.Do(t, "GET", wv1+"/me", s.PKTest, nil).WantError(t, 401, "Invalid session")
		s.Do(t, "GET", wv1+"/me", s.PKTest, nil, protocol.SessionHeader, "cs_garbage").WantError(t, 401, "Invalid session")
	})
}

func TestWidgetValidation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s := newTestServer(t, dbURL)
		long := strings.Repeat("x", 1025)
		for _, tc := range []struct {
			name, email, cname, pw, field string
		}{
			{"bad email", "not-an-email", "N", "long enough pw", "email"},
			{"empty email", "  ", "N", "long enough pw", "email"},
			{"no name", "a@b.co", "  ", "long enough pw", "name"},
			{"long name", "a@b.co", strings.Repeat("n", 201), "long enough pw", "name"},
			{"short password", "a@b.co", "N", "123456789", "password"},
			{"long password", "a@b.co", "N", long, "password"},
			{"common password", "a@b.co", "N", "1234567890", "password"},
			{"common password any case", "a@b.co", "N", "Football123", "password"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s.Do(t, "POST", wv1+"/signup", s.PKLive, map[string]any{"email": tc.email, "name": tc.cname, "password": tc.pw}).
					WantError(t, 400, "").WantField(t, tc.field)
			})
		}
		// Exactly 10 characters (multi-byte) is enough.
		signup(t, s, s.PKLive, "a@b.co", "N", "éàüöçñøåæ1")
	})
}

func TestWidgetKeysAndCORS(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s := newTestServer(t, dbURL)
		body := map[string]any{"email": "a@b.co", "name": "N", "password": "long enough pw"}
		s.Do(t, "POST", wv1+"/signup", s.SKLive, body).WantError(t, 403, "Use a publishable key for the widget API")
		s.Do(t, "GET", wv1+"/me", s.SKTest, nil).WantError(t, 403, "Use a publishable key for the widget API")
		s.Do(t, "POST", wv1+"/signup", "", body).WantError(t, 401, protocol.MsgInvalidAPIKey)

		// Preflight for a cross-origin POST with the session header.
		r := s.Do(t, "OPTIONS", wv1+"/login", "", nil, "Origin", "https://shop.example",
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type, x-cstar-session").Want(t, 204)
		if got := r.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(got, "POST") {
			t.Errorf("Allow-Methods: got %q, want POST", got)
		}
		if got := r.Header.Get("Access-Control-Allow-Headers"); !strings.Contains(got, protocol.SessionHeader) {
			t.Errorf("Allow-Headers: got %q, want %s", got, protocol.SessionHeader)
		}
		if got := r.Header.Get("Access-Control-Allow-Origin"); got != "https://shop.example" {
			t.Errorf("Allow-Origin: got %q", got)
		}
		// Outside the widget API the preflight still offers GET only.
		r = s.Do(t, "OPTIONS", s.Path("/customers"), "", nil, "Origin", "https://shop.example").Want(t, 204)
		if got := r.Header.Get("Access-Control-Allow-Methods"); got != "GET" {
			t.Errorf("v1 Allow-Methods: got %q, want GET", got)
		}

		// The actual cross-origin request gets CORS headers.
		r = s.Do(t, "POST", wv1+"/signup", s.PKLive, body, "Origin", "https://shop.example").Want(t, 201)
		if got := r.Header.Get("Access-Control-Allow-Origin"); got != "https://shop.example" {
			t.Errorf("Allow-Origin: got %q", got)
		}

		// Allowed origins are enforced.
		s.Do(t, "PATCH", s.Path(""), s.SKLive, map[string]any{"allowed_origins": []string{"https://shop.example"}}).Want(t, 200)
		r = s.Do(t, "POST", wv1+"/login", s.PKLive, map[string]any{"email": "a@b.co", "password": "long enough pw"},
			"Origin", "https://evil.example").WantError(t, 403, protocol.MsgOriginNotAllowed)
		if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("refused origin got Allow-Origin %q", got)
		}
		s.Do(t, "POST", wv1+"/login", s.PKLive, map[string]any{"email": "a@b.co", "password": "long enough pw"},
			"Origin", "https://shop.example").Want(t, 200)
	})
}

func TestWidgetLoginFailures(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s := newTestServer(t, dbURL, apptest.TrustLoopbackProxy)
		signup(t, s, s.PKLive, "bob@example.com", "Bob", "right password 1")
		// A customer created by the secret-key API has no password.
		s.create(t, s.SKLive, "/customers", map[string]any{"email": "nopw@example.com"})

		login := func(email, pw, ip string) *resp {
			return s.Do(t, "POST", wv1+"/login", s.PKLive, map[string]any{"email": email, "password": pw}, "X-Forwarded-For", ip)
		}
		wrong := login("bob@example.com", "wrong password", "10.0.0.1").WantError(t, 401, "Invalid email or password")
		unknown := login("nobody@example.com", "wrong password", "10.0.0.2").WantError(t, 401, "Invalid email or password")
		nopw := login("nopw@example.com", "wrong password", "10.0.0.3").WantError(t, 401, "Invalid email or password")
		if wrong.WithoutRequestID() != unknown.WithoutRequestID() || wrong.WithoutRequestID() != nopw.WithoutRequestID() {
			t.Errorf("bodies differ: %s / %s / %s", wrong.WithoutRequestID(), unknown.WithoutRequestID(), nopw.WithoutRequestID())
		}

		// Account and address: 5 failures from one address, then 429 there.
		for range 3 {
			login("bob@example.com", "wrong password", "10.0.0.1").WantError(t, 401, "Invalid email or password")
		}
		r := login("bob@example.com", "wrong password", "10.0.0.1").Want(t, 429)
		first, _ := strconv.Atoi(r.Header.Get("Retry-After"))
		if first < 1 {
			t.Fatalf("Retry-After: got %q, want a number of seconds", r.Header.Get("Retry-After"))
		}
		// While blocked even the right password is refused there, without a
		// check; from another address it signs in (no lockout by strangers).
		login("bob@example.com", "right password 1", "10.0.0.1").Want(t, 429)
		login("bob@example.com", "right password 1", "10.0.1.6").Want(t, 200)
		// Other accounts are not affected.
		login("nobody@example.com", "wrong password", "10.0.1.7").WantError(t, 401, "Invalid email or password")

		// The delay doubles with each further failure.
		s.Clock.Advance(time.Duration(first) * time.Second)
		r = login("bob@example.com", "wrong password", "10.0.0.1").Want(t, 429)
		if second, _ := strconv.Atoi(r.Header.Get("Retry-After")); second != 2*first {
			t.Errorf("second Retry-After: got %d, want %d", second, 2*first)
		}

		// After the wait, a success resets the account and address.
		s.Clock.Advance(time.Hour)
		login("bob@example.com", "right password 1", "10.0.0.1").Want(t, 200)
		for range 4 {
			login("bob@example.com", "wrong password", "10.0.0.1").WantError(t, 401, "Invalid email or password")
		}

		// IP throttle: many accounts from one IP.
		s.Clock.Advance(time.Hour)
		var last *resp
		for i := range 20 {
			last = login("u"+strconv.Itoa(i)+"@example.com", "wrong password", "10.9.9.9")
		}
		last.Want(t, 429)
		login("bob@example.com", "right password 1", "10.9.9.9").Want(t, 429)
		login("bob@example.com", "right password 1", "10.9.9.10").Want(t, 200)
	})
}

func TestWidgetSessionExpiry(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s := newTestServer(t, dbURL)
		tok, _ := signup(t, s, s.PKLive, "c@example.com", "C", "long enough pw")
		me := func() *resp { return s.Do(t, "GET", wv1+"/me", s.PKLive, nil, protocol.SessionHeader, tok) }
		// Used every 29 days, the session lives until the absolute 90 days.
		for range 3 {
			s.Clock.Advance(29 * 24 * time.Hour)
			me().Want(t, 200)
		}
		s.Clock.Advance(4 * 24 * time.Hour) // day 91
		me().WantError(t, 401, "Invalid session")

		// Idle for more than 30 days, a session is over.
		tok, _ = signup(t, s, s.PKLive, "d@example.com", "D", "long enough pw")
		s.Clock.Advance(31 * 24 * time.Hour)
		me().WantError(t, 401, "Invalid session")
	})
}
