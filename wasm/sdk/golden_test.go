package sdk

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cstar-chat/cstar/server/protocol"
)

// goldenDir holds the wire contract's golden files, which the server's
// tests write (go test ./server/protocol -update) and these tests replay:
// a change of the contract fails the SDK's tests too.
const goldenDir = "../../server/protocol/testdata"

// golden returns the golden frame name decoded as the bridge decodes a
// frame (JSON.parse, then jsbridge.ToGo): objects as maps, numbers as
// float64. Every call returns a fresh copy.
func golden(t testing.TB, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(goldenDir, name+".golden.json"))
	if err != nil {
		t.Fatalf("golden frame: %v", err)
	}
	var f map[string]any
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("golden frame %s: %v", name, err)
	}
	return f
}

// omit, as a value given to with, deletes the field (as omitempty does).
var omit = &struct{}{}

// with sets fields of m, given as path and value pairs ("author.type",
// "agent"), and returns m. Every field must be in m already: a frame built
// on a golden whose field was renamed or dropped fails the test instead of
// testing a frame the server no longer sends.
func with(t testing.TB, m map[string]any, pairs ...any) map[string]any {
	t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		path := strings.Split(pairs[i].(string), ".")
		o := m
		for _, k := range path[:len(path)-1] {
			o = obj(o, k)
		}
		k := path[len(path)-1]
		if _, ok := o[k]; !ok {
			t.Fatalf("the golden frame has no field %s: the wire contract changed (got %v)", pairs[i], m)
		}
		if pairs[i+1] == omit {
			delete(o, k)
		} else {
			o[k] = pairs[i+1]
		}
	}
	return m
}

// jsMessage is the JS shape of a wire message, as cstar-chat.d.ts declares
// Message, written out field by field.
func jsMessage(m map[string]any) map[string]any {
	a := obj(m, "author")
	return map[string]any{
		"id":        m["id"],
		"ticketId":  m["ticket_id"],
		"seq":       m["seq"],
		"author":    map[string]any{"type": a["type"], "id": a["id"], "name": a["name"]},
		"body":      m["body"],
		"clientId":  m["client_id"],
		"createdAt": m["created_at"],
	}
}

// jsTicket is the JS shape of a wire ticket (ChatTicket in the .d.ts).
func jsTicket(tk map[string]any) map[string]any {
	return map[string]any{"id": tk["id"], "status": tk["status"], "lastSeq": tk["last_seq"],
		"customerReadSeq": tk["customer_read_seq"], "agentReadSeq": tk["agent_read_seq"],
		"createdAt": tk["created_at"], "updatedAt": tk["updated_at"]}
}

func deepEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\ngot  %v\nwant %v", what, got, want)
	}
}

// goldenWorld is a page whose stored session is the one of the goldens,
// and whose sends get the goldens' client id.
func goldenWorld(t *testing.T) (*world, *tab) {
	w := newWorld()
	w.st.Save(Config{PublishableKey: pkTest}.StorageKey(), map[string]any{"v": float64(1),
		"token": golden(t, "client_resume")["session"], "customer": map[string]any{"id": "c1", "name": "Ann"}})
	w.newID = func() string { return str(golden(t, "client_send"), "client_id") }
	return w, w.open(t, nil)
}

