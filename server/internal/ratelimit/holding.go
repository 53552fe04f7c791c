package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cstar-chat/cstar/server/internal/errs"
)

// Lender is a store of buckets that several processes share (PostgreSQL).
// It decides requests itself, at its own clock, and lends the bucket of a
// busy key to the one process that uses it, so that this process can decide
// the key's requests in memory for a while, exactly, until it gives the
// bucket back.
type Lender interface {
	Sync(ctx context.Context, key string, l Limit, s Sync) (Synced, error)
}

// Sync is one call to a Lender. Times are microseconds on the lender's clock.
type Sync struct {
	Holder int64 // the calling process; 0 for one that never holds
	// Epoch, when not 0, gives back the hold of that epoch with TAT, the
	// bucket's exact state after the requests decided in memory.
	Epoch int64
	TAT   int64
	N     int  // requests to admit at once, or 0 to only give a hold back
	Hold  bool // asks to hold the bucket afterwards
	// Reserve is how many requests the lender sets aside in the shared
	// bucket while it is held: all that a holder that never comes back
	// can have admitted.
	Reserve   int
	TTL       time.Duration // how long a hold lasts
	SharedFor time.Duration // how long a bucket touched by two processes stays shared
}

// Synced is a Lender's answer. Times are microseconds on its clock.
type Synced struct {
	Allowed bool
	TAT     int64 // the bucket's theoretical arrival time after the decision
	Now     int64 // the clock the decision was made at
	// Epoch, when not 0, lends the bucket to the caller until Now+TTL; it
	// may admit requests in memory while they bring TAT up to Cap.
	Epoch int64
	Cap   int64
	// Wait, when not 0, says another process holds the bucket for this
	// much longer; nothing was decided.
	Wait time.Duration
}

// Holding's tuning.
const (
	// HoldTTL is how long a hold lasts on the lender's clock, and so the
	// longest another process waits for a bucket to come back.
	HoldTTL = 250 * time.Millisecond
	// holdMargin is how much earlier than that the holder stops deciding
	// and gives the bucket back, so that its exact state arrives in time.
	holdMargin = 100 * time.Millisecond
	// SharedFor is how long a bucket that two processes used stays with
	// the lender, decided there request by request.
	SharedFor = time.Minute
	// MaxReserve bounds the requests set aside for a holder.
	MaxReserve = 16
)

// Reserve is how many requests a holder of a bucket under l may admit in
// memory between two calls to the lender: a 64th of the limit, at least 1
// and at most MaxReserve. It is also what a process that dies holding the
// bucket can leave spent but unused.
func Reserve(l Limit) int { return min(max(l.Count/64, 1), MaxReserve) }

// Holding decides the requests of a busy key in memory while its process
// holds the key's bucket, lent by the lender, and every other request at
// the lender. While a bucket is lent, its holder alone decides for it, with
// its exact state, so counts, Remaining and Retry-After are what the lender
// would have answered, to within one round trip of the clock (the holder
// counts the lender's time from when its answer arrived). A holder calls the
// lender again when it has admitted its reserve and gives the bucket back,
// with its state, before the hold ends; a process that needs a bucket held
// elsewhere waits for it to come back, and the bucket stays with the lender
// for SharedFor.
//
// Its times are the lender's clock counted on this process's monotonic
// clock, so it reads the real time: a fake clock could not move the
// lender's.
type Holding struct {
	lender Lender
	log    *slog.Logger
	id     int64

	mu        sync.Mutex
	buckets   map[string]*held
	nextSweep int
}

// held is what this process knows of one key's bucket.
type held struct {
	mu   sync.Mutex // taken for a whole decision, a call to the lender included
	gone bool       // swept from the map: look the key up again
	used time.Time

	epoch    int64 // the hold, 0 when the bucket is not held
	limit    Limit
	tat, cap int64     // the exact state and how far it may go, lender's clock
	clock    int64     // the lender's clock at `at`
	at       time.Time // when the answer that lent the bucket arrived
	until    time.Time // decide nothing in memory from here on
	timer    *time.Timer
}

// NewHolding returns a limiter deciding at lender, which logs to log when
// it cannot give a bucket back.
func NewHolding(lender Lender, log *slog.Logger) *Holding {
	var b [8]byte
	var id int64
	for id == 0 {
		rand.Read(b[:])
		id = int64(binary.LittleEndian.Uint64(b[:]) >> 1)
	}
	return &Holding{lender: lender, log: log, id: id, buckets: map[string]*held{}, nextSweep: minSweep}
}

// Allow records a request under key and tells whether it may proceed.
func (h *Holding) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	return h.AllowN(ctx, key, l, 1)
}

