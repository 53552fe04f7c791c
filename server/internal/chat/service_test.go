package chat_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/store"
	"github.com/cstar-chat/cstar/server/internal/storetest"
	"github.com/cstar-chat/cstar/server/internal/team"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/uptrace/bun"
)

// recorder is the Publisher: it keeps the ephemeral events.
type recorder struct {
	mu  sync.Mutex
	evs []chat.Event
}

func (r *recorder) Publish(_ context.Context, ev chat.Event) {
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	r.mu.Unlock()
}

func (r *recorder) take() []chat.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.evs
	r.evs = nil
	return out
}

// env is a migrated database with a team, a help desk and the chat service.
type env struct {
	ctx  context.Context
	db   *store.DB
	svc  *chat.Service
	desk *helpdesk.Service
	pub  *recorder
	live scope.Scope
	test scope.Scope
	// other is another team's live scope.
	other scope.Scope
}

func setup(t *testing.T, url string) *env {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, url)
	teams := team.NewService(db, time.Now)
	a, err := teams.Create(ctx, "Acme", "acme")
	if err != nil {
		t.Fatalf("create team: %v", err)
	}
	b, err := teams.Create(ctx, "Other", "other")
	if err != nil {
		t.Fatalf("create team: %v", err)
	}
	pub := &recorder{}
	return &env{ctx: ctx, db: db, svc: chat.NewService(db, pub, time.Now), desk: helpdesk.NewService(chat.LogTicketChanges(db, db), time.Now), pub: pub,
		live: scope.Scope{TeamID: a.ID, Mode: scope.Live}, test: scope.Scope{TeamID: a.ID, Mode: scope.Test},
		other: scope.Scope{TeamID: b.ID, Mode: scope.Live}}
}

func (e *env) customer(t *testing.T, sc scope.Scope, name string) helpdesk.Customer {
	t.Helper()
	email := strings.ToLower(name) + "@example.com"
	c, err := e.desk.CreateCustomer(e.ctx, sc, helpdesk.CustomerInput{Email: &email, Name: &name})
	if err != nil {
		t.Fatalf("create customer: %v", err)
	}
	return c
}

func (e *env) send(t *testing.T, sc scope.Scope, c helpdesk.Customer, clientID, body string) chat.Message {
	t.Helper()
	m, err := e.svc.CustomerSend(e.ctx, sc, c, clientID, body)
	if err != nil {
		t.Fatalf("send %q: %v", body, err)
	}
	return m
}

func (e *env) agent(t *testing.T, sc scope.Scope, ticketID, body string) chat.Message {
	t.Helper()
	m, err := e.svc.AgentPost(e.ctx, sc, ticketID, "", "Bob", "", body)
	if err != nil {
		t.Fatalf("agent post %q: %v", body, err)
	}
	return m
}

func (e *env) close(t *testing.T, sc scope.Scope, ticketID string) {
	t.Helper()
	closed := helpdesk.StatusClosed
	if _, err := e.desk.UpdateTicket(e.ctx, sc, ticketID, helpdesk.TicketInput{Status: &closed}); err != nil {
		t.Fatalf("close ticket: %v", err)
	}
}

func (e *env) all(t *testing.T, sc scope.Scope, ticketID string) []chat.Message {
	t.Helper()
	ms, err := e.svc.After(e.ctx, sc, ticketID, 0, chat.MaxPage)
	if err != nil {
		t.Fatalf("messages: %v", err)
	}
	return ms
}

func seqsOf(ms []chat.Message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.Seq
	}
	return out
}

