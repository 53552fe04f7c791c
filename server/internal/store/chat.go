package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/realtime"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// NoticeChannel is the PostgreSQL LISTEN/NOTIFY channel that carries events
// between server processes.
const NoticeChannel = "cstar_events"

type messageRow struct {
	bun.BaseModel `bun:"table:messages"`

	ID         string    `bun:"id,pk"`
	TeamID     string    `bun:"team_id"`
	Mode       string    `bun:"mode"`
	TicketID   string    `bun:"ticket_id"`
	Seq        int64     `bun:"seq"`
	AuthorType string    `bun:"author_type"`
	AuthorID   *string   `bun:"author_id"`
	AuthorName string    `bun:"author_name"`
	Body       string    `bun:"body"`
	ClientID   *string   `bun:"client_id"`
	DedupKey   *string   `bun:"dedup_key"`
	CreatedAt  time.Time `bun:"created_at"`
	// Kind is "message", or "note" for an internal note (migration 0010).
	Kind string `bun:"kind"`
}

// Message kinds.
const (
	kindMessage = "message"
	kindNote    = "note"
)

func (r messageRow) message() chat.Message {
	return chat.Message{ID: r.ID, TeamID: r.TeamID, Mode: scope.Mode(r.Mode), TicketID: r.TicketID, Seq: r.Seq,
		Author: chat.Author{Type: r.AuthorType, ID: deref(r.AuthorID), Name: r.AuthorName}, Body: r.Body,
		ClientID: deref(r.ClientID), CreatedAt: r.CreatedAt.UTC(), Internal: r.Kind == kindNote}
}

type eventRow struct {
	bun.BaseModel `bun:"table:events"`

	TeamID     string    `bun:"team_id,pk"`
	Mode       string    `bun:"mode,pk"`
	Pos        int64     `bun:"pos,pk"`
	Type       string    `bun:"type"`
	TicketID   *string   `bun:"ticket_id"`
	CustomerID *string   `bun:"customer_id"`
	MessageID  *string   `bun:"message_id"`
	CreatedAt  time.Time `bun:"created_at"`
}

// OnEvents sets the function told of durable events once their transaction
// commits. SQLite runs in one process, so that is how its events reach the
// hub; on PostgreSQL they reach every process through NOTIFY, and this is
// the storing process's shortcut (realtime.Bus.Committed).
func (db *DB) OnEvents(f func([]chat.Event)) { db.onEvents = f }

func (db *DB) committed(evs []chat.Event) {
	if len(evs) > 0 && db.onEvents != nil {
		db.onEvents(evs)
	}
}

// appendEvents numbers evs in their team's log, stores them and, on
// PostgreSQL, queues their notices (sent by the commit). The team's counter
// row stays locked until the commit, which is what keeps positions in commit
// order; it is taken last, so the lock spans as little as possible.
func (db *DB) appendEvents(ctx context.Context, tx bun.IDB, evs []chat.Event) error {
	for i := range evs {
		e := &evs[i]
		if db.dialect == Postgres {
			// One round trip: the position, the row and the notice.
			err := tx.NewRaw(`WITH c AS (
					INSERT INTO event_counters (team_id, mode, pos) VALUES (?, ?, 1)
					ON CONFLICT (team_id, mode) DO UPDATE SET pos = event_counters.pos + 1 RETURNING pos),
				e AS (
					INSERT INTO events (team_id, mode, pos, type, ticket_id, customer_id, message_id, created_at)
					SELECT ?, ?, c.pos, ?, ?, ?, ?, ? FROM c RETURNING pos)
				SELECT pos, pg_notify(?, ? || pos) FROM e`,
				e.TeamID, string(e.Mode), e.TeamID, string(e.Mode), e.Type, nullable(e.TicketID), nullable(e.CustomerID),
				nullable(e.MessageID), e.CreatedAt.UTC(), NoticeChannel,
				realtime.DurablePrefix(e.Scope())).Scan(ctx, &e.Pos, new(string))
			if err != nil {
				return fmt.Errorf("append event: %w", err)
			}
			continue
		}
		err := tx.NewRaw(`INSERT INTO event_counters (team_id, mode, pos) VALUES (?, ?, 1)
			ON CONFLICT (team_id, mode) DO UPDATE SET pos = event_counters.pos + 1 RETURNING pos`,
			e.TeamID, string(e.Mode)).Scan(ctx, &e.Pos)
		if err != nil {
			return fmt.Errorf("next event position: %w", err)
		}
		row := &eventRow{TeamID: e.TeamID, Mode: string(e.Mode), Pos: e.Pos, Type: e.Type, TicketID: nullable(e.TicketID),
			CustomerID: nullable(e.CustomerID), MessageID: nullable(e.MessageID), CreatedAt: e.CreatedAt.UTC()}
		if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
			return fmt.Errorf("insert event: %w", err)
		}
	}
	return nil
}

