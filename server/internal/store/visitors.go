package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// MergeVisitor implements identity.Store. It runs in one transaction: the
// visitor's row is read (locked, on PostgreSQL) and must still be an
// unmerged visitor; when the visitor has an open chat ticket, into's open
// chat ticket is closed first (the partial unique index allows one per
// customer); then every ticket of the visitor moves, each move is a
// customer.merged event, the visitor's sessions go and its row names into.
func (db *DB) MergeVisitor(ctx context.Context, sc scope.Scope, visitorID, intoID string, at time.Time) (int, error) {
	at = at.UTC()
	var evs []chat.Event
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		evs = nil
		lock := ""
		if db.dialect == Postgres {
			lock = " FOR UPDATE"
		}
		var kind string
		var merged sql.NullString
		err := tx.NewRaw("SELECT kind, merged_into FROM customers WHERE id = ? AND team_id = ? AND mode = ?"+lock,
			visitorID, sc.TeamID, sc.Mode).Scan(ctx, &kind, &merged)
		if err != nil {
			return fmt.Errorf("visitor: %w", err)
		}
		if kind != helpdesk.KindVisitor || merged.Valid {
			return fmt.Errorf("visitor %s: %w", visitorID, errs.ErrNotFound)
		}
		var open int
		err = tx.NewRaw("SELECT count(*) FROM tickets WHERE team_id = ? AND mode = ? AND customer_id = ? AND channel = ? AND status <> ?",
			sc.TeamID, sc.Mode, visitorID, helpdesk.ChannelChat, helpdesk.StatusClosed).Scan(ctx, &open)
		if err != nil {
			return fmt.Errorf("visitor's open chat: %w", err)
		}
		if open > 0 {
			var closed []ticketRow
			err := tx.NewRaw(`UPDATE tickets SET status = ?, closed_at = ?, updated_at = ?
				WHERE team_id = ? AND mode = ? AND customer_id = ? AND channel = ? AND status <> ? RETURNING *`,
				helpdesk.StatusClosed, at, at, sc.TeamID, sc.Mode, intoID, helpdesk.ChannelChat, helpdesk.StatusClosed).Scan(ctx, &closed)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("close the open chat: %w", err)
			}
			for _, r := range closed {
				evs = append(evs, chat.TicketEvent(chat.TicketUpdated, r.ticket(), at))
			}
		}
		var moved []ticketRow
		err = tx.NewRaw(`UPDATE tickets SET customer_id = ?, merged_from = ?, updated_at = ?
			WHERE team_id = ? AND mode = ? AND customer_id = ? RETURNING *`,
			intoID, visitorID, at, sc.TeamID, sc.Mode, visitorID).Scan(ctx, &moved)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("move tickets: %w", err)
		}
		for _, r := range moved {
			evs = append(evs, chat.TicketEvent(chat.CustomerMerged, r.ticket(), at))
		}
		if _, err := tx.NewRaw("UPDATE customers SET merged_into = ?, updated_at = ? WHERE id = ? AND team_id = ? AND mode = ?",
			intoID, at, visitorID, sc.TeamID, sc.Mode).Exec(ctx); err != nil {
			return fmt.Errorf("mark visitor merged: %w", err)
		}
		if _, err := tx.NewRaw("DELETE FROM customer_sessions WHERE customer_id = ? AND team_id = ? AND mode = ?",
			visitorID, sc.TeamID, sc.Mode).Exec(ctx); err != nil {
			return fmt.Errorf("end visitor's sessions: %w", err)
		}
		return db.appendEvents(ctx, tx, evs)
	})
	if err != nil {
		return 0, fmt.Errorf("store: merge visitor: %w", mapErr(err))
	}
	db.committed(evs)
	n := 0
	for _, e := range evs {
		if e.Type == chat.CustomerMerged {
			n++
		}
	}
	return n, nil
}
