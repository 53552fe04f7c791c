package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/identitytoken"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// identifyFailed is the failure body apart from "code" and "request_id"
// (json.Marshal sorts the keys).
const identifyFailed = `{"error":"Identity verification failed","success":false}`

// wantIdentifyFailed checks the one answer to every failed identify.
func wantIdentifyFailed(t *testing.T, r *resp) {
	t.Helper()
	r.WantError(t, 401, "Identity verification failed")
	var m map[string]any
	json.Unmarshal([]byte(r.WithoutRequestID()), &m)
	delete(m, "code")
	b, _ := json.Marshal(m)
	if string(b) != identifyFailed {
		t.Errorf("body: got %s, want %s (plus code and request_id)", r.Raw, identifyFailed)
	}
}

func sign(t *testing.T, secret string, c identitytoken.Claims, now time.Time) string {
	t.Helper()
	tok, err := identitytoken.Sign([]byte(secret), c, now)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func identify(s *testServer, t *testing.T, key string, body any) *resp {
	t.Helper()
	return s.Do(t, "POST", wv1+"/identify", key, body)
}

func TestWidgetIdentifyToken(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s := newTestServer(t, dbURL)
		live := s.Team.IdentitySecrets[scope.Live]
		test := s.Team.IdentitySecrets[scope.Test]
		if !strings.HasPrefix(live, "isec_") || !strings.HasPrefix(test, "isec_") || live == test {
			t.Fatalf("identity secrets: got %q, %q; want distinct isec_ secrets", live, test)
		}
		now := s.Clock.Now()

		tok := sign(t, live, identitytoken.Claims{Subject: "user-42", Email: "Ada@Example.com", Name: "Ada"}, now)
		d := identify(s, t, s.PKLive, protocol.IdentifyRequest{Token: tok}).Want(t, 200).Data(t)
		cust, _ := d["customer"].(map[string]any)
		ses, _ := d["session"].(map[string]any)
		if str(cust["external_id"]) != "user-42" || str(cust["email"]) != "ada@example.com" || str(cust["name"]) != "Ada" {
			t.Fatalf("customer: got %v, want user-42, ada@example.com, Ada", cust)
		}
		id := str(cust["id"])
		me := s.Do(t, "GET", wv1+"/me", s.PKLive, nil, protocol.SessionHeader, str(ses["token"])).Want(t, 200).Data(t)
		if str(me["id"]) != id {
			t.Errorf("me: got %v, want id %s", me, id)
		}

		// A second identify finds the same customer and updates the name,
		// keeping the email when the token has none.
		tok = sign(t, live, identitytoken.Claims{Subject: "user-42", Name: "Ada Lovelace"}, now)
		cust, _ = identify(s, t, s.PKLive, protocol.IdentifyRequest{Token: tok}).Want(t, 200).Data(t)["customer"].(map[string]any)
		if str(cust["id"]) != id || str(cust["name"]) != "Ada Lovelace" || str(cust["email"]) != "ada@example.com" {
			t.Errorf("second identify: got %v, want id %s, Ada Lovelace, ada@example.com", cust, id)
		}

		// A proven email another customer has is not taken over, and does
		// not fail.
		s.create(t, s.SKLive, "/customers", map[string]any{"email": "bob@example.com"})
		tok = sign(t, live, identitytoken.Claims{Subject: "user-42", Email: "bob@example.com", Name: "Ada L."}, now)
		cust, _ = identify(s, t, s.PKLive, protocol.IdentifyRequest{Token: tok}).Want(t, 200).Data(t)["customer"].(map[string]any)
		if str(cust["email"]) != "ada@example.com" || str(cust["name"]) != "Ada L." {
			t.Errorf("email conflict on update: got %v, want ada@example.com and the new name", cust)
		}
		tok = sign(t, live, identitytoken.Claims{Subject: "user-43", Email: "bob@example.com"}, now)
		cust, _ = identify(s, t, s.PKLive, protocol.IdentifyRequest{Token: tok}).Want(t, 200).Data(t)["customer"].(map[string]any)
		if str(cust["external_id"]) != "user-43" || cust["email"] != nil {
			t.Errorf("email conflict on create: got %v, want user-43 without email", cust)
		}
		if n := len(s.Do(t, "GET", s.Path("/customers?external_id=user-42"), s.SKLive, nil).Want(t, 200).Items(t)); n != 1 {
			t.Errorf("customers with external id user-42: got %d, want 1", n)
		}

		// Failures.
		parts := strings.Split(sign(t, live, identitytoken.Claims{Subject: "user-42"}, now), ".")
		forged, _ := json.Marshal(map[string]any{"sub": "admin", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
		none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
		bad := map[string]string{
			"tampered":     parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2],
			"expired":      sign(t, live, identitytoken.Claims{Subject: "user-42", IssuedAt: now.Add(-3 * time.Hour), ExpiresAt: now.Add(-2 * time.Hour)}, now),
			"wrong secret": sign(t, "isec_not-the-secret", identitytoken.Claims{Subject: "user-42"}, now),
			"alg none":     none + "." + parts[1] + ".",
			"test secret":  sign(t, test, identitytoken.Claims{Subject: "user-42"}, now),
			"garbage":      "not a token",
		}
		for name, tok := range bad {
			t.Run(name, func(t *testing.T) {
				wantIdentifyFailed(t, identify(s, t, s.PKLive, protocol.IdentifyRequest{Token: tok}))
			})
		}
		// The test secret works in test mode, where user-42 is a new customer.
		cust, _ = identify(s, t, s.PKTest, protocol.IdentifyRequest{Token: bad["test secret"]}).Want(t, 200).Data(t)["customer"].(map[string]any)
		if str(cust["id"]) == id {
			t.Errorf("test-mode identify returned the live customer")
		}

		// A jti is accepted once only.
		tok = sign(t, live, identitytoken.Claims{Subject: "user-42", ID: "once"}, now)
		identify(s, t, s.PKLive, protocol.IdentifyRequest{Token: tok}).Want(t, 200)
		wantIdentifyFailed(t, identify(s, t, s.PKLive, protocol.IdentifyRequest{Token: tok}))
		// ... per team and mode.
		tok = sign(t, test, identitytoken.Claims{Subject: "user-42", ID: "once"}, now)
		identify(s, t, s.PKTest, protocol.IdentifyRequest{Token: tok}).Want(t, 200)

		// Secret keys cannot identify.
		tok = sign(t, live, identitytoken.Claims{Subject: "user-42"}, now)
		identify(s, t, s.SKLive, protocol.IdentifyRequest{Token: tok}).Want(t, 403)
	})
}

