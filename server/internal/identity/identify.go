package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cstar-chat/cstar/server/internal/byoauth"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/text"
)

// MsgIdentityFailed is the one answer to every failed identify, so that a
// forger learns nothing about which check failed.
const MsgIdentityFailed = "Identity verification failed"

var errIdentity = errs.New(errs.Unauthorized, MsgIdentityFailed)

// SecretPrefix starts every identity-verification secret, so that a leak
// scan recognises one. The secret is "isec_" followed by 32 random bytes in
// unpadded base64url (43 characters); the HMAC key is the whole string's
// bytes, prefix included, exactly as shown to the team.
const SecretPrefix = "isec_"

// MaxSecretGrace is the longest the previous secret may stay valid after a
// roll.
const MaxSecretGrace = 7 * 24 * time.Hour

// Secret is a team's identity-verification secret for one mode. It is kept
// in plaintext: HMAC verification needs the key itself, so hashing it, as API
// keys are, is not possible.
type Secret struct {
	TeamID string
	Mode   scope.Mode
	// Current signs new tokens and user hashes.
	Current string
	// Previous still verifies until PreviousExpiresAt after a roll with a
	// grace period, so that sites can roll without a kid; "" when none.
	Previous          string
	PreviousExpiresAt *time.Time
	CreatedAt         time.Time
	RolledAt          *time.Time
}

// keys returns the secrets that verify at now: the current one and the
// previous one while its grace lasts.
func (s Secret) keys(now time.Time) [][]byte {
	out := [][]byte{[]byte(s.Current)}
	if s.Previous != "" && s.PreviousExpiresAt != nil && now.Before(*s.PreviousExpiresAt) {
		out = append(out, []byte(s.Previous))
	}
	return out
}

// NewSecretValue returns a fresh secret: SecretPrefix and 256 bits from
// crypto/rand in base64url.
func NewSecretValue() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("identity: secret: %w", err)
	}
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// NewSecret returns a fresh secret of sc, created at now.
func NewSecret(sc scope.Scope, now time.Time) (Secret, error) {
	v, err := NewSecretValue()
	if err != nil {
		return Secret{}, err
	}
	return Secret{TeamID: sc.TeamID, Mode: sc.Mode, Current: v, CreatedAt: now}, nil
}

// SecretStore is what identity verification needs from persistence; Store
// includes it.
type SecretStore interface {
	// IdentitySecret returns the secret of sc (errs.ErrNotFound when the
	// team has none, as teams created before secrets existed).
	IdentitySecret(ctx context.Context, sc scope.Scope) (Secret, error)
	// RollIdentitySecret makes next the current secret of sc, creating the
	// row when missing. With a non-nil previousExpiresAt the old current
	// secret becomes the previous one until then; otherwise no previous
	// secret remains.
	RollIdentitySecret(ctx context.Context, sc scope.Scope, next string, previousExpiresAt *time.Time, now time.Time) error
	UserHashEnabled(ctx context.Context, sc scope.Scope) (bool, error)
	SetUserHashEnabled(ctx context.Context, sc scope.Scope, enabled bool) error

	// IdentifiedByExternalID returns the customer of sc with the team's own
	// id externalID, and what was proven about it.
	IdentifiedByExternalID(ctx context.Context, sc scope.Scope, externalID string) (helpdesk.Customer, Verification, error)
	// InsertIdentified stores a new customer with v; an external id or a
	// proven email that another customer of the scope has wraps
	// errs.ErrConflict.
	InsertIdentified(ctx context.Context, c helpdesk.Customer, v Verification) error
	// UpdateIdentified writes c's email and name, and v, over its row.
	UpdateIdentified(ctx context.Context, c helpdesk.Customer, v Verification) error

	// UseTokenID records key as used until until and reports whether it
	// was fresh: not recorded with an expiry after now. Every process
	// sharing the store sees the record, also after a restart.
	UseTokenID(ctx context.Context, key string, until, now time.Time) (fresh bool, err error)
	// SweepTokenIDs forgets the records expired at now.
	SweepTokenIDs(ctx context.Context, now time.Time) error
}

