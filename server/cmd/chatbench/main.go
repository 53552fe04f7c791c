// Command chatbench measures the live-chat channel: the server's memory per
// idle widget connection, and the delivery latency from an agent's REST post
// to the customer's socket at a steady rate. The server runs in this
// process (so its heap can be measured after a GC); the clients run in a
// child process of the same binary, so that their memory is not counted and
// one clock times both ends of a delivery.
//
//	go run ./server/cmd/chatbench -db sqlite -idle 10000 -rate 500 -duration 10s
//	go run ./server/cmd/chatbench -db postgres://…
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cstar-chat/cstar/server/app"
	"github.com/cstar-chat/cstar/server/config"
	"github.com/cstar-chat/cstar/server/identitytoken"
	"github.com/cstar-chat/cstar/server/internal/identity"
	"github.com/cstar-chat/cstar/server/internal/password"
	"github.com/cstar-chat/cstar/server/internal/scope"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for the admin connection
)

// plan is what the server side hands the client process.
type plan struct {
	URL           string   `json:"url"`
	TeamID        string   `json:"team_id"`
	PK            string   `json:"pk"`
	SK            string   `json:"sk"`
	Sessions      []string `json:"sessions"`
	Conversations int      `json:"conversations"`
	Rate          int      `json:"rate"`
	Duration      string   `json:"duration"`
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "client" {
		if err := client(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "chatbench client:", err)
			os.Exit(1)
		}
		return
	}
	if err := server(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "chatbench:", err)
		os.Exit(1)
	}
}

func server(args []string) error {
	fs := flag.NewFlagSet("chatbench", flag.ContinueOnError)
	dbURL := fs.String("db", "sqlite", `database: "sqlite" (a temporary file) or a postgres:// URL`)
	idle := fs.Int("idle", 10000, "idle widget connections to hold")
	convs := fs.Int("conversations", 200, "conversations the agent messages are spread over")
	rate := fs.Int("rate", 500, "agent messages per second")
	dur := fs.Duration("duration", 10*time.Second, "how long the latency phase lasts")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the latency phase to this file")
	memprofile := fs.String("memprofile", "", "write a heap profile with the idle connections open to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *memprofile != "" {
		runtime.MemProfileRate = 1 // exact, for the profile only: it slows allocation down
	}
	if *convs > *idle {
		*convs = *idle
	}
	dbName := "postgres"
	if strings.HasPrefix(*dbURL, "postgres") {
		// A database of its own, so runs neither see each other's rows nor
		// an older schema.
		u, drop, err := freshPostgres(*dbURL)
		if err != nil {
			return err
		}
		defer drop()
		*dbURL = u
	}
	if *dbURL == "sqlite" {
		dir, err := os.MkdirTemp("", "chatbench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*dbURL = "sqlite:" + filepath.Join(dir, "cstar.db")
		dbName = "sqlite"
	}
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DatabaseURL = *dbURL
	cfg.SecretLimit, cfg.PublishableLimit, cfg.LibraryLimit, cfg.InvalidKeyLimit = 1e9, 1e9, 1e9, 1e9
	cfg.WidgetSessionLimit, cfg.WidgetIPLimit = 1e9, 1e9 // every client is on one address
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, app.Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	a.Start()
	defer a.Close(context.Background())

	slug := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	team, err := a.Teams().Create(ctx, "Bench", slug)
	if err != nil {
		return err
	}
	sc := scope.Scope{TeamID: team.ID, Mode: scope.Test}
	fmt.Printf("chatbench on %s: %d idle connections, %d messages/s over %d conversations for %s\n",
		dbName, *idle, *rate, *convs, *dur)
	start := time.Now()
	sessions, err := makeSessions(ctx, a, sc, []byte(team.IdentitySecrets[scope.Test]), *idle)
	if err != nil {
		return err
	}
	fmt.Printf("  %d customer sessions made in %s\n", len(sessions), time.Since(start).Round(time.Millisecond))
	if dbName == "postgres" {
		// Planner statistics for the tables just filled, as autovacuum keeps
		// them on a running server; without them the first minute's lookups
		// may scan whole tables.
		if err := analyze(*dbURL); err != nil {
			return err
		}
	}

	p := plan{URL: a.URL(), TeamID: team.ID, PK: team.Keys["pk_test"].Secret, SK: team.Keys["sk_test"].Secret,
		Sessions: sessions, Conversations: *convs, Rate: *rate, Duration: dur.String()}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "client")
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	outPipe, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Process.Kill()
	out := bufio.NewScanner(outPipe)
	out.Buffer(make([]byte, 1<<20), 1<<20)
	if err := json.NewEncoder(in).Encode(p); err != nil {
		return err
	}
	line := func() (string, error) {
		if !out.Scan() {
			return "", fmt.Errorf("client stopped: %v", out.Err())
		}
		return out.Text(), nil
	}

	before := measure()
	l, err := line() // "connected N in D"
	if err != nil {
		return err
	}
	fmt.Println("  " + l)
	time.Sleep(2 * time.Second) // let the last handlers return
	after := measure()
	if *memprofile != "" {
		f, err := os.Create(*memprofile)
		if err != nil {
			return err
		}
		pprof.WriteHeapProfile(f)
		f.Close()
	}
	widgets, _ := a.Hub().Counts()
	if widgets != *idle {
		return fmt.Errorf("the hub holds %d widget connections, want %d", widgets, *idle)
	}
	perConn := func(f func(mem) uint64) float64 { return float64(int64(f(after))-int64(f(before))) / float64(*idle) }
	heap := perConn(func(m mem) uint64 { return m.heap })
	stack := perConn(func(m mem) uint64 { return m.stack })
	rss := perConn(func(m mem) uint64 { return m.rss })
	fmt.Printf("  memory per idle connection: %.0f B (heap %.0f B + goroutine stacks %.0f B); RSS %.0f B; goroutines %d → %d\n",
		heap+stack, heap, stack, rss, before.goroutines, after.goroutines)
	fmt.Printf("  against the 10 KB goal: %.2f×\n", (heap+stack)/10240)

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	fmt.Fprintln(in, "go")
	for {
		l, err := line()
		if err != nil {
			return err
		}
		fmt.Println("  " + l)
		if strings.HasPrefix(l, "done") {
			break
		}
	}
	in.Close()
	return cmd.Wait()
}

