package helpdesk_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/page"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/storetest"
	"github.com/cstar-chat/cstar/server/internal/team"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// env is a migrated database with two teams and a help desk whose clock
// moves one second on every reading.
type env struct {
	svc   *helpdesk.Service
	live  scope.Scope
	test  scope.Scope
	other scope.Scope
	now   time.Time
	ctx   context.Context
}

func setup(t *testing.T, url string) *env {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, url)
	e := &env{ctx: ctx, now: time.Date(2026, 11, 28, 10, 0, 0, 123456789, time.UTC)}
	clock := func() time.Time {
		e.now = e.now.Add(time.Second)
		return e.now
	}
	teams := team.NewService(db, clock)
	a, err := teams.Create(ctx, "Acme", "acme")
	if err != nil {
		t.Fatalf("create team: %v", err)
	}
	b, err := teams.Create(ctx, "Other", "other")
	if err != nil {
		t.Fatalf("create team: %v", err)
	}
	e.svc = helpdesk.NewService(db, clock)
	e.live = scope.Scope{TeamID: a.ID, Mode: scope.Live}
	e.test = scope.Scope{TeamID: a.ID, Mode: scope.Test}
	e.other = scope.Scope{TeamID: b.ID, Mode: scope.Live}
	return e
}

func ptr[T any](v T) *T { return &v }

func wantCode(t *testing.T, what string, err error, code errs.Code) {
	t.Helper()
	if got := errs.CodeOf(err); got != code {
		t.Fatalf("%s: got %v (%s), want %s", what, err, got, code)
	}
}

func wantField(t *testing.T, what string, err error, field string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.Invalid || e.Field != field {
		t.Fatalf("%s: got %v, want invalid %s", what, err, field)
	}
}

func (e *env) customer(t *testing.T, sc scope.Scope, email string) helpdesk.Customer {
	t.Helper()
	c, err := e.svc.CreateCustomer(e.ctx, sc, helpdesk.CustomerInput{Email: &email})
	if err != nil {
		t.Fatalf("create customer %s: %v", email, err)
	}
	return c
}

func (e *env) ticket(t *testing.T, sc scope.Scope, in helpdesk.TicketInput) helpdesk.Ticket {
	t.Helper()
	if in.Subject == nil {
		in.Subject = ptr("Help")
	}
	tk, err := e.svc.CreateTicket(e.ctx, sc, in)
	if err != nil {
		t.Fatalf("create ticket: %v", err)
	}
	return tk
}

