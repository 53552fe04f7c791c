package e2e

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/cstar-chat/cstar/demo"
	"github.com/cstar-chat/cstar/server/apptest"
)

// press types keys into the tab's focused element.
func (t *tab) press(tb testing.TB, keys string, opts ...chromedp.KeyOption) {
	tb.Helper()
	if err := chromedp.Do(t.ctx, chromedp.KeyEvent(keys, opts...)); err != nil {
		tb.Fatalf("keys %q: %v", keys, err)
	}
}

// activeIs is an expression true when the widget's focused field has the
// name (a quoted string).
func (t *tab) activeIs(name string) string {
	return sr + `.activeElement && ` + sr + `.activeElement.name === ` + name
}

// do runs a statement in the page.
func (t *tab) do(tb testing.TB, stmt string) {
	tb.Helper()
	eval[bool](tb, t, "(() => { "+stmt+"; return true })()")
}

// TestAccessibility runs axe-core over every state of what cStar renders:
// the widget on a customer's page (its host element and shadow root), the
// dashboard and the demo store (the whole page). A serious or critical
// violation fails the test; moderate and minor ones are logged (go test -v
// prints the counts per state, which docs/accessibility.md records).
func TestAccessibility(t *testing.T) {
	requireBrowser(t)
	if _, err := axeSource(); err != nil {
		t.Fatalf("axe-core is not installed in e2e/node_modules: run make test-tools (npm ci in e2e): %v", err)
	}
	e := newEnv(t, "sqlite")
	e.seedHelp(t)
	t.Run("widget", func(t *testing.T) { axeWidget(t, e) })
	t.Run("dashboard", func(t *testing.T) { axeDashboard(t, e) })
	t.Run("demo", func(t *testing.T) { axeDemo(t, e) })
}