// TestServerGoldens replays every server→client golden frame the SDK reads
// and checks what the page sees of each.
func TestServerGoldens(t *testing.T) {
	w, p := goldenWorld(t)
	s := p.net.last(t)
	s.open()

	// The SDK keeps the maps it is given: tickets is a copy of them.
	tickets := golden(t, "server_ready")["tickets"].([]any)
	s.frame(golden(t, "server_ready"))
	tk := tickets[0].(map[string]any)
	deepEqual(t, "ticket event after server_ready", p.lastEvent("ticket"), jsTicket(tk))
	if p.ch.State() != StateOpen {
		t.Fatalf("state after server_ready: got %q, want open", p.ch.State())
	}

	ack := golden(t, "server_ack")
	r := send(p.ch, "Hello")
	s.frame(ack)
	if r.n != 1 || r.err != nil {
		t.Fatalf("send after server_ack: got %+v, want settled", r)
	}
	deepEqual(t, "sendMessage's result after server_ack", r.m.Map(), jsMessage(obj(ack, "message")))
	deepEqual(t, "message event after server_ack", p.lastEvent("message"), jsMessage(obj(ack, "message")))

	m := golden(t, "server_message")
	s.frame(m)
	deepEqual(t, "message event after server_message", p.lastEvent("message"), jsMessage(obj(m, "message")))
	// server_ready read the customer up to the ack's seq; the agent's
	// message after it is unread.
	if n := p.ch.UnreadCount(); n != 1 || p.lastEvent("unread") != 1 {
		t.Fatalf("unread after server_message: got %d (event %v), want 1", n, p.lastEvent("unread"))
	}

	typing := golden(t, "server_typing")
	s.frame(typing)
	ev := map[string]any{"ticketId": typing["ticket_id"], "author": obj(typing, "author"), "typing": true}
	deepEqual(t, "typing event after server_typing", p.lastEvent("typing"), ev)
	w.clock.Advance(num(typing, "ttl_ms"))
	ev["typing"] = false
	deepEqual(t, "typing event once server_typing's ttl_ms passed", p.lastEvent("typing"), ev)

	read := golden(t, "server_read")
	s.frame(read)
	want := jsTicket(tk)
	want["agentReadSeq"] = read["seq"]
	deepEqual(t, "ticket event after server_read", p.lastEvent("ticket"), want)

	ticket := golden(t, "server_ticket")
	s.frame(ticket)
	deepEqual(t, "ticket event after server_ticket", p.lastEvent("ticket"), jsTicket(obj(ticket, "ticket")))

	// A send refused for its rate is sent again after retry_after_ms.
	e := golden(t, "server_error")
	r = send(p.ch, "Hello")
	s.frame(e)
	wait := num(e, "retry_after_ms")
	w.clock.Advance(wait - 1)
	if r.n != 0 || len(s.of(protocol.FrameSend)) != 2 {
		t.Fatalf("after server_error: send %+v, %d send frames; want waiting, 2", r, len(s.of(protocol.FrameSend)))
	}
	w.clock.Advance(1)
	if n := len(s.of(protocol.FrameSend)); n != 3 {
		t.Fatalf("send frames once retry_after_ms passed: got %d, want 3", n)
	}
	if errs := p.count("error"); errs != 0 {
		t.Fatalf("error events: got %d, want 0", errs)
	}
}

// TestClientGoldens checks that every frame the SDK sends reaches the
// server as its golden does.
func TestClientGoldens(t *testing.T) {
	w, p := goldenWorld(t)
	s := p.net.last(t)
	s.open()
	s.frame(with(t, golden(t, "server_ready"), "tickets", []any{}))
	send(p.ch, str(golden(t, "client_send"), "body"))
	sameFrame(t, last(s.sent), "client_send")
	s.frame(golden(t, "server_ack"))
	p.ch.MarkRead()
	sameFrame(t, last(s.sent), "client_read")
	p.ch.SetTyping(true)
	sameFrame(t, last(s.sent), "client_typing")
	p.ch.SetTyping(false)
	sameFrame(t, last(s.sent), "client_typing_stopped")
	// A send that names the Library articles the customer opened first.
	withArticles := golden(t, "client_send_articles")
	w.newID = func() string { return str(withArticles, "client_id") }
	p.ch.Send(str(withArticles, "body"), withArticles["articles"].([]any), func(Message, error) {})
	sameFrame(t, last(s.sent), "client_send_articles")
	s.close(protocol.CloseRestart)
	w.clock.Advance(backoffMaxMs)
	s = p.net.last(t)
	s.open()
	sameFrame(t, last(s.sent), "client_resume")
}

func last(fs []map[string]any) map[string]any {
	if len(fs) == 0 {
		return nil
	}
	return fs[len(fs)-1]
}

// sameFrame fails unless frame, sent by the SDK, is the golden name to the
// server: both are decoded into protocol.ClientFrame, unknown fields
// refused.
func sameFrame(t *testing.T, frame map[string]any, name string) {
	t.Helper()
	got, err := json.Marshal(frame) // the bridge's JSON.stringify
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(goldenDir, name+".golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	decode := func(b []byte) protocol.ClientFrame {
		var f protocol.ClientFrame
		d := json.NewDecoder(bytes.NewReader(b))
		d.DisallowUnknownFields()
		if err := d.Decode(&f); err != nil {
			t.Fatalf("%s: decode %s: %v", name, b, err)
		}
		return f
	}
	if g, w := decode(got), decode(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s: got %s, want %s", name, got, bytes.TrimSpace(want))
	}
}