func span(from, to int64) []int64 {
	out := []int64{}
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func wantCode(t *testing.T, err error, code errs.Code) {
	t.Helper()
	if got := errs.CodeOf(err); got != code {
		t.Fatalf("error: got %v (%v), want code %s", got, err, code)
	}
}

// TestCustomerSendBody: a body is trimmed and holds 1 to 4000 characters
// (not bytes) of valid UTF-8; a refused body stores nothing and opens no
// ticket.
func TestCustomerSendBody(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		cases := []struct {
			name, body, want string
			ok               bool
		}{
			{"plain", "Hello", "Hello", true},
			{"trimmed", " \n\tHi there \n", "Hi there", true},
			{"4000 two-byte characters", strings.Repeat("é", 4000), strings.Repeat("é", 4000), true},
			{"4000 after trimming", "  " + strings.Repeat("a", 4000) + "  ", strings.Repeat("a", 4000), true},
			{"empty", "", "", false},
			{"blank", " \n\t ", "", false},
			{"4001 characters", strings.Repeat("é", 4001), "", false},
			{"invalid UTF-8", "bad \xff byte", "", false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				cust := e.customer(t, e.live, strings.ReplaceAll(c.name, " ", ""))
				m, err := e.svc.CustomerSend(e.ctx, e.live, cust, "", c.body)
				if !c.ok {
					wantCode(t, err, errs.Invalid)
					if _, err := e.db.LatestChatTicket(e.ctx, e.live, cust.ID); !errs.Is(err, errs.NotFound) {
						t.Fatalf("a refused first message opened a ticket (err %v)", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("send: %v", err)
				}
				if m.Body != c.want || m.Seq != 1 {
					t.Fatalf("message: got body %q seq %d, want %q seq 1", m.Body, m.Seq, c.want)
				}
				if m.Author != (chat.Author{Type: chat.AuthorCustomer, ID: cust.ID, Name: cust.Name}) {
					t.Errorf("author: got %+v, want the customer %s", m.Author, cust.ID)
				}
			})
		}
	})
}

// TestCustomerSendClientID: a retried client id returns the first message
// and stores nothing; the same client id from another customer is theirs.
func TestCustomerSendClientID(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		ann, bob := e.customer(t, e.live, "Ann"), e.customer(t, e.live, "Bob")
		first := e.send(t, e.live, ann, "c-1", "Hello")
		again := e.send(t, e.live, ann, "c-1", "Hello again")
		if again.ID != first.ID || again.Seq != 1 || again.Body != "Hello" {
			t.Fatalf("retry: got %s seq %d %q, want the first message %s", again.ID, again.Seq, again.Body, first.ID)
		}
		if got := seqsOf(e.all(t, e.live, first.TicketID)); !slices.Equal(got, []int64{1}) {
			t.Fatalf("stored seqs: got %v, want [1]", got)
		}
		theirs := e.send(t, e.live, bob, "c-1", "Hello from Bob")
		if theirs.ID == first.ID || theirs.TicketID == first.TicketID || theirs.Body != "Hello from Bob" {
			t.Fatalf("another customer's client id: got %+v, want a new message in a new ticket", theirs)
		}
		// The same client id in test mode is another message too.
		annTest := e.customer(t, e.test, "Ann")
		if m := e.send(t, e.test, annTest, "c-1", "test"); m.ID == first.ID {
			t.Fatalf("test mode returned the live message")
		}
		for _, bad := range []string{strings.Repeat("x", 65), "has space", "tab\t", "é"} {
			_, err := e.svc.CustomerSend(e.ctx, e.live, ann, bad, "Hello")
			wantCode(t, err, errs.Invalid)
		}
		if _, err := e.svc.CustomerSend(e.ctx, e.live, ann, strings.Repeat("x", 64), "Hello"); err != nil {
			t.Fatalf("64-character client id: %v", err)
		}
	})
}

