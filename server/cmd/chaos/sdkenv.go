package main

// The native surroundings of the SDK core (wasm/sdk), standing in for what
// wasm/jsbridge gives it in a browser: a websocket that reports its events
// asynchronously and never blocks a send, fetch, setTimeout and
// localStorage. They follow the browser's behaviour where the core could
// tell the difference.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/cstar-chat/cstar/wasm/sdk"
	"github.com/gorilla/websocket"
)

// wsSocket is an sdk.Socket on gorilla/websocket. Like a browser's
// WebSocket, Send queues (a send on a closed socket is dropped) and Close
// silences the socket: no event follows it.
type wsSocket struct {
	on func(event string, frame map[string]any, code int)

	mu     sync.Mutex
	conn   *websocket.Conn
	queue  []map[string]any
	wake   chan struct{}
	closed bool // by the SDK: nothing is reported any more
	dead   bool // the connection failed or closed
}

// dialer returns the sdk.Dialer: it connects in the background, then
// reports open, every frame and one close, from one goroutine.
func dialer(d *websocket.Dialer) sdk.Dialer {
	return func(url string, on func(string, map[string]any, int)) sdk.Socket {
		s := &wsSocket{on: on, wake: make(chan struct{}, 1)}
		go s.run(d, url)
		return s
	}
}

func (s *wsSocket) run(d *websocket.Dialer, url string) {
	conn, _, err := d.Dial(url, nil)
	if err != nil {
		s.report("close", nil, 1006) // a browser says 1006 for a failed handshake
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Close()
		return
	}
	s.conn = conn
	s.mu.Unlock()
	conn.SetReadLimit(1 << 20)
	s.report("open", nil, 0)
	go s.write(conn)
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			code := 1006
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				code = ce.Code
			}
			s.mu.Lock()
			s.dead = true // the writer stops too
			s.mu.Unlock()
			s.signal()
			conn.Close()
			s.report("close", nil, code)
			return
		}
		var f map[string]any
		if json.Unmarshal(data, &f) != nil {
			continue // as the loader: a frame that is not JSON is skipped
		}
		s.report("frame", f, 0)
	}
}

// report calls the SDK unless it has closed this socket meanwhile.
func (s *wsSocket) report(event string, f map[string]any, code int) {
	s.mu.Lock()
	silenced := s.closed
	s.mu.Unlock()
	if !silenced {
		s.on(event, f, code)
	}
}

func (s *wsSocket) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// write is the one goroutine that writes to the connection.
func (s *wsSocket) write(conn *websocket.Conn) {
	for {
		s.mu.Lock()
		q, closed := s.queue, s.closed || s.dead
		s.queue = nil
		s.mu.Unlock()
		for _, f := range q {
			conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := conn.WriteJSON(f); err != nil {
				conn.Close() // the reader reports the close
				return
			}
		}
		if closed {
			return
		}
		<-s.wake
	}
}

// Send implements sdk.Socket.
func (s *wsSocket) Send(frame map[string]any) {
	s.mu.Lock()
	if !s.closed && !s.dead {
		s.queue = append(s.queue, frame)
	}
	s.mu.Unlock()
	s.signal()
}

// Close implements sdk.Socket: a normal close (1000), in the background as
// a browser does it.
func (s *wsSocket) Close() {
	s.mu.Lock()
	conn, was := s.conn, s.closed || s.dead
	s.closed = true
	s.mu.Unlock()
	s.signal()
	if conn != nil && !was {
		go func() {
			conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""), time.Now().Add(time.Second))
			conn.Close()
		}()
	}
}

// httpTransport is the sdk.Transport of fetch: JSON bodies, any HTTP answer
// is a Response, and a body that is not JSON still yields the status.
type httpTransport struct{ hc *http.Client }

// Do implements sdk.Transport.
func (t httpTransport) Do(r sdk.Request) (sdk.Response, error) {
	var body io.Reader
	if r.Body != nil {
		b, err := json.Marshal(r.Body)
		if err != nil {
			return sdk.Response{}, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(r.Method, r.Path, body)
	if err != nil {
		return sdk.Response{}, err
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	if r.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := t.hc.Do(req)
	if err != nil {
		return sdk.Response{}, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return sdk.Response{}, err
	}
	m := map[string]any{}
	json.Unmarshal(data, &m)
	if m == nil {
		m = map[string]any{}
	}
	return sdk.Response{Status: res.StatusCode, Body: m}, nil
}

// clock is the sdk.Clock of the browser: Date.now and setTimeout.
type clock struct{}

func (clock) Now() int64 { return time.Now().UnixMilli() }

func (clock) AfterFunc(ms int64, f func()) func() {
	t := time.AfterFunc(time.Duration(ms)*time.Millisecond, f)
	return func() { t.Stop() }
}

// jsonStorage is localStorage in memory: values are stored as JSON text, so
// that what the SDK loads is a copy of what it saved, as in a browser.
type jsonStorage struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *jsonStorage) Load(key string) (map[string]any, bool) {
	s.mu.Lock()
	data, ok := s.m[key]
	s.mu.Unlock()
	if !ok {
		return nil, false
	}
	var v map[string]any
	if json.Unmarshal(data, &v) != nil || v == nil {
		return nil, false
	}
	return v, true
}

func (s *jsonStorage) Save(key string, v map[string]any) {
	data, err := json.Marshal(v)
	if err != nil {
		return // localStorage.setItem would throw; the bridge falls back, we drop
	}
	s.mu.Lock()
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[key] = data
	s.mu.Unlock()
}

func (s *jsonStorage) Delete(key string) {
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
}

// outboxLen is how many entries the SDK's outbox holds in s.
func outboxLen(s *jsonStorage, key string) int {
	v, ok := s.Load(key)
	if !ok {
		return 0
	}
	items, _ := v["items"].([]any)
	return len(items)
}
