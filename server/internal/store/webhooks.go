package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/cstar-chat/cstar/server/internal/audit"
	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/webhook"
)

type endpointRow struct {
	bun.BaseModel `bun:"table:webhook_endpoints,alias:e"`

	ID                string     `bun:"id,pk"`
	TeamID            string     `bun:"team_id"`
	Mode              string     `bun:"mode"`
	URL               string     `bun:"url"`
	Description       string     `bun:"description"`
	Events            string     `bun:"events"`
	Enabled           bool       `bun:"enabled"`
	Secret            string     `bun:"secret"`
	PreviousSecret    *string    `bun:"previous_secret"`
	PreviousExpiresAt *time.Time `bun:"previous_expires_at"`
	FailingSince      *time.Time `bun:"failing_since"`
	DisabledAt        *time.Time `bun:"disabled_at"`
	DisabledReason    *string    `bun:"disabled_reason"`
	CreatedAt         time.Time  `bun:"created_at"`
	UpdatedAt         time.Time  `bun:"updated_at"`
}

func (r endpointRow) endpoint() webhook.Endpoint {
	var evs []string
	if err := json.Unmarshal([]byte(r.Events), &evs); err != nil || evs == nil {
		evs = []string{}
	}
	return webhook.Endpoint{ID: r.ID, TeamID: r.TeamID, Mode: scope.Mode(r.Mode), URL: r.URL, Description: r.Description,
		Events: evs, Enabled: r.Enabled, Secret: r.Secret, PreviousSecret: deref(r.PreviousSecret),
		PreviousExpiresAt: utcPtr(r.PreviousExpiresAt), FailingSince: utcPtr(r.FailingSince),
		DisabledAt: utcPtr(r.DisabledAt), DisabledReason: deref(r.DisabledReason),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

func endpointToRow(e webhook.Endpoint) *endpointRow {
	evs, _ := json.Marshal(e.Events)
	return &endpointRow{ID: e.ID, TeamID: e.TeamID, Mode: string(e.Mode), URL: e.URL, Description: e.Description,
		Events: string(evs), Enabled: e.Enabled, Secret: e.Secret, PreviousSecret: nullable(e.PreviousSecret),
		PreviousExpiresAt: utcPtr(e.PreviousExpiresAt), FailingSince: utcPtr(e.FailingSince),
		DisabledAt: utcPtr(e.DisabledAt), DisabledReason: nullable(e.DisabledReason),
		CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC()}
}

type deliveryRow struct {
	bun.BaseModel `bun:"table:webhook_deliveries"`

	ID             string     `bun:"id,pk"`
	EndpointID     string     `bun:"endpoint_id"`
	TeamID         string     `bun:"team_id"`
	Mode           string     `bun:"mode"`
	EventID        string     `bun:"event_id"`
	EventType      string     `bun:"event_type"`
	State          string     `bun:"state"`
	Attempts       int        `bun:"attempts"`
	NextAttemptAt  *time.Time `bun:"next_attempt_at"`
	ClaimedUntil   *time.Time `bun:"claimed_until"`
	ClaimToken     *string    `bun:"claim_token"`
	LastAttemptAt  *time.Time `bun:"last_attempt_at"`
	LastStatus     *int       `bun:"last_status"`
	LastError      *string    `bun:"last_error"`
	LastResponse   *string    `bun:"last_response"`
	LastDurationMs *int       `bun:"last_duration_ms"`
	CreatedAt      time.Time  `bun:"created_at"`
	CompletedAt    *time.Time `bun:"completed_at"`
}

func (r deliveryRow) delivery() webhook.Delivery {
	d := webhook.Delivery{ID: r.ID, EndpointID: r.EndpointID, TeamID: r.TeamID, Mode: scope.Mode(r.Mode),
		EventID: r.EventID, EventType: r.EventType, State: r.State, Attempts: r.Attempts,
		NextAttemptAt: utcPtr(r.NextAttemptAt), LastAttemptAt: utcPtr(r.LastAttemptAt), LastError: deref(r.LastError),
		LastResponse: deref(r.LastResponse), CreatedAt: r.CreatedAt.UTC(), CompletedAt: utcPtr(r.CompletedAt)}
	if r.LastStatus != nil {
		d.LastStatus = *r.LastStatus
	}
	if r.LastDurationMs != nil {
		d.LastDurationMs = *r.LastDurationMs
	}
	return d
}

type webhookEventRow struct {
	bun.BaseModel `bun:"table:webhook_events"`

	ID        string    `bun:"id,pk"`
	TeamID    string    `bun:"team_id"`
	Mode      string    `bun:"mode"`
	Type      string    `bun:"type"`
	Payload   string    `bun:"payload"`
	CreatedAt time.Time `bun:"created_at"`
}

// insertEvents stores the events of ds (those with a payload) once each,
// keeping any already stored.
func insertEvents(ctx context.Context, tx bun.Tx, ds []webhook.Delivery) error {
	var rows []*webhookEventRow
	seen := map[string]bool{}
	for _, d := range ds {
		if d.Payload == nil || seen[d.EventID] {
			continue
		}
		seen[d.EventID] = true
		rows = append(rows, &webhookEventRow{ID: d.EventID, TeamID: d.TeamID, Mode: string(d.Mode), Type: d.EventType,
			Payload: string(d.Payload), CreatedAt: d.CreatedAt.UTC()})
	}
	for len(rows) > 0 {
		k := min(len(rows), 200)
		batch := rows[:k]
		if _, err := tx.NewInsert().Model(&batch).On("CONFLICT (id) DO NOTHING").Exec(ctx); err != nil {
			return fmt.Errorf("events: %w", err)
		}
		rows = rows[k:]
	}
	return nil
}

// payloads fills the payload of each delivery from its event.
func payloads(ctx context.Context, idb bun.IDB, ds []webhook.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	ids := make([]string, 0, len(ds))
	for _, d := range ds {
		ids = append(ids, d.EventID)
	}
	var rows []webhookEventRow
	if err := idb.NewSelect().Model(&rows).Column("id", "payload").Where("id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
		return fmt.Errorf("event payloads: %w", err)
	}
	by := make(map[string][]byte, len(rows))
	for _, r := range rows {
		by[r.ID] = []byte(r.Payload)
	}
	for i := range ds {
		ds[i].Payload = by[ds[i].EventID]
	}
	return nil
}

func deliveryToRow(d webhook.Delivery, c *webhook.Claim) *deliveryRow {
	r := &deliveryRow{ID: d.ID, EndpointID: d.EndpointID, TeamID: d.TeamID, Mode: string(d.Mode), EventID: d.EventID,
		EventType: d.EventType, State: d.State, Attempts: d.Attempts,
		NextAttemptAt: utcPtr(d.NextAttemptAt), CreatedAt: d.CreatedAt.UTC()}
	if c != nil {
		until := c.Until.UTC()
		r.ClaimToken, r.ClaimedUntil = &c.Token, &until
	}
	return r
}

// writeOne runs one statement that must touch a row in a transaction
// (which on SQLite waits its turn for the one writer, rather than sleeping
// in the busy handler).
func (db *DB) writeOne(ctx context.Context, what string, f func(ctx context.Context, tx bun.Tx) (sql.Result, error)) error {
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := f(ctx, tx)
		if err != nil {
			return err
		}
		return mustAffect(res, what)
	})
	if err != nil {
		if errors.Is(err, errs.ErrNotFound) {
			return err
		}
		return fmt.Errorf("store: %s: %w", what, mapErr(err))
	}
	return nil
}

