package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/mail"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// outboxRow is one email of the outbox (migration 0013).
type outboxRow struct {
	bun.BaseModel `bun:"table:mail_outbox"`

	ID         string     `bun:"id,pk"`
	TeamID     *string    `bun:"team_id"`
	Mode       *string    `bun:"mode"`
	Kind       string     `bun:"kind"`
	ToAddress  string     `bun:"to_address"`
	SubjectID  string     `bun:"subject_id"`
	AgentID    *string    `bun:"agent_id"`
	Locale     string     `bun:"locale"`
	DedupeKey  *string    `bun:"dedupe_key"`
	Status     string     `bun:"status"`
	Attempts   int        `bun:"attempts"`
	DueAt      time.Time  `bun:"due_at"`
	Claim      *string    `bun:"claim"`
	LastError  string     `bun:"last_error"`
	Recipient  string     `bun:"recipient"`
	MessageID  string     `bun:"message_id"`
	CreatedAt  time.Time  `bun:"created_at"`
	FinishedAt *time.Time `bun:"finished_at"`
}

func (r outboxRow) job() mail.Job {
	return mail.Job{ID: r.ID, TeamID: deref(r.TeamID), Mode: scope.Mode(deref(r.Mode)), Kind: mail.Kind(r.Kind),
		To: r.ToAddress, SubjectID: r.SubjectID, AgentID: deref(r.AgentID), Locale: r.Locale, DedupeKey: deref(r.DedupeKey),
		Due: r.DueAt.UTC(), CreatedAt: r.CreatedAt.UTC(), Status: mail.Status(r.Status), Attempts: r.Attempts,
		LastError: r.LastError, Recipient: r.Recipient, MessageID: r.MessageID, FinishedAt: utcPtr(r.FinishedAt)}
}

func jobRow(j mail.Job) *outboxRow {
	st := j.Status
	if st == "" {
		st = mail.Pending
	}
	return &outboxRow{ID: j.ID, TeamID: nullable(j.TeamID), Mode: nullable(string(j.Mode)), Kind: string(j.Kind),
		ToAddress: j.To, SubjectID: j.SubjectID, AgentID: nullable(j.AgentID), Locale: j.Locale,
		DedupeKey: nullable(j.DedupeKey), Status: string(st), DueAt: j.Due.UTC(), CreatedAt: j.CreatedAt.UTC()}
}

// enqueueMail stores jobs in tx; one whose dedupe key a pending job holds
// is skipped.
func enqueueMail(ctx context.Context, tx bun.IDB, jobs []mail.Job) error {
	for _, j := range jobs {
		_, err := tx.NewInsert().Model(jobRow(j)).On("CONFLICT (dedupe_key) WHERE status = 'pending' DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("enqueue mail: %w", mapErr(err))
		}
	}
	return nil
}

// EnqueueMail implements mail.Store.
func (db *DB) EnqueueMail(ctx context.Context, jobs ...mail.Job) error {
	if len(jobs) == 0 {
		return nil
	}
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error { return enqueueMail(ctx, tx, jobs) })
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// ClaimMail implements mail.Store. On PostgreSQL the due rows are locked
// with SKIP LOCKED, so that processes claiming at once take different jobs;
// SQLite has one process, whose writes are serialised.
func (db *DB) ClaimMail(ctx context.Context, now, until time.Time, claim string, limit int) ([]mail.Job, error) {
	lock := ""
	if db.dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var rows []outboxRow
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		rows = rows[:0]
		return tx.NewRaw(`UPDATE mail_outbox SET status = 'sending', claim = ?, due_at = ?, attempts = attempts + 1
			WHERE id IN (SELECT id FROM mail_outbox WHERE status IN ('pending', 'sending') AND due_at <= ?
				ORDER BY due_at LIMIT ?`+lock+`)
			RETURNING *`, claim, until.UTC(), now.UTC(), limit).Scan(ctx, &rows)
	})
	if err != nil && !noRows(err) {
		return nil, fmt.Errorf("store: claim mail: %w", mapErr(err))
	}
	out := make([]mail.Job, len(rows))
	for i, r := range rows {
		out[i] = r.job()
	}
	return out, nil
}

