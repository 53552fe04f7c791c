package dashboard_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/mail"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// mailEnv is newEnv with its mail going through a test relay.
func mailEnv(t *testing.T, dbURL string) (*env, *apptest.SMTP) {
	t.Helper()
	relay := apptest.StartSMTP(t)
	return newEnv(t, dbURL, apptest.Mail(relay), apptest.TrustLoopbackProxy), relay
}

// tokenOf returns the token in the fragment of m's link to the dashboard.
func tokenOf(t *testing.T, e *env, m *apptest.Received, path string) string {
	t.Helper()
	link := m.Link(t, e.URL+path+"#token=")
	return strings.TrimPrefix(link, e.URL+path+"#token=")
}

// TestInvitationMailed: an invitation is emailed with a token of its own in
// the link's fragment; it opens the invitation and works once, like the
// link shown to the inviter.
func TestInvitationMailed(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		e, relay := mailEnv(t, dbURL)
		b := e.as(t, "olive@acme.example")
		b.Get(t, "/app/settings/team")
		r := b.Post(t, "/app/settings/team/invitations", form("email", "ivy@acme.example", "role", "admin"))
		wantStatus(t, "invite", r, http.StatusCreated)
		if !has(r, "on its way to ivy@acme.example by email") {
			t.Error("the team page does not say the invitation was emailed")
		}
		m := relay.WaitTo(t, "ivy@acme.example", 1)
		if m.Subject != "Olive invited you to Acme on cStar" || !m.TLS || m.HTML == "" {
			t.Errorf("invitation mail: subject %q, TLS %v, HTML %d bytes", m.Subject, m.TLS, len(m.HTML))
		}
		if !strings.Contains(m.Text, "as an admin") {
			t.Errorf("invitation mail: no role in\n%s", m.Text)
		}
		tok := tokenOf(t, e, m, "/app/invite")
		shown := between(string(r.Raw), "/app/invite#token=", `"`)
		if tok == shown || !strings.HasPrefix(tok, "cinv_") {
			t.Fatalf("the mailed token %q: want a cinv_ token of its own", tok)
		}
		ivy := e.Browser(t)
		ivy.Get(t, "/app/invite")
		if r := ivy.Post(t, "/app/invite/open", form("token", tok)); r.Status != http.StatusOK || !has(r, "ivy@acme.example") {
			t.Fatalf("open the mailed invitation: got %d", r.Status)
		}
		wantRedirect(t, "accept", ivy.Post(t, "/app/invite", form("token", tok, "name", "Ivy", "password", apptest.AgentPassword)), "/app/inbox")
		// Accepted: neither token opens it again.
		for _, tk := range []string{tok, shown} {
			again := e.Browser(t)
			again.Get(t, "/app/invite")
			wantStatus(t, "an accepted invitation", again.Post(t, "/app/invite/open", form("token", tk)), http.StatusNotFound)
		}
		// A withdrawn invitation's mail is not sent: the relay is down
		// until the withdrawal.
		relay.Stop()
		b.Get(t, "/app/settings/team")
		wantStatus(t, "invite", b.Post(t, "/app/settings/team/invitations", form("email", "late@acme.example", "role", "agent")),
			http.StatusCreated)
		// Its first attempt fails (the relay is down); the withdrawal comes
		// before the next. (A withdrawal during a delivery cannot stop it.)
		for deadline := time.Now().Add(apptest.Wait); ; {
			js, _ := e.App.Mail().Recent(t.Context(), e.Team.ID, 10)
			if len(js) > 0 && js[0].Kind == mail.AgentInvitation && js[0].LastError != "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the invitation's first attempt: %+v", js)
			}
			e.App.Mail().Wake()
			time.Sleep(20 * time.Millisecond)
		}
		invs, err := e.App.Agents().Invitations(t.Context(), e.Team.ID)
		withdrawn := 0
		for _, inv := range invs {
			if inv.Email == "late@acme.example" {
				wantRedirect(t, "withdraw", b.Post(t, "/app/settings/team/invitations/"+inv.ID+"/withdraw", nil), "/app/settings/team")
				withdrawn++
			}
		}
		if err != nil || withdrawn != 1 {
			t.Fatalf("withdraw: %d invitations, %v", withdrawn, err)
		}
		relay.Start(t)
		e.Clock.Advance(2 * time.Hour)
		deadline := time.Now().Add(apptest.Wait)
		for {
			js, _ := e.App.Mail().Recent(t.Context(), e.Team.ID, 10)
			if len(js) > 0 && js[0].Kind == mail.AgentInvitation && js[0].Status == mail.Dropped {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the withdrawn invitation's job: %+v", js[0])
			}
			// A retry scheduled while the clock moved on comes due too.
			e.Clock.Advance(time.Minute)
			e.App.Mail().Wake()
			time.Sleep(20 * time.Millisecond)
		}
		if n := len(relay.To("late@acme.example")); n != 0 {
			t.Errorf("mails to a withdrawn invitation: got %d, want 0", n)
		}
	})
}

