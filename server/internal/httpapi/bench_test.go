package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/config"
	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/idempotency"
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
// switched off, in the same process, on both databases. The limiter and the
// limits are production's (server/app): the in-memory limiter on SQLite, the
// shared one on PostgreSQL, the default secret-key limit of 1,000 an hour.
// Each secret key is used for exactly its limit, every request admitted,
// from a full bucket to an empty one, then the next key takes over (created
// and its authentication cached outside the timings).
//
// Beside both, each iteration times one trivial statement (SELECT 1) on the
// same pool: the floor that any limiter keeping its state in the database
// pays when it has to ask it. It reports overhead_% (goal: at most 10 on
// SQLite, 25 on PostgreSQL), floor_% (the statement against the bare
// request) and requests per second.
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
			// As server/app builds it.
			var limiter ratelimit.Limiter = ratelimit.NewMemory(time.Now)
			if db.Dialect() == store.Postgres {
				limiter = ratelimit.NewLeasing(ratelimit.NewHolding(db.RateLimiter(), slog.New(slog.DiscardHandler)), time.Now)
			}
			cfg := config.Default()
			hour := time.Hour
			limits := Limits{
				Secret:      ratelimit.Limit{Count: cfg.SecretLimit, Period: hour},
				Publishable: ratelimit.Limit{Count: cfg.PublishableLimit, Period: hour},
				Library:     ratelimit.Limit{Count: cfg.LibraryLimit, Period: hour},
				InvalidKey:  ratelimit.Limit{Count: cfg.InvalidKeyLimit, Period: hour},
			}
			deps := Deps{Auth: keys, Keys: keys, Teams: teams, Helpdesk: hd, Library: library.NewService(db, time.Now),
				Idem: idempotency.NewRecords(db.Idempotency(), time.Now), Limiter: limiter, DB: db, Limits: limits}
			full := New(deps)
			deps.Auth, deps.Limiter = staticAuth{sk.Key}, unlimited{}
			bare := New(deps)

			path := fmt.Sprintf("/api/v1/teams/%s/tickets/%s", c.ID, tk.ID)
			newRequest := func(secret string) *http.Request {
				req := httptest.NewRequest("GET", path, nil)
				req.Header.Set("Authorization", "Bearer "+secret)
				req.RemoteAddr = "127.0.0.1:5000"
				return req
			}
			bareReq := newRequest(sk.Secret)
			var fullReq *http.Request
			left := 0 // requests the current key has left in its budget
			nextKey := func() {
				k, err := keys.Create(ctx, sk.Scope(), apikey.Secret)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := keys.Authenticate(ctx, k.Secret); err != nil {
					b.Fatal(err)
				}
				fullReq, left = newRequest(k.Secret), limits.Secret.Count
			}
			serve := func(h http.Handler, req *http.Request) time.Duration {
				w := httptest.NewRecorder()
				start := time.Now()
				h.ServeHTTP(w, req)
				d := time.Since(start)
				if w.Code != http.StatusOK {
					b.Fatalf("got %d: %s", w.Code, w.Body)
				}
				return d
			}
			floor := func() time.Duration {
				start := time.Now()
				var one int
				if err := db.Bun().NewRaw("SELECT 1").Scan(ctx, &one); err != nil {
					b.Fatal(err)
				}
				return time.Since(start)
			}
			// Each iteration serves the request once through each handler
			// and runs the floor's statement, so that machine noise hits all
			// three alike; every other iteration in the reverse order, so
			// that none always runs first.
			var fullT, bareT, floorT time.Duration
			n := 0
			for b.Loop() {
				if left == 0 {
					nextKey()
				}
				if n%2 == 0 {
					bareT += serve(bare, bareReq)
					fullT += serve(full, fullReq)
					floorT += floor()
				} else {
					floorT += floor()
					fullT += serve(full, fullReq)
					bareT += serve(bare, bareReq)
				}
				left--
				n++
			}
			b.ReportMetric(100*float64(fullT-bareT)/float64(bareT), "overhead_%")
			b.ReportMetric(100*float64(floorT)/float64(bareT), "floor_%")
			b.ReportMetric(float64(floorT.Microseconds())/float64(n), "floor_µs")
			b.ReportMetric(float64(n)/fullT.Seconds(), "req/s_full")
			b.ReportMetric(float64(n)/bareT.Seconds(), "req/s_bare")
		})
	}
}
