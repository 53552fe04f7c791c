package main

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

type socketEvent struct {
	event string
	frame map[string]any
	code  int
}

// The native socket reports as the loader's does: open, each frame, then
// one close with the server's code; a frame sent is a JSON object.
func TestSocketReportsLikeTheBrowser(t *testing.T) {
	echo := make(chan map[string]any, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		var f map[string]any
		if err := c.ReadJSON(&f); err != nil {
			return
		}
		echo <- f
		c.WriteJSON(map[string]any{"type": "ready", "n": 1})
		c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4000, "restart"))
		time.Sleep(100 * time.Millisecond)
	}))
	defer srv.Close()

	events := make(chan socketEvent, 8)
	dial := dialer(&websocket.Dialer{HandshakeTimeout: time.Second})
	s := dial("ws"+strings.TrimPrefix(srv.URL, "http"), func(e string, f map[string]any, code int) {
		events <- socketEvent{e, f, code}
	})
	next := func() socketEvent {
		select {
		case e := <-events:
			return e
		case <-time.After(5 * time.Second):
			t.Fatal("no event in 5 s")
			return socketEvent{}
		}
	}
	if e := next(); e.event != "open" {
		t.Fatalf("first event: got %q, want open", e.event)
	}
	s.Send(map[string]any{"type": "resume", "session": "cs_x"})
	if f := <-echo; f["type"] != "resume" || f["session"] != "cs_x" {
		t.Errorf("the server read %v, want the resume frame", f)
	}
	if e := next(); e.event != "frame" || e.frame["type"] != "ready" || e.frame["n"] != float64(1) {
		t.Errorf("second event: got %+v, want the ready frame with n a float64", e)
	}
	if e := next(); e.event != "close" || e.code != 4000 {
		t.Errorf("third event: got %+v, want close 4000", e)
	}
}

// After Close, as after the loader's close(), nothing more is reported.
func TestSocketCloseSilences(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	events := make(chan socketEvent, 8)
	s := dialer(&websocket.Dialer{})("ws"+strings.TrimPrefix(srv.URL, "http"), func(e string, f map[string]any, code int) {
		events <- socketEvent{e, f, code}
	})
	if e := <-events; e.event != "open" {
		t.Fatalf("first event: got %q, want open", e.event)
	}
	s.Close()
	s.Send(map[string]any{"type": "typing"}) // dropped, as on a closed WebSocket
	select {
	case e := <-events:
		t.Errorf("after Close: got %+v, want nothing", e)
	case <-time.After(300 * time.Millisecond):
	}
}

// A refused connection is a close with 1006, as a browser reports it.
func TestSocketRefused(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan socketEvent, 1)
	dialer(&websocket.Dialer{})("ws://127.0.0.1:"+strconv.Itoa(port), func(e string, f map[string]any, code int) {
		events <- socketEvent{e, f, code}
	})
	if e := <-events; e.event != "close" || e.code != 1006 {
		t.Errorf("got %+v, want close 1006", e)
	}
}

// The storage hands out copies, as localStorage does.
func TestStorageCopies(t *testing.T) {
	var s jsonStorage
	v := map[string]any{"items": []any{map[string]any{"client_id": "a"}}}
	s.Save("k", v)
	v["items"] = nil
	got, ok := s.Load("k")
	if !ok || len(got["items"].([]any)) != 1 {
		t.Errorf("got %v, %v; want the saved copy with one item", got, ok)
	}
	if n := outboxLen(&s, "k"); n != 1 {
		t.Errorf("outboxLen: got %d, want 1", n)
	}
	s.Delete("k")
	if _, ok := s.Load("k"); ok {
		t.Error("Load after Delete: got a value, want none")
	}
}
