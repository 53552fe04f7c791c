package agent_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/cstar-chat/cstar/server/internal/agent"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/password"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/store"
	"github.com/cstar-chat/cstar/server/internal/storetest"
	"github.com/cstar-chat/cstar/server/internal/team"
)

const pw = "correct horse battery staple"

// clock is a time the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// ender records the ends it is told of.
type ender struct {
	mu   sync.Mutex
	ends []string // agent/session
}

func (e *ender) AgentEnded(_ context.Context, teamID, agentID, sessionID string) {
	e.mu.Lock()
	e.ends = append(e.ends, agentID+"/"+sessionID)
	e.mu.Unlock()
}

func (e *ender) got() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.ends...)
}

type env struct {
	ctx   context.Context
	db    *store.DB
	clk   *clock
	svc   *agent.Service
	ends  *ender
	team  team.Created
	teams *team.Service
	owner agent.Agent
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	h, err := password.New(argon2id.Params{Memory: 512, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}, 2, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	teams := team.NewService(db, clk.now)
	tm, err := teams.Create(ctx, "Acme", "acme")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{ctx: ctx, db: db, clk: clk, ends: &ender{}, team: tm, teams: teams}
	e.svc = agent.NewService(db, h, clk.now, agent.WithEnder(e.ends))
	e.owner = e.create(t, "olive@acme.example", "Olive", agent.Owner)
	return e
}

func (e *env) create(t *testing.T, email, name string, role agent.Role) agent.Agent {
	t.Helper()
	a, err := e.svc.Create(e.ctx, e.team.ID, "Acme", agent.NewAgent{Email: email, Name: name, Role: role, Password: pw})
	if err != nil {
		t.Fatalf("create %s: %v", email, err)
	}
	return a
}

func (e *env) signIn(t *testing.T, email string) agent.Issued {
	t.Helper()
	_, iss, err := e.svc.SignIn(e.ctx, email, pw, agent.Client{IP: "192.0.2.1"})
	if err != nil {
		t.Fatalf("sign in %s: %v", email, err)
	}
	return iss
}

func wantCode(t *testing.T, what string, err error, code errs.Code) {
	t.Helper()
	if errs.CodeOf(err) != code {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
}

func TestAgents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)

		t.Run("create_rules", func(t *testing.T) {
			for _, c := range []struct {
				name string
				in   agent.NewAgent
				code errs.Code
			}{
				{"duplicate email", agent.NewAgent{Email: "OLIVE@acme.example", Name: "O", Role: agent.Member, Password: pw}, errs.Conflict},
				{"bad role", agent.NewAgent{Email: "x@acme.example", Name: "X", Role: "root", Password: pw}, errs.Invalid},
				{"weak password", agent.NewAgent{Email: "x@acme.example", Name: "X", Role: agent.Member, Password: "password123"}, errs.Invalid},
				{"team name password", agent.NewAgent{Email: "x@acme.example", Name: "X", Role: agent.Member, Password: "acmeacme2024!"}, errs.Invalid},
				{"bad email", agent.NewAgent{Email: "not an email", Name: "X", Role: agent.Member, Password: pw}, errs.Invalid},
				{"no name", agent.NewAgent{Email: "x@acme.example", Name: " ", Role: agent.Member, Password: pw}, errs.Invalid},
			} {
				_, err := e.svc.Create(e.ctx, e.team.ID, "Acme", c.in)
				wantCode(t, c.name, err, c.code)
			}
		})

		t.Run("sign_in_rotates_and_expires", func(t *testing.T) {
			a := e.create(t, "sam@acme.example", "Sam", agent.Member)
			first := e.signIn(t, "Sam@Acme.example")
			second := e.signIn(t, "sam@acme.example")
			if first.Token == second.Token || first.Session.ID == second.Session.ID {
				t.Fatalf("two sign-ins: got the same session, want a new one each time")
			}
			if first.Session.Stage != agent.Full {
				t.Fatalf("stage: got %q, want a full session", first.Session.Stage)
			}
			if string(first.Session.TokenHash) == first.Token || len(first.Session.TokenHash) != 32 {
				t.Fatalf("token hash: got %x, want the SHA-256 of the token", first.Session.TokenHash)
			}
			ses, got, err := e.svc.Authenticate(e.ctx, first.Token)
			if err != nil || got.ID != a.ID || ses.ID != first.Session.ID {
				t.Fatalf("authenticate: got %+v, %v; want Sam", got, err)
			}
			// 12 hours idle end a session; use slides it, up to 7 days.
			e.clk.advance(11 * time.Hour)
			if _, _, err := e.svc.Authenticate(e.ctx, first.Token); err != nil {
				t.Fatalf("after 11 h: %v", err)
			}
			e.clk.advance(11 * time.Hour)
			if _, _, err := e.svc.Authenticate(e.ctx, first.Token); err != nil {
				t.Fatalf("after 22 h, used at 11 h: %v", err)
			}
			_, _, err = e.svc.Authenticate(e.ctx, second.Token)
			wantCode(t, "a session idle for 22 h", err, errs.Unauthorized)
			for range 14 {
				e.clk.advance(11 * time.Hour)
				e.svc.Authenticate(e.ctx, first.Token)
			}
			_, _, err = e.svc.Authenticate(e.ctx, first.Token)
			wantCode(t, "a busy session after 7 days", err, errs.Unauthorized)
			_, _, err = e.svc.Authenticate(e.ctx, "ca_nonsense")
			wantCode(t, "a malformed token", err, errs.Unauthorized)
		})

		t.Run("sign_out", func(t *testing.T) {
			iss := e.signIn(t, "olive@acme.example")
			if err := e.svc.SignOut(e.ctx, iss.Token); err != nil {
				t.Fatal(err)
			}
			_, _, err := e.svc.Authenticate(e.ctx, iss.Token)
			wantCode(t, "after sign-out", err, errs.Unauthorized)
			if got := e.ends.got(); len(got) == 0 || got[len(got)-1] != e.owner.ID+"/"+iss.Session.ID {
				t.Fatalf("ends: got %v, want the session's", got)
			}
		})

		t.Run("wrong_password_and_throttle", func(t *testing.T) {
			for i := range 5 {
				_, _, err := e.svc.SignIn(e.ctx, "olive@acme.example", "wrong password "+string(rune('a'+i)), agent.Client{IP: "198.51.100.7"})
				if i < 4 {
					wantCode(t, "a wrong password", err, errs.Unauthorized)
				} else {
					wantCode(t, "the fifth wrong password", err, errs.RateLimited)
				}
			}
			_, _, err := e.svc.SignIn(e.ctx, "olive@acme.example", pw, agent.Client{IP: "198.51.100.7"})
			wantCode(t, "the right password from the blocked address", err, errs.RateLimited)
			// The owner's own address was never blocked.
			if _, _, err := e.svc.SignIn(e.ctx, "olive@acme.example", pw, agent.Client{IP: "203.0.113.9"}); err != nil {
				t.Fatalf("from another address: %v", err)
			}
			_, _, err = e.svc.SignIn(e.ctx, "nobody@acme.example", pw, agent.Client{IP: "203.0.113.10"})
			wantCode(t, "an unknown email", err, errs.Unauthorized)
		})

		t.Run("removal_ends_sessions", func(t *testing.T) {
			a := e.create(t, "rem@acme.example", "Rem", agent.Member)
			iss := e.signIn(t, a.Email)
			if _, err := e.svc.Remove(e.ctx, e.owner, a.ID); err != nil {
				t.Fatal(err)
			}
			_, _, err := e.svc.Authenticate(e.ctx, iss.Token)
			wantCode(t, "a removed agent's session", err, errs.Unauthorized)
			if got := e.ends.got(); got[len(got)-1] != a.ID+"/" {
				t.Fatalf("ends: got %v, want every session of %s", got, a.ID)
			}
			_, _, err = e.svc.SignIn(e.ctx, a.Email, pw, agent.Client{IP: "192.0.2.1"})
			wantCode(t, "a removed agent signing in", err, errs.Unauthorized)
		})

		t.Run("roles", func(t *testing.T) {
			admin := e.create(t, "ada@acme.example", "Ada", agent.Admin)
			member := e.create(t, "mo@acme.example", "Mo", agent.Member)
			_, err := e.svc.Remove(e.ctx, member, admin.ID)
			wantCode(t, "an agent removing an admin", err, errs.Forbidden)
			_, err = e.svc.Remove(e.ctx, admin, e.owner.ID)
			wantCode(t, "an admin removing an owner", err, errs.Forbidden)
			_, err = e.svc.SetRole(e.ctx, admin, member.ID, agent.Owner)
			wantCode(t, "an admin making an owner", err, errs.Forbidden)
			_, _, err = e.svc.Invite(e.ctx, admin, "boss@acme.example", agent.Owner)
			wantCode(t, "an admin inviting an owner", err, errs.Forbidden)
			_, _, err = e.svc.Invite(e.ctx, member, "new@acme.example", agent.Member)
			wantCode(t, "an agent inviting", err, errs.Forbidden)
			_, err = e.svc.Remove(e.ctx, e.owner, e.owner.ID)
			wantCode(t, "an owner removing themselves", err, errs.Forbidden)
			_, err = e.svc.SetRole(e.ctx, e.owner, e.owner.ID, agent.Admin)
			if !errors.Is(err, agent.ErrLastOwner) {
				t.Fatalf("demoting the last owner: got %v, want ErrLastOwner", err)
			}
			admin, err = e.svc.SetRole(e.ctx, e.owner, admin.ID, agent.Owner)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.SetRole(e.ctx, e.owner, e.owner.ID, agent.Admin); err != nil {
				t.Fatalf("demoting one of two owners: %v", err)
			}
			if _, err := e.svc.SetRole(e.ctx, admin, e.owner.ID, agent.Owner); err != nil {
				t.Fatal(err)
			}
			other, err := e.teams.Create(e.ctx, "Other", "other")
			if err != nil {
				t.Fatal(err)
			}
			stranger, err := e.svc.Create(e.ctx, other.ID, "Other", agent.NewAgent{Email: "x@other.example", Name: "X", Role: agent.Owner, Password: pw})
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.Remove(e.ctx, e.owner, stranger.ID)
			wantCode(t, "removing another team's agent", err, errs.NotFound)
		})

		t.Run("invitations", func(t *testing.T) {
			inv, tok, err := e.svc.Invite(e.ctx, e.owner, "Ivy@Acme.example", agent.Member)
			if err != nil {
				t.Fatal(err)
			}
			if inv.Email != "ivy@acme.example" || !inv.ExpiresAt.Equal(inv.CreatedAt.Add(7*24*time.Hour)) {
				t.Fatalf("invitation: got %+v, want ivy@acme.example for 7 days", inv)
			}
			_, _, err = e.svc.Invite(e.ctx, e.owner, "olive@acme.example", agent.Member)
			wantCode(t, "inviting an agent's email", err, errs.Conflict)
			if got, err := e.svc.Invitations(e.ctx, e.team.ID); err != nil || len(got) != 1 {
				t.Fatalf("open invitations: got %d, %v; want 1", len(got), err)
			}
			// Two acceptances at once: one agent.
			var wg sync.WaitGroup
			errsAt := make([]error, 4)
			for i := range errsAt {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, _, errsAt[i] = e.svc.Accept(e.ctx, tok, "Ivy", pw, "Acme", agent.Client{})
				}()
			}
			wg.Wait()
			ok := 0
			for _, err := range errsAt {
				if err == nil {
					ok++
				} else if errs.CodeOf(err) != errs.NotFound && errs.CodeOf(err) != errs.Conflict {
					t.Fatalf("a losing acceptance: got %v, want not_found", err)
				}
			}
			if ok != 1 {
				t.Fatalf("concurrent acceptances: %d succeeded, want 1", ok)
			}
			_, _, err = e.svc.Accept(e.ctx, tok, "Ivy again", pw, "Acme", agent.Client{})
			wantCode(t, "a used invitation", err, errs.NotFound)
			if got, _ := e.svc.Invitations(e.ctx, e.team.ID); len(got) != 0 {
				t.Fatalf("open invitations after acceptance: got %d, want 0", len(got))
			}
			iss := e.signIn(t, "ivy@acme.example")
			if _, a, _ := e.svc.Authenticate(e.ctx, iss.Token); a.Role != agent.Member || a.Name != "Ivy" {
				t.Fatalf("the invited agent: got %+v", a)
			}

			// Expired after 7 days.
			_, tok2, err := e.svc.Invite(e.ctx, e.owner, "late@acme.example", agent.Admin)
			if err != nil {
				t.Fatal(err)
			}
			e.clk.advance(7*24*time.Hour + time.Second)
			_, _, err = e.svc.Accept(e.ctx, tok2, "Late", pw, "Acme", agent.Client{})
			wantCode(t, "an expired invitation", err, errs.NotFound)

			// Withdrawn.
			inv3, tok3, err := e.svc.Invite(e.ctx, e.owner, "gone@acme.example", agent.Member)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Withdraw(e.ctx, e.owner, inv3.ID); err != nil {
				t.Fatal(err)
			}
			_, _, err = e.svc.Accept(e.ctx, tok3, "Gone", pw, "Acme", agent.Client{})
			wantCode(t, "a withdrawn invitation", err, errs.NotFound)
			_, err = e.svc.Invitation(e.ctx, "cinv_x")
			wantCode(t, "a malformed invitation token", err, errs.NotFound)
		})

		t.Run("totp", func(t *testing.T) {
			a := e.create(t, "tess@acme.example", "Tess", agent.Member)
			full := e.signIn(t, a.Email)
			secret, url, err := e.svc.BeginTOTP(e.ctx, a)
			if err != nil || secret == "" || url == "" {
				t.Fatalf("begin: %q %q %v", secret, url, err)
			}
			if again, _, _ := e.svc.PendingTOTP(e.ctx, a); again != secret {
				t.Fatalf("pending secret: got %q, want %q", again, secret)
			}
			_, err = e.svc.EnableTOTP(e.ctx, a, full.Session, "000000", agent.Client{})
			wantCode(t, "enabling with a wrong code", err, errs.Invalid)
			code, _ := agent.Code(secret, e.clk.now())
			if _, err := e.svc.EnableTOTP(e.ctx, a, full.Session, code, agent.Client{}); err != nil {
				t.Fatalf("enable: %v", err)
			}
			// The password now starts a session that only the code completes.
			e.clk.advance(30 * time.Second)
			_, pending, err := e.svc.SignIn(e.ctx, a.Email, pw, agent.Client{IP: "192.0.2.1"})
			if err != nil || pending.Session.Stage != agent.WantsCode {
				t.Fatalf("sign in with a second factor: got stage %q, %v; want %q", pending.Session.Stage, err, agent.WantsCode)
			}
			code, _ = agent.Code(secret, e.clk.now())
			_, done, err := e.svc.VerifyCode(e.ctx, pending.Token, code, agent.Client{})
			if err != nil || done.Session.Stage != agent.Full || done.Token == pending.Token {
				t.Fatalf("verify: got %+v, %v; want a new full session", done.Session, err)
			}
			_, _, err = e.svc.Authenticate(e.ctx, pending.Token)
			wantCode(t, "the pending session after the code", err, errs.Unauthorized)
			// The same code, again: a replay.
			_, pending2, _ := e.svc.SignIn(e.ctx, a.Email, pw, agent.Client{IP: "192.0.2.1"})
			_, _, err = e.svc.VerifyCode(e.ctx, pending2.Token, code, agent.Client{})
			wantCode(t, "a code used twice", err, errs.Invalid)
			for range 3 {
				e.svc.VerifyCode(e.ctx, pending2.Token, "123456", agent.Client{})
			}
			_, _, err = e.svc.VerifyCode(e.ctx, pending2.Token, "123456", agent.Client{})
			wantCode(t, "the fifth wrong code", err, errs.Unauthorized)
			e.clk.advance(30 * time.Second)
			code, _ = agent.Code(secret, e.clk.now())
			_, _, err = e.svc.VerifyCode(e.ctx, pending2.Token, code, agent.Client{})
			wantCode(t, "the right code after five wrong ones", err, errs.Unauthorized)

			// A team that requires it: an agent without one must set it up.
			yes := true
			if _, err := e.teams.Apply(e.ctx, scope.Scope{TeamID: e.team.ID, Mode: scope.Live}, team.Update{RequireTOTP: &yes}); err != nil {
				t.Fatal(err)
			}
			_, err = e.teams.Apply(e.ctx, scope.Scope{TeamID: e.team.ID, Mode: scope.Test}, team.Update{RequireTOTP: &yes})
			wantCode(t, "the rule from test mode", err, errs.Forbidden)
			b := e.create(t, "bo@acme.example", "Bo", agent.Member)
			_, enroll, err := e.svc.SignIn(e.ctx, b.Email, pw, agent.Client{IP: "192.0.2.1"})
			if err != nil || enroll.Session.Stage != agent.WantsEnroll {
				t.Fatalf("sign in under the rule: got %q, %v; want %q", enroll.Session.Stage, err, agent.WantsEnroll)
			}
			sb, _, _ := e.svc.BeginTOTP(e.ctx, b)
			code, _ = agent.Code(sb, e.clk.now())
			iss, err := e.svc.EnableTOTP(e.ctx, b, enroll.Session, code, agent.Client{})
			if err != nil || iss.Session.Stage != agent.Full {
				t.Fatalf("enroll: got %+v, %v; want a full session", iss.Session, err)
			}
			err = e.svc.DisableTOTP(e.ctx, a, code)
			wantCode(t, "turning it off under the rule", err, errs.Forbidden)
		})
	})
}