// InsertEndpoint implements webhook.Store.
func (db *DB) InsertEndpoint(ctx context.Context, e webhook.Endpoint) error {
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(endpointToRow(e)).Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewRaw(`INSERT INTO webhook_cursors (team_id, mode, pos)
			SELECT ?, ?, COALESCE((SELECT pos FROM event_counters WHERE team_id = ? AND mode = ?), 0)
			ON CONFLICT (team_id, mode) DO NOTHING`, e.TeamID, string(e.Mode), e.TeamID, string(e.Mode)).Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: insert webhook endpoint: %w", mapErr(err))
	}
	return nil
}

// EndpointByID implements webhook.Store.
func (db *DB) EndpointByID(ctx context.Context, sc scope.Scope, id string) (webhook.Endpoint, error) {
	var r endpointRow
	if err := db.bun.NewSelect().Model(&r).Where(inScope, id, sc.TeamID, sc.Mode).Scan(ctx); err != nil {
		return webhook.Endpoint{}, fmt.Errorf("store: webhook endpoint: %w", mapErr(err))
	}
	return r.endpoint(), nil
}

// ListEndpoints implements webhook.Store.
func (db *DB) ListEndpoints(ctx context.Context, sc scope.Scope, after string, limit int) ([]webhook.Endpoint, error) {
	var rows []endpointRow
	q := db.bun.NewSelect().Model(&rows).Where("team_id = ? AND mode = ?", sc.TeamID, sc.Mode)
	if after != "" {
		q = q.Where("id < ?", after)
	}
	if err := q.Order("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: list webhook endpoints: %w", mapErr(err))
	}
	out := make([]webhook.Endpoint, len(rows))
	for i, r := range rows {
		out[i] = r.endpoint()
	}
	return out, nil
}

