package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/webhooksig"
)

// Outcomes of an attempt, as /metrics counts them.
const (
	OutcomeSuccess = "success"
	// OutcomeHTTPError is a response outside 2xx.
	OutcomeHTTPError = "http_error"
	// OutcomeTimeout is no complete response within Timings.Timeout.
	OutcomeTimeout = "timeout"
	// OutcomeNetwork is a connection or protocol failure.
	OutcomeNetwork = "network_error"
	// OutcomeRefused is an address refused at dial time (see Blocked).
	OutcomeRefused = "refused"
)

// Outcomes lists every outcome.
var Outcomes = []string{OutcomeSuccess, OutcomeHTTPError, OutcomeTimeout, OutcomeNetwork, OutcomeRefused}

// MaxResponse is how much of a response body is read and kept.
const MaxResponse = 1024

// Response is what a Poster got back.
type Response struct {
	// Status is the response's status code, 0 when there was none.
	Status int
	// Body is the start of the body, at most MaxResponse bytes.
	Body []byte
	// Err is why there was no response; Outcome then classifies it
	// (OutcomeTimeout, OutcomeNetwork or OutcomeRefused).
	Err     error
	Outcome string
}

// Poster sends one signed request (the HTTP client lives at the edge).
type Poster interface {
	Post(ctx context.Context, url string, header map[string]string, body []byte) Response
}

// Timings are the dispatcher's intervals and bounds; tests shorten them.
type Timings struct {
	// Poll is how often due deliveries are looked for when nothing wakes
	// the dispatcher (retries, other processes' events).
	Poll time.Duration
	// Lease is how long a claim holds: a process that dies mid-delivery
	// leaves its claims to expire, and another process takes them then.
	Lease time.Duration
	// Timeout bounds one attempt: a 2xx within it is a success.
	Timeout time.Duration
	// PerEndpoint is how many attempts to one endpoint run at once in one
	// process; Buffer how many more a healthy endpoint may have claimed
	// and waiting.
	PerEndpoint int
	Buffer      int
	// FirstRetry is the first backoff; each failure doubles it up to
	// MaxRetry, with ±25 % jitter.
	FirstRetry time.Duration
	MaxRetry   time.Duration
	// MaxAge is how long after it was queued a delivery is still retried;
	// DisableAfter how long an endpoint may fail without one success before
	// it is disabled.
	MaxAge       time.Duration
	DisableAfter time.Duration
}

// DefaultTimings are production's.
func DefaultTimings() Timings {
	return Timings{Poll: time.Second, Lease: time.Minute, Timeout: 10 * time.Second, PerEndpoint: 8, Buffer: 192,
		FirstRetry: 30 * time.Second, MaxRetry: 6 * time.Hour, MaxAge: 72 * time.Hour, DisableAfter: 72 * time.Hour}
}

func (t Timings) orDefault() Timings {
	d := DefaultTimings()
	if t.Poll <= 0 {
		t.Poll = d.Poll
	}
	if t.Lease <= 0 {
		t.Lease = d.Lease
	}
	if t.Timeout <= 0 {
		t.Timeout = d.Timeout
	}
	if t.PerEndpoint <= 0 {
		t.PerEndpoint = d.PerEndpoint
	}
	if t.Buffer < 0 {
		t.Buffer = 0
	} else if t.Buffer == 0 {
		t.Buffer = d.Buffer
	}
	if t.FirstRetry <= 0 {
		t.FirstRetry = d.FirstRetry
	}
	if t.MaxRetry <= 0 {
		t.MaxRetry = d.MaxRetry
	}
	if t.MaxAge <= 0 {
		t.MaxAge = d.MaxAge
	}
	if t.DisableAfter <= 0 {
		t.DisableAfter = d.DisableAfter
	}
	return t
}

// DisabledReason is what an endpoint disabled for failing says.
const DisabledReason = "failing_3_days"

// fanOutBatch is how many events one fan-out transaction reads.
const fanOutBatch = 100

// Dispatcher delivers the deliveries of every team, in the background of one
// process; several processes on one PostgreSQL share the work through
// claims. Nothing on a request's path waits for it.
type Dispatcher struct {
	store Store
	post  Poster
	now   func() time.Time
	log   *slog.Logger
	count func(outcome string)
	t     Timings
	// token marks this process's claims.
	token string
	wake  chan struct{}

	mu    sync.Mutex
	lanes map[string]*lane
	// stopping is set once Run's context ends: no more attempts start.
	stopping bool

	workers sync.WaitGroup
	rec     chan recorded
}