func TestCustomerCRUD(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		c, err := e.svc.CreateCustomer(e.ctx, e.live, helpdesk.CustomerInput{
			Email: ptr("  Ada@Example.COM "), Name: ptr(" Ada Lovelace "),
			Metadata: map[string]any{"plan": "pro", "seats": 3.0, "tags": []any{"a"}},
		})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if c.Email != "ada@example.com" || c.Name != "Ada Lovelace" || c.ExternalID != "" || c.Mode != scope.Live ||
			c.TeamID != e.live.TeamID {
			t.Fatalf("create: got %+v", c)
		}
		if _, err := uuid.Parse(c.ID); err != nil || c.CreatedAt.Location() != time.UTC || !c.CreatedAt.Equal(c.UpdatedAt) {
			t.Fatalf("create: got id %q, created %v, updated %v", c.ID, c.CreatedAt, c.UpdatedAt)
		}
		got, err := e.svc.Customer(e.ctx, e.live, c.ID)
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		if fmt.Sprint(got) != fmt.Sprint(c) {
			t.Fatalf("get: got %+v, want %+v", got, c)
		}
		if got, err := e.svc.Customer(e.ctx, e.live, strings.ToUpper(c.ID)); err != nil || got.ID != c.ID {
			t.Fatalf("get by upper-case id: got %+v, %v", got, err)
		}

		noMeta, err := e.svc.CreateCustomer(e.ctx, e.live, helpdesk.CustomerInput{ExternalID: ptr("u-1")})
		if err != nil || noMeta.Metadata == nil || len(noMeta.Metadata) != 0 || noMeta.Email != "" {
			t.Fatalf("create without metadata: got %+v, %v", noMeta, err)
		}
		if got, err := e.svc.Customer(e.ctx, e.live, noMeta.ID); err != nil || got.Metadata == nil || got.Email != "" {
			t.Fatalf("get without metadata: got %+v, %v", got, err)
		}

		up, err := e.svc.UpdateCustomer(e.ctx, e.live, c.ID, helpdesk.CustomerInput{Name: ptr("Ada King"), ExternalID: ptr("u-2")})
		if err != nil {
			t.Fatalf("update: %v", err)
		}
		if up.Name != "Ada King" || up.ExternalID != "u-2" || up.Email != c.Email || up.Metadata["plan"] != "pro" {
			t.Fatalf("update: got %+v", up)
		}
		if !up.UpdatedAt.After(c.UpdatedAt) || !up.CreatedAt.Equal(c.CreatedAt) {
			t.Fatalf("update times: got created %v updated %v, want created %v and a later update", up.CreatedAt, up.UpdatedAt, c.CreatedAt)
		}
		up, err = e.svc.UpdateCustomer(e.ctx, e.live, c.ID, helpdesk.CustomerInput{Email: ptr(""), Metadata: map[string]any{}})
		if err != nil || up.Email != "" || len(up.Metadata) != 0 {
			t.Fatalf("clear email and metadata: got %+v, %v", up, err)
		}
		got, err = e.svc.Customer(e.ctx, e.live, c.ID)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(up) {
			t.Fatalf("get after update: got %+v, %v; want %+v", got, err, up)
		}
		_, err = e.svc.UpdateCustomer(e.ctx, e.live, c.ID, helpdesk.CustomerInput{ExternalID: ptr("")})
		wantField(t, "clear both identifiers", err, "email")

		if err := e.svc.DeleteCustomer(e.ctx, e.live, c.ID); err != nil {
			t.Fatalf("delete: %v", err)
		}
		_, err = e.svc.Customer(e.ctx, e.live, c.ID)
		wantCode(t, "get deleted", err, errs.NotFound)
		if err.Error() != "not_found: Customer not found" {
			t.Fatalf("get deleted: got %q, want the message Customer not found", err)
		}
		wantCode(t, "delete twice", e.svc.DeleteCustomer(e.ctx, e.live, c.ID), errs.NotFound)
		_, err = e.svc.UpdateCustomer(e.ctx, e.live, c.ID, helpdesk.CustomerInput{Name: ptr("x")})
		wantCode(t, "update deleted", err, errs.NotFound)
	})
}

func TestCustomerValidation(t *testing.T) {
	bigMeta := map[string]any{}
	for i := range 51 {
		bigMeta[fmt.Sprintf("k%d", i)] = i
	}
	heavyMeta := map[string]any{"blob": strings.Repeat("x", 16<<10)}
	okMeta := map[string]any{"blob": strings.Repeat("x", 16<<10-20)}
	longEmail := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + ".com"
	tests := []struct {
		name  string
		in    helpdesk.CustomerInput
		field string // "" means valid
	}{
		{"email only", helpdesk.CustomerInput{Email: ptr("a@b.co")}, ""},
		{"external id only", helpdesk.CustomerInput{ExternalID: ptr("x")}, ""},
		{"neither", helpdesk.CustomerInput{Name: ptr("Ann")}, "email"},
		{"blank email and external id", helpdesk.CustomerInput{Email: ptr("  "), ExternalID: ptr(" ")}, "email"},
		{"no at", helpdesk.CustomerInput{Email: ptr("ann.example.com")}, "email"},
		{"two ats", helpdesk.CustomerInput{Email: ptr("a@b@c.com")}, "email"},
		{"no domain dot", helpdesk.CustomerInput{Email: ptr("ann@localhost")}, "email"},
		{"empty local", helpdesk.CustomerInput{Email: ptr("@example.com")}, "email"},
		{"space inside", helpdesk.CustomerInput{Email: ptr("a nn@example.com")}, "email"},
		{"display name", helpdesk.CustomerInput{Email: ptr("Ann <ann@example.com>")}, "email"},
		{"empty label", helpdesk.CustomerInput{Email: ptr("ann@example..com")}, "email"},
		{"email too long", helpdesk.CustomerInput{Email: ptr(longEmail)}, "email"},
		{"name 200", helpdesk.CustomerInput{Email: ptr("n@x.io"), Name: ptr(strings.Repeat("é", 200))}, ""},
		{"name 201", helpdesk.CustomerInput{Email: ptr("n@x.io"), Name: ptr(strings.Repeat("n", 201))}, "name"},
		{"external id 255", helpdesk.CustomerInput{ExternalID: ptr(strings.Repeat("e", 255))}, ""},
		{"external id 256", helpdesk.CustomerInput{ExternalID: ptr(strings.Repeat("e", 256))}, "external_id"},
		{"metadata 51 keys", helpdesk.CustomerInput{Email: ptr("m@x.io"), Metadata: bigMeta}, "metadata"},
		{"metadata over 16 KB", helpdesk.CustomerInput{Email: ptr("m@x.io"), Metadata: heavyMeta}, "metadata"},
		{"metadata under 16 KB", helpdesk.CustomerInput{Email: ptr("m@x.io"), Metadata: okMeta}, ""},
	}
	if len(longEmail) <= 254 {
		t.Fatalf("long email: got %d characters, want more than 254", len(longEmail))
	}
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := e.svc.CreateCustomer(e.ctx, e.live, tt.in)
				if tt.field == "" {
					if err != nil {
						t.Fatalf("create: got %v, want success", err)
					}
					return
				}
				wantField(t, "create", err, tt.field)
			})
		}
		c := e.customer(t, e.live, "valid@example.com")
		_, err := e.svc.UpdateCustomer(e.ctx, e.live, c.ID, helpdesk.CustomerInput{Email: ptr("broken")})
		wantField(t, "update email", err, "email")
		_, err = e.svc.UpdateCustomer(e.ctx, e.live, c.ID, helpdesk.CustomerInput{Metadata: bigMeta})
		wantField(t, "update metadata", err, "metadata")
	})
}

