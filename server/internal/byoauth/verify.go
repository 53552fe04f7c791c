package byoauth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// ErrVerification is the only error Verify returns, wrapped with the reason for
// the logs. Callers answer every such failure alike (401 "Identity
// verification failed") so that a forger learns nothing about which check
// failed.
var ErrVerification = errors.New("identity verification failed")

// Limits on what a token may carry. They bound memory and what reaches the
// customers table.
const (
	MaxTokenBytes   = 8 << 10
	MaxSubjectBytes = 255
	MaxEmailBytes   = 320
	MaxNameBytes    = 255
	MaxIDBytes      = 255
	MaxKeyIDBytes   = 255

	DefaultLeeway      = 60 * time.Second
	DefaultMaxLifetime = 24 * time.Hour

	// maxNumericDate (year 9999) keeps time arithmetic far from overflow.
	maxNumericDate = 253402300799
)

// Claims is what a verified token asserts about the site's user.
type Claims struct {
	Subject   string // "sub": the site's user id, the customer's external id
	Email     string // "email", may be empty
	Name      string // "name", may be empty
	IssuedAt  time.Time
	ExpiresAt time.Time
	NotBefore time.Time // zero when the token has no "nbf"
	ID        string    // "jti", may be empty
	KeyID     string    // the header's "kid", may be empty
}

// Options tunes Verify; the zero value uses the defaults and does no replay
// protection.
type Options struct {
	// Leeway absorbs clock skew on exp, iat and nbf; zero means DefaultLeeway.
	Leeway time.Duration
	// MaxLifetime bounds exp − iat; zero means DefaultMaxLifetime.
	MaxLifetime time.Duration
	// Replay, when set, accepts each jti once only until the token expires.
	// Tokens without a jti are not affected.
	Replay ReplayGuard
	// ReplayScope prefixes the jti given to Replay, so that one guard can serve
	// many teams and modes (for example "team_123/live").
	ReplayScope string
}

// Failure is why a proof was refused: a stable Reason code (what test mode
// shows a developer) and a Detail for the debug log. It wraps
// ErrVerification.
type Failure struct {
	Reason string
	Detail string
}

func (f *Failure) Error() string { return "byoauth: identity verification failed: " + f.Detail }
func (f *Failure) Unwrap() error { return ErrVerification }

// Reasons a proof is refused.
const (
	ReasonMalformed     = "malformed_token"     // not three base64url JSON parts of the expected types
	ReasonAlgorithm     = "unsupported_alg"     // alg other than HS256, crit, typ other than JWT
	ReasonSignature     = "bad_signature"       // no current secret signed it
	ReasonClaims        = "invalid_claims"      // sub/exp/iat missing or out of range, fields too long
	ReasonLifetime      = "lifetime_too_long"   // exp − iat over the maximum
	ReasonExpired       = "token_expired"       // past exp (with the leeway)
	ReasonIssuedFuture  = "iat_in_future"       // iat ahead of the server's clock (with the leeway)
	ReasonNotYetValid   = "token_not_yet_valid" // before nbf (with the leeway)
	ReasonReused        = "jti_reused"          // its jti was used before
	ReasonHashDisabled  = "user_hash_disabled"  // the mode accepts tokens only
	ReasonHashMismatch  = "bad_user_hash"       // the hash is not the user id's HMAC
	ReasonBadUserID     = "bad_user_id"         // too long or with control characters
	ReasonBothOrNeither = "token_or_user_id"    // a token and a user id, or neither
	ReasonNoSecret      = "no_identity_secret"  // the mode has no secret
)

// Fail returns a Failure with a reason code and the detail for the log.
func Fail(reason, detail string) error { return &Failure{Reason: reason, Detail: detail} }

// ReasonOf is err's reason code, "" when it is not a Failure.
func ReasonOf(err error) string {
	var f *Failure
	if errors.As(err, &f) {
		return f.Reason
	}
	return ""
}

var b64 = base64.RawURLEncoding.Strict()

// decodeSegment decodes unpadded base64url. The alphabet is checked first
// because the standard decoder silently skips CR and LF.
func decodeSegment(s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return nil, false
		}
	}
	b, err := b64.DecodeString(s)
	return b, err == nil
}

// object decodes one JSON object with nothing after it. Members are then
// looked up by exact name: encoding/json would otherwise match "ALG" or "Sub"
// case-insensitively.
func object(b []byte) (map[string]json.RawMessage, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, false
	}
	_, err := dec.Token()
	return m, err != nil // io.EOF: nothing follows
}

// member decodes m[name] into *dst, leaving it nil when absent or null. It
// fails when the member has another JSON type (a float for an int64, say).
func member[T any](m map[string]json.RawMessage, name string, dst **T) bool {
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return true
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return false
	}
	*dst = &v
	return true
}

type header struct {
	Alg, Typ, Kid *string
	crit          bool
}