// AppendMessage implements chat.Store. The ticket's row lock (taken by the
// seq increment) and the team's event counter keep seq and positions free
// of gaps and in commit order.
// An internal note takes this path on PostgreSQL too: notes are few, and
// the stored function knows only messages.
func (db *DB) AppendMessage(ctx context.Context, in chat.Append) (chat.Message, []chat.Event, error) {
	if db.dialect == Postgres && !in.Internal {
		return db.appendMessagePG(ctx, in)
	}
	var msg chat.Message
	var evs []chat.Event
	sc := in.Scope
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		evs = nil
		if in.DedupKey != "" {
			var r messageRow
			err := tx.NewSelect().Model(&r).Where("team_id = ? AND mode = ? AND dedup_key = ?", sc.TeamID, sc.Mode, in.DedupKey).Scan(ctx)
			if err == nil {
				msg = r.message()
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("find message by client id: %w", err)
			}
		}
		// Taking the next seq locks the ticket and reads it back, in one
		// round trip.
		var tr ticketRow
		q := tx.NewUpdate().Model(&tr).Set("last_seq = last_seq + 1").Set("updated_at = ?", in.Now)
		if in.TicketID != "" {
			q = q.Where(inScope, in.TicketID, sc.TeamID, sc.Mode)
		} else {
			// The customer's open chat ticket; the partial unique index
			// makes it at most one.
			q = q.Where("team_id = ? AND mode = ? AND customer_id = ? AND channel = ? AND status <> ?",
				sc.TeamID, sc.Mode, in.CustomerID, helpdesk.ChannelChat, helpdesk.StatusClosed)
		}
		res, err := q.Returning("*").Exec(ctx)
		if err != nil {
			return fmt.Errorf("next seq: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if in.TicketID != "" {
				return fmt.Errorf("ticket: %w", sql.ErrNoRows)
			}
			id, err := in.NewID()
			if err != nil {
				return err
			}
			t := helpdesk.Ticket{ID: id, TeamID: sc.TeamID, Mode: sc.Mode, Subject: in.Subject,
				Status: helpdesk.StatusOpen, Priority: helpdesk.PriorityNormal, Channel: helpdesk.ChannelChat,
				CustomerID: in.CustomerID, Tags: []string{}, CreatedAt: in.Now, UpdatedAt: in.Now}
			evs = append(evs, chat.TicketEvent(chat.TicketCreated, t, in.Now))
			t.LastSeq = 1
			tr = *ticketToRow(t)
			if _, err := tx.NewInsert().Model(&tr).Exec(ctx); err != nil {
				return fmt.Errorf("open chat ticket: %w", err)
			}
		}
		seq := tr.LastSeq
		id, err := in.NewID()
		if err != nil {
			return err
		}
		row := &messageRow{ID: id, TeamID: sc.TeamID, Mode: string(sc.Mode), TicketID: tr.ID, Seq: seq,
			AuthorType: in.Author.Type, AuthorID: nullable(in.Author.ID), AuthorName: in.Author.Name, Body: in.Body,
			ClientID: nullable(in.ClientID), DedupKey: nullable(in.DedupKey), CreatedAt: in.Now, Kind: kindMessage}
		if in.Internal {
			row.Kind = kindNote
		}
		if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
			return fmt.Errorf("insert message: %w", err)
		}
		msg = row.message()
		ev := chat.TicketEvent(chat.MessageCreated, tr.ticket(), in.Now)
		ev.MessageID, ev.Message = msg.ID, &msg
		evs = append(evs, ev)
		return db.appendEvents(ctx, tx, evs)
	})
	if err != nil {
		return chat.Message{}, nil, fmt.Errorf("store: append message: %w", mapErr(err))
	}
	db.committed(evs)
	return msg, evs, nil
}