// TestAgentPasswordReset: an agent resets a forgotten password with a
// mailed link (the same answer for an unknown address); it works once, ends
// the agent's other sessions and signs in.
func TestAgentPasswordReset(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		e, relay := mailEnv(t, dbURL)
		old := e.as(t, "mo@acme.example")
		wantStatus(t, "the inbox", old.Get(t, "/app/inbox"), http.StatusOK)

		b := e.Browser(t)
		if !has(b.Get(t, "/app/login"), `href="/app/forgot"`) {
			t.Error("the sign-in page has no link to /app/forgot")
		}
		b.Get(t, "/app/forgot")
		known := b.Post(t, "/app/forgot", form("email", "mo@acme.example"))
		b.Get(t, "/app/forgot")
		unknown := b.Post(t, "/app/forgot", form("email", "nobody@acme.example"))
		wantStatus(t, "forgot", known, http.StatusOK)
		wantStatus(t, "forgot, unknown", unknown, http.StatusOK)
		if !has(known, "is on its way") || !has(unknown, "is on its way") {
			t.Error("the answers do not both say a link is on its way")
		}
		m := relay.WaitTo(t, "mo@acme.example", 1)
		if !strings.HasPrefix(m.Subject, "Reset your password") {
			t.Errorf("subject: %q", m.Subject)
		}
		tok := tokenOf(t, e, m, "/app/reset")
		if !strings.HasPrefix(tok, "apr_") {
			t.Fatalf("reset token: %q", tok)
		}
		b.Get(t, "/app/reset")
		wantStatus(t, "a weak password", b.Post(t, "/app/reset", form("token", tok, "password", "password123")), http.StatusBadRequest)
		wantRedirect(t, "reset", b.Post(t, "/app/reset", form("token", tok, "password", "a fresh staple of horses")), "/app/inbox")
		wantStatus(t, "the new session", b.Get(t, "/app/inbox"), http.StatusOK)
		wantRedirect(t, "the old session", old.Get(t, "/app/inbox"), "/app/login")
		again := e.Browser(t)
		again.Get(t, "/app/reset")
		if r := again.Post(t, "/app/reset", form("token", tok, "password", "yet another staple")); r.Status != http.StatusBadRequest ||
			!has(r, "not valid or has expired") {
			t.Errorf("the used link: got %d", r.Status)
		}
		again.Get(t, "/app/login")
		wantRedirect(t, "sign in with the new password", again.Post(t, "/app/login", form("email", "mo@acme.example",
			"password", "a fresh staple of horses")), "/app/inbox")
		settleMail(e)
		if n := len(relay.To("nobody@acme.example")); n != 0 {
			t.Errorf("mails to an unknown address: %d", n)
		}
	})
}

func settleMail(e *env) {
	for range 5 {
		e.App.Mail().Wake()
		time.Sleep(60 * time.Millisecond)
	}
}

