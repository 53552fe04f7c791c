package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// post sends the composer's form as its script does, and returns the
// stored message.
func post(t *testing.T, b *apptest.Browser, path, body string, note bool) map[string]any {
	t.Helper()
	internal := "0"
	if note {
		internal = "1"
	}
	r := b.Post(t, path, form("body", body, "internal", internal, "client_id", fmt.Sprintf("%d", time.Now().UnixNano())),
		"Accept", "application/json")
	wantStatus(t, "post "+body, r, http.StatusCreated)
	m := map[string]any{}
	if err := jsonUnmarshal(r.Raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestNotesNeverReachCustomers: an agent's reply reaches the customer's
// widget; an internal note never does, not live, not on a resume, not in
// the widget's history; agents see it in the dashboard, their live
// connection and the secret-key stream and history, marked internal.
func TestNotesNeverReachCustomers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		tok, _ := e.customer(t, e.PKTest, "Grace")
		w, _, _ := e.WidgetReady(t, e.PKTest, tok, nil)
		w.SendMsg("c1", "Where is my order?")
		ack := w.WaitFor("ack")
		ticket := apptest.Str(ack["message"].(map[string]any)["ticket_id"])
		stream, _, _ := e.Stream(t, e.SKTest, "")
		b := e.as(t, "mo@acme.example")
		conv := "/app/test/conversations/" + ticket
		b.Get(t, conv)
		live, _, _ := b.Live(t, "/app/test/live")

		post(t, b, conv+"/messages", "Note: refund approved by Olive", true)
		reply := post(t, b, conv+"/messages", "It ships today", false)
		post(t, b, conv+"/messages", "Note: second note, last", true)
		if reply["seq"] != float64(3) {
			t.Fatalf("the reply's seq: got %v, want 3 (the first note took 2)", reply["seq"])
		}
		// The widget: the reply arrives, then a customer message proves the
		// notes had their turn, and no frame ever carried one.
		var frames []map[string]any
		for {
			f := w.Next(apptest.Wait)
			frames = append(frames, f)
			if m, _ := f["message"].(map[string]any); m != nil && m["body"] == "It ships today" {
				break
			}
		}
		w.SendMsg("c2", "Thanks")
		frames = append(frames, w.WaitFor("ack"))
		for _, f := range frames {
			if strings.Contains(fmt.Sprint(f), "Note:") || strings.Contains(fmt.Sprint(f), "internal") {
				t.Fatalf("the widget got a frame with a note: %v", f)
			}
		}
		// A resume from 0, from the seq before the note, and the history.
		for _, held := range []map[string]int64{nil, {ticket: 0}, {ticket: 1}} {
			w2, replay, _ := e.WidgetReady(t, e.PKTest, tok, held)
			for _, f := range replay {
				if strings.Contains(fmt.Sprint(f), "Note:") {
					t.Fatalf("resume %v: replayed a note: %v", held, f)
				}
			}
			w2.Conn.Close()
		}
		hist := e.Do(t, "GET", "/api/widget/v1/messages", e.PKTest, nil, protocol.SessionHeader, tok).Want(t, http.StatusOK)
		if strings.Contains(string(hist.Raw), "Note:") || len(hist.Items(t)) != 3 {
			t.Fatalf("the widget's history: %s; want the 3 messages, no note", hist.Raw)
		}
		// Agents see the notes, marked.
		api := e.Do(t, "GET", e.Path("/tickets/"+ticket+"/messages"), e.SKTest, nil).Want(t, http.StatusOK).Items(t)
		if len(api) != 5 || api[1]["internal"] != true || api[2]["internal"] != nil {
			t.Fatalf("the agents' history: %v; want 5 with the second internal", api)
		}
		f := stream.WaitUntil("message.created", func(f map[string]any) bool {
			m, _ := f["message"].(map[string]any)
			return m["internal"] == true
		})
		if m := f["message"].(map[string]any); m["body"] != "Note: refund approved by Olive" {
			t.Errorf("the stream's note: %v", m)
		}
		live.WaitUntil("message.created", func(f map[string]any) bool {
			m, _ := f["message"].(map[string]any)
			return m["internal"] == true
		})
		page := b.Get(t, conv)
		if !has(page, "Note: refund approved by Olive") || !has(page, `class="msg note"`) {
			t.Error("the conversation page does not show the note as a note")
		}
	})
}