// lane is one endpoint's deliveries in this process.
type lane struct {
	ep       Endpoint
	queue    []claimed
	running  int
	reserved int
	// troubled is set while attempts fail (since troubledAt): the lane then
	// claims only what it can start at once.
	troubled   bool
	troubledAt time.Time
	// backlog is set while the endpoint has due deliveries that this lane
	// had no room to claim: new ones then queue behind them in the
	// database instead of overtaking them.
	backlog bool
	// idle is when the lane last had nothing to do; an idle lane is
	// forgotten after a minute.
	idle time.Time
}

type claimed struct {
	Delivery
	until time.Time
}

type recorded struct {
	Attempt
	endpointID string
	ok         bool
}

// NewDispatcher returns a dispatcher; count, when not nil, is told the
// outcome of every attempt.
func NewDispatcher(st Store, post Poster, now func() time.Time, t Timings, log *slog.Logger, count func(outcome string)) *Dispatcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if count == nil {
		count = func(string) {}
	}
	var b [16]byte
	rand.Read(b[:])
	return &Dispatcher{store: st, post: post, now: now, log: log, count: count, t: t.orDefault(),
		token: hex.EncodeToString(b[:]), wake: make(chan struct{}, 1), lanes: map[string]*lane{},
		rec: make(chan recorded, 4096)}
}

// Wake makes the dispatcher look for work now: events were stored, or a
// delivery was queued. It never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run dispatches until ctx ends, then gives back the claims it has not
// attempted (and those whose attempt it cut short), so that another
// process can take them at once.
func (d *Dispatcher) Run(ctx context.Context) {
	recDone := make(chan struct{})
	go func() {
		defer close(recDone)
		d.recorder()
	}()
	tick := time.NewTicker(d.t.Poll)
	defer tick.Stop()
	for {
		d.cycle(ctx)
		select {
		case <-ctx.Done():
			d.mu.Lock()
			d.stopping = true
			var left []string
			for _, l := range d.lanes {
				for _, c := range l.queue {
					left = append(left, c.ID)
				}
				l.queue = nil
			}
			d.mu.Unlock()
			d.release(left)
			d.workers.Wait()
			close(d.rec)
			<-recDone
			return
		case <-d.wake:
		case <-tick.C:
		}
	}
}

// cycle fans out new events and claims due deliveries. The fan-out goes
// in batches with a claim pass after each, so that a backlog of events (a
// process back from a pause) never keeps the endpoints waiting for all of
// it to be written.
func (d *Dispatcher) cycle(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	scopes, err := d.store.ScopesBehind(ctx)
	if err != nil && ctx.Err() == nil {
		d.logErr("webhooks: scopes behind", "err", err)
	}
	for len(scopes) > 0 && ctx.Err() == nil {
		var behind []scope.Scope
		for _, sc := range scopes {
			n, err := d.fanOut(ctx, sc)
			switch {
			case err != nil:
				if ctx.Err() == nil {
					d.logErr("webhooks: fan out", "team", sc.TeamID, "mode", sc.Mode, "err", err)
				}
			case n < 0:
				// Another process holds the cursor: look again shortly, in
				// case it read the log before our events were committed.
				time.AfterFunc(20*time.Millisecond, d.Wake)
			case n > 0:
				behind = append(behind, sc)
			}
		}
		d.claim(ctx)
		scopes = behind
	}
	d.claim(ctx)
	d.mu.Lock()
	for id, l := range d.lanes {
		switch {
		case len(l.queue) > 0 || l.running > 0 || l.reserved > 0:
			l.idle = time.Time{}
		case l.idle.IsZero():
			l.idle = time.Now()
		case time.Since(l.idle) > time.Minute:
			delete(d.lanes, id)
		}
	}
	d.mu.Unlock()
}

