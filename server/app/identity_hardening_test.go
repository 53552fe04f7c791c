package app_test

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/identitytoken"
	"github.com/cstar-chat/cstar/server/internal/identity"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// The regression tests of the identity items of the hardening issue. Each
// one reproduces the attack and fails without its fix.

const wv1 = "/api/widget/v1"

func widgetSignup(t *testing.T, s *apptest.Server, email, name, pw string) *apptest.Resp {
	t.Helper()
	return s.Do(t, "POST", wv1+"/signup", s.PKLive, map[string]any{"email": email, "name": name, "password": pw})
}

func widgetLogin(t *testing.T, s *apptest.Server, email, pw, ip string) *apptest.Resp {
	t.Helper()
	return s.Do(t, "POST", wv1+"/login", s.PKLive, map[string]any{"email": email, "password": pw}, "X-Forwarded-For", ip)
}

func widgetIdentify(t *testing.T, s *apptest.Server, body any) *apptest.Resp {
	t.Helper()
	return s.Do(t, "POST", wv1+"/identify", s.PKLive, body)
}

func customerOf(t *testing.T, r *apptest.Resp) map[string]any {
	t.Helper()
	c, _ := r.Data(t)["customer"].(map[string]any)
	return c
}

func sessionOf(t *testing.T, r *apptest.Resp) string {
	t.Helper()
	ses, _ := r.Data(t)["session"].(map[string]any)
	return apptest.Str(ses["token"])
}

// Item 4: a holder of a valid user hash for their own user id sent the
// victim's email and name. The email became theirs: the victim's signup got
// 409, and agents saw the attacker as the victim.
func TestHardeningUserHashClaimsAreUnverified(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		s := apptest.Start(t, url)
		secret := []byte(s.Team.IdentitySecrets[scope.Live])
		hash := identitytoken.UserHash(secret, "attacker-1")
		r := widgetIdentify(t, s, protocol.IdentifyRequest{UserID: "attacker-1", UserHash: hash,
			Email: "Victim@Example.com", Name: "Victoria Owner"}).Want(t, 200)
		// The browser that sent the claims sees them back...
		if c := customerOf(t, r); apptest.Str(c["email"]) != "victim@example.com" || apptest.Str(c["name"]) != "Victoria Owner" {
			t.Errorf("identify answer: got %v, want the claims echoed", c)
		}
		// ...but nobody else takes the email as the customer's.
		me := s.Do(t, "GET", wv1+"/me", s.PKLive, nil, protocol.SessionHeader, sessionOf(t, r)).Want(t, 200).Data(t)
		if me["email"] != nil {
			t.Errorf("me: got email %v, want null (unproven)", me["email"])
		}
		api := s.Do(t, "GET", s.Path("/customers?external_id=attacker-1"), s.SKLive, nil).Want(t, 200).Items(t)
		if len(api) != 1 || api[0]["email"] != nil {
			t.Fatalf("API customer: got %v, want one without email", api)
		}
		// Agents see the claim, marked as such.
		if c := api[0]; c["unverified_email"] != "victim@example.com" || c["name_verified"] != false {
			t.Errorf("API customer: got unverified_email %v, name_verified %v; want the claim shown as unverified",
				c["unverified_email"], c["name_verified"])
		}
		sc := scope.Scope{TeamID: s.Team.ID, Mode: scope.Live}
		_, v, err := s.App.DB().IdentifiedByExternalID(context.Background(), sc, "attacker-1")
		if err != nil || v.UnverifiedEmail != "victim@example.com" || v.NameVerified {
			t.Errorf("stored: got %+v, %v; want the email kept as unverified and the name unverified", v, err)
		}
		if n := len(s.Do(t, "GET", s.Path("/customers?email=victim@example.com"), s.SKLive, nil).Want(t, 200).Items(t)); n != 0 {
			t.Errorf("customers found by the claimed email: got %d, want 0", n)
		}

		// The real owner signs up and in.
		own := widgetSignup(t, s, "victim@example.com", "Victoria Owner", "correct horse battery").Want(t, 201)
		ownID := apptest.Str(customerOf(t, own)["id"])
		widgetLogin(t, s, "victim@example.com", "correct horse battery", "").Want(t, 200)
		// Until the owner verifies it, the sign-in name finds nobody either
		// (only verified emails are looked up).
		if ids := s.Do(t, "GET", s.Path("/customers?email=victim@example.com"), s.SKLive, nil).Want(t, 200).IDs(t); len(ids) != 0 {
			t.Errorf("customers by email: got %v, want none before verification", ids)
		}
		if c := s.Do(t, "GET", s.Path("/customers/"+ownID), s.SKLive, nil).Want(t, 200).Data(t); c["email_verified"] != false {
			t.Errorf("a password account's sign-in name: got email_verified %v, want false", c["email_verified"])
		}
		// Repeating the claim changes nothing for the owner.
		widgetIdentify(t, s, protocol.IdentifyRequest{UserID: "attacker-1", UserHash: hash, Email: "victim@example.com"}).Want(t, 200)
		widgetLogin(t, s, "victim@example.com", "correct horse battery", "").Want(t, 200)

		// A signed token proves its email: the site's own user gets it,
		// blocked neither by the claim nor by the unproven sign-in name.
		tok, err := identitytoken.Sign(secret, identitytoken.Claims{Subject: "site-victim", Email: "victim@example.com", Name: "Victoria"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		c := customerOf(t, widgetIdentify(t, s, protocol.IdentifyRequest{Token: tok}).Want(t, 200))
		if apptest.Str(c["email"]) != "victim@example.com" {
			t.Errorf("token identify: got %v, want the proven email", c)
		}
		if _, v, _ := s.App.DB().IdentifiedByExternalID(context.Background(), sc, "site-victim"); !v.EmailVerified || !v.NameVerified {
			t.Errorf("token identify stored: got %+v, want email and name verified", v)
		}
		if c := s.Do(t, "GET", s.Path("/customers/"+apptest.Str(c["id"])), s.SKLive, nil).Want(t, 200).Data(t); c["email_verified"] != true || c["name_verified"] != true {
			t.Errorf("a token customer: got %v, want email and name verified", c)
		}
	})
}