func TestWidgetIdentifyUserHash(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s := newTestServer(t, dbURL)
		live := s.Team.IdentitySecrets[scope.Live]
		hash := identitytoken.UserHash([]byte(live), "user-7")

		d := identify(s, t, s.PKLive, protocol.IdentifyRequest{UserID: "user-7", UserHash: hash, Email: "u7@example.com", Name: "Seven"}).Want(t, 200).Data(t)
		cust, _ := d["customer"].(map[string]any)
		if str(cust["external_id"]) != "user-7" || str(cust["email"]) != "u7@example.com" || str(cust["name"]) != "Seven" {
			t.Fatalf("customer: got %v", cust)
		}
		ses, _ := d["session"].(map[string]any)
		s.Do(t, "GET", wv1+"/me", s.PKLive, nil, protocol.SessionHeader, str(ses["token"])).Want(t, 200)

		for name, in := range map[string]protocol.IdentifyRequest{
			"wrong hash":   {UserID: "user-8", UserHash: hash},
			"no hash":      {UserID: "user-7"},
			"short hash":   {UserID: "user-7", UserHash: hash[:10]},
			"test secret":  {UserID: "user-7", UserHash: identitytoken.UserHash([]byte(s.Team.IdentitySecrets[scope.Test]), "user-7")},
			"both":         {UserID: "user-7", UserHash: hash, Token: "a.b.c"},
			"empty":        {},
			"control char": {UserID: "user\n7", UserHash: identitytoken.UserHash([]byte(live), "user\n7")},
		} {
			t.Run(name, func(t *testing.T) {
				wantIdentifyFailed(t, identify(s, t, s.PKLive, in))
			})
		}

		// Switched off, a valid hash fails; tokens still work.
		s.Do(t, "PATCH", s.Path("/identity-settings"), s.PKLive, map[string]any{"user_hash_enabled": false}).Want(t, 403)
		got := s.Do(t, "PATCH", s.Path("/identity-settings"), s.SKLive, map[string]any{"user_hash_enabled": false}).Want(t, 200).Data(t)
		if got["user_hash_enabled"] != false {
			t.Errorf("settings: got %v, want user_hash_enabled false", got)
		}
		wantIdentifyFailed(t, identify(s, t, s.PKLive, protocol.IdentifyRequest{UserID: "user-7", UserHash: hash}))
		tok := sign(t, live, identitytoken.Claims{Subject: "user-7"}, s.Clock.Now())
		identify(s, t, s.PKLive, protocol.IdentifyRequest{Token: tok}).Want(t, 200)

		// The setting is per mode: a test key cannot switch live's back on
		// (before, sk_test could).
		s.Do(t, "PATCH", s.Path("/identity-settings"), s.SKTest, map[string]any{"user_hash_enabled": true}).Want(t, 200)
		wantIdentifyFailed(t, identify(s, t, s.PKLive, protocol.IdentifyRequest{UserID: "user-7", UserHash: hash}))
		s.Do(t, "PATCH", s.Path("/identity-settings"), s.SKLive, map[string]any{"user_hash_enabled": true}).Want(t, 200)
		identify(s, t, s.PKLive, protocol.IdentifyRequest{UserID: "user-7", UserHash: hash}).Want(t, 200)
	})
}