// appendMessagePG stores a message with one call of cstar_append_message,
// in a transaction of its own (see migration 0005).
func (db *DB) appendMessagePG(ctx context.Context, in chat.Append) (chat.Message, []chat.Event, error) {
	sc := in.Scope
	msgID, err := in.NewID()
	if err != nil {
		return chat.Message{}, nil, err
	}
	newTicket, err := in.NewID()
	if err != nil {
		return chat.Message{}, nil, err
	}
	var (
		ticketID               string
		customerID             sql.NullString
		seq, ticketPos, msgPos int64
		fresh                  bool
	)
	err = db.bun.NewRaw("SELECT * FROM cstar_append_message(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		sc.TeamID, string(sc.Mode), nullable(in.TicketID), nullable(in.CustomerID), in.Author.Type,
		nullable(in.Author.ID), in.Author.Name, in.Body, nullable(in.ClientID), nullable(in.DedupKey), in.Subject,
		in.Now.UTC(), msgID, newTicket).Scan(ctx, &msgID, &ticketID, &seq, &fresh, &ticketPos, &msgPos, &customerID)
	if err != nil {
		return chat.Message{}, nil, fmt.Errorf("store: append message: %w", mapErr(err))
	}
	if !fresh {
		var r messageRow
		if err := db.bun.NewSelect().Model(&r).Where("id = ?", msgID).Scan(ctx); err != nil {
			return chat.Message{}, nil, fmt.Errorf("store: append message: %w", mapErr(err))
		}
		return r.message(), nil, nil
	}
	msg := chat.Message{ID: msgID, TeamID: sc.TeamID, Mode: sc.Mode, TicketID: ticketID, Seq: seq, Author: in.Author,
		Body: in.Body, ClientID: in.ClientID, CreatedAt: in.Now.UTC()}
	var evs []chat.Event
	// The ticket's customer, not in.CustomerID: an agent's post names none.
	base := chat.Event{TeamID: sc.TeamID, Mode: sc.Mode, TicketID: ticketID, CustomerID: customerID.String, CreatedAt: msg.CreatedAt}
	if ticketPos > 0 {
		e := base
		e.Type, e.Pos = chat.TicketCreated, ticketPos
		evs = append(evs, e)
	}
	e := base
	e.Type, e.Pos, e.MessageID, e.Message = chat.MessageCreated, msgPos, msg.ID, &msg
	evs = append(evs, e)
	db.committed(evs)
	return msg, evs, nil
}

// Messages implements chat.Store.
func (db *DB) Messages(ctx context.Context, sc scope.Scope, ticketID string, after, before int64, limit int, notes bool) ([]chat.Message, error) {
	var rows []messageRow
	q := db.bun.NewSelect().Model(&rows).Where("ticket_id = ? AND team_id = ? AND mode = ?", ticketID, sc.TeamID, sc.Mode)
	if !notes {
		q = q.Where("kind = ?", kindMessage)
	}
	if after >= 0 {
		q = q.Where("seq > ?", after).Order("seq ASC")
	} else {
		if before > 0 {
			q = q.Where("seq < ?", before)
		}
		q = q.Order("seq DESC")
	}
	if err := q.Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: messages: %w", mapErr(err))
	}
	if after < 0 {
		slices.Reverse(rows)
	}
	out := make([]chat.Message, len(rows))
	for i, r := range rows {
		out[i] = r.message()
	}
	return out, nil
}

