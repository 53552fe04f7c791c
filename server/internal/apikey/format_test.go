package apikey

import (
	"strings"
	"testing"

	"github.com/cstar-chat/cstar/server/internal/scope"
)

func TestGenerateParse(t *testing.T) {
	for _, typ := range []Type{Secret, Publishable} {
		for _, m := range []scope.Mode{scope.Live, scope.Test} {
			k, err := Generate(typ, m)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(k, Prefix(typ, m)) || len(k) != keyLen {
				t.Fatalf("got %q, want prefix %q and length %d", k, Prefix(typ, m), keyLen)
			}
			p, err := Parse(k)
			if err != nil || p.Type != typ || p.Mode != m {
				t.Fatalf("Parse(%q) = %+v, %v; want %s %s", k, p, err, typ, m)
			}
		}
	}
}

func TestParseRejects(t *testing.T) {
	good, _ := Generate(Secret, scope.Test)
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	cases := map[string]string{
		"empty":          "",
		"truncated":      good[:len(good)-1],
		"extended":       good + "a",
		"bad checksum":   flip(good, len(good)-1),
		"mistyped body":  flip(good, prefixLen+3),
		"unknown prefix": "rk" + good[2:],
		"unknown mode":   strings.Replace(good, "_test_", "_prod_", 1),
		"non-base62":     good[:prefixLen] + "-" + good[prefixLen+1:],
	}
	for name, k := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse(k); err != ErrMalformed {
				t.Fatalf("Parse(%q) error = %v, want ErrMalformed", k, err)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	k := "sk_test_Ab12cdefghijklmnopqrstuvwxyzABCDwxyz"
	if got, want := Redact(k), "sk_test_Ab12…wxyz"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// FuzzParse checks that Parse never panics and that whatever it accepts is
// a well-formed key with a matching checksum.
func FuzzParse(f *testing.F) {
	k, _ := Generate(Publishable, scope.Live)
	f.Add(k)
	f.Add("sk_test_")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		if len(s) != keyLen || !p.Type.Valid() || !p.Mode.Valid() || checksum(s[:keyLen-checksumLen]) != s[keyLen-checksumLen:] {
			t.Fatalf("Parse accepted %q as %+v", s, p)
		}
	})
}