// CountEndpoints implements webhook.Store.
func (db *DB) CountEndpoints(ctx context.Context, sc scope.Scope) (int, error) {
	n, err := db.bun.NewSelect().Model((*endpointRow)(nil)).Where("team_id = ? AND mode = ?", sc.TeamID, sc.Mode).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: count webhook endpoints: %w", mapErr(err))
	}
	return int(n), nil
}

// UpdateEndpoint implements webhook.Store.
func (db *DB) UpdateEndpoint(ctx context.Context, e webhook.Endpoint) error {
	return db.writeOne(ctx, "update webhook endpoint", func(ctx context.Context, tx bun.Tx) (sql.Result, error) {
		return tx.NewUpdate().Model(endpointToRow(e)).
			Column("url", "description", "events", "enabled", "failing_since", "disabled_at", "disabled_reason", "updated_at").
			Where(inScope, e.ID, e.TeamID, e.Mode).Exec(ctx)
	})
}

// DeleteEndpoint implements webhook.Store.
func (db *DB) DeleteEndpoint(ctx context.Context, sc scope.Scope, id string) error {
	return db.writeOne(ctx, "delete webhook endpoint", func(ctx context.Context, tx bun.Tx) (sql.Result, error) {
		return tx.NewDelete().Model((*endpointRow)(nil)).Where(inScope, id, sc.TeamID, sc.Mode).Exec(ctx)
	})
}

// RollEndpointSecret implements webhook.Store.
func (db *DB) RollEndpointSecret(ctx context.Context, sc scope.Scope, id, next string, previousExpiresAt *time.Time, now time.Time) error {
	return db.writeOne(ctx, "roll webhook secret", func(ctx context.Context, tx bun.Tx) (sql.Result, error) {
		q := tx.NewUpdate().Table("webhook_endpoints").Set("secret = ?", next).Set("updated_at = ?", now.UTC())
		if previousExpiresAt != nil {
			q = q.Set("previous_secret = secret").Set("previous_expires_at = ?", previousExpiresAt.UTC())
		} else {
			q = q.Set("previous_secret = NULL").Set("previous_expires_at = NULL")
		}
		return q.Where(inScope, id, sc.TeamID, sc.Mode).Exec(ctx)
	})
}

// InsertDelivery implements webhook.Store: the delivery, and its event when
// it carries a payload (a new ping; a redelivery reuses the event).
func (db *DB) InsertDelivery(ctx context.Context, d webhook.Delivery) error {
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := insertEvents(ctx, tx, []webhook.Delivery{d}); err != nil {
			return err
		}
		_, err := tx.NewInsert().Model(deliveryToRow(d, nil)).Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: insert webhook delivery: %w", mapErr(err))
	}
	return nil
}

// DeliveryByID implements webhook.Store.
func (db *DB) DeliveryByID(ctx context.Context, sc scope.Scope, endpointID, id string) (webhook.Delivery, error) {
	var r deliveryRow
	err := db.bun.NewSelect().Model(&r).Where(inScope, id, sc.TeamID, sc.Mode).Where("endpoint_id = ?", endpointID).Scan(ctx)
	if err != nil {
		return webhook.Delivery{}, fmt.Errorf("store: webhook delivery: %w", mapErr(err))
	}
	return r.delivery(), nil
}

// ListDeliveries implements webhook.Store.
func (db *DB) ListDeliveries(ctx context.Context, sc scope.Scope, endpointID, after string, limit int) ([]webhook.Delivery, error) {
	var rows []deliveryRow
	q := db.bun.NewSelect().Model(&rows).Where("endpoint_id = ? AND team_id = ? AND mode = ?", endpointID, sc.TeamID, sc.Mode)
	if after != "" {
		q = q.Where("id < ?", after)
	}
	if err := q.Order("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: list webhook deliveries: %w", mapErr(err))
	}
	out := make([]webhook.Delivery, len(rows))
	for i, r := range rows {
		out[i] = r.delivery()
	}
	return out, nil
}