// FinishMail implements mail.Store. A job whose team was learnt when it was
// composed (an agent's reset) keeps it; the address typed for a reset that
// found no account is forgotten.
func (db *DB) FinishMail(ctx context.Context, j mail.Job, claim string, at time.Time) error {
	res, err := db.bun.NewUpdate().Table("mail_outbox").Set("status = ?", string(j.Status)).
		Set("recipient = ?", j.Recipient).Set("message_id = ?", j.MessageID).Set("last_error = ?", j.LastError).
		Set("to_address = ?", j.To).Set("finished_at = ?", at.UTC()).Set("claim = NULL").
		Set("team_id = COALESCE(team_id, ?)", nullable(j.TeamID)).
		Where("id = ? AND claim = ?", j.ID, claim).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: finish mail: %w", mapErr(err))
	}
	return mustAffect(res, "finish mail")
}

// RetryMail implements mail.Store.
func (db *DB) RetryMail(ctx context.Context, id, claim string, due time.Time, lastErr string) error {
	res, err := db.bun.NewUpdate().Table("mail_outbox").Set("due_at = ?", due.UTC()).Set("last_error = ?", lastErr).
		Set("claim = NULL").Where("id = ? AND claim = ?", id, claim).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: retry mail: %w", mapErr(err))
	}
	return mustAffect(res, "retry mail")
}

// ReleaseMail implements mail.Store.
func (db *DB) ReleaseMail(ctx context.Context, claim string, now time.Time) error {
	_, err := db.bun.NewUpdate().Table("mail_outbox").Set("due_at = ?", now.UTC()).Set("claim = NULL").
		Where("claim = ? AND status = 'sending'", claim).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: release mail: %w", mapErr(err))
	}
	return nil
}

// SweepMail implements mail.Store.
func (db *DB) SweepMail(ctx context.Context, before, now time.Time) error {
	for _, q := range []*bun.DeleteQuery{
		db.bun.NewDelete().Table("mail_outbox").Where("finished_at IS NOT NULL AND finished_at < ?", before.UTC()),
		db.bun.NewDelete().Table("dev_mailbox").Where("created_at < ?", before.UTC()),
		db.bun.NewDelete().Table("mail_tokens").Where("expires_at < ?", now.UTC()),
	} {
		if _, err := q.Exec(ctx); err != nil {
			return fmt.Errorf("store: sweep mail: %w", mapErr(err))
		}
	}
	return nil
}

type mailTokenRow struct {
	bun.BaseModel `bun:"table:mail_tokens"`

	Hash      []byte     `bun:"hash,pk"`
	Purpose   string     `bun:"purpose"`
	TeamID    *string    `bun:"team_id"`
	Mode      *string    `bun:"mode"`
	SubjectID string     `bun:"subject_id"`
	Email     string     `bun:"email"`
	OutboxID  *string    `bun:"outbox_id"`
	CreatedAt time.Time  `bun:"created_at"`
	ExpiresAt time.Time  `bun:"expires_at"`
	UsedAt    *time.Time `bun:"used_at"`
}

func (r mailTokenRow) token() mail.Token {
	return mail.Token{Purpose: mail.Purpose(r.Purpose), TeamID: deref(r.TeamID), Mode: scope.Mode(deref(r.Mode)),
		SubjectID: r.SubjectID, Email: r.Email, OutboxID: deref(r.OutboxID), CreatedAt: r.CreatedAt.UTC(),
		ExpiresAt: r.ExpiresAt.UTC(), UsedAt: utcPtr(r.UsedAt)}
}

// InsertMailToken implements mail.Store.
func (db *DB) InsertMailToken(ctx context.Context, t mail.Token, hash []byte) error {
	row := &mailTokenRow{Hash: hash, Purpose: string(t.Purpose), TeamID: nullable(t.TeamID), Mode: nullable(string(t.Mode)),
		SubjectID: t.SubjectID, Email: t.Email, OutboxID: nullable(t.OutboxID), CreatedAt: t.CreatedAt.UTC(),
		ExpiresAt: t.ExpiresAt.UTC()}
	if _, err := db.bun.NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("store: insert mail token: %w", mapErr(err))
	}
	return nil
}

