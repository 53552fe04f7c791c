package httpapi_test

// Helpers of the live-chat tests: shortcuts over apptest's websocket client
// and small REST calls.

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/protocol"
)

// wait bounds every wait for a frame or a close.
const wait = apptest.Wait

// chatTimings keep the heartbeat well inside a test's time.
var chatTimings = apptest.ChatTimings

// code is the status of a refused handshake's response (0 when none).
func code(res *http.Response) int { return apptest.Status(res) }

// widgetPath is the widget channel's URL with key.
func widgetPath(key string) string { return apptest.WidgetPath(key) }

// ticketStatus matches ticket frames and ticket events of a status.
func ticketStatus(status string) func(map[string]any) bool {
	return func(f map[string]any) bool {
		tk, _ := f["ticket"].(map[string]any)
		return tk["status"] == status
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
	return s.Do(t, "POST", s.Path("/tickets/"+ticketID+"/messages"), key,
		map[string]any{"body": body, "author_name": "Bob"}).Want(t, 201).Data(t)
}

// messages lists a ticket's messages through the REST API, oldest first.
func (s *testServer) messages(t testing.TB, key, ticketID string) []map[string]any {
	t.Helper()
	var out []map[string]any
	after := int64(0)
	for range 100 {
		r := s.Do(t, "GET", s.Path(fmt.Sprintf("/tickets/%s/messages?after_seq=%d&limit=200", ticketID, after)), key, nil).Want(t, 200)
		items := r.Items(t)
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
	return s.Do(t, "GET", s.Path("/tickets/"+id), key, nil).Want(t, 200).Data(t)
}

// opened sends a first message on w and returns the id of the ticket it
// opened.
func opened(t testing.TB, w *wsClient, body string) string {
	t.Helper()
	w.SendMsg("first-"+body, body)
	ack := w.WaitFor(protocol.FrameAck)
	id := str(msg(ack)["ticket_id"])
	if id == "" {
		t.Fatalf("ack without a ticket id: %v", ack)
	}
	return id
}
