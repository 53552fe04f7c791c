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
			run := func(h http.Handler) func(*testing.B) {
				return func(b *testing.B) {
					req := httptest.NewRequest("GET", path, nil)
					req.Header.Set("Authorization", "Bearer "+sk.Secret)
					req.RemoteAddr = "127.0.0.1:5000"
					for b.Loop() {
						w := httptest.NewRecorder()
						h.ServeHTTP(w, req)
						if w.Code != http.StatusOK {
							b.Fatalf("got %d: %s", w.Code, w.Body)
						}
					}
				}
			}
			// Interleave rounds so that machine noise hits both sides alike.
			var fullNs, bareNs int64
			for range 3 {
				rb := testing.Benchmark(run(bare))
				rf := testing.Benchmark(run(full))
				bareNs += rb.NsPerOp()
				fullNs += rf.NsPerOp()
			}
			b.ReportMetric(100*float64(fullNs-bareNs)/float64(bareNs), "overhead_%")
			b.ReportMetric(3e9/float64(fullNs), "req/s_full")
			b.ReportMetric(3e9/float64(bareNs), "req/s_bare")
			b.ReportMetric(float64(fullNs)/3, "ns/op_full")
			b.ReportMetric(float64(bareNs)/3, "ns/op_bare")
			for b.Loop() {
			}
		})
	}
}
