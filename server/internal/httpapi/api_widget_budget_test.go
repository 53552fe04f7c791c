package httpapi_test

import (
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/config"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// TestWidgetBrowsingBudget: with the default limits, a signed-in visitor
// browsing 300 pages in an hour (each page view: GET /me and the widget
// socket, as the SDK does) never sees a 429, and the public read API keeps
// its own per-key-and-IP limit; a client hammering the widget API with one
// session is still limited. Before, the widget spent the publishable key's
// 100 per hour and IP, about 33 page views.
func TestWidgetBrowsingBudget(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		def := config.Default()
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings), apptest.Config(func(c *config.Config) {
			c.PublishableLimit, c.WidgetSessionLimit, c.WidgetIPLimit = def.PublishableLimit, def.WidgetSessionLimit, def.WidgetIPLimit
		}))
		tok, _ := customer(t, s, s.PKLive, "Ann")
		for i := range 300 {
			r := s.Do(t, "GET", wv1+"/me", s.PKLive, nil, protocol.SessionHeader, tok)
			if r.Status != 200 {
				t.Fatalf("page view %d: /me got %s", i+1, r)
			}
			w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
			w.Conn.Close()
			s.Clock.Advance(12 * time.Second)
		}
		// The public read API is still governed by the publishable limit.
		for range def.PublishableLimit {
			s.Do(t, "GET", s.Path("/articles"), s.PKLive, nil).Want(t, 200)
		}
		s.Do(t, "GET", s.Path("/articles"), s.PKLive, nil).Want429(t)
		// One session hammering the widget API is limited.
		// Slow runs (the race detector) refill a few requests meanwhile.
		n := 0
		for ; n <= def.WidgetSessionLimit+def.WidgetSessionLimit/10; n++ {
			if r := s.Do(t, "GET", wv1+"/me", s.PKLive, nil, protocol.SessionHeader, tok); r.Status == 429 {
				break
			}
		}
		if n > def.WidgetSessionLimit+def.WidgetSessionLimit/10 {
			t.Fatalf("%d /me calls of one session in a row: no 429", n)
		}
	})
}
