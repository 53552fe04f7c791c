package httpapi_test

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// TestChatHandshake: the key and the origin are checked at the upgrade, the
// version and the session right after it, each refusal with the code that
// tells the widget what to do.
func TestChatHandshake(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		tok, _ := customer(t, s, s.PKTest, "Ann")
		liveTok, _ := customer(t, s, s.PKLive, "Lee")
		revoked := s.Do(t, "POST", s.Path("/api-keys"), s.SKTest, map[string]any{"type": "publishable"}).Want(t, 201).Data(t)
		s.Do(t, "DELETE", s.Path("/api-keys/"+str(revoked["id"])), s.SKTest, nil).Want(t, 200)

		resume := func(session string) map[string]any { return map[string]any{"type": "resume", "session": session} }
		cases := []struct {
			name  string
			path  string
			first any // the first frame, nil for none
			code  int // the close code, 0 for ready
		}{
			{"ok", widgetPath(s.PKTest), resume(tok), 0},
			{"no version", protocol.ChatPath + "?key=" + s.PKTest, resume(tok), 0},
			{"unknown key", widgetPath("pk_test_" + strings.Repeat("x", 40)), nil, protocol.CloseInvalidKey},
			{"no key", protocol.ChatPath + "?v=1", nil, protocol.CloseInvalidKey},
			{"revoked key", widgetPath(str(revoked["key"])), nil, protocol.CloseInvalidKey},
			{"secret key", widgetPath(s.SKTest), nil, protocol.CloseInvalidKey},
			{"version 2", protocol.ChatPath + "?v=2&key=" + s.PKTest, nil, protocol.CloseVersion},
			{"no resume frame", widgetPath(s.PKTest), nil, protocol.CloseResumeWanted},
			{"bad session", widgetPath(s.PKTest), resume("cs_" + strings.Repeat("A", 43)), protocol.CloseSessionInvalid},
			{"no session", widgetPath(s.PKTest), resume(""), protocol.CloseSessionInvalid},
			{"live session on a test key", widgetPath(s.PKTest), resume(liveTok), protocol.CloseSessionInvalid},
			{"send before resume", widgetPath(s.PKTest), map[string]any{"type": "send", "body": "hi"}, protocol.CloseProtocol},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				w, res, err := s.DialWS(t, c.path)
				if err != nil {
					t.Fatalf("dial: got %v (status %d), want an upgrade", err, code(res))
				}
				if c.first != nil {
					w.Send(c.first)
				}
				if c.code == 0 {
					if f := w.Next(wait); f["type"] != protocol.FrameReady {
						t.Fatalf("first frame: got %v, want ready", f)
					}
					return
				}
				w.WantClose(c.code)
			})
		}
		// A secret key never reaches the session check, nor is it echoed.
		w, _, err := s.DialWS(t, widgetPath(s.SKTest))
		if err != nil {
			t.Fatal(err)
		}
		w.WantClose(protocol.CloseInvalidKey)
	})
}

// TestChatOrigins: with no allowed origins any page may connect; once the
// team sets some, another origin's upgrade is refused with a 403 envelope.
func TestChatOrigins(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		tok, _ := customer(t, s, s.PKLive, "Ann")
		const shop, evil = "https://shop.example", "https://evil.example"
		w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil) // no Origin header
		w.Conn.Close()
		w, _, _ = s.WidgetReady(t, s.PKLive, tok, nil, "Origin", evil)
		w.Conn.Close()

		s.Do(t, "PATCH", s.Path(""), s.SKLive, map[string]any{"allowed_origins": []string{shop}}).Want(t, 200)
		_, res, err := s.DialRaw(t, widgetPath(s.PKLive), "Origin", evil)
		if err == nil || res == nil || res.StatusCode != 403 {
			t.Fatalf("evil origin: got %v (status %d), want a refused upgrade with 403", err, code(res))
		}
		body, _ := io.ReadAll(res.Body)
		if !strings.Contains(string(body), `"success":false`) || !strings.Contains(string(body), protocol.MsgOriginNotAllowed) {
			t.Errorf("refusal body: got %s, want the error envelope with %q", body, protocol.MsgOriginNotAllowed)
		}
		w, _, _ = s.WidgetReady(t, s.PKLive, tok, nil, "Origin", shop)
		w.Conn.Close()
		// The list is per mode: live's does not bind test keys until test
		// has its own.
		tokTest, _ := customer(t, s, s.PKTest, "Tess")
		w, _, _ = s.WidgetReady(t, s.PKTest, tokTest, nil, "Origin", evil)
		w.Conn.Close()
		s.Do(t, "PATCH", s.Path(""), s.SKTest, map[string]any{"allowed_origins": []string{shop}}).Want(t, 200)
		if _, res, err := s.DialRaw(t, widgetPath(s.PKTest), "Origin", evil); err == nil || code(res) != 403 {
			t.Fatalf("evil origin with the test key: got %v (status %d), want 403", err, code(res))
		}
		w, _, _ = s.WidgetReady(t, s.PKTest, tokTest, nil, "Origin", shop)
		w.Conn.Close()
	})
}

