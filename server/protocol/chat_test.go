package protocol_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/cstar-chat/cstar/server/protocol"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func ptr[T any](v T) *T { return &v }

var (
	sampleAuthor = protocol.Author{Type: protocol.AuthorCustomer, ID: ptr("0195f3c2-7a41-7c1e-9c3a-2b1d4e5f6a70"), Name: "Ann"}
	sampleMsg    = protocol.Message{ID: "0195f3c2-8b52-7d2f-8d4b-3c2e5f6a7b81", TicketID: "0195f3c2-7a41-7c1e-9c3a-2b1d4e5f6a7f",
		Seq: 7, Author: sampleAuthor, Body: "Hello", ClientID: ptr("c-42"), CreatedAt: "2026-11-28T10:00:00.123Z"}
	agentMsg = protocol.Message{ID: "0195f3c2-8b52-7d2f-8d4b-3c2e5f6a7b82", TicketID: sampleMsg.TicketID, Seq: 8,
		Author: protocol.Author{Type: protocol.AuthorAgent, Name: "Bob"}, Body: "Hi Ann", CreatedAt: "2026-11-28T10:00:01.000Z"}
	sampleTicket = protocol.ChatTicket{ID: sampleMsg.TicketID, Status: "open", LastSeq: 8, CustomerReadSeq: 7,
		AgentReadSeq: 6, CreatedAt: "2026-11-28T10:00:00Z", UpdatedAt: "2026-11-28T10:00:01Z"}
)

// frames are the wire forms of the chat channel and the agents' stream:
// the golden file of each is what a client must send or be able to read.
var frames = []struct {
	name string
	v    any
}{
	// Client → server.
	{"client_resume", &protocol.ClientFrame{Type: protocol.FrameResume, Session: "cs_abc", Tickets: map[string]int64{sampleMsg.TicketID: 7}}},
	{"client_send", &protocol.ClientFrame{Type: protocol.FrameSend, ClientID: "c-42", Body: "Hello"}},
	{"client_send_articles", &protocol.ClientFrame{Type: protocol.FrameSend, ClientID: "c-43", Body: "Still stuck",
		Articles: []string{"0195f3c2-9c63-7e30-9e5c-4d3f6a7b8c92"}}},
	{"client_typing", &protocol.ClientFrame{Type: protocol.FrameTyping, Typing: true}},
	{"client_typing_stopped", &protocol.ClientFrame{Type: protocol.FrameTyping}},
	{"client_read", &protocol.ClientFrame{Type: protocol.FrameRead, TicketID: sampleMsg.TicketID, Seq: 7}},
	// Server → client.
	{"server_message", &protocol.MessageFrame{Type: protocol.FrameMessage, Message: agentMsg}},
	{"server_ready", &protocol.ReadyFrame{Type: protocol.FrameReady, CustomerID: *sampleAuthor.ID, Tickets: []protocol.ChatTicket{sampleTicket}}},
	{"server_ack", &protocol.AckFrame{Type: protocol.FrameAck, ClientID: "c-42", Message: sampleMsg}},
	{"server_typing", &protocol.TypingFrame{Type: protocol.FrameTyping, TicketID: sampleMsg.TicketID,
		Author: protocol.Author{Type: protocol.AuthorAgent, Name: "Bob"}, Typing: true, TTLMs: protocol.TypingTTLMillis}},
	{"server_read", &protocol.ReadFrame{Type: protocol.FrameRead, TicketID: sampleMsg.TicketID, Reader: "agent", Seq: 7}},
	{"server_ticket", &protocol.TicketFrame{Type: protocol.FrameTicket, Ticket: sampleTicket}},
	{"server_error", &protocol.ErrorFrame{Type: protocol.FrameError, ClientID: "c-42", Code: "rate_limited",
		Error: "Too many messages: wait a moment", RetryAfterMs: 1200}},
	// A send the database could not store for the moment: the client keeps
	// the message and sends it again (same client id) after retry_after_ms.
	{"server_error_unavailable", &protocol.ErrorFrame{Type: protocol.FrameError, ClientID: "c-42", Code: "unavailable",
		Error: protocol.MsgUnavailable, RetryAfterMs: 2000}},
	// The agents' stream.
	{"stream_message_created", &protocol.StreamEvent{Type: protocol.EventMessageCreated, Pos: 12, TicketID: sampleMsg.TicketID, Message: &sampleMsg}},
	{"stream_ticket_updated", &protocol.StreamEvent{Type: protocol.EventTicketUpdated, Pos: 13, TicketID: sampleMsg.TicketID,
		Ticket: map[string]any{"id": sampleMsg.TicketID, "status": "closed"}}},
	{"stream_customer_merged", &protocol.StreamEvent{Type: protocol.EventCustomerMerged, Pos: 14, TicketID: sampleMsg.TicketID,
		Ticket: map[string]any{"id": sampleMsg.TicketID, "customer_id": "0195f3c2-7a41-7c1e-9c3a-2b1d4e5f6a71",
			"merged_from": *sampleAuthor.ID}}},
	{"stream_customer_updated", &protocol.StreamEvent{Type: protocol.EventCustomerUpdated, Pos: 14,
		Customer: map[string]any{"id": *sampleAuthor.ID, "name": "Ann Lee"}}},
	{"stream_customer_deleted", &protocol.StreamEvent{Type: protocol.EventCustomerDeleted, Pos: 15,
		Customer: map[string]any{"id": *sampleAuthor.ID, "deleted": true}}},
	{"stream_typing", &protocol.StreamEvent{Type: protocol.EventTyping, TicketID: sampleMsg.TicketID, Author: &sampleAuthor, Typing: ptr(false)}},
	{"stream_ready", &protocol.StreamEvent{Type: protocol.EventReady, Pos: 13}},
	{"stream_reset", &protocol.StreamEvent{Type: protocol.EventReset, Pos: 4000}},
}