func TestCustomerConflicts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		a, err := e.svc.CreateCustomer(e.ctx, e.live, helpdesk.CustomerInput{Email: ptr("ann@example.com"), ExternalID: ptr("ext-1")})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		tests := []struct {
			name string
			sc   scope.Scope
			in   helpdesk.CustomerInput
			msg  string // "" means allowed
		}{
			{"same email, other case", e.live, helpdesk.CustomerInput{Email: ptr("ANN@example.com")}, "A customer with this email already exists"},
			{"same external id", e.live, helpdesk.CustomerInput{ExternalID: ptr("ext-1")}, "A customer with this external id already exists"},
			{"new email, same external id", e.live, helpdesk.CustomerInput{Email: ptr("new@example.com"), ExternalID: ptr("ext-1")}, "A customer with this external id already exists"},
			{"same email in test mode", e.test, helpdesk.CustomerInput{Email: ptr("ann@example.com"), ExternalID: ptr("ext-1")}, ""},
			{"same email in another team", e.other, helpdesk.CustomerInput{Email: ptr("ann@example.com"), ExternalID: ptr("ext-1")}, ""},
			{"two without email", e.live, helpdesk.CustomerInput{ExternalID: ptr("ext-2")}, ""},
			{"three without email", e.live, helpdesk.CustomerInput{ExternalID: ptr("ext-3")}, ""},
			{"two without external id", e.live, helpdesk.CustomerInput{Email: ptr("b@example.com")}, ""},
			{"three without external id", e.live, helpdesk.CustomerInput{Email: ptr("c@example.com")}, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := e.svc.CreateCustomer(e.ctx, tt.sc, tt.in)
				if tt.msg == "" {
					if err != nil {
						t.Fatalf("create: got %v, want success", err)
					}
					return
				}
				var ee *errs.Error
				if !errors.As(err, &ee) || ee.Code != errs.Conflict || ee.Message != tt.msg {
					t.Fatalf("create: got %v, want conflict %q", err, tt.msg)
				}
			})
		}
		b := e.customer(t, e.live, "bob@example.com")
		_, err = e.svc.UpdateCustomer(e.ctx, e.live, b.ID, helpdesk.CustomerInput{Email: ptr("Ann@Example.com")})
		wantCode(t, "update to a taken email", err, errs.Conflict)
		if !strings.Contains(err.Error(), "email") {
			t.Fatalf("update to a taken email: got %v, want the email message", err)
		}
		_, err = e.svc.UpdateCustomer(e.ctx, e.live, b.ID, helpdesk.CustomerInput{ExternalID: ptr("ext-1")})
		wantCode(t, "update to a taken external id", err, errs.Conflict)
		if _, err := e.svc.UpdateCustomer(e.ctx, e.live, a.ID, helpdesk.CustomerInput{Email: ptr("ann@example.com")}); err != nil {
			t.Fatalf("update to its own email: got %v, want success", err)
		}
	})
}