// claim takes the due deliveries that the lanes have room for, oldest
// first.
func (d *Dispatcher) claim(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	now := d.now()
	eps, err := d.store.DueEndpoints(ctx, now)
	if err != nil {
		if ctx.Err() == nil {
			d.logErr("webhooks: due endpoints", "err", err)
		}
		return
	}
	for _, e := range eps {
		d.mu.Lock()
		l := d.laneOf(e)
		n := d.room(l)
		d.mu.Unlock()
		if n <= 0 {
			continue
		}
		c := Claim{Token: d.token, Until: now.Add(d.t.Lease)}
		ds, err := d.store.ClaimDue(ctx, e.ID, now, c, n)
		if err != nil {
			if ctx.Err() == nil {
				d.logErr("webhooks: claim", "endpoint", e.ID, "err", err)
			}
			continue
		}
		d.mu.Lock()
		for _, del := range ds {
			l.queue = append(l.queue, claimed{Delivery: del, until: c.Until})
		}
		l.backlog = len(ds) == n // there may be more
		d.start(ctx, l)
		d.mu.Unlock()
	}
}

// fanOut writes the deliveries of sc's next events, claiming for this
// process those its lanes have room for. It returns the number of events
// read, or -1 when another process holds the cursor.
func (d *Dispatcher) fanOut(ctx context.Context, sc scope.Scope) (int, error) {
	var planned []Planned
	now := d.now().UTC().Truncate(time.Microsecond)
	c := Claim{Token: d.token, Until: now.Add(d.t.Lease)}
	n, err := d.store.FanOut(ctx, sc, fanOutBatch, func(evs []chat.Event, eps []Endpoint) []Planned {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.unreserve(planned)
		p, err := Plan(evs, eps, now, ids.New, func(e Endpoint) time.Time { return d.firstDue(e, now) }, func(e Endpoint) *Claim {
			l := d.laneOf(e)
			if d.stopping || l.backlog || d.room(l) <= 0 {
				l.backlog = true
				return nil
			}
			l.reserved++
			return &c
		})
		if err != nil {
			d.logErr("webhooks: plan deliveries", "err", err)
			return nil
		}
		planned = p
		return p
	})
	d.mu.Lock()
	defer d.mu.Unlock()
	d.unreserve(planned)
	if err != nil {
		return 0, err
	}
	for _, p := range planned {
		if p.Claim == nil {
			continue
		}
		l := d.lanes[p.EndpointID]
		l.queue = append(l.queue, claimed{Delivery: p.Delivery, until: c.Until})
		d.start(ctx, l)
	}
	return n, nil
}

// firstDue is when a new delivery to e is first due: now, unless e is
// failing (as the database says, or this process saw at its last attempt),
// in which case it waits as long as e has been failing, between FirstRetry
// and MaxRetry. A dead endpoint so costs an attempt per retry, not one per
// event, and the others never wait behind it; once a retry succeeds, the
// waiting deliveries are due at once (d.mu held).
func (d *Dispatcher) firstDue(e Endpoint, now time.Time) time.Time {
	since := e.FailingSince
	if l := d.lanes[e.ID]; l != nil && l.troubled && since == nil {
		since = &l.troubledAt
	}
	if since == nil {
		return now
	}
	wait := min(max(now.Sub(*since), d.t.FirstRetry), d.t.MaxRetry)
	return now.Add(wait).UTC().Truncate(time.Microsecond)
}

// unreserve gives back the room planned claims held (d.mu held).
func (d *Dispatcher) unreserve(ps []Planned) {
	for _, p := range ps {
		if p.Claim != nil {
			if l := d.lanes[p.EndpointID]; l != nil && l.reserved > 0 {
				l.reserved--
			}
		}
	}
}

// laneOf returns e's lane, with e as last read (d.mu held).
func (d *Dispatcher) laneOf(e Endpoint) *lane {
	l := d.lanes[e.ID]
	if l == nil {
		l = &lane{}
		d.lanes[e.ID] = l
	}
	if e.Enabled && !l.ep.Enabled {
		l.troubled = false // enabled again: its failures were cleared
	}
	l.ep = e
	return l
}

// room is how many more deliveries l may claim (d.mu held).
func (d *Dispatcher) room(l *lane) int {
	want := d.t.PerEndpoint
	if !l.troubled {
		want += d.t.Buffer
	}
	if !l.ep.Enabled {
		return 0
	}
	return want - len(l.queue) - l.running - l.reserved
}

// start runs workers for l up to its concurrency (d.mu held).
func (d *Dispatcher) start(ctx context.Context, l *lane) {
	for l.running < d.t.PerEndpoint && len(l.queue) > l.running && !d.stopping {
		l.running++
		d.workers.Add(1)
		go d.work(ctx, l)
	}
}

