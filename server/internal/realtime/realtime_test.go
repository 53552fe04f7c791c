package realtime_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/realtime"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// sub is a Subscriber that keeps what it is offered.
type sub struct {
	name   string
	mu     sync.Mutex
	got    []chat.Event
	closed []int
}

func (s *sub) Offer(ev *chat.Event) {
	s.mu.Lock()
	s.got = append(s.got, *ev)
	s.mu.Unlock()
}

func (s *sub) Close(code int, _ string) {
	s.mu.Lock()
	s.closed = append(s.closed, code)
	s.mu.Unlock()
}

func (s *sub) take() []chat.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.got
	s.got = nil
	return out
}

var (
	teamA = "0195f3c2-0000-7000-8000-00000000000a"
	teamB = "0195f3c2-0000-7000-8000-00000000000b"
	aLive = scope.Scope{TeamID: teamA, Mode: scope.Live}
	aTest = scope.Scope{TeamID: teamA, Mode: scope.Test}
	bLive = scope.Scope{TeamID: teamB, Mode: scope.Live}
)

const ann, bob = "ann", "bob"

func ev(sc scope.Scope, typ, customer string, author string) chat.Event {
	return chat.Event{Type: typ, TeamID: sc.TeamID, Mode: sc.Mode, TicketID: "t1", CustomerID: customer,
		Author: chat.Author{Type: author}}
}

// TestHubRoutes: each event reaches the connections it concerns and no
// other, and test and live never meet.
func TestHubRoutes(t *testing.T) {
	h := realtime.NewHub()
	subs := map[string]*sub{}
	add := func(name string, sc scope.Scope, customer string) {
		s := &sub{name: name}
		subs[name] = s
		switch customer {
		case "":
			h.SubscribeTeam(sc, s)
		case "dashboard":
			h.SubscribeAgents(sc, s)
		default:
			h.SubscribeCustomer(sc, customer, s)
		}
	}
	add("ann", aLive, ann)
	add("ann2", aLive, ann) // Ann's second tab
	add("bob", aLive, bob)
	add("annTest", aTest, ann)
	add("agents", aLive, "")
	add("agentsTest", aTest, "")
	add("otherTeam", bLive, "")
	add("otherAnn", bLive, ann)
	add("dash", aLive, "dashboard")
	add("dashTest", aTest, "dashboard")
	if w, st := h.Counts(); w != 5 || st != 5 {
		t.Fatalf("counts: got %d widgets %d streams and dashboards, want 5 and 5", w, st)
	}
	note := ev(aLive, chat.MessageCreated, ann, chat.AuthorAgent)
	note.Message = &chat.Message{Internal: true, Body: "a note"}
	reply := ev(aLive, chat.MessageCreated, ann, chat.AuthorAgent)
	reply.Message = &chat.Message{Body: "a reply"}
	customerRead := ev(aLive, chat.Read, ann, "")
	customerRead.Reader = chat.ReaderCustomer
	ended := ev(aLive, chat.AgentEnded, "", chat.AuthorAgent)

	cases := []struct {
		name string
		ev   chat.Event
		want []string
	}{
		{"message", ev(aLive, chat.MessageCreated, ann, chat.AuthorAgent), []string{"agents", "ann", "ann2", "dash"}},
		{"reply", reply, []string{"agents", "ann", "ann2", "dash"}},
		{"internal note", note, []string{"agents", "dash"}},
		{"ticket created", ev(aLive, chat.TicketCreated, ann, ""), []string{"agents", "ann", "ann2", "dash"}},
		{"ticket updated", ev(aLive, chat.TicketUpdated, bob, ""), []string{"agents", "bob", "dash"}},
		{"ticket without a customer", ev(aLive, chat.TicketUpdated, "", ""), []string{"agents", "dash"}},
		{"agent typing", ev(aLive, chat.Typing, ann, chat.AuthorAgent), []string{"ann", "ann2"}},
		{"customer typing", ev(aLive, chat.Typing, ann, chat.AuthorCustomer), []string{"agents", "dash"}},
		{"read", ev(aLive, chat.Read, ann, ""), []string{"ann", "ann2", "dash"}},
		{"customer read", customerRead, []string{"ann", "ann2", "dash"}},
		{"session revoked", ev(aLive, chat.SessionRevoked, ann, ""), []string{"ann", "ann2"}},
		{"agent ended", ended, []string{"dash"}},
		{"test message", ev(aTest, chat.MessageCreated, ann, chat.AuthorCustomer), []string{"agentsTest", "annTest", "dashTest"}},
		{"other team", ev(bLive, chat.MessageCreated, ann, chat.AuthorCustomer), []string{"otherAnn", "otherTeam"}},
		{"unknown type", ev(aLive, "something.else", ann, ""), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.Publish(c.ev)
			var got []string
			for name, s := range subs {
				evs := s.take()
				if len(evs) > 1 {
					t.Errorf("%s: got %d copies, want 1", name, len(evs))
				}
				if len(evs) == 1 {
					got = append(got, name)
					if !reflect.DeepEqual(evs[0], c.ev) {
						t.Errorf("%s: got %+v, want %+v", name, evs[0], c.ev)
					}
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("delivered to %v, want %v", got, c.want)
			}
		})
	}
}