func TestTicketCRUD(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		tk, err := e.svc.CreateTicket(e.ctx, e.live, helpdesk.TicketInput{Subject: ptr("  Cannot log in  ")})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if tk.Subject != "Cannot log in" || tk.Status != "open" || tk.Priority != "normal" || tk.Channel != "api" ||
			tk.CustomerID != "" || tk.Tags == nil || len(tk.Tags) != 0 || tk.ClosedAt != nil || tk.Mode != scope.Live {
			t.Fatalf("create defaults: got %+v", tk)
		}
		got, err := e.svc.Ticket(e.ctx, e.live, tk.ID)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tk) {
			t.Fatalf("get: got %+v, %v; want %+v", got, err, tk)
		}

		c := e.customer(t, e.live, "ann@example.com")
		full, err := e.svc.CreateTicket(e.ctx, e.live, helpdesk.TicketInput{Subject: ptr("Refund"), Status: ptr("closed"),
			Priority: ptr("urgent"), Channel: ptr("email"), CustomerID: ptr(c.ID), Tags: &[]string{" billing ", "vip", "billing"}})
		if err != nil {
			t.Fatalf("create full: %v", err)
		}
		if full.Status != "closed" || full.ClosedAt == nil || !full.ClosedAt.Equal(full.CreatedAt) || full.Priority != "urgent" ||
			full.Channel != "email" || full.CustomerID != c.ID || fmt.Sprint(full.Tags) != "[billing vip]" {
			t.Fatalf("create full: got %+v", full)
		}
		got, err = e.svc.Ticket(e.ctx, e.live, full.ID)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(full) {
			t.Fatalf("get full: got %+v, %v; want %+v", got, err, full)
		}

		// Closing stamps closed_at once; reopening clears it.
		closed, err := e.svc.UpdateTicket(e.ctx, e.live, tk.ID, helpdesk.TicketInput{Status: ptr("closed")})
		if err != nil || closed.ClosedAt == nil || !closed.ClosedAt.Equal(closed.UpdatedAt) || !closed.UpdatedAt.After(tk.UpdatedAt) {
			t.Fatalf("close: got %+v, %v", closed, err)
		}
		again, err := e.svc.UpdateTicket(e.ctx, e.live, tk.ID, helpdesk.TicketInput{Status: ptr("closed"), Priority: ptr("high")})
		if err != nil || again.ClosedAt == nil || !again.ClosedAt.Equal(*closed.ClosedAt) || again.Priority != "high" {
			t.Fatalf("close again: got %+v, %v; want closed_at kept at %v", again, err, closed.ClosedAt)
		}
		reopened, err := e.svc.UpdateTicket(e.ctx, e.live, tk.ID, helpdesk.TicketInput{Status: ptr("pending")})
		if err != nil || reopened.ClosedAt != nil || reopened.Status != "pending" {
			t.Fatalf("reopen: got %+v, %v", reopened, err)
		}
		got, err = e.svc.Ticket(e.ctx, e.live, tk.ID)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(reopened) {
			t.Fatalf("get reopened: got %+v, %v; want %+v", got, err, reopened)
		}

		up, err := e.svc.UpdateTicket(e.ctx, e.live, full.ID, helpdesk.TicketInput{CustomerID: ptr(""), Tags: &[]string{},
			Subject: ptr("Refund please"), Channel: ptr("chat")})
		if err != nil || up.CustomerID != "" || len(up.Tags) != 0 || up.Tags == nil || up.Subject != "Refund please" || up.Channel != "chat" {
			t.Fatalf("update: got %+v, %v", up, err)
		}
		up, err = e.svc.UpdateTicket(e.ctx, e.live, full.ID, helpdesk.TicketInput{CustomerID: ptr(strings.ToUpper(c.ID))})
		if err != nil || up.CustomerID != c.ID {
			t.Fatalf("set customer: got %+v, %v", up, err)
		}

		// Deleting the customer keeps the ticket and detaches it.
		if err := e.svc.DeleteCustomer(e.ctx, e.live, c.ID); err != nil {
			t.Fatalf("delete customer: %v", err)
		}
		got, err = e.svc.Ticket(e.ctx, e.live, full.ID)
		if err != nil || got.CustomerID != "" {
			t.Fatalf("ticket of deleted customer: got %+v, %v; want no customer", got, err)
		}

		if err := e.svc.DeleteTicket(e.ctx, e.live, tk.ID); err != nil {
			t.Fatalf("delete: %v", err)
		}
		_, err = e.svc.Ticket(e.ctx, e.live, tk.ID)
		wantCode(t, "get deleted", err, errs.NotFound)
		if err.Error() != "not_found: Ticket not found" {
			t.Fatalf("get deleted: got %q, want the message Ticket not found", err)
		}
		wantCode(t, "delete twice", e.svc.DeleteTicket(e.ctx, e.live, tk.ID), errs.NotFound)
		_, err = e.svc.UpdateTicket(e.ctx, e.live, tk.ID, helpdesk.TicketInput{Priority: ptr("low")})
		wantCode(t, "update deleted", err, errs.NotFound)
	})
}