// TestSeqGapFreeConcurrent: a customer and three agents posting at once
// get seqs 1..N, each once, and the team's event log stays gap-free.
func TestSeqGapFreeConcurrent(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		ann := e.customer(t, e.live, "Ann")
		tid := e.send(t, e.live, ann, "", "first").TicketID
		const writers, each = 4, 10
		var wg sync.WaitGroup
		errc := make(chan error, writers*each)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					var err error
					if w == 0 {
						_, err = e.svc.CustomerSend(e.ctx, e.live, ann, fmt.Sprintf("c-%d", i), "from Ann")
					} else {
						_, err = e.svc.AgentPost(e.ctx, e.live, tid, "", fmt.Sprintf("Agent %d", w), "", "from an agent")
					}
					errc <- err
				}
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatalf("concurrent post: %v", err)
			}
		}
		const n = 1 + writers*each
		if got := seqsOf(e.all(t, e.live, tid)); !slices.Equal(got, span(1, n)) {
			t.Fatalf("seqs: got %v, want 1..%d", got, n)
		}
		tk, err := e.svc.Ticket(e.ctx, e.live, tid)
		if err != nil || tk.LastSeq != n {
			t.Fatalf("last_seq: got %d (%v), want %d", tk.LastSeq, err, n)
		}
		evs, err := e.svc.EventsAfter(e.ctx, e.live, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		// customer.created (Ann's), ticket.created, then one
		// message.created per message.
		if len(evs) != n+2 {
			t.Fatalf("events: got %d, want %d", len(evs), n+2)
		}
		var msgSeqs []int64
		for i, ev := range evs {
			if ev.Pos != int64(i+1) {
				t.Fatalf("event %d: got pos %d, want %d", i, ev.Pos, i+1)
			}
			if ev.Type == chat.MessageCreated {
				msgSeqs = append(msgSeqs, ev.Message.Seq)
			}
		}
		// The log is in commit order, so a message's event follows its
		// predecessors'.
		if !slices.Equal(msgSeqs, span(1, n)) {
			t.Fatalf("message events: got seqs %v, want 1..%d in order", msgSeqs, n)
		}
		if head, err := e.svc.Head(e.ctx, e.live); err != nil || head != n+2 {
			t.Fatalf("head: got %d (%v), want %d", head, err, n+2)
		}
	})
}

// TestConcurrentFirstSends: the first messages of one customer sent at once
// open one ticket between them.
func TestConcurrentFirstSends(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		ann := e.customer(t, e.live, "Ann")
		const n = 6
		var wg sync.WaitGroup
		msgs := make([]chat.Message, n)
		errl := make([]error, n)
		for i := range n {
			wg.Go(func() { msgs[i], errl[i] = e.svc.CustomerSend(e.ctx, e.live, ann, fmt.Sprintf("c-%d", i), "hello") })
		}
		wg.Wait()
		for i := range n {
			if errl[i] != nil {
				t.Fatalf("send %d: %v", i, errl[i])
			}
			if msgs[i].TicketID != msgs[0].TicketID {
				t.Fatalf("tickets: got %s and %s, want one", msgs[0].TicketID, msgs[i].TicketID)
			}
		}
		if got := seqsOf(e.all(t, e.live, msgs[0].TicketID)); !slices.Equal(got, span(1, n)) {
			t.Fatalf("seqs: got %v, want 1..%d", got, n)
		}
	})
}

// TestClosedTicketOpensNew: once a customer's chat ticket is closed, their
// next message opens a new one, numbered from 1.
func TestClosedTicketOpensNew(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		ann := e.customer(t, e.live, "Ann")
		first := e.send(t, e.live, ann, "", "one")
		if m := e.send(t, e.live, ann, "", "two"); m.TicketID != first.TicketID || m.Seq != 2 {
			t.Fatalf("second message: got ticket %s seq %d, want %s seq 2", m.TicketID, m.Seq, first.TicketID)
		}
		e.close(t, e.live, first.TicketID)
		next := e.send(t, e.live, ann, "", "three")
		if next.TicketID == first.TicketID || next.Seq != 1 {
			t.Fatalf("after close: got ticket %s seq %d, want a new ticket, seq 1", next.TicketID, next.Seq)
		}
		tk, err := e.svc.Ticket(e.ctx, e.live, next.TicketID)
		if err != nil {
			t.Fatal(err)
		}
		if tk.Channel != helpdesk.ChannelChat || tk.Status != helpdesk.StatusOpen || tk.CustomerID != ann.ID || tk.Subject != "three" {
			t.Fatalf("new ticket: got %+v, want an open chat ticket of Ann titled three", tk)
		}
		// Agents may still post to the closed ticket.
		if m := e.agent(t, e.live, first.TicketID, "late reply"); m.Seq != 3 {
			t.Fatalf("agent on the closed ticket: got seq %d, want 3", m.Seq)
		}
	})
}