// TestHubUnsubscribeAndCloseAll: a removed connection hears nothing (and
// removing twice is harmless); CloseAll closes every connection once.
func TestHubUnsubscribeAndCloseAll(t *testing.T) {
	h := realtime.NewHub()
	a1, a2, st := &sub{}, &sub{}, &sub{}
	off1 := h.SubscribeCustomer(aLive, ann, a1)
	h.SubscribeCustomer(aLive, ann, a2)
	offSt := h.SubscribeTeam(aLive, st)
	off1()
	off1()
	if w, s := h.Counts(); w != 1 || s != 1 {
		t.Fatalf("counts after removing one widget: got %d, %d, want 1, 1", w, s)
	}
	h.Publish(ev(aLive, chat.MessageCreated, ann, chat.AuthorAgent))
	if n := len(a1.take()); n != 0 {
		t.Errorf("removed connection: got %d events, want 0", n)
	}
	if n := len(a2.take()); n != 1 {
		t.Errorf("remaining connection: got %d events, want 1", n)
	}
	h.CloseAll(4000, "bye")
	for name, s := range map[string]*sub{"removed": a1, "widget": a2, "stream": st} {
		want := []int{4000}
		if s == a1 {
			want = nil
		}
		if !slices.Equal(s.closed, want) {
			t.Errorf("%s: closed with %v, want %v", name, s.closed, want)
		}
	}
	offSt()
	if w, s := h.Counts(); w != 1 || s != 0 {
		t.Fatalf("counts: got %d, %d, want 1, 0", w, s)
	}
}

// notifier records NOTIFY payloads.
type notifier struct {
	mu       sync.Mutex
	payloads []string
	err      error
}

func (n *notifier) Notify(_ context.Context, p string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.payloads = append(n.payloads, p)
	return n.err
}

// loader serves durable events by position.
type loader struct {
	evs   map[int64]chat.Event
	calls int
}

func (l *loader) EventsAfter(_ context.Context, sc scope.Scope, after int64, limit int) ([]chat.Event, error) {
	l.calls++
	out := []chat.Event{}
	for p := after + 1; len(out) < limit; p++ {
		e, ok := l.evs[p]
		if !ok || e.Scope() != sc {
			break
		}
		out = append(out, e)
	}
	return out, nil
}

