package byoauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/identitytoken"
)

var (
	now       = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	secretOld = []byte("old-secret-0123456789abcdef")
	secretNew = []byte("new-secret-0123456789abcdef")
)

// oneSecret serves secretNew for any kid.
func oneSecret(string) ([][]byte, error) { return [][]byte{secretNew}, nil }

func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// raw builds a token from literal JSON, signed with secret (HS256 MAC whatever
// the header claims), so tests can express tokens Sign refuses to make.
func raw(secret []byte, header, payload string) string {
	in := enc(header) + "." + enc(payload)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func sign(t *testing.T, secret []byte, c identitytoken.Claims) string {
	t.Helper()
	tok, err := identitytoken.Sign(secret, c, now)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return tok
}

const hs256 = `{"alg":"HS256","typ":"JWT"}`

func TestVerifyValid(t *testing.T) {
	tok := sign(t, secretNew, identitytoken.Claims{Subject: "user-42", Email: "ada@example.com", Name: "Ada", ID: "j1", KeyID: "k2"})
	got, err := Verify(tok, oneSecret, now, Options{})
	if err != nil {
		t.Fatalf("got %v, want nil", err)
	}
	want := Claims{Subject: "user-42", Email: "ada@example.com", Name: "Ada", IssuedAt: now, ExpiresAt: now.Add(time.Hour), ID: "j1", KeyID: "k2"}
	if got.Subject != want.Subject || got.Email != want.Email || got.Name != want.Name || got.ID != want.ID ||
		got.KeyID != want.KeyID || !got.IssuedAt.Equal(want.IssuedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) || !got.NotBefore.IsZero() {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestVerifyRejects(t *testing.T) {
	iat, exp := now.Unix(), now.Add(time.Hour).Unix()
	valid := sign(t, secretNew, identitytoken.Claims{Subject: "u1"})
	parts := strings.Split(valid, ".")
	// flip changes one character of s in the middle, keeping it base64url.
	flip := func(s string) string {
		i := len(s) / 2
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	tests := []struct {
		name  string
		token string
	}{
		{"tampered payload", parts[0] + "." + enc(fmt.Sprintf(`{"sub":"admin","iat":%d,"exp":%d}`, iat, exp)) + "." + parts[2]},
		{"tampered payload byte", parts[0] + "." + flip(parts[1]) + "." + parts[2]},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flip(parts[2])},
		{"truncated signature", parts[0] + "." + parts[1] + "." + parts[2][:20]},
		{"empty signature", parts[0] + "." + parts[1] + "."},
		{"wrong secret", sign(t, []byte("some-other-secret"), identitytoken.Claims{Subject: "u1"})},
		{"alg none unsigned", enc(`{"alg":"none","typ":"JWT"}`) + "." + parts[1] + "."},
		{"alg none signed", raw(secretNew, `{"alg":"none"}`, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat, exp))},
		{"alg HS512", raw(secretNew, `{"alg":"HS512","typ":"JWT"}`, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat, exp))},
		{"alg RS256", raw(secretNew, `{"alg":"RS256","typ":"JWT"}`, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat, exp))},
		{"alg hs256 lowercase", raw(secretNew, `{"alg":"hs256"}`, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat, exp))},
		{"alg key in capitals", raw(secretNew, `{"ALG":"HS256"}`, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat, exp))},
		{"alg missing", raw(secretNew, `{"typ":"JWT"}`, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat, exp))},
		{"alg not a string", raw(secretNew, `{"alg":256}`, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat, exp))},
		{"typ not JWT", raw(secretNew, `{"alg":"HS256","typ":"JWE"}`, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat, exp))},
		{"crit header", raw(secretNew, `{"alg":"HS256","crit":["exp"]}`, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat, exp))},
		{"expired beyond leeway", raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat-3600, iat-61))},
		{"iat in the future beyond leeway", raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat+61, iat+3600))},
		{"nbf in the future beyond leeway", raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d,"nbf":%d}`, iat, exp, iat+61))},
		{"lifetime over 24h", raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat, iat+24*3600+1))},
		{"exp before iat", raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat, iat-1))},
		{"exp equals iat", raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat, iat))},
		{"negative iat", raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, -1, exp))},
		{"huge exp", raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat, int64(1)<<62))},
		{"missing sub", raw(secretNew, hs256, fmt.Sprintf(`{"iat":%d,"exp":%d}`, iat, exp))},
		{"empty sub", raw(secretNew, hs256, fmt.Sprintf(`{"sub":"","iat":%d,"exp":%d}`, iat, exp))},
		{"null sub", raw(secretNew, hs256, fmt.Sprintf(`{"sub":null,"iat":%d,"exp":%d}`, iat, exp))},
		{"numeric sub", raw(secretNew, hs256, fmt.Sprintf(`{"sub":42,"iat":%d,"exp":%d}`, iat, exp))},
		{"sub too long", raw(secretNew, hs256, fmt.Sprintf(`{"sub":"%s","iat":%d,"exp":%d}`, strings.Repeat("u", 256), iat, exp))},
		{"sub with newline", raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u\n1","iat":%d,"exp":%d}`, iat, exp))},
		{"missing exp", raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","iat":%d}`, iat))},
		{"missing iat", raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","exp":%d}`, exp))},
		{"string exp", raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":"%d"}`, iat, exp))},
		{"NaN exp", raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":NaN}`, iat))},
		{"exponent exp beyond year 9999", raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":1e300}`, iat))},
		{"email too long", raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","email":"%s","iat":%d,"exp":%d}`, strings.Repeat("e", 321), iat, exp))},
		{"name too long", raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","name":"%s","iat":%d,"exp":%d}`, strings.Repeat("n", 256), iat, exp))},
		{"email not a string", raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","email":1,"iat":%d,"exp":%d}`, iat, exp))},
		{"jti too long", raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","jti":"%s","iat":%d,"exp":%d}`, strings.Repeat("j", 256), iat, exp))},
		{"payload is an array", raw(secretNew, hs256, `[1,2]`)},
		{"payload is not JSON", raw(secretNew, hs256, `{"sub":`)},
		{"payload has trailing data", raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}{}`, iat, exp))},
		{"header is not JSON", raw(secretNew, `HS256`, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat, exp))},
		{"header is null", raw(secretNew, `null`, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat, exp))},
		{"malformed base64 header", "!!!." + parts[1] + "." + parts[2]},
		{"malformed base64 payload", parts[0] + ".a*b." + parts[2]},
		{"base64 with padding", parts[0] + "." + parts[1] + "." + parts[2] + "="},
		{"base64 with newline", parts[0] + "." + parts[1][:4] + "\n" + parts[1][4:] + "." + parts[2]},
		{"base64 standard alphabet", parts[0] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(parts[1]+"+") + "." + parts[2]},
		{"empty", ""},
		{"one part", parts[0]},
		{"two parts", parts[0] + "." + parts[1]},
		{"four parts", valid + "." + parts[2]},
		{"too long", raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d,"pad":"%s"}`, iat, exp, strings.Repeat("x", 8<<10)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Verify(tt.token, oneSecret, now, Options{})
			if !errors.Is(err, ErrVerification) {
				t.Fatalf("got claims %+v and error %v, want ErrVerification", got, err)
			}
			if got != (Claims{}) {
				t.Errorf("got claims %+v on failure, want zero", got)
			}
		})
	}
	// The valid token itself passes, so the cases above fail for their own reason.
	if _, err := Verify(valid, oneSecret, now, Options{}); err != nil {
		t.Fatalf("valid token: got %v, want nil", err)
	}
}

func TestVerifyLeeway(t *testing.T) {
	iat := now.Unix()
	tests := []struct {
		name    string
		payload string
		opts    Options
		ok      bool
	}{
		{"exp just passed, within leeway", fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat-3600, iat-60), Options{}, true},
		{"exp passed beyond leeway", fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat-3600, iat-61), Options{}, false},
		{"iat slightly ahead, within leeway", fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat+60, iat+3600), Options{}, true},
		{"nbf slightly ahead, within leeway", fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d,"nbf":%d}`, iat, iat+3600, iat+60), Options{}, true},
		{"lifetime exactly 24h", fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat, iat+24*3600), Options{}, true},
		{"custom leeway of 5s", fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat-3600, iat-6), Options{Leeway: 5 * time.Second}, false},
		{"custom max lifetime", fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat, iat+7200), Options{MaxLifetime: time.Hour}, false},
		{"unknown claims ignored", fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d,"aud":"x","iss":"y"}`, iat, iat+60), Options{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(raw(secretNew, hs256, tt.payload), oneSecret, now, tt.opts)
			if got := err == nil; got != tt.ok {
				t.Errorf("got ok=%v (%v), want ok=%v", got, err, tt.ok)
			}
		})
	}
}

