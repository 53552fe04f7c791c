package sdk

import (
	"errors"
	"strings"
	"testing"
)

// fakeServer answers the widget API from memory.
type fakeServer struct {
	calls    []Request
	sessions map[string]bool
	down     bool
	extra    func(Request) (Response, bool) // more routes
}

func (f *fakeServer) Do(r Request) (Response, error) {
	f.calls = append(f.calls, r)
	if f.down {
		return Response{}, errors.New("connection refused")
	}
	ok := func(tok string) Response {
		f.sessions[tok] = true
		return Response{Status: 200, Body: map[string]any{"success": true, "data": map[string]any{
			"customer": map[string]any{"id": "c1", "email": "jane@example.com", "name": "Jane", "external_id": nil, "created_at": "2026-11-28T10:00:00Z"},
			"session":  map[string]any{"token": tok, "expires_at": "2026-12-28T10:00:00Z"},
		}}}
	}
	if f.extra != nil {
		if res, ok := f.extra(r); ok {
			return res, nil
		}
	}
	switch strings.TrimPrefix(r.Path, "https://api.example") {
	case "/api/widget/v1/signup":
		return ok("cs_signup"), nil
	case "/api/widget/v1/login":
		if r.Body["password"] != "securepass123" {
			return Response{Status: 401, Body: map[string]any{"success": false, "error": "Invalid email or password", "code": "unauthorized"}}, nil
		}
		return ok("cs_login"), nil
	case "/api/widget/v1/logout", "/api/widget/v1/me":
		if !f.sessions[r.Headers["X-CStar-Session"]] {
			return Response{Status: 401, Body: map[string]any{"success": false, "error": "Invalid session", "code": "unauthorized"}}, nil
		}
		if strings.HasSuffix(r.Path, "/logout") {
			delete(f.sessions, r.Headers["X-CStar-Session"])
		}
		return Response{Status: 200, Body: map[string]any{"success": true, "data": map[string]any{"customer": map[string]any{"id": "c1", "name": "Jane"}}}}, nil
	}
	return Response{Status: 404, Body: map[string]any{"success": false, "error": "Unknown route"}}, nil
}

func newClient(t *testing.T, key string) (*Client, *fakeServer, *MemoryStorage) {
	t.Helper()
	srv := &fakeServer{sessions: map[string]bool{}}
	st := &MemoryStorage{}
	return New(Config{PublishableKey: key, APIBase: "https://api.example"}, srv, st), srv, st
}

const pkTest = "pk_test_abcdefghijklmnopqrstuvwxyz0123ABCDEF"
const pkLive = "pk_live_abcdefghijklmnopqrstuvwxyz0123ABCDEF"

func TestLoginPersistsAndRestores(t *testing.T) {
	c, srv, st := newClient(t, pkTest)
	var identified []any
	unsub := c.On("identified", func(v any) { identified = append(identified, v) })
	cust, err := c.Login("jane@example.com", "securepass123")
	if err != nil || cust.ID != "c1" || !c.IsIdentified() {
		t.Fatalf("login: got %+v, %v, identified=%v", cust, err, c.IsIdentified())
	}
	if len(identified) != 1 {
		t.Fatalf("identified events: got %d, want 1", len(identified))
	}
	unsub()
	req := srv.calls[0]
	if req.Headers["Authorization"] != "Bearer "+pkTest || req.Path != "https://api.example/api/widget/v1/login" {
		t.Fatalf("request: got %+v", req)
	}
	// A new page load restores the session synchronously from storage.
	again := New(Config{PublishableKey: pkTest}, srv, st)
	if !again.IsIdentified() || again.GetCustomer() == nil || again.GetCustomer().Email != "jane@example.com" {
		t.Fatalf("restored: identified=%v customer=%+v", again.IsIdentified(), again.GetCustomer())
	}
	// A live-mode page never sees the test-mode session.
	live := New(Config{PublishableKey: pkLive}, srv, st)
	if live.IsIdentified() {
		t.Fatal("live-mode client picked up a test-mode session")
	}
}

func TestWrongPasswordRejects(t *testing.T) {
	c, _, _ := newClient(t, pkTest)
	var got []any
	c.On("error", func(v any) { got = append(got, v) })
	_, err := c.Login("jane@example.com", "nope")
	var e *Error
	if !errors.As(err, &e) || e.Status != 401 || e.Message != "Invalid email or password" || e.Code != "unauthorized" {
		t.Fatalf("got %#v, want a 401 Error with the server's message", err)
	}
	if c.IsIdentified() || len(got) != 1 {
		t.Fatalf("identified=%v error events=%d, want false and 1", c.IsIdentified(), len(got))
	}
}

