package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/cstar-chat/cstar/server/apptest/pgcluster"
)

// TestDatabaseOutage: PostgreSQL (a cluster of the test's own) stops under
// the running server while a visitor chats in the widget. A message sent
// meanwhile shows as pending, with a notice under the header saying the
// chat is temporarily unavailable, never as failed; a reload keeps it pending; a
// visitor signing up meanwhile sees the same quiet notice, not an error,
// and is signed up by the widget once the database is back. After the
// restart the message is stored once, the agent sees it, and the widget
// shows it once.
func TestDatabaseOutage(t *testing.T) {
	requireBrowser(t)
	pg := pgcluster.ForTest(t)
	e := newEnvOn(t, "postgres", pg.URL())
	const body = "Sent while the database was down"
	pending := sr + `.querySelectorAll("li.pending")`

	tb := newTab(t, nil)
	tb.open(t, e.page("test")+"&ui=1")
	tb.call(t, `CStarChat.signup(`+args(map[string]string{"email": "grace@example.com", "name": "Grace", "password": password})+`)`).customer(t)
	tb.waitOpen(t)
	ticketID := tb.call(t, `CStarChat.sendMessage("Before the outage")`).message(t).TicketID
	tb.waitFor(t, uiUp, 10*time.Second)
	eval[bool](t, tb, sr+`.querySelector(".launcher").click(), true`)
	tb.waitFor(t, `!`+sr+`.querySelector(".composer").hidden`, 10*time.Second)

	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	eval[bool](t, tb, sr+`.querySelector(".composer textarea").focus(), true`)
	if err := chromedp.Do(tb.ctx, chromedp.KeyEvent(body+kb.Enter)); err != nil {
		t.Fatal(err)
	}
	tb.waitFor(t, sr+`.querySelector(".notice").textContent === "Temporarily unavailable, retrying…"`, 15*time.Second)
	if n := eval[int](t, tb, pending+`.length`); n != 1 {
		t.Errorf("pending messages shown during the outage: got %d, want 1", n)
	}
	if eval[bool](t, tb, `!!`+sr+`.querySelector("li.failed")`) {
		t.Error("the message sent during the outage shows as failed; want pending")
	}

	// A reload during the outage: the message is still pending, once.
	tb.open(t, e.page("test")+"&ui=1")
	tb.waitFor(t, uiUp, 10*time.Second)
	eval[bool](t, tb, sr+`.querySelector(".launcher").click(), true`)
	tb.waitFor(t, sr+`.querySelectorAll("li.pending").length === 1`, 15*time.Second)
	if got := eval[string](t, tb, sr+`.querySelector("li.pending .text").textContent`); got != body {
		t.Errorf("pending after the reload: got %q, want %q", got, body)
	}

	// A visitor signing up during the outage sees a notice, not an error.
	other := newTab(t, nil)
	other.open(t, e.page("test")+"&ui=1")
	other.waitFor(t, uiUp, 10*time.Second)
	eval[bool](t, other, sr+`.querySelector(".launcher").click(), true`)
	clickButton(t, other, "Have an account? Log in")
	clickButton(t, other, "New here? Create an account")
	other.waitFor(t, sr+`.querySelector("form.auth input[name=name]")`, 5*time.Second)
	eval[bool](t, other, `(() => { const f = `+sr+`.querySelector("form.auth");
		f.elements.name.value = "Ada"; f.elements.email.value = "ada@example.com"; f.elements.password.value = `+args(password)+`;
		f.requestSubmit(); return true; })()`)
	other.waitFor(t, sr+`.querySelector("form.auth .note").textContent === "Temporarily unavailable, retrying…"`, 10*time.Second)
	if msg := eval[string](t, other, sr+`.querySelector("form.auth .err").textContent`); msg != "" {
		t.Errorf("signup during the outage: error %q shown, want none (a notice and a retry)", msg)
	}

	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	// The reloaded page reconnects with its backoff; coming back online
	// skips the wait, as a browser's online event does.
	eval[bool](t, tb, `window.dispatchEvent(new Event("online")), true`)
	tb.waitFor(t, `!`+sr+`.querySelector("li.pending") && [...`+sr+`.querySelectorAll("li.mine .text")].filter(p => p.textContent === `+args(body)+`).length === 1`, 40*time.Second)
	other.waitFor(t, `CStarChat.isIdentified() && !`+sr+`.querySelector(".composer").hidden`, 40*time.Second)

	n := 0
	for _, m := range e.agentMessages(t, ticketID) {
		if m.Body == body {
			n++
		}
	}
	if n != 1 {
		t.Errorf("stored copies of the message sent during the outage: got %d, want 1", n)
	}
	time.Sleep(300 * time.Millisecond) // room for a duplicate to show up
	if got := eval[int](t, tb, `[...`+sr+`.querySelectorAll("li.mine .text")].filter(p => p.textContent === `+args(body)+`).length`); got != 1 {
		t.Errorf("the message shown after the outage: %d times, want once", got)
	}
	tb.waitFor(t, sr+`.querySelector(".notice").hidden`, 10*time.Second)
	tb.noViolations(t)
	other.noViolations(t)
}