func TestVerifyKeyRotation(t *testing.T) {
	var gotKids []string
	secrets := func(kid string) ([][]byte, error) {
		gotKids = append(gotKids, kid)
		switch kid {
		case "", "v2":
			return [][]byte{secretNew, secretOld}, nil // current first, previous while rolling
		case "v1":
			return [][]byte{secretOld}, nil
		}
		return nil, nil
	}
	tests := []struct {
		name   string
		secret []byte
		kid    string
		ok     bool
	}{
		{"new secret, no kid", secretNew, "", true},
		{"old secret, no kid", secretOld, "", true},
		{"new secret, kid v2", secretNew, "v2", true},
		{"old secret, kid v1", secretOld, "v1", true},
		{"new secret, kid v1", secretNew, "v1", false},
		{"unknown kid", secretNew, "v9", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotKids = nil
			tok := sign(t, tt.secret, identitytoken.Claims{Subject: "u1", KeyID: tt.kid})
			c, err := Verify(tok, secrets, now, Options{})
			if got := err == nil; got != tt.ok {
				t.Fatalf("got ok=%v (%v), want ok=%v", got, err, tt.ok)
			}
			if len(gotKids) != 1 || gotKids[0] != tt.kid {
				t.Errorf("secrets called with %q, want [%q]", gotKids, tt.kid)
			}
			if tt.ok && c.KeyID != tt.kid {
				t.Errorf("got KeyID %q, want %q", c.KeyID, tt.kid)
			}
		})
	}
}