// TestChatSessionEndCloses: logging out closes that session's sockets with
// 4502 (the customer's other sessions stay); revoking a customer's sessions
// closes all of theirs and nobody else's, and so does deleting a customer.
func TestChatSessionEndCloses(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		tok1, annID := customer(t, s, s.PKLive, "Ann")
		tok2 := s.Do(t, "POST", wv1+"/login", s.PKLive, map[string]any{"email": "ann@example.com", "password": "correct horse battery"}).
			Want(t, 200).Data(t)["session"].(map[string]any)["token"].(string)
		tokBob, _ := customer(t, s, s.PKLive, "Bob")

		a1, _, _ := s.WidgetReady(t, s.PKLive, tok1, nil)
		a1b, _, _ := s.WidgetReady(t, s.PKLive, tok1, nil)
		a2, _, _ := s.WidgetReady(t, s.PKLive, tok2, nil)
		bob, _, _ := s.WidgetReady(t, s.PKLive, tokBob, nil)

		s.Do(t, "POST", wv1+"/logout", s.PKLive, nil, protocol.SessionHeader, tok1).Want(t, 200)
		a1.WantClose(protocol.CloseSessionInvalid)
		a1b.WantClose(protocol.CloseSessionInvalid)
		// Ann's other session still works: it can send.
		a2.SendMsg("after-logout", "still here")
		a2.WaitFor(protocol.FrameAck)
		// The logged-out session cannot come back.
		s.WidgetWS(t, s.PKLive, tok1, nil).WantClose(protocol.CloseSessionInvalid)

		s.Do(t, "DELETE", s.Path("/customers/"+annID+"/sessions"), s.SKLive, nil).Want(t, 200)
		a2.WantClose(protocol.CloseSessionInvalid)
		bob.SendMsg("b1", "Bob is fine")
		bob.WaitFor(protocol.FrameAck)

		// Deleting a customer closes their open sockets too.
		tokCat, catID := customer(t, s, s.PKLive, "Cat")
		cat, _, _ := s.WidgetReady(t, s.PKLive, tokCat, nil)
		s.Do(t, "DELETE", s.Path("/customers/"+catID), s.SKLive, nil).Want(t, 200)
		cat.WantClose(protocol.CloseSessionInvalid)
		bob.SendMsg("b2", "Bob is still fine")
		bob.WaitFor(protocol.FrameAck)
	})
}

