package apptest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Hook is one webhook request a Receiver got.
type Hook struct {
	Header http.Header
	Body   []byte
	At     time.Time
	// Event is the decoded body.
	Event map[string]any
}

// Type is the event's type; ID its id.
func (h Hook) Type() string { return Str(h.Event["type"]) }

// ID is the event's id.
func (h Hook) ID() string { return Str(h.Event["id"]) }

// Data is the event's data object.
func (h Hook) Data() map[string]any {
	d, _ := h.Event["data"].(map[string]any)
	return d
}

// Reply decides a Receiver's answer to its n-th request (from 0): a status,
// a body and how long to wait before answering.
type Reply func(n int, h Hook) (status int, body string, delay time.Duration)

// Receiver is a site's webhook endpoint: a real HTTP server on loopback that
// keeps every request and answers as told (200 by default).
type Receiver struct {
	URL string
	srv *httptest.Server

	mu      sync.Mutex
	got     []Hook
	reply   Reply
	changed chan struct{}
}

// NewReceiver starts a receiver that stops when the test ends.
func NewReceiver(t testing.TB) *Receiver {
	t.Helper()
	r := &Receiver{changed: make(chan struct{})}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL = r.srv.URL + "/hooks"
	t.Cleanup(r.Close)
	return r
}

// Close stops the receiver: later deliveries fail to connect.
func (r *Receiver) Close() {
	r.srv.CloseClientConnections()
	r.srv.Close()
}

// Answer sets how the receiver answers from now on.
func (r *Receiver) Answer(f Reply) {
	r.mu.Lock()
	r.reply = f
	r.mu.Unlock()
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	h := Hook{Header: req.Header.Clone(), Body: body, At: time.Now()}
	json.Unmarshal(body, &h.Event)
	r.mu.Lock()
	n := len(r.got)
	r.got = append(r.got, h)
	reply := r.reply
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	status, text, delay := http.StatusOK, "ok", time.Duration(0)
	if reply != nil {
		status, text, delay = reply(n, h)
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return
		}
	}
	w.WriteHeader(status)
	io.WriteString(w, text)
}

// Hooks returns every request so far.
func (r *Receiver) Hooks() []Hook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Hook(nil), r.got...)
}

// Wait returns the requests once ok holds for them, failing the test after
// Wait (or d, when longer).
func (r *Receiver) Wait(t testing.TB, d time.Duration, what string, ok func([]Hook) bool) []Hook {
	t.Helper()
	deadline := time.After(max(d, Wait))
	for {
		r.mu.Lock()
		got, ch := append([]Hook(nil), r.got...), r.changed
		r.mu.Unlock()
		if ok(got) {
			return got
		}
		select {
		case <-ch:
		case <-deadline:
			types := make([]string, len(got))
			for i, h := range got {
				types[i] = h.Type()
			}
			t.Fatalf("webhook receiver: got %d requests %v, want %s", len(got), types, what)
			return nil
		}
	}
}

// WaitN waits for at least n requests.
func (r *Receiver) WaitN(t testing.TB, n int) []Hook {
	t.Helper()
	return r.Wait(t, 0, "at least "+strconv.Itoa(n), func(hs []Hook) bool { return len(hs) >= n })
}
