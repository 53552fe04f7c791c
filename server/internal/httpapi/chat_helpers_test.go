package httpapi_test

// Helpers of the live-chat tests: a server with short websocket timings, a
// websocket client of the widget channel and of the agents' stream that
// decodes frames and waits for them, and small REST shortcuts.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cstar-chat/cstar/server/app"
	"github.com/cstar-chat/cstar/server/config"
	"github.com/cstar-chat/cstar/server/internal/socket"
	"github.com/cstar-chat/cstar/server/protocol"
)

// wait bounds every wait for a frame or a close: generous, since the race
// detector on two cores is slow, and never slept through when things work.
const wait = 10 * time.Second

// chatTimings keep the heartbeat well inside a test's time: pings every
// 200 ms, so a test that waits sees them, and a resume within a second.
var chatTimings = socket.Timings{Ping: 200 * time.Millisecond, PongWait: 5 * time.Second,
	WriteWait: 5 * time.Second, ResumeWait: time.Second, QueueLen: 64}

// newChatServer is newTestServer with the given websocket timings.
func newChatServer(t *testing.T, dbURL string, tm socket.Timings, opts ...func(*config.Config)) *testServer {
	t.Helper()
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DatabaseURL = dbURL
	cfg.SecretLimit = 100000
	cfg.PublishableLimit = 100000
	cfg.LibraryLimit = 100000
	cfg.InvalidKeyLimit = 100000
	for _, o := range opts {
		o(&cfg)
	}
	clk := &fakeClock{}
	p := cheapPassword
	a, err := app.Open(context.Background(), cfg, app.Options{Now: clk.Now, PasswordParams: &p, ChatTimings: tm})
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	a.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Close(ctx); err != nil {
			t.Errorf("close app: %v", err)
		}
	})
	dialect := "sqlite"
	if strings.HasPrefix(dbURL, "postgres") {
		dialect = "postgres"
	}
	s := &testServer{App: a, URL: a.URL(), Clock: clk, Dialect: dialect, client: &http.Client{Timeout: 20 * time.Second}}
	t.Cleanup(s.client.CloseIdleConnections)
	s.Team = s.createTeam(t, "Acme", uniqueSlug("acme"))
	s.SKLive = s.Team.Keys["sk_live"].Secret
	s.SKTest = s.Team.Keys["sk_test"].Secret
	s.PKLive = s.Team.Keys["pk_live"].Secret
	s.PKTest = s.Team.Keys["pk_test"].Secret
	return s
}

// wsClient is one websocket with its frames read in the background.
type wsClient struct {
	t      testing.TB
	c      *websocket.Conn
	frames chan map[string]any
	// closed receives the close code (or 1006 for a dropped connection).
	closed chan int
}

func (s *testServer) wsURL(path string) string {
	return "ws" + strings.TrimPrefix(s.URL, "http") + path
}

// dialRaw opens a websocket and leaves the reading to the caller; hdr holds
// extra request headers (name, value).
func (s *testServer) dialRaw(t testing.TB, path string, hdr ...string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	h := http.Header{}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	c, res, err := websocket.DefaultDialer.Dial(s.wsURL(path), h)
	if err != nil {
		return nil, res, err
	}
	t.Cleanup(func() { c.Close() })
	return c, res, nil
}

// dialWS opens a websocket whose frames are read in the background.
func (s *testServer) dialWS(t testing.TB, path string, hdr ...string) (*wsClient, *http.Response, error) {
	t.Helper()
	c, res, err := s.dialRaw(t, path, hdr...)
	if err != nil {
		return nil, res, err
	}
	return readFrames(t, c), res, nil
}

func readFrames(t testing.TB, c *websocket.Conn) *wsClient {
	w := &wsClient{t: t, c: c, frames: make(chan map[string]any, 4096), closed: make(chan int, 1)}
	go func() {
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				code := 1006
				if ce, ok := err.(*websocket.CloseError); ok {
					code = ce.Code
				}
				w.closed <- code
				close(w.frames)
				return
			}
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				m = map[string]any{"type": "not json", "raw": string(data)}
			}
			w.frames <- m
		}
	}()
	return w
}