// TestChatSendAck: a send is stored once and acknowledged with the stored
// message; a retried client id gets the same message; a refused body gets
// an error frame, stores nothing and keeps the connection.
func TestChatSendAck(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		tok, annID := customer(t, s, s.PKTest, "Ann")
		tokBob, _ := customer(t, s, s.PKTest, "Bob")
		w, _, _ := s.WidgetReady(t, s.PKTest, tok, nil)

		w.SendMsg("c-1", "  Hello  ")
		ack := w.WaitFor(protocol.FrameAck)
		m := msg(ack)
		if ack["client_id"] != "c-1" {
			t.Errorf("ack client_id: got %v, want c-1", ack["client_id"])
		}
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if want := []string{"author", "body", "client_id", "created_at", "id", "seq", "ticket_id"}; !slices.Equal(keys, want) {
			t.Errorf("message fields: got %v, want %v", keys, want)
		}
		author, _ := m["author"].(map[string]any)
		if m["body"] != "Hello" || num(m["seq"]) != 1 || m["client_id"] != "c-1" || str(m["id"]) == "" ||
			author["type"] != "customer" || author["id"] != annID || author["name"] != "Ann" {
			t.Errorf("acked message: got %v, want Ann's Hello, seq 1", m)
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000Z07:00", str(m["created_at"])); err != nil {
			t.Errorf("created_at %v: want RFC 3339 with milliseconds", m["created_at"])
		}
		tid := str(m["ticket_id"])

		// A retry, on this connection or another, is the same message.
		w.SendMsg("c-1", "Hello")
		if again := msg(w.WaitFor(protocol.FrameAck)); again["id"] != m["id"] || num(again["seq"]) != 1 {
			t.Errorf("retry ack: got %v, want message %v seq 1", again, m["id"])
		}
		w2, _, _ := s.WidgetReady(t, s.PKTest, tok, map[string]int64{tid: 1})
		w2.SendMsg("c-1", "Hello")
		if again := msg(w2.WaitFor(protocol.FrameAck)); again["id"] != m["id"] {
			t.Errorf("retry on another connection: got %v, want %v", again["id"], m["id"])
		}
		if got := seqs(s.messages(t, s.SKTest, tid)); !slices.Equal(got, []int64{1}) {
			t.Fatalf("stored after retries: got seqs %v, want [1]", got)
		}
		// Bob's c-1 is Bob's.
		b, _, _ := s.WidgetReady(t, s.PKTest, tokBob, nil)
		b.SendMsg("c-1", "Bob here")
		if bm := msg(b.WaitFor(protocol.FrameAck)); bm["id"] == m["id"] || bm["ticket_id"] == tid || bm["body"] != "Bob here" {
			t.Errorf("Bob's c-1: got %v, want his own message in his own ticket", bm)
		}

		refused := []struct{ name, body string }{
			{"empty", ""},
			{"blank", " \n\t"},
			{"4001 characters", strings.Repeat("é", 4001)},
		}
		for _, r := range refused {
			w.SendMsg("bad-"+r.name, r.body)
			f := w.WaitFor(protocol.FrameError)
			if f["code"] != "invalid" || f["client_id"] != "bad-"+r.name || str(f["error"]) == "" {
				t.Errorf("%s: got %v, want an invalid error frame for its client id", r.name, f)
			}
		}
		w.Send(map[string]any{"type": "dance"})
		if f := w.WaitFor(protocol.FrameError); f["code"] != "invalid" {
			t.Errorf("unknown frame type: got %v, want an invalid error frame", f)
		}
		w.SendMsg("long", strings.Repeat("é", 4000))
		if lm := msg(w.WaitFor(protocol.FrameAck)); num(lm["seq"]) != 2 {
			t.Errorf("4000 characters: got %v, want seq 2", lm)
		}
		if got := seqs(s.messages(t, s.SKTest, tid)); !slices.Equal(got, []int64{1, 2}) {
			t.Fatalf("stored: got seqs %v, want [1 2]: refused bodies must store nothing", got)
		}
	})
}

