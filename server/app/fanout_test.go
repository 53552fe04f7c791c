package app_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/socket"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// startNode starts one server process of a cluster sharing a database; the
// test makes the team through one of them.
func startNode(t *testing.T, dbURL string) *apptest.Server {
	return apptest.Start(t, dbURL, apptest.NoTeam, apptest.Timings(socket.Timings{
		Ping: time.Second, PongWait: 10 * time.Second, WriteWait: 5 * time.Second, ResumeWait: 5 * time.Second, QueueLen: 256}))
}

// dial opens a websocket on n, failing the test when it cannot.
func dial(t *testing.T, n *apptest.Server, path string, hdr ...string) *apptest.WS {
	t.Helper()
	w, res, err := n.DialWS(t, path, hdr...)
	if err != nil {
		t.Fatalf("dial %s: %v (status %d)", path, err, apptest.Status(res))
	}
	return w
}

func msgOf(f map[string]any) map[string]any { m, _ := f["message"].(map[string]any); return m }

func numOf(v any) int64 { f, _ := v.(float64); return int64(f) }

// TestChatAcrossProcesses: two servers on one PostgreSQL database act as
// one: a widget on A hears what an agent posts through B, B's agents'
// stream hears A's customer, ephemeral events (typing, logout) cross too,
// and messages posted through both at once are numbered without gaps.
func TestChatAcrossProcesses(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		if strings.HasPrefix(url, "sqlite") {
			t.Skip("SQLite mode is single-process")
		}
		a, b := startNode(t, url), startNode(t, url)
		team := a.CreateTeam(t, "Acme", "acme")
		sk, pk := team.Keys["sk_live"].Secret, team.Keys["pk_live"].Secret
		tp := "/api/v1/teams/" + team.ID

		d := a.Do(t, "POST", "/api/widget/v1/signup", pk, map[string]any{"email": "ann@example.com", "name": "Ann",
			"password": "correct horse battery"}).Want(t, 201).Data(t)
		tok := d["session"].(map[string]any)["token"].(string)

		stream := dial(t, b, tp+"/realtime", "Authorization", "Bearer "+sk)
		stream.WaitFor(protocol.EventReady)
		w := dial(t, a, apptest.WidgetPath(pk))
		w.Send(map[string]any{"type": "resume", "session": tok})
		w.WaitFor(protocol.FrameReady)

		// Customer on A → stream on B.
		w.SendMsg("c1", "Hello from A")
		ack := msgOf(w.WaitFor(protocol.FrameAck))
		tid := ack["ticket_id"].(string)
		ev := stream.WaitFor(protocol.EventMessageCreated)
		if msgOf(ev)["id"] != ack["id"] {
			t.Fatalf("B's stream: got %v, want A's customer message %v", ev, ack["id"])
		}

		// Agent on B → widget on A, promptly.
		start := time.Now()
		posted := b.Do(t, "POST", tp+"/tickets/"+tid+"/messages", sk, map[string]any{"body": "Hi from B", "author_name": "Bob"}).
			Want(t, 201).Data(t)
		f := w.WaitFor(protocol.FrameMessage)
		if msgOf(f)["id"] != posted["id"] || numOf(msgOf(f)["seq"]) != 2 {
			t.Fatalf("A's widget: got %v, want B's message at seq 2", f)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("B's message took %v to reach A", d)
		}

		// Ephemeral events cross as well.
		b.Do(t, "POST", tp+"/tickets/"+tid+"/typing", sk, map[string]any{"typing": true, "author_name": "Bob"}).Want(t, 200)
		if f := w.WaitFor(protocol.FrameTyping); f["ticket_id"] != tid {
			t.Errorf("A's widget typing: got %v", f)
		}
		w.Send(map[string]any{"type": "typing", "typing": true})
		if ev := stream.WaitFor(protocol.EventTyping); ev["ticket_id"] != tid {
			t.Errorf("B's stream typing: got %v", ev)
		}

		// Both processes post at once: one gap-free numbering.
		const each = 15
		var wg sync.WaitGroup
		for i, n := range []*apptest.Server{a, b, a, b} {
			wg.Go(func() {
				for j := range each {
					if r := n.Do(t, "POST", tp+"/tickets/"+tid+"/messages", sk,
						map[string]any{"body": fmt.Sprintf("w%d-%d", i, j), "author_name": "Agent"}); r.Status != 201 {
						t.Errorf("concurrent post: got %s", r)
					}
				}
			})
		}
		wg.Wait()
		const total = 2 + 4*each
		var got []int64
		for after := int64(0); ; {
			page := b.Do(t, "GET", fmt.Sprintf("%s/tickets/%s/messages?after_seq=%d&limit=200", tp, tid, after), sk, nil).
				Want(t, 200).Items(t)
			if len(page) == 0 {
				break
			}
			for _, m := range page {
				got = append(got, numOf(m["seq"]))
				after = numOf(m["seq"])
			}
		}
		want := make([]int64, total)
		for i := range want {
			want[i] = int64(i + 1)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("seqs: got %v, want 1..%d", got, total)
		}
		// A's widget and B's stream see every message once, in order.
		var widgetSeqs, streamPos []int64
		for len(widgetSeqs) < 4*each {
			widgetSeqs = append(widgetSeqs, numOf(msgOf(w.WaitFor(protocol.FrameMessage))["seq"]))
		}
		if !slices.Equal(widgetSeqs, want[2:]) {
			t.Errorf("A's widget: got seqs %v, want 3..%d", widgetSeqs, total)
		}
		for len(streamPos) < 4*each {
			streamPos = append(streamPos, numOf(stream.WaitFor(protocol.EventMessageCreated)["pos"]))
		}
		for i := 1; i < len(streamPos); i++ {
			if streamPos[i] != streamPos[i-1]+1 {
				t.Fatalf("B's stream positions: got %v, want consecutive", streamPos)
			}
		}

		// Logging out through B closes the socket on A.
		b.Do(t, "POST", "/api/widget/v1/logout", pk, nil, protocol.SessionHeader, tok).Want(t, 200)
		w.WantClose(protocol.CloseSessionInvalid)
	})
}