func TestNetworkFailureHasStatusZero(t *testing.T) {
	c, srv, _ := newClient(t, pkTest)
	srv.down = true
	_, err := c.Signup("a@b.co", "A", "securepass123")
	var e *Error
	if !errors.As(err, &e) || e.Status != 0 || e.Code != "network" {
		t.Fatalf("got %#v, want status 0 and code network", err)
	}
}

func TestRevokedSessionIsCleared(t *testing.T) {
	c, srv, st := newClient(t, pkTest)
	if _, err := c.Signup("jane@example.com", "Jane", "securepass123"); err != nil {
		t.Fatal(err)
	}
	clear(srv.sessions) // revoked on the server
	logouts := 0
	c.On("logout", func(any) { logouts++ })
	if _, err := c.call("GET", "/me", nil, true); err == nil {
		t.Fatal("a call with a revoked session: got nil error")
	}
	if c.IsIdentified() || logouts != 1 {
		t.Fatalf("identified=%v logouts=%d, want false and 1", c.IsIdentified(), logouts)
	}
	if _, ok := st.Load(c.cfg.StorageKey()); ok {
		t.Fatal("the revoked session is still persisted")
	}
}

func TestLogoutRevokesThenClears(t *testing.T) {
	c, srv, _ := newClient(t, pkTest)
	c.Login("jane@example.com", "securepass123")
	if err := c.Logout(); err != nil {
		t.Fatal(err)
	}
	if srv.sessions["cs_login"] || c.IsIdentified() {
		t.Fatalf("server session alive=%v, identified=%v; want both false", srv.sessions["cs_login"], c.IsIdentified())
	}
	last := srv.calls[len(srv.calls)-1]
	if last.Path != "https://api.example/api/widget/v1/logout" || last.Headers["X-CStar-Session"] != "cs_login" {
		t.Fatalf("logout request: got %+v", last)
	}
}

func TestReloadFollowsOtherTabs(t *testing.T) {
	a, srv, st := newClient(t, pkTest)
	b := New(Config{PublishableKey: pkTest}, srv, st)
	events := []string{}
	b.On("identified", func(any) { events = append(events, "identified") })
	b.On("logout", func(any) { events = append(events, "logout") })
	a.Login("jane@example.com", "securepass123")
	b.Reload(nil) // the storage event of the other tab
	a.Logout()
	b.Reload(nil)
	if len(events) != 2 || events[0] != "identified" || events[1] != "logout" {
		t.Fatalf("events in the other tab: got %v, want [identified logout]", events)
	}
}

func TestUnknownVersionDiscarded(t *testing.T) {
	st := &MemoryStorage{}
	cfg := Config{PublishableKey: pkTest}
	st.Save(cfg.StorageKey(), map[string]any{"v": float64(99), "token": "x"})
	if New(cfg, &fakeServer{}, st).IsIdentified() {
		t.Fatal("a session in an unknown format was used")
	}
}

// TestEmailVerified: the customer's email_verified from the server is kept
// as emailVerified, in getCustomer() and in the stored session, and read
// back after a reload.
func TestEmailVerified(t *testing.T) {
	c, srv, st := newClient(t, pkTest)
	srv.extra = func(r Request) (Response, bool) {
		if !strings.HasSuffix(r.Path, "/login") {
			return Response{}, false
		}
		return Response{Status: 200, Body: map[string]any{"success": true, "data": map[string]any{
			"customer": map[string]any{"id": "c1", "email": "jane@example.com", "name": "Jane", "email_verified": true},
			"session":  map[string]any{"token": "cs_v", "expires_at": "2026-12-28T10:00:00Z"}}}}, true
	}
	cust, err := c.Login("jane@example.com", "securepass123")
	if err != nil || !cust.EmailVerified || cust.Map()["emailVerified"] != true {
		t.Fatalf("login: got %+v (%v), %v; want emailVerified", cust, cust.Map(), err)
	}
	if again := New(Config{PublishableKey: pkTest}, srv, st); !again.GetCustomer().EmailVerified {
		t.Error("restored: the email is no longer verified")
	}
	c.Logout()
	srv.extra = nil
	if cust, _ := c.Login("jane@example.com", "securepass123"); cust.EmailVerified {
		t.Error("a customer without email_verified: got verified")
	}
}