// MailToken implements mail.Store (and the features that take tokens).
func (db *DB) MailToken(ctx context.Context, p mail.Purpose, hash []byte, now time.Time) (mail.Token, error) {
	var r mailTokenRow
	err := db.bun.NewSelect().Model(&r).
		Where("hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?", hash, string(p), now.UTC()).Scan(ctx)
	if err != nil {
		return mail.Token{}, fmt.Errorf("store: mail token: %w", mapErr(err))
	}
	return r.token(), nil
}

// useMailToken marks the token of hash used in tx, if it still works at
// now, and returns it; errs.ErrNotFound when it does not (used, expired,
// unknown): of two uses at once, one finds it.
func useMailToken(ctx context.Context, tx bun.IDB, p mail.Purpose, hash []byte, now time.Time) (mail.Token, error) {
	var rows []mailTokenRow
	err := tx.NewRaw(`UPDATE mail_tokens SET used_at = ? WHERE hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?
		RETURNING *`, now.UTC(), hash, string(p), now.UTC()).Scan(ctx, &rows)
	if err != nil && !noRows(err) {
		return mail.Token{}, mapErr(err)
	}
	if len(rows) == 0 {
		return mail.Token{}, fmt.Errorf("use mail token: %w", errs.ErrNotFound)
	}
	return rows[0].token(), nil
}

// spendMailTokens marks every other working token of purpose p for subject
// used: after a reset, the older reset links stop working.
func spendMailTokens(ctx context.Context, tx bun.IDB, p mail.Purpose, subject string, now time.Time) error {
	_, err := tx.NewUpdate().Table("mail_tokens").Set("used_at = ?", now.UTC()).
		Where("purpose = ? AND subject_id = ? AND used_at IS NULL", string(p), subject).Exec(ctx)
	return mapErr(err)
}

// MailTeam implements mail.Store.
func (db *DB) MailTeam(ctx context.Context, teamID string) (mail.Team, error) {
	var r struct {
		Name     string `bun:"name"`
		MailFrom string `bun:"mail_from"`
	}
	if err := db.bun.NewRaw("SELECT name, mail_from FROM teams WHERE id = ?", teamID).Scan(ctx, &r); err != nil {
		return mail.Team{}, fmt.Errorf("store: mail team: %w", mapErr(err))
	}
	var rows []struct {
		Mode             string `bun:"mode"`
		PasswordResetURL string `bun:"password_reset_url"`
		ChatURL          string `bun:"chat_url"`
		WidgetLocale     string `bun:"widget_locale"`
	}
	if err := db.bun.NewRaw("SELECT mode, password_reset_url, chat_url, widget_locale FROM team_settings WHERE team_id = ?",
		teamID).Scan(ctx, &rows); err != nil {
		return mail.Team{}, fmt.Errorf("store: mail team: %w", mapErr(err))
	}
	t := mail.Team{ID: teamID, Name: r.Name, From: r.MailFrom, Pages: map[scope.Mode]mail.Pages{}}
	for _, s := range rows {
		t.Pages[scope.Mode(s.Mode)] = mail.Pages{PasswordResetURL: s.PasswordResetURL, ChatURL: s.ChatURL, Locale: s.WidgetLocale}
	}
	return t, nil
}

type mailCustomerRow struct {
	ID             string     `bun:"id"`
	TeamID         string     `bun:"team_id"`
	Mode           string     `bun:"mode"`
	Email          *string    `bun:"email"`
	Name           string     `bun:"name"`
	EmailVerified  bool       `bun:"email_verified"`
	HasPassword    bool       `bun:"has_password"`
	Locale         *string    `bun:"locale"`
	UnsubscribedAt *time.Time `bun:"unsubscribed_at"`
}

func (r mailCustomerRow) customer() mail.Customer {
	return mail.Customer{ID: r.ID, Scope: scope.Scope{TeamID: r.TeamID, Mode: scope.Mode(r.Mode)}, Email: deref(r.Email),
		Name: r.Name, EmailVerified: r.EmailVerified, HasPassword: r.HasPassword, Locale: deref(r.Locale),
		Unsubscribed: r.UnsubscribedAt != nil}
}