// TestLocalBus: in one process both durable and ephemeral events go
// straight to the hub.
func TestLocalBus(t *testing.T) {
	h := realtime.NewHub()
	s := &sub{}
	h.SubscribeCustomer(aLive, ann, s)
	b := realtime.NewLocalBus(h)
	b.Committed([]chat.Event{ev(aLive, chat.TicketCreated, ann, ""), ev(aLive, chat.MessageCreated, ann, chat.AuthorCustomer)})
	b.Publish(context.Background(), ev(aLive, chat.Typing, ann, chat.AuthorAgent))
	var types []string
	for _, e := range s.take() {
		types = append(types, e.Type)
	}
	if want := []string{chat.TicketCreated, chat.MessageCreated, chat.Typing}; !slices.Equal(types, want) {
		t.Fatalf("delivered: got %v, want %v", types, want)
	}
}

// TestSharedBusEphemeral: an ephemeral event travels as NOTIFY and comes
// back out of Receive equal, in every field the hub and the sockets use;
// nothing reaches the hub before the notice does.
func TestSharedBusEphemeral(t *testing.T) {
	at := time.Date(2026, 11, 28, 10, 0, 0, 123000000, time.UTC)
	events := []chat.Event{
		{Type: chat.Typing, TeamID: teamA, Mode: scope.Live, TicketID: "t1", CustomerID: ann,
			Author: chat.Author{Type: chat.AuthorCustomer, ID: ann, Name: "Ann «Ö»|e|"}, Typing: true, CreatedAt: at},
		{Type: chat.Typing, TeamID: teamA, Mode: scope.Test, TicketID: "t1", CustomerID: ann,
			Author: chat.Author{Type: chat.AuthorAgent, Name: "Bob"}, CreatedAt: at},
		{Type: chat.Read, TeamID: teamA, Mode: scope.Live, TicketID: "t1", CustomerID: ann, Reader: chat.ReaderAgent, Seq: 42, CreatedAt: at},
		{Type: chat.SessionRevoked, TeamID: teamA, Mode: scope.Live, CustomerID: ann, SessionID: "s1", CreatedAt: at},
	}
	for _, e := range events {
		t.Run(e.Type, func(t *testing.T) {
			h := realtime.NewHub()
			s := &sub{}
			h.SubscribeCustomer(e.Scope(), ann, s)
			h.SubscribeTeam(e.Scope(), s)
			n := &notifier{}
			b := realtime.NewSharedBus(h, n, &loader{}, slog.New(slog.DiscardHandler))
			b.Publish(context.Background(), e)
			if got := s.take(); len(got) != 0 {
				t.Fatalf("delivered before the notice: %+v", got)
			}
			if len(n.payloads) != 1 || !strings.HasPrefix(n.payloads[0], "e|") {
				t.Fatalf("notices: got %q, want one e|…", n.payloads)
			}
			if len(n.payloads[0]) > 8000 {
				t.Fatalf("notice of %d bytes, over PostgreSQL's 8000", len(n.payloads[0]))
			}
			b.Receive(context.Background(), n.payloads[0])
			got := s.take()
			if len(got) != 1 {
				t.Fatalf("after the notice: got %d events, want 1", len(got))
			}
			if !reflect.DeepEqual(got[0], e) {
				t.Fatalf("decoded:\ngot  %+v\nwant %+v", got[0], e)
			}
		})
	}
	// A failing NOTIFY is logged, not fatal.
	b := realtime.NewSharedBus(realtime.NewHub(), &notifier{err: errors.New("down")}, &loader{}, slog.New(slog.DiscardHandler))
	b.Publish(context.Background(), events[0])
}

