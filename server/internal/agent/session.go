package agent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/identity"
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/password"
	"github.com/cstar-chat/cstar/server/internal/text"
)

// Session lifetimes. The idle expiry slides with use; the absolute one
// bounds a stolen cookie's life however busy it is kept. A session waiting
// for its second factor lives a few minutes.
const (
	IdleTTL     = 12 * time.Hour
	AbsoluteTTL = 7 * 24 * time.Hour
	PendingTTL  = 10 * time.Minute
	touchEvery  = time.Minute
	// maxCodeFailures is how many wrong codes a pending session may send
	// before it ends, and the password is asked again (and throttled).
	maxCodeFailures = 5
)

// tokenPrefix marks an agent's session token, so that a leak scan knows one.
const tokenPrefix = "ca_"

// Stage is how far a session has got through sign-in.
type Stage string

// The stages.
const (
	// Full is a signed-in session.
	Full Stage = ""
	// WantsCode is a session whose password was right and whose agent has
	// a second factor: only the code may be sent with it.
	WantsCode Stage = "totp"
	// WantsEnroll is a session whose agent must set up a second factor
	// (the team requires one) before anything else.
	WantsEnroll Stage = "enroll"
)

// Session is an agent's sign-in. Only the SHA-256 of its token is kept.
type Session struct {
	ID        string
	AgentID   string
	TeamID    string
	TokenHash []byte
	Stage     Stage
	// CodeFailures counts wrong second-factor codes (WantsCode).
	CodeFailures int
	IP           string
	UserAgent    string
	CreatedAt    time.Time
	LastUsedAt   time.Time
	// ExpiresAt is the idle expiry; it never passes AbsoluteExpiresAt.
	ExpiresAt         time.Time
	AbsoluteExpiresAt time.Time
}

// End is when the session ends unless it is used first.
func (s Session) End() time.Time {
	if s.AbsoluteExpiresAt.Before(s.ExpiresAt) {
		return s.AbsoluteExpiresAt
	}
	return s.ExpiresAt
}

func (s Session) live(now time.Time) bool { return now.Before(s.End()) }

// SessionStore keeps agents' sessions.
type SessionStore interface {
	InsertAgentSession(ctx context.Context, s Session) error
	// AgentSessionByTokenHash returns the session, whatever its expiry.
	AgentSessionByTokenHash(ctx context.Context, hash []byte) (Session, error)
	TouchAgentSession(ctx context.Context, id string, lastUsed, expires time.Time) error
	// FailAgentSessionCode counts a wrong code and returns the count.
	FailAgentSessionCode(ctx context.Context, id string) (int, error)
	DeleteAgentSession(ctx context.Context, id string) error
	// DeleteAgentSessions ends every session of an agent.
	DeleteAgentSessions(ctx context.Context, agentID string) error
	// SweepAgentSessions deletes the sessions and invitations expired at
	// now.
	SweepAgentSessions(ctx context.Context, now time.Time) error
}

// Issued is a new session with its token, which goes in a cookie and is
// never shown again.
type Issued struct {
	Token   string
	Session Session
}

// HashToken is the stored form of a token (sessions and invitations).
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