const mailCustomerSQL = `SELECT c.id, c.team_id, c.mode, c.email, c.name, c.email_verified,
	(c.password_hash IS NOT NULL) AS has_password, m.locale, m.unsubscribed_at
	FROM customers c LEFT JOIN customer_mail m ON m.customer_id = c.id
	WHERE c.team_id = ? AND c.mode = ? AND `

// MailCustomer implements mail.Store.
func (db *DB) MailCustomer(ctx context.Context, sc scope.Scope, id string) (mail.Customer, error) {
	var r mailCustomerRow
	if err := db.bun.NewRaw(mailCustomerSQL+"c.id = ?", sc.TeamID, sc.Mode, id).Scan(ctx, &r); err != nil {
		return mail.Customer{}, fmt.Errorf("store: mail customer: %w", mapErr(err))
	}
	return r.customer(), nil
}

// MailAccountByEmail implements mail.Store.
func (db *DB) MailAccountByEmail(ctx context.Context, sc scope.Scope, email string) (mail.Customer, error) {
	var r mailCustomerRow
	err := db.bun.NewRaw(mailCustomerSQL+"c.email = ? AND c.password_hash IS NOT NULL", sc.TeamID, sc.Mode, email).Scan(ctx, &r)
	if err != nil {
		return mail.Customer{}, fmt.Errorf("store: mail account: %w", mapErr(err))
	}
	return r.customer(), nil
}

type mailAgentRow struct {
	ID             string `bun:"id"`
	TeamID         string `bun:"team_id"`
	Email          string `bun:"email"`
	Name           string `bun:"name"`
	NotifyNew      bool   `bun:"notify_new_conversations"`
	NotifyAssigned bool   `bun:"notify_assigned_replies"`
}

const mailAgentSQL = `SELECT id, team_id, email, name, notify_new_conversations, notify_assigned_replies FROM agents WHERE `

func (db *DB) mailAgent(ctx context.Context, where string, arg any) (mail.Agent, error) {
	var r mailAgentRow
	if err := db.bun.NewRaw(mailAgentSQL+where, arg).Scan(ctx, &r); err != nil {
		return mail.Agent{}, fmt.Errorf("store: mail agent: %w", mapErr(err))
	}
	return mail.Agent{ID: r.ID, TeamID: r.TeamID, Email: r.Email, Name: r.Name, NotifyNew: r.NotifyNew,
		NotifyAssigned: r.NotifyAssigned}, nil
}

// MailAgent implements mail.Store.
func (db *DB) MailAgent(ctx context.Context, id string) (mail.Agent, error) {
	return db.mailAgent(ctx, "id = ?", id)
}

// MailAgentByEmail implements mail.Store.
func (db *DB) MailAgentByEmail(ctx context.Context, email string) (mail.Agent, error) {
	return db.mailAgent(ctx, "email = ?", email)
}

// MailInvitation implements mail.Store.
func (db *DB) MailInvitation(ctx context.Context, id string) (mail.Invitation, error) {
	var r struct {
		ID         string     `bun:"id"`
		TeamID     string     `bun:"team_id"`
		Email      string     `bun:"email"`
		Role       string     `bun:"role"`
		ExpiresAt  time.Time  `bun:"expires_at"`
		AcceptedAt *time.Time `bun:"accepted_at"`
		InvitedBy  *string    `bun:"invited_by"`
	}
	err := db.bun.NewRaw(`SELECT i.id, i.team_id, i.email, i.role, i.expires_at, i.accepted_at, a.name AS invited_by
		FROM agent_invitations i LEFT JOIN agents a ON a.id = i.invited_by WHERE i.id = ?`, id).Scan(ctx, &r)
	if err != nil {
		return mail.Invitation{}, fmt.Errorf("store: mail invitation: %w", mapErr(err))
	}
	return mail.Invitation{ID: r.ID, TeamID: r.TeamID, Email: r.Email, Role: r.Role, InvitedBy: deref(r.InvitedBy),
		ExpiresAt: r.ExpiresAt.UTC(), Open: r.AcceptedAt == nil}, nil
}

