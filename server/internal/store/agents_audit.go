package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/cstar-chat/cstar/server/internal/audit"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

type auditRow struct {
	bun.BaseModel `bun:"table:audit_log"`

	ID        string    `bun:"id,pk"`
	TeamID    string    `bun:"team_id"`
	Mode      *string   `bun:"mode"`
	ActorType string    `bun:"actor_type"`
	ActorID   *string   `bun:"actor_id"`
	ActorName string    `bun:"actor_name"`
	Action    string    `bun:"action"`
	Target    string    `bun:"target"`
	Detail    string    `bun:"detail"`
	IP        string    `bun:"ip"`
	CreatedAt time.Time `bun:"created_at"`
}

// InsertAudit implements audit.Store.
func (db *DB) InsertAudit(ctx context.Context, e audit.Entry) error {
	if err := insertAudit(ctx, db.bun, e); err != nil {
		return fmt.Errorf("store: insert audit entry: %w", mapErr(err))
	}
	return nil
}

// insertAudit writes e, in a transaction of the caller's when idb is one.
func insertAudit(ctx context.Context, idb bun.IDB, e audit.Entry) error {
	row := &auditRow{ID: e.ID, TeamID: e.TeamID, Mode: nullable(string(e.Mode)), ActorType: e.ActorType,
		ActorID: nullable(e.ActorID), ActorName: e.ActorName, Action: e.Action, Target: e.Target, Detail: e.Detail,
		IP: e.IP, CreatedAt: e.CreatedAt.UTC()}
	_, err := idb.NewInsert().Model(row).Exec(ctx)
	return err
}

// ListAudit implements audit.Store.
func (db *DB) ListAudit(ctx context.Context, sc scope.Scope, after string, limit int) ([]audit.Entry, error) {
	var rows []auditRow
	q := db.bun.NewSelect().Model(&rows).Where("team_id = ? AND (mode = ? OR mode IS NULL)", sc.TeamID, string(sc.Mode))
	if after != "" {
		q = q.Where("id < ?", after)
	}
	if err := q.Order("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: list audit log: %w", mapErr(err))
	}
	out := make([]audit.Entry, len(rows))
	for i, r := range rows {
		out[i] = audit.Entry{ID: r.ID, TeamID: r.TeamID, Mode: scope.Mode(deref(r.Mode)), ActorType: r.ActorType,
			ActorID: deref(r.ActorID), ActorName: r.ActorName, Action: r.Action, Target: r.Target, Detail: r.Detail,
			IP: r.IP, CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}

var _ audit.Store = (*DB)(nil)