// axeWidget walks the widget through its states as a visitor does.
func axeWidget(t *testing.T, e *env) {
	tb := newTab(t, nil)
	if err := chromedp.Do(tb.ctx, chromedp.EmulateViewport(1100, 760)); err != nil {
		t.Fatal(err)
	}
	tb.visit(t, e.page("test")+"&ui=1&lazy=1")
	tb.waitFor(t, uiUp, 10*time.Second)
	tb.axe(t, "widget: closed", scopeWidget)

	// Help first: the popular articles, a search, an article.
	tb.do(t, sr+`.querySelector(".launcher").click()`)
	tb.waitFor(t, sr+`.querySelectorAll("ul.arts li").length === 3`, 10*time.Second)
	tb.axe(t, "widget: open, help articles", scopeWidget)
	tb.do(t, sr+`.querySelector("input[type=search]").focus()`)
	tb.press(t, "password")
	tb.waitFor(t, sr+`.querySelectorAll("ul.arts li").length === 1`, 10*time.Second)
	// Excerpts read as text: no Markdown marks, link texts without addresses.
	if got := eval[string](t, tb, sr+`.querySelector("ul.arts li span").textContent`); strings.ContainsAny(got, "*[]()") ||
		!strings.Contains(got, "Account → Security and choose Reset password") {
		t.Errorf("search excerpt %q: want plain text", got)
	}
	tb.axe(t, "widget: article search", scopeWidget)
	tb.do(t, sr+`.querySelector("ul.arts button").click()`)
	tb.waitFor(t, sr+`.querySelector("article")`, 5*time.Second)
	tb.axe(t, "widget: an open article", scopeWidget)

	// The chat, empty; the first message and the email asked after it.
	clickButton(t, tb, "Chat with us")
	tb.waitFor(t, `!`+sr+`.querySelector(".composer").hidden && `+sr+`.activeElement && `+sr+`.activeElement.tagName === "TEXTAREA"`, 10*time.Second)
	tb.axe(t, "widget: empty conversation", scopeWidget)
	tb.press(t, "Hello, I ordered a mug last week."+kb.Enter)
	tb.waitFor(t, sr+`.querySelector("li.mine[data-seq='1']") && `+sr+`.querySelector("li.card input[type=email]")`, 15*time.Second)
	tb.axe(t, "widget: the email asked after a message", scopeWidget)

	// A long conversation: runs of messages by each side, grouped.
	send := func(body string) string {
		t.Helper()
		return tb.call(t, `CStarChat.sendMessage(`+args(body)+`)`).message(t).TicketID
	}
	ticket := send("Order number 1042.")
	send("It has not arrived yet.")
	for _, b := range []string{"Hi, thanks for writing.", "Let me look at order 1042.", "It left our warehouse on Monday: https://example.com/track/1042"} {
		e.agentPost(t, ticket, b)
	}
	send("Thanks!")
	send("Can I change the address?")
	for _, b := range []string{"Yes, until it ships.", "It already has, sorry.", "It should arrive tomorrow.", "Anything else?"} {
		e.agentPost(t, ticket, b)
	}
	tb.waitFor(t, sr+`.querySelectorAll("li[data-author]").length === 12`, 10*time.Second)
	tb.axe(t, "widget: long conversation, grouped", scopeWidget)

	// A failed and a pending message, the connection lost.
	tb.do(t, `const ta = `+sr+`.querySelector(".composer textarea"); ta.value = "x".repeat(4001); ta.focus()`)
	tb.press(t, kb.Enter)
	tb.waitFor(t, sr+`.querySelector("li.failed .meta button")`, 10*time.Second)
	e.stop(t)
	tb.waitFor(t, `CStarChat.connectionState() !== "open" && !`+sr+`.querySelector(".notice").hidden`, 15*time.Second)
	tb.do(t, sr+`.querySelector(".composer textarea").focus()`)
	tb.press(t, "Sent while offline"+kb.Enter)
	tb.waitFor(t, sr+`.querySelector("li.pending")`, 5*time.Second)
	tb.axe(t, "widget: pending, failed, reconnecting", scopeWidget)
	e.start(t)
	tb.waitFor(t, `!`+sr+`.querySelector("li.pending")`, 40*time.Second)

	// Closed, with the unread badge.
	tb.do(t, sr+`.querySelector(".composer textarea").focus()`)
	tb.press(t, kb.Escape)
	tb.waitFor(t, sr+`.querySelector(".panel").hidden`, 5*time.Second)
	e.agentPost(t, ticket, "Your parcel is out for delivery.")
	tb.waitFor(t, `!`+sr+`.querySelector(".badge").hidden`, 10*time.Second)
	tb.axe(t, "widget: closed, unread badge", scopeWidget)

	// A phone: the same visitor (same browser context), the panel open.
	phone := newTab(t, tb)
	if err := chromedp.Do(phone.ctx, chromedp.EmulateViewport(390, 780, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	phone.open(t, e.page("test")+"&ui=1")
	phone.waitFor(t, uiUp, 10*time.Second)
	phone.do(t, sr+`.querySelector(".launcher").click()`)
	phone.waitFor(t, sr+`.querySelectorAll("li[data-author]").length >= 14`, 10*time.Second)
	phone.axe(t, "widget: phone, open conversation", scopeWidget)
	tb.noViolations(t)
	phone.noViolations(t)

	// Someone else: the login form refused, the signup form, the email
	// asked before writing.
	other := newTab(t, nil)
	other.visit(t, e.page("test")+"&ui=1&lazy=1&ask-email=before")
	other.waitFor(t, uiUp, 10*time.Second)
	other.do(t, sr+`.querySelector(".launcher").click()`)
	clickButton(t, other, "Have an account? Log in")
	other.waitFor(t, other.activeIs(`"email"`), 5*time.Second)
	other.press(t, "nobody@example.com"+kb.Tab+"not the password"+kb.Enter)
	other.waitFor(t, sr+`.querySelector(".err").textContent !== ""`, 10*time.Second)
	other.axe(t, "widget: login form, inline error", scopeWidget)
	clickButton(t, other, "Forgot your password?")
	other.waitFor(t, other.activeIs(`"email"`), 5*time.Second)
	other.axe(t, "widget: forgot-password form", scopeWidget)
	clickButton(t, other, "Have an account? Log in")
	clickButton(t, other, "New here? Create an account")
	other.waitFor(t, other.activeIs(`"name"`), 5*time.Second)
	other.axe(t, "widget: signup form", scopeWidget)
	other.do(t, sr+`.querySelector("header .hb").click()`) // back
	clickButton(t, other, "Start a conversation")
	other.waitFor(t, sr+`.querySelector(".card input[type=email]")`, 5*time.Second)
	other.axe(t, "widget: the email asked before writing", scopeWidget)
	other.noViolations(t)
}

// axeDashboard visits every page of the dashboard, in the states an agent
// sees: sign-in (and refused), the inbox, a conversation with a note and
// the customer panel, the keys with a new key shown once, a key's usage,
// every settings page, the audit log, saved replies and the account.
func axeDashboard(t *testing.T, e *env) {
	e.Server.CreateAgent(t, "olive@a11y.example", "Olive Owner", "owner")
	app := e.API + "/app"

	// A customer who writes (the SDK alone): a conversation to open.
	visitor := newTab(t, nil)
	visitor.open(t, e.page("test"))
	visitor.call(t, `CStarChat.signup({name: "Ada Lovelace", email: "ada@example.com", password: "`+password+`"})`).customer(t)
	if r := visitor.call(t, `CStarChat.sendMessage("Hello, is the notebook dotted or lined?")`); !r.OK {
		t.Fatalf("sendMessage: %+v", r)
	}

	d := newDashTab(t)
	d.visit(app + "/login?next=/app/test/inbox")
	d.axe(t, "dashboard: sign-in", scopePage)
	d.waitFor(t, `document.activeElement && document.activeElement.id === "email"`, 5*time.Second)
	d.keys("olive@a11y.example" + kb.Tab + "not the password" + kb.Enter)
	d.waitNav(`document.getElementById("login-error")`)
	d.axe(t, "dashboard: sign-in, refused", scopePage)
	d.js(`document.getElementById("password").focus()`)
	d.keys(apptest.AgentPassword + kb.Enter)
	d.waitNav(`location.pathname === "/app/test/inbox" && document.querySelector("#conversations li")`)
	d.waitFor(t, `document.body.getAttribute("data-live") === "ready"`, 10*time.Second)
	d.axe(t, "dashboard: inbox (test mode)", scopePage)

	d.js(`document.querySelector("#conversations li a").click()`)
	d.waitNav(`location.pathname.startsWith("/app/test/conversations/") && document.activeElement && document.activeElement.id === "body"`)
	d.waitFor(t, `document.body.getAttribute("data-live") === "ready"`, 10*time.Second)
	d.keys("It is dotted." + kb.Enter)
	d.waitFor(t, `document.querySelector("#messages li.agent")`, 10*time.Second)
	d.js(`document.querySelector('input[name="internal"][value="1"]').click(); document.getElementById("body").focus()`)
	d.keys("Note: asked twice before." + kb.Enter)
	d.waitFor(t, `document.querySelector("#messages li.note")`, 10*time.Second)
	d.axe(t, "dashboard: conversation, a note, customer panel", scopePage)

	d.visit(app + "/inbox")
	d.axe(t, "dashboard: inbox (live mode, empty)", scopePage)

	d.visit(app + "/test/settings/keys")
	d.js(`document.querySelector('.create-key input[value="publishable"]').click(); document.querySelector(".create-key button").click()`)
	d.waitNav(`document.getElementById("new-key")`)
	d.axe(t, "dashboard: API keys, a new key shown once", scopePage)

	d.js(`document.querySelector('a[href$="/usage"]').click()`)
	d.waitNav(`location.pathname.endsWith("/usage")`)
	d.axe(t, "dashboard: usage chart", scopePage)

	// Webhooks: an endpoint added (its secret shown once), then its page
	// with a delivery.
	rcv := apptest.NewReceiver(t)
	d.visit(app + "/test/settings/webhooks")
	d.js(fmt.Sprintf(`document.getElementById("hook-url").value = %q; document.getElementById("hook-desc").value = "Order system";
		document.querySelector('form.stack button[type="submit"]').click()`, rcv.URL))
	d.waitNav(`document.getElementById("new-secret")`)
	d.axe(t, "dashboard: webhooks, a new endpoint's secret shown once", scopePage)
	d.shot("dashboard-webhooks")
	d.js(`document.querySelector('tbody th a').click()`)
	d.waitNav(`document.getElementById("deliveries-title")`)
	d.js(`document.querySelector('form[action$="/test"] button').click()`)
	d.waitNav(`document.querySelector(".flash")`)
	rcv.WaitN(t, 1)
	d.visit(eval[string](t, d.tab, `location.href`))
	d.axe(t, "dashboard: a webhook endpoint and its deliveries", scopePage)
	d.shot("dashboard-webhook")

	d.visit(app + "/settings/team")
	d.js(`document.getElementById("invite-email").focus()`)
	d.keys("sam@a11y.example" + kb.Enter)
	d.waitNav(`document.getElementById("invite-link")`)
	d.axe(t, "dashboard: team, an invitation shown once", scopePage)
	link := eval[string](t, d.tab, `document.getElementById("invite-link").value`)

	d.visit(app + "/saved-replies")
	d.js(`document.getElementById("r-title").value = "Shipping"; document.getElementById("r-body").value = "Orders ship the next working day."; document.querySelector("form.card button").click()`)
	d.waitNav(`document.querySelector(".replies h2")`)
	d.axe(t, "dashboard: saved replies", scopePage)

	for _, p := range []struct{ path, state string }{
		{"/test/settings/origins", "allowed origins"},
		{"/test/settings/identity", "identity verification"},
		{"/test/settings/widget", "widget settings"},
		{"/test/settings/library", "library"},
		{"/test/settings/library/articles/new", "a new article"},
		{"/test/settings/audit", "audit log"},
		{"/test/settings/email", "email settings and dev mailbox"},
		{"/account", "account"},
		{"/test/conversations/00000000-0000-0000-0000-000000000000", "not found"},
	} {
		d.visit(app + p.path)
		if p.state == "audit log" {
			if n := eval[int](t, d.tab, `document.querySelectorAll(".audit tbody tr").length`); n < 2 {
				t.Errorf("audit log: %d entries, want the key and the invitation", n)
			}
		}
		d.axe(t, "dashboard: "+p.state, scopePage)
	}

	// The invitation, as the invited person sees it; a forgotten password.
	guest := newDashTab(t)
	guest.visit(link)
	guest.axe(t, "dashboard: invitation", scopePage)
	guest.visit(app + "/forgot")
	guest.axe(t, "dashboard: forgot password", scopePage)
	guest.visit(app + "/reset")
	guest.axe(t, "dashboard: choose a new password", scopePage)

	// A conversation on a phone.
	d.visit(app + "/test/inbox")
	d.js(`document.querySelector("#conversations li a").click()`)
	d.waitNav(`location.pathname.startsWith("/app/test/conversations/")`)
	if err := chromedp.Do(d.ctx, chromedp.EmulateViewport(390, 780, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	d.visit(eval[string](t, d.tab, `location.href`))
	d.axe(t, "dashboard: conversation on a phone", scopePage)
	d.cleanPage()
	guest.cleanPage()
}

// axeDemo checks the demo store's pages, widget included.
func axeDemo(t *testing.T, e *env) {
	site, err := demo.New(demo.Config{API: e.API, Team: e.TeamID, TeamName: "Demo Store",
		PublishableKey: e.PKTest, IdentitySecret: e.IdentityTest})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(site)
	t.Cleanup(func() { site.Close(); srv.Close() })

	d := newDashTab(t)
	d.visit(srv.URL + "/")
	d.waitFor(t, `document.getElementById("cstar-widget-host")`, 15*time.Second)
	d.axe(t, "demo: store", scopePage)

	d.visit(srv.URL + "/account")
	d.waitFor(t, `!document.getElementById("signed-out").hidden`, 15*time.Second)
	d.js(`document.querySelector("#store-login [name=password]").focus()`)
	d.keys("wrong" + kb.Enter)
	d.waitFor(t, `document.getElementById("login-error").textContent !== ""`, 10*time.Second)
	d.axe(t, "demo: account, refused sign-in", scopePage)
	d.js(`const p = document.querySelector("#store-login [name=password]"); p.value = ""; p.focus()`)
	d.keys("alex-store-pass" + kb.Enter)
	d.waitFor(t, `document.getElementById("chat-identity").textContent.indexOf("Alex Rivera") === 0`, 15*time.Second)
	d.axe(t, "demo: account, signed in", scopePage)
	if !strings.HasPrefix(eval[string](t, d.tab, `location.href`), srv.URL) {
		t.Fatal("left the demo")
	}
	d.cleanPage()
}
