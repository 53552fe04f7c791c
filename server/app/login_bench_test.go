package app_test

import (
	"bytes"
	"net/http"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/password"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// BenchmarkLogin measures the widget login path over real HTTP, with the
// production argon2id parameters, against bare argon2id verifications run
// with the same parallelism in the same process. It reports the login rate
// as a share of the bare rate (goal: at least 90 %) and login p50/p99.
func BenchmarkLogin(b *testing.B) {
	for _, dialect := range testdb.Dialects {
		b.Run(dialect, func(b *testing.B) {
			a := apptest.Start(b, testdb.URL(b, dialect), apptest.RealPasswords, apptest.Limits(0, 1<<30, 0, 0))
			pk := a.PKTest
			post := func(path, body string) (int, time.Duration) {
				req, _ := http.NewRequest("POST", a.URL+"/api/widget/v1"+path, bytes.NewBufferString(body))
				req.Header.Set("Authorization", "Bearer "+pk)
				req.Header.Set("Content-Type", "application/json")
				start := time.Now()
				res, err := http.DefaultClient.Do(req)
				d := time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				res.Body.Close()
				return res.StatusCode, d
			}
			if code, _ := post("/signup", `{"email":"bench@example.com","name":"Bench","password":"correct horse battery"}`); code != 201 {
				b.Fatalf("signup: got %d", code)
			}
			workers := runtime.GOMAXPROCS(0)
			n := max(b.N, 20)
			// run spreads n calls of f over the workers and returns the wall time.
			run := func(f func()) time.Duration {
				var wg sync.WaitGroup
				jobs := make(chan struct{}, n)
				for range n {
					jobs <- struct{}{}
				}
				close(jobs)
				start := time.Now()
				for range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range jobs {
							f()
						}
					}()
				}
				wg.Wait()
				return time.Since(start)
			}
			hash, _ := argon2id.CreateHash("correct horse battery", &password.OWASP)
			// Bare verifications run before and after the logins, and their
			// mean is the baseline, so that drifting machine load hits both.
			bareOnce := func() { argon2id.ComparePasswordAndHash("correct horse battery", hash) }
			bare := run(bareOnce)
			var mu sync.Mutex
			lat := make([]time.Duration, 0, n)
			b.ResetTimer()
			login := run(func() {
				code, d := post("/login", `{"email":"bench@example.com","password":"correct horse battery"}`)
				if code != 200 {
					b.Errorf("login: got %d", code)
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			})
			b.StopTimer()
			bare = (bare + run(bareOnce)) / 2
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			bareRate := float64(n) / bare.Seconds()
			loginRate := float64(n) / login.Seconds()
			b.ReportMetric(bareRate, "argon2id/s")
			b.ReportMetric(loginRate, "logins/s")
			b.ReportMetric(100*loginRate/bareRate, "%_of_bare")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
		})
	}
}
