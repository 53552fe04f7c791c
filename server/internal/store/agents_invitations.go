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

type invitationRow struct {
	bun.BaseModel `bun:"table:agent_invitations"`

	ID         string     `bun:"id,pk"`
	TeamID     string     `bun:"team_id"`
	Email      string     `bun:"email"`
	Role       string     `bun:"role"`
	TokenHash  []byte     `bun:"token_hash"`
	InvitedBy  *string    `bun:"invited_by"`
	CreatedAt  time.Time  `bun:"created_at"`
	ExpiresAt  time.Time  `bun:"expires_at"`
	AcceptedAt *time.Time `bun:"accepted_at"`
}

func (r invitationRow) invitation() agent.Invitation {
	return agent.Invitation{ID: r.ID, TeamID: r.TeamID, Email: r.Email, Role: agent.Role(r.Role), InvitedBy: deref(r.InvitedBy),
		CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), AcceptedAt: utcPtr(r.AcceptedAt)}
}

// InsertInvitation implements agent.InvitationStore.
func (db *DB) InsertInvitation(ctx context.Context, inv agent.Invitation, tokenHash []byte, jobs ...mail.Job) error {
	row := &invitationRow{ID: inv.ID, TeamID: inv.TeamID, Email: inv.Email, Role: string(inv.Role), TokenHash: tokenHash,
		InvitedBy: nullable(inv.InvitedBy), CreatedAt: inv.CreatedAt.UTC(), ExpiresAt: inv.ExpiresAt.UTC()}
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
			return mapErr(err)
		}
		return enqueueMail(ctx, tx, jobs)
	})
	if err != nil {
		return fmt.Errorf("store: insert invitation: %w", err)
	}
	return nil
}

// invitationWhere matches the invitation of hash: the hash of its own token,
// or of a token its mail carried (mail_tokens, purpose invitation).
func invitationWhere(ctx context.Context, db bun.IDB, hash []byte) (string, []any, error) {
	var ids []string
	err := db.NewRaw("SELECT subject_id FROM mail_tokens WHERE hash = ? AND purpose = ?", hash, string(mail.PurposeInvitation)).
		Scan(ctx, &ids)
	if err != nil && !noRows(err) {
		return "", nil, mapErr(err)
	}
	if len(ids) > 0 {
		return "id = ?", []any{ids[0]}, nil
	}
	return "token_hash = ?", []any{hash}, nil
}

// InvitationByTokenHash implements agent.InvitationStore.
func (db *DB) InvitationByTokenHash(ctx context.Context, hash []byte) (agent.Invitation, error) {
	where, args, err := invitationWhere(ctx, db.bun, hash)
	if err != nil {
		return agent.Invitation{}, fmt.Errorf("store: invitation: %w", err)
	}
	var r invitationRow
	if err := db.bun.NewSelect().Model(&r).Where(where, args...).Scan(ctx); err != nil {
		return agent.Invitation{}, fmt.Errorf("store: invitation: %w", mapErr(err))
	}
	return r.invitation(), nil
}

// AcceptInvitation implements agent.InvitationStore: the update that marks
// the invitation accepted matches only an unused, unexpired one, so of two
// acceptances at once only one finds it.
func (db *DB) AcceptInvitation(ctx context.Context, hash []byte, at time.Time, a agent.Agent, passwordHash string) error {
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		where, args, err := invitationWhere(ctx, tx, hash)
		if err != nil {
			return err
		}
		res, err := tx.NewUpdate().Table("agent_invitations").Set("accepted_at = ?", at.UTC()).Where(where, args...).
			Where("team_id = ? AND accepted_at IS NULL AND expires_at > ?", a.TeamID, at.UTC()).Exec(ctx)
		if err != nil {
			return mapErr(err)
		}
		if err := mustAffect(res, "accept invitation"); err != nil {
			return err
		}
		row := &agentRow{ID: a.ID, TeamID: a.TeamID, Email: a.Email, Name: a.Name, Role: string(a.Role),
			PasswordHash: passwordHash, CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC()}
		_, err = tx.NewInsert().Model(row).Exec(ctx)
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("store: accept invitation: %w", err)
	}
	return nil
}

// ListInvitations implements agent.InvitationStore.
func (db *DB) ListInvitations(ctx context.Context, teamID string, now time.Time) ([]agent.Invitation, error) {
	var rows []invitationRow
	err := db.bun.NewSelect().Model(&rows).Where("team_id = ? AND accepted_at IS NULL AND expires_at > ?", teamID, now.UTC()).
		Order("id DESC").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: list invitations: %w", mapErr(err))
	}
	out := make([]agent.Invitation, len(rows))
	for i, r := range rows {
		out[i] = r.invitation()
	}
	return out, nil
}

// DeleteInvitation implements agent.InvitationStore: an open invitation.
func (db *DB) DeleteInvitation(ctx context.Context, teamID, id string) (agent.Invitation, error) {
	var rows []invitationRow
	_, err := db.bun.NewDelete().Model(&rows).Where("id = ? AND team_id = ? AND accepted_at IS NULL", id, teamID).
		Returning("*").Exec(ctx)
	if err != nil {
		return agent.Invitation{}, fmt.Errorf("store: delete invitation: %w", mapErr(err))
	}
	if len(rows) == 0 {
		return agent.Invitation{}, fmt.Errorf("store: delete invitation: %w", errs.ErrNotFound)
	}
	return rows[0].invitation(), nil
}

type savedReplyRow struct {
	bun.BaseModel `bun:"table:saved_replies"`

	ID        string    `bun:"id,pk"`
	TeamID    string    `bun:"team_id"`
	Title     string    `bun:"title"`
	Body      string    `bun:"body"`
	CreatedBy *string   `bun:"created_by"`
	CreatedAt time.Time `bun:"created_at"`
}

// InsertSavedReply implements agent.ReplyStore.
func (db *DB) InsertSavedReply(ctx context.Context, r agent.SavedReply) error {
	row := &savedReplyRow{ID: r.ID, TeamID: r.TeamID, Title: r.Title, Body: r.Body, CreatedBy: nullable(r.CreatedBy),
		CreatedAt: r.CreatedAt.UTC()}
	if _, err := db.bun.NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("store: insert saved reply: %w", mapErr(err))
	}
	return nil
}

// ListSavedReplies implements agent.ReplyStore.
func (db *DB) ListSavedReplies(ctx context.Context, teamID string) ([]agent.SavedReply, error) {
	var rows []savedReplyRow
	if err := db.bun.NewSelect().Model(&rows).Where("team_id = ?", teamID).Order("title ASC", "id ASC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: list saved replies: %w", mapErr(err))
	}
	out := make([]agent.SavedReply, len(rows))
	for i, r := range rows {
		out[i] = agent.SavedReply{ID: r.ID, TeamID: r.TeamID, Title: r.Title, Body: r.Body, CreatedBy: deref(r.CreatedBy),
			CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}

// DeleteSavedReply implements agent.ReplyStore.
func (db *DB) DeleteSavedReply(ctx context.Context, teamID, id string) error {
	res, err := db.bun.NewDelete().Table("saved_replies").Where("id = ? AND team_id = ?", id, teamID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: delete saved reply: %w", mapErr(err))
	}
	return mustAffect(res, "delete saved reply")
}