// work attempts l's queued deliveries one after another.
func (d *Dispatcher) work(ctx context.Context, l *lane) {
	defer d.workers.Done()
	for {
		d.mu.Lock()
		if len(l.queue) == 0 || d.stopping || !l.ep.Enabled {
			var left []string
			if !l.ep.Enabled {
				for _, c := range l.queue {
					left = append(left, c.ID)
				}
				l.queue = nil
			}
			l.running--
			more := l.backlog && !d.stopping
			d.mu.Unlock()
			d.release(left)
			if more {
				d.Wake() // room for the deliveries waiting in the database
			}
			return
		}
		c := l.queue[0]
		l.queue = l.queue[1:]
		ep := l.ep
		d.mu.Unlock()
		d.attempt(ctx, ep, c)
	}
}

// attempt sends one delivery and hands its outcome to the recorder.
func (d *Dispatcher) attempt(ctx context.Context, ep Endpoint, c claimed) {
	now := d.now()
	if c.until.Sub(now) < d.t.Timeout+5*time.Second {
		// The claim waited long: renew it before sending, or leave the
		// delivery to whoever took it.
		until := now.Add(d.t.Lease)
		got, err := d.store.ExtendClaims(ctx, d.token, []string{c.ID}, until, now)
		if err != nil || !slices.Contains(got, c.ID) {
			return
		}
	}
	hdr := map[string]string{
		"Content-Type":             "application/json",
		"User-Agent":               "cStar-Webhooks/1",
		webhooksig.SignatureHeader: webhooksig.Header(now, c.Payload, ep.Secrets(now)...),
		webhooksig.EventIDHeader:   c.EventID,
	}
	pctx, cancel := context.WithTimeout(ctx, d.t.Timeout)
	start := time.Now()
	r := d.post.Post(pctx, ep.URL, hdr, c.Payload)
	took := time.Since(start)
	cancel()
	if ctx.Err() != nil {
		// Shutting down: the attempt was cut short, so it does not count;
		// another process (or this one, restarted) sends it again.
		d.release([]string{c.ID})
		return
	}
	a := Attempt{DeliveryID: c.ID, Token: d.token, At: now, Status: r.Status, Duration: took,
		Response: clean(r.Body, MaxResponse)}
	ok := r.Err == nil && r.Status >= 200 && r.Status < 300
	outcome := OutcomeSuccess
	switch {
	case ok:
		a.State = Succeeded
	case r.Err != nil:
		outcome = r.Outcome
		if outcome == "" {
			outcome = OutcomeNetwork
		}
		a.Error = clean([]byte(r.Err.Error()), 300)
	default:
		outcome = OutcomeHTTPError
	}
	if !ok {
		next, final := d.nextAttempt(c.Delivery, now)
		if final {
			a.State = Failed
		} else {
			a.State, a.Next = Pending, &next
		}
	}
	d.count(outcome)
	d.mu.Lock()
	if l := d.lanes[ep.ID]; l != nil {
		if !ok && !l.troubled {
			l.troubledAt = now
		}
		l.troubled = !ok
	}
	d.mu.Unlock()
	d.rec <- recorded{Attempt: a, endpointID: ep.ID, ok: ok}
}

// nextAttempt is when a delivery that failed at now is tried again:
// FirstRetry doubling per attempt up to MaxRetry, ±25 % jitter, the last one
// at MaxAge after it was queued; final when that has passed.
func (d *Dispatcher) nextAttempt(del Delivery, now time.Time) (time.Time, bool) {
	return NextAttempt(d.t, del.Attempts+1, del.CreatedAt, now, mrand.Float64())
}

// NextAttempt is the backoff rule: after the n-th failed attempt (from 1)
// of a delivery queued at created, made at now, the next is due FirstRetry ×
// 2^(n-1) later (at most MaxRetry), scaled by 0.75 + r/2 for r in [0, 1),
// and never after created+MaxAge; final reports that now is past that.
func NextAttempt(t Timings, n int, created, now time.Time, r float64) (next time.Time, final bool) {
	t = t.orDefault()
	deadline := created.Add(t.MaxAge)
	if !now.Before(deadline) {
		return time.Time{}, true
	}
	delay := t.MaxRetry
	if n-1 < 40 {
		if d := t.FirstRetry << (n - 1); d > 0 && d < t.MaxRetry {
			delay = d
		}
	}
	delay = time.Duration(float64(delay) * (0.75 + r/2))
	next = now.Add(delay)
	if next.After(deadline) {
		next = deadline
	}
	return next.UTC().Truncate(time.Microsecond), false
}