// Item 5: five wrong passwords from anywhere made the right one get 429,
// and a few requests per half hour kept the account locked.
func TestHardeningNoAccountLockout(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		s := apptest.Start(t, url, apptest.TrustLoopbackProxy)
		const email, pw = "bob@example.com", "right password 1"
		widgetSignup(t, s, email, "Bob", pw).Want(t, 201)

		// One attacker address: blocked after five failures, itself only.
		for i := 1; i <= 4; i++ {
			widgetLogin(t, s, email, "wrong password", "203.0.113.66").WantError(t, 401, identity.MsgInvalidCredentials)
		}
		first := widgetLogin(t, s, email, "wrong password", "203.0.113.66").Want(t, 429)
		if ra, _ := strconv.Atoi(first.Header.Get("Retry-After")); ra != 30 {
			t.Errorf("Retry-After: got %d, want 30", ra)
		}
		widgetLogin(t, s, email, pw, "203.0.113.66").WantError(t, 429, identity.MsgTooManyAttempts)
		widgetLogin(t, s, email, pw, "198.51.100.7").Want(t, 200)

		// The attack goes on from many addresses, a few requests each, for
		// half an hour: the owner still signs in from a fresh address.
		for round := range 3 {
			for i := range 4 {
				ip := "203.0.113." + strconv.Itoa(100+10*round+i)
				r := widgetLogin(t, s, email, "wrong password", ip)
				if r.Status != 401 && r.Status != 429 {
					t.Fatalf("attack from %s: got %s, want 401 or 429", ip, r)
				}
			}
			s.Clock.Advance(10 * time.Minute)
			widgetLogin(t, s, email, pw, "198.51.100."+strconv.Itoa(20+round)).Want(t, 200)
		}

		// Under attack (10 failures within 15 minutes, from any address),
		// each further address gets one guess, then waits.
		widgetLogin(t, s, email, "wrong password", "203.0.113.200").WantError(t, 429, identity.MsgTooManyAttempts)
		widgetLogin(t, s, email, pw, "203.0.113.200").WantError(t, 429, identity.MsgTooManyAttempts)
		widgetLogin(t, s, email, pw, "198.51.100.30").Want(t, 200)
		// A failure of the owner's own costs the owner only their address's
		// wait, not the attack's.
		widgetLogin(t, s, email, "typo", "198.51.100.31").WantError(t, 429, identity.MsgTooManyAttempts)
		s.Clock.Advance(31 * time.Second)
		widgetLogin(t, s, email, pw, "198.51.100.31").Want(t, 200)

		// IPv6 clients count by their /64.
		s.Clock.Advance(time.Hour)
		for i := 1; i <= 5; i++ {
			widgetLogin(t, s, email, "wrong password", "2001:db8:1:2::"+strconv.Itoa(i))
		}
		widgetLogin(t, s, email, pw, "2001:db8:1:2::99").WantError(t, 429, identity.MsgTooManyAttempts)
		widgetLogin(t, s, email, pw, "2001:db8:1:3::1").Want(t, 200)

		// Per address over every account: 20 failures.
		s.Clock.Advance(time.Hour)
		for i := range 20 {
			widgetLogin(t, s, "u"+strconv.Itoa(i)+"@example.com", "wrong password", "192.0.2.9")
		}
		widgetLogin(t, s, email, pw, "192.0.2.9").WantError(t, 429, identity.MsgTooManyAttempts)
		widgetLogin(t, s, email, pw, "192.0.2.10").Want(t, 200)
	})
}

