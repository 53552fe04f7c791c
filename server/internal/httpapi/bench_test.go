package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/library"
	"github.com/cstar-chat/cstar/server/internal/ratelimit"
	"github.com/cstar-chat/cstar/server/internal/store"
	"github.com/cstar-chat/cstar/server/internal/team"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// staticAuth admits one key without parsing, hashing, caching or counting:
// the "authentication switched off" baseline.
type staticAuth struct{ key apikey.Key }

func (a staticAuth) Authenticate(context.Context, string) (apikey.Key, error) { return a.key, nil }
func (staticAuth) Record(string, bool, bool)                                  {}

// unlimited is the "rate limiting switched off" baseline.
type unlimited struct{}

func (unlimited) Allow(_ context.Context, _ string, l ratelimit.Limit) (ratelimit.Result, error) {
	return ratelimit.Result{Allowed: true, Limit: l.Count, Remaining: l.Count}, nil
}

// BenchmarkAuthOverhead measures an authenticated GET of one ticket with
// authentication and rate limiting on, against the same route with both
// switched off, in the same process, on both databases. It reports
// overhead_% (goal on SQLite: at most 10) and requests per second.
func BenchmarkAuthOverhead(b *testing.B) {
	for _, dialect := range testdb.Dialects {
		b.Run(dialect, func(b *testing.B) {
			ctx := context.Background()
			db, err := store.Open(ctx, testdb.URL(b, dialect))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if err := db.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			teams := team.NewService(db, time.Now)
			c, err := teams.Create(ctx, "Bench", "bench")
			if err != nil {
				b.Fatal(err)
			}
			keys := apikey.NewService(db, time.Now)
			hd := helpdesk.NewService(db, time.Now)
			sk := c.Keys["sk_test"]
			subject := "Printer on fire"
			tk, err := hd.CreateTicket(ctx, sk.Scope(), helpdesk.TicketInput{Subject: &subject})
			if err != nil {
				b.Fatal(err)
			}
			var limiter ratelimit.Limiter = ratelimit.NewMemory(time.Now)
			if db.Dialect() == store.Postgres {
				limiter = db.RateLimiter()
			}
			huge := ratelimit.Limit{Count: 1 << 30, Period: time.Hour}
			deps := Deps{Auth: keys, Keys: keys, Teams: teams, Helpdesk: hd, Library: library.NewService(db, time.Now),
				Idem: db.Idempotency(), Limiter: limiter, DB: db,
				Limits: Limits{Secret: huge, Publishable: huge, Library: huge, InvalidKey: huge}}
			full := New(deps)
			deps.Auth, deps.Limiter = staticAuth{sk.Key}, unlimited{}
			bare := New(deps)

			path := fmt.Sprintf("/api/v1/teams/%s/tickets/%s", c.ID, tk.ID)
			req := httptest.NewRequest("GET", path, nil)
			req.Header.Set("Authorization", "Bearer "+sk.Secret)
			req.RemoteAddr = "127.0.0.1:5000"
			serve := func(h http.Handler) time.Duration {
				w := httptest.NewRecorder()
				start := time.Now()
				h.ServeHTTP(w, req)
				d := time.Since(start)
				if w.Code != http.StatusOK {
					b.Fatalf("got %d: %s", w.Code, w.Body)
				}
				return d
			}
			// Each iteration serves the request once through each handler,
			// alternating, so that machine noise hits both sides alike.
			var fullT, bareT time.Duration
			n := 0
			for b.Loop() {
				bareT += serve(bare)
				fullT += serve(full)
				n++
			}
			b.ReportMetric(100*float64(fullT-bareT)/float64(bareT), "overhead_%")
			b.ReportMetric(float64(n)/fullT.Seconds(), "req/s_full")
			b.ReportMetric(float64(n)/bareT.Seconds(), "req/s_bare")
		})
	}
}
