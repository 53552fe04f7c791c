package httpapi_test

import (
	"context"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// TestChatFrameLimits: a frame over 16 KiB closes with 1009; one of exactly
// 16 KiB is read (and refused as a message, the body being too long);
// binary and non-JSON frames close with 4003.
func TestChatFrameLimits(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		tok, _ := customer(t, s, s.PKLive, "Ann")

		frame := func(size int) []byte {
			pre, post := `{"type":"send","client_id":"big","body":"`, `"}`
			return []byte(pre + strings.Repeat("a", size-len(pre)-len(post)) + post)
		}
		w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		if err := w.Conn.WriteMessage(websocket.TextMessage, frame(protocol.MaxFrameBytes)); err != nil {
			t.Fatal(err)
		}
		if f := w.WaitFor(protocol.FrameError); f["code"] != "invalid" || f["client_id"] != "big" {
			t.Fatalf("16 KiB frame: got %v, want an invalid error frame", f)
		}
		if err := w.Conn.WriteMessage(websocket.TextMessage, frame(protocol.MaxFrameBytes+1)); err != nil {
			t.Fatal(err)
		}
		w.WantClose(protocol.CloseMessageTooBig)

		for _, c := range []struct {
			name string
			typ  int
			data string
		}{
			{"binary", websocket.BinaryMessage, `{"type":"typing","typing":true}`},
			{"not JSON", websocket.TextMessage, `hello`},
		} {
			t.Run(c.name, func(t *testing.T) {
				w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
				if err := w.Conn.WriteMessage(c.typ, []byte(c.data)); err != nil {
					t.Fatal(err)
				}
				w.WantClose(protocol.CloseProtocol)
			})
		}
	})
}

// TestChatSendRateLimit: 20 sends per connection in 10 s; the 21st gets a
// rate_limited error frame with a wait, and nothing is stored.
func TestChatSendRateLimit(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		tok, _ := customer(t, s, s.PKLive, "Ann")
		w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		var tid string
		for i := range protocol.SendBurst {
			w.SendMsg("c"+strconv.Itoa(i), "message "+strconv.Itoa(i))
			tid = str(msg(w.WaitFor(protocol.FrameAck))["ticket_id"])
		}
		w.SendMsg("c-over", "one too many")
		f := w.WaitFor(protocol.FrameError)
		if f["code"] != "rate_limited" || f["client_id"] != "c-over" {
			t.Fatalf("21st send: got %v, want rate_limited for c-over", f)
		}
		if ms := num(f["retry_after_ms"]); ms <= 0 || ms > protocol.SendWindowSec*1000 {
			t.Errorf("retry_after_ms: got %d, want 1..%d", ms, protocol.SendWindowSec*1000)
		}
		if got := seqs(s.messages(t, s.SKLive, tid)); !slices.Equal(got, span(1, protocol.SendBurst)) {
			t.Fatalf("stored: got seqs %v, want 1..%d", got, protocol.SendBurst)
		}
		// The limit is the connection's: typing and reads still work.
		w.Send(map[string]any{"type": "read", "ticket_id": tid, "seq": 3})
		if f := w.WaitFor(protocol.FrameRead); num(f["seq"]) != 3 {
			t.Errorf("read after the limit: got %v, want seq 3", f)
		}
	})
}

