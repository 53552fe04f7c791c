package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"hash/crc32"
	"strings"

	"github.com/cstar-chat/cstar/server/internal/scope"
)

// Type says what a key may do: secret keys have full access, publishable
// keys read what is safe in a browser.
type Type string

// The two key types.
const (
	Secret      Type = "secret"
	Publishable Type = "publishable"
)

// Valid reports whether t is a known type.
func (t Type) Valid() bool { return t == Secret || t == Publishable }

const (
	base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	// randomLen base62 characters carry 30·log2(62) ≈ 178 bits, well over
	// the 128 the product promises.
	randomLen   = 30
	checksumLen = 6
	prefixLen   = len("sk_live_")
	keyLen      = prefixLen + randomLen + checksumLen
)

// ErrMalformed is returned by Parse for anything that is not a well-formed
// cStar key with a valid checksum. Callers must not tell the cases apart in
// responses.
var ErrMalformed = errors.New("apikey: malformed key")

// Parsed is what can be read off a key without the database.
type Parsed struct {
	Type Type
	Mode scope.Mode
}

// Prefix returns the four-letter-plus-mode prefix, e.g. "sk_test_".
func Prefix(t Type, m scope.Mode) string {
	p := "sk_"
	if t == Publishable {
		p = "pk_"
	}
	return p + string(m) + "_"
}

// Generate returns a new random key of the given type and mode.
func Generate(t Type, m scope.Mode) (string, error) {
	var b strings.Builder
	b.Grow(keyLen)
	b.WriteString(Prefix(t, m))
	// Rejection sampling keeps every character uniform: bytes ≥ 248 (= 4·62)
	// are discarded instead of biasing the first characters of the alphabet.
	buf := make([]byte, 64)
	for n := 0; n < randomLen; {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		for _, c := range buf {
			if c >= 248 || n == randomLen {
				continue
			}
			b.WriteByte(base62[c%62])
			n++
		}
	}
	b.WriteString(checksum(b.String()))
	return b.String(), nil
}

// checksum is the 6-character, zero-padded base62 form of the CRC32 (IEEE) of s.
func checksum(s string) string {
	v := crc32.ChecksumIEEE([]byte(s))
	var out [checksumLen]byte
	for i := checksumLen - 1; i >= 0; i-- {
		out[i] = base62[v%62]
		v /= 62
	}
	return string(out[:])
}

// Parse checks a key's shape and checksum without touching the database.
func Parse(key string) (Parsed, error) {
	if len(key) != keyLen {
		return Parsed{}, ErrMalformed
	}
	var p Parsed
	switch key[:3] {
	case "sk_":
		p.Type = Secret
	case "pk_":
		p.Type = Publishable
	default:
		return Parsed{}, ErrMalformed
	}
	switch key[3:prefixLen] {
	case "live_":
		p.Mode = scope.Live
	case "test_":
		p.Mode = scope.Test
	default:
		return Parsed{}, ErrMalformed
	}
	body := key[prefixLen:]
	for i := 0; i < len(body); i++ {
		if strings.IndexByte(base62, body[i]) < 0 {
			return Parsed{}, ErrMalformed
		}
	}
	if checksum(key[:keyLen-checksumLen]) != key[keyLen-checksumLen:] {
		return Parsed{}, ErrMalformed
	}
	return p, nil
}

// Hash is the SHA-256 digest under which a key is stored; the key itself
// never is.
func Hash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// Redact returns the display form of a key, e.g. "sk_test_Ab12…wxyz".
func Redact(key string) string {
	if len(key) < prefixLen+8 {
		return "…"
	}
	return key[:prefixLen+4] + "…" + key[len(key)-4:]
}
