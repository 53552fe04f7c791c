package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/team"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

func TestHelpdeskRows(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := open(t, url)
		now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
		tm, err := team.NewService(db, func() time.Time { return now }).Create(ctx, "Acme", "acme")
		if err != nil {
			t.Fatalf("create team: %v", err)
		}
		sc := scope.Scope{TeamID: tm.ID, Mode: scope.Live}
		c := helpdesk.Customer{ID: uuid.NewString(), TeamID: tm.ID, Mode: scope.Live, ExternalID: "x-1",
			Metadata: map[string]any{"plan": "pro"}, CreatedAt: now, UpdatedAt: now}
		if err := db.InsertCustomer(ctx, c); err != nil {
			t.Fatalf("insert customer: %v", err)
		}

		// Absent identifiers are NULL, not "", and metadata is a JSON object.
		var nullEmail bool
		var plan string
		err = db.Bun().NewRaw("SELECT email IS NULL FROM customers WHERE id = ?", c.ID).Scan(ctx, &nullEmail)
		if err != nil || !nullEmail {
			t.Fatalf("email IS NULL: got %v, %v; want true", nullEmail, err)
		}
		q := "SELECT metadata->>'plan' FROM customers WHERE id = ?"
		if db.Dialect() == "sqlite" {
			q = "SELECT json_extract(metadata, '$.plan') FROM customers WHERE id = ?"
		}
		if err := db.Bun().NewRaw(q, c.ID).Scan(ctx, &plan); err != nil || plan != "pro" {
			t.Fatalf("metadata plan: got %q, %v; want pro", plan, err)
		}

		// A ticket whose customer vanished between check and write is a
		// validation error, not a driver error.
		tk := helpdesk.Ticket{ID: uuid.NewString(), TeamID: tm.ID, Mode: scope.Live, Subject: "s", Status: "open",
			Priority: "normal", Channel: "api", CustomerID: uuid.NewString(), CreatedAt: now, UpdatedAt: now}
		err = db.InsertTicket(ctx, tk)
		if !errors.Is(err, helpdesk.ErrUnknownCustomer) || errs.CodeOf(err) != errs.Invalid {
			t.Fatalf("insert ticket with unknown customer: got %v, want ErrUnknownCustomer", err)
		}
		tk.CustomerID = c.ID
		if err := db.InsertTicket(ctx, tk); err != nil {
			t.Fatalf("insert ticket: %v", err)
		}
		tk.CustomerID = uuid.NewString()
		if err := db.UpdateTicket(ctx, tk); !errors.Is(err, helpdesk.ErrUnknownCustomer) {
			t.Fatalf("update ticket with unknown customer: got %v, want ErrUnknownCustomer", err)
		}
		got, err := db.TicketByID(ctx, sc, tk.ID)
		if err != nil || got.CustomerID != c.ID || got.Tags == nil {
			t.Fatalf("ticket: got %+v, %v", got, err)
		}
		if err := db.DeleteTicket(ctx, scope.Scope{TeamID: tm.ID, Mode: scope.Test}, tk.ID); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("delete from test mode: got %v, want ErrNotFound", err)
		}
	})
}
