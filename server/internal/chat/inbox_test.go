package chat_test

import (
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// TestNotes: an internal note takes the ticket's next seq and is marked on
// every read of the agents, and never in what the customer reads: their
// history, the messages after a seq, a resume.
func TestNotes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		ann := e.customer(t, e.live, "Ann")
		first := e.send(t, e.live, ann, "c1", "hello")
		note, err := e.svc.Post(e.ctx, e.live, first.TicketID, chat.Author{ID: "01a20000-0000-7000-8000-00000000000a", Name: "Olive"}, "n1", "a note", true)
		if err != nil || !note.Internal || note.Seq != 2 || note.Author.Type != chat.AuthorAgent || note.Author.ID == "" {
			t.Fatalf("note: got %+v, %v; want an internal agent message with seq 2", note, err)
		}
		again, err := e.svc.Post(e.ctx, e.live, first.TicketID, chat.Author{Name: "Olive"}, "n1", "a note", true)
		if err != nil || again.ID != note.ID {
			t.Fatalf("a retried note: got %+v, %v; want the first", again, err)
		}
		reply, err := e.svc.Post(e.ctx, e.live, first.TicketID, chat.Author{Name: "Olive"}, "", "a reply", false)
		if err != nil || reply.Internal || reply.Seq != 3 {
			t.Fatalf("reply: got %+v, %v", reply, err)
		}
		e.svc.Post(e.ctx, e.live, first.TicketID, chat.Author{Name: "Olive"}, "", "a last note", true)

		agents, err := e.svc.History(e.ctx, e.live, first.TicketID, 0, 50)
		if err != nil || len(agents.Messages) != 4 || !agents.Messages[1].Internal || !agents.Messages[3].Internal {
			t.Fatalf("the agents' history: %+v, %v; want 4 with the notes marked", agents.Messages, err)
		}
		hist, err := e.svc.CustomerHistory(e.ctx, e.live, ann.ID, "", 0, 50)
		if err != nil || len(hist.Messages) != 2 || hist.Messages[1].Body != "a reply" {
			t.Fatalf("the customer's history: %+v, %v; want hello and the reply", hist.Messages, err)
		}
		after, _ := e.svc.CustomerAfter(e.ctx, e.live, first.TicketID, 1, 50)
		if len(after) != 1 || after[0].Seq != 3 {
			t.Fatalf("the customer's messages after 1: %+v, want the reply", after)
		}
		for _, held := range []map[string]int64{nil, {first.TicketID: 0}, {first.TicketID: 1}} {
			res, err := e.svc.Resume(e.ctx, e.live, ann.ID, held)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range res.Messages {
				if m.Internal {
					t.Fatalf("resume %v: replayed note %q", held, m.Body)
				}
			}
			// Trailing notes leave no gap: the cursor is the ticket's last seq.
			if res.Cursors[first.TicketID] != 4 {
				t.Errorf("resume %v: cursor %d, want 4", held, res.Cursors[first.TicketID])
			}
		}
		evs, _ := e.svc.EventsAfter(e.ctx, e.live, 0, 100)
		notes := 0
		for _, ev := range evs {
			if ev.Message != nil && ev.Message.Internal {
				notes++
			}
		}
		if notes != 2 {
			t.Errorf("the events log: %d notes marked, want 2", notes)
		}
	})
}

// TestInbox: the views filter by status and assignee, newest activity
// first, with counts of each view and of the unread.
func TestInbox(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		ann, bob, cat := e.customer(t, e.live, "Ann"), e.customer(t, e.live, "Bob"), e.customer(t, e.live, "Cat")
		a := e.send(t, e.live, ann, "1", "from Ann")
		b := e.send(t, e.live, bob, "2", "from Bob")
		c := e.send(t, e.live, cat, "3", "from Cat")
		e.send(t, e.test, e.customer(t, e.test, "Tess"), "4", "a test one")
		mine := "01a20000-0000-7000-8000-00000000000a"
		// Bob's is someone's (the agent needs to exist for the foreign key).
		if err := e.db.InsertAgent(e.ctx, agentRow(e.live.TeamID, mine), "x"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.desk.Assign(e.ctx, e.live, b.TicketID, mine); err != nil {
			t.Fatal(err)
		}
		// Messages are stamped to the millisecond, ticket changes to the
		// microsecond: a message in the same millisecond as an assignment
		// could sort before it.
		time.Sleep(2 * time.Millisecond)
		e.agent(t, e.live, a.TicketID, "answered") // Ann's moves to the top
		e.svc.AgentRead(e.ctx, e.live, a.TicketID, 2)
		e.close(t, e.live, c.TicketID)

		ids := func(f chat.InboxFilter) []string {
			p, err := e.svc.Inbox(e.ctx, e.live, f, "", 10)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, c := range p.Items {
				out = append(out, c.CustomerName)
			}
			return out
		}
		for _, c := range []struct {
			f    chat.InboxFilter
			want string
		}{
			{chat.InboxFilter{Status: helpdesk.StatusOpen}, "[Ann Bob]"},
			{chat.InboxFilter{Status: helpdesk.StatusOpen, Assignee: chat.Unassigned}, "[Ann]"},
			{chat.InboxFilter{Status: helpdesk.StatusOpen, Assignee: mine}, "[Bob]"},
			{chat.InboxFilter{Status: helpdesk.StatusClosed}, "[Cat]"},
			{chat.InboxFilter{Status: helpdesk.StatusPending}, "[]"},
		} {
			if got := fmtList(ids(c.f)); got != c.want {
				t.Errorf("%+v: got %s, want %s", c.f, got, c.want)
			}
		}
		conv, err := e.svc.Conversation(e.ctx, e.live, a.TicketID)
		if err != nil || conv.Last == nil || conv.Last.Body != "answered" || conv.Unread() != 0 || conv.CustomerEmail != "ann@example.com" {
			t.Fatalf("Ann's conversation: %+v, %v", conv, err)
		}
		n, err := e.svc.InboxCounts(e.ctx, e.live, helpdesk.StatusOpen, mine)
		if err != nil || n != (chat.InboxCounts{All: 2, Unassigned: 1, Mine: 1, UnreadAll: 1, UnreadMine: 1}) {
			t.Fatalf("counts: %+v, %v", n, err)
		}
		if _, err := e.svc.Inbox(e.ctx, e.live, chat.InboxFilter{Status: "nope"}, "", 10); err == nil {
			t.Error("an unknown status: no error")
		}
		if _, err := e.svc.Inbox(e.ctx, e.live, chat.InboxFilter{Status: helpdesk.StatusOpen}, "not a cursor", 10); err == nil {
			t.Error("a bad cursor: no error")
		}
	})
}

func fmtList(s []string) string {
	out := "["
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += v
	}
	return out + "]"
}