// LatestChatTicket implements chat.Store.
func (db *DB) LatestChatTicket(ctx context.Context, sc scope.Scope, customerID string) (helpdesk.Ticket, error) {
	var r ticketRow
	err := db.bun.NewSelect().Model(&r).
		Where("team_id = ? AND mode = ? AND customer_id = ? AND channel = ?", sc.TeamID, sc.Mode, customerID, helpdesk.ChannelChat).
		OrderExpr("CASE WHEN status <> ? THEN 0 ELSE 1 END, id DESC", helpdesk.StatusClosed).
		Limit(1).Scan(ctx)
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("store: latest chat ticket: %w", mapErr(err))
	}
	return r.ticket(), nil
}

// SetReadSeq implements chat.Store.
func (db *DB) SetReadSeq(ctx context.Context, sc scope.Scope, ticketID, reader string, seq int64) (helpdesk.Ticket, error) {
	col := "customer_read_seq"
	if reader == chat.ReaderAgent {
		col = "agent_read_seq"
	}
	t, err := db.TicketByID(ctx, sc, ticketID)
	if err != nil {
		return helpdesk.Ticket{}, err
	}
	seq = min(seq, t.LastSeq)
	_, err = db.bun.NewUpdate().Table("tickets").Set("? = ?", bun.Ident(col), seq).
		Where(inScope, ticketID, sc.TeamID, sc.Mode).Where("? < ?", bun.Ident(col), seq).Exec(ctx)
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("store: set read seq: %w", mapErr(err))
	}
	return db.TicketByID(ctx, sc, ticketID)
}

// EventsAfter implements chat.Store.
func (db *DB) EventsAfter(ctx context.Context, sc scope.Scope, after int64, limit int) ([]chat.Event, error) {
	return db.eventsAfter(ctx, db.bun, sc, after, limit)
}

// eventsAfter reads up to limit events of sc after position after through
// idb (the pool or a transaction), with the message, ticket and customer
// each names as they are now.
func (db *DB) eventsAfter(ctx context.Context, idb bun.IDB, sc scope.Scope, after int64, limit int) ([]chat.Event, error) {
	var rows []eventRow
	err := idb.NewSelect().Model(&rows).Where("team_id = ? AND mode = ? AND pos > ?", sc.TeamID, sc.Mode, after).
		Order("pos ASC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: events: %w", mapErr(err))
	}
	if len(rows) == 0 {
		return []chat.Event{}, nil
	}
	var msgIDs, ticketIDs, customerIDs []string
	for _, r := range rows {
		if r.MessageID != nil {
			msgIDs = append(msgIDs, *r.MessageID)
		}
		if r.TicketID != nil {
			ticketIDs = append(ticketIDs, *r.TicketID)
		} else if r.CustomerID != nil {
			customerIDs = append(customerIDs, *r.CustomerID)
		}
	}
	msgs := map[string]chat.Message{}
	if len(msgIDs) > 0 {
		var mrows []messageRow
		if err := idb.NewSelect().Model(&mrows).Where("id IN (?)", bun.In(msgIDs)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("store: event messages: %w", mapErr(err))
		}
		for _, r := range mrows {
			msgs[r.ID] = r.message()
		}
	}
	tickets := map[string]helpdesk.Ticket{}
	if len(ticketIDs) > 0 {
		var trows []ticketRow
		if err := idb.NewSelect().Model(&trows).Where("id IN (?)", bun.In(ticketIDs)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("store: event tickets: %w", mapErr(err))
		}
		for _, r := range trows {
			tickets[r.ID] = r.ticket()
		}
	}
	customers := map[string]helpdesk.Customer{}
	if len(customerIDs) > 0 {
		var crows []customerView
		if err := idb.NewSelect().Model(&crows).Where("id IN (?)", bun.In(customerIDs)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("store: event customers: %w", mapErr(err))
		}
		for _, r := range crows {
			customers[r.ID] = r.customer()
		}
	}
	out := make([]chat.Event, len(rows))
	for i, r := range rows {
		e := chat.Event{Type: r.Type, Pos: r.Pos, TeamID: r.TeamID, Mode: scope.Mode(r.Mode), TicketID: deref(r.TicketID),
			CustomerID: deref(r.CustomerID), MessageID: deref(r.MessageID), CreatedAt: r.CreatedAt.UTC()}
		if t, ok := tickets[e.TicketID]; ok {
			e.Ticket = &t
		}
		if m, ok := msgs[e.MessageID]; ok {
			e.Message = &m
		}
		if e.TicketID == "" {
			if c, ok := customers[e.CustomerID]; ok {
				e.Customer = &c
			}
		}
		out[i] = e
	}
	return out, nil
}