// TestConversation: the live connection carries the customer's messages,
// typing and read position; the agent's typing reaches the widget; closing
// and reopening reach it too; assignment filters the inbox; signing the
// customer out everywhere closes their widget.
func TestConversation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		tok, custID := e.customer(t, e.PKLive, "Grace")
		w, _, _ := e.WidgetReady(t, e.PKLive, tok, nil)
		b := e.as(t, "mo@acme.example")
		r := b.Get(t, "/app/inbox")
		pos := between(string(r.Raw), `data-pos="`, `"`)
		live, _, _ := b.Live(t, "/app/live?after="+pos)

		w.SendMsg("c1", "Hello")
		ack := w.WaitFor("ack")
		ticket := apptest.Str(ack["message"].(map[string]any)["ticket_id"])
		live.WaitFor("ticket.created")
		f := live.WaitFor("message.created")
		if m := f["message"].(map[string]any); m["body"] != "Hello" {
			t.Fatalf("live: %v", f)
		}
		// The inbox row, the counts.
		row := b.Get(t, "/app/inbox/rows/"+ticket+"?status=open&view=unassigned")
		wantStatus(t, "the row", row, http.StatusOK)
		if !has(row, "Grace") || !has(row, `class="unread-count"`) {
			t.Errorf("the row: %s", row.Raw)
		}
		n := b.Get(t, "/app/inbox/counts?status=open", "Accept", "application/json")
		if !has(n, `"unassigned":1`) || !has(n, `"unread_open":1`) {
			t.Errorf("counts: %s", n.Raw)
		}

		// Typing both ways, the read position.
		w.Send(map[string]any{"type": "typing", "typing": true})
		f = live.WaitFor("typing")
		if a, _ := f["author"].(map[string]any); a["name"] != "Grace" || f["typing"] != true {
			t.Errorf("the customer's typing: %v", f)
		}
		live.Send(map[string]any{"type": "typing", "ticket_id": ticket, "typing": true})
		f = w.WaitFor("typing")
		if a, _ := f["author"].(map[string]any); a["name"] != "Mo" || a["type"] != "agent" {
			t.Errorf("the agent's typing at the widget: %v", f)
		}
		conv := "/app/conversations/" + ticket
		// Fetching the page marks nothing read (a prefetch must not tell the
		// customer); the page's script posts …/read once it is shown.
		b.Get(t, conv)
		c, err := e.App.Chat().Conversation(context.Background(), scope.Scope{TeamID: e.Team.ID, Mode: scope.Live}, ticket)
		if err != nil || c.AgentReadSeq != 0 {
			t.Errorf("after the page's GET: agents' read seq %d (%v), want 0", c.AgentReadSeq, err)
		}
		wantStatus(t, "read", b.Post(t, conv+"/read", form("seq", "1"), "Accept", "application/json"), http.StatusOK)
		if f := w.WaitFor("read"); f["reader"] != "agent" || f["seq"] != float64(1) {
			t.Errorf("the agents' read at the widget: %v", f)
		}
		m := post(t, b, conv+"/messages", "Hi Grace", false)
		w.WaitUntil("message", func(f map[string]any) bool { return f["message"].(map[string]any)["body"] == "Hi Grace" })
		w.Send(map[string]any{"type": "read", "ticket_id": ticket, "seq": m["seq"]})
		f = live.WaitUntil("read", func(f map[string]any) bool { return f["reader"] == "customer" })
		if f["seq"] != float64(2) || f["ticket_id"] != ticket {
			t.Errorf("the customer's read on the live connection: %v", f)
		}

		// Assign to me: the views follow.
		wantRedirect(t, "assign", b.Post(t, conv+"/assign", form("assignee", "me")), conv)
		if !has(b.Get(t, "/app/inbox?view=mine"), "Grace") || has(b.Get(t, "/app/inbox?view=unassigned"), "Grace") {
			t.Error("after assigning: want Grace under mine, not unassigned")
		}
		wantStatus(t, "the row in unassigned", b.Get(t, "/app/inbox/rows/"+ticket+"?view=unassigned"), http.StatusNoContent)
		// The API's ticket says whom it is assigned to.
		if tk := e.Do(t, "GET", "/api/v1/teams/"+e.Team.ID+"/tickets/"+ticket, e.SKLive, nil).Want(t, http.StatusOK).Data(t); tk["assignee_id"] != e.member.ID {
			t.Errorf("the API's ticket: assignee_id %v, want %s", tk["assignee_id"], e.member.ID)
		}
		b.Get(t, conv)
		wantRedirect(t, "assign another team's agent", b.Post(t, conv+"/assign", form("assignee", "01a20000-0000-7000-8000-000000000000")), conv)

		// Close and reopen reach the widget.
		b.Get(t, conv)
		wantRedirect(t, "close", b.Post(t, conv+"/status", form("status", "closed")), conv)
		w.WaitUntil("ticket", func(f map[string]any) bool { return f["ticket"].(map[string]any)["status"] == "closed" })
		if !has(b.Get(t, "/app/inbox?status=closed"), "Grace") || has(b.Get(t, "/app/inbox"), "Grace") {
			t.Error("after closing: want Grace under closed only")
		}
		b.Get(t, conv)
		b.Post(t, conv+"/status", form("status", "open"))
		w.WaitUntil("ticket", func(f map[string]any) bool { return f["ticket"].(map[string]any)["status"] == "open" })

		// The customer panel, and signing them out everywhere.
		page := b.Get(t, conv)
		for _, want := range []string{"grace@example.com", "unverified", "account", "Sign out everywhere"} {
			if !has(page, want) {
				t.Errorf("the customer panel has no %q", want)
			}
		}
		wantRedirect(t, "sign out everywhere", b.Post(t, "/app/customers/"+custID+"/sign-out", form("ticket", ticket)), conv)
		w.WantClose(protocol.CloseSessionInvalid)
		e.Do(t, "GET", "/api/widget/v1/me", e.PKLive, nil, protocol.SessionHeader, tok).Want(t, http.StatusUnauthorized)
	})
}