func TestTicketValidation(t *testing.T) {
	many := make([]string, 21)
	for i := range many {
		many[i] = fmt.Sprintf("t%d", i)
	}
	dupes := append(append([]string{}, many[:20]...), " t0 ")
	tests := []struct {
		name  string
		in    helpdesk.TicketInput
		field string // "" means valid
	}{
		{"no subject", helpdesk.TicketInput{}, "subject"},
		{"blank subject", helpdesk.TicketInput{Subject: ptr("   ")}, "subject"},
		{"subject 500", helpdesk.TicketInput{Subject: ptr(strings.Repeat("ü", 500))}, ""},
		{"subject 501", helpdesk.TicketInput{Subject: ptr(strings.Repeat("s", 501))}, "subject"},
		{"bad status", helpdesk.TicketInput{Subject: ptr("s"), Status: ptr("done")}, "status"},
		{"empty status", helpdesk.TicketInput{Subject: ptr("s"), Status: ptr("")}, "status"},
		{"bad priority", helpdesk.TicketInput{Subject: ptr("s"), Priority: ptr("asap")}, "priority"},
		{"bad channel", helpdesk.TicketInput{Subject: ptr("s"), Channel: ptr("fax")}, "channel"},
		{"customer not a uuid", helpdesk.TicketInput{Subject: ptr("s"), CustomerID: ptr("cus_1")}, "customer_id"},
		{"unknown customer", helpdesk.TicketInput{Subject: ptr("s"), CustomerID: ptr(uuid.NewString())}, "customer_id"},
		{"empty customer", helpdesk.TicketInput{Subject: ptr("s"), CustomerID: ptr("")}, ""},
		{"21 tags", helpdesk.TicketInput{Subject: ptr("s"), Tags: &many}, "tags"},
		{"20 tags after dedupe", helpdesk.TicketInput{Subject: ptr("s"), Tags: &dupes}, ""},
		{"blank tag", helpdesk.TicketInput{Subject: ptr("s"), Tags: &[]string{"a", " "}}, "tags"},
		{"tag 50", helpdesk.TicketInput{Subject: ptr("s"), Tags: &[]string{strings.Repeat("t", 50)}}, ""},
		{"tag 51", helpdesk.TicketInput{Subject: ptr("s"), Tags: &[]string{strings.Repeat("t", 51)}}, "tags"},
	}
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := e.svc.CreateTicket(e.ctx, e.live, tt.in)
				if tt.field == "" {
					if err != nil {
						t.Fatalf("create: got %v, want success", err)
					}
					return
				}
				wantField(t, "create", err, tt.field)
			})
		}
		tk := e.ticket(t, e.live, helpdesk.TicketInput{})
		for _, tt := range tests[1:] {
			if tt.field == "" {
				continue
			}
			t.Run("update "+tt.name, func(t *testing.T) {
				_, err := e.svc.UpdateTicket(e.ctx, e.live, tk.ID, tt.in)
				wantField(t, "update", err, tt.field)
			})
		}
		if got, err := e.svc.Ticket(e.ctx, e.live, tk.ID); err != nil || fmt.Sprint(got) != fmt.Sprint(tk) {
			t.Fatalf("after failed updates: got %+v, %v; want %+v", got, err, tk)
		}
	})
}