func TestIdentitySecretRoll(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s := newTestServer(t, dbURL)
		old := s.Team.IdentitySecrets[scope.Live]
		roll := func(body any) string {
			t.Helper()
			d := s.Do(t, "POST", s.Path("/identity-secret/roll"), s.SKLive, body).Want(t, 200).Data(t)
			sec := str(d["secret"])
			if !strings.HasPrefix(sec, "isec_") || str(d["mode"]) != "live" {
				t.Fatalf("roll: got %v, want an isec_ secret in live mode", d)
			}
			return sec
		}
		works := func(secret, user string) *resp {
			t.Helper()
			return identify(s, t, s.PKLive, protocol.IdentifyRequest{UserID: user, UserHash: identitytoken.UserHash([]byte(secret), user)})
		}

		s.Do(t, "POST", s.Path("/identity-secret/roll"), s.PKLive, nil).Want(t, 403)
		s.Do(t, "POST", s.Path("/identity-secret/roll"), s.SKLive, map[string]any{"expires_in": 8 * 24 * 3600}).WantError(t, 400, "").WantField(t, "expires_in")

		// Without grace the old secret stops at once.
		next := roll(nil)
		wantIdentifyFailed(t, works(old, "u1"))
		works(next, "u1").Want(t, 200)
		// The test mode's secret is untouched.
		tok := sign(t, s.Team.IdentitySecrets[scope.Test], identitytoken.Claims{Subject: "u1"}, s.Clock.Now())
		identify(s, t, s.PKTest, protocol.IdentifyRequest{Token: tok}).Want(t, 200)

		// With grace both verify until it ends; tokens too.
		newest := roll(map[string]any{"expires_in": 3600})
		works(next, "u2").Want(t, 200)
		works(newest, "u2").Want(t, 200)
		tok = sign(t, next, identitytoken.Claims{Subject: "u2", KeyID: "old"}, s.Clock.Now())
		identify(s, t, s.PKLive, protocol.IdentifyRequest{Token: tok}).Want(t, 200)
		s.Clock.Advance(time.Hour + time.Second)
		wantIdentifyFailed(t, works(next, "u2"))
		works(newest, "u2").Want(t, 200)
	})
}