// TestChatTicketRouting: a customer's messages go to their open chat
// ticket; once an agent closes it (the widget is told), the next message
// opens a new one.
func TestChatTicketRouting(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		tok, annID := customer(t, s, s.PKLive, "Ann")
		w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		tab2, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		w.SendMsg("c1", "My order is late")
		first := msg(w.WaitFor(protocol.FrameAck))
		tid := str(first["ticket_id"])
		// The customer's other tab learns of the new ticket and the message.
		tf := tab2.WaitFor(protocol.FrameTicket)
		if tk, _ := tf["ticket"].(map[string]any); tk["id"] != tid || tk["status"] != "open" {
			t.Errorf("other tab: got %v, want a ticket frame of %s, open", tf, tid)
		}
		if f := tab2.WaitFor(protocol.FrameMessage); msg(f)["id"] != first["id"] {
			t.Errorf("other tab: got %v, want the message sent on the first", f)
		}
		tk := s.ticket(t, s.SKLive, tid)
		if tk["channel"] != "chat" || tk["status"] != "open" || tk["customer_id"] != annID || tk["subject"] != "My order is late" {
			t.Fatalf("opened ticket: got %v, want an open chat ticket of Ann titled by the message", tk)
		}
		w.SendMsg("c2", "Any news?")
		if m := msg(w.WaitFor(protocol.FrameAck)); m["ticket_id"] != tid || num(m["seq"]) != 2 {
			t.Fatalf("second message: got %v, want seq 2 in %s", m, tid)
		}
		s.Do(t, "PATCH", s.Path("/tickets/"+tid), s.SKLive, map[string]any{"status": "closed"}).Want(t, 200)
		f := w.WaitUntil(protocol.FrameTicket, ticketStatus("closed"))
		if tkf, _ := f["ticket"].(map[string]any); tkf["id"] != tid || tkf["status"] != "closed" || num(tkf["last_seq"]) != 2 {
			t.Fatalf("ticket frame: got %v, want %s closed at last_seq 2", f, tid)
		}
		w.SendMsg("c3", "Hello again")
		m := msg(w.WaitFor(protocol.FrameAck))
		if m["ticket_id"] == tid || num(m["seq"]) != 1 {
			t.Fatalf("after close: got %v, want seq 1 in a new ticket", m)
		}
		if got := s.ticket(t, s.SKLive, str(m["ticket_id"])); got["status"] != "open" {
			t.Errorf("new ticket: got status %v, want open", got["status"])
		}
	})
}

// TestChatConcurrentFirstSends: two connections of one customer send their
// first messages at once; both land in one new ticket as seqs 1 and 2.
func TestChatConcurrentFirstSends(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		tok, _ := customer(t, s, s.PKLive, "Ann")
		const n = 4
		conns := make([]*wsClient, n)
		for i := range conns {
			conns[i], _, _ = s.WidgetReady(t, s.PKLive, tok, nil)
		}
		var wg sync.WaitGroup
		for i, c := range conns {
			wg.Go(func() {
				c.Conn.WriteJSON(map[string]any{"type": "send", "client_id": fmt.Sprint("c", i), "body": "hi"})
			})
		}
		wg.Wait()
		tickets := map[string]bool{}
		var got []int64
		for _, c := range conns {
			m := msg(c.WaitFor(protocol.FrameAck))
			tickets[str(m["ticket_id"])] = true
			got = append(got, num(m["seq"]))
		}
		slices.Sort(got)
		if len(tickets) != 1 || !slices.Equal(got, span(1, n)) {
			t.Fatalf("got tickets %v and seqs %v, want one ticket with seqs 1..%d", tickets, got, n)
		}
	})
}

