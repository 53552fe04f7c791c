package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// The ledger is what every side did and saw, keyed by message body: each
// body is unique in the run ("w03.0017 …" typed by widget 3, "a1.0042 re
// w03.0017" an agent's reply to it), so a message can be followed from the
// keyboard to the database and to every screen whatever ids the server
// gave it.

// intent is one message a visitor typed or an agent sent.
type intent struct {
	body    string
	sender  string // "w03", "a1"
	widget  int    // whose conversation it belongs to
	at      time.Time
	settled bool
	acked   bool
	err     string // a final refusal, as the sender was told
}

// sighting is a message as a screen showed it.
type sighting struct {
	body, ticket, id string
	seq, pos         int64
	at               time.Time
}

// screen is what one client displayed: a visitor's chat, or an agent's
// stream.
type screen struct {
	name   string
	seen   map[string][]sighting // by body
	agent  bool
	lastAt map[string]int64 // last seq shown per ticket
	lastPs int64            // last stream position
	disorder,
	gaps int
	disorderEx []string
}

type ledger struct {
	mu      sync.Mutex
	start   time.Time
	intents map[string]*intent
	byOrder []*intent
	replied map[string]string // visitor message ("w03.0017") → the agent's answer
	screens map[string]*screen
	widgets []string // screen names of the widgets, by index
	agents  []string
	// open reports, per widget, whether its chat is connected.
	open []bool
	// verbose: tracef prints what the clients do, for finding out why.
	verbose bool
}

func (l *ledger) tracef(format string, args ...any) {
	if l.verbose {
		fmt.Fprintf(os.Stderr, "%7.3f "+format+"\n", append([]any{time.Since(l.start).Seconds()}, args...)...)
	}
}

func newLedger(widgets, agents int) *ledger {
	l := &ledger{start: time.Now(), intents: map[string]*intent{}, replied: map[string]string{}, screens: map[string]*screen{},
		open: make([]bool, widgets)}
	for i := range widgets {
		n := fmt.Sprintf("w%02d", i)
		l.widgets = append(l.widgets, n)
		l.screens[n] = &screen{name: n, seen: map[string][]sighting{}, lastAt: map[string]int64{}}
	}
	for i := range agents {
		n := fmt.Sprintf("a%d", i)
		l.agents = append(l.agents, n)
		l.screens[n] = &screen{name: n, seen: map[string][]sighting{}, lastAt: map[string]int64{}, agent: true}
	}
	return l
}

func (l *ledger) typed(sender, body string, widget int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	it := &intent{body: body, sender: sender, widget: widget, at: time.Now()}
	l.intents[body] = it
	l.byOrder = append(l.byOrder, it)
	if _, to, ok := strings.Cut(body, " re "); ok {
		l.replied[to] = body
	}
}

// settle records the sender's outcome: acked, or refused with err.
func (l *ledger) settle(body string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	it := l.intents[body]
	if it == nil || it.settled {
		return
	}
	it.settled = true
	if err != nil {
		it.err = err.Error()
		return
	}
	it.acked = true
}

// show records that screen displayed a message (a widget's message event,
// an agent stream's message.created). pos is 0 on widgets.
func (l *ledger) show(name string, s sighting) {
	l.mu.Lock()
	defer l.mu.Unlock()
	sc := l.screens[name]
	s.at = time.Now()
	dup := len(sc.seen[s.body]) > 0
	sc.seen[s.body] = append(sc.seen[s.body], s)
	switch last := sc.lastAt[s.ticket]; {
	case dup: // counted as a duplicate, not again as out of order
	case s.seq <= last:
		sc.disorder++
		if len(sc.disorderEx) < 3 {
			sc.disorderEx = append(sc.disorderEx, fmt.Sprintf("%s: seq %d after %d in ticket %s (%q)", name, s.seq, last, short(s.ticket), s.body))
		}
	default:
		sc.lastAt[s.ticket] = s.seq
	}
}

