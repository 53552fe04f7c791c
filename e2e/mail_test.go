package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cstar-chat/cstar/server/apptest"
)

// mailEnv is newEnv whose mail goes through a test relay, with the site's
// page (with the widget) as the test mode's password-reset and chat page.
func mailEnv(t *testing.T, dialect string) (*env, *apptest.SMTP) {
	t.Helper()
	relay := apptest.StartSMTP(t)
	e := newEnvOn(t, dialect, databaseURL(t, dialect), apptest.Mail(relay))
	page := e.page("test") + "&ui=1"
	raw, _ := json.Marshal(map[string]string{"password_reset_url": page, "chat_url": page})
	req, _ := http.NewRequest("PATCH", e.API+"/api/v1/teams/"+e.TeamID, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+e.SKTest)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("set the team's pages: %v %v", res, err)
	}
	res.Body.Close()
	return e, relay
}

// signUp signs a customer up through the SDK of tb.
func signUp(t *testing.T, tb *tab, email string) customer {
	t.Helper()
	return tb.call(t, `CStarChat.signup(`+args(map[string]string{"email": email, "name": strings.Split(email, "@")[0],
		"password": password})+`)`).customer(t)
}

// TestPasswordResetJourney: a customer who forgot the password asks for a
// link in the widget; the mail arrives at the relay; its link opens the
// site's page, where the widget takes the token from the fragment, asks for
// the new password and signs in; the session of another browser closes.
func TestPasswordResetJourney(t *testing.T) {
	requireBrowser(t)
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			e, relay := mailEnv(t, dialect)
			page := e.page("test") + "&ui=1"
			other := newTab(t, nil)
			other.open(t, page)
			signUp(t, other, "rita@example.com")
			other.waitFor(t, `CStarChat.connectionState() === "open"`, 15*time.Second)
			relay.WaitTo(t, "rita@example.com", 1) // the verification

			tb := newTab(t, nil)
			tb.open(t, page)
			tb.waitFor(t, uiUp, 10*time.Second)
			eval[bool](t, tb, sr+`.querySelector(".launcher").click(), true`)
			clickButton(t, tb, "Have an account? Log in")
			clickButton(t, tb, "Forgot your password?")
			tb.waitFor(t, sr+`.querySelector("input[name=email]")`, 5*time.Second)
			eval[bool](t, tb, `(() => { const f = `+sr+`.querySelector("form.auth"); f.email.value = "rita@example.com";
				f.querySelector("button[type=submit]").click(); return true; })()`)
			tb.waitFor(t, sr+`.querySelector(".note").textContent.includes("on its way")`, 10*time.Second)

			m := relay.WaitTo(t, "rita@example.com", 2)
			link := m.Link(t, e.Site)
			if !strings.HasPrefix(link, page+"#cstar_reset=cpr_") {
				t.Fatalf("the mail's link: %q, want the site's page with the token in the fragment", link)
			}
			if !strings.Contains(m.HTML, html.EscapeString(link)) || !m.TLS {
				t.Errorf("the mail: HTML without the link, or TLS %v", m.TLS)
			}
			tb.open(t, link)
			tb.waitFor(t, sr+`.querySelector("form.auth input[name=password]") && !`+sr+`.querySelector(".panel").hidden`, 10*time.Second)
			if h := eval[string](t, tb, `location.hash`); h != "" {
				t.Errorf("the address keeps the token: %q", h)
			}
			eval[bool](t, tb, `(() => { const f = `+sr+`.querySelector("form.auth"); f.password.value = "short";
				f.querySelector("button[type=submit]").click(); return true; })()`)
			tb.waitFor(t, sr+`.querySelector(".err").textContent !== ""`, 10*time.Second)
			eval[bool](t, tb, `(() => { const f = `+sr+`.querySelector("form.auth"); f.password.value = "a brand new passphrase";
				f.querySelector("button[type=submit]").click(); return true; })()`)
			tb.waitFor(t, `CStarChat.isIdentified() && !`+sr+`.querySelector(".composer").hidden`, 15*time.Second)
			if c := tb.state(t).Customer; c == nil || c.Email != "rita@example.com" {
				t.Errorf("signed in as %+v, want rita", c)
			}
			if !eval[bool](t, tb, `CStarChat.getCustomer().emailVerified === true`) {
				t.Error("after the reset: emailVerified false, want true (the mail reached the address)")
			}
			// The other browser's session ended: its socket closed and it
			// is signed out.
			other.waitFor(t, `!CStarChat.isIdentified()`, 15*time.Second)
			tb.noViolations(t)
			other.noViolations(t)
			// The same link does not work twice.
			again := newTab(t, nil)
			again.open(t, link)
			again.waitFor(t, sr+`.querySelector("form.auth input[name=password]")`, 10*time.Second)
			eval[bool](t, again, `(() => { const f = `+sr+`.querySelector("form.auth"); f.password.value = "yet another passphrase";
				f.querySelector("button[type=submit]").click(); return true; })()`)
			again.waitFor(t, sr+`.querySelector(".err").textContent.includes("expired or was already used")`, 10*time.Second)
		})
	}
}