// Item 8: "aaaaaaaaaa", ten spaces, "abcdefghij" and "passwordpassword"
// were accepted; so was a password made of the email or the team's name.
func TestHardeningWeakPasswords(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		s := apptest.Start(t, url) // the team is "Acme"
		for _, tc := range []struct{ email, pw, want string }{
			{"a1@example.com", "aaaaaaaaaa", "too predictable"},
			{"a2@example.com", "          ", "too predictable"},
			{"a3@example.com", "abcdefghij", "too predictable"},
			{"a4@example.com", "passwordpassword", "repeats a short pattern"},
			{"zoltan.kovacsik@example.com", "zoltankovacsik7", "your email, your name or the team's name"},
			{"a5@example.com", "acmeacme2024!", "your email, your name or the team's name"},
		} {
			r := widgetSignup(t, s, tc.email, "Someone", tc.pw).WantError(t, 400, "").WantField(t, "password")
			if msg := apptest.Str(r.Body["error"]); !strings.Contains(msg, tc.want) {
				t.Errorf("signup with %q: got %q, want a message about %q", tc.pw, msg, tc.want)
			}
			// Nothing was kept: the email is still free.
			widgetLogin(t, s, tc.email, tc.pw, "").WantError(t, 401, identity.MsgInvalidCredentials)
		}
		widgetSignup(t, s, "a1@example.com", "Someone", "acme-rocket-blue-42").Want(t, 201)
	})
}

func signToken(t *testing.T, s *apptest.Server, c identitytoken.Claims) string {
	t.Helper()
	tok, err := identitytoken.Sign([]byte(s.Team.IdentitySecrets[scope.Live]), c, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Item 9: the jti guard was in memory, so a used token worked again after a
// restart, and on another process.
func TestHardeningTokenReplayAfterRestart(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		s := apptest.Start(t, url)
		tok := signToken(t, s, identitytoken.Claims{Subject: "user-1", ID: "once-only"})
		widgetIdentify(t, s, protocol.IdentifyRequest{Token: tok}).Want(t, 200)
		s.Stop(t)
		s.Restart(t)
		widgetIdentify(t, s, protocol.IdentifyRequest{Token: tok}).WantError(t, 401, identity.MsgIdentityFailed)
		// Another jti is still fresh.
		widgetIdentify(t, s, protocol.IdentifyRequest{Token: signToken(t, s, identitytoken.Claims{Subject: "user-1", ID: "another"})}).Want(t, 200)
	})
}

