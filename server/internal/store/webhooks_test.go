package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/store"
	"github.com/cstar-chat/cstar/server/internal/storetest"
	"github.com/cstar-chat/cstar/server/internal/team"
	"github.com/cstar-chat/cstar/server/internal/webhook"
)

// hookFixture is a team with one webhook endpoint and n pending deliveries
// due at now.
func hookFixture(t *testing.T, db *store.DB, n int, now time.Time) (webhook.Endpoint, []string) {
	t.Helper()
	ctx := context.Background()
	created, err := team.NewService(db, time.Now).Create(ctx, "Acme", "acme")
	if err != nil {
		t.Fatal(err)
	}
	sc := scope.Scope{TeamID: created.ID, Mode: scope.Test}
	id, _ := ids.New()
	e := webhook.Endpoint{ID: id, TeamID: sc.TeamID, Mode: sc.Mode, URL: "https://example.com/hooks", Events: []string{"*"},
		Enabled: true, Secret: "whsec_x", CreatedAt: now, UpdatedAt: now}
	if err := db.InsertEndpoint(ctx, e); err != nil {
		t.Fatal(err)
	}
	var dids []string
	for i := range n {
		did, _ := ids.New()
		d := webhook.Delivery{ID: did, EndpointID: e.ID, TeamID: sc.TeamID, Mode: sc.Mode, EventID: fmt.Sprintf("evt_%032d", i),
			EventType: "ping", Payload: []byte(`{}`), State: webhook.Pending, NextAttemptAt: &now, CreatedAt: now}
		if err := db.InsertDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
		dids = append(dids, did)
	}
	return e, dids
}

// TestWebhookClaims: two claimers taking an endpoint's due deliveries at
// once never get the same one, and between them get all; an expired claim
// can be taken over, and then only the new holder records the attempt.
func TestWebhookClaims(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		e, all := hookFixture(t, db, 60, now)
		var mu sync.Mutex
		got := map[string][]string{}
		var wg sync.WaitGroup
		for _, token := range []string{"a", "b"} {
			wg.Go(func() {
				for {
					ds, err := db.ClaimDue(ctx, e.ID, now, webhook.Claim{Token: token, Until: now.Add(time.Minute)}, 7)
					if err != nil {
						t.Error(err)
						return
					}
					if len(ds) == 0 {
						return
					}
					mu.Lock()
					for _, d := range ds {
						if string(d.Payload) != "{}" {
							t.Errorf("claimed %s without its payload", d.ID)
						}
						got[d.ID] = append(got[d.ID], token)
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(got) != len(all) {
			t.Fatalf("claimed: got %d deliveries, want %d", len(got), len(all))
		}
		for id, by := range got {
			if len(by) != 1 {
				t.Errorf("delivery %s claimed by %v", id, by)
			}
		}

		// After the lease, c takes a's deliveries; a's attempt no longer counts.
		later := now.Add(2 * time.Minute)
		ds, err := db.ClaimDue(ctx, e.ID, later, webhook.Claim{Token: "c", Until: later.Add(time.Minute)}, 100)
		if err != nil || len(ds) != len(all) {
			t.Fatalf("claims after the lease: got %d (%v), want %d", len(ds), err, len(all))
		}
		first := ds[0].ID
		if err := db.RecordAttempts(ctx, []webhook.Attempt{{DeliveryID: first, Token: got[first][0], At: later,
			Status: 200, State: webhook.Succeeded}}); err != nil {
			t.Fatal(err)
		}
		d, err := db.DeliveryByID(ctx, e.Scope(), e.ID, first)
		if err != nil || d.State != webhook.Pending || d.Attempts != 0 {
			t.Fatalf("after the old holder recorded: got %s with %d attempts (%v), want still pending", d.State, d.Attempts, err)
		}
		if err := db.RecordAttempts(ctx, []webhook.Attempt{{DeliveryID: first, Token: "c", At: later, Status: 204,
			Response: "ok", Duration: 3 * time.Millisecond, State: webhook.Succeeded}}); err != nil {
			t.Fatal(err)
		}
		d, _ = db.DeliveryByID(ctx, e.Scope(), e.ID, first)
		if d.State != webhook.Succeeded || d.Attempts != 1 || d.LastStatus != 204 || d.LastResponse != "ok" || d.CompletedAt == nil {
			t.Errorf("recorded: got %+v", d)
		}
		// Released claims are due again at once.
		rest := []string{}
		for _, x := range ds[1:] {
			rest = append(rest, x.ID)
		}
		if err := db.ReleaseClaims(ctx, "c", rest); err != nil {
			t.Fatal(err)
		}
		again, err := db.ClaimDue(ctx, e.ID, later, webhook.Claim{Token: "d", Until: later.Add(time.Minute)}, 100)
		if err != nil || len(again) != len(rest) {
			t.Errorf("after release: got %d (%v), want %d", len(again), err, len(rest))
		}
	})
}

// TestWebhookSweep: finished deliveries older than the retention go, and
// so do the events no delivery names any more; pending ones stay.
func TestWebhookSweep(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		e, all := hookFixture(t, db, 3, now)
		ds, err := db.ClaimDue(ctx, e.ID, now, webhook.Claim{Token: "a", Until: now.Add(time.Minute)}, 2)
		if err != nil || len(ds) != 2 {
			t.Fatalf("claim: %d %v", len(ds), err)
		}
		var as []webhook.Attempt
		for _, d := range ds {
			as = append(as, webhook.Attempt{DeliveryID: d.ID, Token: "a", At: now, Status: 200, State: webhook.Succeeded})
		}
		if err := db.RecordAttempts(ctx, as); err != nil {
			t.Fatal(err)
		}
		n, err := db.DeleteDeliveriesBefore(ctx, now.Add(time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("swept: got %d (%v), want 2", n, err)
		}
		left, err := db.ListDeliveries(ctx, e.Scope(), e.ID, "", 10)
		if err != nil || len(left) != 1 || !slices.Contains(all, left[0].ID) || left[0].State != webhook.Pending {
			t.Fatalf("left: got %+v (%v), want the pending one", left, err)
		}
		var events int
		if err := db.Bun().NewRaw("SELECT count(*) FROM webhook_events").Scan(ctx, &events); err != nil || events != 1 {
			t.Errorf("events left: got %d (%v), want the pending delivery's", events, err)
		}
	})
}
