package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/store"
	"github.com/cstar-chat/cstar/server/internal/storetest"
	"github.com/cstar-chat/cstar/server/internal/team"
)

// TestIdempotencyReserveWhileReleased: reserving a key while another
// request releases it never fails (before, a key deleted between the
// reservation's insert and its read came back as a 404 "Not found").
func TestIdempotencyReserveWhileReleased(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tm, err := team.NewService(db, time.Now).Create(ctx, "Acme", "acme")
		if err != nil {
			t.Fatal(err)
		}
		sc := scope.Scope{TeamID: tm.ID, Mode: scope.Live}
		idem := db.Idempotency()
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 100 {
					_, fresh, err := idem.Reserve(ctx, sc, "k", []byte("h"), time.Now())
					if err != nil {
						t.Errorf("reserve: %v", err)
						return
					}
					if fresh {
						if err := idem.Release(ctx, sc, "k"); err != nil {
							t.Errorf("release: %v", err)
							return
						}
					}
				}
			})
		}
		wg.Wait()
	})
}
