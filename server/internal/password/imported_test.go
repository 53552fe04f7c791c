package password

import (
	"context"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestImportedHashes: hashes made elsewhere (the argon2 CLI's at 64 MiB,
// bcrypt from PHP and Go) verify, and ask to be made again with ours.
func TestImportedHashes(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, OWASP, 2, 5*time.Second)
	goBcrypt, _ := bcrypt.GenerateFromPassword([]byte("tr0ub4dor&3 horse"), 4)
	for _, c := range []struct{ scheme, pw, hash string }{
		// echo -n 'correct horse battery staple' | argon2 anothersalt16byt -id -t 3 -m 16 -p 2 -e
		{SchemeArgon2id, "correct horse battery staple", "$argon2id$v=19$m=65536,t=3,p=2$YW5vdGhlcnNhbHQxNmJ5dA$1LDkjBLo9jeijSQVwfakFwSxjksais5DHO+KXUOeoFs"},
		// PHP's password_hash('rasmuslerdorf', PASSWORD_DEFAULT)
		{SchemeBcrypt, "rasmuslerdorf", "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"},
		{SchemeBcrypt, "tr0ub4dor&3 horse", string(goBcrypt)},
	} {
		if got := Scheme(c.hash); got != c.scheme {
			t.Errorf("Scheme(%.20s…): got %q, want %q", c.hash, got, c.scheme)
		}
		if err := CheckImported("password_hash", c.hash); err != nil {
			t.Errorf("CheckImported(%.20s…): %v", c.hash, err)
		}
		if ok, rehash, err := h.Verify(ctx, c.pw, c.hash); !ok || !rehash || err != nil {
			t.Errorf("Verify(%.20s…): got match=%v rehash=%v err=%v, want true true nil", c.hash, ok, rehash, err)
		}
		if ok, rehash, err := h.Verify(ctx, c.pw+"!", c.hash); ok || rehash || err != nil {
			t.Errorf("Verify wrong password (%.20s…): got match=%v rehash=%v err=%v", c.hash, ok, rehash, err)
		}
	}
}