// collect walks every page of a list with the given limit through opaque
// cursors and returns the ids and the size of each page.
func collect[T any](t *testing.T, limit int, list func(page.Params) (page.Page[T], error), id func(T) string) (ids []string, sizes []int) {
	t.Helper()
	cur := ""
	for range 100 {
		p, err := page.NewParams(limit, cur)
		if err != nil {
			t.Fatalf("params: %v", err)
		}
		pg, err := list(p)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, it := range pg.Items {
			ids = append(ids, id(it))
		}
		sizes = append(sizes, len(pg.Items))
		if pg.HasMore != (pg.Next != "") {
			t.Fatalf("page: got has_more %v with next %q", pg.HasMore, pg.Next)
		}
		if !pg.HasMore {
			return ids, sizes
		}
		cur = pg.Next
	}
	t.Fatalf("pagination did not end")
	return nil, nil
}

func TestPagination(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		var customers, tickets []string
		for i := range 5 {
			c := e.customer(t, e.live, fmt.Sprintf("c%d@example.com", i))
			customers = append([]string{c.ID}, customers...)
			tk := e.ticket(t, e.live, helpdesk.TicketInput{})
			tickets = append([]string{tk.ID}, tickets...)
		}
		e.customer(t, e.test, "hidden@example.com")
		e.ticket(t, e.other, helpdesk.TicketInput{})

		listC := func(p page.Params) (page.Page[helpdesk.Customer], error) {
			return e.svc.ListCustomers(e.ctx, e.live, helpdesk.CustomerFilter{}, p)
		}
		listT := func(p page.Params) (page.Page[helpdesk.Ticket], error) {
			return e.svc.ListTickets(e.ctx, e.live, helpdesk.TicketFilter{}, p)
		}
		cid := func(c helpdesk.Customer) string { return c.ID }
		tid := func(t helpdesk.Ticket) string { return t.ID }
		tests := []struct {
			limit int
			sizes string
		}{
			{1, "[1 1 1 1 1]"},
			{2, "[2 2 1]"},
			{4, "[4 1]"},
			{5, "[5]"},
			{0, "[5]"},
			{100, "[5]"},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("limit %d", tt.limit), func(t *testing.T) {
				ids, sizes := collect(t, tt.limit, listC, cid)
				if fmt.Sprint(ids) != fmt.Sprint(customers) || fmt.Sprint(sizes) != tt.sizes {
					t.Fatalf("customers: got %v in pages %v, want %v in pages %s", ids, sizes, customers, tt.sizes)
				}
				ids, sizes = collect(t, tt.limit, listT, tid)
				if fmt.Sprint(ids) != fmt.Sprint(tickets) || fmt.Sprint(sizes) != tt.sizes {
					t.Fatalf("tickets: got %v in pages %v, want %v in pages %s", ids, sizes, tickets, tt.sizes)
				}
			})
		}

		// After the oldest item there is an empty last page.
		pg, err := listC(page.Params{Limit: 2, After: customers[4]})
		if err != nil || len(pg.Items) != 0 || pg.Items == nil || pg.HasMore || pg.Next != "" {
			t.Fatalf("past the end: got %+v, %v", pg, err)
		}
		for _, bad := range []string{"nope", "1", "'; DROP TABLE customers; --"} {
			_, err := listC(page.Params{Limit: 2, After: bad})
			wantField(t, "customers after "+bad, err, "cursor")
			_, err = listT(page.Params{Limit: 2, After: bad})
			wantField(t, "tickets after "+bad, err, "cursor")
		}
		// A well-formed cursor that names no row still pages by id.
		pg, err = listC(page.Params{Limit: 10, After: uuid.Max.String()})
		if err != nil || len(pg.Items) != 5 {
			t.Fatalf("after the max uuid: got %d items, %v; want 5", len(pg.Items), err)
		}
	})
}

