package password

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/cstar-chat/cstar/server/internal/errs"
)

// Password hashing schemes.
const (
	SchemeArgon2id = "argon2id"
	SchemeBcrypt   = "bcrypt"
)

// Bounds on an imported hash's cost. A hash is checked at every sign-in
// until its first one upgrades it, and one with a huge cost would let a
// stream of wrong passwords take the server's memory or time: argon2id up to
// 256 MiB, 16 passes and 16 lanes (libsodium's "moderate" is 256 MiB, PHP's
// default 64 MiB); bcrypt up to cost 14 (about a second; 10 to 12 is usual).
const (
	maxArgonMemoryKiB = 256 * 1024
	maxArgonTime      = 16
	maxArgonThreads   = 16
	maxBcryptCost     = 14
)

// Scheme names the scheme of a stored or imported hash ("" when unknown).
func Scheme(hash string) string {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		return SchemeArgon2id
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		return SchemeBcrypt
	}
	return ""
}

// CheckImported validates a password hash made by another system: argon2id
// in PHC form ($argon2id$v=19$m=…,t=…,p=…$salt$hash, unpadded base64) at any
// parameters within the bounds above, or bcrypt ($2a$, $2b$ or $2y$). field
// names the request field in the error.
func CheckImported(field, hash string) error {
	bad := func(format string, args ...any) error {
		return errs.Invalidf(field, "%s %s", field, fmt.Sprintf(format, args...))
	}
	switch Scheme(hash) {
	case SchemeArgon2id:
		parts := strings.Split(hash, "$")
		if len(parts) != 6 || parts[2] != "v=19" {
			return bad("must be $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash> (version 19)")
		}
		var m, t, p int
		for _, kv := range strings.Split(parts[3], ",") {
			k, v, _ := strings.Cut(kv, "=")
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return bad("has a malformed parameter %q", kv)
			}
			switch k {
			case "m":
				m = n
			case "t":
				t = n
			case "p":
				p = n
			default:
				return bad("has an unsupported parameter %q", k)
			}
		}
		switch {
		case m == 0 || t == 0 || p == 0:
			return bad("must set m, t and p")
		case m > maxArgonMemoryKiB || t > maxArgonTime || p > maxArgonThreads:
			return bad("costs more than cStar accepts (m ≤ %d, t ≤ %d, p ≤ %d)", maxArgonMemoryKiB, maxArgonTime, maxArgonThreads)
		case m < 8*p:
			return bad("has m below 8×p")
		}
		salt, err := base64.RawStdEncoding.Strict().DecodeString(parts[4])
		if err != nil || len(salt) < 8 || len(salt) > 64 {
			return bad("must have a salt of 8 to 64 bytes in unpadded base64")
		}
		key, err := base64.RawStdEncoding.Strict().DecodeString(parts[5])
		if err != nil || len(key) < 16 || len(key) > 64 {
			return bad("must have a hash of 16 to 64 bytes in unpadded base64")
		}
		return nil
	case SchemeBcrypt:
		cost, err := bcrypt.Cost([]byte(hash))
		if err != nil || len(hash) != 60 {
			return bad("is not a well-formed bcrypt hash")
		}
		if cost > maxBcryptCost {
			return bad("costs more than cStar accepts (bcrypt cost ≤ %d)", maxBcryptCost)
		}
		return nil
	}
	return bad("must be an argon2id hash in PHC form ($argon2id$…) or a bcrypt hash ($2a$, $2b$ or $2y$)")
}
