package agent

import (
	"context"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/cstar-chat/cstar/server/internal/errs"
)

// The second factor is TOTP (RFC 6238: 6 digits, 30-second steps, SHA-1, as
// every authenticator app reads an otpauth:// URL), by
// github.com/pquerna/otp. A code is accepted one step early or late (clock
// drift) and only once: the step of the last code accepted is stored, so a
// code seen over a shoulder is worthless afterwards, on every process.
const (
	totpPeriod = 30
	totpIssuer = "cStar"
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// TOTPStore keeps agents' second factors.
type TOTPStore interface {
	// AgentTOTP returns an agent's secret ("" when off), the secret being
	// set up ("" when none) and the step of the last code accepted.
	AgentTOTP(ctx context.Context, id string) (secret, pending string, lastStep int64, err error)
	SetAgentTOTPPending(ctx context.Context, id, secret string) error
	// EnableAgentTOTP makes the pending secret the agent's, with step the
	// last one used.
	EnableAgentTOTP(ctx context.Context, id string, step int64, at time.Time) error
	DisableAgentTOTP(ctx context.Context, id string, at time.Time) error
	// UseTOTPStep records step as used and reports whether it was later
	// than the last one used (false: a replay).
	UseTOTPStep(ctx context.Context, id string, step int64) (bool, error)
}

var (
	errCode      = errs.Invalidf("code", "That code is not right: enter the 6 digits your authenticator app shows now")
	errTooMany   = errs.New(errs.Unauthorized, "Too many wrong codes: sign in again")
	errNoPending = errs.Invalidf("code", "Start the set-up again: no second factor is being set up")
)

// codeStep returns the time step code is valid for at now (one step either
// way), or false.
func codeStep(secret, code string, now time.Time) (int64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != 6 {
		return 0, false
	}
	for _, off := range []int64{0, -1, 1} {
		at := now.Add(time.Duration(off*totpPeriod) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, at, totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return at.Unix() / totpPeriod, true
		}
	}
	return 0, false
}

// VerifyCode completes a sign-in that waits for the second factor: with the
// right code the pending session is replaced by a full one (a new token);
// after too many wrong ones it ends, and the password is asked again.
func (s *Service) VerifyCode(ctx context.Context, token, code string, c Client) (Agent, Issued, error) {
	ses, a, err := s.Authenticate(ctx, token)
	if err != nil {
		return Agent{}, Issued{}, err
	}
	if ses.Stage != WantsCode {
		return Agent{}, Issued{}, errSession
	}
	now := s.now()
	if d, err := s.codes.Blocked(ctx, now, a.ID, c.IP); err != nil {
		return Agent{}, Issued{}, fmt.Errorf("agent: totp throttle: %w", err)
	} else if d > 0 {
		return Agent{}, Issued{}, rateLimited(d)
	}
	// The attempt is counted before the code is looked at, so that many
	// guesses sent at once on one pending session are not all weighed.
	n, err := s.store.FailAgentSessionCode(ctx, ses.ID)
	if err != nil {
		return Agent{}, Issued{}, fmt.Errorf("agent: totp: %w", err)
	}
	if n > maxCodeFailures {
		return Agent{}, Issued{}, s.endCodeSession(ctx, ses.ID)
	}
	secret, _, _, err := s.store.AgentTOTP(ctx, a.ID)
	if err != nil {
		return Agent{}, Issued{}, fmt.Errorf("agent: totp: %w", err)
	}
	step, ok := codeStep(secret, code, now)
	if ok {
		if ok, err = s.store.UseTOTPStep(ctx, a.ID, step); err != nil {
			return Agent{}, Issued{}, fmt.Errorf("agent: totp: %w", err)
		}
	}
	if !ok {
		// Counted per agent and client across sign-ins, as passwords are.
		d, err := s.codes.Fail(ctx, now, a.ID, c.IP)
		if err != nil {
			return Agent{}, Issued{}, fmt.Errorf("agent: totp throttle: %w", err)
		}
		if n >= maxCodeFailures {
			return Agent{}, Issued{}, s.endCodeSession(ctx, ses.ID)
		}
		s.log.DebugContext(ctx, "agent sign-in: wrong code", "agent", a.ID)
		if d > 0 {
			return Agent{}, Issued{}, rateLimited(d)
		}
		return Agent{}, Issued{}, errCode
	}
	if err := s.codes.Succeeded(ctx, a.ID, c.IP); err != nil {
		return Agent{}, Issued{}, fmt.Errorf("agent: totp throttle: %w", err)
	}
	return s.promote(ctx, a, ses, c)
}

// endCodeSession ends a sign-in that had too many wrong codes.
func (s *Service) endCodeSession(ctx context.Context, id string) error {
	if err := s.store.DeleteAgentSession(ctx, id); err != nil && !errors.Is(err, errs.ErrNotFound) {
		return fmt.Errorf("agent: totp: %w", err)
	}
	return errTooMany
}

// promote replaces a pending session by a full one.
func (s *Service) promote(ctx context.Context, a Agent, ses Session, c Client) (Agent, Issued, error) {
	if err := s.store.DeleteAgentSession(ctx, ses.ID); err != nil && !errors.Is(err, errs.ErrNotFound) {
		return Agent{}, Issued{}, fmt.Errorf("agent: promote session: %w", err)
	}
	iss, err := s.issue(ctx, a, Full, c)
	return a, iss, err
}

// BeginTOTP starts setting up a second factor for a: a new secret, kept
// aside until a code made with it is sent back (EnableTOTP). It returns the
// secret and its otpauth:// URL, for an authenticator app.
func (s *Service) BeginTOTP(ctx context.Context, a Agent) (secret, url string, err error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: a.Email, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", "", fmt.Errorf("agent: totp secret: %w", err)
	}
	if err := s.store.SetAgentTOTPPending(ctx, a.ID, key.Secret()); err != nil {
		return "", "", fmt.Errorf("agent: totp secret: %w", err)
	}
	return key.Secret(), key.URL(), nil
}

