package store

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// inboxRow is a ticket with its customer's name and its last message, as the
// inbox lists it.
type inboxRow struct {
	ticketRow `bun:",extend"`

	CustomerName   *string `bun:"customer_name"`
	CustomerEmail  *string `bun:"customer_email"`
	LastID         *string `bun:"last_id"`
	LastKind       *string `bun:"last_kind"`
	LastAuthorType *string `bun:"last_author_type"`
	LastAuthorName *string `bun:"last_author_name"`
	LastBody       *string `bun:"last_body"`
}

// previewChars is how much of the last message the inbox shows.
const previewChars = 140

func (r inboxRow) conversation() chat.Conversation {
	c := chat.Conversation{Ticket: r.ticket(), CustomerName: deref(r.CustomerName), CustomerEmail: deref(r.CustomerEmail)}
	if r.LastID != nil {
		c.Last = &chat.Message{ID: *r.LastID, TicketID: r.ID, Seq: r.LastSeq, Body: deref(r.LastBody),
			Author: chat.Author{Type: deref(r.LastAuthorType), Name: deref(r.LastAuthorName)}, Internal: deref(r.LastKind) == kindNote}
	}
	return c
}

// inboxSelect reads conversations: the ticket row, its customer's name and
// email, and the start of its last message, found by the unique index on
// (ticket_id, seq).
func (db *DB) inboxSelect(rows *[]inboxRow) *bun.SelectQuery {
	return db.bun.NewSelect().Model(rows).ModelTableExpr("tickets AS t").
		ColumnExpr("t.*").
		ColumnExpr("c.name AS customer_name, c.email AS customer_email").
		ColumnExpr("m.id AS last_id, m.kind AS last_kind, m.author_type AS last_author_type, m.author_name AS last_author_name").
		ColumnExpr("substr(m.body, 1, ?) AS last_body", previewChars).
		Join("LEFT JOIN customers AS c ON c.id = t.customer_id").
		Join("LEFT JOIN messages AS m ON m.ticket_id = t.id AND m.seq = t.last_seq")
}

// Inbox implements chat.InboxStore. The filters and the order match the
// indexes tickets_inbox (a status) and tickets_inbox_assignee (an assignee,
// or none), so a page costs the same with 10 or 100,000 conversations.
func (db *DB) Inbox(ctx context.Context, sc scope.Scope, f chat.InboxFilter, after *chat.InboxCursor, limit int) ([]chat.Conversation, error) {
	var rows []inboxRow
	q := db.inboxSelect(&rows).
		Where("t.team_id = ? AND t.mode = ? AND t.status = ?", sc.TeamID, string(sc.Mode), f.Status)
	switch f.Assignee {
	case chat.AssignedToAnyone:
	case chat.Unassigned:
		q = q.Where("t.assignee_id IS NULL")
	default:
		q = q.Where("t.assignee_id = ?", f.Assignee)
	}
	if after != nil {
		at := after.UpdatedAt.UTC()
		q = q.Where("(t.updated_at < ? OR (t.updated_at = ? AND t.id < ?))", at, at, after.ID)
	}
	err := q.OrderExpr("t.updated_at DESC, t.id DESC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: inbox: %w", mapErr(err))
	}
	out := make([]chat.Conversation, len(rows))
	for i, r := range rows {
		out[i] = r.conversation()
	}
	return out, nil
}

// Conversation implements chat.InboxStore.
func (db *DB) Conversation(ctx context.Context, sc scope.Scope, ticketID string) (chat.Conversation, error) {
	var rows []inboxRow
	err := db.inboxSelect(&rows).
		Where("t.id = ? AND t.team_id = ? AND t.mode = ?", ticketID, sc.TeamID, string(sc.Mode)).
		Limit(1).Scan(ctx)
	if err != nil {
		return chat.Conversation{}, fmt.Errorf("store: conversation: %w", mapErr(err))
	}
	if len(rows) == 0 {
		return chat.Conversation{}, fmt.Errorf("store: conversation: %w", errs.ErrNotFound)
	}
	return rows[0].conversation(), nil
}

// InboxCounts implements chat.InboxStore, in one statement.
func (db *DB) InboxCounts(ctx context.Context, sc scope.Scope, status, agentID string) (chat.InboxCounts, error) {
	var n struct {
		All              int `bun:"all_n"`
		Unassigned       int `bun:"unassigned_n"`
		Mine             int `bun:"mine_n"`
		UnreadAll        int `bun:"unread_all"`
		UnreadUnassigned int `bun:"unread_unassigned"`
		UnreadMine       int `bun:"unread_mine"`
	}
	// Each count is a range of an index, read without the table: the
	// totals of tickets_inbox and tickets_inbox_assignee, the unread of the
	// partial index tickets_unread; and each stops past chat.CountCap, so
	// that counting costs the same with 10,000 conversations as with 1,000.
	count := func(where string) string {
		return fmt.Sprintf("(SELECT count(*) FROM (SELECT 1 FROM tickets WHERE team_id = ?0 AND mode = ?1 AND status = ?2%s LIMIT %d) AS c)",
			where, chat.CountCap+1)
	}
	const unread = " AND last_seq > agent_read_seq"
	err := db.bun.NewRaw("SELECT "+count("")+" AS all_n, "+count(" AND assignee_id IS NULL")+" AS unassigned_n, "+
		count(" AND assignee_id = ?3")+" AS mine_n, "+count(unread)+" AS unread_all, "+
		count(unread+" AND assignee_id IS NULL")+" AS unread_unassigned, "+count(unread+" AND assignee_id = ?3")+" AS unread_mine",
		sc.TeamID, string(sc.Mode), status, nullable(agentID)).Scan(ctx, &n)
	if err != nil {
		return chat.InboxCounts{}, fmt.Errorf("store: inbox counts: %w", mapErr(err))
	}
	return chat.InboxCounts{All: n.All, Unassigned: n.Unassigned, Mine: n.Mine, UnreadAll: n.UnreadAll,
		UnreadUnassigned: n.UnreadUnassigned, UnreadMine: n.UnreadMine}, nil
}