// TestChatSeqUnderConcurrentSenders: a customer and three agents post at
// once; the ticket holds seqs 1..N, and the widget is sent each message
// once, in seq order (its own as an ack, possibly after its message frame).
func TestChatSeqUnderConcurrentSenders(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		tok, _ := customer(t, s, s.PKLive, "Ann")
		w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		tid := opened(t, w, "first")
		const agents, each = 3, 8
		var wg sync.WaitGroup
		for a := range agents {
			wg.Go(func() {
				for i := range each {
					s.Do(t, "POST", s.Path("/tickets/"+tid+"/messages"), s.SKLive,
						map[string]any{"body": fmt.Sprintf("a%d-%d", a, i), "author_name": fmt.Sprint("Agent ", a)}).Want(t, 201)
				}
			})
		}
		for i := range each {
			w.SendMsg(fmt.Sprint("c-", i), fmt.Sprint("ann-", i))
		}
		wg.Wait()
		const n = 1 + agents*each + each
		if got := seqs(s.messages(t, s.SKLive, tid)); !slices.Equal(got, span(1, n)) {
			t.Fatalf("stored seqs: got %v, want 1..%d", got, n)
		}
		seen := map[int64]string{}
		lastFrame := int64(0)
		for len(seen) < n-1 { // seq 1 was acknowledged by opened
			f := w.Next(wait)
			switch f["type"] {
			case protocol.FrameMessage:
				m := msg(f)
				sq := num(m["seq"])
				if sq <= lastFrame {
					t.Fatalf("message frame seq %d after %d: want increasing seqs, no repeats", sq, lastFrame)
				}
				lastFrame = sq
				if id, dup := seen[sq]; dup && id != m["id"] {
					t.Fatalf("seq %d: two messages %s and %s", sq, id, m["id"])
				}
				seen[sq] = str(m["id"])
			case protocol.FrameAck:
				m := msg(f)
				seen[num(m["seq"])] = str(m["id"])
			}
		}
		for sq := int64(2); sq <= n; sq++ {
			if seen[sq] == "" {
				t.Errorf("seq %d never reached the widget", sq)
			}
		}
	})
}

// TestChatResume: a widget that reconnects with its position gets exactly
// the messages it missed, in order, then ready, then live messages; one
// that lists nothing gets the open ticket's last 100.
func TestChatResume(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		tok, annID := customer(t, s, s.PKLive, "Ann")
		w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		tid := opened(t, w, "hello")
		s.post(t, s.SKLive, tid, "reply 2")
		s.post(t, s.SKLive, tid, "reply 3")
		if got := seqs(w.Collect(protocol.FrameMessage, 2)); !slices.Equal(got, []int64{2, 3}) {
			t.Fatalf("live: got seqs %v, want [2 3]", got)
		}
		w.Conn.Close()
		w.CloseCode()

		for i := 4; i <= 8; i++ {
			s.post(t, s.SKLive, tid, fmt.Sprint("missed ", i))
		}
		w, replay, ready := s.WidgetReady(t, s.PKLive, tok, map[string]int64{tid: 3})
		if got := seqs(replay); !slices.Equal(got, span(4, 8)) {
			t.Fatalf("replay: got seqs %v, want 4..8", got)
		}
		for _, f := range replay {
			if f["type"] != protocol.FrameMessage || msg(f)["body"] != fmt.Sprint("missed ", num(msg(f)["seq"])) {
				t.Fatalf("replayed frame: got %v, want the missed message", f)
			}
		}
		if ready["customer_id"] != annID {
			t.Errorf("ready customer_id: got %v, want %s", ready["customer_id"], annID)
		}
		tks, _ := ready["tickets"].([]any)
		if len(tks) != 1 || tks[0].(map[string]any)["id"] != tid || num(tks[0].(map[string]any)["last_seq"]) != 8 {
			t.Errorf("ready tickets: got %v, want %s at last_seq 8", ready["tickets"], tid)
		}
		s.post(t, s.SKLive, tid, "live 9")
		// On PostgreSQL an earlier ticket event may arrive late through its
		// notice; the next message must be 9, not a repeat.
		if f := w.WaitFor(protocol.FrameMessage); num(msg(f)["seq"]) != 9 {
			t.Fatalf("after ready: got %v, want message 9 and no repeat", f)
		}
		w.Conn.Close()

		// Up to date: nothing replayed.
		w, replay, _ = s.WidgetReady(t, s.PKLive, tok, map[string]int64{tid: 9})
		if len(replay) != 0 {
			t.Fatalf("up-to-date resume: got %d frames before ready, want none", len(replay))
		}
		w.Conn.Close()

		// Listing nothing: the last 100 of the open ticket.
		for i := 10; i <= 105; i++ {
			s.post(t, s.SKLive, tid, fmt.Sprint("m", i))
		}
		_, replay, _ = s.WidgetReady(t, s.PKLive, tok, nil)
		if got := seqs(replay); !slices.Equal(got, span(6, 105)) {
			t.Fatalf("fresh widget: got %d messages (%v…), want seqs 6..105", len(got), got[:min(3, len(got))])
		}
		// Another customer's ticket listed in a resume is ignored.
		tokBob, _ := customer(t, s, s.PKLive, "Bob")
		_, replay, ready = s.WidgetReady(t, s.PKLive, tokBob, map[string]int64{tid: 0})
		if len(replay) != 0 || len(ready["tickets"].([]any)) != 0 {
			t.Fatalf("Bob listing Ann's ticket: got %d frames and tickets %v, want nothing", len(replay), ready["tickets"])
		}
	})
}