// TestAgentPost checks an agent's message fields and where it may go.
func TestAgentPost(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		ann := e.customer(t, e.live, "Ann")
		tid := e.send(t, e.live, ann, "", "hello").TicketID
		annTest := e.customer(t, e.test, "Ann")
		testTicket := e.send(t, e.test, annTest, "", "hello").TicketID

		cases := []struct {
			name                                     string
			sc                                       scope.Scope
			ticket, authorType, author, client, body string
			code                                     errs.Code
		}{
			{"agent", e.live, tid, "", "Bob", "", "Hi", ""},
			{"bot", e.live, tid, "bot", "Helper", "", "Beep", ""},
			{"system is not allowed", e.live, tid, "system", "Bob", "", "Hi", errs.Invalid},
			{"customer is not allowed", e.live, tid, "customer", "Bob", "", "Hi", errs.Invalid},
			{"no name", e.live, tid, "", " ", "", "Hi", errs.Invalid},
			{"name of 101", e.live, tid, "", strings.Repeat("n", 101), "", "Hi", errs.Invalid},
			{"name of 100", e.live, tid, "", strings.Repeat("n", 100), "", "Hi", ""},
			{"empty body", e.live, tid, "", "Bob", "", "  ", errs.Invalid},
			{"bad client id", e.live, tid, "", "Bob", "a b", "Hi", errs.Invalid},
			{"malformed ticket id", e.live, "nope", "", "Bob", "", "Hi", errs.NotFound},
			{"unknown ticket", e.live, "0195f3c2-7a41-7c1e-9c3a-2b1d4e5f6a7f", "", "Bob", "", "Hi", errs.NotFound},
			{"test ticket in live", e.live, testTicket, "", "Bob", "", "Hi", errs.NotFound},
			{"another team", e.other, tid, "", "Bob", "", "Hi", errs.NotFound},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				m, err := e.svc.AgentPost(e.ctx, c.sc, c.ticket, c.authorType, c.author, c.client, c.body)
				if c.code != "" {
					wantCode(t, err, c.code)
					return
				}
				if err != nil {
					t.Fatalf("post: %v", err)
				}
				wantType := c.authorType
				if wantType == "" {
					wantType = chat.AuthorAgent
				}
				if m.Author != (chat.Author{Type: wantType, Name: c.author}) || m.TicketID != tid {
					t.Fatalf("message: got author %+v ticket %s, want %s %q in %s", m.Author, m.TicketID, wantType, c.author, tid)
				}
			})
		}
		// A client id is per ticket: the same one in another ticket is
		// another message.
		a1, err := e.svc.AgentPost(e.ctx, e.live, tid, "", "Bob", "k1", "once")
		if err != nil {
			t.Fatal(err)
		}
		a2, err := e.svc.AgentPost(e.ctx, e.live, tid, "", "Bob", "k1", "twice")
		if err != nil || a2.ID != a1.ID {
			t.Fatalf("retry: got %s (%v), want %s", a2.ID, err, a1.ID)
		}
		bob := e.customer(t, e.live, "Bob")
		other := e.send(t, e.live, bob, "", "hi").TicketID
		if a3, err := e.svc.AgentPost(e.ctx, e.live, other, "", "Bob", "k1", "elsewhere"); err != nil || a3.ID == a1.ID {
			t.Fatalf("same client id in another ticket: got %s (%v), want a new message", a3.ID, err)
		}
	})
}

