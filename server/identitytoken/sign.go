package identitytoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// MaxLifetime is the longest a token may live, from IssuedAt to ExpiresAt;
// cStar rejects tokens that claim more.
const MaxLifetime = 24 * time.Hour

// DefaultTTL is the lifetime Sign gives a token whose ExpiresAt is zero. Tokens
// are meant to be minted per page view, so short is better.
const DefaultTTL = time.Hour

// Claims is what a site asserts about its user.
type Claims struct {
	// Subject is the site's own user id (the JWT "sub"); cStar stores it as the
	// customer's external id. Required, at most 255 bytes.
	Subject string
	// Email and Name are optional and update the customer's profile.
	Email string
	Name  string
	// IssuedAt ("iat") defaults to the now passed to Sign.
	IssuedAt time.Time
	// ExpiresAt ("exp") defaults to IssuedAt plus DefaultTTL and may be at most
	// MaxLifetime after IssuedAt.
	ExpiresAt time.Time
	// ID ("jti") is optional; when set, cStar accepts the token once only.
	ID string
	// KeyID ("kid", in the header) is optional and names the secret used, for
	// sites that roll secrets.
	KeyID string
}

type header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid,omitempty"`
}

type payload struct {
	Sub   string `json:"sub"`
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
	Iat   int64  `json:"iat"`
	Exp   int64  `json:"exp"`
	Jti   string `json:"jti,omitempty"`
}

var b64 = base64.RawURLEncoding

// Sign returns an HS256 JSON Web Token carrying c, signed with the team's
// identity-verification secret. Times are truncated to whole seconds, as JWT
// numeric dates are.
func Sign(secret []byte, c Claims, now time.Time) (string, error) {
	if len(secret) == 0 {
		return "", errors.New("identitytoken: empty secret")
	}
	if c.Subject == "" {
		return "", errors.New("identitytoken: empty Subject")
	}
	if len(c.Subject) > 255 {
		return "", errors.New("identitytoken: Subject longer than 255 bytes")
	}
	iat := c.IssuedAt
	if iat.IsZero() {
		iat = now
	}
	exp := c.ExpiresAt
	if exp.IsZero() {
		exp = iat.Add(DefaultTTL)
	}
	iat, exp = iat.Truncate(time.Second), exp.Truncate(time.Second)
	if !exp.After(iat) {
		return "", errors.New("identitytoken: ExpiresAt is not after IssuedAt")
	}
	if exp.Sub(iat) > MaxLifetime {
		return "", fmt.Errorf("identitytoken: lifetime %s exceeds %s", exp.Sub(iat), MaxLifetime)
	}
	h, err := json.Marshal(header{Alg: "HS256", Typ: "JWT", Kid: c.KeyID})
	if err != nil {
		return "", fmt.Errorf("identitytoken: %w", err)
	}
	p, err := json.Marshal(payload{Sub: c.Subject, Email: c.Email, Name: c.Name, Iat: iat.Unix(), Exp: exp.Unix(), Jti: c.ID})
	if err != nil {
		return "", fmt.Errorf("identitytoken: %w", err)
	}
	signingInput := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signingInput))
	return signingInput + "." + b64.EncodeToString(mac.Sum(nil)), nil
}

// UserHash returns the hex HMAC-SHA256 of userID keyed with secret, the
// "userHash" that Intercom- and Chatwoot-style integrations send alongside
// the user id.
func UserHash(secret []byte, userID string) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(userID))
	return hex.EncodeToString(mac.Sum(nil))
}