// TestChatSlowConsumer: a widget that stops reading while many messages
// are published is closed with 4001 (seen once it reads again) and the
// rest go on: the agent's posts return at once and the customer's other
// tab and the agents' stream receive every message, in order.
func TestChatSlowConsumer(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		tm := chatTimings
		tm.QueueLen = 16
		// A post held by the slow socket would show; and the slow client,
		// which answers no ping while it does not read, must not hit the
		// heartbeat first.
		tm.WriteWait, tm.PongWait = 30*time.Second, 30*time.Second
		s := newTestServer(t, dbURL, apptest.Timings(tm))
		tok, _ := customer(t, s, s.PKLive, "Ann")
		w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		tid := opened(t, w, "hello")
		st, _, _ := s.Stream(t, s.SKLive, "")

		// The slow client reads up to ready, then stops. Its receive buffer
		// is small, so the server's writer soon blocks on the socket and
		// the queue behind it fills.
		d := websocket.Dialer{NetDialContext: smallReceiveBuffer}
		slow, _, err := d.Dial(s.WSURL(widgetPath(s.PKLive)), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { slow.Close() })
		slow.WriteJSON(map[string]any{"type": "resume", "session": tok})
		for {
			_, data, err := slow.ReadMessage()
			if err != nil {
				t.Fatalf("slow client before ready: %v", err)
			}
			if strings.Contains(string(data), `"type":"ready"`) {
				break
			}
		}

		// Each message frame carries 4000 '<', which JSON writes as
		// \u003c: 24 KB a frame. Enough of them fill the server's largest
		// send buffer, then the queue.
		body := strings.Repeat("<", 4000)
		n := sendBufferMax()/24000 + tm.QueueLen + 20
		done := make(chan struct{})
		var slowest time.Duration
		go func() {
			defer close(done)
			for range n {
				start := time.Now()
				s.post(t, s.SKLive, tid, body)
				slowest = max(slowest, time.Since(start))
			}
		}()
		// The others receive everything while the posts go on.
		want := span(2, int64(n)+1)
		if got := seqs(w.Collect(protocol.FrameMessage, n)); !slices.Equal(got, want) {
			t.Fatalf("other tab: got seqs %v, want 2..%d", got, n+1)
		}
		var streamSeqs []int64
		for range n {
			streamSeqs = append(streamSeqs, num(msg(st.WaitFor(protocol.EventMessageCreated))["seq"]))
		}
		if !slices.Equal(streamSeqs, want) {
			t.Fatalf("stream: got seqs %v, want 2..%d", streamSeqs, n+1)
		}
		<-done
		if slowest > 5*time.Second {
			t.Errorf("slowest post took %v: publishing must not wait for a slow socket", slowest)
		}

		// Reading again, the slow client finds what was written before the
		// queue overflowed, then the close.
		slow.SetReadDeadline(time.Now().Add(wait))
		frames := 0
		for {
			_, _, err := slow.ReadMessage()
			if err != nil {
				ce, ok := err.(*websocket.CloseError)
				if !ok || ce.Code != protocol.CloseTooSlow {
					t.Fatalf("slow client: got %v after %d frames, want close %d", err, frames, protocol.CloseTooSlow)
				}
				break
			}
			frames++
		}
		if frames >= n {
			t.Errorf("slow client read %d frames, want fewer than the %d published", frames, n)
		}
		// It may reconnect and resume where it stopped.
		_, replay, _ := s.WidgetReady(t, s.PKLive, tok, map[string]int64{tid: int64(frames) + 1})
		if len(replay) == 0 || num(msg(replay[len(replay)-1])["seq"]) != int64(n)+1 {
			t.Errorf("resume after the close: got %d frames, want up to seq %d", len(replay), n+1)
		}
	})
}

// smallReceiveBuffer dials with a small, fixed receive buffer, so that
// what a client does not read backs up into the server.
func smallReceiveBuffer(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	return d.DialContext(ctx, network, addr)
}

// sendBufferMax is the most a socket's send buffer may grow to (Linux's
// tcp_wmem), or 4 MiB when unknown.
func sendBufferMax() int {
	if b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_wmem"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 3 {
			if n, err := strconv.Atoi(f[2]); err == nil {
				return n
			}
		}
	}
	return 4 << 20
}

// TestChatHeartbeat: a client that does not answer pings is closed with
// 4004 after PongWait; one that answers, connected as long, still works.
func TestChatHeartbeat(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		tm := chatTimings
		tm.Ping, tm.PongWait = 50*time.Millisecond, 400*time.Millisecond
		s := newTestServer(t, dbURL, apptest.Timings(tm))
		tok, _ := customer(t, s, s.PKLive, "Ann")
		good, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)

		deaf, _, err := s.DialRaw(t, widgetPath(s.PKLive))
		if err != nil {
			t.Fatal(err)
		}
		pinged := make(chan struct{}, 1)
		deaf.SetPingHandler(func(string) error { // no pong
			select {
			case pinged <- struct{}{}:
			default:
			}
			return nil
		})
		dw := apptest.ReadFrames(t, deaf)
		dw.Send(map[string]any{"type": "resume", "session": tok})
		dw.WaitFor(protocol.FrameReady)
		dw.WantClose(protocol.CloseHeartbeat)
		select {
		case <-pinged:
		default:
			t.Errorf("the server never pinged")
		}
		good.SendMsg("c1", "still here")
		good.WaitFor(protocol.FrameAck)

		// The agents' stream has the same heartbeat.
		sdeaf, _, err := s.DialRaw(t, s.Path("/realtime"), "Authorization", "Bearer "+s.SKLive)
		if err != nil {
			t.Fatal(err)
		}
		sdeaf.SetPingHandler(func(string) error { return nil })
		apptest.ReadFrames(t, sdeaf).WantClose(protocol.CloseHeartbeat)
	})
}

// TestChatShutdown: closing the app closes every socket with 4000, which
// tells clients to reconnect.
func TestChatShutdown(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		tok, _ := customer(t, s, s.PKLive, "Ann")
		w1, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		w2, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		st, _, _ := s.Stream(t, s.SKLive, "")
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		closed := make(chan error, 1)
		go func() { closed <- s.App.Close(ctx) }()
		for name, c := range map[string]*wsClient{"widget": w1, "second widget": w2, "stream": st} {
			if got := c.CloseCode(); got != protocol.CloseRestart {
				t.Errorf("%s: got close %d, want %d", name, got, protocol.CloseRestart)
			}
		}
		if err := <-closed; err != nil {
			t.Fatalf("close: %v", err)
		}
		if wd, sd := s.App.Hub().Counts(); wd+sd != 0 {
			t.Errorf("after close: %d widgets and %d streams left", wd, sd)
		}
	})
}