// TestChatTypingReadTicket: typing goes both ways, read positions are
// stored and shown to the other side and to the reader's other tabs, and a
// status change reaches the widget and the stream.
func TestChatTypingReadTicket(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		tok, annID := customer(t, s, s.PKLive, "Ann")
		w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		tid := opened(t, w, "hello")
		s.post(t, s.SKLive, tid, "two")
		s.post(t, s.SKLive, tid, "three")
		w.Collect(protocol.FrameMessage, 2)
		tab2, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		st, _, _ := s.Stream(t, s.SKLive, "")

		// Agent → widget typing.
		r := s.Do(t, "POST", s.Path("/tickets/"+tid+"/typing"), s.SKLive, map[string]any{"typing": true, "author_name": "Bob"}).Want(t, 200)
		if num(r.Data(t)["ttl_ms"]) != protocol.TypingTTLMillis {
			t.Errorf("typing response: got %v, want ttl_ms %d", r.Data(t), protocol.TypingTTLMillis)
		}
		f := w.WaitFor(protocol.FrameTyping)
		author, _ := f["author"].(map[string]any)
		if f["ticket_id"] != tid || f["typing"] != true || num(f["ttl_ms"]) != protocol.TypingTTLMillis ||
			author["type"] != "agent" || author["name"] != "Bob" {
			t.Errorf("widget typing frame: got %v, want Bob typing in %s with ttl_ms", f, tid)
		}
		s.Do(t, "POST", s.Path("/tickets/"+tid+"/typing"), s.SKLive, map[string]any{"typing": true}).WantError(t, 400, "").WantField(t, "author_name")

		// Customer → stream typing.
		w.Send(map[string]any{"type": "typing", "typing": true})
		ev := st.WaitFor(protocol.EventTyping)
		author, _ = ev["author"].(map[string]any)
		if ev["ticket_id"] != tid || ev["typing"] != true || author["type"] != "customer" || author["id"] != annID || ev["pos"] != nil {
			t.Errorf("stream typing event: got %v, want Ann typing in %s without a position", ev, tid)
		}

		// Customer read → stored, and told to the other tab.
		w.Send(map[string]any{"type": "read", "ticket_id": tid, "seq": 2})
		rf := tab2.WaitFor(protocol.FrameRead)
		if rf["ticket_id"] != tid || rf["reader"] != "customer" || num(rf["seq"]) != 2 {
			t.Errorf("read frame on the other tab: got %v, want customer at 2", rf)
		}
		if got := num(s.ticket(t, s.SKLive, tid)["customer_read_seq"]); got != 2 {
			t.Errorf("customer_read_seq: got %d, want 2", got)
		}
		// Reading another customer's ticket is refused.
		w.Send(map[string]any{"type": "read", "ticket_id": "0195f3c2-7a41-7c1e-9c3a-2b1d4e5f6a7f", "seq": 1})
		if ef := w.WaitFor(protocol.FrameError); ef["code"] != "not_found" {
			t.Errorf("reading an unknown ticket: got %v, want not_found", ef)
		}

		// Agent read → widget read frame.
		r = s.Do(t, "POST", s.Path("/tickets/"+tid+"/read"), s.SKLive, map[string]any{"seq": 3}).Want(t, 200)
		if num(r.Data(t)["agent_read_seq"]) != 3 {
			t.Errorf("read response: got %v, want agent_read_seq 3", r.Data(t))
		}
		rf = w.WaitFor(protocol.FrameRead)
		if rf["ticket_id"] != tid || rf["reader"] != "agent" || num(rf["seq"]) != 3 {
			t.Errorf("widget read frame: got %v, want agent at 3", rf)
		}
		s.Do(t, "POST", s.Path("/tickets/"+tid+"/read"), s.SKLive, map[string]any{"seq": -1}).WantError(t, 400, "")

		// Status change → widget ticket frame and stream ticket.updated.
		s.Do(t, "PATCH", s.Path("/tickets/"+tid), s.SKLive, map[string]any{"status": "pending"}).Want(t, 200)
		tf := w.WaitUntil(protocol.FrameTicket, ticketStatus("pending"))
		if tk, _ := tf["ticket"].(map[string]any); tk["id"] != tid || tk["status"] != "pending" || num(tk["customer_read_seq"]) != 2 ||
			num(tk["agent_read_seq"]) != 3 {
			t.Errorf("ticket frame: got %v, want %s pending with its read positions", tf, tid)
		}
		ev = st.WaitUntil(protocol.EventTicketUpdated, ticketStatus("pending"))
		if tk, _ := ev["ticket"].(map[string]any); ev["ticket_id"] != tid || tk["status"] != "pending" || num(ev["pos"]) == 0 {
			t.Errorf("stream event: got %v, want ticket.updated pending with a position", ev)
		}
	})
}