// TestOfflineReplyJourney: a customer who confirmed the email through the
// widget leaves the page; the agent replies and the email arrives after the
// delay, with the reply and a link to the chat page; a customer who stayed
// gets none.
func TestOfflineReplyJourney(t *testing.T) {
	requireBrowser(t)
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			e, relay := mailEnv(t, dialect)
			page := e.page("test") + "&ui=1"

			// Leo confirms the email by opening the link: the widget does it.
			leo := newTab(t, nil)
			leo.open(t, page)
			signUp(t, leo, "leo@example.com")
			verify := relay.WaitTo(t, "leo@example.com", 1).Link(t, e.Site)
			if !strings.HasPrefix(verify, page+"#cstar_verify=cev_") {
				t.Fatalf("verification link: %q", verify)
			}
			leo.open(t, verify)
			leo.waitFor(t, sr+`.querySelector("[role=status]") && `+sr+`.querySelector(".panel").textContent.includes("confirmed")`, 10*time.Second)
			leo.waitFor(t, `CStarChat.getCustomer() && CStarChat.getCustomer().emailVerified === true`, 10*time.Second)
			sent := leo.call(t, `CStarChat.sendMessage("Is my order on its way?")`)
			if !sent.OK {
				t.Fatalf("send: %s", sent.Message)
			}
			var msg struct{ TicketID string }
			json.Unmarshal(sent.Value, &msg)
			// Leo leaves: the tab goes elsewhere, its socket with it.
			ctx, cancel := context.WithTimeout(leo.ctx, 10*time.Second)
			chromedp.Run(ctx, chromedp.Navigate("about:blank"))
			cancel()

			// Sue stays, with a token of the SDK's own.
			sue := newTab(t, nil)
			sue.open(t, page)
			signUp(t, sue, "sue@example.com")
			tok := strings.TrimPrefix(relay.WaitTo(t, "sue@example.com", 1).Link(t, e.Site), page+"#cstar_verify=")
			if r := sue.call(t, `CStarChat.verifyEmail(`+quote(tok)+`)`); !r.OK {
				t.Fatalf("verifyEmail: %s", r.Message)
			}
			sueSent := sue.call(t, `CStarChat.sendMessage("Do you ship to Spain?")`)
			var sueMsg struct{ TicketID string }
			json.Unmarshal(sueSent.Value, &sueMsg)
			sue.waitFor(t, `CStarChat.connectionState() === "open"`, 10*time.Second)

			e.agentPost(t, msg.TicketID, "It ships tomorrow morning.")
			e.agentPost(t, sueMsg.TicketID, "Yes, we do.")
			sue.waitFor(t, `__msgs.some(m => m.body === "Yes, we do.")`, 10*time.Second)
			// The socket records the delivery beside its writer.
			for deadline := time.Now().Add(10 * time.Second); ; {
				var delivered, last int64
				err := e.Server.App.DB().Bun().NewRaw("SELECT customer_delivered_seq, last_seq FROM tickets WHERE id = ?",
					sueMsg.TicketID).Scan(context.Background(), &delivered, &last)
				if err == nil && delivered == last {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("Sue's delivery is not recorded: %d of %d (%v)", delivered, last, err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			e.Server.Clock.Advance(5*time.Minute + time.Second)
			m := relay.WaitTo(t, "leo@example.com", 2)
			if m.Subject != "[TEST] New reply from E2E "+dialect || !strings.Contains(m.Text, "It ships tomorrow morning.") ||
				!strings.Contains(m.Text, page) || !strings.Contains(m.Text, "Replies to this email are not read yet") {
				t.Errorf("offline mail: %q\n%s", m.Subject, m.Text)
			}
			// Sue's check ends without mail.
			deadline := time.Now().Add(10 * time.Second)
			for {
				js, _ := e.Server.App.Mail().Recent(context.Background(), e.TeamID, 20)
				done := 0
				for _, j := range js {
					if j.Kind == "offline_reply" && j.FinishedAt != nil {
						done++
					}
				}
				if done >= 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("offline jobs: %+v", js)
				}
				e.Server.App.Mail().Wake()
				time.Sleep(50 * time.Millisecond)
			}
			if n := len(relay.To("sue@example.com")); n != 1 {
				t.Errorf("mails to the customer who stayed: got %d, want 1 (the verification)", n)
			}
			sue.noViolations(t)
		})
	}
}
