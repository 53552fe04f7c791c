// Command chaos is the fault-injection suite: it starts a throwaway
// PostgreSQL cluster and two "cstar serve" processes on it (the real
// binary, each behind a TCP proxy the tool controls), runs visitors (the
// SDK core, wasm/sdk, with native surroundings) and agents (REST and the
// realtime stream) exchanging messages with unique bodies, and meanwhile
// kills a server with SIGKILL and starts it again, restarts PostgreSQL in
// immediate mode, stalls it with SIGSTOP, and drops every connection of one
// server at once. Then it compares what was typed and acked with what the
// database holds and what every screen showed, and exits non-zero when a
// message was lost, shown twice or out of order.
//
//	go run ./server/cmd/chaos -duration 75s -clients 8
//	go run ./server/cmd/chaos -duration 16s -clients 4 -faults kill,pg-stall
package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to read what the database holds
)

var allFaults = []string{"kill", "pg-restart", "pg-stall", "drop"}

type options struct {
	duration, every, pgDown, stall, settle time.Duration
	clients, agents, rounds                int
	faults                                 []string
	cstar                                  string
	keep, verbose                          bool
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
	ok, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.DurationVar(&o.duration, "duration", 75*time.Second, "how long visitors type; the faults are spread over it")
	fs.IntVar(&o.clients, "clients", 8, "visitors (widget clients, the SDK core)")
	fs.IntVar(&o.rounds, "rounds", 1, "how many times the list of faults is run (the killed and the cut-off server alternate)")
	fs.IntVar(&o.agents, "agents", 2, "agents (REST posts and the realtime stream), spread over both servers")
	fs.DurationVar(&o.every, "every", time.Second, "how often each visitor types, on average")
	faults := fs.String("faults", strings.Join(allFaults, ","), "faults to inject, in order: "+strings.Join(allFaults, ", "))
	fs.DurationVar(&o.pgDown, "pg-down", 2*time.Second, "how long PostgreSQL stays stopped in pg-restart")
	fs.DurationVar(&o.stall, "stall", 3*time.Second, "how long PostgreSQL stays stopped with SIGSTOP in pg-stall")
	fs.DurationVar(&o.settle, "settle", 20*time.Second, "how long the end of the run waits for the last messages")
	fs.StringVar(&o.cstar, "cstar", "", "a built cstar binary (default: go build ./server/cmd/cstar)")
	fs.BoolVar(&o.keep, "keep", false, "keep the directory with the servers' logs")
	fs.BoolVar(&o.verbose, "v", false, "trace what every client does on stderr")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, f := range strings.Split(*faults, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "" || f == "none":
		case !contains(allFaults, f):
			return o, fmt.Errorf("unknown fault %q (want %s)", f, strings.Join(allFaults, ", "))
		default:
			o.faults = append(o.faults, f)
		}
	}
	if o.clients < 1 || o.agents < 1 || o.rounds < 1 || o.duration <= 0 || o.every <= 0 {
		return o, errors.New("-clients, -agents, -rounds, -duration and -every must be positive")
	}
	return o, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// env is everything a run has started.
type env struct {
	pg      *cluster
	servers []*server
	proxies []*proxy
	team    teamKeys
	dir     string
	admin   *sql.DB // the tool's own connection, to read pg_stat_activity and the messages
}

