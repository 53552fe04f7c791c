package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// faultResult is one injected fault: t0 when it began, t1 when the tool
// lifted it (the server started again, PostgreSQL started or resumed, the
// connections dropped), and the window [d0, d1] during which the database
// was gone, for the /readyz check.
type faultResult struct {
	name, desc string
	at         time.Duration // from the start of typing
	t0, t1     time.Time
	d0, d1     time.Time
	recovered  time.Duration // from t1; < 0: not within the watch
	why        string        // what was still missing then
	listenBack time.Duration // from t1 until every server LISTENs again; < 0: never
	err        error
}

// inject applies fault f; round alternates the server that is killed or
// cut off.
func inject(e *env, f string, o options, round int) faultResult {
	r := faultResult{name: f, t0: time.Now()}
	switch f {
	case "kill":
		s := e.servers[round%2]
		old := s.pid()
		s.kill()
		killed := time.Now()
		r.err = s.start()
		r.desc = fmt.Sprintf("SIGKILL server %s (pid %d), started again in %s (pid %d)", s.name, old,
			time.Since(killed).Round(10*time.Millisecond), s.pid())
	case "pg-restart":
		r.err = e.pg.stopNow()
		r.d0 = time.Now()
		time.Sleep(o.pgDown)
		r.d1 = time.Now()
		if err := e.pg.start(); err != nil {
			r.err = err
		}
		r.desc = fmt.Sprintf("PostgreSQL stopped with pg_ctl -m immediate (took %s), down %s, started in %s",
			r.d0.Sub(r.t0).Round(10*time.Millisecond), o.pgDown, time.Since(r.d1).Round(10*time.Millisecond))
	case "pg-stall":
		resume, n, err := e.pg.stall()
		r.d0 = time.Now()
		if err != nil {
			r.err = err
			break
		}
		time.Sleep(o.stall)
		r.d1 = time.Now()
		resume()
		r.desc = fmt.Sprintf("PostgreSQL stalled: SIGSTOP to the postmaster and %d other processes for %s, then SIGCONT", n-1, o.stall)
	case "drop":
		i := (round + 1) % 2
		n := e.proxies[i].reset()
		r.desc = fmt.Sprintf("every connection to server %s dropped at once (%d, TCP reset)", e.servers[i].name, n)
	}
	r.t1 = time.Now()
	if r.err != nil {
		r.desc += fmt.Sprintf(" — FAILED: %v", r.err)
	}
	return r
}

// watchRecovery waits until every message typed before probed is settled
// and, when acked, has made its round trip (shown on every screen that
// should show it, answered by an agent, the answer shown), every visitor has
// made a round trip with a message typed since t1 (the probes) and is
// connected, and both servers answer /readyz with 200. It returns the time
// from t1 and gives up at until.
func watchRecovery(l *ledger, e *env, t1, probed, until time.Time) (rec time.Duration, why string, listen time.Duration) {
	listen = -1
	for {
		if listen < 0 && e.listeners() == len(e.servers) {
			listen = time.Since(t1)
		}
		ok, w := l.caughtUp(probed, t1)
		if ok {
			for _, s := range e.servers {
				if s.get("/readyz") != 200 {
					ok, w = false, "server "+s.name+" not ready"
					break
				}
			}
		}
		if ok && listen < 0 {
			ok, w = false, "a server is not listening for events"
		}
		if ok {
			return time.Since(t1), "", listen
		}
		if time.Now().After(until) {
			return -1, w, listen
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// listeners counts the servers' LISTEN connections, -1 when PostgreSQL
// does not answer in half a second.
func (e *env) listeners() int {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var n int
	err := e.admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'LISTEN %'`).Scan(&n)
	if err != nil {
		return -1
	}
	return n
}

func (r faultResult) line() string {
	rec := fmt.Sprintf("recovered %s after", r.recovered.Round(10*time.Millisecond))
	if r.recovered < 0 {
		rec = "NOT recovered before the next fault (still missing: " + r.why + ")"
	}
	return fmt.Sprintf("t=%5.1fs %-10s %s; %s", r.at.Seconds(), r.name, r.desc, rec)
}

// readyWatch polls every server's /readyz every 200 ms for the whole run.
type readyWatch struct {
	mu      sync.Mutex
	samples []readySample
	done    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

type readySample struct {
	server     int
	start, end time.Time
	status     int // 0: no answer within a second
}

func newReadyWatch(servers []*server) *readyWatch {
	w := &readyWatch{done: make(chan struct{})}
	for i, s := range servers {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-w.done:
					return
				case <-t.C:
				}
				start := time.Now()
				st := s.get("/readyz")
				w.mu.Lock()
				w.samples = append(w.samples, readySample{server: i, start: start, end: time.Now(), status: st})
				w.mu.Unlock()
			}
		}()
	}
	return w
}

func (w *readyWatch) stop() {
	w.once.Do(func() { close(w.done) })
	w.wg.Wait()
}

// during counts the answers of requests made and answered between d0 and
// d1, by status.
func (w *readyWatch) during(d0, d1 time.Time) map[int]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[int]int{}
	for _, s := range w.samples {
		if !s.start.Before(d0) && !s.end.After(d1) {
			out[s.status]++
		}
	}
	return out
}

// backAt returns, per server, how long after t the first 200 came that
// was asked after t (-1: none).
func (w *readyWatch) backAt(t time.Time, servers int) []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]time.Duration, servers)
	for i := range out {
		out[i] = -1
	}
	for _, s := range w.samples {
		if s.status == 200 && !s.start.Before(t) && out[s.server] < 0 {
			out[s.server] = s.end.Sub(t)
		}
	}
	return out
}

func statusCounts(m map[int]int) string {
	if len(m) == 0 {
		return "no complete answer"
	}
	var keys []int
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var parts []string
	for _, k := range keys {
		name := fmt.Sprint(k)
		if k == 0 {
			name = "no answer in 1 s"
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", name, m[k]))
	}
	return strings.Join(parts, ", ")
}
