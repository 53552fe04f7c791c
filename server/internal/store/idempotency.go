package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/idempotency"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// Idempotency returns the Idempotency-Key record store.
func (db *DB) Idempotency() IdempotencyStore { return IdempotencyStore{db} }

// IdempotencyStore implements idempotency.Store.
type IdempotencyStore struct{ db *DB }

type idemRow struct {
	bun.BaseModel `bun:"table:idempotency_keys"`

	TeamID      string    `bun:"team_id,pk"`
	Mode        string    `bun:"mode,pk"`
	Key         string    `bun:"key,pk"`
	RequestHash []byte    `bun:"request_hash"`
	Status      int       `bun:"status"`
	Response    []byte    `bun:"response"`
	CreatedAt   time.Time `bun:"created_at"`
}

// Reserve implements idempotency.Store.
func (s IdempotencyStore) Reserve(ctx context.Context, sc scope.Scope, key string, hash []byte, now time.Time) (idempotency.Record, bool, error) {
	for attempt := 0; ; attempt++ {
		rec, fresh, err := s.reserve(ctx, sc, key, hash, now)
		// The key was released between our insert and our read (a record
		// an outage left behind, written back meanwhile): claim it again.
		if errors.Is(err, errKeyVanished) && attempt < 3 {
			continue
		}
		return rec, fresh, err
	}
}

// errKeyVanished is a record that was there on insert and gone on read.
var errKeyVanished = errors.New("idempotency key released meanwhile")

func (s IdempotencyStore) reserve(ctx context.Context, sc scope.Scope, key string, hash []byte, now time.Time) (idempotency.Record, bool, error) {
	var rec idempotency.Record
	fresh := false
	err := s.db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*idemRow)(nil)).
			Where("team_id = ? AND mode = ? AND key = ?", sc.TeamID, sc.Mode, key).
			Where("(created_at < ? OR (status = 0 AND created_at < ?))", now.Add(-idempotency.TTL).UTC(), now.Add(-idempotency.Abandoned).UTC()).
			Exec(ctx); err != nil {
			return err
		}
		if s.db.dialect == Postgres {
			// One statement that inserts or returns the row already there,
			// atomically even when another request deletes it meanwhile
			// (the no-op update locks and returns it; xmax = 0 marks a
			// fresh insert).
			var status int
			var reqHash, body []byte
			err := tx.NewRaw(`INSERT INTO idempotency_keys AS k (team_id, mode, key, request_hash, status, created_at)
				VALUES (?, ?, ?, ?, 0, ?)
				ON CONFLICT (team_id, mode, key) DO UPDATE SET key = k.key
				RETURNING k.request_hash, k.status, k.response, (k.xmax = 0)`,
				sc.TeamID, string(sc.Mode), key, hash, now.UTC()).Scan(ctx, &reqHash, &status, &body, &fresh)
			if err != nil {
				return err
			}
			if !fresh {
				rec = idempotency.Record{RequestHash: reqHash, Status: status, Body: body}
			}
			return nil
		}
		row := &idemRow{TeamID: sc.TeamID, Mode: string(sc.Mode), Key: key, RequestHash: hash, CreatedAt: now.UTC()}
		res, err := tx.NewInsert().Model(row).On("CONFLICT DO NOTHING").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			fresh = true
			return nil
		}
		var old idemRow
		err = tx.NewSelect().Model(&old).Where("team_id = ? AND mode = ? AND key = ?", sc.TeamID, sc.Mode, key).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return errKeyVanished
		}
		if err != nil {
			return err
		}
		rec = idempotency.Record{RequestHash: old.RequestHash, Status: old.Status, Body: old.Response}
		return nil
	})
	if errors.Is(err, errKeyVanished) {
		return idempotency.Record{}, false, err
	}
	if err != nil {
		return idempotency.Record{}, false, fmt.Errorf("store: reserve idempotency key: %w", mapErr(err))
	}
	return rec, fresh, nil
}

// Complete implements idempotency.Store.
func (s IdempotencyStore) Complete(ctx context.Context, sc scope.Scope, key string, status int, body []byte) error {
	_, err := s.db.bun.NewUpdate().Model((*idemRow)(nil)).Set("status = ?", status).Set("response = ?", body).
		Where("team_id = ? AND mode = ? AND key = ?", sc.TeamID, sc.Mode, key).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: complete idempotency key: %w", mapErr(err))
	}
	return nil
}

// Release implements idempotency.Store.
func (s IdempotencyStore) Release(ctx context.Context, sc scope.Scope, key string) error {
	_, err := s.db.bun.NewDelete().Model((*idemRow)(nil)).
		Where("team_id = ? AND mode = ? AND key = ?", sc.TeamID, sc.Mode, key).Exec(ctx)
	if err != nil && !errors.Is(mapErr(err), errs.ErrNotFound) {
		return fmt.Errorf("store: release idempotency key: %w", mapErr(err))
	}
	return nil
}
