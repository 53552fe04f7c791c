package idempotency_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/idempotency"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// flakyStore is a Store whose database is down while down is set.
type flakyStore struct {
	mu        sync.Mutex
	down      bool
	completed map[string]int // key → status
	released  []string
}

func (f *flakyStore) fail() error {
	if f.down {
		return fmt.Errorf("store: %w: connection refused", errs.ErrUnavailable)
	}
	return nil
}

func (f *flakyStore) Reserve(context.Context, scope.Scope, string, []byte, time.Time) (idempotency.Record, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return idempotency.Record{}, true, f.fail()
}

func (f *flakyStore) Complete(_ context.Context, _ scope.Scope, key string, status int, _ []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail(); err != nil {
		return err
	}
	f.completed[key] = status
	return nil
}

func (f *flakyStore) Release(_ context.Context, _ scope.Scope, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail(); err != nil {
		return err
	}
	f.released = append(f.released, key)
	return nil
}

func (f *flakyStore) setDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

// TestRecordsFinishAfterAnOutage: a record that could not be completed or
// released while the database was unavailable is written once it is back,
// once; one reserved longer than Abandoned ago is dropped instead.
func TestRecordsFinishAfterAnOutage(t *testing.T) {
	ctx := context.Background()
	sc := scope.Scope{TeamID: "t", Mode: scope.Live}
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := &flakyStore{completed: map[string]int{}}
	r := idempotency.NewRecords(st, clock)

	st.setDown(true)
	if err := r.Finish(ctx, sc, "created", now, 201, []byte(`{}`)); err != nil {
		t.Fatalf("finish while down: got %v, want nil (kept for later)", err)
	}
	if err := r.Finish(ctx, sc, "failed", now, 0, nil); err != nil {
		t.Fatalf("release while down: got %v, want nil (kept for later)", err)
	}
	if err := r.Finish(ctx, sc, "old", now.Add(-idempotency.Abandoned/2), 201, nil); err != nil {
		t.Fatal(err)
	}
	if got := r.Pending(); got != 3 {
		t.Fatalf("pending: got %d, want 3", got)
	}
	if err := r.Retry(ctx); err != nil || r.Pending() != 3 {
		t.Fatalf("retry while still down: got %v and %d pending, want nil and 3", err, r.Pending())
	}

	st.setDown(false)
	now = now.Add(idempotency.Abandoned * 3 / 4) // "old" was reserved more than Abandoned ago
	if err := r.Retry(ctx); err != nil {
		t.Fatalf("retry once up: %v", err)
	}
	if r.Pending() != 0 {
		t.Errorf("pending after the retry: got %d, want 0", r.Pending())
	}
	if st.completed["created"] != 201 || len(st.released) != 1 || st.released[0] != "failed" {
		t.Errorf("written: completed %v, released %v; want created=201 and failed released", st.completed, st.released)
	}
	if _, ok := st.completed["old"]; ok {
		t.Error("a record reserved more than Abandoned ago was completed; another request may own its key by now")
	}
	if err := r.Retry(ctx); err != nil || len(st.released) != 1 || len(st.completed) != 1 {
		t.Errorf("a second retry wrote again: completed %v, released %v", st.completed, st.released)
	}

	// With the database up, Finish writes at once.
	if err := r.Finish(ctx, sc, "now", now, 200, nil); err != nil || st.completed["now"] != 200 || r.Pending() != 0 {
		t.Errorf("finish while up: got %v, completed %v, %d pending", err, st.completed, r.Pending())
	}
}
