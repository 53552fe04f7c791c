package dashboard_test

// Helpers of the dashboard's tests, over the one harness (apptest): a real
// server on 127.0.0.1:0, a browser that keeps cookies and sends forms with
// the page's CSRF token, and widget clients for the customer's side.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/agent"
)

type env struct {
	*apptest.Server
	owner, admin, member agent.Agent
}

// newEnv starts a server with a team of three agents: an owner, an admin
// and an agent.
func newEnv(t *testing.T, dbURL string, opts ...apptest.Option) *env {
	t.Helper()
	s := apptest.Start(t, dbURL, append([]apptest.Option{apptest.Timings(apptest.ChatTimings)}, opts...)...)
	return &env{Server: s,
		owner:  s.CreateAgent(t, "olive@acme.example", "Olive", agent.Owner),
		admin:  s.CreateAgent(t, "ada@acme.example", "Ada", agent.Admin),
		member: s.CreateAgent(t, "mo@acme.example", "Mo", agent.Member)}
}

// as returns a browser signed in as the agent with email.
func (e *env) as(t *testing.T, email string) *apptest.Browser {
	t.Helper()
	b := e.Browser(t)
	b.SignIn(t, email)
	return b
}

// customer signs a customer up with key and returns its session and id.
func (e *env) customer(t *testing.T, key, name string) (token, id string) {
	t.Helper()
	d := e.Do(t, "POST", "/api/widget/v1/signup", key, map[string]any{"email": strings.ToLower(name) + "@example.com",
		"name": name, "password": "correct horse battery"}).Want(t, http.StatusCreated).Data(t)
	ses, _ := d["session"].(map[string]any)
	cu, _ := d["customer"].(map[string]any)
	return apptest.Str(ses["token"]), apptest.Str(cu["id"])
}

// chat opens a customer's widget with key, sends body and returns the
// socket and the ticket of the message.
func (e *env) chat(t *testing.T, key, name, body string) (*apptest.WS, string) {
	t.Helper()
	tok, _ := e.customer(t, key, name)
	w, _, _ := e.WidgetReady(t, key, tok, nil)
	w.SendMsg("c1", body)
	ack := w.WaitFor("ack")
	m, _ := ack["message"].(map[string]any)
	return w, apptest.Str(m["ticket_id"])
}

var hrefs = regexp.MustCompile(`href="([^"]+)"`)

// wantStatus fails unless r's status is code.
func wantStatus(t *testing.T, what string, r *apptest.Resp, code int) {
	t.Helper()
	if r.Status != code {
		t.Fatalf("%s: got %d, want %d (%.300s)", what, r.Status, code, r.Raw)
	}
}

// wantRedirect fails unless r is a 303 to a location starting with to.
func wantRedirect(t *testing.T, what string, r *apptest.Resp, to string) {
	t.Helper()
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), to) {
		t.Fatalf("%s: got %d to %q, want 303 to %s (%.300s)", what, r.Status, r.Header.Get("Location"), to, r.Raw)
	}
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func has(r *apptest.Resp, s string) bool { return strings.Contains(string(r.Raw), s) }

var rowIDs = regexp.MustCompile(`<li class="conv[^"]*" id="conv-([0-9a-f-]+)"`)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func fmtSprint(v any) string { b, _ := json.Marshal(v); return string(b) }