func TestFilters(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		ann, err := e.svc.CreateCustomer(e.ctx, e.live, helpdesk.CustomerInput{Email: ptr("ann@example.com"), ExternalID: ptr("a-1")})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		bob := e.customer(t, e.live, "bob@example.com")
		e.customer(t, e.test, "ann2@example.com")
		open1 := e.ticket(t, e.live, helpdesk.TicketInput{CustomerID: &ann.ID})
		closed1 := e.ticket(t, e.live, helpdesk.TicketInput{CustomerID: &ann.ID, Status: ptr("closed")})
		open2 := e.ticket(t, e.live, helpdesk.TicketInput{CustomerID: &bob.ID})
		pending := e.ticket(t, e.live, helpdesk.TicketInput{Status: ptr("pending")})

		ctests := []struct {
			name string
			f    helpdesk.CustomerFilter
			want []string
		}{
			{"none", helpdesk.CustomerFilter{}, []string{bob.ID, ann.ID}},
			{"email", helpdesk.CustomerFilter{Email: " ANN@example.com"}, []string{ann.ID}},
			{"external id", helpdesk.CustomerFilter{ExternalID: "a-1"}, []string{ann.ID}},
			{"both", helpdesk.CustomerFilter{Email: "bob@example.com", ExternalID: "a-1"}, nil},
			{"unknown email", helpdesk.CustomerFilter{Email: "zed@example.com"}, nil},
		}
		for _, tt := range ctests {
			t.Run("customers "+tt.name, func(t *testing.T) {
				pg, err := e.svc.ListCustomers(e.ctx, e.live, tt.f, page.Params{Limit: 10})
				if err != nil {
					t.Fatalf("list: %v", err)
				}
				var got []string
				for _, c := range pg.Items {
					got = append(got, c.ID)
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Fatalf("list: got %v, want %v", got, tt.want)
				}
			})
		}
		ttests := []struct {
			name string
			f    helpdesk.TicketFilter
			want []string
		}{
			{"none", helpdesk.TicketFilter{}, []string{pending.ID, open2.ID, closed1.ID, open1.ID}},
			{"open", helpdesk.TicketFilter{Status: "open"}, []string{open2.ID, open1.ID}},
			{"closed", helpdesk.TicketFilter{Status: "closed"}, []string{closed1.ID}},
			{"customer", helpdesk.TicketFilter{CustomerID: ann.ID}, []string{closed1.ID, open1.ID}},
			{"customer and status", helpdesk.TicketFilter{CustomerID: ann.ID, Status: "open"}, []string{open1.ID}},
			{"customer not a uuid", helpdesk.TicketFilter{CustomerID: "nope"}, nil},
			{"unknown customer", helpdesk.TicketFilter{CustomerID: uuid.NewString()}, nil},
		}
		for _, tt := range ttests {
			t.Run("tickets "+tt.name, func(t *testing.T) {
				pg, err := e.svc.ListTickets(e.ctx, e.live, tt.f, page.Params{Limit: 10})
				if err != nil {
					t.Fatalf("list: %v", err)
				}
				var got []string
				for _, tk := range pg.Items {
					got = append(got, tk.ID)
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) || pg.Items == nil {
					t.Fatalf("list: got %v, want %v", got, tt.want)
				}
			})
		}
		_, err = e.svc.ListTickets(e.ctx, e.live, helpdesk.TicketFilter{Status: "done"}, page.Params{Limit: 10})
		wantField(t, "bad status filter", err, "status")
	})
}

