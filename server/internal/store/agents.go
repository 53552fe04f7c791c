package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/cstar-chat/cstar/server/internal/agent"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/team"
)

type agentRow struct {
	bun.BaseModel `bun:"table:agents"`

	ID           string    `bun:"id,pk"`
	TeamID       string    `bun:"team_id"`
	Email        string    `bun:"email"`
	Name         string    `bun:"name"`
	Role         string    `bun:"role"`
	PasswordHash string    `bun:"password_hash"`
	TOTPSecret   *string   `bun:"totp_secret"`
	TOTPPending  *string   `bun:"totp_pending"`
	TOTPLastStep int64     `bun:"totp_last_step"`
	CreatedAt    time.Time `bun:"created_at"`
	UpdatedAt    time.Time `bun:"updated_at"`
	// What the agent wants to hear of by email (migration 0013).
	NotifyNew      bool `bun:"notify_new_conversations"`
	NotifyAssigned bool `bun:"notify_assigned_replies"`
}

func (r agentRow) agent() agent.Agent {
	return agent.Agent{ID: r.ID, TeamID: r.TeamID, Email: r.Email, Name: r.Name, Role: agent.Role(r.Role),
		TOTP: r.TOTPSecret != nil, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		Notify: agent.Notifications{NewConversations: r.NotifyNew, AssignedReplies: r.NotifyAssigned}}
}

// InsertAgent implements agent.Store.
func (db *DB) InsertAgent(ctx context.Context, a agent.Agent, passwordHash string) error {
	row := &agentRow{ID: a.ID, TeamID: a.TeamID, Email: a.Email, Name: a.Name, Role: string(a.Role),
		PasswordHash: passwordHash, CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC()}
	if _, err := db.bun.NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("store: insert agent: %w", mapErr(err))
	}
	return nil
}

// AgentByID implements agent.Store.
func (db *DB) AgentByID(ctx context.Context, teamID, id string) (agent.Agent, error) {
	var r agentRow
	if err := db.bun.NewSelect().Model(&r).Where("id = ? AND team_id = ?", id, teamID).Scan(ctx); err != nil {
		return agent.Agent{}, fmt.Errorf("store: agent by id: %w", mapErr(err))
	}
	return r.agent(), nil
}

// AgentByEmail implements agent.Store.
func (db *DB) AgentByEmail(ctx context.Context, email string) (agent.Agent, string, error) {
	var r agentRow
	if err := db.bun.NewSelect().Model(&r).Where("email = ?", email).Scan(ctx); err != nil {
		return agent.Agent{}, "", fmt.Errorf("store: agent by email: %w", mapErr(err))
	}
	return r.agent(), r.PasswordHash, nil
}

// ListAgents implements agent.Store.
func (db *DB) ListAgents(ctx context.Context, teamID string) ([]agent.Agent, error) {
	var rows []agentRow
	if err := db.bun.NewSelect().Model(&rows).Where("team_id = ?", teamID).Order("name ASC", "id ASC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: list agents: %w", mapErr(err))
	}
	out := make([]agent.Agent, len(rows))
	for i, r := range rows {
		out[i] = r.agent()
	}
	return out, nil
}

// lockOwners reads (and on PostgreSQL locks) the team's owners and the
// agent id, and refuses with agent.ErrLastOwner when id is the only owner
// and stays one only if keep.
func (db *DB) lockOwners(ctx context.Context, tx bun.Tx, teamID, id string, keep bool) error {
	var rows []struct {
		ID   string `bun:"id"`
		Role string `bun:"role"`
	}
	q := tx.NewSelect().Table("agents").Column("id", "role").
		Where("team_id = ? AND (role = ? OR id = ?)", teamID, string(agent.Owner), id)
	if db.dialect == Postgres {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx, &rows); err != nil {
		return mapErr(err)
	}
	found, owner, owners := false, false, 0
	for _, r := range rows {
		if r.Role == string(agent.Owner) {
			owners++
		}
		if r.ID == id {
			found, owner = true, r.Role == string(agent.Owner)
		}
	}
	if !found {
		return fmt.Errorf("agent: %w", errs.ErrNotFound)
	}
	if owner && owners == 1 && !keep {
		return agent.ErrLastOwner
	}
	return nil
}

// SetAgentRole implements agent.Store.
func (db *DB) SetAgentRole(ctx context.Context, teamID, id string, role agent.Role, at time.Time) error {
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := db.lockOwners(ctx, tx, teamID, id, role == agent.Owner); err != nil {
			return err
		}
		_, err := tx.NewUpdate().Table("agents").Set("role = ?", string(role)).Set("updated_at = ?", at.UTC()).
			Where("id = ? AND team_id = ?", id, teamID).Exec(ctx)
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("store: set agent role: %w", err)
	}
	return nil
}