// TestInboxPaging: 60 conversations page 25 at a time, newest activity
// first, with no repeat and none missed; the older-messages fragment pages
// a long conversation by seq.
func TestInboxPaging(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		var want []string
		for i := range 60 {
			r := e.Do(t, "POST", e.Path("/tickets"), e.SKLive, map[string]any{"subject": fmt.Sprintf("Conversation %02d", i),
				"channel": "chat"}).Want(t, http.StatusCreated)
			want = append([]string{apptest.Str(r.Data(t)["id"])}, want...)
		}
		b := e.as(t, "mo@acme.example")
		var got []string
		path := "/app/inbox"
		for path != "" {
			r := b.Get(t, path)
			wantStatus(t, path, r, http.StatusOK)
			for _, m := range rowIDs.FindAllSubmatch(r.Raw, -1) {
				got = append(got, string(m[1]))
			}
			next := between(string(r.Raw), `<p class="more"><a href="`, `"`)
			path = strings.ReplaceAll(next, "&amp;", "&")
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("pages: got %d conversations %v, want %d newest first", len(got), got, len(want))
		}
		// A message moves a conversation to the top.
		e.Do(t, "POST", e.Path("/tickets/"+want[59]+"/messages"), e.SKLive, map[string]any{"body": "bump", "author_name": "Bot"}).Want(t, 201)
		if m := rowIDs.FindSubmatch(b.Get(t, "/app/inbox").Raw); m == nil || string(m[1]) != want[59] {
			t.Error("the conversation with the newest message is not first")
		}

		// A long conversation: the page shows the last 50, the fragment
		// the ones before.
		for i := range 120 {
			e.Do(t, "POST", e.Path("/tickets/"+want[0]+"/messages"), e.SKLive, map[string]any{"body": fmt.Sprintf("m%d", i+1), "author_name": "Bot"}).Want(t, 201)
		}
		page := b.Get(t, "/app/conversations/"+want[0])
		if n := strings.Count(string(page.Raw), `class="msg agent"`); n != 50 || !has(page, `id="older"`) {
			t.Fatalf("the conversation shows %d messages, want 50 and the older button", n)
		}
		older := b.Get(t, "/app/conversations/"+want[0]+"/messages?before_seq=71")
		if n := strings.Count(string(older.Raw), `class="msg agent"`); n != 50 || older.Header.Get("X-Has-More") != "1" || !has(older, `data-seq="21"`) {
			t.Fatalf("older: %d messages, more=%q", n, older.Header.Get("X-Has-More"))
		}
		oldest := b.Get(t, "/app/conversations/"+want[0]+"/messages?before_seq=21")
		if n := strings.Count(string(oldest.Raw), `class="msg agent"`); n != 20 || oldest.Header.Get("X-Has-More") != "" {
			t.Fatalf("oldest: %d messages, more=%q", n, oldest.Header.Get("X-Has-More"))
		}
	})
}