// MailConversation implements mail.Store.
func (db *DB) MailConversation(ctx context.Context, sc scope.Scope, ticketID string) (mail.Conversation, error) {
	var r struct {
		ID                   string  `bun:"id"`
		Subject              string  `bun:"subject"`
		Status               string  `bun:"status"`
		CustomerID           *string `bun:"customer_id"`
		AssigneeID           *string `bun:"assignee_id"`
		LastSeq              int64   `bun:"last_seq"`
		CustomerReadSeq      int64   `bun:"customer_read_seq"`
		CustomerDeliveredSeq int64   `bun:"customer_delivered_seq"`
		CustomerMailedSeq    int64   `bun:"customer_mailed_seq"`
		AgentReadSeq         int64   `bun:"agent_read_seq"`
		AssigneeMailedSeq    int64   `bun:"assignee_mailed_seq"`
	}
	err := db.bun.NewRaw(`SELECT id, subject, status, customer_id, assignee_id, last_seq, customer_read_seq,
		customer_delivered_seq, customer_mailed_seq, agent_read_seq, assignee_mailed_seq
		FROM tickets WHERE `+inScope, ticketID, sc.TeamID, sc.Mode).Scan(ctx, &r)
	if err != nil {
		return mail.Conversation{}, fmt.Errorf("store: mail conversation: %w", mapErr(err))
	}
	cv := mail.Conversation{ID: r.ID, Scope: sc, Subject: r.Subject, Status: r.Status, AssigneeID: deref(r.AssigneeID),
		LastSeq: r.LastSeq, CustomerReadSeq: r.CustomerReadSeq, CustomerDeliveredSeq: r.CustomerDeliveredSeq,
		CustomerMailedSeq: r.CustomerMailedSeq, AgentReadSeq: r.AgentReadSeq, AssigneeMailedSeq: r.AssigneeMailedSeq}
	if r.CustomerID != nil {
		c, err := db.MailCustomer(ctx, sc, *r.CustomerID)
		switch {
		case err == nil:
			cv.Customer = &c
		case !errors.Is(err, errs.ErrNotFound):
			return mail.Conversation{}, err
		}
	}
	return cv, nil
}

// SetMailedSeq implements mail.Store.
func (db *DB) SetMailedSeq(ctx context.Context, sc scope.Scope, ticketID string, toCustomer bool, seq int64) error {
	col := "assignee_mailed_seq"
	if toCustomer {
		col = "customer_mailed_seq"
	}
	_, err := db.bun.NewUpdate().Table("tickets").Set(col+" = ?", seq).
		Where(inScope+" AND "+col+" < ?", ticketID, sc.TeamID, sc.Mode, seq).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: set mailed seq: %w", mapErr(err))
	}
	return nil
}

// SetDeliveredSeqs implements chat.Store: one transaction for a batch (on
// SQLite a commit per delivery held up every other write at 500 messages a
// second).
func (db *DB) SetDeliveredSeqs(ctx context.Context, ds []chat.Delivery) error {
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		for _, d := range ds {
			_, err := tx.NewUpdate().Table("tickets").Set("customer_delivered_seq = ?", d.Seq).
				Where(inScope+" AND customer_delivered_seq < ?", d.TicketID, d.Scope.TeamID, d.Scope.Mode, d.Seq).Exec(ctx)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: set delivered seq: %w", mapErr(err))
	}
	return nil
}

// upsertCustomerMail writes one column of a customer's mail settings.
func upsertCustomerMail(ctx context.Context, tx bun.IDB, sc scope.Scope, customerID, col string, v any) error {
	_, err := tx.NewRaw(`INSERT INTO customer_mail (customer_id, team_id, mode, `+col+`) VALUES (?, ?, ?, ?)
		ON CONFLICT (customer_id) DO UPDATE SET `+col+` = excluded.`+col, customerID, sc.TeamID, sc.Mode, v).Exec(ctx)
	return mapErr(err)
}

// SetUnsubscribed implements mail.Store.
func (db *DB) SetUnsubscribed(ctx context.Context, sc scope.Scope, customerID string, at time.Time) error {
	if _, err := db.MailCustomer(ctx, sc, customerID); err != nil {
		return err
	}
	if err := upsertCustomerMail(ctx, db.bun, sc, customerID, "unsubscribed_at", at.UTC()); err != nil {
		return fmt.Errorf("store: unsubscribe: %w", err)
	}
	return nil
}

