package httpapi_test

import (
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/testdb"
)

func TestChatSmoke(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s := newTestServer(t, dbURL)
		tok, _ := signup(t, s, s.PKTest, "ann@example.com", "Ann", "correct horse battery")
		w := s.widgetWS(t, s.PKTest, tok, nil)
		ready := w.waitFor("ready")
		t.Logf("ready: %v", ready)
		w.send(map[string]any{"type": "send", "client_id": "c1", "body": "Hello"})
		ack := w.waitFor("ack")
		m := msg(ack)
		if num(m["seq"]) != 1 || m["body"] != "Hello" {
			t.Fatalf("ack: %v", ack)
		}
		tid := m["ticket_id"].(string)
		s.do(t, "POST", s.path("/tickets/"+tid+"/messages"), s.SKTest, map[string]any{"body": "Hi Ann", "author_name": "Bob"}).want(t, 201)
		f := w.waitFor("message")
		if msg(f)["body"] != "Hi Ann" || num(msg(f)["seq"]) != 2 {
			t.Fatalf("message: %v", f)
		}
		st, _, err := s.dialWS(t, s.path("/realtime?after=0"), "Authorization", "Bearer "+s.SKTest)
		if err != nil {
			t.Fatal(err)
		}
		for range 4 {
			t.Logf("stream: %v", st.next(5*time.Second))
		}
	})
}
