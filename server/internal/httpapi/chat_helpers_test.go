package httpapi_test

// Helpers of the live-chat tests: a websocket client of the widget channel
// and of the agents' stream that decodes frames and waits for them.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cstar-chat/cstar/server/protocol"
)

// wsClient is one websocket with its frames read in the background.
type wsClient struct {
	t      testing.TB
	c      *websocket.Conn
	frames chan map[string]any
	// closed receives the close code (or 1006 for a dropped connection).
	closed chan int
}

func (s *testServer) wsURL(path string) string { return "ws" + strings.TrimPrefix(s.URL, "http") + path }

// dialWS opens a websocket; hdr holds extra request headers (name, value).
func (s *testServer) dialWS(t testing.TB, path string, hdr ...string) (*wsClient, *http.Response, error) {
	t.Helper()
	h := http.Header{}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	c, res, err := websocket.DefaultDialer.Dial(s.wsURL(path), h)
	if err != nil {
		return nil, res, err
	}
	w := &wsClient{t: t, c: c, frames: make(chan map[string]any, 1024), closed: make(chan int, 1)}
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
				t.Errorf("frame is not a JSON object: %q", data)
				continue
			}
			w.frames <- m
		}
	}()
	t.Cleanup(func() { c.Close() })
	return w, res, nil
}

// widgetWS opens the widget channel with key and sends a resume frame with
// the session and the positions held.
func (s *testServer) widgetWS(t testing.TB, key, session string, held map[string]int64, hdr ...string) *wsClient {
	t.Helper()
	w, res, err := s.dialWS(t, protocol.ChatPath+"?v=1&key="+key, hdr...)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("dial the widget channel: %v (status %d)", err, status)
	}
	w.send(map[string]any{"type": "resume", "session": session, "tickets": held})
	return w
}

func (w *wsClient) send(v any) {
	w.t.Helper()
	if err := w.c.WriteJSON(v); err != nil {
		w.t.Fatalf("write frame: %v", err)
	}
}

// next returns the next frame, failing after timeout.
func (w *wsClient) next(timeout time.Duration) map[string]any {
	w.t.Helper()
	select {
	case f, ok := <-w.frames:
		if !ok {
			w.t.Fatalf("connection closed while waiting for a frame")
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
	deadline := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-w.frames:
			if !ok {
				w.t.Fatalf("connection closed while waiting for a %q frame", typ)
			}
			if f["type"] == typ {
				return f
			}
		case <-deadline:
			w.t.Fatalf("no %q frame within 10s", typ)
		}
	}
}

// quiet fails if a frame of type typ arrives within d.
func (w *wsClient) quiet(typ string, d time.Duration) {
	w.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f, ok := <-w.frames:
			if !ok {
				return
			}
			if f["type"] == typ {
				w.t.Fatalf("unexpected %q frame: %v", typ, f)
			}
		case <-deadline:
			return
		}
	}
}

// closeCode waits for the connection to close and returns the code.
func (w *wsClient) closeCode() int {
	w.t.Helper()
	for {
		select {
		case code := <-w.closed:
			return code
		case _, ok := <-w.frames:
			if !ok {
				return <-w.closed
			}
		case <-time.After(10 * time.Second):
			w.t.Fatalf("connection still open after 10s")
			return 0
		}
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