func run(o options) (bool, error) {
	began := time.Now()
	dir, err := os.MkdirTemp("", "cstar-chaos-")
	if err != nil {
		return false, err
	}
	defer func() {
		if o.keep {
			fmt.Println("logs kept in", dir)
		} else {
			os.RemoveAll(dir)
		}
	}()
	bin := o.cstar
	if bin == "" {
		if bin, err = buildServer(dir); err != nil {
			return false, err
		}
	}
	pg, err := startCluster()
	if err != nil {
		return false, err
	}
	defer pg.remove()
	// Interrupted, the tool still stops what it started: the servers, then
	// the cluster (pg_ctl runs PostgreSQL apart from this process).
	var started struct {
		sync.Mutex
		servers []*server
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		if _, ok := <-sig; !ok {
			return
		}
		started.Lock()
		for _, s := range started.servers {
			s.stop()
		}
		pg.remove()
		os.RemoveAll(dir)
		os.Exit(130)
	}()
	e := &env{pg: pg, dir: dir}
	if e.admin, err = sql.Open("pgx", pg.url()); err != nil {
		return false, err
	}
	defer e.admin.Close()
	if e.team, err = createTeam(bin, pg.url()); err != nil {
		return false, err
	}
	for _, name := range []string{"A", "B"} {
		s, err := newServer(name, bin, pg.url(), dir)
		if err != nil {
			return false, err
		}
		started.Lock()
		started.servers = append(started.servers, s)
		started.Unlock()
		if err := s.start(); err != nil {
			return false, err
		}
		defer s.stop()
		p, err := startProxy(s.addr())
		if err != nil {
			return false, err
		}
		defer p.close()
		e.servers, e.proxies = append(e.servers, s), append(e.proxies, p)
	}
	fmt.Printf("chaos: 2 cstar serve processes (pids %d, %d) on PostgreSQL 127.0.0.1:%d; %d visitors (SDK core), %d agents; typing for %s; faults: %s (ready in %s)\n",
		e.servers[0].pid(), e.servers[1].pid(), pg.port, o.clients, o.agents, o.duration, strings.Join(o.faults, ", "),
		time.Since(began).Round(100*time.Millisecond))

	l := newLedger(o.clients, o.agents)
	l.verbose = o.verbose
	st := &stats{closes: map[string]int{}, errors: map[string]int{}}
	ctx := context.Background()
	setup, cancelSetup := context.WithTimeout(ctx, 30*time.Second)
	defer cancelSetup()

	// Visitors sign in before anything breaks, then open their chats.
	visitors := make([]*visitor, o.clients)
	errc := make(chan error, o.clients)
	for i := range visitors {
		visitors[i] = newVisitor(i, e.proxies[i%2].url(), e.team.Keys["pk_test"])
		go func(v *visitor) { errc <- v.signIn(setup, e.team.IdentitySecrets["test"]) }(visitors[i])
	}
	for range visitors {
		if err := <-errc; err != nil {
			return false, err
		}
	}
	readyz := newReadyWatch(e.servers)
	defer readyz.stop()

	streamCtx, stopStreams := context.WithCancel(ctx)
	postCtx, stopPosts := context.WithCancel(ctx)
	defer stopStreams()
	defer stopPosts()
	agents := make([]*agent, o.agents)
	var streams sync.WaitGroup
	for i := range agents {
		agents[i] = newAgent(i, o.agents, e.proxies[i%2].url(), e.team.ID, e.team.Keys["sk_test"], l)
		streams.Add(1)
		go func(a *agent) { defer streams.Done(); a.stream(streamCtx, postCtx) }(agents[i])
	}
	for _, v := range visitors {
		v.start(l, st)
	}
	if !waitFor(15*time.Second, func() bool { ok, _ := l.connected(); return ok }) {
		_, why := l.connected()
		return false, fmt.Errorf("the clients did not connect in 15 s: %s", why)
	}

	typing, stopTyping := context.WithTimeout(ctx, o.duration)
	defer stopTyping()
	var typers sync.WaitGroup
	for _, v := range visitors {
		typers.Add(1)
		go func(v *visitor) { defer typers.Done(); v.typeLoop(typing, l, o.every) }(v)
	}
	var nudgers sync.WaitGroup
	for _, a := range agents {
		nudgers.Add(1)
		go func(a *agent) { defer nudgers.Done(); a.nudgeLoop(typing, postCtx, o.every) }(a)
	}
	start := time.Now()

	// The faults, spread over the typing time after a warm-up; each one's
	// recovery is watched until the next begins (the last one's into the
	// drain).
	warm := min(4*time.Second, o.duration/5)
	var plan []string
	for range o.rounds {
		plan = append(plan, o.faults...)
	}
	var slot time.Duration
	if len(plan) > 0 {
		slot = (o.duration - warm) / time.Duration(len(plan))
	}
	var results []faultResult
	for k, f := range plan {
		at := start.Add(warm + time.Duration(k)*slot)
		time.Sleep(time.Until(at))
		l.tracef("fault %s", f)
		r := inject(e, f, o, k/len(o.faults))
		l.tracef("fault %s lifted", f)
		r.at = r.t0.Sub(start)
		// Every visitor types a probe at once: the fault is over for them
		// when it has made the round trip.
		for _, v := range visitors {
			v.typeOne(l)
		}
		probed := time.Now()
		until := start.Add(warm + time.Duration(k+1)*slot)
		if k == len(plan)-1 {
			until = start.Add(o.duration + o.settle)
		}
		r.recovered, r.why, r.listenBack = watchRecovery(l, e, r.t1, probed, until)
		results = append(results, r)
		fmt.Printf("  %s\n", r.line())
	}
	typers.Wait()
	nudgers.Wait()
	typedEnd := time.Now()

	// The drain: every message settled and shown, or the settle time up.
	drained := waitFor(time.Until(start.Add(o.duration+o.settle)), func() bool {
		if l.pending() > 0 {
			return false
		}
		for _, v := range visitors {
			if v.outbox() > 0 {
				return false
			}
		}
		return true
	})
	drainTook := time.Since(typedEnd)
	stopPosts()
	for _, a := range agents {
		a.wg.Wait()
	}
	stopStreams()
	streams.Wait()
	readyz.stop()

	db, err := readMessages(e.admin, e.team.ID)
	if err != nil {
		return false, err
	}
	v := l.check(db)
	outboxLeft := 0
	for _, vi := range visitors {
		outboxLeft += vi.outbox()
	}
	var exits []string
	for _, s := range e.servers {
		exits = append(exits, s.exits()...)
	}
	ok := report(o, v, results, agents, st, exits, outboxLeft, drained, drainTook, readyz)
	logSummary(e.servers)
	fmt.Printf("total %s\n", time.Since(began).Round(100*time.Millisecond))
	return ok, nil
}

