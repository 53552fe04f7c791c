package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/team"
)

// SetPages implements team.MailStore.
func (db *DB) SetPages(ctx context.Context, sc scope.Scope, p team.Pages, at time.Time) error {
	return db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Table("team_settings").Set("password_reset_url = ?", p.PasswordResetURL).
			Set("chat_url = ?", p.ChatURL).Where("team_id = ? AND mode = ?", sc.TeamID, sc.Mode).Exec(ctx)
		if err != nil {
			return fmt.Errorf("store: set pages: %w", mapErr(err))
		}
		if err := mustAffect(res, "set pages"); err != nil {
			return err
		}
		_, err = tx.NewUpdate().Table("teams").Set("updated_at = ?", at.UTC()).Where("id = ?", sc.TeamID).Exec(ctx)
		return mapErr(err)
	})
}

// SetMailFrom implements team.MailStore.
func (db *DB) SetMailFrom(ctx context.Context, id, from string, at time.Time) error {
	res, err := db.bun.NewUpdate().Table("teams").Set("mail_from = ?", from).Set("updated_at = ?", at.UTC()).
		Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: set mail from: %w", mapErr(err))
	}
	return mustAffect(res, "set mail from")
}
