package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// useTokenIDSQL records a token id, or takes over a record that has
// expired, in one statement: of two processes offering the same id at once,
// exactly one gets a row back. Arguments: the key, its expiry and now, in
// microseconds.
const useTokenIDSQL = `INSERT INTO identity_token_uses (key, expires_us) VALUES (?0, ?1)
	ON CONFLICT (key) DO UPDATE SET expires_us = excluded.expires_us
	WHERE identity_token_uses.expires_us <= ?2
	RETURNING expires_us`

// UseTokenID records an identity token's id (key: its team, mode and jti)
// as used until until, and reports whether it was fresh. The record lives in
// the database, so that a token used once is refused by every process and
// after a restart.
func (db *DB) UseTokenID(ctx context.Context, key string, until, now time.Time) (bool, error) {
	h := sha256.Sum256([]byte(key))
	var exp int64
	err := db.bun.NewRaw(useTokenIDSQL, h[:], until.UnixMicro(), now.UnixMicro()).Scan(ctx, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: use token id: %w", mapErr(err))
	}
	return true, nil
}

// SweepTokenIDs deletes the token ids whose tokens have expired at now.
func (db *DB) SweepTokenIDs(ctx context.Context, now time.Time) error {
	if _, err := db.bun.NewDelete().Table("identity_token_uses").Where("expires_us <= ?", now.UnixMicro()).Exec(ctx); err != nil {
		return fmt.Errorf("store: sweep token ids: %w", mapErr(err))
	}
	return nil
}
