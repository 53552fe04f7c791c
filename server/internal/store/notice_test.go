package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/realtime"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/storetest"
	"github.com/cstar-chat/cstar/server/internal/team"
)

// TestNoticesParse holds both writers of durable notices on PostgreSQL (the
// stored function cstar_append_message and the statement that logs ticket
// changes) to realtime.ParseNotice: each event's notice, as heard by a
// LISTEN, parses to the event's own team, mode and position.
func TestNoticesParse(t *testing.T) {
	db := storetest.New(t, "postgres")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	created, err := team.NewService(db, time.Now).Create(ctx, "Acme", "acme")
	if err != nil {
		t.Fatalf("create team: %v", err)
	}
	sc := scope.Scope{TeamID: created.ID, Mode: scope.Test}

	heard := make(chan string, 16)
	listening := make(chan struct{})
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	go db.Listen(lctx, func() { close(listening) }, func(error) {}, func(p string) { heard <- p })
	<-listening

	// A new customer: customer.created from the Go statement.
	desk := helpdesk.NewService(chat.LogTicketChanges(db, db), time.Now)
	email := "ann@example.com"
	c, err := desk.CreateCustomer(ctx, sc, helpdesk.CustomerInput{Email: &email})
	if err != nil {
		t.Fatalf("create customer: %v", err)
	}
	want := []chat.Event{{TeamID: sc.TeamID, Mode: sc.Mode, Pos: 1}}
	// A customer's first message: ticket.created and message.created from
	// the stored function.
	_, evs, err := db.AppendMessage(ctx, chat.Append{Scope: sc, CustomerID: c.ID, Author: chat.Author{Type: chat.AuthorCustomer, ID: c.ID},
		Body: "hello", Subject: "hello", Now: time.Now().UTC(), NewID: ids.New})
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	want = append(want, evs...)
	// A ticket change: ticket.updated from the Go statement.
	closed := helpdesk.StatusClosed
	if _, err := desk.UpdateTicket(ctx, sc, evs[0].TicketID, helpdesk.TicketInput{Status: &closed}); err != nil {
		t.Fatalf("update ticket: %v", err)
	}
	head, err := db.HeadPos(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, chat.Event{TeamID: sc.TeamID, Mode: sc.Mode, Pos: head})
	if len(want) != 4 {
		t.Fatalf("events: got %d, want customer.created, ticket.created, message.created, ticket.updated", len(want))
	}

	for i, ev := range want {
		select {
		case p := <-heard:
			n, err := realtime.ParseNotice(p)
			if err != nil {
				t.Fatalf("notice %d %q: %v", i, p, err)
			}
			if n.Event != nil || n.Scope != ev.Scope() || n.Pos != ev.Pos {
				t.Errorf("notice %d %q: got %+v, want scope %v position %d", i, p, n, ev.Scope(), ev.Pos)
			}
			if f := realtime.DurableNotice(ev).Format(); f != p {
				t.Errorf("notice %d: the database wrote %q, Format writes %q", i, p, f)
			}
		case <-ctx.Done():
			t.Fatalf("notice %d never heard", i)
		}
	}
}
