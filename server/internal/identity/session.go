package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
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