// DeleteAgent implements agent.Store: the agent's sessions go with it (the
// foreign key), and its conversations become unassigned.
func (db *DB) DeleteAgent(ctx context.Context, teamID, id string) error {
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := db.lockOwners(ctx, tx, teamID, id, false); err != nil {
			return err
		}
		_, err := tx.NewDelete().Table("agents").Where("id = ? AND team_id = ?", id, teamID).Exec(ctx)
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("store: delete agent: %w", err)
	}
	return nil
}

// SetAgentPasswordHash implements agent.Store.
func (db *DB) SetAgentPasswordHash(ctx context.Context, id, hash string) error {
	res, err := db.bun.NewUpdate().Table("agents").Set("password_hash = ?", hash).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: set agent password: %w", mapErr(err))
	}
	return mustAffect(res, "set agent password")
}

// TeamSignIn implements agent.Store.
func (db *DB) TeamSignIn(ctx context.Context, teamID string) (string, bool, error) {
	var r struct {
		Name        string `bun:"name"`
		RequireTOTP bool   `bun:"require_totp"`
	}
	if err := db.bun.NewSelect().Table("teams").Column("name", "require_totp").Where("id = ?", teamID).Scan(ctx, &r); err != nil {
		return "", false, fmt.Errorf("store: team sign-in: %w", mapErr(err))
	}
	return r.Name, r.RequireTOTP, nil
}

// AgentTOTP implements agent.TOTPStore.
func (db *DB) AgentTOTP(ctx context.Context, id string) (string, string, int64, error) {
	var r agentRow
	if err := db.bun.NewSelect().Model(&r).Column("totp_secret", "totp_pending", "totp_last_step").Where("id = ?", id).Scan(ctx); err != nil {
		return "", "", 0, fmt.Errorf("store: agent totp: %w", mapErr(err))
	}
	return deref(r.TOTPSecret), deref(r.TOTPPending), r.TOTPLastStep, nil
}

// SetAgentTOTPPending implements agent.TOTPStore.
func (db *DB) SetAgentTOTPPending(ctx context.Context, id, secret string) error {
	res, err := db.bun.NewUpdate().Table("agents").Set("totp_pending = ?", nullable(secret)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: agent totp: %w", mapErr(err))
	}
	return mustAffect(res, "agent totp")
}

// EnableAgentTOTP implements agent.TOTPStore.
func (db *DB) EnableAgentTOTP(ctx context.Context, id string, step int64, at time.Time) error {
	res, err := db.bun.NewUpdate().Table("agents").Set("totp_secret = totp_pending").Set("totp_pending = NULL").
		Set("totp_last_step = ?", step).Set("updated_at = ?", at.UTC()).
		Where("id = ? AND totp_pending IS NOT NULL", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: enable agent totp: %w", mapErr(err))
	}
	return mustAffect(res, "enable agent totp")
}

// DisableAgentTOTP implements agent.TOTPStore.
func (db *DB) DisableAgentTOTP(ctx context.Context, id string, at time.Time) error {
	_, err := db.bun.NewUpdate().Table("agents").Set("totp_secret = NULL").Set("totp_pending = NULL").
		Set("updated_at = ?", at.UTC()).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: disable agent totp: %w", mapErr(err))
	}
	return nil
}

// UseTOTPStep implements agent.TOTPStore: one statement, so that of two
// processes offered the same code exactly one accepts it.
func (db *DB) UseTOTPStep(ctx context.Context, id string, step int64) (bool, error) {
	res, err := db.bun.NewUpdate().Table("agents").Set("totp_last_step = ?", step).
		Where("id = ? AND totp_last_step < ?", id, step).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("store: use totp step: %w", mapErr(err))
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

type agentSessionRow struct {
	bun.BaseModel `bun:"table:agent_sessions"`

	ID                string    `bun:"id,pk"`
	AgentID           string    `bun:"agent_id"`
	TeamID            string    `bun:"team_id"`
	TokenHash         []byte    `bun:"token_hash"`
	Stage             string    `bun:"stage"`
	CodeFailures      int       `bun:"code_failures"`
	IP                string    `bun:"ip"`
	UserAgent         string    `bun:"user_agent"`
	CreatedAt         time.Time `bun:"created_at"`
	LastUsedAt        time.Time `bun:"last_used_at"`
	ExpiresAt         time.Time `bun:"expires_at"`
	AbsoluteExpiresAt time.Time `bun:"absolute_expires_at"`
}

// InsertAgentSession implements agent.SessionStore.
func (db *DB) InsertAgentSession(ctx context.Context, s agent.Session) error {
	row := &agentSessionRow{ID: s.ID, AgentID: s.AgentID, TeamID: s.TeamID, TokenHash: s.TokenHash, Stage: string(s.Stage),
		CodeFailures: s.CodeFailures, IP: s.IP, UserAgent: s.UserAgent, CreatedAt: s.CreatedAt.UTC(),
		LastUsedAt: s.LastUsedAt.UTC(), ExpiresAt: s.ExpiresAt.UTC(), AbsoluteExpiresAt: s.AbsoluteExpiresAt.UTC()}
	if _, err := db.bun.NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("store: insert agent session: %w", mapErr(err))
	}
	return nil
}

