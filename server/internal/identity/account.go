package identity

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
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/mail"
	"github.com/cstar-chat/cstar/server/internal/password"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/text"
)

// Limits of the account fields.
const (
	maxEmail         = 254
	maxName          = 200
	maxPasswordBytes = password.MaxBytes
)

// The messages a client sees; they are part of the wire contract.
const (
	MsgEmailTaken         = "An account with this email already exists"
	MsgInvalidCredentials = "Invalid email or password"
	MsgInvalidSession     = "Invalid session"
	MsgTooManyAttempts    = "Too many failed sign-in attempts, please retry later"
)

var (
	errCredentials = errs.New(errs.Unauthorized, MsgInvalidCredentials)
	errSession     = errs.New(errs.Unauthorized, MsgInvalidSession)
)

// Store is what identity needs from persistence. Every method acts inside
// one scope; rows of another team or mode are missing (errs.ErrNotFound).
type Store interface {
	// InsertAccount stores a new customer with a password hash, its email
	// as an unproven sign-in name and its name as unverified, and queues
	// mail (the verification) in the same transaction; an email that
	// another password account of the scope has wraps errs.ErrConflict.
	InsertAccount(ctx context.Context, c helpdesk.Customer, passwordHash string, jobs ...mail.Job) error
	// AccountByEmail returns the password account whose sign-in name is
	// email, and its password hash.
	AccountByEmail(ctx context.Context, sc scope.Scope, email string) (helpdesk.Customer, string, error)
	SetPasswordHash(ctx context.Context, sc scope.Scope, customerID, hash string) error
	// PasswordHashOf returns a customer's password hash ("" when none).
	PasswordHashOf(ctx context.Context, sc scope.Scope, customerID string) (string, error)
	CustomerByID(ctx context.Context, sc scope.Scope, id string) (helpdesk.Customer, error)

	InsertSession(ctx context.Context, s Session) error
	SessionByTokenHash(ctx context.Context, sc scope.Scope, hash []byte) (Session, error)
	// TouchSession moves a session's last use and idle expiry forward.
	TouchSession(ctx context.Context, sc scope.Scope, id string, lastUsed, expires time.Time) error
	DeleteSession(ctx context.Context, sc scope.Scope, id string) error
	// ListSessions returns the customer's sessions still valid at now,
	// newest first.
	ListSessions(ctx context.Context, sc scope.Scope, customerID string, now time.Time) ([]Session, error)
	// DeleteSessions removes all of a customer's sessions and says how many.
	DeleteSessions(ctx context.Context, sc scope.Scope, customerID string) (int, error)
	// MergeVisitor moves every ticket of the visitor visitorID to customer
	// intoID in one transaction (closing intoID's open chat ticket when
	// both have one), ends the visitor's sessions, marks it merged into
	// intoID and records each move in the events log; it returns how many
	// tickets moved, or wraps errs.ErrNotFound when visitorID is no longer
	// an unmerged visitor of sc.
	MergeVisitor(ctx context.Context, sc scope.Scope, visitorID, intoID string, at time.Time) (int, error)

	SecretStore
	MailStore
}

// Hasher hashes and checks passwords (password.Hasher).
type Hasher interface {
	Hash(ctx context.Context, pw string) (string, error)
	Verify(ctx context.Context, pw, encoded string) (match, rehash bool, err error)
	VerifyUnknown(ctx context.Context, pw string) error
}

// Service manages customer accounts and sessions.
type Service struct {
	store  Store
	hasher Hasher
	now    func() time.Time
	log    *slog.Logger
	// throttle counts failed sign-ins (see Login) and reset requests.
	throttle Counter
	// mailer queues mail; nil sends none.
	mailer Mailer
}

// Option changes a Service at construction.
type Option func(*Service)

// WithCounter keeps the sign-in throttles' counts in c instead of this
// process's memory: with several processes, c must be shared (the store).
func WithCounter(c Counter) Option { return func(s *Service) { s.throttle = c } }

