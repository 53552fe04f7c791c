package audit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/page"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// Actions, as they are stored and shown.
const (
	KeyCreated           = "api_key.created"
	KeyRolled            = "api_key.rolled"
	KeyRevoked           = "api_key.revoked"
	OriginsChanged       = "allowed_origins.changed"
	IdentitySecretRolled = "identity_secret.rolled"
	UserHashChanged      = "user_hash.changed"
	WidgetChanged        = "widget.changed"
	TeamRenamed          = "team.renamed"
	TOTPRuleChanged      = "team.two_factor_changed"
	AgentCreated         = "agent.created"
	AgentInvited         = "agent.invited"
	InvitationWithdrawn  = "invitation.withdrawn"
	InvitationAccepted   = "invitation.accepted"
	AgentRemoved         = "agent.removed"
	AgentRoleChanged     = "agent.role_changed"
	MailChanged          = "mail.changed"
	WebhookCreated       = "webhook.created"
	WebhookUpdated       = "webhook.updated"
	WebhookDeleted       = "webhook.deleted"
	WebhookSecretRolled  = "webhook.secret_rolled"
	// WebhookDisabled is the dispatcher's, for an endpoint failing for
	// three days.
	WebhookDisabled = "webhook.disabled"
)

// Actor types.
const (
	ActorAgent  = "agent"
	ActorKey    = "api_key"
	ActorSystem = "system"
)

// Entry is one thing done to a team. Mode is the mode it concerns, or ""
// for the team as a whole (its name, its agents), which both modes show.
type Entry struct {
	ID        string
	TeamID    string
	Mode      scope.Mode
	ActorType string
	ActorID   string
	// ActorName is who it was as they were then (an agent's name and email,
	// a key's redacted form), since the actor may be gone later.
	ActorName string
	Action    string
	// Target names what was acted on (a key's redacted form, an email).
	Target string
	// Detail says more in a few words (a new role, the origins).
	Detail    string
	IP        string
	CreatedAt time.Time
}

// Store keeps the log.
type Store interface {
	InsertAudit(ctx context.Context, e Entry) error
	// ListAudit returns up to limit entries of a team in mode m and of the
	// team as a whole, newest first, older than the id after when it is
	// set.
	ListAudit(ctx context.Context, sc scope.Scope, after string, limit int) ([]Entry, error)
}

// Service records and reads the log.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns the audit log's service.
func NewService(st Store, now func() time.Time) *Service { return &Service{store: st, now: now} }

// maxField bounds what one entry keeps of a text.
const maxField = 500

func clip(s string) string {
	s = strings.ToValidUTF8(s, "")
	if r := []rune(s); len(r) > maxField {
		return string(r[:maxField-1]) + "…"
	}
	return s
}

// Record adds e, stamping its id and time.
func (s *Service) Record(ctx context.Context, e Entry) error {
	id, err := ids.New()
	if err != nil {
		return err
	}
	e.ID, e.CreatedAt = id, s.now().UTC().Truncate(time.Microsecond)
	e.ActorName, e.Target, e.Detail = clip(e.ActorName), clip(e.Target), clip(e.Detail)
	if err := s.store.InsertAudit(ctx, e); err != nil {
		return fmt.Errorf("audit: record: %w", err)
	}
	return nil
}

// List returns one page of the log of sc's mode and of the team as a whole,
// newest first.
func (s *Service) List(ctx context.Context, sc scope.Scope, p page.Params) (page.Page[Entry], error) {
	p, err := page.Normalize(p)
	if err != nil {
		return page.Page[Entry]{}, err
	}
	items, err := s.store.ListAudit(ctx, sc, p.After, p.Limit+1)
	if err != nil {
		return page.Page[Entry]{}, fmt.Errorf("audit: list: %w", err)
	}
	return page.Build(p, items, func(e Entry) string { return e.ID }), nil
}