// AgentSessionByTokenHash implements agent.SessionStore.
func (db *DB) AgentSessionByTokenHash(ctx context.Context, hash []byte) (agent.Session, error) {
	var r agentSessionRow
	if err := db.bun.NewSelect().Model(&r).Where("token_hash = ?", hash).Scan(ctx); err != nil {
		return agent.Session{}, fmt.Errorf("store: agent session: %w", mapErr(err))
	}
	return agent.Session{ID: r.ID, AgentID: r.AgentID, TeamID: r.TeamID, TokenHash: r.TokenHash, Stage: agent.Stage(r.Stage),
		CodeFailures: r.CodeFailures, IP: r.IP, UserAgent: r.UserAgent, CreatedAt: r.CreatedAt.UTC(),
		LastUsedAt: r.LastUsedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), AbsoluteExpiresAt: r.AbsoluteExpiresAt.UTC()}, nil
}

// TouchAgentSession implements agent.SessionStore.
func (db *DB) TouchAgentSession(ctx context.Context, id string, lastUsed, expires time.Time) error {
	res, err := db.bun.NewUpdate().Table("agent_sessions").Set("last_used_at = ?", lastUsed.UTC()).
		Set("expires_at = ?", expires.UTC()).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: touch agent session: %w", mapErr(err))
	}
	return mustAffect(res, "touch agent session")
}

// FailAgentSessionCode implements agent.SessionStore.
func (db *DB) FailAgentSessionCode(ctx context.Context, id string) (int, error) {
	var n int
	err := db.bun.NewRaw("UPDATE agent_sessions SET code_failures = code_failures + 1 WHERE id = ? RETURNING code_failures", id).Scan(ctx, &n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("store: agent session code: %w", errs.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("store: agent session code: %w", mapErr(err))
	}
	return n, nil
}

// DeleteAgentSession implements agent.SessionStore.
func (db *DB) DeleteAgentSession(ctx context.Context, id string) error {
	res, err := db.bun.NewDelete().Table("agent_sessions").Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: delete agent session: %w", mapErr(err))
	}
	return mustAffect(res, "delete agent session")
}

// DeleteAgentSessions implements agent.SessionStore.
func (db *DB) DeleteAgentSessions(ctx context.Context, agentID string) error {
	if _, err := db.bun.NewDelete().Table("agent_sessions").Where("agent_id = ?", agentID).Exec(ctx); err != nil {
		return fmt.Errorf("store: delete agent sessions: %w", mapErr(err))
	}
	return nil
}

// SweepAgentSessions implements agent.SessionStore: expired sessions, and
// invitations a month past their expiry (accepted ones too: the audit log
// keeps who joined).
func (db *DB) SweepAgentSessions(ctx context.Context, now time.Time) error {
	if _, err := db.bun.NewDelete().Table("agent_sessions").
		Where("expires_at <= ? OR absolute_expires_at <= ?", now.UTC(), now.UTC()).Exec(ctx); err != nil {
		return fmt.Errorf("store: sweep agent sessions: %w", mapErr(err))
	}
	if _, err := db.bun.NewDelete().Table("agent_invitations").
		Where("expires_at <= ?", now.Add(-30*24*time.Hour).UTC()).Exec(ctx); err != nil {
		return fmt.Errorf("store: sweep invitations: %w", mapErr(err))
	}
	return nil
}

var _ agent.Store = (*DB)(nil)

// SetWidget implements team.Store: the widget settings of one mode.
func (db *DB) SetWidget(ctx context.Context, sc scope.Scope, w team.Widget, at time.Time) error {
	return db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Table("team_settings").Set("widget_title = ?", w.Title).
			Set("widget_greeting = ?", w.Greeting).Set("widget_color = ?", w.Color).Set("widget_position = ?", w.Position).
			Set("widget_locale = ?", w.Locale).Set("widget_availability = ?", w.Availability).
			Set("widget_reply_time = ?", w.ReplyTime).Set("widget_avatar_url = ?", w.AvatarURL).
			Where("team_id = ? AND mode = ?", sc.TeamID, string(sc.Mode)).Exec(ctx)
		if err != nil {
			return fmt.Errorf("store: set widget: %w", mapErr(err))
		}
		if err := mustAffect(res, "set widget"); err != nil {
			return err
		}
		_, err = tx.NewUpdate().Table("teams").Set("updated_at = ?", at.UTC()).Where("id = ?", sc.TeamID).Exec(ctx)
		return mapErr(err)
	})
}

// SetRequireTOTP implements team.Store.
func (db *DB) SetRequireTOTP(ctx context.Context, id string, on bool, at time.Time) error {
	res, err := db.bun.NewUpdate().Table("teams").Set("require_totp = ?", on).Set("updated_at = ?", at.UTC()).
		Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: require totp: %w", mapErr(err))
	}
	return mustAffect(res, "require totp")
}