// position records a durable event's position on an agent's stream:
// positions must rise by one, across reconnects too.
func (l *ledger) position(name string, pos int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	sc := l.screens[name]
	switch {
	case pos <= sc.lastPs:
		sc.disorder++
		if len(sc.disorderEx) < 3 {
			sc.disorderEx = append(sc.disorderEx, fmt.Sprintf("%s: position %d after %d", name, pos, sc.lastPs))
		}
		return
	case pos > sc.lastPs+1:
		sc.gaps += int(pos - sc.lastPs - 1)
	}
	sc.lastPs = pos
}

func (l *ledger) setOpen(widget int, open bool) {
	l.mu.Lock()
	l.open[widget] = open
	l.mu.Unlock()
}

// expected names the screens that must show a message: every agent's
// stream, and the chat of the visitor whose conversation it is.
func (l *ledger) expected(it *intent) []string {
	return append([]string{l.widgets[it.widget]}, l.agents...)
}

// caughtUp reports whether every message typed or sent before t is
// settled and, when acked, shown on every screen that should show it (and a
// visitor's answered by an agent, the answer shown too), every widget is
// connected, and every visitor has made such a round trip with a message
// typed since since; it names the first thing still missing.
func (l *ledger) caughtUp(t, since time.Time) (bool, string) {
	if ok, w := l.connected(); !ok {
		return false, w
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	trip := make([]bool, len(l.widgets))
	for _, it := range l.byOrder {
		visitor := strings.HasPrefix(it.sender, "w")
		if !it.at.Before(t) {
			if visitor && !it.at.Before(since) && !trip[it.widget] && l.roundTrip(it) == "" {
				trip[it.widget] = true
			}
			continue
		}
		if !it.settled {
			return false, it.body + " not acked"
		}
		if !it.acked {
			continue
		}
		w := l.unshown(it)
		if w == "" && visitor {
			w = l.roundTrip(it)
		}
		if w != "" {
			return false, w
		}
		if visitor && !it.at.Before(since) {
			trip[it.widget] = true
		}
	}
	for i, ok := range trip {
		if !ok {
			return false, "no round trip yet for " + l.widgets[i]
		}
	}
	return true, ""
}

// roundTrip names what is missing of a visitor message's round trip: acked,
// shown everywhere, answered by an agent, the answer acked and shown.
func (l *ledger) roundTrip(it *intent) string {
	if !it.acked {
		return it.body + " not acked"
	}
	if w := l.unshown(it); w != "" {
		return w
	}
	ans := l.intents[l.replied[it.body[:8]]]
	switch {
	case ans == nil:
		return it.body[:8] + " not answered"
	case !ans.acked:
		return ans.body + " not acked"
	}
	return l.unshown(ans)
}

// connected reports whether every visitor's chat is open.
func (l *ledger) connected() (bool, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, o := range l.open {
		if !o {
			return false, l.widgets[i] + " not connected"
		}
	}
	return true, ""
}

// unshown names a screen that should show it and has not.
func (l *ledger) unshown(it *intent) string {
	for _, n := range l.expected(it) {
		if len(l.screens[n].seen[it.body]) == 0 {
			return it.body + " not shown on " + n
		}
	}
	return ""
}

// pending counts the messages not yet settled, or acked and not yet shown
// everywhere.
func (l *ledger) pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, it := range l.byOrder {
		if !it.settled {
			n++
			continue
		}
		if it.acked && strings.HasPrefix(it.sender, "w") && l.replied[it.body[:8]] == "" {
			n++ // the agent's answer is still to come
			continue
		}
		if it.acked {
			for _, s := range l.expected(it) {
				if len(l.screens[s].seen[it.body]) == 0 {
					n++
					break
				}
			}
		}
	}
	return n
}

// stored is a message as the database holds it.
type stored struct {
	ticket, author, clientID string
	seq                      int64
}