// TestAgentNotifications: an agent who asks for it hears of new
// conversations, and of a customer's reply in a conversation assigned to
// them that they did not read within a minute; the others hear nothing.
func TestAgentNotifications(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		e, relay := mailEnv(t, dbURL)
		mo := e.as(t, "mo@acme.example")
		page := mo.Get(t, "/app/account")
		if !has(page, `name="new_conversations"`) {
			t.Fatal("the account page has no notification settings")
		}
		wantRedirect(t, "save", mo.Post(t, "/app/account/notifications", form("new_conversations", "on", "assigned_replies", "on")), "/app/account")
		if !has(mo.Get(t, "/app/account"), `name="new_conversations" checked`) {
			t.Error("the setting is not kept")
		}
		w, ticket := e.chat(t, e.PKLive, "Cleo", "My parcel is late")
		m := relay.WaitTo(t, "mo@acme.example", 1)
		if m.Subject != "[Acme] New conversation from Cleo: My parcel is late" || !strings.Contains(m.Text, "My parcel is late") ||
			!strings.Contains(m.Text, e.URL+"/app/conversations/"+ticket) {
			t.Errorf("new conversation mail: %q\n%s", m.Subject, m.Text)
		}
		// Assigned to Mo: a reply Mo has not read within a minute is mailed.
		mo.Get(t, "/app/conversations/"+ticket)
		mo.Post(t, "/app/conversations/"+ticket+"/read", form("seq", "1"), "Accept", "application/json") // as the page's script does
		mo.Post(t, "/app/conversations/"+ticket+"/assign", form("assignee", "me"))
		w.SendMsg("c2", "Any news?")
		w.WaitFor("ack")
		settleMail(e)
		if n := len(relay.To("mo@acme.example")); n != 1 {
			t.Fatalf("before a minute: %d mails", n)
		}
		e.Clock.Advance(time.Minute + time.Second)
		m = relay.WaitTo(t, "mo@acme.example", 2)
		if m.Subject != "[Acme] Cleo replied: My parcel is late" || !strings.Contains(m.Text, "Any news?") ||
			strings.Contains(m.Text, "My parcel is late\n") {
			t.Errorf("reply mail: %q\n%s", m.Subject, m.Text)
		}
		// Read in time: no mail.
		w.SendMsg("c3", "Hello?")
		ack := w.WaitFor("ack")
		seq := ack["message"].(map[string]any)["seq"].(float64)
		mo.Post(t, "/app/conversations/"+ticket+"/read", form("seq", strings.TrimSuffix(strings.TrimSuffix(fmtSprint(seq), ".0"), "\n")),
			"Accept", "application/json")
		e.Clock.Advance(time.Minute + time.Second)
		settleMail(e)
		if n := len(relay.To("mo@acme.example")); n != 2 {
			t.Errorf("a reply read in time: %d mails, want 2", n)
		}
		for _, who := range []string{"olive@acme.example", "ada@acme.example"} {
			if n := len(relay.To(who)); n != 0 {
				t.Errorf("%s asked for nothing and got %d mails", who, n)
			}
		}
	})
}

// TestEmailSettings: owners and admins set the mode's pages and the team's
// sender; without a relay the page shows the dev mailbox, links and all.
func TestEmailSettings(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		b := e.as(t, "ada@acme.example")
		page := b.Get(t, "/app/settings/email")
		wantStatus(t, "the email page", page, http.StatusOK)
		if !has(page, "Dev mailbox") {
			t.Error("no dev mailbox on a server without a relay")
		}
		wantRedirect(t, "save", b.Post(t, "/app/settings/email", form("password_reset_url", "https://shop.example/reset",
			"chat_url", "https://shop.example/help", "mail_from", "help@shop.example")), "/app/settings/email")
		if r := b.Post(t, "/app/settings/email", form("password_reset_url", "https://shop.example/reset#x", "chat_url", "")); !strings.Contains(r.Header.Get("Location"), "/app/settings/email") {
			t.Errorf("a page with a fragment: got %d", r.Status)
		}
		d := e.Do(t, "GET", e.Path(""), e.SKLive, nil).Want(t, 200).Data(t)
		if d["password_reset_url"] != "https://shop.example/reset" || d["chat_url"] != "https://shop.example/help" || d["mail_from"] != "help@shop.example" {
			t.Errorf("team: got %v", d)
		}
		// Test mode has its own pages and no sender field.
		test := b.Get(t, "/app/test/settings/email")
		if has(test, `name="mail_from"`) || has(test, "https://shop.example/reset") {
			t.Error("the test view shows the live settings")
		}
		// A verification mail lands in the dev mailbox, with its link.
		e.customer(t, e.PKLive, "Dora")
		deadline := time.Now().Add(apptest.Wait)
		for !has(b.Get(t, "/app/settings/email"), "https://shop.example/help#cstar_verify=cev_") {
			if time.Now().After(deadline) {
				t.Fatal("the dev mailbox does not show the verification link")
			}
			e.App.Mail().Wake()
			time.Sleep(50 * time.Millisecond)
		}
		wantStatus(t, "an agent", e.as(t, "mo@acme.example").Get(t, "/app/settings/email"), http.StatusForbidden)
	})
}
