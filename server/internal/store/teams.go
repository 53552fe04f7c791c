package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/identity"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/team"
)

type teamRow struct {
	bun.BaseModel `bun:"table:teams"`

	ID        string    `bun:"id,pk"`
	Slug      string    `bun:"slug"`
	Name      string    `bun:"name"`
	CreatedAt time.Time `bun:"created_at"`
	UpdatedAt time.Time `bun:"updated_at"`
	// RequireTOTP is migration 0010's.
	RequireTOTP bool `bun:"require_totp"`
	// MailFrom is migration 0013's.
	MailFrom string `bun:"mail_from"`
}

// teamSettingsRow is one mode's settings of a team (migration 0008).
type teamSettingsRow struct {
	bun.BaseModel `bun:"table:team_settings"`

	TeamID          string   `bun:"team_id,pk"`
	Mode            string   `bun:"mode,pk"`
	AllowedOrigins  []string `bun:"allowed_origins"`
	UserHashEnabled bool     `bun:"user_hash_enabled"`
	// The widget's settings (migrations 0010 and 0012).
	WidgetTitle        string `bun:"widget_title"`
	WidgetGreeting     string `bun:"widget_greeting"`
	WidgetColor        string `bun:"widget_color"`
	WidgetPosition     string `bun:"widget_position"`
	WidgetLocale       string `bun:"widget_locale"`
	WidgetAvailability string `bun:"widget_availability"`
	WidgetReplyTime    string `bun:"widget_reply_time"`
	WidgetAvatarURL    string `bun:"widget_avatar_url"`
	// The pages mail links open (migration 0013).
	PasswordResetURL string `bun:"password_reset_url"`
	ChatURL          string `bun:"chat_url"`
}

func teamToRow(t team.Team) *teamRow {
	return &teamRow{ID: t.ID, Slug: t.Slug, Name: t.Name, CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC(),
		RequireTOTP: t.RequireTOTP, MailFrom: t.MailFrom}
}

// teamWithSettings reads the settings of team row r.
func (db *DB) teamWithSettings(ctx context.Context, r teamRow) (team.Team, error) {
	var rows []teamSettingsRow
	if err := db.bun.NewSelect().Model(&rows).Where("team_id = ?", r.ID).Scan(ctx); err != nil {
		return team.Team{}, fmt.Errorf("store: team settings: %w", mapErr(err))
	}
	t := team.Team{ID: r.ID, Slug: r.Slug, Name: r.Name, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		RequireTOTP: r.RequireTOTP, MailFrom: r.MailFrom, Settings: map[scope.Mode]team.Settings{scope.Live: {}, scope.Test: {}}}
	for _, sr := range rows {
		t.Settings[scope.Mode(sr.Mode)] = team.Settings{AllowedOrigins: sr.AllowedOrigins, Widget: team.Widget{
			Title: sr.WidgetTitle, Greeting: sr.WidgetGreeting, Color: sr.WidgetColor, Position: sr.WidgetPosition,
			Locale: sr.WidgetLocale, Availability: sr.WidgetAvailability, ReplyTime: sr.WidgetReplyTime,
			AvatarURL: sr.WidgetAvatarURL},
			Pages: team.Pages{PasswordResetURL: sr.PasswordResetURL, ChatURL: sr.ChatURL}}
	}
	return t, nil
}

type keyRow struct {
	bun.BaseModel `bun:"table:api_keys"`

	ID         string     `bun:"id,pk"`
	TeamID     string     `bun:"team_id"`
	Type       string     `bun:"type"`
	Mode       string     `bun:"mode"`
	Hash       []byte     `bun:"hash"`
	Redacted   string     `bun:"redacted"`
	Name       string     `bun:"name"`
	CreatedAt  time.Time  `bun:"created_at"`
	LastUsedAt *time.Time `bun:"last_used_at"`
	ExpiresAt  *time.Time `bun:"expires_at"`
	RevokedAt  *time.Time `bun:"revoked_at"`
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (r keyRow) key() apikey.Key {
	return apikey.Key{ID: r.ID, TeamID: r.TeamID, Type: apikey.Type(r.Type), Mode: scope.Mode(r.Mode),
		Hash: r.Hash, Redacted: r.Redacted, Name: r.Name, CreatedAt: r.CreatedAt.UTC(), LastUsedAt: utcPtr(r.LastUsedAt),
		ExpiresAt: utcPtr(r.ExpiresAt), RevokedAt: utcPtr(r.RevokedAt)}
}

func keyToRow(k apikey.Key) *keyRow {
	return &keyRow{ID: k.ID, TeamID: k.TeamID, Type: string(k.Type), Mode: string(k.Mode), Hash: k.Hash,
		Redacted: k.Redacted, Name: k.Name, CreatedAt: k.CreatedAt.UTC(), LastUsedAt: utcPtr(k.LastUsedAt),
		ExpiresAt: utcPtr(k.ExpiresAt), RevokedAt: utcPtr(k.RevokedAt)}
}

// CreateTeam stores a team, its first keys and its identity-verification
// secrets in one transaction.
func (db *DB) CreateTeam(ctx context.Context, t team.Team, keys []apikey.Key, secrets []identity.Secret) error {
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(teamToRow(t)).Exec(ctx); err != nil {
			return mapErr(err)
		}
		for _, m := range []scope.Mode{scope.Live, scope.Test} {
			origins := t.Settings[m].AllowedOrigins
			if origins == nil {
				origins = []string{}
			}
			row := &teamSettingsRow{TeamID: t.ID, Mode: string(m), AllowedOrigins: origins, UserHashEnabled: true}
			if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
				return mapErr(err)
			}
		}
		if err := insertKeys(ctx, tx, keys); err != nil {
			return err
		}
		return insertIdentitySecrets(ctx, tx, secrets)
	})
	if err != nil {
		return fmt.Errorf("store: create team: %w", err)
	}
	return nil
}