// TestResume: a customer gets what they do not hold, in seq order: the
// latest ticket's last 100 messages when they list nothing, the messages
// after their position otherwise, and nothing of other customers' tickets.
func TestResume(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		ann, bob := e.customer(t, e.live, "Ann"), e.customer(t, e.live, "Bob")
		old := e.send(t, e.live, ann, "", "old ticket").TicketID
		e.agent(t, e.live, old, "old reply")
		e.close(t, e.live, old)
		tid := e.send(t, e.live, ann, "", "m1").TicketID
		for i := 2; i <= 120; i++ {
			e.agent(t, e.live, tid, fmt.Sprintf("m%d", i))
		}
		bobs := e.send(t, e.live, bob, "", "Bob's").TicketID

		cases := []struct {
			name    string
			held    map[string]int64
			want    map[string][]int64 // seqs per ticket, in order
			cursors map[string]int64
		}{
			{"nothing held", nil, map[string][]int64{tid: span(21, 120)}, map[string]int64{tid: 120}},
			{"behind", map[string]int64{tid: 110}, map[string][]int64{tid: span(111, 120)}, map[string]int64{tid: 120}},
			{"up to date", map[string]int64{tid: 120}, map[string][]int64{}, map[string]int64{tid: 120}},
			{"negative", map[string]int64{tid: -5}, map[string][]int64{tid: span(1, 120)}, map[string]int64{tid: 120}},
			{"ahead", map[string]int64{tid: 500}, map[string][]int64{}, map[string]int64{tid: 500}},
			{"closed ticket too", map[string]int64{old: 1}, map[string][]int64{old: {2}, tid: span(21, 120)},
				map[string]int64{old: 2, tid: 120}},
			{"another's ticket", map[string]int64{bobs: 0, "not-an-id": 0}, map[string][]int64{tid: span(21, 120)},
				map[string]int64{tid: 120}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r, err := e.svc.Resume(e.ctx, e.live, ann.ID, c.held)
				if err != nil {
					t.Fatalf("resume: %v", err)
				}
				got := map[string][]int64{}
				for _, m := range r.Messages {
					got[m.TicketID] = append(got[m.TicketID], m.Seq)
				}
				if fmt.Sprint(got) != fmt.Sprint(c.want) {
					t.Errorf("replayed seqs: got %v, want %v", got, c.want)
				}
				if fmt.Sprint(r.Cursors) != fmt.Sprint(c.cursors) {
					t.Errorf("cursors: got %v, want %v", r.Cursors, c.cursors)
				}
				var tickets []string
				for _, tk := range r.Tickets {
					tickets = append(tickets, tk.ID)
				}
				slices.Sort(tickets)
				var want []string
				for id := range c.cursors {
					want = append(want, id)
				}
				slices.Sort(want)
				if !slices.Equal(tickets, want) {
					t.Errorf("tickets: got %v, want %v", tickets, want)
				}
			})
		}
		// A customer without tickets resumes to nothing.
		cat := e.customer(t, e.live, "Cat")
		r, err := e.svc.Resume(e.ctx, e.live, cat.ID, nil)
		if err != nil || len(r.Messages) != 0 || len(r.Tickets) != 0 {
			t.Fatalf("no tickets: got %d messages, %d tickets (%v), want none", len(r.Messages), len(r.Tickets), err)
		}
	})
}

