package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/store"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// TestCustomerEventsMigration: events stored before migration 0011 (which
// lets an event name no ticket, rebuilding the table on SQLite) are kept,
// and customer writes then log customer.created, .updated and .deleted
// after them, read back with the customer as it is now (none once deleted).
func TestCustomerEventsMigration(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.MigrateTo(ctx, "0008_team_settings.sql"); err != nil {
			t.Fatalf("migrate to 0008: %v", err)
		}
		const teamID = "01a2206a-e1c7-7cbd-b02c-8b6cb78361c8"
		const ticketID = "01a2206a-e1c7-7cbd-b02c-8b6cb78361c9"
		now := time.Now().UTC().Truncate(time.Microsecond)
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO teams (id, slug, name, created_at, updated_at) VALUES (?, 'acme', 'Acme', ?, ?)`, []any{teamID, now, now}},
			{`INSERT INTO tickets (id, team_id, mode, subject, status, priority, channel, created_at, updated_at)
				VALUES (?, ?, 'live', 'Old', 'open', 'normal', 'api', ?, ?)`, []any{ticketID, teamID, now, now}},
			{`INSERT INTO event_counters (team_id, mode, pos) VALUES (?, 'live', 1)`, []any{teamID}},
			{`INSERT INTO events (team_id, mode, pos, type, ticket_id, created_at) VALUES (?, 'live', 1, 'ticket.created', ?, ?)`,
				[]any{teamID, ticketID, now}},
		} {
			if _, err := db.Bun().ExecContext(ctx, q.sql, q.args...); err != nil {
				t.Fatalf("%s: %v", q.sql, err)
			}
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		sc := scope.Scope{TeamID: teamID, Mode: scope.Live}
		desk := helpdesk.NewService(db, time.Now)
		email := "ann@example.com"
		c, err := desk.CreateCustomer(ctx, sc, helpdesk.CustomerInput{Email: &email})
		if err != nil {
			t.Fatal(err)
		}
		name := "Ann"
		if _, err := desk.UpdateCustomer(ctx, sc, c.ID, helpdesk.CustomerInput{Name: &name}); err != nil {
			t.Fatal(err)
		}
		evs, err := db.EventsAfter(ctx, sc, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{chat.TicketCreated, chat.CustomerCreated, chat.CustomerUpdated}
		if len(evs) != len(want) {
			t.Fatalf("events: got %d, want %v", len(evs), want)
		}
		for i, ev := range evs {
			if ev.Pos != int64(i+1) || ev.Type != want[i] {
				t.Errorf("event %d: got %d %s, want %d %s", i, ev.Pos, ev.Type, i+1, want[i])
			}
		}
		if evs[0].Ticket == nil || evs[0].Ticket.Subject != "Old" || evs[0].Customer != nil {
			t.Errorf("old event: got ticket %v, customer %v; want the old ticket", evs[0].Ticket, evs[0].Customer)
		}
		for _, ev := range evs[1:] {
			if ev.TicketID != "" || ev.CustomerID != c.ID || ev.Customer == nil || ev.Customer.Name != "Ann" {
				t.Errorf("%s: got ticket %q, customer %v; want Ann as she is now", ev.Type, ev.TicketID, ev.Customer)
			}
		}
		if err := desk.DeleteCustomer(ctx, sc, c.ID); err != nil {
			t.Fatal(err)
		}
		evs, err = db.EventsAfter(ctx, sc, 1, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 3 || evs[2].Type != chat.CustomerDeleted || evs[2].CustomerID != c.ID {
			t.Fatalf("after the deletion: got %+v, want customer.deleted last", evs)
		}
		for _, ev := range evs {
			if ev.Customer != nil {
				t.Errorf("%s at %d: got customer %v, want none once deleted", ev.Type, ev.Pos, ev.Customer)
			}
		}
	})
}
