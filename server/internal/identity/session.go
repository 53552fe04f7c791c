package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"sync"
	"time"

	"github.com/cstar-chat/cstar/server/internal/scope"
)

// Session lifetimes. The idle expiry slides with use; the absolute one
// bounds a stolen token's life however busy it is kept.
const (
	IdleTTL     = 30 * 24 * time.Hour
	AbsoluteTTL = 90 * 24 * time.Hour
	// touchEvery keeps an active session from costing a write per request.
	touchEvery = time.Minute
)

// tokenPrefix marks a session token, so that it is recognised in a leak scan.
const tokenPrefix = "cs_"

// Session is a customer's sign-in. Only the SHA-256 of its token is kept.
type Session struct {
	ID         string
	TeamID     string
	Mode       scope.Mode
	CustomerID string
	TokenHash  []byte
	CreatedAt  time.Time
	LastUsedAt time.Time
	// ExpiresAt is the idle expiry; it never passes AbsoluteExpiresAt.
	ExpiresAt         time.Time
	AbsoluteExpiresAt time.Time
}

// Scope is the team and mode the session belongs to.
func (s Session) Scope() scope.Scope { return scope.Scope{TeamID: s.TeamID, Mode: s.Mode} }

func (s Session) live(now time.Time) bool {
	return now.Before(s.ExpiresAt) && now.Before(s.AbsoluteExpiresAt)
}

// newToken returns a fresh token: 256 bits from crypto/rand in base64url.
func newToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// HashToken is the stored form of a session token.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// wellFormed rejects tokens that cannot have been issued without a query.
func wellFormed(token string) bool {
	if len(token) != len(tokenPrefix)+43 || !strings.HasPrefix(token, tokenPrefix) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(token[len(tokenPrefix):])
	return err == nil
}

// ThrottlePolicy says how failed sign-ins are slowed down: Free failures
// within Window cost nothing; each one after that blocks the key for Base,
// doubling per further failure, up to Max. A failure older than Window is
// forgotten, so an attacker cannot lock a real customer out for longer than
// Max after they stop.
type ThrottlePolicy struct {
	Free   int
	Window time.Duration
	Base   time.Duration
	Max    time.Duration
}

// Default policies: an account is slowed after 5 failures, an IP (which
// may be a NAT shared by many people) after 20.
var (
	AccountPolicy = ThrottlePolicy{Free: 5, Window: 15 * time.Minute, Base: 30 * time.Second, Max: 15 * time.Minute}
	IPPolicy      = ThrottlePolicy{Free: 20, Window: 15 * time.Minute, Base: 30 * time.Second, Max: 15 * time.Minute}
)

type failures struct {
	n     int
	last  time.Time
	until time.Time
}

// Throttle counts failed attempts per key in memory. It is per process:
// several nodes each keep their own counts, which multiplies an attacker's
// budget by the number of nodes but still bounds it; that is good enough
// against online guessing, which argon2id already makes slow.
type Throttle struct {
	policy ThrottlePolicy
	now    func() time.Time

	mu    sync.Mutex
	m     map[string]*failures
	calls int
}

// NewThrottle returns an empty throttle.
func NewThrottle(p ThrottlePolicy, now func() time.Time) *Throttle {
	return &Throttle{policy: p, now: now, m: map[string]*failures{}}
}

// Blocked returns how long key must still wait; 0 when it may try.
func (t *Throttle) Blocked(key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.m[key]
	if f == nil {
		return 0
	}
	if d := f.until.Sub(t.now()); d > 0 {
		return d
	}
	return 0
}

// Fail records a failed attempt of key and returns the wait it now owes
// (0 while within the free failures).
func (t *Throttle) Fail(key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.calls++
	if t.calls%1024 == 0 {
		t.sweepLocked(now)
	}
	f := t.m[key]
	if f == nil || now.Sub(f.last) > t.policy.Window {
		f = &failures{}
		t.m[key] = f
	}
	f.n++
	f.last = now
	if f.n < t.policy.Free {
		return 0
	}
	d := t.policy.Max
	if shift := f.n - t.policy.Free; shift < 30 {
		if b := t.policy.Base << shift; b < d {
			d = b
		}
	}
	f.until = now.Add(d)
	return d
}

// Reset forgets key's failures (after a successful sign-in).
func (t *Throttle) Reset(key string) {
	t.mu.Lock()
	delete(t.m, key)
	t.mu.Unlock()
}

// Sweep drops the entries that no longer matter.
func (t *Throttle) Sweep() {
	t.mu.Lock()
	t.sweepLocked(t.now())
	t.mu.Unlock()
}

func (t *Throttle) sweepLocked(now time.Time) {
	for k, f := range t.m {
		if now.Sub(f.last) > t.policy.Window && !now.Before(f.until) {
			delete(t.m, k)
		}
	}
}