// AllowN admits n requests under key at once, or none.
func (h *Holding) AllowN(ctx context.Context, key string, l Limit, n int) (Result, error) {
	if err := l.Validate(); err != nil {
		return Result{}, err
	}
	if n < 1 {
		return Result{}, fmt.Errorf("ratelimit: AllowN of %d requests", n)
	}
	for {
		b := h.bucket(key)
		b.mu.Lock()
		if b.gone {
			b.mu.Unlock()
			continue
		}
		res, err := h.decide(ctx, key, b, l, n)
		b.mu.Unlock()
		return res, err
	}
}

// Len returns how many keys the limiter remembers.
func (h *Holding) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.buckets)
}

// bucket returns key's entry, forgetting idle ones whenever the map has
// doubled since the last sweep.
func (h *Holding) bucket(key string) *held {
	h.mu.Lock()
	defer h.mu.Unlock()
	b := h.buckets[key]
	if b != nil {
		return b
	}
	if len(h.buckets) >= h.nextSweep {
		now := time.Now()
		for k, old := range h.buckets {
			if old.mu.TryLock() {
				if old.epoch == 0 && now.Sub(old.used) > HoldTTL {
					old.gone = true
					delete(h.buckets, k)
				}
				old.mu.Unlock()
			}
		}
		h.nextSweep = max(2*len(h.buckets), minSweep)
	}
	b = &held{}
	h.buckets[key] = b
	return b
}

// decide runs with b.mu held.
func (h *Holding) decide(ctx context.Context, key string, b *held, l Limit, n int) (Result, error) {
	now := time.Now()
	b.used = now
	interval := l.Interval().Microseconds()
	if b.epoch != 0 && b.limit == l && now.Before(b.until) {
		clock := b.clock + now.Sub(b.at).Microseconds()
		tat, ok := decide(b.tat, clock, int64(n)*interval, l.Window().Microseconds())
		if !ok {
			return l.Result(false, micros(tat-clock)), nil
		}
		if tat <= b.cap {
			b.tat = tat
			return l.Result(true, micros(tat-clock)), nil
		}
		// The reserve is spent: ask the lender, giving the hold back.
	}
	for {
		s := Sync{Holder: h.id, N: n, Hold: true, Reserve: Reserve(l), TTL: HoldTTL, SharedFor: SharedFor}
		if b.epoch != 0 {
			s.Epoch, s.TAT = b.epoch, b.tat
		}
		sent := time.Now()
		r, err := h.lender.Sync(ctx, key, l, s)
		if err != nil {
			// Whether the call took effect is unknown. The next one gives
			// the hold back again; if this one had already renewed it, the
			// next waits for that hold's time to pass and finds its reserve
			// spent.
			return Result{}, err
		}
		b.epoch = r.Epoch
		if b.timer != nil {
			b.timer.Stop()
			b.timer = nil
		}
		if r.Wait > 0 {
			t := time.NewTimer(r.Wait)
			select {
			case <-t.C:
				continue
			case <-ctx.Done():
				t.Stop()
				return Result{}, fmt.Errorf("ratelimit: waiting for %q held by another process: %w", key, ctx.Err())
			}
		}
		if r.Epoch != 0 {
			b.limit, b.tat, b.cap, b.clock, b.at = l, r.TAT, r.Cap, r.Now, time.Now()
			// The lender's hold started after we sent: stopping at sent+TTL
			// less the margin stops before it ends.
			b.until = sent.Add(HoldTTL - holdMargin)
			epoch := r.Epoch
			b.timer = time.AfterFunc(time.Until(b.until), func() { h.giveBack(key, b, epoch) })
		}
		return l.Result(r.Allowed, micros(r.TAT-r.Now)), nil
	}
}

// giveBack returns the hold of epoch when its time is up and no request
// has done it meanwhile.
func (h *Holding) giveBack(key string, b *held, epoch int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.epoch != epoch {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), HoldTTL)
	defer cancel()
	_, err := h.lender.Sync(ctx, key, b.limit, Sync{Holder: h.id, Epoch: epoch, TAT: b.tat, TTL: HoldTTL, SharedFor: SharedFor})
	if err != nil {
		// The next request for key gives it back, if the lender has not
		// lent the bucket to another process meanwhile; until then the
		// reserve stays spent.
		if !errs.Is(err, errs.Unavailable) {
			h.log.Warn("rate limit: give a held bucket back", "key", key, "err", err)
		}
		return
	}
	b.epoch = 0
	b.timer = nil
}

func micros(us int64) time.Duration { return time.Duration(us) * time.Microsecond }