// TestSharedBusDurable: a durable event's notice carries its position; the
// receiver loads that one event and delivers it. A notice that does not
// decode or names a missing event delivers nothing.
func TestSharedBusDurable(t *testing.T) {
	msg := &chat.Message{ID: "m1", TicketID: "t1", Seq: 3, Body: "hi"}
	stored := chat.Event{Type: chat.MessageCreated, Pos: 7, TeamID: teamA, Mode: scope.Live, TicketID: "t1",
		CustomerID: ann, MessageID: "m1", Message: msg}
	h := realtime.NewHub()
	s := &sub{}
	h.SubscribeTeam(aLive, s)
	h.SubscribeCustomer(aLive, ann, s)
	l := &loader{evs: map[int64]chat.Event{7: stored}}
	b := realtime.NewSharedBus(h, &notifier{}, l, slog.New(slog.DiscardHandler))

	notice := realtime.DurableNotice(stored).Format()
	if len(notice) > 100 {
		t.Errorf("durable notice of %d bytes: want a short position, got %q", len(notice), notice)
	}
	b.Receive(context.Background(), notice)
	got := s.take()
	if len(got) != 2 || !reflect.DeepEqual(got[0], stored) || !reflect.DeepEqual(got[1], stored) {
		t.Fatalf("delivered: got %+v, want the stored event to the stream and the widget", got)
	}

	bad := []string{
		"",
		"x|something",
		"d|" + teamA + "|live",
		"d|" + teamA + "|live|0",
		"d|" + teamA + "|live|seven",
		"d|" + teamA + "|live|8", // no such event
		"d|" + teamA + "|test|7", // another mode
		"d|" + teamB + "|live|7", // another team
		"e|{not json",
	}
	for _, p := range bad {
		b.Receive(context.Background(), p)
		if got := s.take(); len(got) != 0 {
			t.Errorf("notice %q delivered %+v", p, got)
		}
	}
}

// TestSharedBusCommittedEarly: the process that stored a batch of messages
// delivers it at once, and its own notices then read nothing and deliver
// nothing again; a batch with a ticket event waits for its notices, which
// deliver it in order.
func TestSharedBusCommittedEarly(t *testing.T) {
	l := &loader{evs: map[int64]chat.Event{}}
	l.evs[1] = chat.Event{Type: chat.TicketCreated, Pos: 1, TeamID: teamA, Mode: scope.Live, TicketID: "t1", CustomerID: ann,
		Ticket: &helpdesk.Ticket{ID: "t1"}}
	for p := int64(2); p <= 3; p++ {
		l.evs[p] = chat.Event{Type: chat.MessageCreated, Pos: p, TeamID: teamA, Mode: scope.Live, TicketID: "t1", CustomerID: ann,
			Message: &chat.Message{ID: fmt.Sprint("m", p), TicketID: "t1", Seq: p - 1}}
	}
	h := realtime.NewHub()
	s := &sub{}
	h.SubscribeTeam(aLive, s)
	b := realtime.NewSharedBus(h, &notifier{}, l, slog.New(slog.DiscardHandler))
	types := func() []string {
		var got []string
		for _, e := range s.take() {
			got = append(got, fmt.Sprintf("%s/%d", e.Type, e.Pos))
		}
		return got
	}

	// A conversation's first message comes with its ticket: both wait.
	b.Committed([]chat.Event{l.evs[1], l.evs[2]})
	if got := types(); len(got) != 0 {
		t.Fatalf("Committed with a ticket event delivered %v before the notice", got)
	}
	b.ReceiveBatch(context.Background(), []string{realtime.DurableNotice(l.evs[1]).Format(), realtime.DurableNotice(l.evs[2]).Format()})
	if got, want := types(), []string{"ticket.created/1", "message.created/2"}; !slices.Equal(got, want) {
		t.Fatalf("after the notices: got %v, want %v", got, want)
	}

	// A later message goes out at once; its notice reads nothing.
	b.Committed([]chat.Event{l.evs[3]})
	if got, want := types(), []string{"message.created/3"}; !slices.Equal(got, want) {
		t.Fatalf("Committed of a message: got %v, want %v", got, want)
	}
	calls := l.calls
	b.Receive(context.Background(), realtime.DurableNotice(l.evs[3]).Format())
	if got := types(); len(got) != 0 || l.calls != calls {
		t.Fatalf("its own notice: delivered %v and read %d times, want nothing", got, l.calls-calls)
	}
	// Another process's notice for the same position still delivers (the
	// early mark was used up), and connections drop the repeat.
	b.Receive(context.Background(), realtime.DurableNotice(l.evs[3]).Format())
	if got, want := types(), []string{"message.created/3"}; !slices.Equal(got, want) {
		t.Fatalf("a second notice: got %v, want %v", got, want)
	}
}