// recorder writes attempts in batches and keeps endpoints' health.
func (d *Dispatcher) recorder() {
	for first := range d.rec {
		batch := []recorded{first}
	drain:
		for len(batch) < 256 {
			select {
			case r, ok := <-d.rec:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		as := make([]Attempt, len(batch))
		for i, r := range batch {
			as[i] = r.Attempt
		}
		if err := d.store.RecordAttempts(ctx, as); err != nil {
			// The claims expire and the deliveries are sent again: at least
			// once still holds.
			d.logErr("webhooks: record attempts", "n", len(as), "err", err)
		}
		d.health(ctx, batch)
		cancel()
	}
}

// health clears an endpoint's failures at a success and, at a failure,
// starts counting them or disables it once it has failed for DisableAfter.
func (d *Dispatcher) health(ctx context.Context, batch []recorded) {
	type seen struct {
		ok, failed bool
		at         time.Time
	}
	by := map[string]*seen{}
	for _, r := range batch {
		s := by[r.endpointID]
		if s == nil {
			s = &seen{}
			by[r.endpointID] = s
		}
		if r.ok {
			s.ok = true
		} else {
			s.failed, s.at = true, r.At
		}
	}
	for id, s := range by {
		d.mu.Lock()
		var since *time.Time
		known := false
		if l := d.lanes[id]; l != nil {
			since, known = l.ep.FailingSince, true
		}
		d.mu.Unlock()
		switch {
		case s.ok && (since != nil || !known):
			was, err := d.store.EndpointSucceeded(ctx, id, d.now().UTC().Truncate(time.Microsecond))
			if err != nil {
				d.logErr("webhooks: endpoint succeeded", "endpoint", id, "err", err)
				continue
			}
			d.setFailing(id, nil)
			if was {
				d.Wake() // the deliveries it held back are due
			}
		case s.failed && !s.ok && (since == nil || s.at.Sub(*since) >= d.t.DisableAfter):
			disabled, err := d.store.EndpointFailed(ctx, id, s.at.UTC().Truncate(time.Microsecond), d.t.DisableAfter, DisabledReason)
			if err != nil {
				d.logErr("webhooks: endpoint failed", "endpoint", id, "err", err)
				continue
			}
			if since == nil {
				at := s.at
				d.setFailing(id, &at)
			}
			if disabled {
				d.log.Warn("webhooks: endpoint disabled after failing for 3 days", "endpoint", id)
				d.mu.Lock()
				if l := d.lanes[id]; l != nil {
					l.ep.Enabled = false
				}
				d.mu.Unlock()
			}
		}
	}
}

func (d *Dispatcher) setFailing(id string, since *time.Time) {
	d.mu.Lock()
	if l := d.lanes[id]; l != nil {
		l.ep.FailingSince = since
	}
	d.mu.Unlock()
}

// release gives claims back unattempted.
func (d *Dispatcher) release(idList []string) {
	if len(idList) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.store.ReleaseClaims(ctx, d.token, idList); err != nil {
		d.logErr("webhooks: release claims", "n", len(idList), "err", err)
	}
}

// Sweep removes deliveries finished more than retention ago.
func (d *Dispatcher) Sweep(ctx context.Context, retention time.Duration) (int64, error) {
	return d.store.DeleteDeliveriesBefore(ctx, d.now().Add(-retention))
}

// clean is b as text the database can hold: valid UTF-8 without NUL, at
// most max bytes.
func clean(b []byte, max int) string {
	if len(b) > max {
		b = b[:max]
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	for len(s) > max {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return s
}

// logErr logs a failure of the dispatcher's own work, except that the
// database being unavailable is the store's to report, once per outage:
// the dispatcher simply tries again at its next tick.
func (d *Dispatcher) logErr(msg string, args ...any) {
	for i := 1; i < len(args); i += 2 {
		if err, ok := args[i].(error); ok && errs.Is(err, errs.Unavailable) {
			d.log.Debug(msg, args...)
			return
		}
	}
	d.log.Error(msg, args...)
}
