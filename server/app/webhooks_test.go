package app_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/app"
	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/config"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/internal/webhook"
)

// childEnv makes the test binary a bare server process (see runChild), so
// that a test can kill it with SIGKILL.
const childEnv = "CSTAR_TEST_CHILD_DB"

func TestMain(m *testing.M) {
	if url := os.Getenv(childEnv); url != "" {
		os.Exit(runChild(url))
	}
	os.Exit(m.Run())
}

// runChild serves url on a free port with short webhook leases, prints its
// URL and runs until killed.
func runChild(url string) int {
	cfg := config.Default()
	cfg.Addr, cfg.DatabaseURL = "127.0.0.1:0", url
	cfg.WebhooksAllowInsecure, cfg.WebhooksAllowPrivate = true, true
	tm := apptest.WebhookTimings
	tm.Lease, tm.Timeout = 2*time.Second, time.Minute
	a, err := app.Open(context.Background(), cfg, app.Options{PasswordParams: &apptest.CheapPassword, WebhookTimings: tm})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	a.Start()
	fmt.Println("URL", a.URL())
	select {}
}

// webhookNode starts one server process with short webhook timings and
// leases of lease.
func webhookNode(t *testing.T, url string, lease time.Duration, opts ...apptest.Option) *apptest.Server {
	tm := apptest.WebhookTimings
	tm.Lease = lease
	tm.Timeout = time.Minute
	return apptest.Start(t, url, append(opts, apptest.Webhooks(tm))...)
}

// deliveries lists an endpoint's deliveries (the first page).
func deliveries(t *testing.T, s *apptest.Server, key, tp, hookID string) []map[string]any {
	return s.Do(t, "GET", tp+"/webhooks/"+hookID+"/deliveries?limit=100", key, nil).Want(t, 200).Items(t)
}

// TestWebhooksTwoProcessesDeliverOnce: two servers on one PostgreSQL share
// the deliveries of events written through both, and in normal operation
// every endpoint gets every event exactly once.
func TestWebhooksTwoProcessesDeliverOnce(t *testing.T) {
	url := testdb.URL(t, "postgres")
	a := webhookNode(t, url, time.Minute, apptest.NoTeam)
	b := webhookNode(t, url, time.Minute, apptest.NoTeam)
	team := a.CreateTeam(t, "Acme", apptest.UniqueSlug("acme"))
	sk, tp := team.Keys["sk_live"].Secret, "/api/v1/teams/"+team.ID
	rcvs := make([]*apptest.Receiver, 3)
	for i := range rcvs {
		rcvs[i] = apptest.NewReceiver(t)
		rcvs[i].Answer(func(int, apptest.Hook) (int, string, time.Duration) { return 200, "ok", 2 * time.Millisecond })
		a.Do(t, "POST", tp+"/webhooks", sk, map[string]any{"url": rcvs[i].URL, "events": []string{"message.created"}}).Want(t, 201)
	}
	tid := a.Do(t, "POST", tp+"/tickets", sk, map[string]any{"subject": "Busy"}).Want(t, 201).ID(t)
	const each = 60
	var wg sync.WaitGroup
	for _, node := range []*apptest.Server{a, b} {
		for w := range 3 {
			wg.Go(func() {
				for i := range each / 3 {
					node.Do(t, "POST", tp+"/tickets/"+tid+"/messages", sk,
						map[string]any{"body": fmt.Sprintf("m %d-%d", w, i), "author_name": "Bob"}).Want(t, 201)
				}
			})
		}
	}
	wg.Wait()
	const n = 2 * each
	for i, r := range rcvs {
		hs := r.WaitN(t, n)
		time.Sleep(300 * time.Millisecond) // time for a second copy to show
		hs = r.Hooks()
		seen := map[string]int{}
		for _, h := range hs {
			seen[h.ID()]++
		}
		if len(hs) != n || len(seen) != n {
			t.Errorf("endpoint %d: got %d requests of %d events, want %d each once", i, len(hs), len(seen), n)
		}
	}
	// Both processes took part.
	for name, node := range map[string]*apptest.Server{"A": a, "B": b} {
		m := string(node.Do(t, "GET", "/metrics", "", nil).Want(t, 200).Raw)
		if strings.Contains(m, `cstar_webhook_deliveries_total{outcome="success"} 0`) {
			t.Errorf("process %s delivered nothing", name)
		}
		t.Logf("process %s: %s", name, grepLine(m, `outcome="success"`))
	}
}