// stats are what the visitors' SDKs reported besides messages.
type stats struct {
	mu     sync.Mutex
	closes map[string]int // socket close codes
	errors map[string]int // the SDK's error events, by code
}

func (s *stats) add(m map[string]int, k string) {
	s.mu.Lock()
	m[k]++
	s.mu.Unlock()
}

func readMessages(db *sql.DB, teamID string) (map[string][]stored, error) {
	rows, err := db.Query(`SELECT body, ticket_id::text, seq, author_type, coalesce(client_id, '') FROM messages WHERE team_id = $1`, teamID)
	if err != nil {
		return nil, fmt.Errorf("read the messages back: %w", err)
	}
	defer rows.Close()
	out := map[string][]stored{}
	for rows.Next() {
		var body string
		var s stored
		if err := rows.Scan(&body, &s.ticket, &s.seq, &s.author, &s.clientID); err != nil {
			return nil, err
		}
		out[body] = append(out[body], s)
	}
	return out, rows.Err()
}

// logSummary counts the servers' error log lines by message.
func logSummary(servers []*server) {
	for _, s := range servers {
		f, err := os.Open(s.logPath)
		if err != nil {
			continue
		}
		counts := map[string]int{}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct {
				Level string `json:"level"`
				Msg   string `json:"msg"`
				Err   string `json:"err"`
			}
			if json.Unmarshal(sc.Bytes(), &line) != nil || line.Level != "ERROR" {
				continue
			}
			counts[line.Msg]++
		}
		f.Close()
		if len(counts) == 0 {
			fmt.Printf("server %s log: no errors\n", s.name)
			continue
		}
		fmt.Printf("server %s log, ERROR lines by message: %s\n", s.name, topCounts(counts, 6))
	}
}

func topCounts(m map[string]int, n int) string {
	type kv struct {
		k string
		v int
	}
	var list []kv
	for k, v := range m {
		list = append(list, kv{k, v})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].v > list[j].v || list[i].v == list[j].v && list[i].k < list[j].k })
	var parts []string
	for i, e := range list {
		if i == n {
			parts = append(parts, fmt.Sprintf("… %d more kinds", len(list)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%q ×%d", e.k, e.v))
	}
	return strings.Join(parts, ", ")
}