func parseHeader(b []byte) (header, bool) {
	var h header
	m, ok := object(b)
	if !ok {
		return h, false
	}
	_, h.crit = m["crit"]
	ok = member(m, "alg", &h.Alg) && member(m, "typ", &h.Typ) && member(m, "kid", &h.Kid)
	return h, ok
}

type payload struct {
	Sub, Email, Name, Jti *string
	Iat, Exp, Nbf         *numericDate
}

// numericDate is RFC 7519's NumericDate: seconds since the epoch, whole or
// fractional (PyJWT with time.time() writes 1764000000.123456).
type numericDate float64

func (d *numericDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] == '"' {
		return fmt.Errorf("byoauth: a NumericDate is a number, not %s", b)
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("byoauth: %q is not a NumericDate", b)
	}
	*d = numericDate(f)
	return nil
}

func (d numericDate) time() time.Time {
	sec, frac := math.Modf(float64(d))
	return time.Unix(int64(sec), int64(math.Round(frac*1e9)))
}

func parsePayload(b []byte) (payload, bool) {
	var p payload
	m, ok := object(b)
	if !ok {
		return p, false
	}
	ok = member(m, "sub", &p.Sub) && member(m, "email", &p.Email) && member(m, "name", &p.Name) &&
		member(m, "jti", &p.Jti) && member(m, "iat", &p.Iat) && member(m, "exp", &p.Exp) && member(m, "nbf", &p.Nbf)
	return p, ok
}

// Verify checks an HS256 identity token and returns its claims. secrets
// returns the candidate secrets for the header's kid ("" when absent): the
// current one and, while a secret is being rolled, the previous one. Every
// failure, including an error from secrets, wraps ErrVerification.
//
// The algorithm is pinned to HS256 whatever the header says, the signature is
// checked (in constant time) before the claims are parsed, and a jti is
// recorded only once every other check has passed, so that an invalid token
// cannot burn a legitimate one's jti.
func Verify(token string, secrets func(kid string) ([][]byte, error), now time.Time, opts Options) (Claims, error) {
	if opts.Leeway <= 0 {
		opts.Leeway = DefaultLeeway
	}
	if opts.MaxLifetime <= 0 {
		opts.MaxLifetime = DefaultMaxLifetime
	}
	if len(token) > MaxTokenBytes {
		return Claims{}, Fail(ReasonMalformed, "token longer than 8 KB")
	}
	if n := strings.Count(token, ".") + 1; n != 3 {
		return Claims{}, Fail(ReasonMalformed, fmt.Sprintf("token has %d parts, want 3", n))
	}
	if secrets == nil {
		return Claims{}, Fail(ReasonNoSecret, "no secrets configured")
	}
	parts := strings.Split(token, ".")

	hb, ok := decodeSegment(parts[0])
	if !ok {
		return Claims{}, Fail(ReasonMalformed, "header is not base64url")
	}
	h, ok := parseHeader(hb)
	if !ok {
		return Claims{}, Fail(ReasonMalformed, "header is not a JSON object")
	}
	if h.Alg == nil || *h.Alg != "HS256" {
		return Claims{}, Fail(ReasonAlgorithm, "alg is not HS256")
	}
	if h.Typ != nil && !strings.EqualFold(*h.Typ, "JWT") {
		return Claims{}, Fail(ReasonAlgorithm, "typ is not JWT")
	}
	if h.crit {
		return Claims{}, Fail(ReasonAlgorithm, "crit header is not supported")
	}
	var kid string
	if h.Kid != nil {
		kid = *h.Kid
		if len(kid) > MaxKeyIDBytes {
			return Claims{}, Fail(ReasonMalformed, "kid too long")
		}
	}

	sig, ok := decodeSegment(parts[2])
	if !ok || len(sig) != sha256.Size {
		return Claims{}, Fail(ReasonMalformed, "signature is not 32 bytes of base64url")
	}
	keys, err := secrets(kid)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: secrets for kid %q: %w", ErrVerification, kid, err)
	}
	signingInput := token[:len(parts[0])+1+len(parts[1])]
	matched := false
	for _, k := range keys {
		if len(k) == 0 {
			continue
		}
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(signingInput))
		if hmac.Equal(mac.Sum(nil), sig) {
			matched = true
		}
	}
	if !matched {
		return Claims{}, Fail(ReasonSignature, "signature does not match any secret")
	}

	pb, ok := decodeSegment(parts[1])
	if !ok {
		return Claims{}, Fail(ReasonMalformed, "payload is not base64url")
	}
	p, ok := parsePayload(pb)
	if !ok {
		return Claims{}, Fail(ReasonMalformed, "payload is not a JSON object of the expected types")
	}
	c := Claims{KeyID: kid}
	switch {
	case p.Sub == nil || *p.Sub == "":
		return Claims{}, Fail(ReasonClaims, "sub missing")
	case len(*p.Sub) > MaxSubjectBytes:
		return Claims{}, Fail(ReasonClaims, "sub too long")
	case !printable(*p.Sub):
		return Claims{}, Fail(ReasonClaims, "sub has control characters")
	case p.Email != nil && len(*p.Email) > MaxEmailBytes:
		return Claims{}, Fail(ReasonClaims, "email too long")
	case p.Name != nil && len(*p.Name) > MaxNameBytes:
		return Claims{}, Fail(ReasonClaims, "name too long")
	case p.Jti != nil && len(*p.Jti) > MaxIDBytes:
		return Claims{}, Fail(ReasonClaims, "jti too long")
	case p.Exp == nil:
		return Claims{}, Fail(ReasonClaims, "exp missing")
	case p.Iat == nil:
		return Claims{}, Fail(ReasonClaims, "iat missing")
	}
	c.Subject = *p.Sub
	if p.Email != nil {
		c.Email = *p.Email
	}
	if p.Name != nil {
		c.Name = *p.Name
	}
	if p.Jti != nil {
		c.ID = *p.Jti
	}
	for _, d := range []*numericDate{p.Iat, p.Exp, p.Nbf} {
		if d != nil && (*d < 0 || *d > maxNumericDate) {
			return Claims{}, Fail(ReasonClaims, "numeric date out of range")
		}
	}
	c.IssuedAt, c.ExpiresAt = p.Iat.time(), p.Exp.time()
	if p.Nbf != nil {
		c.NotBefore = p.Nbf.time()
	}
	switch {
	case !c.ExpiresAt.After(c.IssuedAt):
		return Claims{}, Fail(ReasonClaims, "exp is not after iat")
	case c.ExpiresAt.Sub(c.IssuedAt) > opts.MaxLifetime:
		return Claims{}, Fail(ReasonLifetime, "exp − iat exceeds the maximum lifetime")
	case now.After(c.ExpiresAt.Add(opts.Leeway)):
		return Claims{}, Fail(ReasonExpired, "token expired")
	case c.IssuedAt.After(now.Add(opts.Leeway)):
		return Claims{}, Fail(ReasonIssuedFuture, "iat is in the future")
	case !c.NotBefore.IsZero() && c.NotBefore.After(now.Add(opts.Leeway)):
		return Claims{}, Fail(ReasonNotYetValid, "token not yet valid (nbf)")
	}

	if c.ID != "" && opts.Replay != nil {
		fresh, err := opts.Replay.Use(opts.ReplayScope+"\x00"+c.ID, c.ExpiresAt.Add(opts.Leeway), now)
		if err != nil {
			return Claims{}, fmt.Errorf("%w: replay guard: %w", ErrVerification, err)
		}
		if !fresh {
			return Claims{}, Fail(ReasonReused, "jti already used")
		}
	}
	return c, nil
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

