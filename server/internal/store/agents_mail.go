package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/cstar-chat/cstar/server/internal/agent"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/mail"
)

// ResetAgentPassword implements agent.MailStore.
func (db *DB) ResetAgentPassword(ctx context.Context, agentID string, tokenHash []byte, passwordHash string, now time.Time) error {
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		tok, err := useMailToken(ctx, tx, mail.PurposeAgentReset, tokenHash, now)
		if err != nil {
			return err
		}
		if tok.SubjectID != agentID {
			return fmt.Errorf("reset agent password: %w", errs.ErrNotFound)
		}
		if err := spendMailTokens(ctx, tx, mail.PurposeAgentReset, agentID, now); err != nil {
			return err
		}
		res, err := tx.NewUpdate().Table("agents").Set("password_hash = ?", passwordHash).Set("updated_at = ?", now.UTC()).
			Where("id = ? AND email = ?", agentID, tok.Email).Exec(ctx)
		if err != nil {
			return mapErr(err)
		}
		if err := mustAffect(res, "reset agent password"); err != nil {
			return err
		}
		_, err = tx.NewDelete().Table("agent_sessions").Where("agent_id = ?", agentID).Exec(ctx)
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("store: reset agent password: %w", err)
	}
	return nil
}

// SetAgentNotifications implements agent.MailStore.
func (db *DB) SetAgentNotifications(ctx context.Context, teamID, id string, n agent.Notifications) error {
	res, err := db.bun.NewUpdate().Table("agents").Set("notify_new_conversations = ?", n.NewConversations).
		Set("notify_assigned_replies = ?", n.AssignedReplies).Where("id = ? AND team_id = ?", id, teamID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: agent notifications: %w", mapErr(err))
	}
	return mustAffect(res, "agent notifications")
}
