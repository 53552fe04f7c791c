package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cstar-chat/cstar/server/internal/byoauth"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/password"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// Limits of the account fields.
const (
	maxEmail         = 254
	maxName          = 200
	minPasswordChars = 10
	maxPasswordBytes = 1024
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
	// InsertAccount stores a new customer with a password hash; a taken
	// email wraps errs.ErrConflict.
	InsertAccount(ctx context.Context, c helpdesk.Customer, passwordHash string) error
	// AccountByEmail returns the customer and its password hash ("" when
	// the customer has no password).
	AccountByEmail(ctx context.Context, sc scope.Scope, email string) (helpdesk.Customer, string, error)
	SetPasswordHash(ctx context.Context, sc scope.Scope, customerID, hash string) error
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

	SecretStore
}

// Hasher hashes and checks passwords (password.Hasher).
type Hasher interface {
	Hash(ctx context.Context, pw string) (string, error)
	Verify(ctx context.Context, pw, encoded string) (match, rehash bool, err error)
	VerifyUnknown(ctx context.Context, pw string) error
}

// Service manages customer accounts and sessions.
type Service struct {
	store    Store
	hasher   Hasher
	now      func() time.Time
	accounts *Throttle
	ips      *Throttle
	// replay remembers the jti of accepted identity tokens (per process;
	// see byoauth.ReplayGuard).
	replay *byoauth.MemoryReplayGuard
}

// NewService returns an identity service with the default throttles.
func NewService(st Store, h Hasher, now func() time.Time) *Service {
	return &Service{store: st, hasher: h, now: now,
		accounts: NewThrottle(AccountPolicy, now), ips: NewThrottle(IPPolicy, now),
		replay: byoauth.NewMemoryReplayGuard()}
}

// Sweep drops stale throttle entries; call it now and then.
func (s *Service) Sweep() {
	s.accounts.Sweep()
	s.ips.Sweep()
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Issued is a new session with its token, which is shown once.
type Issued struct {
	Token   string
	Session Session
}

// Signup creates a customer with a password in sc and signs them in.
func (s *Service) Signup(ctx context.Context, sc scope.Scope, email, name, pw string) (helpdesk.Customer, Issued, error) {
	email = helpdesk.NormalizeEmail(email)
	if !helpdesk.ValidEmail(email) {
		return helpdesk.Customer{}, Issued{}, errs.Invalidf("email", "email must be a valid email address of at most %d characters", maxEmail)
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > maxName {
		return helpdesk.Customer{}, Issued{}, errs.Invalidf("name", "name is required and must be at most %d characters", maxName)
	}
	if utf8.RuneCountInString(pw) < minPasswordChars || len(pw) > maxPasswordBytes {
		return helpdesk.Customer{}, Issued{}, errs.Invalidf("password",
			"password must be at least %d characters and at most %d bytes", minPasswordChars, maxPasswordBytes)
	}
	if password.Common(pw) {
		return helpdesk.Customer{}, Issued{}, errs.Invalidf("password", "password is too common: choose one that is harder to guess")
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return helpdesk.Customer{}, Issued{}, err
	}
	id, err := ids.New()
	if err != nil {
		return helpdesk.Customer{}, Issued{}, err
	}
	now := s.clock()
	c := helpdesk.Customer{ID: id, TeamID: sc.TeamID, Mode: sc.Mode, Email: email, Name: name,
		Metadata: map[string]any{}, CreatedAt: now, UpdatedAt: now}
	if err := s.store.InsertAccount(ctx, c, hash); err != nil {
		if errors.Is(err, errs.ErrConflict) {
			return helpdesk.Customer{}, Issued{}, errs.Conflictf(MsgEmailTaken)
		}
		return helpdesk.Customer{}, Issued{}, fmt.Errorf("identity: signup: %w", err)
	}
	iss, err := s.issue(ctx, c)
	if err != nil {
		return helpdesk.Customer{}, Issued{}, err
	}
	return c, iss, nil
}

// Login checks a customer's password and issues a new session. Unknown
// emails, wrong passwords and accounts without a password fail alike, in
// about the same time. Failures are throttled per account and per client
// (ip is any stable string naming the client).
func (s *Service) Login(ctx context.Context, sc scope.Scope, email, password, ip string) (helpdesk.Customer, Issued, error) {
	email = helpdesk.NormalizeEmail(email)
	acctKey := sc.TeamID + "/" + string(sc.Mode) + "/" + email
	if d := max(s.accounts.Blocked(acctKey), s.ips.Blocked(ip)); d > 0 {
		return helpdesk.Customer{}, Issued{}, &errs.Error{Code: errs.RateLimited, Message: MsgTooManyAttempts, RetryAfter: d}
	}
	fail := func() error {
		d := max(s.accounts.Fail(acctKey), s.ips.Fail(ip))
		if d > 0 {
			return &errs.Error{Code: errs.RateLimited, Message: MsgTooManyAttempts, RetryAfter: d}
		}
		return errCredentials
	}
	if len(password) > maxPasswordBytes {
		// Never hash unbounded input; this is as wrong as a wrong password.
		return helpdesk.Customer{}, Issued{}, fail()
	}
	c, hash, err := s.store.AccountByEmail(ctx, sc, email)
	if err != nil && !errors.Is(err, errs.ErrNotFound) {
		return helpdesk.Customer{}, Issued{}, fmt.Errorf("identity: login: %w", err)
	}
	if err != nil || hash == "" {
		if err := s.hasher.VerifyUnknown(ctx, password); err != nil {
			return helpdesk.Customer{}, Issued{}, err
		}
		return helpdesk.Customer{}, Issued{}, fail()
	}
	match, rehash, err := s.hasher.Verify(ctx, password, hash)
	if err != nil {
		return helpdesk.Customer{}, Issued{}, err
	}
	if !match {
		return helpdesk.Customer{}, Issued{}, fail()
	}
	s.accounts.Reset(acctKey)
	if rehash {
		// A failed upgrade is retried at the next sign-in; it must not
		// refuse this one.
		if h, err := s.hasher.Hash(ctx, password); err == nil {
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
