package identitytoken

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 500, time.UTC)

func decode(t *testing.T, seg string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("segment %q: %v", seg, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("segment %s: %v", b, err)
	}
	return m
}

func TestSign(t *testing.T) {
	tok, err := Sign([]byte("s3cret"), Claims{Subject: "user-42", Email: "ada@example.com", Name: "Ada", ID: "j1", KeyID: "2025-06"}, now)
	if err != nil {
		t.Fatalf("got %v, want nil", err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("got %d parts, want 3", len(parts))
	}
	h := decode(t, parts[0])
	if h["alg"] != "HS256" || h["typ"] != "JWT" || h["kid"] != "2025-06" || len(h) != 3 {
		t.Errorf("got header %v, want alg HS256, typ JWT, kid 2025-06", h)
	}
	p := decode(t, parts[1])
	want := map[string]any{"sub": "user-42", "email": "ada@example.com", "name": "Ada", "jti": "j1",
		"iat": float64(now.Unix()), "exp": float64(now.Add(DefaultTTL).Unix())}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("claim %s: got %v, want %v", k, p[k], v)
		}
	}
	if len(p) != len(want) {
		t.Errorf("got claims %v, want %v", p, want)
	}

	minimal, err := Sign([]byte("s3cret"), Claims{Subject: "u"}, now)
	if err != nil {
		t.Fatal(err)
	}
	mp := strings.Split(minimal, ".")
	if h := decode(t, mp[0]); len(h) != 2 {
		t.Errorf("got header %v without KeyID, want no kid", h)
	}
	if p := decode(t, mp[1]); len(p) != 3 {
		t.Errorf("got claims %v, want only sub, iat, exp", p)
	}
}

func TestSignRejects(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		c      Claims
	}{
		{"empty secret", "", Claims{Subject: "u"}},
		{"empty subject", "s", Claims{}},
		{"subject too long", "s", Claims{Subject: strings.Repeat("u", 256)}},
		{"lifetime over 24h", "s", Claims{Subject: "u", ExpiresAt: now.Add(MaxLifetime + time.Second)}},
		{"expires before issued", "s", Claims{Subject: "u", ExpiresAt: now.Add(-time.Minute)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tok, err := Sign([]byte(tt.secret), tt.c, now); err == nil {
				t.Errorf("got token %q, want an error", tok)
			}
		})
	}
}

func TestUserHash(t *testing.T) {
	// From RFC 4231 test case 2: HMAC-SHA256(key "Jefe", "what do ya want for nothing?").
	got := UserHash([]byte("Jefe"), "what do ya want for nothing?")
	want := "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
