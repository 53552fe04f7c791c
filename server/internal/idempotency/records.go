package idempotency

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// Records reserves keys in a Store and finishes their records even when
// the database cannot be reached at that moment. A request reserved before
// an outage either failed because of it (its key must be freed, or every
// retry after the outage would be "in progress" until Abandoned) or stored
// its object and could not record the answer (the record must be
// completed, or a retry after Abandoned would store a second object). Such
// a record is kept in memory and written by Retry, which the app runs every
// second, until the database answers or the record counts as abandoned
// anyway. A process that dies meanwhile leaves the record to Abandoned.
type Records struct {
	store Store
	now   func() time.Time

	mu      sync.Mutex
	pending map[recordKey]finish
}

type recordKey struct {
	sc  scope.Scope
	key string
}

// finish is a record to write once the database answers: Complete with
// status and body, or Release when status is 0.
type finish struct {
	reserved time.Time
	status   int
	body     []byte
}

// NewRecords returns the records of store.
func NewRecords(store Store, now func() time.Time) *Records {
	return &Records{store: store, now: now, pending: map[recordKey]finish{}}
}

// Reserve claims key; see Store.Reserve.
func (r *Records) Reserve(ctx context.Context, sc scope.Scope, key string, hash []byte, now time.Time) (Record, bool, error) {
	return r.store.Reserve(ctx, sc, key, hash, now)
}

// Finish records the answer of the request that reserved key at reserved:
// Complete with status and body, or Release when status is 0 (a failed
// request, whose key a corrected retry may reuse). When the database is
// unavailable the record is kept for Retry, and Finish returns nil.
func (r *Records) Finish(ctx context.Context, sc scope.Scope, key string, reserved time.Time, status int, body []byte) error {
	f := finish{reserved: reserved, status: status, body: body}
	err := r.write(ctx, sc, key, f)
	if errs.Is(err, errs.Unavailable) {
		r.mu.Lock()
		r.pending[recordKey{sc, key}] = f
		r.mu.Unlock()
		return nil
	}
	return err
}

func (r *Records) write(ctx context.Context, sc scope.Scope, key string, f finish) error {
	if f.status == 0 {
		return r.store.Release(ctx, sc, key)
	}
	return r.store.Complete(ctx, sc, key, f.status, f.body)
}

// Retry writes the records kept while the database was unavailable. A
// record reserved longer than Abandoned ago is dropped instead: another
// request may have taken its key over by now. It returns the failures
// other than the database being unavailable still.
func (r *Records) Retry(ctx context.Context) error {
	r.mu.Lock()
	todo := make(map[recordKey]finish, len(r.pending))
	for k, f := range r.pending {
		todo[k] = f
	}
	r.mu.Unlock()
	var failed []error
	for k, f := range todo {
		if r.now().Sub(f.reserved) >= Abandoned {
			r.forget(k, f)
			continue
		}
		err := r.write(ctx, k.sc, k.key, f)
		if errs.Is(err, errs.Unavailable) {
			// Still down: the others would fail alike.
			break
		}
		if err != nil {
			failed = append(failed, err)
		}
		r.forget(k, f)
	}
	return errors.Join(failed...)
}

// forget drops k's pending record unless a newer one replaced it.
func (r *Records) forget(k recordKey, f finish) {
	r.mu.Lock()
	if cur, ok := r.pending[k]; ok && cur.reserved.Equal(f.reserved) {
		delete(r.pending, k)
	}
	r.mu.Unlock()
}

// Pending is how many records wait for the database.
func (r *Records) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}
