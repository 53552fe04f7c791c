package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestWidgetLooks walks the widget through each of its states and, with
// CSTAR_LOOKS=<dir>, saves a screenshot of each there, to look at: the
// closed launcher, the help search and an article, the empty conversation,
// an email asked before and after the first message, a conversation with
// grouped messages and agents' initials, the login and signup forms with a
// refusal, the quiet notice of a lost connection, and a phone.
func TestWidgetLooks(t *testing.T) {
	requireBrowser(t)
	dir := os.Getenv("CSTAR_LOOKS")
	if dir == "" {
		t.Skip("CSTAR_LOOKS not set: nothing to save")
	}
	e := newEnv(t, "sqlite")
	e.seedHelp(t)
	tb := newTab(t, nil)
	if err := chromedp.Do(tb.ctx, chromedp.EmulateViewport(900, 720)); err != nil {
		t.Fatal(err)
	}
	shot := func(name string) {
		t.Helper()
		time.Sleep(250 * time.Millisecond)
		png, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	key := func(keys string) {
		t.Helper()
		if err := chromedp.Do(tb.ctx, chromedp.KeyEvent(keys)); err != nil {
			t.Fatal(err)
		}
	}
	click := func(sel string) { t.Helper(); eval[bool](t, tb, sr+`.querySelector(`+quote(sel)+`).click(), true`) }
	clickText := func(text string) {
		t.Helper()
		eval[bool](t, tb, `[...`+sr+`.querySelectorAll("button")].find(b => b.textContent === `+quote(text)+`).click(), true`)
	}

	tb.visit(t, e.page("test")+"&ui=1&lazy=1&ask-email=after")
	tb.waitFor(t, uiUp, 10*time.Second)
	shot("01-launcher")
	click(".launcher")
	tb.waitFor(t, sr+`.querySelectorAll("ul.arts li").length === 3`, 10*time.Second)
	shot("02-home")
	eval[bool](t, tb, sr+`.querySelector("input[type=search]").focus(), true`)
	key("password")
	tb.waitFor(t, sr+`.querySelectorAll("ul.arts li").length === 1`, 10*time.Second)
	shot("03-search")
	click("ul.arts button")
	tb.waitFor(t, sr+`.querySelector("article")`, 5*time.Second)
	shot("04-article")
	clickText("Chat with us")
	tb.waitFor(t, `!`+sr+`.querySelector(".composer").hidden`, 5*time.Second)
	shot("05-chat-empty")
	key("Hi! I reset my password but got no email." + kb.Enter)
	tb.waitFor(t, sr+`.querySelector("li.mine[data-seq='1']") && `+sr+`.querySelector("li.card input[type=email]")`, 15*time.Second)
	shot("06-ask-email-after")
	eval[bool](t, tb, sr+`.querySelector("li.card input[type=email]").focus(), true`)
	key("not-an-email" + kb.Enter)
	time.Sleep(300 * time.Millisecond)
	shot("07-ask-email-refused")
	ticket := tb.call(t, `CStarChat.getMessages()`).messages(t)[0].TicketID
	e.agentPost(t, ticket, "Hi, I'm Bob. Let me check that for you.")
	e.agentPost(t, ticket, "I've sent a new link: it should arrive within a minute.")
	tb.waitFor(t, sr+`.querySelectorAll("li.theirs").length === 2`, 10*time.Second)
	eval[bool](t, tb, sr+`.querySelector(".composer textarea").focus(), true`)
	key("Got it, thank you!" + kb.Enter)
	key("That worked." + kb.Enter)
	tb.waitFor(t, sr+`.querySelectorAll("li.mine:not(.pending)").length === 3`, 10*time.Second)
	shot("08-conversation")

	// The connection goes: a quiet notice.
	e.stop(t)
	tb.waitFor(t, `!`+sr+`.querySelector(".notice").hidden`, 15*time.Second)
	shot("09-reconnecting")
	e.start(t)
	tb.waitFor(t, sr+`.querySelector(".notice").hidden`, 40*time.Second)

	// The login and signup forms.
	tb2 := newTab(t, nil)
	tb = tb2
	if err := chromedp.Do(tb.ctx, chromedp.EmulateViewport(900, 720)); err != nil {
		t.Fatal(err)
	}
	tb.visit(t, e.page("test")+"&ui=1&lazy=1&ask-email=before")
	tb.waitFor(t, uiUp, 10*time.Second)
	click(".launcher")
	tb.waitFor(t, sr+`.querySelectorAll("ul.arts li").length === 3`, 10*time.Second)
	clickText("Start a conversation")
	tb.waitFor(t, sr+`.querySelector(".card input[type=email]")`, 5*time.Second)
	shot("10-ask-email-before")
	click("header .hb")
	clickText("Have an account? Log in")
	tb.waitFor(t, sr+`.querySelector("form.stack input[name=password]")`, 5*time.Second)
	shot("11-login")
	eval[bool](t, tb, sr+`.querySelector("input[name=email]").focus(), true`)
	key("nobody@example.com" + kb.Tab + "wrong password here" + kb.Enter)
	tb.waitFor(t, sr+`.querySelector(".err").textContent !== ""`, 10*time.Second)
	shot("12-login-refused")
	clickText("New here? Create an account")
	eval[bool](t, tb, sr+`.querySelector("input[name=name]").focus(), true`)
	key("Ann" + kb.Tab + "ann@example.com" + kb.Tab + "password1" + kb.Enter)
	tb.waitFor(t, sr+`.querySelector(".err").textContent !== ""`, 10*time.Second)
	shot("13-signup-refused")

	tb.noViolations(t)

	// A phone: the panel takes the screen.
	tb = newTab(t, nil)
	if err := chromedp.Do(tb.ctx, chromedp.EmulateViewport(390, 780, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	tb.visit(t, e.page("test")+"&ui=1&lazy=1")
	tb.waitFor(t, uiUp, 10*time.Second)
	click(".launcher")
	tb.waitFor(t, sr+`.querySelectorAll("ul.arts li").length === 3`, 10*time.Second)
	shot("14-phone")
}
