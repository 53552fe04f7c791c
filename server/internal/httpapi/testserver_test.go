package httpapi_test

// Shared helpers of the HTTP API tests: a real cStar server on 127.0.0.1:0
// over a fresh database, an injectable clock, and a small HTTP client that
// decodes the envelope.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/cstar-chat/cstar/server/app"
	"github.com/cstar-chat/cstar/server/config"
	"github.com/cstar-chat/cstar/server/internal/team"
)

// fakeClock is the real clock plus an offset that tests advance. Adding to
// time.Now keeps the monotonic reading, so limiters that subtract times
// see the jump too.
type fakeClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	d := c.off
	c.mu.Unlock()
	return time.Now().Add(d)
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// testServer is a running cStar server with one team ("acme") and its four
// first keys.
type testServer struct {
	App     *app.App
	URL     string
	Clock   *fakeClock
	Team    team.Created
	Dialect string // "sqlite" or "postgres"

	SKLive, SKTest, PKLive, PKTest string

	client *http.Client
}

var teamSeq struct {
	sync.Mutex
	n int
}

func uniqueSlug(prefix string) string {
	teamSeq.Lock()
	defer teamSeq.Unlock()
	teamSeq.n++
	return fmt.Sprintf("%s-%d", prefix, teamSeq.n)
}

// withLimits sets the hourly limits (0 keeps the test default).
func withLimits(secret, publishable, library, invalid int) func(*config.Config) {
	return func(c *config.Config) {
		if secret > 0 {
			c.SecretLimit = secret
		}
		if publishable > 0 {
			c.PublishableLimit = publishable
		}
		if library > 0 {
			c.LibraryLimit = library
		}
		if invalid > 0 {
			c.InvalidKeyLimit = invalid
		}
	}
}

// withProxy trusts 127.0.0.1 as a proxy, so X-Forwarded-For picks the
// client IP.
func withProxy(c *config.Config) {
	c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
}

// cheapPassword keeps argon2id fast in tests; production uses password.OWASP.
var cheapPassword = argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// newTestServer starts a server on dbURL. Limits are high unless an option
// lowers them, so that only the rate-limit tests ever see a 429.
func newTestServer(t *testing.T, dbURL string, opts ...func(*config.Config)) *testServer {
	t.Helper()
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DatabaseURL = dbURL
	cfg.SecretLimit = 100000
	cfg.PublishableLimit = 100000
	cfg.LibraryLimit = 100000
	cfg.InvalidKeyLimit = 100000
	for _, o := range opts {
		o(&cfg)
	}
	clk := &fakeClock{}
	ctx := context.Background()
	p := cheapPassword
	a, err := app.Open(ctx, cfg, app.Options{Now: clk.Now, PasswordParams: &p})
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	a.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Close(ctx); err != nil {
			t.Errorf("close app: %v", err)
		}
	})
	dialect := "sqlite"
	if strings.HasPrefix(dbURL, "postgres") {
		dialect = "postgres"
	}
	s := &testServer{App: a, URL: a.URL(), Clock: clk, Dialect: dialect,
		client: &http.Client{Timeout: 20 * time.Second}}
	t.Cleanup(s.client.CloseIdleConnections)
	s.Team = s.createTeam(t, "Acme", uniqueSlug("acme"))
	s.SKLive = s.Team.Keys["sk_live"].Secret
	s.SKTest = s.Team.Keys["sk_test"].Secret
	s.PKLive = s.Team.Keys["pk_live"].Secret
	s.PKTest = s.Team.Keys["pk_test"].Secret
	return s
}

func (s *testServer) createTeam(t *testing.T, name, slug string) team.Created {
	t.Helper()
	c, err := s.App.Teams().Create(context.Background(), name, slug)
	if err != nil {
		t.Fatalf("create team %q: %v", slug, err)
	}
	for _, k := range []string{"sk_live", "sk_test", "pk_live", "pk_test"} {
		if c.Keys[k].Secret == "" {
			t.Fatalf("team %q: no %s key", slug, k)
		}
	}
	return c
}

// path is the /api/v1 path of the test team, e.g. path("/tickets").
func (s *testServer) path(rest string) string { return "/api/v1/teams/" + s.Team.ID + rest }

// resp is one HTTP answer.
type resp struct {
	Status int
	Header http.Header
	Raw    []byte
	// Body is the decoded JSON object, nil when the body is not one.
	Body map[string]any
}

func (r *resp) String() string {
	return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Raw))
}