// TestChatTestLiveApart: a test-mode customer's messages never reach a
// live stream nor the other way round, and each mode numbers its own.
func TestChatTestLiveApart(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		liveStream, _, _ := s.Stream(t, s.SKLive, "")
		testStream, _, _ := s.Stream(t, s.SKTest, "")
		tokLive, _ := customer(t, s, s.PKLive, "Ann")
		tokTest, _ := customer(t, s, s.PKTest, "Ann")
		wl, _, _ := s.WidgetReady(t, s.PKLive, tokLive, nil)
		wt, _, _ := s.WidgetReady(t, s.PKTest, tokTest, nil)

		wt.SendMsg("c1", "test message")
		tm := msg(wt.WaitFor(protocol.FrameAck))
		ev := testStream.WaitFor(protocol.EventMessageCreated)
		if msg(ev)["id"] != tm["id"] {
			t.Fatalf("test stream: got %v, want the test message", ev)
		}
		wl.SendMsg("c1", "live message")
		lm := msg(wl.WaitFor(protocol.FrameAck))
		if num(lm["seq"]) != 1 || num(tm["seq"]) != 1 || lm["id"] == tm["id"] {
			t.Fatalf("seqs: got live %v and test %v, want 1 each, different messages", lm, tm)
		}
		// The live stream's first message event is the live message: the
		// test one never came.
		ev = liveStream.WaitFor(protocol.EventMessageCreated)
		if msg(ev)["id"] != lm["id"] {
			t.Fatalf("live stream: got %v, want the live message", ev)
		}
		// Neither widget hears the other mode: each one's next message is
		// its own agent's.
		s.post(t, s.SKLive, str(lm["ticket_id"]), "live reply")
		s.post(t, s.SKTest, str(tm["ticket_id"]), "test reply")
		if f := wl.WaitFor(protocol.FrameMessage); msg(f)["body"] != "live reply" {
			t.Errorf("live widget: got %v, want the live reply", f)
		}
		if f := wt.WaitFor(protocol.FrameMessage); msg(f)["body"] != "test reply" {
			t.Errorf("test widget: got %v, want the test reply", f)
		}
		if ev := testStream.WaitFor(protocol.EventMessageCreated); msg(ev)["body"] != "test reply" {
			t.Errorf("test stream: got %v, want the test reply", ev)
		}
		if ev := liveStream.WaitFor(protocol.EventMessageCreated); msg(ev)["body"] != "live reply" {
			t.Errorf("live stream: got %v, want the live reply", ev)
		}
		// A live key cannot reach the test ticket.
		s.Do(t, "GET", s.Path("/tickets/"+str(tm["ticket_id"])+"/messages"), s.SKLive, nil).WantError(t, 404, "")
	})
}