// TestChatFrameGoldens pins each frame's JSON to testdata/<name>.golden.json
// (go test -update rewrites them) and decodes the golden back into the same
// value, so what the server writes is what the SDK reads.
func TestChatFrameGoldens(t *testing.T) {
	for _, f := range frames {
		t.Run(f.name, func(t *testing.T) {
			got, err := json.MarshalIndent(f.v, "", "  ")
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", f.name+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden (run go test -update to create it): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("JSON of %s:\ngot  %s\nwant %s", f.name, got, want)
			}
			back := reflect.New(reflect.TypeOf(f.v).Elem())
			if err := json.Unmarshal(want, back.Interface()); err != nil {
				t.Fatalf("decode golden: %v", err)
			}
			if !reflect.DeepEqual(back.Interface(), f.v) {
				t.Errorf("decoded golden: got %+v, want %+v", back.Elem().Interface(), reflect.ValueOf(f.v).Elem().Interface())
			}
		})
	}
}

// TestReconnect: 4000–4499 (and the standard codes, such as 1006 for a
// dropped connection) tell a client to reconnect; 4500–4999 to stop.
func TestReconnect(t *testing.T) {
	ranges := []struct {
		from, to int
		want     bool
	}{
		{1000, 1015, true},
		{1006, 1006, true},
		{protocol.CloseMessageTooBig, protocol.CloseMessageTooBig, true},
		{4000, 4499, true},
		{4500, 4999, false},
	}
	for _, r := range ranges {
		for code := r.from; code <= r.to; code++ {
			if got := protocol.Reconnect(code); got != r.want {
				t.Errorf("Reconnect(%d): got %v, want %v", code, got, r.want)
			}
		}
	}
	named := []struct {
		code int
		want bool
	}{
		{protocol.CloseRestart, true}, {protocol.CloseTooSlow, true}, {protocol.CloseResumeWanted, true},
		{protocol.CloseProtocol, true}, {protocol.CloseHeartbeat, true},
		{protocol.CloseInvalidKey, false}, {protocol.CloseSessionInvalid, false}, {protocol.CloseVersion, false},
	}
	for _, n := range named {
		if got := protocol.Reconnect(n.code); got != n.want {
			t.Errorf("Reconnect(%d): got %v, want %v", n.code, got, n.want)
		}
	}
}