// OldestPos implements chat.Store: the first position of sc still in the
// log; head+1 when the retention sweep has removed every event.
func (db *DB) OldestPos(ctx context.Context, sc scope.Scope) (int64, error) {
	var oldest sql.NullInt64
	err := db.bun.NewRaw("SELECT min(pos) FROM events WHERE team_id = ? AND mode = ?", sc.TeamID, sc.Mode).Scan(ctx, &oldest)
	if err != nil {
		return 0, fmt.Errorf("store: oldest position: %w", mapErr(err))
	}
	if oldest.Valid {
		return oldest.Int64, nil
	}
	head, err := db.HeadPos(ctx, sc)
	return head + 1, err
}

// DeleteEventsBefore implements chat.Store: the retention sweep. It deletes
// in batches so that no statement holds many rows at once.
func (db *DB) DeleteEventsBefore(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		res, err := db.bun.NewRaw(`DELETE FROM events WHERE (team_id, mode, pos) IN (
			SELECT team_id, mode, pos FROM events WHERE created_at < ? LIMIT 5000)`, before.UTC()).Exec(ctx)
		if err != nil {
			return total, fmt.Errorf("store: delete old events: %w", mapErr(err))
		}
		n, _ := res.RowsAffected()
		total += n
		if n < 5000 {
			return total, nil
		}
	}
}

// HeadPos implements chat.Store.
func (db *DB) HeadPos(ctx context.Context, sc scope.Scope) (int64, error) {
	var pos int64
	err := db.bun.NewRaw("SELECT pos FROM event_counters WHERE team_id = ? AND mode = ?", sc.TeamID, sc.Mode).Scan(ctx, &pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: head position: %w", mapErr(err))
	}
	return pos, nil
}

var _ chat.Store = (*DB)(nil)

var _ chat.TicketLog = (*DB)(nil)

// RecordArticleViews implements chat.Store: one statement that keeps only
// the published articles of sc and skips those already noted.
func (db *DB) RecordArticleViews(ctx context.Context, sc scope.Scope, ticketID string, articleIDs []string, at time.Time) error {
	_, err := db.bun.NewRaw(`INSERT INTO article_views (ticket_id, article_id, team_id, mode, viewed_at)
		SELECT ?, a.id, a.team_id, a.mode, ? FROM articles a
		WHERE a.id IN (?) AND a.team_id = ? AND a.mode = ? AND a.status = 'published'
		ON CONFLICT (ticket_id, article_id) DO NOTHING`,
		ticketID, at.UTC(), bun.In(articleIDs), sc.TeamID, sc.Mode).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: record article views: %w", mapErr(err))
	}
	return nil
}

// ArticleViews implements chat.Store.
func (db *DB) ArticleViews(ctx context.Context, sc scope.Scope, ticketID string) ([]chat.ArticleView, error) {
	var rows []struct {
		ArticleID string    `bun:"article_id"`
		Title     string    `bun:"title"`
		Slug      string    `bun:"slug"`
		ViewedAt  time.Time `bun:"viewed_at"`
	}
	err := db.bun.NewRaw(`SELECT v.article_id, a.title, a.slug, v.viewed_at FROM article_views v
		JOIN articles a ON a.id = v.article_id
		WHERE v.ticket_id = ? AND v.team_id = ? AND v.mode = ? ORDER BY v.viewed_at, a.title`,
		ticketID, sc.TeamID, sc.Mode).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("store: article views: %w", mapErr(err))
	}
	out := make([]chat.ArticleView, len(rows))
	for i, r := range rows {
		out[i] = chat.ArticleView{ArticleID: r.ArticleID, Title: r.Title, Slug: r.Slug, ViewedAt: r.ViewedAt.UTC()}
	}
	return out, nil
}