// makeSessions signs n customers in through bring-your-own-auth tokens,
// the fastest real way to a session (no password hashing).
func makeSessions(ctx context.Context, a *app.App, sc scope.Scope, secret []byte, n int) ([]string, error) {
	hasher, err := password.New(password.OWASP, 1, time.Second)
	if err != nil {
		return nil, err
	}
	ident := identity.NewService(a.DB(), hasher, time.Now)
	out := make([]string, n)
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				tok, err := identitytoken.Sign(secret, identitytoken.Claims{Subject: fmt.Sprintf("user-%d", i),
					Name: fmt.Sprintf("Visitor %d", i)}, time.Now())
				if err == nil {
					var iss identity.Issued
					_, iss, err = ident.Identify(ctx, sc, identity.IdentifyInput{Token: tok}, "127.0.0.1")
					out[i] = iss.Token
				}
				if err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return out, firstErr
}

type mem struct {
	heap, stack, rss uint64
	goroutines       int
}

// measure collects garbage first, so that only live memory counts.
func measure() mem {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return mem{heap: ms.HeapInuse, stack: ms.StackInuse, rss: rss(), goroutines: runtime.NumGoroutine()}
}

// rss reads the resident set size from /proc (0 elsewhere).
func rss() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			var kb uint64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "VmRSS:")), "%d", &kb)
			return kb << 10
		}
	}
	return 0
}

// freshPostgres creates an empty database beside the one admin names and
// returns its URL and the function that drops it.
func freshPostgres(admin string) (string, func(), error) {
	u, err := url.Parse(admin)
	if err != nil {
		return "", nil, fmt.Errorf("parse -db: %w", err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "chatbench_" + hex.EncodeToString(b[:])
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

func analyze(dbURL string) error {
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Exec("ANALYZE"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}