// verdict is the checker's result.
type verdict struct {
	typed, typedAcked, typedRefused, typedPending  int
	sent, sentAcked, sentFailed, sentPending       int
	storedN, storedTwice, strangers                int
	deliveries, deliveriesWant                     int
	notStored, ackedNotStored, notShown, refusedOK int
	dupScreen, disorder, gaps, reordered           int
	refusals                                       map[string]int
	examples                                       []string
	kinds                                          map[string]int
}

// check compares the intents with the database and the screens.
func (l *ledger) check(db map[string][]stored) verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := verdict{refusals: map[string]int{}, kinds: map[string]int{}}
	// ex keeps up to four examples of each kind, the kind being the format.
	ex := func(format string, args ...any) {
		if v.kinds[format]++; v.kinds[format] <= 4 {
			v.examples = append(v.examples, fmt.Sprintf(format, args...))
		}
	}
	for body, rows := range db {
		v.storedN++
		if len(rows) > 1 {
			v.storedTwice++
			ex("stored %d times: %q", len(rows), body)
		}
		if l.intents[body] == nil {
			v.strangers++
			ex("in the database but typed by no one: %q", body)
		}
	}
	// The sender's order: a message stored before one its sender typed
	// earlier, in the same ticket.
	lastSeq := map[string]map[string]int64{} // sender → ticket → seq
	for _, it := range l.byOrder {
		widget := strings.HasPrefix(it.sender, "w")
		switch {
		case widget:
			v.typed++
		default:
			v.sent++
		}
		switch {
		case !it.settled && widget:
			v.typedPending++
		case !it.settled:
			v.sentPending++
		case it.acked && widget:
			v.typedAcked++
		case it.acked:
			v.sentAcked++
		case widget:
			v.typedRefused++
			v.refusals[it.err]++
		default:
			v.sentFailed++
			v.refusals[it.err]++
		}
		rows := db[it.body]
		if len(rows) == 0 {
			v.notStored++
			if it.acked {
				v.ackedNotStored++
				ex("acked but not in the database: %q", it.body)
			} else {
				ex("not in the database (sender told: %s): %q", outcome(it), it.body)
			}
			continue
		}
		if it.settled && !it.acked {
			v.refusedOK++
			ex("refused (%s) but stored: %q", it.err, it.body)
		}
		r := rows[0]
		// Agents post their answers concurrently, in no promised order.
		if widget {
			if lastSeq[it.sender] == nil {
				lastSeq[it.sender] = map[string]int64{}
			}
			if prev, ok := lastSeq[it.sender][r.ticket]; ok && r.seq < prev {
				v.reordered++
				ex("%s typed %q after a message stored later (seq %d < %d)", it.sender, it.body, r.seq, prev)
			}
			lastSeq[it.sender][r.ticket] = max(lastSeq[it.sender][r.ticket], r.seq)
		}
		for _, n := range l.expected(it) {
			v.deliveriesWant++
			got := l.screens[n].seen[it.body]
			if len(got) == 0 {
				v.notShown++
				ex("stored (seq %d in %s) but never shown on %s: %q", r.seq, short(r.ticket), n, it.body)
				continue
			}
			v.deliveries++
		}
	}
	names := make([]string, 0, len(l.screens))
	for n := range l.screens {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sc := l.screens[n]
		for body, got := range sc.seen {
			if len(got) > 1 {
				v.dupScreen += len(got) - 1
				ex("shown %d times on %s: %q", len(got), n, body)
			}
		}
		v.disorder += sc.disorder
		v.gaps += sc.gaps
		for _, e := range sc.disorderEx {
			v.examples = append(v.examples, "out of order: "+e)
		}
	}
	return v
}

func outcome(it *intent) string {
	switch {
	case !it.settled:
		return "still pending"
	case it.acked:
		return "acked"
	}
	return "refused: " + it.err
}

func short(id string) string {
	if len(id) > 8 {
		return id[len(id)-8:]
	}
	return id
}