// SetCustomerLocale records the language a customer's mail is written in.
func (db *DB) SetCustomerLocale(ctx context.Context, sc scope.Scope, customerID, locale string) error {
	if err := upsertCustomerMail(ctx, db.bun, sc, customerID, "locale", locale); err != nil {
		return fmt.Errorf("store: customer locale: %w", err)
	}
	return nil
}

// ScanMailEvents implements mail.Store.
func (db *DB) ScanMailEvents(ctx context.Context, limit int, f func([]mail.EventRef) []mail.Job) (int, error) {
	var todo []struct {
		TeamID string `bun:"team_id"`
		Mode   string `bun:"mode"`
	}
	err := db.bun.NewRaw(`SELECT c.team_id, c.mode FROM event_counters c
		LEFT JOIN mail_cursors m ON m.team_id = c.team_id AND m.mode = c.mode
		WHERE c.pos > COALESCE(m.pos, 0)`).Scan(ctx, &todo)
	if err != nil {
		return 0, fmt.Errorf("store: scan mail events: %w", mapErr(err))
	}
	total := 0
	for _, t := range todo {
		sc := scope.Scope{TeamID: t.TeamID, Mode: scope.Mode(t.Mode)}
		n, err := db.scanMailEvents(ctx, sc, limit, f)
		if err != nil {
			return total, fmt.Errorf("store: scan mail events: %w", err)
		}
		total += n
	}
	return total, nil
}

func (db *DB) scanMailEvents(ctx context.Context, sc scope.Scope, limit int, f func([]mail.EventRef) []mail.Job) (int, error) {
	n := 0
	err := db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		n = 0
		_, err := tx.NewRaw(`INSERT INTO mail_cursors (team_id, mode, pos) VALUES (?, ?, 0) ON CONFLICT DO NOTHING`,
			sc.TeamID, sc.Mode).Exec(ctx)
		if err != nil {
			return mapErr(err)
		}
		lock := ""
		if db.dialect == Postgres {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		var cursor []int64
		if err := tx.NewRaw(`SELECT pos FROM mail_cursors WHERE team_id = ? AND mode = ?`+lock, sc.TeamID, sc.Mode).
			Scan(ctx, &cursor); err != nil && !noRows(err) {
			return mapErr(err)
		}
		if len(cursor) == 0 {
			return nil // another process is reading them
		}
		var rows []struct {
			Pos           int64     `bun:"pos"`
			Type          string    `bun:"type"`
			TicketID      *string   `bun:"ticket_id"`
			CustomerID    *string   `bun:"customer_id"`
			CreatedAt     time.Time `bun:"created_at"`
			AuthorType    *string   `bun:"author_type"`
			Kind          *string   `bun:"kind"`
			Seq           *int64    `bun:"seq"`
			AssigneeID    *string   `bun:"assignee_id"`
			AssigneeWants *bool     `bun:"assignee_wants"`
		}
		err = tx.NewRaw(`SELECT e.pos, e.type, e.ticket_id, e.customer_id, e.created_at, m.author_type, m.kind, m.seq,
				t.assignee_id, a.notify_assigned_replies AS assignee_wants
			FROM events e
			LEFT JOIN messages m ON m.id = e.message_id
			LEFT JOIN tickets t ON t.id = e.ticket_id
			LEFT JOIN agents a ON a.id = t.assignee_id
			WHERE e.team_id = ? AND e.mode = ? AND e.pos > ? ORDER BY e.pos LIMIT ?`,
			sc.TeamID, sc.Mode, cursor[0], limit).Scan(ctx, &rows)
		if err != nil && !noRows(err) {
			return mapErr(err)
		}
		if len(rows) == 0 {
			return nil
		}
		var notify []string
		notifyRead := false
		refs := make([]mail.EventRef, len(rows))
		for i, r := range rows {
			refs[i] = mail.EventRef{Scope: sc, Pos: r.Pos, Type: r.Type, TicketID: deref(r.TicketID),
				CustomerID: deref(r.CustomerID), CreatedAt: r.CreatedAt.UTC(), AuthorType: deref(r.AuthorType),
				Note: deref(r.Kind) == kindNote, AssigneeID: deref(r.AssigneeID), AssigneeWants: r.AssigneeWants != nil && *r.AssigneeWants}
			if r.Seq != nil {
				refs[i].Seq = *r.Seq
			}
			if r.Type == chat.TicketCreated {
				if !notifyRead {
					notifyRead = true
					if err := tx.NewRaw(`SELECT id FROM agents WHERE team_id = ? AND notify_new_conversations ORDER BY id`,
						sc.TeamID).Scan(ctx, &notify); err != nil && !noRows(err) {
						return mapErr(err)
					}
				}
				refs[i].NotifyAgents = notify
			}
		}
		if err := enqueueMail(ctx, tx, f(refs)); err != nil {
			return err
		}
		n = len(rows)
		_, err = tx.NewUpdate().Table("mail_cursors").Set("pos = ?", rows[len(rows)-1].Pos).
			Where("team_id = ? AND mode = ?", sc.TeamID, sc.Mode).Exec(ctx)
		return mapErr(err)
	})
	return n, err
}