// Verification says which of a customer's contact fields were proven. The
// rule: a claim from a browser counts only when a secret covers it (the
// secret-key API, a signed identity token); other claims are kept apart or
// marked, and an unproven email is never looked up, unique or merged.
type Verification struct {
	// EmailVerified is false when Customer.Email is a password account's
	// sign-in name, which nobody proved. It is true otherwise, also while
	// the customer has no email: one set later by the secret-key API is
	// vouched for by the site.
	EmailVerified bool
	// NameVerified is false when the name was claimed without proof (a
	// user hash, a password signup).
	NameVerified bool
	// UnverifiedEmail is the email last claimed without proof (with a user
	// hash); "" when none. It is kept apart from Customer.Email.
	UnverifiedEmail string
}

// IdentifyInput is a site's proof of who its user is: either Token, or
// UserID with UserHash (and, unsigned, Email and Name).
type IdentifyInput struct {
	Token    string
	UserID   string
	Email    string
	Name     string
	UserHash string
}

// identified is what a verified identify asserts; Proven says whether a
// signature covers Email and Name (a token) or only the subject (a user
// hash).
type identified struct {
	Subject, Email, Name string
	Proven               bool
}

// Identify verifies a signed token or a user hash with the identity secret
// of sc, creates or updates the customer with that external id and signs
// them in. Every verification failure is the same 401 and counts toward the
// per-client sign-in throttle (ip as in Login); the reason is logged at
// debug level, never the token or a secret.
//
// A token's email and name are proven. A user hash proves only the user id:
// the email and name sent with it are stored as unverified, and the email
// is kept apart, so that it is never looked up, unique or merged. The
// customer returned, which the browser that sent the claims sees, shows
// them back: its Email is the proven email or else the claimed one.
func (s *Service) Identify(ctx context.Context, sc scope.Scope, in IdentifyInput, ip string) (helpdesk.Customer, Issued, error) {
	src := NewSignInThrottle(s.throttle, "").sourceKey(ip)
	d, err := s.throttle.Blocked(ctx, s.now(), src)
	if err != nil {
		return helpdesk.Customer{}, Issued{}, fmt.Errorf("identity: identify throttle: %w", err)
	}
	if d > 0 {
		return helpdesk.Customer{}, Issued{}, rateLimited(d)
	}
	id, err := s.verify(ctx, sc, in)
	if err != nil {
		if !errors.Is(err, byoauth.ErrVerification) {
			return helpdesk.Customer{}, Issued{}, err
		}
		s.log.DebugContext(ctx, "identify refused", "team", sc.TeamID, "mode", string(sc.Mode), "reason", err.Error())
		_, d, ferr := s.throttle.Fail(ctx, src, IPPolicy, s.now())
		if ferr != nil {
			return helpdesk.Customer{}, Issued{}, fmt.Errorf("identity: identify throttle: %w", ferr)
		}
		if d > 0 {
			return helpdesk.Customer{}, Issued{}, rateLimited(d)
		}
		if sc.Mode == scope.Test {
			// A developer wiring identification up in test mode is told
			// why; live keeps the one message, which tells an attacker
			// nothing.
			return helpdesk.Customer{}, Issued{}, &errs.Error{Code: errIdentity.Code, Message: errIdentity.Message,
				Reason: byoauth.ReasonOf(err)}
		}
		return helpdesk.Customer{}, Issued{}, errIdentity
	}
	c, v, err := s.upsertIdentified(ctx, sc, id)
	if err != nil {
		return helpdesk.Customer{}, Issued{}, err
	}
	iss, err := s.issue(ctx, c)
	if err != nil {
		return helpdesk.Customer{}, Issued{}, err
	}
	if c.Email == "" {
		c.Email = v.UnverifiedEmail
	}
	return c, iss, nil
}