// do sends one request. body is nil (no body), a string or []byte (sent as
// is) or anything else (sent as JSON). A JSON Content-Type is set whenever
// there is a body, unless hdr (name, value pairs) sets one; a value of ""
// in hdr deletes the header.
func (s *testServer) do(t testing.TB, method, path, key string, body any, hdr ...string) *resp {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("marshal body: %v", err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if len(hdr)%2 != 0 {
		t.Fatalf("do: odd header list %q", hdr)
	}
	for i := 0; i < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	r := &resp{Status: res.StatusCode, Header: res.Header, Raw: raw}
	var m map[string]any
	if json.Unmarshal(raw, &m) == nil {
		r.Body = m
	}
	return r
}

// want fails the test unless the status is code.
func (r *resp) want(t testing.TB, code int) *resp {
	t.Helper()
	if r.Status != code {
		t.Fatalf("status: got %d, want %d (body %s)", r.Status, code, bytes.TrimSpace(r.Raw))
	}
	return r
}

// data is the "data" object of a success envelope.
func (r *resp) data(t testing.TB) map[string]any {
	t.Helper()
	if r.Body == nil || r.Body["success"] != true {
		t.Fatalf("not a success envelope: %s", r)
	}
	d, ok := r.Body["data"].(map[string]any)
	if !ok {
		t.Fatalf("data is not an object: %s", r)
	}
	return d
}

// items is the "data" array of a list envelope.
func (r *resp) items(t testing.TB) []map[string]any {
	t.Helper()
	if r.Body == nil || r.Body["success"] != true {
		t.Fatalf("not a success envelope: %s", r)
	}
	arr, ok := r.Body["data"].([]any)
	if !ok {
		t.Fatalf("data is not an array: %s", r)
	}
	out := make([]map[string]any, len(arr))
	for i, v := range arr {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("data[%d] is not an object: %s", i, r)
		}
		out[i] = m
	}
	return out
}

// ids lists the "id" of every item.
func (r *resp) ids(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, it := range r.items(t) {
		out = append(out, str(it["id"]))
	}
	return out
}

func (r *resp) id(t testing.TB) string {
	t.Helper()
	id := str(r.data(t)["id"])
	if id == "" {
		t.Fatalf("no data.id in %s", r)
	}
	return id
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// wantError checks a failure: the status, the envelope with success=false,
// the exact message, and a request_id equal to the X-Request-Id header.
// A field of "" is not checked; "-" wants no field.
func (r *resp) wantError(t testing.TB, code int, msg string) *resp {
	t.Helper()
	if r.Status != code {
		t.Fatalf("status: got %d, want %d (body %s)", r.Status, code, bytes.TrimSpace(r.Raw))
	}
	if r.Body == nil {
		t.Fatalf("body is not a JSON object: %q", r.Raw)
	}
	if got, ok := r.Body["success"].(bool); !ok || got {
		t.Errorf("success: got %v, want false (body %s)", r.Body["success"], r)
	}
	if msg != "" {
		if got := str(r.Body["error"]); got != msg {
			t.Errorf("error: got %q, want %q", got, msg)
		}
	} else if str(r.Body["error"]) == "" {
		t.Errorf("error: got empty message (body %s)", r)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type: got %q, want application/json", ct)
	}
	if rid := r.Header.Get("X-Request-Id"); rid == "" || str(r.Body["request_id"]) != rid {
		t.Errorf("request_id: got %q, want the X-Request-Id header %q", r.Body["request_id"], rid)
	}
	return r
}

// wantField checks the "field" of an error envelope.
func (r *resp) wantField(t testing.TB, field string) *resp {
	t.Helper()
	if got := str(r.Body["field"]); got != field {
		t.Errorf("field: got %q, want %q (body %s)", got, field, r)
	}
	return r
}

// withoutRequestID is the body with request_id removed, for comparing
// error bodies across requests.
func (r *resp) withoutRequestID() string {
	m := map[string]any{}
	for k, v := range r.Body {
		if k != "request_id" {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// count returns how many items a list holds, walking every page.
func (s *testServer) count(t testing.TB, path, key string) int {
	t.Helper()
	n := 0
	cursor := ""
	for range 1000 {
		p := path + sep(path) + "limit=100"
		if cursor != "" {
			p += "&cursor=" + cursor
		}
		r := s.do(t, "GET", p, key, nil).want(t, 200)
		n += len(r.items(t))
		pg, _ := r.Body["pagination"].(map[string]any)
		if pg == nil || pg["has_more"] != true {
			return n
		}
		cursor = str(pg["next_cursor"])
	}
	t.Fatalf("count %s: too many pages", path)
	return n
}

func sep(path string) string {
	if strings.Contains(path, "?") {
		return "&"
	}
	return "?"
}

// create posts body to a collection with key and returns the new id.
func (s *testServer) create(t testing.TB, key, collection string, body any) string {
	t.Helper()
	return s.do(t, "POST", s.path(collection), key, body).want(t, 201).id(t)
}

// parallel marks t parallel; the database-backed subtests are independent.
func parallel(t *testing.T) { t.Parallel() }