// code is the status of a refused handshake's response (0 when none).
func code(res *http.Response) int {
	if res == nil {
		return 0
	}
	return res.StatusCode
}

// widgetPath is the widget channel's URL with key.
func widgetPath(key string) string { return protocol.ChatPath + "?v=1&key=" + key }

// widgetWS opens the widget channel with key and sends a resume frame with
// the session and the positions held.
func (s *testServer) widgetWS(t testing.TB, key, session string, held map[string]int64, hdr ...string) *wsClient {
	t.Helper()
	w, res, err := s.dialWS(t, widgetPath(key), hdr...)
	if err != nil {
		t.Fatalf("dial the widget channel: %v (status %d)", err, code(res))
	}
	w.send(map[string]any{"type": "resume", "session": session, "tickets": held})
	return w
}

// widgetReady is widgetWS up to the ready frame; it returns the frames
// replayed before it and the ready frame.
func (s *testServer) widgetReady(t testing.TB, key, session string, held map[string]int64, hdr ...string) (*wsClient, []map[string]any, map[string]any) {
	t.Helper()
	w := s.widgetWS(t, key, session, held, hdr...)
	var replay []map[string]any
	for {
		f := w.next(wait)
		if f["type"] == protocol.FrameReady {
			return w, replay, f
		}
		replay = append(replay, f)
	}
}

// stream opens the agents' stream of the test team with a secret key;
// query is "" or e.g. "?after=3". It returns the frames before ready and
// the ready frame.
func (s *testServer) stream(t testing.TB, key, query string) (*wsClient, []map[string]any, map[string]any) {
	t.Helper()
	w, res, err := s.dialWS(t, s.path("/realtime"+query), "Authorization", "Bearer "+key)
	if err != nil {
		t.Fatalf("dial the stream: %v (status %d)", err, code(res))
	}
	var replay []map[string]any
	for {
		f := w.next(wait)
		if f["type"] == protocol.EventReady {
			return w, replay, f
		}
		replay = append(replay, f)
	}
}

func (w *wsClient) send(v any) {
	w.t.Helper()
	if err := w.c.WriteJSON(v); err != nil {
		w.t.Fatalf("write frame: %v", err)
	}
}

// sendMsg sends a message frame.
func (w *wsClient) sendMsg(clientID, body string) {
	w.t.Helper()
	w.send(map[string]any{"type": "send", "client_id": clientID, "body": body})
}

// next returns the next frame, failing after timeout.
func (w *wsClient) next(timeout time.Duration) map[string]any {
	w.t.Helper()
	select {
	case f, ok := <-w.frames:
		if !ok {
			w.t.Fatalf("connection closed (code %d) while waiting for a frame", <-w.closed)
		}
		return f
	case <-time.After(timeout):
		w.t.Fatalf("no frame within %v", timeout)
	}
	return nil
}

// waitFor skips frames until one of type typ arrives and returns it.
func (w *wsClient) waitFor(typ string) map[string]any {
	w.t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case f, ok := <-w.frames:
			if !ok {
				w.t.Fatalf("connection closed (code %d) while waiting for a %q frame", <-w.closed, typ)
			}
			if f["type"] == typ {
				return f
			}
		case <-deadline:
			w.t.Fatalf("no %q frame within %v", typ, wait)
		}
	}
}

// waitUntil skips frames until one of type typ satisfies ok. Durable
// events reach a widget in order but, on PostgreSQL, after the request that
// caused them has returned, so a test that wants the effect of its last
// request waits for that state rather than for the next frame.
func (w *wsClient) waitUntil(typ string, ok func(map[string]any) bool) map[string]any {
	w.t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case f, open := <-w.frames:
			if !open {
				w.t.Fatalf("connection closed (code %d) while waiting for a %q frame", <-w.closed, typ)
			}
			if f["type"] == typ && ok(f) {
				return f
			}
		case <-deadline:
			w.t.Fatalf("no matching %q frame within %v", typ, wait)
		}
	}
}