// verify returns what a valid proof asserts; its failures wrap
// byoauth.ErrVerification, other errors are the database's.
func (s *Service) verify(ctx context.Context, sc scope.Scope, in IdentifyInput) (identified, error) {
	if (in.Token == "") == (in.UserID == "") {
		return identified{}, byoauth.Fail(byoauth.ReasonBothOrNeither, "want a token or a user id, not both")
	}
	sec, err := s.store.IdentitySecret(ctx, sc)
	if errors.Is(err, errs.ErrNotFound) {
		return identified{}, byoauth.Fail(byoauth.ReasonNoSecret, "no identity secret")
	}
	if err != nil {
		return identified{}, fmt.Errorf("identity: identify: %w", err)
	}
	now := s.now()
	if in.Token != "" {
		// The kid is ignored: rotation is kid-less, the previous secret
		// verifying during its grace period.
		c, err := byoauth.Verify(in.Token, func(string) ([][]byte, error) { return sec.keys(now), nil }, now, byoauth.Options{})
		if err != nil {
			return identified{}, err
		}
		// The jti is recorded only now that everything else has passed, so
		// that an invalid token cannot burn a valid one's jti.
		if c.ID != "" {
			fresh, err := s.store.UseTokenID(ctx, sc.TeamID+"/"+string(sc.Mode)+"\x00"+c.ID,
				c.ExpiresAt.Add(byoauth.DefaultLeeway), now)
			if err != nil {
				return identified{}, fmt.Errorf("identity: identify: token id: %w", err)
			}
			if !fresh {
				return identified{}, byoauth.Fail(byoauth.ReasonReused, "jti already used")
			}
		}
		return identified{Subject: c.Subject, Email: c.Email, Name: c.Name, Proven: true}, nil
	}
	enabled, err := s.store.UserHashEnabled(ctx, sc)
	if err != nil {
		return identified{}, fmt.Errorf("identity: identify: %w", err)
	}
	switch {
	case !enabled:
		return identified{}, byoauth.Fail(byoauth.ReasonHashDisabled, "user hash disabled")
	case len(in.UserID) > byoauth.MaxSubjectBytes || !printable(in.UserID):
		return identified{}, byoauth.Fail(byoauth.ReasonBadUserID, "bad user id")
	case !byoauth.VerifyUserHash(in.UserID, in.UserHash, sec.keys(now)):
		return identified{}, byoauth.Fail(byoauth.ReasonHashMismatch, "user hash does not match")
	}
	return identified{Subject: in.UserID, Email: in.Email, Name: in.Name}, nil
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// upsertIdentified creates or updates the customer with id's external id. An
// email or name that is invalid is ignored rather than failing a verified
// sign-in, and so is a proven email another customer of sc already has.
func (s *Service) upsertIdentified(ctx context.Context, sc scope.Scope, id identified) (helpdesk.Customer, Verification, error) {
	email, err := text.Email("email", id.Email)
	if err != nil || !helpdesk.ValidEmail(email) {
		email = ""
	}
	name := strings.TrimSpace(id.Name)
	if !printable(name) || text.Line("name", name) != nil {
		name = ""
	}
	if utf8.RuneCountInString(name) > maxName {
		name = string([]rune(name)[:maxName])
	}
	for attempt := 0; ; attempt++ {
		c, v, err := s.store.IdentifiedByExternalID(ctx, sc, id.Subject)
		if err == nil {
			return s.updateIdentified(ctx, c, v, email, name, id.Proven)
		}
		if !errors.Is(err, errs.ErrNotFound) {
			return helpdesk.Customer{}, Verification{}, fmt.Errorf("identity: identify: %w", err)
		}
		cid, err := ids.New()
		if err != nil {
			return helpdesk.Customer{}, Verification{}, err
		}
		now := s.clock()
		c = helpdesk.Customer{ID: cid, TeamID: sc.TeamID, Mode: sc.Mode, Name: name,
			ExternalID: id.Subject, Metadata: map[string]any{}, CreatedAt: now, UpdatedAt: now, Kind: helpdesk.KindIdentified}
		v = Verification{EmailVerified: true, NameVerified: id.Proven}
		if id.Proven {
			c.Email = email
		} else {
			v.UnverifiedEmail = email
		}
		err = s.store.InsertIdentified(ctx, c, v)
		if err == nil {
			return c, v, nil
		}
		if !errors.Is(err, errs.ErrConflict) || attempt >= 2 {
			return helpdesk.Customer{}, Verification{}, fmt.Errorf("identity: identify: %w", err)
		}
		// Either a concurrent identify created the external id (found on
		// the next pass) or the proven email is taken: retry without it.
		if _, _, err := s.store.IdentifiedByExternalID(ctx, sc, id.Subject); errors.Is(err, errs.ErrNotFound) {
			email = ""
		}
	}
}

func (s *Service) updateIdentified(ctx context.Context, c helpdesk.Customer, v Verification, email, name string, proven bool) (helpdesk.Customer, Verification, error) {
	next, nv := c, v
	switch {
	case email == "":
	case proven:
		next.Email, nv.EmailVerified, nv.UnverifiedEmail = email, true, ""
	default:
		nv.UnverifiedEmail = email
	}
	if name != "" {
		next.Name, nv.NameVerified = name, proven
	}
	if next.Email == c.Email && next.Name == c.Name && nv == v {
		return c, v, nil
	}
	next.UpdatedAt = s.clock()
	err := s.store.UpdateIdentified(ctx, next, nv)
	if errors.Is(err, errs.ErrConflict) && next.Email != c.Email {
		// Another customer has this proven email: leave it alone.
		next.Email, nv.EmailVerified, nv.UnverifiedEmail = c.Email, v.EmailVerified, v.UnverifiedEmail
		err = s.store.UpdateIdentified(ctx, next, nv)
	}
	if err != nil {
		return helpdesk.Customer{}, Verification{}, fmt.Errorf("identity: identify: update customer: %w", err)
	}
	return next, nv, nil
}

// RollSecret replaces the identity secret of sc and returns the new one.
// With a positive grace the old secret keeps verifying for that long; with
// zero it stops at once.
func (s *Service) RollSecret(ctx context.Context, sc scope.Scope, grace time.Duration) (Secret, error) {
	if grace < 0 || grace > MaxSecretGrace {
		return Secret{}, errs.Invalidf("expires_in", "expires_in must be between 0 and %d seconds", int64(MaxSecretGrace/time.Second))
	}
	v, err := NewSecretValue()
	if err != nil {
		return Secret{}, err
	}
	now := s.clock()
	var prevExp *time.Time
	if grace > 0 {
		t := now.Add(grace)
		prevExp = &t
	}
	if err := s.store.RollIdentitySecret(ctx, sc, v, prevExp, now); err != nil {
		return Secret{}, fmt.Errorf("identity: roll secret: %w", err)
	}
	sec, err := s.store.IdentitySecret(ctx, sc)
	if err != nil {
		return Secret{}, fmt.Errorf("identity: roll secret: %w", err)
	}
	return sec, nil
}

// Secret returns the identity secret of sc (errs.ErrNotFound, wrapped,
// when the team has none).
func (s *Service) Secret(ctx context.Context, sc scope.Scope) (Secret, error) {
	sec, err := s.store.IdentitySecret(ctx, sc)
	if err != nil {
		return Secret{}, fmt.Errorf("identity: secret: %w", err)
	}
	return sec, nil
}

// SetUserHashEnabled switches identification by user hash on or off for
// one mode of a team: a test key never changes live's.
func (s *Service) SetUserHashEnabled(ctx context.Context, sc scope.Scope, enabled bool) error {
	if err := s.store.SetUserHashEnabled(ctx, sc, enabled); err != nil {
		return fmt.Errorf("identity: user hash setting: %w", err)
	}
	return nil
}

// UserHashEnabled reports whether mode sc.Mode of a team accepts user hashes.
func (s *Service) UserHashEnabled(ctx context.Context, sc scope.Scope) (bool, error) {
	on, err := s.store.UserHashEnabled(ctx, sc)
	if err != nil {
		return false, fmt.Errorf("identity: user hash setting: %w", err)
	}
	return on, nil
}