// TeamByID returns the team with the given UUID.
func (db *DB) TeamByID(ctx context.Context, id string) (team.Team, error) {
	var r teamRow
	if err := db.bun.NewSelect().Model(&r).Where("id = ?", id).Scan(ctx); err != nil {
		return team.Team{}, fmt.Errorf("store: team by id: %w", mapErr(err))
	}
	return db.teamWithSettings(ctx, r)
}

// TeamBySlug returns the team with the given slug.
func (db *DB) TeamBySlug(ctx context.Context, slug string) (team.Team, error) {
	var r teamRow
	if err := db.bun.NewSelect().Model(&r).Where("slug = ?", slug).Scan(ctx); err != nil {
		return team.Team{}, fmt.Errorf("store: team by slug: %w", mapErr(err))
	}
	return db.teamWithSettings(ctx, r)
}

// RenameTeam writes a team's name.
func (db *DB) RenameTeam(ctx context.Context, id, name string, at time.Time) error {
	res, err := db.bun.NewUpdate().Table("teams").Set("name = ?", name).Set("updated_at = ?", at.UTC()).
		Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: rename team: %w", mapErr(err))
	}
	return mustAffect(res, "rename team")
}

// SetAllowedOrigins writes the allowed origins of one mode of a team.
func (db *DB) SetAllowedOrigins(ctx context.Context, sc scope.Scope, origins []string, at time.Time) error {
	if origins == nil {
		origins = []string{}
	}
	return db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model(&teamSettingsRow{TeamID: sc.TeamID, Mode: string(sc.Mode), AllowedOrigins: origins}).
			Column("allowed_origins").WherePK().Exec(ctx)
		if err != nil {
			return fmt.Errorf("store: set allowed origins: %w", mapErr(err))
		}
		if err := mustAffect(res, "set allowed origins"); err != nil {
			return err
		}
		_, err = tx.NewUpdate().Table("teams").Set("updated_at = ?", at.UTC()).Where("id = ?", sc.TeamID).Exec(ctx)
		return mapErr(err)
	})
}

func insertKeys(ctx context.Context, db bun.IDB, keys []apikey.Key) error {
	if len(keys) == 0 {
		return nil
	}
	rows := make([]*keyRow, len(keys))
	for i, k := range keys {
		rows[i] = keyToRow(k)
	}
	_, err := db.NewInsert().Model(&rows).Exec(ctx)
	return mapErr(err)
}

// InsertKeys stores new API keys.
func (db *DB) InsertKeys(ctx context.Context, keys ...apikey.Key) error {
	if err := insertKeys(ctx, db.bun, keys); err != nil {
		return fmt.Errorf("store: insert keys: %w", err)
	}
	return nil
}

// KeyByHash returns the key stored under hash, whatever its state.
func (db *DB) KeyByHash(ctx context.Context, hash []byte) (apikey.Key, error) {
	var r keyRow
	if err := db.bun.NewSelect().Model(&r).Where("hash = ?", hash).Scan(ctx); err != nil {
		return apikey.Key{}, fmt.Errorf("store: key by hash: %w", mapErr(err))
	}
	return r.key(), nil
}

// KeyByID returns a key of scope s that has not been revoked.
func (db *DB) KeyByID(ctx context.Context, s scope.Scope, id string) (apikey.Key, error) {
	var r keyRow
	err := db.bun.NewSelect().Model(&r).
		Where("id = ? AND team_id = ? AND mode = ? AND revoked_at IS NULL", id, s.TeamID, s.Mode).Scan(ctx)
	if err != nil {
		return apikey.Key{}, fmt.Errorf("store: key by id: %w", mapErr(err))
	}
	return r.key(), nil
}

// ListKeys returns the keys of scope s that can still authenticate at now,
// oldest first.
func (db *DB) ListKeys(ctx context.Context, s scope.Scope, now time.Time) ([]apikey.Key, error) {
	var rows []keyRow
	err := db.bun.NewSelect().Model(&rows).
		Where("team_id = ? AND mode = ? AND revoked_at IS NULL", s.TeamID, s.Mode).
		Where("(expires_at IS NULL OR expires_at > ?)", now.UTC()).
		Order("id ASC").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: list keys: %w", mapErr(err))
	}
	keys := make([]apikey.Key, len(rows))
	for i, r := range rows {
		keys[i] = r.key()
	}
	return keys, nil
}