// TestHistory pages a ticket backwards by seq.
func TestHistory(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		ann, bob := e.customer(t, e.live, "Ann"), e.customer(t, e.live, "Bob")
		tid := e.send(t, e.live, ann, "", "1").TicketID
		for i := 2; i <= 5; i++ {
			e.agent(t, e.live, tid, fmt.Sprint(i))
		}
		cases := []struct {
			before int64
			limit  int
			want   []int64
			more   bool
		}{
			{0, 2, []int64{4, 5}, true},
			{4, 2, []int64{2, 3}, true},
			{2, 2, []int64{1}, false},
			{0, 0, span(1, 5), false}, // 0: the default page
			{0, 500, span(1, 5), false},
			{1, 2, []int64{}, false},
		}
		for _, c := range cases {
			p, err := e.svc.History(e.ctx, e.live, tid, c.before, c.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got := seqsOf(p.Messages); !slices.Equal(got, c.want) || p.HasMore != c.more {
				t.Errorf("before %d limit %d: got %v more %v, want %v more %v", c.before, c.limit, got, p.HasMore, c.want, c.more)
			}
		}
		if p, err := e.svc.CustomerHistory(e.ctx, e.live, ann.ID, "", 0, 50); err != nil || len(p.Messages) != 5 {
			t.Errorf("Ann's latest ticket: got %d messages (%v), want 5", len(p.Messages), err)
		}
		_, err := e.svc.CustomerHistory(e.ctx, e.live, bob.ID, tid, 0, 50)
		wantCode(t, err, errs.NotFound)
		if p, err := e.svc.CustomerHistory(e.ctx, e.live, bob.ID, "", 0, 50); err != nil || len(p.Messages) != 0 {
			t.Errorf("Bob without tickets: got %d messages (%v), want 0", len(p.Messages), err)
		}
		_, err = e.svc.History(e.ctx, e.test, tid, 0, 50)
		wantCode(t, err, errs.NotFound)
	})
}

// TestRead: a read position only rises, stops at the last message, and is
// told to the ticket's customer.
func TestRead(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		ann, bob := e.customer(t, e.live, "Ann"), e.customer(t, e.live, "Bob")
		tid := e.send(t, e.live, ann, "", "1").TicketID
		e.agent(t, e.live, tid, "2")
		e.agent(t, e.live, tid, "3")
		e.pub.take()

		// A read that does not move the position is neither written nor
		// told (a dashboard posts its read at each load).
		steps := []struct {
			reader string
			seq    int64
			want   int64
			told   bool
		}{
			{chat.ReaderCustomer, 2, 2, true},
			{chat.ReaderCustomer, 1, 2, false}, // never lowered
			{chat.ReaderCustomer, 2, 2, false}, // the same again
			{chat.ReaderCustomer, 99, 3, true}, // never past the last message
			{chat.ReaderAgent, 1, 1, true},
			{chat.ReaderAgent, 0, 1, false},
		}
		for _, st := range steps {
			var tk helpdesk.Ticket
			var err error
			if st.reader == chat.ReaderCustomer {
				tk, err = e.svc.CustomerRead(e.ctx, e.live, ann.ID, tid, st.seq)
			} else {
				tk, err = e.svc.AgentRead(e.ctx, e.live, tid, st.seq)
			}
			if err != nil {
				t.Fatalf("%s reads %d: %v", st.reader, st.seq, err)
			}
			got := tk.CustomerReadSeq
			if st.reader == chat.ReaderAgent {
				got = tk.AgentReadSeq
			}
			if got != st.want {
				t.Errorf("%s reads %d: got position %d, want %d", st.reader, st.seq, got, st.want)
			}
			evs := e.pub.take()
			if !st.told {
				if len(evs) != 0 {
					t.Errorf("%s reads %d: got events %+v, want none (the position did not move)", st.reader, st.seq, evs)
				}
				continue
			}
			if len(evs) != 1 || evs[0].Type != chat.Read || evs[0].Reader != st.reader || evs[0].Seq != st.want ||
				evs[0].CustomerID != ann.ID || evs[0].TicketID != tid {
				t.Errorf("%s reads %d: got events %+v, want one read event at %d for Ann", st.reader, st.seq, evs, st.want)
			}
		}
		tk, _ := e.svc.Ticket(e.ctx, e.live, tid)
		if tk.CustomerReadSeq != 3 || tk.AgentReadSeq != 1 {
			t.Errorf("stored: got customer %d agent %d, want 3 and 1", tk.CustomerReadSeq, tk.AgentReadSeq)
		}
		_, err := e.svc.CustomerRead(e.ctx, e.live, bob.ID, tid, 1)
		wantCode(t, err, errs.NotFound)
		_, err = e.svc.AgentRead(e.ctx, e.live, tid, -1)
		wantCode(t, err, errs.Invalid)
		_, err = e.svc.AgentRead(e.ctx, e.test, tid, 1)
		wantCode(t, err, errs.NotFound)
		if evs := e.pub.take(); len(evs) != 0 {
			t.Errorf("refused reads published %+v", evs)
		}
	})
}