// TestKeyEndAcrossProcesses: revoking a key through server A closes, within
// a second, the agents' stream and the widget that server B holds open with
// it (4501).
func TestKeyEndAcrossProcesses(t *testing.T) {
	url := testdb.Postgres(t)
	a, b := startNode(t, url), startNode(t, url)
	team := a.CreateTeam(t, "Acme", "acme")
	sk, pk := team.Keys["sk_live"], team.Keys["pk_live"]
	other := a.Do(t, "POST", "/api/v1/teams/acme/api-keys", sk.Secret, map[string]any{"type": "secret"}).Want(t, 201).Data(t)
	d := a.Do(t, "POST", "/api/widget/v1/signup", pk.Secret, map[string]any{"email": "ann@example.com", "name": "Ann",
		"password": "correct horse battery"}).Want(t, 201).Data(t)
	tok := d["session"].(map[string]any)["token"].(string)

	stream := dial(t, b, "/api/v1/teams/acme/realtime", "Authorization", "Bearer "+sk.Secret)
	stream.WaitFor(protocol.EventReady)
	w := dial(t, b, apptest.WidgetPath(pk.Secret))
	w.Send(map[string]any{"type": "resume", "session": tok})
	w.WaitFor(protocol.FrameReady)

	start := time.Now()
	a.Do(t, "DELETE", "/api/v1/teams/acme/api-keys/"+sk.ID, apptest.Str(other["key"]), nil).Want(t, 200)
	a.Do(t, "DELETE", "/api/v1/teams/acme/api-keys/"+pk.ID, apptest.Str(other["key"]), nil).Want(t, 200)
	stream.WantClose(protocol.CloseInvalidKey)
	w.WantClose(protocol.CloseInvalidKey)
	if d := time.Since(start); d > time.Second {
		t.Errorf("B's sockets closed %v after the revocations on A, want within 1s", d)
	}
}