// ticketStatus matches ticket frames and ticket events of a status.
func ticketStatus(status string) func(map[string]any) bool {
	return func(f map[string]any) bool {
		tk, _ := f["ticket"].(map[string]any)
		return tk["status"] == status
	}
}

// collect returns the next n frames of type typ, skipping others.
func (w *wsClient) collect(typ string, n int) []map[string]any {
	w.t.Helper()
	out := make([]map[string]any, 0, n)
	for len(out) < n {
		out = append(out, w.waitFor(typ))
	}
	return out
}

// closeCode waits for the connection to close and returns the code.
func (w *wsClient) closeCode() int {
	w.t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case code := <-w.closed:
			return code
		case _, ok := <-w.frames:
			if !ok {
				return <-w.closed
			}
		case <-deadline:
			w.t.Fatalf("connection still open after %v", wait)
			return 0
		}
	}
}

// wantClose fails unless the connection closes with code.
func (w *wsClient) wantClose(code int) {
	w.t.Helper()
	if got := w.closeCode(); got != code {
		w.t.Fatalf("close code: got %d, want %d", got, code)
	}
}

// msg is the "message" object of a message or ack frame.
func msg(f map[string]any) map[string]any {
	m, _ := f["message"].(map[string]any)
	return m
}

func num(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

// seqs lists the seq of each message or ack frame (or message object).
func seqs(frames []map[string]any) []int64 {
	out := make([]int64, len(frames))
	for i, f := range frames {
		if m := msg(f); m != nil {
			f = m
		}
		out[i] = num(f["seq"])
	}
	return out
}

// span is [from, from+1, …, to].
func span(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// customer signs up a customer with key and returns the session token and id.
func customer(t *testing.T, s *testServer, key, name string) (token, id string) {
	t.Helper()
	return signup(t, s, key, strings.ToLower(name)+"@example.com", name, "correct horse battery")
}

// post is an agent's message through the REST API; it returns the message.
func (s *testServer) post(t testing.TB, key, ticketID, body string) map[string]any {
	t.Helper()
	return s.do(t, "POST", s.path("/tickets/"+ticketID+"/messages"), key,
		map[string]any{"body": body, "author_name": "Bob"}).want(t, 201).data(t)
}

// messages lists a ticket's messages through the REST API, oldest first.
func (s *testServer) messages(t testing.TB, key, ticketID string) []map[string]any {
	t.Helper()
	var out []map[string]any
	after := int64(0)
	for range 100 {
		r := s.do(t, "GET", s.path(fmt.Sprintf("/tickets/%s/messages?after_seq=%d&limit=200", ticketID, after)), key, nil).want(t, 200)
		items := r.items(t)
		out = append(out, items...)
		if len(items) == 0 {
			return out
		}
		after = num(items[len(items)-1]["seq"])
	}
	t.Fatalf("messages of %s: too many pages", ticketID)
	return nil
}

// ticket is a ticket as the REST API renders it.
func (s *testServer) ticket(t testing.TB, key, id string) map[string]any {
	t.Helper()
	return s.do(t, "GET", s.path("/tickets/"+id), key, nil).want(t, 200).data(t)
}

// opened sends a first message on w and returns the id of the ticket it
// opened.
func opened(t testing.TB, w *wsClient, body string) string {
	t.Helper()
	w.sendMsg("first-"+body, body)
	ack := w.waitFor(protocol.FrameAck)
	id := str(msg(ack)["ticket_id"])
	if id == "" {
		t.Fatalf("ack without a ticket id: %v", ack)
	}
	return id
}