// ScopesBehind implements webhook.Store.
func (db *DB) ScopesBehind(ctx context.Context) ([]scope.Scope, error) {
	var rows []struct {
		TeamID string `bun:"team_id"`
		Mode   string `bun:"mode"`
	}
	err := db.bun.NewRaw(`SELECT c.team_id, c.mode FROM webhook_cursors c
		JOIN event_counters e ON e.team_id = c.team_id AND e.mode = c.mode WHERE e.pos > c.pos`).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("store: webhook scopes behind: %w", mapErr(err))
	}
	out := make([]scope.Scope, len(rows))
	for i, r := range rows {
		out[i] = scope.Scope{TeamID: r.TeamID, Mode: scope.Mode(r.Mode)}
	}
	return out, nil
}

// FanOut implements webhook.Store. On PostgreSQL the cursor row is taken
// with FOR UPDATE SKIP LOCKED, so one process fans a scope out at a time
// and the others move on; on SQLite the write lock does the same.
func (db *DB) FanOut(ctx context.Context, sc scope.Scope, limit int, plan func(evs []chat.Event, eps []webhook.Endpoint) []webhook.Planned) (int, error) {
	n := 0
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		n = 0
		q := "SELECT pos FROM webhook_cursors WHERE team_id = ? AND mode = ?"
		if db.dialect == Postgres {
			q += " FOR UPDATE SKIP LOCKED"
		}
		var pos int64
		err := tx.NewRaw(q, sc.TeamID, string(sc.Mode)).Scan(ctx, &pos)
		if errors.Is(err, sql.ErrNoRows) {
			n = -1
			return nil
		}
		if err != nil {
			return fmt.Errorf("cursor: %w", err)
		}
		evs, err := db.eventsAfter(ctx, tx, sc, pos, limit)
		if err != nil || len(evs) == 0 {
			return err
		}
		var rows []endpointRow
		if err := tx.NewSelect().Model(&rows).Where("team_id = ? AND mode = ? AND enabled", sc.TeamID, sc.Mode).
			Order("id ASC").Scan(ctx); err != nil {
			return fmt.Errorf("endpoints: %w", err)
		}
		eps := make([]webhook.Endpoint, len(rows))
		for i, r := range rows {
			eps[i] = r.endpoint()
		}
		planned := plan(evs, eps)
		ds := make([]webhook.Delivery, len(planned))
		for i, p := range planned {
			ds[i] = p.Delivery
		}
		if err := insertEvents(ctx, tx, ds); err != nil {
			return err
		}
		for len(planned) > 0 {
			k := min(len(planned), 200)
			drows := make([]*deliveryRow, k)
			for i, p := range planned[:k] {
				drows[i] = deliveryToRow(p.Delivery, p.Claim)
			}
			if _, err := tx.NewInsert().Model(&drows).Exec(ctx); err != nil {
				return fmt.Errorf("deliveries: %w", err)
			}
			planned = planned[k:]
		}
		last := evs[len(evs)-1].Pos
		if _, err := tx.NewRaw("UPDATE webhook_cursors SET pos = ? WHERE team_id = ? AND mode = ?",
			last, sc.TeamID, string(sc.Mode)).Exec(ctx); err != nil {
			return fmt.Errorf("move cursor: %w", err)
		}
		n = len(evs)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: webhook fan-out: %w", mapErr(err))
	}
	return n, nil
}

// DueEndpoints implements webhook.Store.
func (db *DB) DueEndpoints(ctx context.Context, now time.Time) ([]webhook.Endpoint, error) {
	var rows []endpointRow
	now = now.UTC()
	err := db.bun.NewSelect().Model(&rows).Where("enabled").
		Where(`EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND d.state = 'pending'
			AND d.next_attempt_at <= ? AND (d.claimed_until IS NULL OR d.claimed_until < ?))`, now, now).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: due webhook endpoints: %w", mapErr(err))
	}
	out := make([]webhook.Endpoint, len(rows))
	for i, r := range rows {
		out[i] = r.endpoint()
	}
	return out, nil
}

