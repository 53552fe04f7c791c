package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/gorilla/websocket"

	"github.com/cstar-chat/cstar/server/app"
	"github.com/cstar-chat/cstar/server/config"
	"github.com/cstar-chat/cstar/server/internal/socket"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// node is one server process of a cluster sharing a database.
type node struct {
	t *testing.T
	a *app.App
}

func startNode(t *testing.T, dbURL string) *node {
	t.Helper()
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DatabaseURL = dbURL
	p := argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	a, err := app.Open(context.Background(), cfg, app.Options{PasswordParams: &p, ChatTimings: socket.Timings{
		Ping: time.Second, PongWait: 10 * time.Second, WriteWait: 5 * time.Second, ResumeWait: 5 * time.Second, QueueLen: 256}})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	a.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Close(ctx)
	})
	return &node{t: t, a: a}
}

// call sends a JSON request and returns the status and the envelope's data.
func (n *node) call(method, path, key string, body any, hdr ...string) (int, map[string]any) {
	n.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, n.a.URL()+path, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	raw, _ := io.ReadAll(res.Body)
	json.Unmarshal(raw, &env)
	var data map[string]any
	json.Unmarshal(env.Data, &data)
	if data == nil {
		data = map[string]any{"raw": string(raw)}
	}
	return res.StatusCode, data
}

// wsClient is a websocket whose frames are read in the background.
type wsClient struct {
	t      *testing.T
	c      *websocket.Conn
	frames chan map[string]any
	closed chan int
}

func (n *node) dial(path string, hdr ...string) *wsClient {
	n.t.Helper()
	h := http.Header{}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	c, res, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(n.a.URL(), "http")+path, h)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		n.t.Fatalf("dial %s: %v (status %d)", path, err, status)
	}
	n.t.Cleanup(func() { c.Close() })
	s := &wsClient{t: n.t, c: c, frames: make(chan map[string]any, 1024), closed: make(chan int, 1)}
	go func() {
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				code := 1006
				if ce, ok := err.(*websocket.CloseError); ok {
					code = ce.Code
				}
				s.closed <- code
				close(s.frames)
				return
			}
			var m map[string]any
			json.Unmarshal(data, &m)
			s.frames <- m
		}
	}()
	return s
}

// waitFor returns the next frame of type typ, failing after 10 s.
func (s *wsClient) waitFor(typ string) map[string]any {
	s.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-s.frames:
			if !ok {
				s.t.Fatalf("closed (%d) while waiting for %q", <-s.closed, typ)
			}
			if f["type"] == typ {
				return f
			}
		case <-deadline:
			s.t.Fatalf("no %q frame within 10s", typ)
		}
	}
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
		team, err := a.a.Teams().Create(context.Background(), "Acme", "acme")
		if err != nil {
			t.Fatal(err)
		}
		sk, pk := team.Keys["sk_live"].Secret, team.Keys["pk_live"].Secret
		tp := "/api/v1/teams/" + team.ID

		status, d := a.call("POST", "/api/widget/v1/signup", pk, map[string]any{"email": "ann@example.com", "name": "Ann", "password": "correct horse battery"})
		if status != 201 {
			t.Fatalf("signup: got %d %v", status, d)
		}
		tok := d["session"].(map[string]any)["token"].(string)

		stream := b.dial(tp+"/realtime", "Authorization", "Bearer "+sk)
		stream.waitFor(protocol.EventReady)
		w := a.dial(protocol.ChatPath + "?v=1&key=" + pk)
		w.c.WriteJSON(map[string]any{"type": "resume", "session": tok})
		w.waitFor(protocol.FrameReady)

		// Customer on A → stream on B.
		w.c.WriteJSON(map[string]any{"type": "send", "client_id": "c1", "body": "Hello from A"})
		ack := msgOf(w.waitFor(protocol.FrameAck))
		tid := ack["ticket_id"].(string)
		ev := stream.waitFor(protocol.EventMessageCreated)
		if msgOf(ev)["id"] != ack["id"] {
			t.Fatalf("B's stream: got %v, want A's customer message %v", ev, ack["id"])
		}

		// Agent on B → widget on A, promptly.
		start := time.Now()
		status, posted := b.call("POST", tp+"/tickets/"+tid+"/messages", sk, map[string]any{"body": "Hi from B", "author_name": "Bob"})
		if status != 201 {
			t.Fatalf("post on B: got %d %v", status, posted)
		}
		f := w.waitFor(protocol.FrameMessage)
		if msgOf(f)["id"] != posted["id"] || numOf(msgOf(f)["seq"]) != 2 {
			t.Fatalf("A's widget: got %v, want B's message at seq 2", f)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("B's message took %v to reach A", d)
		}

		// Ephemeral events cross as well.
		b.call("POST", tp+"/tickets/"+tid+"/typing", sk, map[string]any{"typing": true, "author_name": "Bob"})
		if f := w.waitFor(protocol.FrameTyping); f["ticket_id"] != tid {
			t.Errorf("A's widget typing: got %v", f)
		}
		w.c.WriteJSON(map[string]any{"type": "typing", "typing": true})
		if ev := stream.waitFor(protocol.EventTyping); ev["ticket_id"] != tid {
			t.Errorf("B's stream typing: got %v", ev)
		}

		// Both processes post at once: one gap-free numbering.
		const each = 15
		var wg sync.WaitGroup
		for i, n := range []*node{a, b, a, b} {
			wg.Go(func() {
				for j := range each {
					if st, d := n.call("POST", tp+"/tickets/"+tid+"/messages", sk,
						map[string]any{"body": fmt.Sprintf("w%d-%d", i, j), "author_name": "Agent"}); st != 201 {
						t.Errorf("concurrent post: got %d %v", st, d)
					}
				}
			})
		}
		wg.Wait()
		const total = 2 + 4*each
		var got []int64
		for after := int64(0); ; {
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s%s/tickets/%s/messages?after_seq=%d&limit=200", b.a.URL(), tp, tid, after), nil)
			req.Header.Set("Authorization", "Bearer "+sk)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var page struct {
				Data []struct {
					Seq int64 `json:"seq"`
				} `json:"data"`
			}
			json.NewDecoder(res.Body).Decode(&page)
			res.Body.Close()
			if len(page.Data) == 0 {
				break
			}
			for _, m := range page.Data {
				got = append(got, m.Seq)
				after = m.Seq
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
			widgetSeqs = append(widgetSeqs, numOf(msgOf(w.waitFor(protocol.FrameMessage))["seq"]))
		}
		if !slices.Equal(widgetSeqs, want[2:]) {
			t.Errorf("A's widget: got seqs %v, want 3..%d", widgetSeqs, total)
		}
		for len(streamPos) < 4*each {
			streamPos = append(streamPos, numOf(stream.waitFor(protocol.EventMessageCreated)["pos"]))
		}
		for i := 1; i < len(streamPos); i++ {
			if streamPos[i] != streamPos[i-1]+1 {
				t.Fatalf("B's stream positions: got %v, want consecutive", streamPos)
			}
		}

		// Logging out through B closes the socket on A.
		if st, d := b.call("POST", "/api/widget/v1/logout", pk, nil, protocol.SessionHeader, tok); st != 200 {
			t.Fatalf("logout on B: got %d %v", st, d)
		}
		select {
		case code := <-w.closed:
			if code != protocol.CloseSessionInvalid {
				t.Fatalf("A's widget: got close %d, want %d", code, protocol.CloseSessionInvalid)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("A's widget still open 10s after the logout on B")
		}
	})
}