// TestSecondFactorGuessing: someone who knows an agent's password cannot
// keep guessing the second factor by signing in again: wrong codes count
// per agent and client across sign-ins, and a right password does not reset
// them, so the guesses end in 429 within a few rounds. Before, every new
// sign-in gave five fresh guesses, without end.
func TestSecondFactorGuessing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		a := e.create(t, "gus@acme.example", "Gus", agent.Member)
		full := e.signIn(t, a.Email)
		secret, _, err := e.svc.BeginTOTP(e.ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		code, _ := agent.Code(secret, e.clk.now())
		if _, err := e.svc.EnableTOTP(e.ctx, a, full.Session, code, agent.Client{}); err != nil {
			t.Fatal(err)
		}
		attacker := agent.Client{IP: "198.51.100.7"}
		wrong := 0
		for round := range 10 {
			_, pending, err := e.svc.SignIn(e.ctx, a.Email, pw, attacker)
			if errs.Is(err, errs.RateLimited) {
				break
			}
			if err != nil {
				t.Fatalf("round %d: sign in: %v", round, err)
			}
			for range 5 {
				_, _, err = e.svc.VerifyCode(e.ctx, pending.Token, "000000", attacker)
				if errs.Is(err, errs.RateLimited) {
					break
				}
				wrong++
			}
			if errs.Is(err, errs.RateLimited) {
				break
			}
		}
		if wrong > 10 {
			t.Fatalf("wrong codes weighed before a 429: got %d, want at most 10", wrong)
		}
		// The owner of the second factor, from another address, still gets in.
		e.clk.advance(30 * time.Second)
		_, pending, err := e.svc.SignIn(e.ctx, a.Email, pw, agent.Client{IP: "192.0.2.50"})
		if err != nil {
			t.Fatal(err)
		}
		code, _ = agent.Code(secret, e.clk.now())
		if _, _, err := e.svc.VerifyCode(e.ctx, pending.Token, code, agent.Client{IP: "192.0.2.50"}); err != nil {
			t.Fatalf("the right code from the owner's address: %v", err)
		}
	})
}
