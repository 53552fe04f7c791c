// Command webhookbench measures webhook delivery: agents post messages at a
// steady rate through the REST API, each message.created event goes to N
// local endpoints, and the latency from the post's answer (the commit is
// just before it) to each endpoint receiving the event is reported as
// p50/p99; then the same with one endpoint down, to show that a dead
// endpoint delays only itself. The server and the receivers run in this
// process with production webhook timings.
//
//	go run ./server/cmd/webhookbench -db sqlite -rate 500 -endpoints 10 -duration 10s
//	go run ./server/cmd/pgtest -- sh -c 'go run ./server/cmd/webhookbench -db "$CSTAR_TEST_DATABASE_URL"'
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for the admin connection

	"github.com/cstar-chat/cstar/server/app"
	"github.com/cstar-chat/cstar/server/config"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "webhookbench:", err)
		os.Exit(1)
	}
}

// receiver is one endpoint: it notes when each message's event arrives.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got map[string]time.Time // message id → first arrival
}

func newReceiver() *receiver {
	r := &receiver{got: map[string]time.Time{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		at := time.Now()
		var ev struct {
			Data struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		body, _ := io.ReadAll(req.Body)
		json.Unmarshal(body, &ev)
		r.mu.Lock()
		if _, ok := r.got[ev.Data.ID]; !ok {
			r.got[ev.Data.ID] = at
		}
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	return r
}

func (r *receiver) count(ids map[string]time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for id := range ids {
		if _, ok := r.got[id]; ok {
			n++
		}
	}
	return n
}

type phase struct {
	name    string
	posted  map[string]time.Time // message id → answer of its post
	elapsed time.Duration
}

func run(args []string) error {
	fs := flag.NewFlagSet("webhookbench", flag.ContinueOnError)
	dbURL := fs.String("db", "sqlite", `database: "sqlite" (a temporary file) or a postgres:// URL (a fresh database is made on it)`)
	rate := fs.Int("rate", 500, "messages per second")
	n := fs.Int("endpoints", 10, "webhook endpoints, each subscribed to message.created")
	dur := fs.Duration("duration", 10*time.Second, "how long each phase posts")
	down := fs.String("down", "refused", `how the endpoint of the second phase is down: "refused" (nothing listens) or "hang" (accepts, never answers)`)
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the two phases to this file")
	timeline := fs.Bool("timeline", false, "also print p50/p99 per quarter second of posting (to see a stall)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dbName := "postgres"
	if strings.HasPrefix(*dbURL, "postgres") {
		u, drop, err := freshPostgres(*dbURL)
		if err != nil {
			return err
		}
		defer drop()
		*dbURL = u
	} else {
		dir, err := os.MkdirTemp("", "webhookbench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*dbURL = "sqlite:" + filepath.Join(dir, "cstar.db")
		dbName = "sqlite"
	}
	cfg := config.Default()
	cfg.Addr, cfg.DatabaseURL = "127.0.0.1:0", *dbURL
	cfg.SecretLimit, cfg.PublishableLimit, cfg.LibraryLimit, cfg.InvalidKeyLimit = 1e9, 1e9, 1e9, 1e9
	cfg.WebhooksAllowInsecure, cfg.WebhooksAllowPrivate = true, true
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, app.Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	a.Start()
	defer a.Close(context.Background())
	team, err := a.Teams().Create(ctx, "Bench", fmt.Sprintf("bench-%d", time.Now().UnixNano()))
	if err != nil {
		return err
	}
	sk := team.Keys["sk_live"].Secret
	base := a.URL() + "/api/v1/teams/" + team.ID
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	call := func(method, path string, body any) (map[string]any, error) {
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, strings.NewReader(string(raw)))
		req.Header.Set("Authorization", "Bearer "+sk)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		var out struct {
			Data map[string]any `json:"data"`
		}
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 300 {
			return nil, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
		json.Unmarshal(b, &out)
		return out.Data, nil
	}

	rcvs := make([]*receiver, *n)
	for i := range rcvs {
		rcvs[i] = newReceiver()
		defer rcvs[i].srv.Close()
		if _, err := call("POST", "/webhooks", map[string]any{"url": rcvs[i].srv.URL, "events": []string{"message.created"}}); err != nil {
			return err
		}
	}
	var tickets []string
	for i := range 20 {
		d, err := call("POST", "/tickets", map[string]any{"subject": fmt.Sprint("bench ", i)})
		if err != nil {
			return err
		}
		tickets = append(tickets, d["id"].(string))
	}

	post := func(name string) (phase, error) {
		p := phase{name: name, posted: map[string]time.Time{}}
		var mu sync.Mutex
		var failed atomic.Int64
		jobs := make(chan int, *rate)
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() {
				for i := range jobs {
					d, err := call("POST", "/tickets/"+tickets[i%len(tickets)]+"/messages",
						map[string]any{"body": fmt.Sprint("message ", i), "author_name": "Bench"})
					at := time.Now()
					if err != nil {
						failed.Add(1)
						continue
					}
					mu.Lock()
					p.posted[d["id"].(string)] = at
					mu.Unlock()
				}
			})
		}
		total := int(dur.Seconds() * float64(*rate))
		start := time.Now()
		for i := range total {
			time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(*rate))))
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		p.elapsed = time.Since(start)
		if f := failed.Load(); f > 0 {
			return p, fmt.Errorf("%d posts failed", f)
		}
		return p, nil
	}
	settle := func(p phase, rs []*receiver) {
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			done := true
			for _, r := range rs {
				done = done && r.count(p.posted) == len(p.posted)
				if !done {
					break
				}
			}
			if done {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	report := func(p phase, label string, rs []*receiver) time.Duration {
		var lat []time.Duration
		missing := 0
		for _, r := range rs {
			r.mu.Lock()
			for id, at := range p.posted {
				if got, ok := r.got[id]; ok {
					lat = append(lat, got.Sub(at))
				} else {
					missing++
				}
			}
			r.mu.Unlock()
		}
		if *timeline {
			first := time.Now()
			for _, at := range p.posted {
				if at.Before(first) {
					first = at
				}
			}
			by := map[int][]time.Duration{}
			for _, r := range rs {
				r.mu.Lock()
				for id, at := range p.posted {
					if got, ok := r.got[id]; ok {
						sec := int(at.Sub(first) / (250 * time.Millisecond))
						by[sec] = append(by[sec], got.Sub(at))
					}
				}
				r.mu.Unlock()
			}
			for sec := 0; sec < len(by)+2; sec++ {
				l := by[sec]
				if len(l) == 0 {
					continue
				}
				slices.Sort(l)
				fmt.Printf("    t+%4dms n=%5d p50 %-9s p99 %-9s\n", sec*250, len(l), l[len(l)/2].Round(time.Millisecond), l[len(l)*99/100].Round(time.Millisecond))
			}
		}
		slices.Sort(lat)
		q := func(f float64) time.Duration {
			if len(lat) == 0 {
				return 0
			}
			return lat[min(len(lat)-1, int(f*float64(len(lat))))]
		}
		fmt.Printf("  %-34s %6d deliveries: p50 %-9s p99 %-9s max %-9s missing %d\n", label, len(lat),
			q(.5).Round(10*time.Microsecond), q(.99).Round(10*time.Microsecond), q(1).Round(10*time.Microsecond), missing)
		return q(.99)
	}

	fmt.Printf("webhookbench on %s: %d message.created events/s for %s to %d endpoints (commit → endpoint)\n",
		dbName, *rate, *dur, *n)
	// Warm up the connections and the statement paths, and let the
	// warm-up's deliveries finish before measuring.
	warm, err := post("warm-up")
	if err != nil {
		return err
	}
	settle(warm, rcvs)
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	p1, err := post("all up")
	if err != nil {
		return err
	}
	settle(p1, rcvs)
	fmt.Printf("phase 1, all %d endpoints up (%d posts in %s):\n", *n, len(p1.posted), p1.elapsed.Round(time.Millisecond))
	healthy := rcvs[:*n-1]
	report(p1, fmt.Sprintf("all %d endpoints", *n), rcvs)
	up := report(p1, fmt.Sprintf("endpoints 1-%d", *n-1), healthy)

	// Phase 2: the last endpoint goes down.
	last := rcvs[*n-1]
	switch *down {
	case "hang":
		addr := last.srv.Listener.Addr().String()
		last.srv.CloseClientConnections()
		last.srv.Close()
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		defer ln.Close()
		go func() {
			var held []net.Conn
			for {
				c, err := ln.Accept()
				if err != nil {
					for _, c := range held {
						c.Close()
					}
					return
				}
				held = append(held, c) // read nothing, answer nothing
			}
		}()
	default:
		last.srv.CloseClientConnections()
		last.srv.Close()
	}
	p2, err := post("one down")
	if err != nil {
		return err
	}
	settle(p2, healthy)
	fmt.Printf("phase 2, endpoint %d down (%s; %d posts in %s):\n", *n, *down, len(p2.posted), p2.elapsed.Round(time.Millisecond))
	downP99 := report(p2, fmt.Sprintf("endpoints 1-%d", *n-1), healthy)
	if res, err := client.Get(a.URL() + "/metrics"); err == nil {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var outcomes []string
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "cstar_webhook_deliveries_total{") {
				outcomes = append(outcomes, strings.TrimPrefix(l, "cstar_webhook_deliveries_total"))
			}
		}
		fmt.Printf("attempts by outcome (both phases and the warm-up): %s\n", strings.Join(outcomes, ", "))
	}
	fmt.Printf("p99 of the healthy endpoints, one down vs all up: %s vs %s (%+.1f %%)\n",
		downP99.Round(10*time.Microsecond), up.Round(10*time.Microsecond), 100*(float64(downP99)/float64(up)-1))
	return nil
}

// freshPostgres makes a database of its own on the server of admin, so that
// runs never see each other's rows.
func freshPostgres(admin string) (string, func(), error) {
	u, err := url.Parse(admin)
	if err != nil {
		return "", nil, fmt.Errorf("parse -db: %w", err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "webhookbench_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return "", nil, err
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		return "", nil, fmt.Errorf("create the bench database: %w", err)
	}
	u.Path = "/" + name
	return u.String(), func() {
		if db, err := sql.Open("pgx", admin); err == nil {
			db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			db.Close()
		}
	}, nil
}