// RollKey inserts next and sets old's expiry, in one transaction.
func (db *DB) RollKey(ctx context.Context, old apikey.Key, oldExpiresAt time.Time, next apikey.Key) error {
	return db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Table("api_keys").Set("expires_at = ?", oldExpiresAt.UTC()).
			Where("id = ? AND team_id = ? AND mode = ? AND revoked_at IS NULL", old.ID, old.TeamID, old.Mode).Exec(ctx)
		if err != nil {
			return fmt.Errorf("store: roll key: %w", mapErr(err))
		}
		if err := mustAffect(res, "roll key"); err != nil {
			return err
		}
		if err := insertKeys(ctx, tx, []apikey.Key{next}); err != nil {
			return fmt.Errorf("store: roll key: %w", err)
		}
		return nil
	})
}

// RevokeKey marks a key of scope s revoked. It refuses, with
// apikey.ErrLastSecretKey, to revoke the last secret key of the scope that
// is active and not already ending: the scope's secret keys are locked first,
// so two revocations at once cannot both see the other key alive.
func (db *DB) RevokeKey(ctx context.Context, s scope.Scope, id string, at time.Time) error {
	return db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var rows []struct {
			ID        string     `bun:"id"`
			Type      string     `bun:"type"`
			ExpiresAt *time.Time `bun:"expires_at"`
		}
		q := tx.NewSelect().Table("api_keys").Column("id", "type", "expires_at").
			Where("team_id = ? AND mode = ? AND revoked_at IS NULL", s.TeamID, s.Mode).
			Where("(type = ? OR id = ?)", string(apikey.Secret), id)
		if db.dialect == Postgres {
			q = q.For("UPDATE")
		}
		if err := q.Scan(ctx, &rows); err != nil {
			return fmt.Errorf("store: revoke key: %w", mapErr(err))
		}
		found, secret, others := false, false, 0
		for _, r := range rows {
			switch {
			case r.ID == id:
				found, secret = true, r.Type == string(apikey.Secret)
			case r.ExpiresAt == nil || r.ExpiresAt.After(at):
				if r.ExpiresAt == nil {
					others++
				}
			}
		}
		if !found {
			return fmt.Errorf("revoke key: %w", errs.ErrNotFound)
		}
		if secret && others == 0 {
			return apikey.ErrLastSecretKey
		}
		_, err := tx.NewUpdate().Table("api_keys").Set("revoked_at = ?", at.UTC()).
			Where("id = ? AND team_id = ? AND mode = ?", id, s.TeamID, s.Mode).Exec(ctx)
		if err != nil {
			return fmt.Errorf("store: revoke key: %w", mapErr(err))
		}
		return nil
	})
}

// AddUsage adds counted traffic to the hourly usage rows and moves each
// key's last_used_at forward.
func (db *DB) AddUsage(ctx context.Context, deltas []apikey.UsageDelta) error {
	return db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		for _, d := range deltas {
			_, err := tx.NewRaw(`INSERT INTO api_key_usage (key_id, hour, requests, errors, rate_limited)
				VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (key_id, hour) DO UPDATE SET
					requests = api_key_usage.requests + excluded.requests,
					errors = api_key_usage.errors + excluded.errors,
					rate_limited = api_key_usage.rate_limited + excluded.rate_limited`,
				d.KeyID, d.Hour.UTC(), d.Requests, d.Errors, d.RateLimited).Exec(ctx)
			if err != nil {
				return fmt.Errorf("store: add usage: %w", mapErr(err))
			}
			_, err = tx.NewUpdate().Table("api_keys").Set("last_used_at = ?", d.LastUsed.UTC()).
				Where("id = ? AND (last_used_at IS NULL OR last_used_at < ?)", d.KeyID, d.LastUsed.UTC()).Exec(ctx)
			if err != nil {
				return fmt.Errorf("store: add usage: %w", mapErr(err))
			}
		}
		return nil
	})
}

// KeyUsage returns the hourly usage rows of a key since the given hour.
func (db *DB) KeyUsage(ctx context.Context, keyID string, since time.Time) ([]apikey.UsageHour, error) {
	var rows []struct {
		Hour        time.Time `bun:"hour"`
		Requests    int64     `bun:"requests"`
		Errors      int64     `bun:"errors"`
		RateLimited int64     `bun:"rate_limited"`
	}
	err := db.bun.NewSelect().Table("api_key_usage").Column("hour", "requests", "errors", "rate_limited").
		Where("key_id = ? AND hour >= ?", keyID, since.UTC()).Order("hour ASC").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("store: key usage: %w", mapErr(err))
	}
	out := make([]apikey.UsageHour, len(rows))
	for i, r := range rows {
		out[i] = apikey.UsageHour{Hour: r.Hour.UTC(), Requests: r.Requests, Errors: r.Errors, RateLimited: r.RateLimited}
	}
	return out, nil
}
