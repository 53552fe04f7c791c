package realtime

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// Notifier sends a payload to every server process (PostgreSQL NOTIFY).
type Notifier interface {
	Notify(ctx context.Context, payload string) error
}

// EventLoader reads durable events back by position.
type EventLoader interface {
	EventsAfter(ctx context.Context, sc scope.Scope, after int64, limit int) ([]chat.Event, error)
}

// Bus carries events to the hub of every server process. Without a
// notifier (SQLite, one process) it hands them straight to the local hub.
// With one, durable events travel as their position (the store queues the
// notice in the event's own transaction) and ephemeral ones as small JSON,
// and every process delivers what it hears; the process that stored a
// message also delivers it at once (see Committed).
type Bus struct {
	hub    *Hub
	notify Notifier
	load   EventLoader
	log    *slog.Logger

	mu sync.Mutex
	// early holds the positions this process published before their notice
	// came back, so that the notice does not read them again.
	early map[scope.Scope]map[int64]struct{}
}

// maxEarly bounds early per team and mode, in case notices stop coming
// back (a listener reconnecting): forgetting only costs a second delivery,
// which connections drop.
const maxEarly = 4096

// NewLocalBus is the bus of a single process.
func NewLocalBus(h *Hub) *Bus { return &Bus{hub: h, log: slog.New(slog.DiscardHandler)} }

// NewSharedBus is the bus of processes that share PostgreSQL; feed it the
// notifications with Run or ReceiveBatch.
func NewSharedBus(h *Hub, n Notifier, l EventLoader, log *slog.Logger) *Bus {
	return &Bus{hub: h, notify: n, load: l, log: log, early: map[scope.Scope]map[int64]struct{}{}}
}

// Committed takes durable events once stored (the store's commit hook). A
// local bus publishes them. A shared bus publishes a batch of new messages
// at once too, rather than wait for its own notice and read the rows back:
// that round trip was most of the delivery time. Everything else (ticket
// events, whose rows the notice reads complete, and a conversation's first
// message, which follows its ticket.created) waits for the notice. Order
// across processes was never guaranteed anyway: connections skip what they
// already have and fill a gap from the database before they go on.
func (b *Bus) Committed(evs []chat.Event) {
	if b.notify != nil {
		for _, ev := range evs {
			if ev.Type != chat.MessageCreated || ev.Message == nil || ev.Pos == 0 {
				return
			}
		}
		b.mu.Lock()
		for _, ev := range evs {
			sc := scope.Scope{TeamID: ev.TeamID, Mode: ev.Mode}
			set := b.early[sc]
			if set == nil || len(set) >= maxEarly {
				set = map[int64]struct{}{}
				b.early[sc] = set
			}
			set[ev.Pos] = struct{}{}
		}
		b.mu.Unlock()
	}
	for _, ev := range evs {
		b.hub.Publish(ev)
	}
}

// takeEarly reports whether this process published position pos already,
// and forgets it.
func (b *Bus) takeEarly(sc scope.Scope, pos int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	set := b.early[sc]
	if _, ok := set[pos]; ok {
		delete(set, pos)
		return true
	}
	return false
}

// Publish implements chat.Publisher for ephemeral events.
func (b *Bus) Publish(ctx context.Context, ev chat.Event) {
	if b.notify == nil {
		b.hub.Publish(ev)
		return
	}
	payload := Notice{Scope: ev.Scope(), Event: &ev}.Format()
	if mustArrive(ev) {
		// The end of a key, a session or an agent closes sockets on every
		// process: it must not die with the request that caused it (a
		// client that went away) or with a moment's database trouble.
		ctx = context.WithoutCancel(ctx)
		if err := b.notify.Notify(ctx, payload); err != nil {
			go b.publishReliably(ctx, ev.Type, payload)
		}
		return
	}
	// A hint lost to an outage is not worth a line per event: the store
	// logs the outage.
	if err := b.notify.Notify(ctx, payload); err != nil && !errs.Is(err, errs.Unavailable) {
		b.log.ErrorContext(ctx, "publish ephemeral event", "type", ev.Type, "err", err)
	}
}