func newToken(prefix string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("agent: token: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func wellFormed(token, prefix string) bool {
	if len(token) != len(prefix)+43 || !strings.HasPrefix(token, prefix) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(token[len(prefix):])
	return err == nil
}

// Client is where a sign-in comes from, kept with the session.
type Client struct {
	IP        string
	UserAgent string
}

var errSession = errs.New(errs.Unauthorized, "Signed out: sign in again")

func rateLimited(d time.Duration) error {
	return &errs.Error{Code: errs.RateLimited, Message: identity.MsgTooManyAttempts, RetryAfter: d}
}

// SignIn checks an agent's email and password and starts a session: a full
// one, or one that waits for the second factor (or, when the team requires
// one the agent has not set up, for its enrollment). Every new sign-in is a
// new session, so a token planted before it is worth nothing after.
// Unknown emails and wrong passwords fail alike, in about the same time, and
// are throttled as the customers' sign-ins are (per account and client, and
// per client; never per account alone).
func (s *Service) SignIn(ctx context.Context, email, pw string, c Client) (Agent, Issued, error) {
	email = text.NormalizeEmail(email)
	d, err := s.throttle.Blocked(ctx, s.now(), email, c.IP)
	if err != nil {
		return Agent{}, Issued{}, fmt.Errorf("agent: sign-in throttle: %w", err)
	}
	if d > 0 {
		return Agent{}, Issued{}, rateLimited(d)
	}
	fail := func() error {
		d, err := s.throttle.Fail(ctx, s.now(), email, c.IP)
		if err != nil {
			return fmt.Errorf("agent: sign-in throttle: %w", err)
		}
		if d > 0 {
			return rateLimited(d)
		}
		return errCredentials
	}
	if len(pw) > password.MaxBytes {
		return Agent{}, Issued{}, fail()
	}
	a, hash, err := s.store.AgentByEmail(ctx, email)
	if err != nil && !errors.Is(err, errs.ErrNotFound) {
		return Agent{}, Issued{}, fmt.Errorf("agent: sign in: %w", err)
	}
	if err != nil {
		if err := s.hasher.VerifyUnknown(ctx, pw); err != nil {
			return Agent{}, Issued{}, err
		}
		return Agent{}, Issued{}, fail()
	}
	match, rehash, err := s.hasher.Verify(ctx, pw, hash)
	if err != nil {
		return Agent{}, Issued{}, err
	}
	if !match {
		return Agent{}, Issued{}, fail()
	}
	if err := s.throttle.Succeeded(ctx, email, c.IP); err != nil {
		return Agent{}, Issued{}, fmt.Errorf("agent: sign-in throttle: %w", err)
	}
	if rehash {
		if h, err := s.hasher.Hash(ctx, pw); err == nil {
			if err := s.store.SetAgentPasswordHash(ctx, a.ID, h); err != nil && !errors.Is(err, errs.ErrNotFound) {
				return Agent{}, Issued{}, fmt.Errorf("agent: rehash: %w", err)
			}
		}
	}
	stage, err := s.stageFor(ctx, a)
	if err != nil {
		return Agent{}, Issued{}, err
	}
	iss, err := s.issue(ctx, a, stage, c)
	return a, iss, err
}

// stageFor is where a session of a starts once its password is right.
func (s *Service) stageFor(ctx context.Context, a Agent) (Stage, error) {
	if a.TOTP {
		return WantsCode, nil
	}
	_, required, err := s.store.TeamSignIn(ctx, a.TeamID)
	if err != nil {
		return "", fmt.Errorf("agent: team: %w", err)
	}
	if required {
		return WantsEnroll, nil
	}
	return Full, nil
}

func (s *Service) issue(ctx context.Context, a Agent, stage Stage, c Client) (Issued, error) {
	tok, err := newToken(tokenPrefix)
	if err != nil {
		return Issued{}, err
	}
	id, err := ids.New()
	if err != nil {
		return Issued{}, err
	}
	now := s.clock()
	ses := Session{ID: id, AgentID: a.ID, TeamID: a.TeamID, TokenHash: HashToken(tok), Stage: stage,
		IP: c.IP, UserAgent: truncate(c.UserAgent, 200), CreatedAt: now, LastUsedAt: now,
		ExpiresAt: now.Add(IdleTTL), AbsoluteExpiresAt: now.Add(AbsoluteTTL)}
	if stage == WantsCode {
		ses.ExpiresAt, ses.AbsoluteExpiresAt = now.Add(PendingTTL), now.Add(PendingTTL)
	}
	if err := s.store.InsertAgentSession(ctx, ses); err != nil {
		return Issued{}, fmt.Errorf("agent: insert session: %w", err)
	}
	return Issued{Token: tok, Session: ses}, nil
}

func truncate(s string, n int) string {
	r := []rune(strings.ToValidUTF8(s, ""))
	if len(r) > n {
		r = r[:n]
	}
	return string(r)
}

// Authenticate returns the live session of token and its agent, sliding the
// idle expiry (at most one write a minute). A removed agent's sessions are
// gone with it. The session's stage says what it may do.
func (s *Service) Authenticate(ctx context.Context, token string) (Session, Agent, error) {
	if !wellFormed(token, tokenPrefix) {
		return Session{}, Agent{}, errSession
	}
	ses, err := s.store.AgentSessionByTokenHash(ctx, HashToken(token))
	if errors.Is(err, errs.ErrNotFound) {
		return Session{}, Agent{}, errSession
	}
	if err != nil {
		return Session{}, Agent{}, fmt.Errorf("agent: session: %w", err)
	}
	now := s.clock()
	if !ses.live(now) {
		return Session{}, Agent{}, errSession
	}
	a, err := s.store.AgentByID(ctx, ses.TeamID, ses.AgentID)
	if errors.Is(err, errs.ErrNotFound) {
		return Session{}, Agent{}, errSession
	}
	if err != nil {
		return Session{}, Agent{}, fmt.Errorf("agent: session agent: %w", err)
	}
	if ses.Stage == Full && now.Sub(ses.LastUsedAt) >= touchEvery {
		exp := now.Add(IdleTTL)
		if exp.After(ses.AbsoluteExpiresAt) {
			exp = ses.AbsoluteExpiresAt
		}
		if err := s.store.TouchAgentSession(ctx, ses.ID, now, exp); err != nil && !errors.Is(err, errs.ErrNotFound) {
			return Session{}, Agent{}, fmt.Errorf("agent: touch session: %w", err)
		}
		ses.LastUsedAt, ses.ExpiresAt = now, exp
	}
	return ses, a, nil
}

// SessionEnd is when the session of token ends if unused, for an open
// dashboard that looks again then; errs.Unauthorized once it has ended.
func (s *Service) SessionEnd(ctx context.Context, token string) (time.Time, error) {
	ses, _, err := s.Authenticate(ctx, token)
	if err != nil {
		return time.Time{}, err
	}
	if ses.Stage != Full {
		return time.Time{}, errSession
	}
	return ses.End(), nil
}

// SignOut ends the session of token; its open dashboards close.
func (s *Service) SignOut(ctx context.Context, token string) error {
	if !wellFormed(token, tokenPrefix) {
		return nil
	}
	ses, err := s.store.AgentSessionByTokenHash(ctx, HashToken(token))
	if errors.Is(err, errs.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("agent: sign out: %w", err)
	}
	if err := s.store.DeleteAgentSession(ctx, ses.ID); err != nil && !errors.Is(err, errs.ErrNotFound) {
		return fmt.Errorf("agent: sign out: %w", err)
	}
	s.ended(ctx, ses.TeamID, ses.AgentID, ses.ID)
	return nil
}
