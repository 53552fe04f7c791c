package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/identity"
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/password"
	"github.com/cstar-chat/cstar/server/internal/text"
)

// Role is what an agent may do. Owners and admins manage the team (keys,
// settings, agents); agents answer chats.
type Role string

// The roles.
const (
	Owner  Role = "owner"
	Admin  Role = "admin"
	Member Role = "agent"
)

// Valid reports whether r is a role.
func (r Role) Valid() bool { return r == Owner || r == Admin || r == Member }

// Manages reports whether the role may manage the team: its keys, settings
// and agents.
func (r Role) Manages() bool { return r == Owner || r == Admin }

// Agent is a person of a team who signs in to the dashboard.
type Agent struct {
	ID     string
	TeamID string
	// Email signs in; it is unique on the server, so that the sign-in form
	// needs no team.
	Email string
	Name  string
	Role  Role
	// TOTP is whether the agent signs in with a second factor.
	TOTP bool
	// Notify is what the agent wants to hear of by email.
	Notify    Notifications
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Limits of an agent's fields, in characters.
const (
	maxName  = 100
	maxEmail = 254
)

// Messages a person sees.
const (
	MsgInvalidCredentials = "Invalid email or password"
	MsgEmailTaken         = "An agent with this email already exists"
)

var (
	errCredentials = errs.New(errs.Unauthorized, MsgInvalidCredentials)
	errNotFound    = errs.NotFoundf("Agent not found")
	errForbidden   = errs.New(errs.Forbidden, "Only owners and admins manage the team")
	errOwnersOnly  = errs.New(errs.Forbidden, "Only an owner may make or change an owner")
	// ErrLastOwner refuses to remove or demote a team's last owner: nobody
	// could manage the team afterwards.
	ErrLastOwner = errs.Conflictf("This is the team's last owner: make another agent an owner first")
)

// Store is what agents need from persistence. Rows of another team are
// missing (errs.ErrNotFound).
type Store interface {
	// InsertAgent stores a new agent; an email already taken wraps
	// errs.ErrConflict.
	InsertAgent(ctx context.Context, a Agent, passwordHash string) error
	AgentByID(ctx context.Context, teamID, id string) (Agent, error)
	// AgentByEmail returns the agent with email, of any team, and its
	// password hash.
	AgentByEmail(ctx context.Context, email string) (Agent, string, error)
	ListAgents(ctx context.Context, teamID string) ([]Agent, error)
	// SetAgentRole and DeleteAgent return ErrLastOwner when the team would
	// have no owner left; the team's owners are locked first, so two changes
	// at once cannot both pass. Deleting an agent deletes its sessions.
	SetAgentRole(ctx context.Context, teamID, id string, role Role, at time.Time) error
	DeleteAgent(ctx context.Context, teamID, id string) error
	SetAgentPasswordHash(ctx context.Context, id, hash string) error
	// TeamSignIn returns what sign-in needs of the team: its name (for the
	// password policy) and whether it requires a second factor.
	TeamSignIn(ctx context.Context, teamID string) (name string, requireTOTP bool, err error)

	TOTPStore
	SessionStore
	InvitationStore
	ReplyStore
	MailStore
}

// Hasher hashes and checks passwords (password.Hasher), shared with the
// customers' sign-in so that one bound holds the memory of every hash.
type Hasher interface {
	Hash(ctx context.Context, pw string) (string, error)
	Verify(ctx context.Context, pw, encoded string) (match, rehash bool, err error)
	VerifyUnknown(ctx context.Context, pw string) error
}

// Ender is told when an agent's sessions end (sign-out, removal), so that
// their open dashboards close on every process.
type Ender interface {
	// AgentEnded closes the dashboards of session sessionID, or of every
	// session of the agent when sessionID is empty.
	AgentEnded(ctx context.Context, teamID, agentID, sessionID string)
}

// Service manages agents.
type Service struct {
	store    Store
	hasher   Hasher
	now      func() time.Time
	log      *slog.Logger
	throttle identity.SignInThrottle
	// codes throttles second-factor codes per agent and client: a right
	// password must not buy a fresh set of guesses (it resets throttle's
	// count, never this one's).
	codes   identity.SignInThrottle
	counter identity.Counter
	ends    Ender
	// mailer emails invitations and resets; nil sends none.
	mailer Mailer
}

// Option changes a Service at construction.
type Option func(*Service)

// WithCounter counts failed sign-ins in c (shared by every process on
// PostgreSQL) instead of this process's memory.
func WithCounter(c identity.Counter) Option { return func(s *Service) { s.counter = c } }

// WithEnder tells e of ended sessions.
func WithEnder(e Ender) Option { return func(s *Service) { s.ends = e } }

// WithLogger logs what is worth knowing (refused codes, at debug level).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// NewService returns the agents' service. Its sign-in throttles are the
// customers' policies (identity's), counted apart from theirs.
func NewService(st Store, h Hasher, now func() time.Time, opts ...Option) *Service {
	s := &Service{store: st, hasher: h, now: now, log: slog.New(slog.DiscardHandler), counter: identity.NewMemoryCounter()}
	for _, o := range opts {
		o(s)
	}
	s.throttle = identity.NewSignInThrottle(s.counter, "agent\x00")
	s.codes = identity.NewSignInThrottle(s.counter, "agent-code\x00")
	return s
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func (s *Service) ended(ctx context.Context, teamID, agentID, sessionID string) {
	if s.ends != nil {
		s.ends.AgentEnded(ctx, teamID, agentID, sessionID)
	}
}

// NewAgent is an agent to create.
type NewAgent struct {
	Email, Name, Password string
	Role                  Role
}

func cleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if err := text.Line("name", name); err != nil {
		return "", err
	}
	if name == "" || utf8.RuneCountInString(name) > maxName {
		return "", errs.Invalidf("name", "name is required (at most %d characters)", maxName)
	}
	return name, nil
}

func cleanEmail(email string) (string, error) {
	email, err := text.Email("email", email)
	if err != nil {
		return "", err
	}
	if !helpdesk.ValidEmail(email) {
		return "", errs.Invalidf("email", "email must be a valid email address of at most %d characters", maxEmail)
	}
	return email, nil
}

// Create adds an agent to team teamID (teamName is context for the password
// policy: a password made of it is refused). The first owner of a team is
// made this way, from the command line; later ones are invited.
func (s *Service) Create(ctx context.Context, teamID, teamName string, in NewAgent) (Agent, error) {
	email, err := cleanEmail(in.Email)
	if err != nil {
		return Agent{}, err
	}
	name, err := cleanName(in.Name)
	if err != nil {
		return Agent{}, err
	}
	if !in.Role.Valid() {
		return Agent{}, errs.Invalidf("role", "role must be owner, admin or agent")
	}
	if err := password.Check(in.Password, password.Context{Email: email, Name: name, Team: teamName}); err != nil {
		return Agent{}, err
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return Agent{}, err
	}
	id, err := ids.New()
	if err != nil {
		return Agent{}, err
	}
	now := s.clock()
	a := Agent{ID: id, TeamID: teamID, Email: email, Name: name, Role: in.Role, CreatedAt: now, UpdatedAt: now}
	if err := s.store.InsertAgent(ctx, a, hash); err != nil {
		if errors.Is(err, errs.ErrConflict) {
			return Agent{}, errs.Conflictf(MsgEmailTaken)
		}
		return Agent{}, fmt.Errorf("agent: create: %w", err)
	}
	return a, nil
}

// Get returns an agent of team teamID.
func (s *Service) Get(ctx context.Context, teamID, id string) (Agent, error) {
	id, ok := ids.Canonical(id)
	if !ok {
		return Agent{}, errNotFound
	}
	a, err := s.store.AgentByID(ctx, teamID, id)
	if errors.Is(err, errs.ErrNotFound) {
		return Agent{}, errNotFound
	}
	if err != nil {
		return Agent{}, fmt.Errorf("agent: get: %w", err)
	}
	return a, nil
}

// List returns the agents of a team, by name.
func (s *Service) List(ctx context.Context, teamID string) ([]Agent, error) {
	out, err := s.store.ListAgents(ctx, teamID)
	if err != nil {
		return nil, fmt.Errorf("agent: list: %w", err)
	}
	return out, nil
}

// mayChange says whether actor may change (remove, or give another role to)
// agent target: owners and admins manage; only owners touch owners.
func mayChange(actor, target Agent, role Role) error {
	if !actor.Role.Manages() {
		return errForbidden
	}
	if (target.Role == Owner || role == Owner) && actor.Role != Owner {
		return errOwnersOnly
	}
	return nil
}

// Remove takes agent id off actor's team. Its sessions end at once, and its
// open dashboards close on every process. Nobody removes themselves (a team
// must not lose its manager by a slip), nor the last owner.
func (s *Service) Remove(ctx context.Context, actor Agent, id string) (Agent, error) {
	target, err := s.Get(ctx, actor.TeamID, id)
	if err != nil {
		return Agent{}, err
	}
	if err := mayChange(actor, target, target.Role); err != nil {
		return Agent{}, err
	}
	if target.ID == actor.ID {
		return Agent{}, errs.New(errs.Forbidden, "You cannot remove yourself: ask another owner or admin")
	}
	if err := s.store.DeleteAgent(ctx, actor.TeamID, target.ID); err != nil {
		if errors.Is(err, ErrLastOwner) {
			return Agent{}, ErrLastOwner
		}
		if errors.Is(err, errs.ErrNotFound) {
			return Agent{}, errNotFound
		}
		return Agent{}, fmt.Errorf("agent: remove: %w", err)
	}
	s.ended(ctx, target.TeamID, target.ID, "")
	return target, nil
}

// SetRole gives agent id another role.
func (s *Service) SetRole(ctx context.Context, actor Agent, id string, role Role) (Agent, error) {
	if !role.Valid() {
		return Agent{}, errs.Invalidf("role", "role must be owner, admin or agent")
	}
	target, err := s.Get(ctx, actor.TeamID, id)
	if err != nil {
		return Agent{}, err
	}
	if err := mayChange(actor, target, role); err != nil {
		return Agent{}, err
	}
	if err := s.store.SetAgentRole(ctx, actor.TeamID, target.ID, role, s.clock()); err != nil {
		if errors.Is(err, ErrLastOwner) {
			return Agent{}, ErrLastOwner
		}
		return Agent{}, fmt.Errorf("agent: set role: %w", err)
	}
	target.Role = role
	return target, nil
}

// Sweep forgets stale throttle counts and expired sessions and invitations;
// call it now and then.
func (s *Service) Sweep(ctx context.Context) error {
	now := s.now()
	return errors.Join(s.counter.Sweep(ctx, now), s.store.SweepAgentSessions(ctx, now))
}
