package apptest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cstar-chat/cstar/server/protocol"
)

// WS is one websocket whose frames are read in the background, decoded as
// JSON objects.
type WS struct {
	t      testing.TB
	Conn   *websocket.Conn
	frames chan map[string]any
	// closed receives the close code (or 1006 for a dropped connection).
	closed chan int
}

// WSURL is the ws:// URL of path on the server.
func (s *Server) WSURL(path string) string {
	return "ws" + strings.TrimPrefix(s.URL, "http") + path
}

// DialRaw opens a websocket and leaves the reading to the caller; hdr holds
// extra request headers (name, value). It is closed when the test ends.
func (s *Server) DialRaw(t testing.TB, path string, hdr ...string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	h := http.Header{}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	c, res, err := websocket.DefaultDialer.Dial(s.WSURL(path), h)
	if err != nil {
		return nil, res, err
	}
	t.Cleanup(func() { c.Close() })
	return c, res, nil
}

// DialWS opens a websocket whose frames are read in the background.
func (s *Server) DialWS(t testing.TB, path string, hdr ...string) (*WS, *http.Response, error) {
	t.Helper()
	c, res, err := s.DialRaw(t, path, hdr...)
	if err != nil {
		return nil, res, err
	}
	return ReadFrames(t, c), res, nil
}

// ReadFrames reads c's frames in the background.
func ReadFrames(t testing.TB, c *websocket.Conn) *WS {
	w := &WS{t: t, Conn: c, frames: make(chan map[string]any, 4096), closed: make(chan int, 1)}
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

// Status is the status of a refused handshake's response (0 when none).
func Status(res *http.Response) int {
	if res == nil {
		return 0
	}
	return res.StatusCode
}

// WidgetPath is the widget channel's URL with key.
func WidgetPath(key string) string { return protocol.ChatPath + "?v=1&key=" + key }

// WidgetWS opens the widget channel with key and sends a resume frame with
// the session and the positions held.
func (s *Server) WidgetWS(t testing.TB, key, session string, held map[string]int64, hdr ...string) *WS {
	t.Helper()
	w, res, err := s.DialWS(t, WidgetPath(key), hdr...)
	if err != nil {
		t.Fatalf("dial the widget channel: %v (status %d)", err, Status(res))
	}
	w.Send(map[string]any{"type": "resume", "session": session, "tickets": held})
	return w
}

// WidgetReady is WidgetWS up to the ready frame; it returns the frames
// replayed before it and the ready frame.
func (s *Server) WidgetReady(t testing.TB, key, session string, held map[string]int64, hdr ...string) (*WS, []map[string]any, map[string]any) {
	t.Helper()
	w := s.WidgetWS(t, key, session, held, hdr...)
	replay, ready := w.until(protocol.FrameReady)
	return w, replay, ready
}

// Stream opens the agents' stream of the test team with a secret key;
// query is "" or e.g. "?after=3". It returns the frames before ready and
// the ready frame.
func (s *Server) Stream(t testing.TB, key, query string) (*WS, []map[string]any, map[string]any) {
	t.Helper()
	w, res, err := s.DialWS(t, s.Path("/realtime"+query), "Authorization", "Bearer "+key)
	if err != nil {
		t.Fatalf("dial the stream: %v (status %d)", err, Status(res))
	}
	replay, ready := w.until(protocol.EventReady)
	return w, replay, ready
}

// until returns the frames before the first of type typ, and that frame.
func (w *WS) until(typ string) ([]map[string]any, map[string]any) {
	w.t.Helper()
	var before []map[string]any
	for {
		f := w.Next(Wait)
		if f["type"] == typ {
			return before, f
		}
		before = append(before, f)
	}
}

// Send writes v as a JSON frame.
func (w *WS) Send(v any) {
	w.t.Helper()
	if err := w.Conn.WriteJSON(v); err != nil {
		w.t.Fatalf("write frame: %v", err)
	}
}

// SendMsg sends a widget's message frame.
func (w *WS) SendMsg(clientID, body string) {
	w.t.Helper()
	w.Send(map[string]any{"type": "send", "client_id": clientID, "body": body})
}

// Next returns the next frame, failing after timeout.
func (w *WS) Next(timeout time.Duration) map[string]any {
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

// WaitFor skips frames until one of type typ arrives and returns it.
func (w *WS) WaitFor(typ string) map[string]any {
	w.t.Helper()
	return w.WaitUntil(typ, func(map[string]any) bool { return true })
}

// WaitUntil skips frames until one of type typ satisfies ok. Durable events
// reach a widget in order but, on PostgreSQL, after the request that caused
// them has returned, so a test that wants the effect of its last request
// waits for that state rather than for the next frame.
func (w *WS) WaitUntil(typ string, ok func(map[string]any) bool) map[string]any {
	w.t.Helper()
	deadline := time.After(Wait)
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
			w.t.Fatalf("no matching %q frame within %v", typ, Wait)
		}
	}
}

// Collect returns the next n frames of type typ, skipping others.
func (w *WS) Collect(typ string, n int) []map[string]any {
	w.t.Helper()
	out := make([]map[string]any, 0, n)
	for len(out) < n {
		out = append(out, w.WaitFor(typ))
	}
	return out
}

// CloseCode waits for the connection to close and returns the code,
// skipping the frames before it.
func (w *WS) CloseCode() int {
	w.t.Helper()
	deadline := time.After(Wait)
	for {
		select {
		case code := <-w.closed:
			return code
		case _, ok := <-w.frames:
			if !ok {
				return <-w.closed
			}
		case <-deadline:
			w.t.Fatalf("connection still open after %v", Wait)
			return 0
		}
	}
}

// WantClose fails unless the connection closes with code.
func (w *WS) WantClose(code int) {
	w.t.Helper()
	if got := w.CloseCode(); got != code {
		w.t.Fatalf("close code: got %d, want %d", got, code)
	}
}

// Frames is the channel of decoded frames, closed with the connection, for
// tests that select on it themselves.
func (w *WS) Frames() <-chan map[string]any { return w.frames }
