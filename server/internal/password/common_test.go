package password

import (
	"crypto/rand"
	"testing"
)

func TestCommonListSize(t *testing.T) {
	if n := len(commonPasswords()); n < 10000 {
		t.Fatalf("common-password list has %d entries, want at least 10000", n)
	}
}

func TestCommonKnownPasswords(t *testing.T) {
	for _, pw := range []string{
		"123456", "password", "PASSWORD", "PassWord", "qwerty", "QWERTY",
		"12345678", "dragon", "Dragon", "letmein", "LetMeIn",
	} {
		if !Common(pw) {
			t.Errorf("Common(%q) = false, want true", pw)
		}
	}
}

func TestCommonRejectsRandom(t *testing.T) {
	for range 20 {
		pw := rand.Text()[:20]
		if Common(pw) {
			t.Errorf("Common(%q) = true, want false", pw)
		}
	}
	if Common("") {
		t.Error(`Common("") = true, want false`)
	}
}

func BenchmarkCommon(b *testing.B) {
	Common("warm-up")
	for b.Loop() {
		Common("Tr0ub4dor&3")
	}
}
