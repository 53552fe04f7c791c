package apptest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/protocol"
)

// Resp is one HTTP answer.
type Resp struct {
	Status int
	Header http.Header
	Raw    []byte
	// Body is the decoded JSON object, nil when the body is not one.
	Body map[string]any
}

func (r *Resp) String() string {
	return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Raw))
}

// ResponseCheck looks at a response Do got (body already read, and
// readable again from res.Body).
type ResponseCheck func(t testing.TB, req *http.Request, res *http.Response, body []byte)

// responseCheck is set at most once, by a test binary's TestMain before any
// test runs, and only read afterwards.
var responseCheck ResponseCheck

// CheckResponses makes Do hand every response to f: the httpapi tests
// validate every answer against the OpenAPI document this way. Call it
// from TestMain, before m.Run.
func CheckResponses(f ResponseCheck) { responseCheck = f }

// Do sends one request. body is nil (no body), a string or []byte (sent as
// is) or anything else (sent as JSON). A JSON Content-Type is set whenever
// there is a body, unless hdr (name, value pairs) sets one; a value of ""
// in hdr deletes the header.
func (s *Server) Do(t testing.TB, method, path, key string, body any, hdr ...string) *Resp {
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
	if responseCheck != nil {
		res.Body = io.NopCloser(bytes.NewReader(raw))
		responseCheck(t, req, res, raw)
	}
	r := &Resp{Status: res.StatusCode, Header: res.Header, Raw: raw}
	var m map[string]any
	if json.Unmarshal(raw, &m) == nil {
		r.Body = m
	}
	return r
}

// Want fails the test unless the status is code.
func (r *Resp) Want(t testing.TB, code int) *Resp {
	t.Helper()
	if r.Status != code {
		t.Fatalf("status: got %d, want %d (body %s)", r.Status, code, bytes.TrimSpace(r.Raw))
	}
	return r
}

// Data is the "data" object of a success envelope.
func (r *Resp) Data(t testing.TB) map[string]any {
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

// Items is the "data" array of a list envelope.
func (r *Resp) Items(t testing.TB) []map[string]any {
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

// IDs lists the "id" of every item.
func (r *Resp) IDs(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, it := range r.Items(t) {
		out = append(out, Str(it["id"]))
	}
	return out
}

// ID is data.id.
func (r *Resp) ID(t testing.TB) string {
	t.Helper()
	id := Str(r.Data(t)["id"])
	if id == "" {
		t.Fatalf("no data.id in %s", r)
	}
	return id
}

// Str is v when it is a string, else "".
func Str(v any) string {
	s, _ := v.(string)
	return s
}

// WantError checks a failure: the status, the envelope with success=false,
// the exact message (any non-empty one when msg is ""), and a request_id
// equal to the X-Request-Id header.
func (r *Resp) WantError(t testing.TB, code int, msg string) *Resp {
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
		if got := Str(r.Body["error"]); got != msg {
			t.Errorf("error: got %q, want %q", got, msg)
		}
	} else if Str(r.Body["error"]) == "" {
		t.Errorf("error: got empty message (body %s)", r)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type: got %q, want application/json", ct)
	}
	if rid := r.Header.Get("X-Request-Id"); rid == "" || Str(r.Body["request_id"]) != rid {
		t.Errorf("request_id: got %q, want the X-Request-Id header %q", r.Body["request_id"], rid)
	}
	return r
}

// WantField checks the "field" of an error envelope.
func (r *Resp) WantField(t testing.TB, field string) *Resp {
	t.Helper()
	if got := Str(r.Body["field"]); got != field {
		t.Errorf("field: got %q, want %q (body %s)", got, field, r)
	}
	return r
}

// WithoutRequestID is the body with request_id removed, for comparing
// error bodies across requests.
func (r *Resp) WithoutRequestID() string {
	m := map[string]any{}
	for k, v := range r.Body {
		if k != "request_id" {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// WantCORS checks that the response may be read by a page of origin (none
// when origin is ""), varying by Origin.
func (r *Resp) WantCORS(t testing.TB, origin string) {
	t.Helper()
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != origin {
		t.Errorf("Access-Control-Allow-Origin: got %q, want %q", got, origin)
	}
	if origin != "" && !slices.ContainsFunc(r.Header.Values("Vary"), func(v string) bool {
		return strings.Contains(strings.ToLower(v), "origin")
	}) {
		t.Errorf("Vary: got %q, want it to name Origin", r.Header.Values("Vary"))
	}
}

var rateLimitRE = regexp.MustCompile(`^"hourly";r=(\d+);t=(\d+)$`)

// WantRateHeaders checks the five rate-limit headers of a response made
// under a limit of q per hour with remaining requests left.
func (r *Resp) WantRateHeaders(t testing.TB, q, remaining int) {
	t.Helper()
	h := r.Header
	if got := h.Get("X-RateLimit-Limit"); got != strconv.Itoa(q) {
		t.Errorf("X-RateLimit-Limit: got %q, want %d", got, q)
	}
	if got := h.Get("X-RateLimit-Remaining"); got != strconv.Itoa(remaining) {
		t.Errorf("X-RateLimit-Remaining: got %q, want %d", got, remaining)
	}
	reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if err != nil {
		t.Errorf("X-RateLimit-Reset: got %q, want a Unix time", h.Get("X-RateLimit-Reset"))
	} else if now := time.Now().Unix(); reset < now-5 || reset > now+3600*24*30+5 {
		// The server's clock may run ahead of the real one in these tests,
		// so only the shape and a loose range are checked here.
		t.Errorf("X-RateLimit-Reset: got %d, want a Unix time near %d", reset, now)
	}
	if got, want := h.Get("RateLimit-Policy"), fmt.Sprintf(`"hourly";q=%d;w=3600`, q); got != want {
		t.Errorf("RateLimit-Policy: got %q, want %q", got, want)
	}
	m := rateLimitRE.FindStringSubmatch(h.Get("RateLimit"))
	if m == nil {
		t.Errorf("RateLimit: got %q, want \"hourly\";r=N;t=N", h.Get("RateLimit"))
	} else if m[1] != strconv.Itoa(remaining) {
		t.Errorf("RateLimit: got r=%s, want r=%d", m[1], remaining)
	}
}

// Want429 checks a rate-limited answer and returns its Retry-After.
func (r *Resp) Want429(t testing.TB) int {
	t.Helper()
	r.WantError(t, 429, protocol.MsgRateLimited)
	for k := range r.Body {
		switch k {
		case "success", "error", "code", "request_id":
		default:
			t.Errorf("429 body has unexpected field %q: %s", k, r)
		}
	}
	ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || ra < 1 {
		t.Fatalf("Retry-After: got %q, want an integer ≥ 1", r.Header.Get("Retry-After"))
	}
	return ra
}
