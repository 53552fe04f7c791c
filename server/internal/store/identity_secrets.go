package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/identity"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// identitySecretRow keeps the secret in plaintext: the server computes HMACs
// with it, so it cannot be hashed the way API keys are.
type identitySecretRow struct {
	bun.BaseModel `bun:"table:identity_secrets"`

	TeamID            string     `bun:"team_id,pk"`
	Mode              string     `bun:"mode,pk"`
	Secret            string     `bun:"secret"`
	PreviousSecret    *string    `bun:"previous_secret"`
	PreviousExpiresAt *time.Time `bun:"previous_expires_at"`
	CreatedAt         time.Time  `bun:"created_at"`
	RolledAt          *time.Time `bun:"rolled_at"`
}

func (r identitySecretRow) secret() identity.Secret {
	return identity.Secret{TeamID: r.TeamID, Mode: scope.Mode(r.Mode), Current: r.Secret,
		Previous: deref(r.PreviousSecret), PreviousExpiresAt: utcPtr(r.PreviousExpiresAt),
		CreatedAt: r.CreatedAt.UTC(), RolledAt: utcPtr(r.RolledAt)}
}

func insertIdentitySecrets(ctx context.Context, db bun.IDB, secrets []identity.Secret) error {
	if len(secrets) == 0 {
		return nil
	}
	rows := make([]*identitySecretRow, len(secrets))
	for i, s := range secrets {
		rows[i] = &identitySecretRow{TeamID: s.TeamID, Mode: string(s.Mode), Secret: s.Current,
			PreviousSecret: nullable(s.Previous), PreviousExpiresAt: utcPtr(s.PreviousExpiresAt),
			CreatedAt: s.CreatedAt.UTC(), RolledAt: utcPtr(s.RolledAt)}
	}
	_, err := db.NewInsert().Model(&rows).Exec(ctx)
	return mapErr(err)
}

// IdentitySecret returns the identity-verification secret of scope s.
func (db *DB) IdentitySecret(ctx context.Context, s scope.Scope) (identity.Secret, error) {
	var r identitySecretRow
	err := db.bun.NewSelect().Model(&r).Where("team_id = ? AND mode = ?", s.TeamID, s.Mode).Scan(ctx)
	if err != nil {
		return identity.Secret{}, fmt.Errorf("store: identity secret: %w", mapErr(err))
	}
	return r.secret(), nil
}

// RollIdentitySecret makes next the current secret of scope s in one
// statement, so that two concurrent rolls cannot lose the previous secret's
// grace. A team without a secret (created before secrets existed) gets one.
func (db *DB) RollIdentitySecret(ctx context.Context, s scope.Scope, next string, previousExpiresAt *time.Time, now time.Time) error {
	keep := previousExpiresAt != nil
	_, err := db.bun.NewRaw(`INSERT INTO identity_secrets (team_id, mode, secret, created_at, rolled_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (team_id, mode) DO UPDATE SET
			previous_secret = CASE WHEN ? THEN identity_secrets.secret ELSE NULL END,
			previous_expires_at = ?,
			secret = excluded.secret,
			rolled_at = excluded.rolled_at`,
		s.TeamID, s.Mode, next, now.UTC(), now.UTC(), keep, utcPtr(previousExpiresAt)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: roll identity secret: %w", mapErr(err))
	}
	return nil
}

// UserHashEnabled reports whether mode sc.Mode of the team accepts user
// hashes.
func (db *DB) UserHashEnabled(ctx context.Context, sc scope.Scope) (bool, error) {
	var on bool
	err := db.bun.NewRaw("SELECT user_hash_enabled FROM team_settings WHERE team_id = ? AND mode = ?", sc.TeamID, string(sc.Mode)).
		Scan(ctx, &on)
	if err != nil {
		return false, fmt.Errorf("store: user hash setting: %w", mapErr(err))
	}
	return on, nil
}

// SetUserHashEnabled writes the user-hash setting of mode sc.Mode of the
// team.
func (db *DB) SetUserHashEnabled(ctx context.Context, sc scope.Scope, enabled bool) error {
	res, err := db.bun.NewUpdate().Table("team_settings").Set("user_hash_enabled = ?", enabled).
		Where("team_id = ? AND mode = ?", sc.TeamID, string(sc.Mode)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: set user hash setting: %w", mapErr(err))
	}
	return mustAffect(res, "set user hash setting")
}

// CustomerByExternalID returns the customer of scope s with the team's own
// id externalID.
func (db *DB) CustomerByExternalID(ctx context.Context, s scope.Scope, externalID string) (helpdesk.Customer, error) {
	var r customerRow
	err := db.bun.NewSelect().Model(&r).
		Where("team_id = ? AND mode = ? AND external_id = ?", s.TeamID, s.Mode, externalID).Scan(ctx)
	if err != nil {
		return helpdesk.Customer{}, fmt.Errorf("store: customer by external id: %w", mapErr(err))
	}
	return r.customer(), nil
}

var _ identity.SecretStore = (*DB)(nil)