// TestSharedBusBatch: notices that arrive together are delivered once
// each, durable ones in position order per team and mode (whatever order
// the batch holds them in), ephemeral ones too.
func TestSharedBusBatch(t *testing.T) {
	l := &loader{evs: map[int64]chat.Event{}}
	for p := int64(1); p <= 4; p++ {
		l.evs[p] = chat.Event{Type: chat.MessageCreated, Pos: p, TeamID: teamA, Mode: scope.Live, TicketID: "t1", CustomerID: ann}
	}
	h := realtime.NewHub()
	s := &sub{}
	h.SubscribeTeam(aLive, s)
	h.SubscribeCustomer(aLive, ann, s)
	n := &notifier{}
	b := realtime.NewSharedBus(h, n, l, slog.New(slog.DiscardHandler))
	b.Publish(context.Background(), chat.Event{Type: chat.Typing, TeamID: teamA, Mode: scope.Live, TicketID: "t1",
		CustomerID: ann, Author: chat.Author{Type: chat.AuthorAgent, Name: "Bob"}, Typing: true})
	notice := func(p int64) string { return realtime.DurableNotice(l.evs[p]).Format() }
	b.ReceiveBatch(context.Background(), []string{notice(3), notice(1), n.payloads[0], notice(2), notice(3), "junk"})
	var got []string
	for _, e := range s.take() {
		got = append(got, fmt.Sprintf("%s/%d", e.Type, e.Pos))
	}
	// The agent's typing goes to Ann's widget; each message to her widget
	// and to the stream.
	want := []string{"typing/0"}
	for p := 1; p <= 3; p++ {
		want = append(want, fmt.Sprintf("message.created/%d", p), fmt.Sprintf("message.created/%d", p))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("delivered: got %v, want %v", got, want)
	}
	// Positions 2 and 4 without 3 (its notice is still on the way) deliver
	// just those two: 3 comes with its own notice.
	b.ReceiveBatch(context.Background(), []string{notice(4), notice(2)})
	got = nil
	for _, e := range s.take() {
		got = append(got, fmt.Sprintf("%s/%d", e.Type, e.Pos))
	}
	want = []string{"message.created/2", "message.created/2", "message.created/4", "message.created/4"}
	if !slices.Equal(got, want) {
		t.Fatalf("a batch with a hole: got %v, want %v", got, want)
	}
}

// flaky fails its first n notices, and any sent with a context that is
// already cancelled.
type flaky struct {
	mu   sync.Mutex
	n    int
	sent []string
}

func (f *flaky) Notify(ctx context.Context, p string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if f.n > 0 {
		f.n--
		return errors.New("connection reset")
	}
	f.sent = append(f.sent, p)
	return nil
}

// TestSharedBusEndOfAccessArrives: the end of a key, a session or an agent
// reaches the other processes even when the request that caused it is gone
// (its context cancelled) and the first notices fail; a typing hint is not
// retried. Before, such an end was lost and its sockets stayed open.
func TestSharedBusEndOfAccessArrives(t *testing.T) {
	f := &flaky{n: 2}
	b := realtime.NewSharedBus(realtime.NewHub(), f, &loader{}, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b.Publish(ctx, chat.Event{Type: chat.KeyEnded, TeamID: teamA, Mode: scope.Live, KeyID: "k1"})
	b.Publish(ctx, chat.Event{Type: chat.Typing, TeamID: teamA, Mode: scope.Live, Typing: true})
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		sent := append([]string(nil), f.sent...)
		f.mu.Unlock()
		if len(sent) == 1 && strings.Contains(sent[0], `"kid":"k1"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("notices sent: got %q, want the key's end once (and no typing)", sent)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
