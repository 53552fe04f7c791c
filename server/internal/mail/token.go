package mail

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/cstar-chat/cstar/server/internal/scope"
)

// Purpose is what a link's token opens.
type Purpose string

// The purposes, with their tokens' prefixes (so that a leak scan knows
// them) and lifetimes.
const (
	PurposeCustomerReset Purpose = "customer_reset"
	PurposeVerifyEmail   Purpose = "verify_email"
	PurposeAgentReset    Purpose = "agent_reset"
	PurposeInvitation    Purpose = "invitation"
	PurposeUnsubscribe   Purpose = "unsubscribe"
)

// Lifetimes of the tokens. An invitation's token lives as long as the
// invitation.
const (
	ResetTTL       = 30 * time.Minute
	VerifyTTL      = 3 * 24 * time.Hour
	UnsubscribeTTL = 180 * 24 * time.Hour
)

// InvitationPrefix is the prefix of invitation tokens, the dashboard's and
// the mailed ones alike.
const InvitationPrefix = "cinv_"

var prefixes = map[Purpose]string{
	PurposeCustomerReset: "cpr_",
	PurposeVerifyEmail:   "cev_",
	PurposeAgentReset:    "apr_",
	PurposeInvitation:    InvitationPrefix,
	PurposeUnsubscribe:   "cun_",
}

// Token is a link's token as stored: what it opens, for whom, and until
// when. The token itself is never stored, only its SHA-256.
type Token struct {
	Purpose Purpose
	TeamID  string
	Mode    scope.Mode
	// SubjectID is the customer, agent or invitation the token is for.
	SubjectID string
	// Email is the address the mail went to: a reset or verification holds
	// only while the account still has it.
	Email     string
	OutboxID  string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// Scope is the token's team and mode.
func (t Token) Scope() scope.Scope { return scope.Scope{TeamID: t.TeamID, Mode: t.Mode} }

// HashToken is the stored form of a token.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// newToken returns a fresh token of purpose p: its prefix and 256 bits from
// crypto/rand in base64url.
func newToken(p Purpose) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("mail: token: %w", err)
	}
	return prefixes[p] + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// ParseToken returns the hash of token when it has the shape of a token of
// purpose p; a token that cannot have been issued costs no query.
func ParseToken(p Purpose, token string) ([]byte, bool) {
	prefix := prefixes[p]
	if prefix == "" || len(token) != len(prefix)+43 || !strings.HasPrefix(token, prefix) {
		return nil, false
	}
	if _, err := base64.RawURLEncoding.DecodeString(token[len(prefix):]); err != nil {
		return nil, false
	}
	return HashToken(token), true
}