// TestTyping: a customer's typing goes to their open chat ticket (nothing
// when there is none); an agent's names the ticket's customer.
func TestTyping(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		ann := e.customer(t, e.live, "Ann")
		if err := e.svc.CustomerTyping(e.ctx, e.live, ann, true); err != nil {
			t.Fatal(err)
		}
		if evs := e.pub.take(); len(evs) != 0 {
			t.Fatalf("typing without a ticket: got %+v, want nothing", evs)
		}
		tid := e.send(t, e.live, ann, "", "hello").TicketID
		if err := e.svc.CustomerTyping(e.ctx, e.live, ann, true); err != nil {
			t.Fatal(err)
		}
		evs := e.pub.take()
		want := chat.Author{Type: chat.AuthorCustomer, ID: ann.ID, Name: "Ann"}
		if len(evs) != 1 || evs[0].Type != chat.Typing || evs[0].TicketID != tid || evs[0].Author != want || !evs[0].Typing {
			t.Fatalf("customer typing: got %+v, want one typing event by Ann in %s", evs, tid)
		}
		if err := e.svc.AgentTyping(e.ctx, e.live, tid, "Bob", false); err != nil {
			t.Fatal(err)
		}
		evs = e.pub.take()
		if len(evs) != 1 || evs[0].CustomerID != ann.ID || evs[0].Author != (chat.Author{Type: chat.AuthorAgent, Name: "Bob"}) || evs[0].Typing {
			t.Fatalf("agent typing: got %+v, want Bob stopped typing, to Ann", evs)
		}
		wantCode(t, e.svc.AgentTyping(e.ctx, e.live, tid, "", true), errs.Invalid)
		wantCode(t, e.svc.AgentTyping(e.ctx, e.test, tid, "Bob", true), errs.NotFound)
		e.close(t, e.live, tid)
		if err := e.svc.CustomerTyping(e.ctx, e.live, ann, true); err != nil {
			t.Fatal(err)
		}
		if evs := e.pub.take(); len(evs) != 0 {
			t.Fatalf("typing in a closed ticket: got %+v, want nothing", evs)
		}
	})
}

// TestLiveAndTestApart: test and live modes of one team number their
// tickets' messages and their events separately.
func TestLiveAndTestApart(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		live, test := e.customer(t, e.live, "Ann"), e.customer(t, e.test, "Ann")
		for i := range 3 {
			if m := e.send(t, e.live, live, "", "live"); m.Seq != int64(i+1) {
				t.Fatalf("live seq: got %d, want %d", m.Seq, i+1)
			}
		}
		if m := e.send(t, e.test, test, "", "test"); m.Seq != 1 {
			t.Fatalf("test seq: got %d, want 1", m.Seq)
		}
		for _, c := range []struct {
			sc   scope.Scope
			head int64
		}{{e.live, 5}, {e.test, 3}, {e.other, 0}} { // each customer.created, ticket.created, the messages
			if h, err := e.svc.Head(e.ctx, c.sc); err != nil || h != c.head {
				t.Errorf("head of %v: got %d (%v), want %d", c.sc, h, err, c.head)
			}
			evs, err := e.svc.EventsAfter(e.ctx, c.sc, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				if ev.Scope() != c.sc {
					t.Errorf("events of %v hold one of %v", c.sc, ev.Scope())
				}
			}
		}
	})
}