// WithLogger logs why identify calls are refused, at debug level.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// NewService returns an identity service; without options its sign-in
// throttles count in memory and nothing is logged.
func NewService(st Store, h Hasher, now func() time.Time, opts ...Option) *Service {
	s := &Service{store: st, hasher: h, now: now, log: slog.New(slog.DiscardHandler), throttle: NewMemoryCounter()}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Sweep drops stale throttle counts and expired token ids; call it now and
// then.
func (s *Service) Sweep(ctx context.Context) error {
	now := s.now()
	return errors.Join(s.throttle.Sweep(ctx, now), s.store.SweepTokenIDs(ctx, now))
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Issued is a new session with its token, which is shown once.
type Issued struct {
	Token   string
	Session Session
}

// SignupInput is a new account. TeamName is context for the password
// policy: a password made of it is refused.
type SignupInput struct {
	Email, Name, Password string
	TeamName              string
	// Locale is the language of the verification mail ("" for the
	// widget's).
	Locale string
}

// Signup creates a customer with a password in sc and signs them in. The
// email is the account's sign-in name, unique among password accounts; it is
// not proven (nothing is mailed), so it is stored as unverified and neither
// blocks nor joins a customer whose email was proven.
func (s *Service) Signup(ctx context.Context, sc scope.Scope, in SignupInput) (helpdesk.Customer, Issued, error) {
	email, err := text.Email("email", in.Email)
	if err != nil {
		return helpdesk.Customer{}, Issued{}, err
	}
	if !helpdesk.ValidEmail(email) {
		return helpdesk.Customer{}, Issued{}, errs.Invalidf("email", "email must be a valid email address of at most %d characters", maxEmail)
	}
	name := strings.TrimSpace(in.Name)
	if err := text.Line("name", name); err != nil {
		return helpdesk.Customer{}, Issued{}, err
	}
	if name == "" || utf8.RuneCountInString(name) > maxName {
		return helpdesk.Customer{}, Issued{}, errs.Invalidf("name", "name is required and must be at most %d characters", maxName)
	}
	if err := password.Check(in.Password, password.Context{Email: email, Name: name, Team: in.TeamName}); err != nil {
		return helpdesk.Customer{}, Issued{}, err
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return helpdesk.Customer{}, Issued{}, err
	}
	id, err := ids.New()
	if err != nil {
		return helpdesk.Customer{}, Issued{}, err
	}
	now := s.clock()
	c := helpdesk.Customer{ID: id, TeamID: sc.TeamID, Mode: sc.Mode, Email: email, Name: name,
		Metadata: map[string]any{}, CreatedAt: now, UpdatedAt: now, Kind: helpdesk.KindAccount}
	var verify []mail.Job
	if s.mailer != nil {
		if verify, err = verificationJob(c, in.Locale, now); err != nil {
			return helpdesk.Customer{}, Issued{}, err
		}
	}
	if err := s.store.InsertAccount(ctx, c, hash, verify...); err != nil {
		if errors.Is(err, errs.ErrConflict) {
			return helpdesk.Customer{}, Issued{}, errs.Conflictf(MsgEmailTaken)
		}
		return helpdesk.Customer{}, Issued{}, fmt.Errorf("identity: signup: %w", err)
	}
	if s.mailer != nil {
		s.mailer.Wake()
	}
	iss, err := s.issue(ctx, c)
	if err != nil {
		return helpdesk.Customer{}, Issued{}, err
	}
	return c, iss, nil
}

func rateLimited(d time.Duration) error {
	return &errs.Error{Code: errs.RateLimited, Message: MsgTooManyAttempts, RetryAfter: d}
}

// Login checks a customer's password and issues a new session. Unknown
// emails, wrong passwords and accounts without a password fail alike, in
// about the same time. Failures are throttled per account and client, and
// per client (ip names the client: an address, or any stable string); see
// the policies in throttle.go. No block falls on an account as a whole.
func (s *Service) Login(ctx context.Context, sc scope.Scope, email, pw, ip string) (helpdesk.Customer, Issued, error) {
	email = helpdesk.NormalizeEmail(email)
	thr, acct := NewSignInThrottle(s.throttle, ""), customerAccount(sc, email)
	d, err := thr.Blocked(ctx, s.now(), acct, ip)
	if err != nil {
		return helpdesk.Customer{}, Issued{}, fmt.Errorf("identity: login throttle: %w", err)
	}
	if d > 0 {
		return helpdesk.Customer{}, Issued{}, rateLimited(d)
	}
	fail := func() error {
		d, err := thr.Fail(ctx, s.now(), acct, ip)
		if err != nil {
			return fmt.Errorf("identity: login throttle: %w", err)
		}
		if d > 0 {
			return rateLimited(d)
		}
		return errCredentials
	}
	if len(pw) > maxPasswordBytes {
		// Never hash unbounded input; this is as wrong as a wrong password.
		return helpdesk.Customer{}, Issued{}, fail()
	}
	c, hash, err := s.store.AccountByEmail(ctx, sc, email)
	if err != nil && !errors.Is(err, errs.ErrNotFound) {
		return helpdesk.Customer{}, Issued{}, fmt.Errorf("identity: login: %w", err)
	}
	if err != nil || hash == "" {
		if err := s.hasher.VerifyUnknown(ctx, pw); err != nil {
			return helpdesk.Customer{}, Issued{}, err
		}
		return helpdesk.Customer{}, Issued{}, fail()
	}
	match, rehash, err := s.hasher.Verify(ctx, pw, hash)
	if err != nil {
		return helpdesk.Customer{}, Issued{}, err
	}
	if !match {
		return helpdesk.Customer{}, Issued{}, fail()
	}
	if err := thr.Succeeded(ctx, acct, ip); err != nil {
		return helpdesk.Customer{}, Issued{}, fmt.Errorf("identity: login throttle: %w", err)
	}
	if rehash {
		// A failed upgrade is retried at the next sign-in; it must not
		// refuse this one.
		if h, err := s.hasher.Hash(ctx, pw); err == nil {
			if err := s.store.SetPasswordHash(ctx, sc, c.ID, h); err != nil && !errors.Is(err, errs.ErrNotFound) {
				return helpdesk.Customer{}, Issued{}, fmt.Errorf("identity: rehash: %w", err)
			}
		}
	}
	iss, err := s.issue(ctx, c)
	if err != nil {
		return helpdesk.Customer{}, Issued{}, err
	}
	return c, iss, nil
}

func (s *Service) issue(ctx context.Context, c helpdesk.Customer) (Issued, error) {
	tok, err := newToken()
	if err != nil {
		return Issued{}, fmt.Errorf("identity: token: %w", err)
	}
	id, err := ids.New()
	if err != nil {
		return Issued{}, err
	}
	now := s.clock()
	ses := Session{ID: id, TeamID: c.TeamID, Mode: c.Mode, CustomerID: c.ID, TokenHash: HashToken(tok),
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(IdleTTL), AbsoluteExpiresAt: now.Add(AbsoluteTTL)}
	if err := s.store.InsertSession(ctx, ses); err != nil {
		return Issued{}, fmt.Errorf("identity: insert session: %w", err)
	}
	return Issued{Token: tok, Session: ses}, nil
}

// Authenticate returns the live session of token in sc and its customer,
// sliding the idle expiry (at most one write a minute).
func (s *Service) Authenticate(ctx context.Context, sc scope.Scope, token string) (Session, helpdesk.Customer, error) {
	if !wellFormed(token) {
		return Session{}, helpdesk.Customer{}, errSession
	}
	ses, err := s.store.SessionByTokenHash(ctx, sc, HashToken(token))
	if errors.Is(err, errs.ErrNotFound) {
		return Session{}, helpdesk.Customer{}, errSession
	}
	if err != nil {
		return Session{}, helpdesk.Customer{}, fmt.Errorf("identity: session: %w", err)
	}
	now := s.clock()
	if !ses.live(now) {
		return Session{}, helpdesk.Customer{}, errSession
	}
	c, err := s.store.CustomerByID(ctx, sc, ses.CustomerID)
	if errors.Is(err, errs.ErrNotFound) {
		return Session{}, helpdesk.Customer{}, errSession
	}
	if err != nil {
		return Session{}, helpdesk.Customer{}, fmt.Errorf("identity: session customer: %w", err)
	}
	if now.Sub(ses.LastUsedAt) >= touchEvery {
		exp := now.Add(IdleTTL)
		if exp.After(ses.AbsoluteExpiresAt) {
			exp = ses.AbsoluteExpiresAt
		}
		err := s.store.TouchSession(ctx, sc, ses.ID, now, exp)
		if err != nil && !errors.Is(err, errs.ErrNotFound) {
			return Session{}, helpdesk.Customer{}, fmt.Errorf("identity: touch session: %w", err)
		}
		ses.LastUsedAt, ses.ExpiresAt = now, exp
	}
	return ses, c, nil
}

// Logout revokes the session of token and returns it.
func (s *Service) Logout(ctx context.Context, sc scope.Scope, token string) (Session, error) {
	ses, _, err := s.Authenticate(ctx, sc, token)
	if err != nil {
		return Session{}, err
	}
	if err := s.store.DeleteSession(ctx, sc, ses.ID); err != nil && !errors.Is(err, errs.ErrNotFound) {
		return Session{}, fmt.Errorf("identity: logout: %w", err)
	}
	return ses, nil
}

// Sessions lists the live sessions of a customer of sc.
func (s *Service) Sessions(ctx context.Context, sc scope.Scope, customerID string) ([]Session, error) {
	c, err := s.customer(ctx, sc, customerID)
	if err != nil {
		return nil, err
	}
	out, err := s.store.ListSessions(ctx, sc, c.ID, s.clock())
	if err != nil {
		return nil, fmt.Errorf("identity: list sessions: %w", err)
	}
	return out, nil
}

// PasswordScheme says which scheme a customer's password is hashed with
// (password.SchemeArgon2id or SchemeBcrypt), "" when they have none.
func (s *Service) PasswordScheme(ctx context.Context, sc scope.Scope, customerID string) (string, error) {
	c, err := s.customer(ctx, sc, customerID)
	if err != nil {
		return "", err
	}
	h, err := s.store.PasswordHashOf(ctx, sc, c.ID)
	if err != nil {
		return "", fmt.Errorf("identity: password scheme: %w", err)
	}
	return password.Scheme(h), nil
}

// RevokeSessions ends every session of a customer of sc and says how many.
func (s *Service) RevokeSessions(ctx context.Context, sc scope.Scope, customerID string) (int, error) {
	c, err := s.customer(ctx, sc, customerID)
	if err != nil {
		return 0, err
	}
	n, err := s.store.DeleteSessions(ctx, sc, c.ID)
	if err != nil {
		return 0, fmt.Errorf("identity: revoke sessions: %w", err)
	}
	return n, nil
}

func (s *Service) customer(ctx context.Context, sc scope.Scope, id string) (helpdesk.Customer, error) {
	id, ok := ids.Canonical(id)
	if !ok {
		return helpdesk.Customer{}, errs.NotFoundf("Customer not found")
	}
	c, err := s.store.CustomerByID(ctx, sc, id)
	if errors.Is(err, errs.ErrNotFound) {
		return helpdesk.Customer{}, errs.NotFoundf("Customer not found")
	}
	if err != nil {
		return helpdesk.Customer{}, fmt.Errorf("identity: customer: %w", err)
	}
	return c, nil
}