// ClaimDue implements webhook.Store.
func (db *DB) ClaimDue(ctx context.Context, endpointID string, now time.Time, c webhook.Claim, limit int) ([]webhook.Delivery, error) {
	now = now.UTC()
	lock := ""
	if db.dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var rows []deliveryRow
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		rows = nil
		return tx.NewRaw(`UPDATE webhook_deliveries SET claim_token = ?, claimed_until = ?
			WHERE id IN (SELECT id FROM webhook_deliveries WHERE endpoint_id = ? AND state = 'pending'
				AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until < ?)
				ORDER BY next_attempt_at, id LIMIT ?`+lock+`)
			RETURNING *`, c.Token, c.Until.UTC(), endpointID, now, now, limit).Scan(ctx, &rows)
	})
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: claim webhook deliveries: %w", mapErr(err))
	}
	out := make([]webhook.Delivery, len(rows))
	for i, r := range rows {
		out[i] = r.delivery()
	}
	if err := payloads(ctx, db.bun, out); err != nil {
		return nil, fmt.Errorf("store: claim webhook deliveries: %w", mapErr(err))
	}
	return out, nil
}

// ExtendClaims implements webhook.Store.
func (db *DB) ExtendClaims(ctx context.Context, token string, ids []string, until, now time.Time) ([]string, error) {
	var got []string
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		got = nil
		return tx.NewRaw(`UPDATE webhook_deliveries SET claimed_until = ?
			WHERE claim_token = ? AND id IN (?) AND state = 'pending' RETURNING id`,
			until.UTC(), token, bun.In(ids)).Scan(ctx, &got)
	})
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: extend webhook claims: %w", mapErr(err))
	}
	return got, nil
}

// ReleaseClaims implements webhook.Store.
func (db *DB) ReleaseClaims(ctx context.Context, token string, ids []string) error {
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewRaw(`UPDATE webhook_deliveries SET claim_token = NULL, claimed_until = NULL
			WHERE claim_token = ? AND id IN (?) AND state = 'pending'`, token, bun.In(ids)).Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: release webhook claims: %w", mapErr(err))
	}
	return nil
}

// RecordAttempts implements webhook.Store: on PostgreSQL one statement for
// the whole batch.
func (db *DB) RecordAttempts(ctx context.Context, as []webhook.Attempt) error {
	if len(as) == 0 {
		return nil
	}
	type vals struct {
		status, ms        *int
		next, completed   *time.Time
		errText, response *string
		state, id, token  string
		at                time.Time
	}
	vs := make([]vals, len(as))
	for i, a := range as {
		v := vals{state: a.State, id: a.DeliveryID, token: a.Token, at: a.At.UTC(), next: utcPtr(a.Next),
			errText: nullable(a.Error), response: nullable(a.Response)}
		ms := int(a.Duration / time.Millisecond)
		v.ms = &ms
		if a.Status != 0 {
			st := a.Status
			v.status = &st
		}
		if a.State != webhook.Pending {
			v.completed = &v.at
		}
		vs[i] = v
	}
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if db.dialect == Postgres {
			var b strings.Builder
			args := make([]any, 0, len(vs)*10)
			for i, v := range vs {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString("(?::uuid, ?::text, ?::text, ?::timestamptz, ?::timestamptz, ?::int, ?::text, ?::text, ?::int, ?::timestamptz)")
				args = append(args, v.id, v.token, v.state, v.next, v.at, v.status, v.errText, v.response, v.ms, v.completed)
			}
			_, err := tx.NewRaw(`UPDATE webhook_deliveries d SET state = v.state, attempts = d.attempts + 1,
				next_attempt_at = v.next, last_attempt_at = v.at, last_status = v.status, last_error = v.err,
				last_response = v.response, last_duration_ms = v.ms, completed_at = v.completed,
				claim_token = NULL, claimed_until = NULL
				FROM (VALUES `+b.String()+`) AS v (id, token, state, next, at, status, err, response, ms, completed)
				WHERE d.id = v.id AND d.claim_token = v.token`, args...).Exec(ctx)
			return err
		}
		// SQLite parses every statement text anew: one for the batch.
		var b strings.Builder
		args := make([]any, 0, len(vs)*10)
		for i, v := range vs {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, v.id, v.token, v.state, v.next, v.at, v.status, v.errText, v.response, v.ms, v.completed)
		}
		_, err := tx.NewRaw(`UPDATE webhook_deliveries SET state = v.column3, attempts = attempts + 1,
			next_attempt_at = v.column4, last_attempt_at = v.column5, last_status = v.column6, last_error = v.column7,
			last_response = v.column8, last_duration_ms = v.column9, completed_at = v.column10,
			claim_token = NULL, claimed_until = NULL
			FROM (VALUES `+b.String()+`) AS v
			WHERE webhook_deliveries.id = v.column1 AND webhook_deliveries.claim_token = v.column2`, args...).Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: record webhook attempts: %w", mapErr(err))
	}
	return nil
}