// VerifyUserHash reports whether userHash is the hex HMAC-SHA256 of userID
// under one of secrets. It compares in constant time and is false for an empty
// user id or a hash that is not 64 hex digits.
func VerifyUserHash(userID, userHash string, secrets [][]byte) bool {
	if userID == "" || len(userHash) != 2*sha256.Size {
		return false
	}
	want, err := hex.DecodeString(userHash)
	if err != nil {
		return false
	}
	ok := false
	for _, k := range secrets {
		if len(k) == 0 {
			continue
		}
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(userID))
		if hmac.Equal(mac.Sum(nil), want) {
			ok = true
		}
	}
	return ok
}

// ReplayGuard remembers used token ids for Verify. The server does not use
// it: identity records each accepted jti in the store after Verify (with a
// context, and shared by every process and across restarts), in the same
// order, once every other check has passed.
type ReplayGuard interface {
	// Use records key as used until until and reports whether it was fresh,
	// that is not already recorded with an expiry after now.
	Use(key string, until, now time.Time) (fresh bool, err error)
}

// MemoryReplayGuard is an in-memory ReplayGuard, safe for concurrent use,
// for a single process that may forget what it saw when it restarts.
// Expired entries are swept at most once a minute, so memory is bounded by
// the tokens accepted within their (at most 24-hour) lifetime.
type MemoryReplayGuard struct {
	mu        sync.Mutex
	seen      map[string]time.Time
	lastSweep time.Time
}

// NewMemoryReplayGuard returns an empty guard.
func NewMemoryReplayGuard() *MemoryReplayGuard {
	return &MemoryReplayGuard{seen: make(map[string]time.Time)}
}

// sweepEvery bounds how often Use walks the whole map.
const sweepEvery = time.Minute

// Use implements ReplayGuard; it never returns an error.
func (g *MemoryReplayGuard) Use(key string, until, now time.Time) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.Sub(g.lastSweep) >= sweepEvery || now.Before(g.lastSweep) {
		for k, exp := range g.seen {
			if !exp.After(now) {
				delete(g.seen, k)
			}
		}
		g.lastSweep = now
	}
	if exp, ok := g.seen[key]; ok && exp.After(now) {
		return false, nil
	}
	g.seen[key] = until
	return true, nil
}

// Len returns the number of remembered ids, expired or not yet swept.
func (g *MemoryReplayGuard) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.seen)
}
