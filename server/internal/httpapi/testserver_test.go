package httpapi_test

// Shared helpers of the HTTP API tests, over the one harness (apptest): a
// real cStar server on 127.0.0.1:0 over a fresh database, with a clock the
// test moves and clients that decode the envelope and the frames; and the
// API's own shortcuts.

import (
	"strings"
	"testing"

	"github.com/cstar-chat/cstar/server/apptest"
)

// testServer is a running server with one team ("acme") and its four first
// keys, plus the shortcuts of these tests.
type testServer struct{ *apptest.Server }

type (
	resp     = apptest.Resp
	wsClient = apptest.WS
)

var str = apptest.Str

// newTestServer starts a server on dbURL. Limits are high unless an option
// lowers them, so that only the rate-limit tests ever see a 429.
func newTestServer(t *testing.T, dbURL string, opts ...apptest.Option) *testServer {
	t.Helper()
	return &testServer{apptest.Start(t, dbURL, opts...)}
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
		r := s.Do(t, "GET", p, key, nil).Want(t, 200)
		n += len(r.Items(t))
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
	return s.Do(t, "POST", s.Path(collection), key, body).Want(t, 201).ID(t)
}

// parallel marks t parallel; the database-backed subtests are independent.
func parallel(t *testing.T) { t.Parallel() }