// EndpointSucceeded implements webhook.Store.
func (db *DB) EndpointSucceeded(ctx context.Context, id string, now time.Time) (bool, error) {
	was := false
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewRaw("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL", id).Exec(ctx)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		if was = n > 0; !was {
			return nil
		}
		_, err = tx.NewRaw(`UPDATE webhook_deliveries SET next_attempt_at = ?
			WHERE endpoint_id = ? AND state = 'pending' AND next_attempt_at > ?`, now.UTC(), id, now.UTC()).Exec(ctx)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: webhook endpoint succeeded: %w", mapErr(err))
	}
	return was, nil
}

// EndpointFailed implements webhook.Store.
func (db *DB) EndpointFailed(ctx context.Context, id string, at time.Time, disableAfter time.Duration, reason string) (bool, error) {
	disabled := false
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		disabled = false
		if _, err := tx.NewRaw("UPDATE webhook_endpoints SET failing_since = ? WHERE id = ? AND failing_since IS NULL",
			at.UTC(), id).Exec(ctx); err != nil {
			return err
		}
		res, err := tx.NewRaw(`UPDATE webhook_endpoints SET enabled = ?, disabled_at = ?, disabled_reason = ?, updated_at = ?
			WHERE id = ? AND enabled AND failing_since <= ?`, false, at.UTC(), reason, at.UTC(), id,
			at.Add(-disableAfter).UTC()).Exec(ctx)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		disabled = n > 0
		if !disabled {
			return nil
		}
		return auditDisabled(ctx, tx, id, at, reason)
	})
	if err != nil {
		return false, fmt.Errorf("store: webhook endpoint failed: %w", mapErr(err))
	}
	return disabled, nil
}

// auditDisabled writes the team's audit entry for an endpoint the delivery
// disabled, in the disabling's transaction: whichever process disables it,
// the log says so once.
func auditDisabled(ctx context.Context, tx bun.Tx, id string, at time.Time, reason string) error {
	var ep struct {
		TeamID string `bun:"team_id"`
		Mode   string `bun:"mode"`
		URL    string `bun:"url"`
	}
	if err := tx.NewRaw("SELECT team_id, mode, url FROM webhook_endpoints WHERE id = ?", id).Scan(ctx, &ep); err != nil {
		return err
	}
	entryID, err := ids.New()
	if err != nil {
		return err
	}
	return insertAudit(ctx, tx, audit.Entry{ID: entryID, TeamID: ep.TeamID, Mode: scope.Mode(ep.Mode), ActorType: audit.ActorSystem,
		ActorName: "webhook delivery", Action: audit.WebhookDisabled, Target: webhook.AuditTarget(ep.URL),
		Detail: "failing for 3 days (" + reason + ")", CreatedAt: at})
}

// DeleteDeliveriesBefore implements webhook.Store, in batches: finished
// deliveries completed before before, then the events that no delivery
// names any more.
func (db *DB) DeleteDeliveriesBefore(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for i, q := range []string{
		`DELETE FROM webhook_deliveries WHERE id IN (
			SELECT id FROM webhook_deliveries WHERE state <> 'pending' AND completed_at < ? LIMIT 5000)`,
		`DELETE FROM webhook_events WHERE id IN (SELECT e.id FROM webhook_events e WHERE e.created_at < ?
			AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id) LIMIT 5000)`,
	} {
		for {
			var n int64
			err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
				res, err := tx.NewRaw(q, before.UTC()).Exec(ctx)
				if err == nil {
					n, _ = res.RowsAffected()
				}
				return err
			})
			if err != nil {
				return total, fmt.Errorf("store: delete old webhook deliveries: %w", mapErr(err))
			}
			if i == 0 {
				total += n
			}
			if n < 5000 {
				break
			}
		}
	}
	return total, nil
}

var _ webhook.Store = (*DB)(nil)