// PendingTOTP returns the secret being set up and its otpauth:// URL ("" when
// none), to show it again.
func (s *Service) PendingTOTP(ctx context.Context, a Agent) (secret, url string, err error) {
	_, pending, _, err := s.store.AgentTOTP(ctx, a.ID)
	if err != nil || pending == "" {
		return "", "", err
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(pending)
	if err != nil {
		return "", "", fmt.Errorf("agent: totp: %w", err)
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: a.Email, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Secret: raw})
	if err != nil {
		return "", "", fmt.Errorf("agent: totp: %w", err)
	}
	return pending, key.URL(), nil
}

// EnableTOTP turns the second factor on once code proves the agent's app has
// the secret. A session that was made to set it up (the team requires it)
// becomes a full one: the returned Issued, whose token replaces the old.
func (s *Service) EnableTOTP(ctx context.Context, a Agent, ses Session, code string, c Client) (Issued, error) {
	_, pending, _, err := s.store.AgentTOTP(ctx, a.ID)
	if err != nil {
		return Issued{}, fmt.Errorf("agent: totp: %w", err)
	}
	if pending == "" {
		return Issued{}, errNoPending
	}
	step, ok := codeStep(pending, code, s.now())
	if !ok {
		return Issued{}, errCode
	}
	if err := s.store.EnableAgentTOTP(ctx, a.ID, step, s.clock()); err != nil {
		return Issued{}, fmt.Errorf("agent: enable totp: %w", err)
	}
	a.TOTP = true
	if ses.Stage == WantsEnroll {
		_, iss, err := s.promote(ctx, a, ses, c)
		return iss, err
	}
	return Issued{}, nil
}

// DisableTOTP turns the second factor off, with a current code; not while
// the team requires it.
func (s *Service) DisableTOTP(ctx context.Context, a Agent, code string) error {
	if _, required, err := s.store.TeamSignIn(ctx, a.TeamID); err != nil {
		return fmt.Errorf("agent: team: %w", err)
	} else if required {
		return errs.New(errs.Forbidden, "Your team requires two-factor sign-in")
	}
	secret, _, _, err := s.store.AgentTOTP(ctx, a.ID)
	if err != nil {
		return fmt.Errorf("agent: totp: %w", err)
	}
	if secret == "" {
		return nil
	}
	step, ok := codeStep(secret, code, s.now())
	if ok {
		if ok, err = s.store.UseTOTPStep(ctx, a.ID, step); err != nil {
			return fmt.Errorf("agent: totp: %w", err)
		}
	}
	if !ok {
		return errCode
	}
	if err := s.store.DisableAgentTOTP(ctx, a.ID, s.clock()); err != nil {
		return fmt.Errorf("agent: disable totp: %w", err)
	}
	return nil
}

// Code is the current code of secret, for tests and the demo.
func Code(secret string, at time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, at, totpOpts)
}