type devMailRow struct {
	bun.BaseModel `bun:"table:dev_mailbox"`

	ID        string    `bun:"id,pk"`
	TeamID    *string   `bun:"team_id"`
	Kind      string    `bun:"kind"`
	MailFrom  string    `bun:"mail_from"`
	MailTo    string    `bun:"mail_to"`
	Subject   string    `bun:"subject"`
	Headers   string    `bun:"headers"`
	TextBody  string    `bun:"text_body"`
	HTMLBody  string    `bun:"html_body"`
	CreatedAt time.Time `bun:"created_at"`
}

// InsertDevMail implements mail.DevStore. A message kept again (a retry
// after a lost record) replaces the first.
func (db *DB) InsertDevMail(ctx context.Context, m mail.DevMail) error {
	hdr, err := json.Marshal(m.Headers)
	if err != nil {
		return fmt.Errorf("store: dev mail: %w", err)
	}
	row := &devMailRow{ID: m.ID, TeamID: nullable(m.TeamID), Kind: string(m.Kind), MailFrom: m.From, MailTo: m.To,
		Subject: m.Subject, Headers: string(hdr), TextBody: m.Text, HTMLBody: m.HTML, CreatedAt: m.CreatedAt.UTC()}
	_, err = db.bun.NewInsert().Model(row).On("CONFLICT (id) DO UPDATE").
		Set("text_body = EXCLUDED.text_body, html_body = EXCLUDED.html_body, headers = EXCLUDED.headers").Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: dev mail: %w", mapErr(err))
	}
	return nil
}

// DevMails implements mail.Store.
func (db *DB) DevMails(ctx context.Context, teamID string, limit int) ([]mail.DevMail, error) {
	var rows []devMailRow
	if err := db.bun.NewSelect().Model(&rows).Where("team_id = ?", teamID).Order("created_at DESC", "id DESC").
		Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: dev mails: %w", mapErr(err))
	}
	out := make([]mail.DevMail, len(rows))
	for i, r := range rows {
		var hdr map[string]string
		json.Unmarshal([]byte(r.Headers), &hdr)
		out[i] = mail.DevMail{ID: r.ID, TeamID: deref(r.TeamID), Kind: mail.Kind(r.Kind), From: r.MailFrom, To: r.MailTo,
			Subject: r.Subject, Headers: hdr, Text: r.TextBody, HTML: r.HTMLBody, CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}

// RecentMail implements mail.Store.
func (db *DB) RecentMail(ctx context.Context, teamID string, limit int) ([]mail.Job, error) {
	var rows []outboxRow
	if err := db.bun.NewSelect().Model(&rows).Where("team_id = ?", teamID).Order("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("store: recent mail: %w", mapErr(err))
	}
	out := make([]mail.Job, len(rows))
	for i, r := range rows {
		out[i] = r.job()
	}
	return out, nil
}

// noRows reports whether a scan into a slice found nothing, which is no
// error there.
func noRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

var _ mail.Store = (*DB)(nil)