func TestVerifySecretsError(t *testing.T) {
	boom := errors.New("store: unavailable")
	tok := sign(t, secretNew, identitytoken.Claims{Subject: "u1"})
	_, err := Verify(tok, func(string) ([][]byte, error) { return nil, boom }, now, Options{})
	if !errors.Is(err, ErrVerification) || !errors.Is(err, boom) {
		t.Errorf("got %v, want an error wrapping both ErrVerification and the lookup error", err)
	}
	if _, err := Verify(tok, nil, now, Options{}); !errors.Is(err, ErrVerification) {
		t.Errorf("nil secrets: got %v, want ErrVerification", err)
	}
	empty := func(string) ([][]byte, error) { return [][]byte{nil, {}}, nil }
	if _, err := Verify(tok, empty, now, Options{}); !errors.Is(err, ErrVerification) {
		t.Errorf("empty secrets: got %v, want ErrVerification", err)
	}
}

func TestVerifyReplay(t *testing.T) {
	guard := NewMemoryReplayGuard()
	opts := Options{Replay: guard, ReplayScope: "team_1/live"}
	tok := sign(t, secretNew, identitytoken.Claims{Subject: "u1", ID: "jti-1"})
	if _, err := Verify(tok, oneSecret, now, opts); err != nil {
		t.Fatalf("first use: got %v, want nil", err)
	}
	if _, err := Verify(tok, oneSecret, now.Add(time.Second), opts); !errors.Is(err, ErrVerification) {
		t.Fatalf("second use: got %v, want ErrVerification", err)
	}
	// Another scope (team or mode) has its own jti space.
	if _, err := Verify(tok, oneSecret, now, Options{Replay: guard, ReplayScope: "team_1/test"}); err != nil {
		t.Errorf("other scope: got %v, want nil", err)
	}
	// A token without jti may be reused.
	noID := sign(t, secretNew, identitytoken.Claims{Subject: "u1"})
	for i := range 2 {
		if _, err := Verify(noID, oneSecret, now, opts); err != nil {
			t.Errorf("token without jti, use %d: got %v, want nil", i+1, err)
		}
	}
	// A rejected token does not burn its jti.
	expired := sign(t, secretNew, identitytoken.Claims{Subject: "u1", ID: "jti-2", IssuedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)})
	if _, err := Verify(expired, oneSecret, now, opts); err == nil {
		t.Fatal("expired token: got nil, want an error")
	}
	fresh := sign(t, secretNew, identitytoken.Claims{Subject: "u1", ID: "jti-2"})
	if _, err := Verify(fresh, oneSecret, now, opts); err != nil {
		t.Errorf("jti of a rejected token: got %v, want nil", err)
	}
}

func TestMemoryReplayGuardSweeps(t *testing.T) {
	g := NewMemoryReplayGuard()
	for i, key := range []string{"a", "b", "c"} {
		if fresh, _ := g.Use(key, now.Add(time.Duration(i+1)*time.Minute), now); !fresh {
			t.Fatalf("Use(%q): got false, want true", key)
		}
	}
	if fresh, _ := g.Use("a", now.Add(time.Hour), now.Add(30*time.Second)); fresh {
		t.Error("Use(a) again before its expiry: got true, want false")
	}
	// After a's expiry the id may be used again, and the sweep drops a and b.
	if fresh, _ := g.Use("a", now.Add(time.Hour), now.Add(2*time.Minute)); !fresh {
		t.Error("Use(a) after its expiry: got false, want true")
	}
	if got, want := g.Len(), 2; got != want {
		t.Errorf("got %d entries after the sweep, want %d", got, want)
	}
}