func grepLine(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

// TestWebhookSurvivesKill: a server process killed (SIGKILL) while a
// delivery is under way leaves its claim behind; once the lease runs out
// another process sends the event again, and it succeeds.
func TestWebhookSurvivesKill(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		s := webhookNode(t, url, time.Minute)
		tp := s.Path("")
		rcv := apptest.NewReceiver(t)
		hang := make(chan struct{})
		var once sync.Once
		rcv.Answer(func(n int, _ apptest.Hook) (int, string, time.Duration) {
			if n == 0 {
				once.Do(func() { close(hang) })
				return 200, "never sent", time.Hour
			}
			return 200, "ok", 0
		})
		hookID := s.Do(t, "POST", tp+"/webhooks", s.SKLive, map[string]any{"url": rcv.URL, "events": []string{"customer.created"}}).
			Want(t, 201).ID(t)
		s.Stop(t) // the child alone serves the database now

		child := exec.Command(os.Args[0], "-test.run=^$")
		child.Env = append(os.Environ(), childEnv+"="+url)
		child.Stderr = os.Stderr
		out, err := child.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { child.Process.Kill(); child.Wait() })
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "URL ") {
			t.Fatalf("child: got %q (%v), want its URL", line, err)
		}
		// The stopped server's client talks to the child (Restart sets the
		// URL back).
		s.URL = strings.TrimSpace(strings.TrimPrefix(line, "URL "))
		s.Do(t, "POST", tp+"/customers", s.SKLive, map[string]any{"email": "ann@example.com"}).Want(t, 201)
		select {
		case <-hang:
		case <-time.After(apptest.Wait):
			t.Fatal("the child never delivered")
		}
		if err := child.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		child.Wait()
		killed := time.Now()

		s.Restart(t)
		hs := rcv.WaitN(t, 2)
		if hs[0].ID() != hs[1].ID() || hs[1].Type() != "customer.created" {
			t.Fatalf("after the kill: got %s then %s, want the same event again", hs[0].ID(), hs[1].ID())
		}
		if d := hs[1].At.Sub(killed); d < time.Second {
			t.Errorf("sent again %v after the kill, before the child's 2 s lease ran out", d)
		}
		var d map[string]any
		for range 200 {
			d = deliveries(t, s, s.SKLive, tp, hookID)[0]
			if d["state"] == webhook.Succeeded {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if d["state"] != webhook.Succeeded || d["attempts"] != 1.0 {
			t.Errorf("delivery: got %v, want succeeded, one attempt recorded (the killed one never was)", d)
		}
	})
}

// TestWebhookStopReleasesClaims: a server stopped as a deploy stops it, with
// a delivery under way, gives the claim back: the next process sends the
// event at once, without waiting for the lease.
func TestWebhookStopReleasesClaims(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		s := webhookNode(t, url, time.Hour)
		tp := s.Path("")
		rcv := apptest.NewReceiver(t)
		rcv.Answer(func(n int, _ apptest.Hook) (int, string, time.Duration) {
			if n == 0 {
				return 200, "never sent", time.Hour
			}
			return 200, "ok", 0
		})
		s.Do(t, "POST", tp+"/webhooks", s.SKLive, map[string]any{"url": rcv.URL, "events": []string{"*"}}).Want(t, 201)
		s.Do(t, "POST", tp+"/customers", s.SKLive, map[string]any{"email": "ann@example.com"}).Want(t, 201)
		rcv.WaitN(t, 1)
		s.Stop(t)
		s.Restart(t)
		hs := rcv.WaitN(t, 2)
		if hs[0].ID() != hs[1].ID() {
			t.Errorf("after the restart: got %s, want %s again", hs[1].ID(), hs[0].ID())
		}
	})
}