func TestHardeningTokenReplayOnAnotherProcess(t *testing.T) {
	url := testdb.Postgres(t)
	a := apptest.Start(t, url)
	b := apptest.Start(t, url, apptest.NoTeam)
	b.Team, b.PKLive = a.Team, a.PKLive
	tok := signToken(t, a, identitytoken.Claims{Subject: "user-1", ID: "once-only"})
	widgetIdentify(t, a, protocol.IdentifyRequest{Token: tok}).Want(t, 200)
	widgetIdentify(t, b, protocol.IdentifyRequest{Token: tok}).WantError(t, 401, identity.MsgIdentityFailed)
	widgetIdentify(t, a, protocol.IdentifyRequest{Token: tok}).WantError(t, 401, identity.MsgIdentityFailed)
}

// Item 10: the login throttle counted per process, so N processes gave N
// times the budget.
func TestHardeningThrottleSharedByProcesses(t *testing.T) {
	url := testdb.Postgres(t)
	a := apptest.Start(t, url, apptest.TrustLoopbackProxy)
	b := apptest.Start(t, url, apptest.TrustLoopbackProxy, apptest.NoTeam)
	b.Team, b.PKLive = a.Team, a.PKLive
	const email, pw = "bob@example.com", "right password 1"
	widgetSignup(t, a, email, "Bob", pw).Want(t, 201)
	for i := 1; i <= 4; i++ {
		widgetLogin(t, []*apptest.Server{a, b}[i%2], email, "wrong password", "203.0.113.5").
			WantError(t, 401, identity.MsgInvalidCredentials)
	}
	widgetLogin(t, a, email, "wrong password", "203.0.113.5").WantError(t, 429, identity.MsgTooManyAttempts)
	widgetLogin(t, b, email, pw, "203.0.113.5").WantError(t, 429, identity.MsgTooManyAttempts)
	widgetLogin(t, b, email, pw, "198.51.100.5").Want(t, 200)

	// The per-address throttle too: 20 failures over both processes.
	for i := range 20 {
		widgetLogin(t, []*apptest.Server{a, b}[i%2], "u"+strconv.Itoa(i)+"@example.com", "wrong password", "192.0.2.77")
	}
	widgetLogin(t, a, email, pw, "192.0.2.77").WantError(t, 429, identity.MsgTooManyAttempts)
	widgetLogin(t, b, email, pw, "192.0.2.77").WantError(t, 429, identity.MsgTooManyAttempts)
}

// A refused identify logs why at debug level, never the token, the hash or
// the secret.
func TestHardeningIdentifyLogsReason(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		var buf syncBuffer
		s := apptest.Start(t, url, apptest.Logger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
		secret := s.Team.IdentitySecrets[scope.Live]
		bad, err := identitytoken.Sign([]byte("not the secret"), identitytoken.Claims{Subject: "user-1"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		hash := identitytoken.UserHash([]byte("not the secret"), "user-2")
		widgetIdentify(t, s, protocol.IdentifyRequest{Token: bad}).WantError(t, 401, identity.MsgIdentityFailed)
		widgetIdentify(t, s, protocol.IdentifyRequest{UserID: "user-2", UserHash: hash}).WantError(t, 401, identity.MsgIdentityFailed)
		log := buf.String()
		for _, want := range []string{"signature does not match any secret", "user hash does not match"} {
			if !strings.Contains(log, want) {
				t.Errorf("log: want the reason %q in\n%s", want, log)
			}
		}
		for name, secretish := range map[string]string{"token": bad, "signature": bad[strings.LastIndex(bad, ".")+1:], "hash": hash, "secret": secret} {
			if strings.Contains(log, secretish) {
				t.Errorf("log holds the %s", name)
			}
		}
	})
}
