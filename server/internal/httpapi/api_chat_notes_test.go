package httpapi_test

import (
	"testing"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// TestChatAgentNotesThroughTheAPI: a secret key writes an internal note
// with "internal": true; the message list shows it marked internal, and the
// customer's widget never receives it (the next reply arrives, the note
// not), webhooks get it marked internal; a note cannot be a bot's.
func TestChatAgentNotesThroughTheAPI(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s := newTestServer(t, dbURL)
		tok, _ := customer(t, s, s.PKTest, "Ann")
		w, _, _ := s.WidgetReady(t, s.PKTest, tok, nil)
		defer w.Conn.Close()
		tid := opened(t, w, "Hello")
		rcv := apptest.NewReceiver(t)
		s.hook(t, s.SKTest, rcv.URL, "message.created")

		note := s.Do(t, "POST", s.Path("/tickets/"+tid+"/messages"), s.SKTest, map[string]any{"body": "VIP: answer first",
			"author_name": "Olive", "internal": true}).Want(t, 201).Data(t)
		if note["internal"] != true || note["seq"] != float64(2) {
			t.Fatalf("the note: got %v, want internal at seq 2", note)
		}
		s.post(t, s.SKTest, tid, "It ships today")
		for {
			f := w.WaitFor(protocol.FrameMessage)
			if b := str(msg(f)["body"]); b == "VIP: answer first" {
				t.Fatal("the customer's widget received the internal note")
			} else if b == "It ships today" {
				break
			}
		}
		ms := s.messages(t, s.SKTest, tid)
		if len(ms) != 3 || ms[1]["body"] != "VIP: answer first" || ms[1]["internal"] != true || ms[2]["internal"] == true {
			t.Errorf("the messages through the API: got %v, want the note marked internal between the two", ms)
		}
		// Webhooks get the note too, marked internal, for the site's
		// backend to keep from the customer.
		rcv.Wait(t, 0, "the note, marked internal", func(hs []apptest.Hook) bool {
			for _, h := range hs {
				if h.Data()["body"] == "VIP: answer first" && h.Data()["internal"] == true {
					return true
				}
			}
			return false
		})
		s.Do(t, "POST", s.Path("/tickets/"+tid+"/messages"), s.SKTest, map[string]any{"body": "x", "author_name": "Bot",
			"author_type": "bot", "internal": true}).WantError(t, 400, "an internal note is an agent's: leave author_type out or make it agent")
	})
}
