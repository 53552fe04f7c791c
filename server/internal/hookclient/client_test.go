package hookclient_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/hookclient"
	"github.com/cstar-chat/cstar/server/internal/webhook"
)

// TestDialTimeCheck: the address is checked when the connection is made,
// on what the name resolves to then: "localhost" passes any check of the
// URL's text but is refused at dial time, and nothing reaches the server.
func TestDialTimeCheck(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(strings.Repeat("a", 5000)))
	}))
	defer srv.Close()
	byName := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, u := range []string{srv.URL, byName} {
		r := hookclient.New(false).Post(ctx, u, nil, []byte("{}"))
		if r.Err == nil || r.Outcome != webhook.OutcomeRefused || r.Status != 0 {
			t.Errorf("%s without allow-private: got %d %v (%s), want refused", u, r.Status, r.Err, r.Outcome)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the refused requests reached the server %d times", n)
	}
	r := hookclient.New(true).Post(ctx, byName, map[string]string{"X-Test": "1"}, []byte("{}"))
	if r.Err != nil || r.Status != 200 || len(r.Body) != webhook.MaxResponse {
		t.Errorf("with allow-private: got %d %v and %d bytes, want 200 and 1 KB", r.Status, r.Err, len(r.Body))
	}
}

// TestTimeoutAndRedirect: no answer in time is a timeout; a redirect is not
// followed.
func TestTimeoutAndRedirect(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(500 * time.Millisecond)
			return
		}
		http.Redirect(w, r, "/slow", http.StatusFound)
	}))
	defer srv.Close()
	c := hookclient.New(true)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if r := c.Post(ctx, srv.URL+"/slow", nil, nil); r.Outcome != webhook.OutcomeTimeout {
		t.Errorf("slow: got %d %v (%s), want a timeout", r.Status, r.Err, r.Outcome)
	}
	if r := c.Post(context.Background(), srv.URL+"/moved", nil, nil); r.Err != nil || r.Status != http.StatusFound {
		t.Errorf("redirect: got %d %v, want the 302 itself", r.Status, r.Err)
	}
}
