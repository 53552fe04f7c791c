package apptest

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/cstar-chat/cstar/server/internal/agent"
)

// AgentPassword is the password CreateAgent gives agents.
const AgentPassword = "correct horse battery staple"

// CreateAgent adds an agent with role to the test team.
func (s *Server) CreateAgent(t testing.TB, email, name string, role agent.Role) agent.Agent {
	t.Helper()
	a, err := s.App.Agents().Create(context.Background(), s.Team.ID, s.Team.Name,
		agent.NewAgent{Email: email, Name: name, Role: role, Password: AgentPassword})
	if err != nil {
		t.Fatalf("create agent %s: %v", email, err)
	}
	return a
}

// Browser is a browser on the dashboard: cookies kept, redirects not
// followed (tests look at them), and the CSRF token of the last page it
// loaded sent with its forms, from the server's own origin.
type Browser struct {
	s    *Server
	c    *http.Client
	CSRF string
	// Origin is sent with every form; another site's, to test refusals.
	Origin string
}

// Browser returns a browser with no cookies.
func (s *Server) Browser(t testing.TB) *Browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &Browser{s: s, Origin: s.URL, c: &http.Client{Jar: jar, Timeout: s.client.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	t.Cleanup(b.c.CloseIdleConnections)
	return b
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]*)">`)
var csrfInput = regexp.MustCompile(`<input type="hidden" name="csrf" value="([^"]*)">`)

func (b *Browser) do(t testing.TB, req *http.Request) *Resp {
	t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	if m := csrfMeta.FindSubmatch(raw); m != nil {
		b.CSRF = string(m[1])
	} else if m := csrfInput.FindSubmatch(raw); m != nil {
		b.CSRF = string(m[1])
	}
	return &Resp{Status: res.StatusCode, Header: res.Header, Raw: raw}
}

// Get loads a page (path starts with /app/); hdr are name, value pairs.
func (b *Browser) Get(t testing.TB, path string, hdr ...string) *Resp {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.do(t, req)
}

// Post sends a form as the page would: with the page's CSRF token (unless
// form has one) and Origin; hdr are name, value pairs ("" deletes).
func (b *Browser) Post(t testing.TB, path string, form url.Values, hdr ...string) *Resp {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.CSRF)
	}
	req, err := http.NewRequest(http.MethodPost, b.s.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if b.Origin != "" {
		req.Header.Set("Origin", b.Origin)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.do(t, req)
}

// SignIn signs the browser in as email with AgentPassword and fails the
// test unless it lands on the inbox.
func (b *Browser) SignIn(t testing.TB, email string) {
	t.Helper()
	b.Get(t, "/app/login")
	r := b.Post(t, "/app/login", url.Values{"email": {email}, "password": {AgentPassword}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/app/inbox" {
		t.Fatalf("sign in %s: got %d to %q, want 303 to /app/inbox (%s)", email, r.Status, r.Header.Get("Location"), r.Raw)
	}
	b.Get(t, "/app/inbox").Want(t, http.StatusOK)
}

// Cookie returns the browser's cookie name for the server, or nil.
func (b *Browser) Cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.s.URL + "/app/")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// cookieHeader is the Cookie header the browser sends to the dashboard.
func (b *Browser) cookieHeader() string {
	u, _ := url.Parse(b.s.URL + "/app/")
	var parts []string
	for _, c := range b.c.Jar.Cookies(u) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// Live opens the dashboard's live connection at path (e.g.
// "/app/test/live?after=3") with the browser's cookies and the server's
// origin (hdr may replace it), and returns the frames before ready and the
// ready frame.
func (b *Browser) Live(t testing.TB, path string, hdr ...string) (*WS, []map[string]any, map[string]any) {
	t.Helper()
	w, res, err := b.DialLive(t, path, hdr...)
	if err != nil {
		t.Fatalf("dial %s: %v (status %d)", path, err, Status(res))
	}
	replay, ready := w.until("ready")
	return w, replay, ready
}

// DialLive opens the dashboard's live connection and returns it as it is.
func (b *Browser) DialLive(t testing.TB, path string, hdr ...string) (*WS, *http.Response, error) {
	t.Helper()
	h := append([]string{"Cookie", b.cookieHeader(), "Origin", b.s.URL}, hdr...)
	return b.s.DialWS(t, path, h...)
}