// TestResumeManyTickets: a customer who holds more tickets than a resume
// serves still gets their open ticket, and what they missed in it, first.
func TestResumeManyTickets(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		ann := e.customer(t, e.live, "Ann")
		held := map[string]int64{}
		for i := range 40 {
			m := e.send(t, e.live, ann, "", fmt.Sprint("conversation ", i))
			held[m.TicketID] = 1
			if i < 39 {
				e.close(t, e.live, m.TicketID)
			}
		}
		open, err := e.db.LatestChatTicket(e.ctx, e.live, ann.ID)
		if err != nil || open.Status != helpdesk.StatusOpen {
			t.Fatalf("open ticket: got %+v (%v)", open, err)
		}
		e.agent(t, e.live, open.ID, "missed")
		// Map order varies from call to call; every call must serve the
		// open ticket.
		for range 20 {
			r, err := e.svc.Resume(e.ctx, e.live, ann.ID, held)
			if err != nil {
				t.Fatal(err)
			}
			var replayed []string
			for _, m := range r.Messages {
				replayed = append(replayed, m.Body)
			}
			if !slices.Contains(replayed, "missed") || r.Cursors[open.ID] != 2 {
				t.Fatalf("resume of %d tickets: got %v and cursors %v, want the open ticket's missed message",
					len(held), replayed, r.Cursors)
			}
		}
	})
}

// TestResumeLooksUpFewTickets: a resume frame that names a thousand made-up
// ticket ids costs a bounded number of queries, and still serves the open
// ticket.
func TestResumeLooksUpFewTickets(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		ann := e.customer(t, e.live, "Ann")
		open := e.send(t, e.live, ann, "", "hello").TicketID
		held := map[string]int64{}
		for range 1000 {
			id, err := ids.New()
			if err != nil {
				t.Fatal(err)
			}
			held[id] = 0
		}
		q := &queryCounter{}
		e.db.Bun().AddQueryHook(q)
		r, err := e.svc.Resume(e.ctx, e.live, ann.ID, held)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Tickets) != 1 || r.Tickets[0].ID != open {
			t.Fatalf("tickets: got %v, want the open one", r.Tickets)
		}
		t.Logf("queries: %d", q.n.Load())
		if n := q.n.Load(); n > 120 {
			t.Fatalf("a resume naming 1,000 unknown tickets ran %d queries, want at most 120", n)
		}
	})
}

// queryCounter counts the queries of a database.
type queryCounter struct{ n atomic.Int64 }

func (q *queryCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	q.n.Add(1)
	return ctx
}

func (q *queryCounter) AfterQuery(context.Context, *bun.QueryEvent) {}

// TestConcurrentRetries: one client id sent several times at once (a
// retry racing the original) stores one message and returns it to all.
func TestConcurrentRetries(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		ann := e.customer(t, e.live, "Ann")
		e.send(t, e.live, ann, "", "open the ticket")
		const n = 6
		var wg sync.WaitGroup
		got := make([]chat.Message, n)
		errl := make([]error, n)
		for i := range n {
			wg.Go(func() { got[i], errl[i] = e.svc.CustomerSend(e.ctx, e.live, ann, "same", "hello") })
		}
		wg.Wait()
		for i := range n {
			if errl[i] != nil {
				t.Fatalf("send %d: %v", i, errl[i])
			}
			if got[i].ID != got[0].ID {
				t.Fatalf("sends: got messages %s and %s, want one", got[0].ID, got[i].ID)
			}
		}
		if seqs := seqsOf(e.all(t, e.live, got[0].TicketID)); !slices.Equal(seqs, []int64{1, 2}) {
			t.Fatalf("stored: got seqs %v, want [1 2]", seqs)
		}
	})
}