func TestVerifyUserHash(t *testing.T) {
	good := identitytoken.UserHash(secretNew, "user-42")
	old := identitytoken.UserHash(secretOld, "user-42")
	both := [][]byte{secretNew, secretOld}
	changed := good[:63] + "0"
	if good[63] == '0' {
		changed = good[:63] + "1"
	}
	tests := []struct {
		name, userID, hash string
		secrets            [][]byte
		want               bool
	}{
		{"valid", "user-42", good, both, true},
		{"valid, upper-case hex", "user-42", strings.ToUpper(good), both, true},
		{"previous secret during rotation", "user-42", old, both, true},
		{"previous secret after rotation", "user-42", old, [][]byte{secretNew}, false},
		{"other user", "user-43", good, both, false},
		{"one digit changed", "user-42", changed, both, false},
		{"non-hex", "user-42", strings.Repeat("zz", 32), both, false},
		{"too short", "user-42", good[:62], both, false},
		{"too long", "user-42", good + "00", both, false},
		{"empty hash", "user-42", "", both, false},
		{"empty user id", "", identitytoken.UserHash(secretNew, ""), both, false},
		{"no secrets", "user-42", good, nil, false},
		{"empty secret", "user-42", identitytoken.UserHash(nil, "user-42"), [][]byte{{}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifyUserHash(tt.userID, tt.hash, tt.secrets); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	iat := now.Unix()
	valid, _ := identitytoken.Sign(secretNew, identitytoken.Claims{Subject: "u1", Email: "a@b.c", ID: "j", KeyID: "k"}, now)
	f.Add(valid)
	f.Add(raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d,"nbf":%d}`, iat, iat+60, iat)))
	f.Add(raw(secretNew, `{"alg":"none"}`, `{}`))
	f.Add(raw(secretNew, hs256, `{"sub":"u1","iat":1e400,"exp":-0}`))
	f.Add("..")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		guard := NewMemoryReplayGuard()
		c, err := Verify(token, oneSecret, now, Options{Replay: guard})
		if err != nil {
			if !errors.Is(err, ErrVerification) {
				t.Fatalf("got %v, want an error wrapping ErrVerification", err)
			}
			return
		}
		if c.Subject == "" || len(c.Subject) > MaxSubjectBytes || !c.ExpiresAt.After(c.IssuedAt) {
			t.Fatalf("accepted bad claims %+v", c)
		}
	})
}

// TestVerifyFractionalDates: iat, exp and nbf may be fractional NumericDates
// (RFC 7519), as PyJWT writes them from time.time(); the fraction is kept.
func TestVerifyFractionalDates(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	iat := now.Unix()
	tok := raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","iat":%d.25,"exp":%d.75,"nbf":%d.5}`, iat-1, iat+3600, iat-1))
	c, err := Verify(tok, oneSecret, now, Options{})
	if err != nil {
		t.Fatalf("fractional dates: %v", err)
	}
	if want := time.Unix(iat+3600, 750_000_000); !c.ExpiresAt.Equal(want) {
		t.Errorf("exp: got %v, want %v", c.ExpiresAt, want)
	}
	if want := time.Unix(iat-1, 250_000_000); !c.IssuedAt.Equal(want) {
		t.Errorf("iat: got %v, want %v", c.IssuedAt, want)
	}
}

// TestVerifyReasons: each refusal carries a stable reason code.
func TestVerifyReasons(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	iat := now.Unix()
	for _, c := range []struct{ token, want string }{
		{"a.b", ReasonMalformed},
		{raw(secretNew, `{"alg":"HS512"}`, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat, iat+60)), ReasonAlgorithm},
		{raw([]byte("other"), hs256, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat, iat+60)), ReasonSignature},
		{raw(secretNew, hs256, fmt.Sprintf(`{"iat":%d,"exp":%d}`, iat, iat+60)), ReasonClaims},
		{raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat-7200, iat-3600)), ReasonExpired},
		{raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat+600, iat+3600)), ReasonIssuedFuture},
		{raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d,"nbf":%d}`, iat, iat+3600, iat+600)), ReasonNotYetValid},
		{raw(secretNew, hs256, fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, iat, iat+48*3600)), ReasonLifetime},
	} {
		_, err := Verify(c.token, oneSecret, now, Options{})
		if got := ReasonOf(err); got != c.want {
			t.Errorf("%.40s…: got reason %q (%v), want %q", c.token, got, err, c.want)
		}
	}
}
