package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/apptest/pgcluster"
	"github.com/cstar-chat/cstar/server/config"
	"github.com/cstar-chat/cstar/server/protocol"
)

// logBuffer is a log destination that the server's goroutines share.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fakeWidget writes the files /widget/ serves (not a real module: the test
// is about serving them while the database is down).
func fakeWidget(t *testing.T) string {
	dir := t.TempDir()
	for _, name := range []string{"cstar.wasm", "cstar-chat.js", "wasm_exec.js", "cstar-widget.js"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("/* "+name+" */"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// wantUnavailable checks the answer to a request made while the database
// is down: 503, code unavailable, a Retry-After.
func wantUnavailable(t *testing.T, what string, r *apptest.Resp) {
	t.Helper()
	if r.Status != 503 || r.Body["code"] != "unavailable" || r.Header.Get("Retry-After") == "" {
		t.Errorf("%s during the outage: got %s (Retry-After %q), want 503 unavailable with Retry-After",
			what, r, r.Header.Get("Retry-After"))
	}
}

// waitReady waits until /readyz says the database answers.
func waitReady(t *testing.T, s *apptest.Server) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for s.Do(t, "GET", "/readyz", "", nil).Status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("the server did not become ready after PostgreSQL came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDatabaseOutage stops PostgreSQL under a running server and starts it
// again. Meanwhile every route class that needs the database (the API, the
// widget API, the Library, the websocket handshakes, readiness) answers
// 503 unavailable with Retry-After and none 500; the routes that need none
// (health, metrics, the widget's files) still answer, as the rate limiter
// is never asked for them; a message sent on an open widget socket gets an
// unavailable error frame and the socket stays; the log says "database
// unavailable" once and nothing at error level. Afterwards every route
// works, the message resent with its client id is stored once, an
// Idempotency-Key retry creates once, the agents' stream is closed with
// 4000 and resumes by position without gaps, and /metrics counted the
// 503s by cause.
func TestDatabaseOutage(t *testing.T) {
	pg := pgcluster.ForTest(t)
	var logs logBuffer
	s := apptest.Start(t, pg.URL(), apptest.Timings(apptest.ChatTimings),
		apptest.Logger(slog.New(slog.NewTextHandler(&logs, nil))),
		apptest.Config(func(c *config.Config) { c.WidgetDir = fakeWidget(t) }))
	pk, sk := s.PKTest, s.SKTest
	w := "/api/widget/v1"

	// Before: a customer with a session and a chat, a published article,
	// a widget socket and the agents' stream.
	signup := s.Do(t, "POST", w+"/signup", pk, map[string]any{"email": "ann@example.com", "name": "Ann",
		"password": "correct horse battery"}).Want(t, 201).Data(t)
	session := signup["session"].(map[string]any)["token"].(string)
	s.Do(t, "POST", s.Path("/articles"), sk, map[string]any{"title": "Returns", "body": "Send it back.", "status": "published"}).Want(t, 201)
	widget, _, _ := s.WidgetReady(t, pk, session, nil)
	widget.SendMsg("before", "Before the outage")
	ticketID := msgOf(widget.WaitFor(protocol.FrameAck))["ticket_id"].(string)
	stream, replay, ready := s.Stream(t, sk, "?after=0")
	lastPos := numOf(ready["pos"])
	if len(replay) == 0 || lastPos == 0 {
		t.Fatalf("stream before the outage: got %d events up to %d, want the chat's", len(replay), lastPos)
	}
	libPath := "/api/library/" + s.Team.Slug + "/articles"
	s.Do(t, "GET", libPath, pk, nil).Want(t, 200)
	before := logs.String()

	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	// Past the key and team caches (900 ms and 1 s), so that every request
	// needs the database from its first step.
	time.Sleep(1100 * time.Millisecond)

	for _, c := range []struct {
		name, method, path, key string
		body                    any
		hdr                     []string
	}{
		{"API list", "GET", s.Path("/tickets"), sk, nil, nil},
		{"API get", "GET", s.Path("/tickets/" + ticketID), sk, nil, nil},
		{"API create", "POST", s.Path("/tickets"), sk, map[string]any{"subject": "Printer on fire"}, nil},
		{"API create with Idempotency-Key", "POST", s.Path("/tickets"), sk, map[string]any{"subject": "Idempotent"},
			[]string{"Idempotency-Key", "outage-1"}},
		{"API agent message", "POST", s.Path("/tickets/" + ticketID + "/messages"), sk,
			map[string]any{"body": "Hello", "author_name": "Bob"}, nil},
		{"API with a publishable key", "GET", s.Path(""), pk, nil, nil},
		{"API with an unknown key", "GET", s.Path("/tickets"), "sk_test_000000000000000000000000000000aaaaaa", nil, nil},
		{"widget login", "POST", w + "/login", pk, map[string]any{"email": "ann@example.com", "password": "correct horse battery"}, nil},
		{"widget signup", "POST", w + "/signup", pk, map[string]any{"email": "bob@example.com", "name": "Bob", "password": "correct horse battery"}, nil},
		{"widget identify", "POST", w + "/identify", pk, map[string]any{"token": "x.y.z"}, nil},
		{"widget me", "GET", w + "/me", pk, nil, []string{protocol.SessionHeader, session}},
		{"widget messages", "GET", w + "/messages", pk, nil, []string{protocol.SessionHeader, session}},
		{"Library", "GET", libPath, "", nil, nil},
		{"Library search", "GET", "/api/library/" + s.Team.Slug + "/search?q=returns", "", nil, nil},
		{"readiness", "GET", "/readyz", "", nil, nil},
	} {
		wantUnavailable(t, c.name, s.Do(t, c.method, c.path, c.key, c.body, c.hdr...))
	}
	// A page can read the widget API's 503 (CORS), although the key could
	// not be checked; a secret key's answer never allows a browser.
	origin := "https://shop.example"
	if r := s.Do(t, "POST", w+"/login", pk, map[string]any{"email": "ann@example.com", "password": "correct horse battery"},
		"Origin", origin); r.Status != 503 || r.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Errorf("widget login from a page during the outage: got %d with Access-Control-Allow-Origin %q, want 503 readable by %s",
			r.Status, r.Header.Get("Access-Control-Allow-Origin"), origin)
	}
	if r := s.Do(t, "GET", s.Path("/tickets"), sk, nil, "Origin", origin); r.Status != 503 || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("secret-key request from a page during the outage: got %d with Access-Control-Allow-Origin %q, want 503 without CORS",
			r.Status, r.Header.Get("Access-Control-Allow-Origin"))
	}
	// The websocket handshakes are refused with the same 503 before the
	// upgrade, so a client backs off and comes back.
	for name, dial := range map[string]func() (int, error){
		"widget socket": func() (int, error) {
			_, res, err := s.DialRaw(t, apptest.WidgetPath(pk))
			return apptest.Status(res), err
		},
		"agents' stream": func() (int, error) {
			_, res, err := s.DialRaw(t, s.Path("/realtime?after=1"), "Authorization", "Bearer "+sk)
			return apptest.Status(res), err
		},
	} {
		if status, err := dial(); err == nil || status != 503 {
			t.Errorf("%s handshake during the outage: got status %d (%v), want 503", name, status, err)
		}
	}
	// What needs no database still answers: the limiter is not asked.
	for _, path := range []string{"/healthz", "/metrics", "/widget/cstar-chat.js", "/widget/cstar-widget.js"} {
		s.Do(t, "GET", path, "", nil).Want(t, 200)
	}

	// A message sent on the open widget socket: an error frame that says
	// to retry, and the socket stays open.
	for _, id := range []string{"during", "during"} {
		widget.SendMsg(id, "Sent during the outage")
		f := widget.WaitFor(protocol.FrameError)
		if f["client_id"] != id || f["code"] != "unavailable" || numOf(f["retry_after_ms"]) <= 0 {
			t.Errorf("send during the outage: got %v, want an unavailable error frame with retry_after_ms", f)
		}
	}
	outageLog := strings.TrimPrefix(logs.String(), before)

	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	waitReady(t, s)

	// The server went back to listening: the sockets are told to
	// reconnect, and resume.
	widget.WantClose(protocol.CloseRestart)
	stream.WantClose(protocol.CloseRestart)
	widget, _, _ = s.WidgetReady(t, pk, session, map[string]int64{ticketID: 1})
	widget.SendMsg("during", "Sent during the outage")
	first := msgOf(widget.WaitFor(protocol.FrameAck))
	widget.SendMsg("during", "Sent during the outage")
	again := msgOf(widget.WaitFor(protocol.FrameAck))
	if first["id"] != again["id"] || numOf(first["seq"]) != 2 {
		t.Errorf("resend after the outage: got %v then %v, want seq 2 acknowledged twice as one message", first, again)
	}
	msgs := s.Do(t, "GET", s.Path("/tickets/"+ticketID+"/messages"), sk, nil).Want(t, 200).Items(t)
	if len(msgs) != 2 || msgs[1]["body"] != "Sent during the outage" {
		t.Errorf("the ticket's messages: got %d (%v), want 2, the second sent during the outage, once", len(msgs), msgs)
	}

	// Every route class works again.
	s.Do(t, "GET", s.Path("/tickets"), sk, nil).Want(t, 200)
	s.Do(t, "POST", w+"/login", pk, map[string]any{"email": "ann@example.com", "password": "correct horse battery"}).Want(t, 200)
	s.Do(t, "GET", libPath, "", nil).Want(t, 200)
	s.Do(t, "POST", s.Path("/tickets/"+ticketID+"/messages"), sk, map[string]any{"body": "Back", "author_name": "Bob"}).Want(t, 201)

	// The Idempotency-Key refused during the outage creates once.
	id1 := s.Do(t, "POST", s.Path("/tickets"), sk, map[string]any{"subject": "Idempotent"}, "Idempotency-Key", "outage-1").Want(t, 201).ID(t)
	id2 := s.Do(t, "POST", s.Path("/tickets"), sk, map[string]any{"subject": "Idempotent"}, "Idempotency-Key", "outage-1").Want(t, 201).ID(t)
	if id1 != id2 {
		t.Errorf("idempotent retry after the outage: got tickets %s and %s, want one", id1, id2)
	}

	// The stream resumes from its last position: every event after it,
	// each once, with no gap.
	stream, replay, ready = s.Stream(t, sk, "?after="+strconv.FormatInt(lastPos, 10))
	pos := lastPos
	for _, ev := range replay {
		if p := numOf(ev["pos"]); p != pos+1 {
			t.Fatalf("resumed stream: event at %d after %d, want %d (replay %v)", p, pos, pos+1, replay)
		}
		pos++
	}
	var types []string
	for _, ev := range replay {
		types = append(types, ev["type"].(string))
	}
	if pos != numOf(ready["pos"]) || strings.Join(types, " ") != "message.created message.created ticket.created" {
		t.Errorf("resumed stream: replayed %v up to %d, ready at %v; want the customer's and the agent's messages and the new ticket",
			types, pos, ready["pos"])
	}

	// /metrics: the 503s by cause, and the database up after one outage.
	m := string(s.Do(t, "GET", "/metrics", "", nil).Want(t, 200).Raw)
	if n := metric(m, `cstar_http_unavailable_total{cause="database"}`); n < 17 {
		t.Errorf(`cstar_http_unavailable_total{cause="database"}: got %d, want at least the 17 refusals above`, n)
	}
	if metric(m, "cstar_database_up") != 1 || metric(m, "cstar_database_outages_total") != 1 {
		t.Errorf("database metrics: want up 1 and 1 outage in\n%s", m)
	}

	// One line for the outage, one for its end, and no errors logged.
	if n := strings.Count(outageLog, `msg="database unavailable"`); n != 1 {
		t.Errorf("log lines saying the database is unavailable: got %d, want 1", n)
	}
	if n := strings.Count(outageLog, "level=ERROR"); n != 0 {
		t.Errorf("error lines logged during the outage: got %d, want 0:\n%s", n, grepLines(outageLog, "level=ERROR"))
	}
	if !regexp.MustCompile(`msg="database available again" unavailable_for=\d`).MatchString(logs.String()) {
		t.Errorf("log: no line saying the database is back and after how long")
	}
}

// metric reads one sample of the Prometheus text m (-1 when missing).
func metric(m, series string) int64 {
	for _, line := range strings.Split(m, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return int64(f)
		}
	}
	return -1
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestIdempotentRetryAcrossAnOutage: a request with an Idempotency-Key that
// PostgreSQL's shutdown interrupts after the key was reserved (before the
// object is stored, or after it is stored but before the answer is
// recorded) does not leave the key "in progress": once the database is
// back, a retry with the key creates the object, or replays it, and there
// is one.
func TestIdempotentRetryAcrossAnOutage(t *testing.T) {
	pg := pgcluster.ForTest(t)
	s := apptest.Start(t, pg.URL())
	ctx := context.Background()
	admin, err := sql.Open("pgx", pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	admin.SetMaxIdleConns(0) // a session the shutdown ended is not reused
	// Triggers that wait for an advisory lock the test holds: the request
	// stops exactly at the statement, where the shutdown ends it.
	if _, err := admin.ExecContext(ctx, `
		CREATE FUNCTION outage_gate() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN NEW; END $$;
		CREATE TRIGGER outage_gate_insert BEFORE INSERT ON tickets FOR EACH ROW
			WHEN (NEW.subject = 'Blocked before storing') EXECUTE FUNCTION outage_gate();
		CREATE TRIGGER outage_gate_complete BEFORE UPDATE ON idempotency_keys FOR EACH ROW
			WHEN (NEW.key = 'after-store') EXECUTE FUNCTION outage_gate();`); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct{ key, subject string }{
		{"before-store", "Blocked before storing"},
		{"after-store", "Blocked after storing"},
	} {
		t.Run(c.key, func(t *testing.T) {
			lock, err := admin.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := lock.ExecContext(ctx, "SELECT pg_advisory_lock(4242)"); err != nil {
				t.Fatal(err)
			}
			first := make(chan *apptest.Resp, 1)
			go func() {
				first <- s.Do(t, "POST", s.Path("/tickets"), s.SKLive, map[string]any{"subject": c.subject}, "Idempotency-Key", c.key)
			}()
			// Wait until the request waits at the gate, then stop.
			deadline := time.Now().Add(10 * time.Second)
			for {
				var n int
				admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`).Scan(&n)
				if n > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the request never reached the gate")
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err := pg.Stop(); err != nil {
				t.Fatal(err)
			}
			lock.Close()
			r := <-first
			if c.key == "before-store" {
				wantUnavailable(t, "the interrupted request", r)
			}
			if err := pg.Start(); err != nil {
				t.Fatal(err)
			}
			waitReady(t, s)
			// The idempotency record is written back within a second or two.
			var retry *apptest.Resp
			deadline = time.Now().Add(10 * time.Second)
			for {
				retry = s.Do(t, "POST", s.Path("/tickets"), s.SKLive, map[string]any{"subject": c.subject}, "Idempotency-Key", c.key)
				if retry.Status != 409 || time.Now().After(deadline) {
					break
				}
				if retry.Header.Get("Retry-After") == "" {
					t.Errorf("409 in progress: no Retry-After")
				}
				time.Sleep(200 * time.Millisecond)
			}
			retry.Want(t, 201)
			again := s.Do(t, "POST", s.Path("/tickets"), s.SKLive, map[string]any{"subject": c.subject}, "Idempotency-Key", c.key).Want(t, 201)
			if again.ID(t) != retry.ID(t) {
				t.Errorf("second retry: got ticket %s, want %s replayed", again.ID(t), retry.ID(t))
			}
			// The shutdown ended the admin pool's sessions too.
			fresh, err := sql.Open("pgx", pg.URL())
			if err != nil {
				t.Fatal(err)
			}
			defer fresh.Close()
			var n int
			if err := fresh.QueryRowContext(ctx, "SELECT count(*) FROM tickets WHERE subject = $1", c.subject).Scan(&n); err != nil || n != 1 {
				t.Errorf("tickets %q: got %d (%v), want 1", c.subject, n, err)
			}
			if c.key == "after-store" && r.Status == 201 && r.ID(t) != retry.ID(t) {
				t.Errorf("retry: got ticket %s, want the one the interrupted request stored, %s", retry.ID(t), r.ID(t))
			}
		})
	}
}