// mustArrive are the ephemeral events that end access rather than hint.
func mustArrive(ev chat.Event) bool {
	return ev.Type == chat.SessionRevoked || ev.Type == chat.KeyEnded || ev.Type == chat.AgentEnded
}

// publishReliably tries again to send payload, for about a minute.
func (b *Bus) publishReliably(ctx context.Context, typ, payload string) {
	wait := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := b.notify.Notify(c, payload)
		cancel()
		if err == nil {
			return
		}
		if attempt == 10 {
			b.log.ErrorContext(ctx, "publish the end of access: gave up", "type", typ, "err", err)
			return
		}
		time.Sleep(wait)
		wait = min(2*wait, 10*time.Second)
	}
}

// Receive delivers one notification to the local hub.
func (b *Bus) Receive(ctx context.Context, payload string) { b.ReceiveBatch(ctx, []string{payload}) }

// Run delivers the notifications from in until ctx ends, in batches of what
// has arrived meanwhile: a batch's durable events are read with one query
// per team and mode rather than one each, which is what keeps up with
// hundreds of messages a second.
func (b *Bus) Run(ctx context.Context, in <-chan string) {
	const maxBatch = 1000
	for {
		var batch []string
		select {
		case <-ctx.Done():
			return
		case p := <-in:
			batch = append(batch, p)
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case p := <-in:
				batch = append(batch, p)
			default:
				break drain
			}
		}
		b.ReceiveBatch(ctx, batch)
	}
}

// ReceiveBatch delivers notifications to the local hub: ephemeral events at
// once, durable ones read back by runs of consecutive positions (skipping
// those this process published early) and published in order.
func (b *Bus) ReceiveBatch(ctx context.Context, payloads []string) {
	want := map[scope.Scope][]int64{}
	var order []scope.Scope
	for _, p := range payloads {
		n, err := ParseNotice(p)
		if err != nil {
			b.log.ErrorContext(ctx, "receive event", "err", err)
			continue
		}
		if n.Event != nil {
			b.hub.Publish(*n.Event)
			continue
		}
		if b.takeEarly(n.Scope, n.Pos) {
			continue
		}
		if _, ok := want[n.Scope]; !ok {
			order = append(order, n.Scope)
		}
		want[n.Scope] = append(want[n.Scope], n.Pos)
	}
	for _, sc := range order {
		ps := want[sc]
		slices.Sort(ps)
		ps = slices.Compact(ps)
		for len(ps) > 0 {
			n := 1 // the run of consecutive positions that starts ps
			for n < len(ps) && ps[n] == ps[n-1]+1 {
				n++
			}
			b.loadRun(ctx, sc, ps[0], ps[n-1])
			ps = ps[n:]
		}
	}
}

// loadRun reads the events lo..hi of sc and publishes them in order.
func (b *Bus) loadRun(ctx context.Context, sc scope.Scope, lo, hi int64) {
	after := lo - 1
	for after < hi {
		evs, err := b.load.EventsAfter(ctx, sc, after, int(min(hi-after, 500)))
		if err != nil {
			// The clients' resume fills what was missed: the listener's
			// return after an outage closes every socket with 4000.
			if !errs.Is(err, errs.Unavailable) {
				b.log.ErrorContext(ctx, "receive events", "from", after+1, "to", hi, "err", err)
			}
			return
		}
		if len(evs) == 0 {
			b.log.ErrorContext(ctx, "receive events: notified events are missing", "from", after+1, "to", hi)
			return
		}
		for _, ev := range evs {
			if ev.Pos > hi {
				return
			}
			b.hub.Publish(ev)
			after = ev.Pos
		}
	}
}