func TestIsolation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		scopes := map[string]scope.Scope{"live": e.live, "test": e.test, "other team": e.other}
		for owner, own := range scopes {
			for viewer, sc := range scopes {
				if owner == viewer {
					continue
				}
				t.Run(owner+" seen from "+viewer, func(t *testing.T) {
					c := e.customer(t, own, uuid.NewString()+"@example.com")
					tk := e.ticket(t, own, helpdesk.TicketInput{CustomerID: &c.ID})

					_, err := e.svc.Customer(e.ctx, sc, c.ID)
					wantCode(t, "get customer", err, errs.NotFound)
					_, err = e.svc.UpdateCustomer(e.ctx, sc, c.ID, helpdesk.CustomerInput{Name: ptr("x")})
					wantCode(t, "update customer", err, errs.NotFound)
					wantCode(t, "delete customer", e.svc.DeleteCustomer(e.ctx, sc, c.ID), errs.NotFound)
					_, err = e.svc.Ticket(e.ctx, sc, tk.ID)
					wantCode(t, "get ticket", err, errs.NotFound)
					_, err = e.svc.UpdateTicket(e.ctx, sc, tk.ID, helpdesk.TicketInput{Subject: ptr("x")})
					wantCode(t, "update ticket", err, errs.NotFound)
					wantCode(t, "delete ticket", e.svc.DeleteTicket(e.ctx, sc, tk.ID), errs.NotFound)

					cs, err := e.svc.ListCustomers(e.ctx, sc, helpdesk.CustomerFilter{}, page.Params{Limit: 100})
					if err != nil {
						t.Fatalf("list customers: %v", err)
					}
					for _, got := range cs.Items {
						if got.ID == c.ID || got.TeamID != sc.TeamID || got.Mode != sc.Mode {
							t.Fatalf("list customers: got %+v in scope %+v", got, sc)
						}
					}
					cs, err = e.svc.ListCustomers(e.ctx, sc, helpdesk.CustomerFilter{Email: c.Email}, page.Params{Limit: 100})
					if err != nil || len(cs.Items) != 0 {
						t.Fatalf("list customers by email: got %d, %v; want 0", len(cs.Items), err)
					}
					ts, err := e.svc.ListTickets(e.ctx, sc, helpdesk.TicketFilter{}, page.Params{Limit: 100})
					if err != nil {
						t.Fatalf("list tickets: %v", err)
					}
					for _, got := range ts.Items {
						if got.ID == tk.ID || got.TeamID != sc.TeamID || got.Mode != sc.Mode {
							t.Fatalf("list tickets: got %+v in scope %+v", got, sc)
						}
					}
					ts, err = e.svc.ListTickets(e.ctx, sc, helpdesk.TicketFilter{CustomerID: c.ID}, page.Params{Limit: 100})
					if err != nil || len(ts.Items) != 0 {
						t.Fatalf("list tickets by customer: got %d, %v; want 0", len(ts.Items), err)
					}

					// A ticket cannot point at a customer outside its scope.
					_, err = e.svc.CreateTicket(e.ctx, sc, helpdesk.TicketInput{Subject: ptr("s"), CustomerID: &c.ID})
					wantField(t, "create ticket with foreign customer", err, "customer_id")
					mine := e.ticket(t, sc, helpdesk.TicketInput{})
					_, err = e.svc.UpdateTicket(e.ctx, sc, mine.ID, helpdesk.TicketInput{CustomerID: &c.ID})
					wantField(t, "update ticket with foreign customer", err, "customer_id")

					// The owner still sees both, untouched.
					if got, err := e.svc.Customer(e.ctx, own, c.ID); err != nil || got.Name != "" {
						t.Fatalf("owner's customer: got %+v, %v", got, err)
					}
					if got, err := e.svc.Ticket(e.ctx, own, tk.ID); err != nil || got.Subject != "Help" {
						t.Fatalf("owner's ticket: got %+v, %v", got, err)
					}
				})
			}
		}
	})
}

func TestInvalidIDs(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		e := setup(t, url)
		e.customer(t, e.live, "ann@example.com")
		e.ticket(t, e.live, helpdesk.TicketInput{})
		for _, id := range []string{"", "nope", "123", "cus_0123", "'; DROP TABLE tickets; --", uuid.NewString() + "x"} {
			t.Run(fmt.Sprintf("%q", id), func(t *testing.T) {
				_, err := e.svc.Customer(e.ctx, e.live, id)
				wantCode(t, "get customer", err, errs.NotFound)
				_, err = e.svc.UpdateCustomer(e.ctx, e.live, id, helpdesk.CustomerInput{Name: ptr("x")})
				wantCode(t, "update customer", err, errs.NotFound)
				wantCode(t, "delete customer", e.svc.DeleteCustomer(e.ctx, e.live, id), errs.NotFound)
				_, err = e.svc.Ticket(e.ctx, e.live, id)
				wantCode(t, "get ticket", err, errs.NotFound)
				_, err = e.svc.UpdateTicket(e.ctx, e.live, id, helpdesk.TicketInput{Subject: ptr("x")})
				wantCode(t, "update ticket", err, errs.NotFound)
				wantCode(t, "delete ticket", e.svc.DeleteTicket(e.ctx, e.live, id), errs.NotFound)
			})
		}
		// A valid UUID that names nothing is not found too.
		_, err := e.svc.Customer(e.ctx, e.live, uuid.NewString())
		wantCode(t, "get unknown customer", err, errs.NotFound)
		_, err = e.svc.Ticket(e.ctx, e.live, uuid.NewString())
		wantCode(t, "get unknown ticket", err, errs.NotFound)
	})
}
