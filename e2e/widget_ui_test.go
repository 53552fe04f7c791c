package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// sr is the widget's shadow root in the page; uiUp is true once the
// widget has drawn its launcher.
const (
	sr   = `document.getElementById("cstar-widget-host").shadowRoot`
	uiUp = `!!document.getElementById("cstar-widget-host") && !!` + sr + `.querySelector(".launcher")`
)

// TestWidgetUI uses the widget the way a visitor does, on a host page whose
// stylesheet unsets everything and hides every div and button, under the
// test page's strict CSP: open it (the help search has the focus), go to the
// signup form, a refused signup shows why in words for people, sign up
// through the form, send with the keyboard, an agent's reply
// and a hostile message appear as text only, a link is safe, the agent's
// read shows, Tab stays in the panel, Escape closes and returns focus, the
// UI loaded after the load event, logging out and in through the forms
// keeps the history, and a reload shows it once.
func TestWidgetUI(t *testing.T) {
	requireBrowser(t)
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			tb := newTab(t, nil)
			tb.open(t, e.page("test")+"&ui=1&css=hostile")
			tb.waitFor(t, uiUp, 10*time.Second)

			visible := func(sel string) bool {
				return eval[bool](t, tb, `(() => { const x = `+sr+`.querySelector(`+quote(sel)+`);
					if (!x) return false; const r = x.getBoundingClientRect(); return r.width > 0 && r.height > 0; })()`)
			}
			if !visible(".launcher") || visible(".panel") {
				t.Fatalf("closed widget: want the launcher visible and the panel hidden despite the host's CSS")
			}
			eval[bool](t, tb, sr+`.querySelector(".launcher").click(), true`)
			tb.waitFor(t, sr+`.activeElement && `+sr+`.activeElement.type === "search"`, 5*time.Second)
			if !visible(".panel") || eval[string](t, tb, sr+`.querySelector(".launcher").getAttribute("aria-label")`) != "Close chat" {
				t.Fatal("open widget: want the panel, and the launcher as a close button")
			}
			clickButton(t, tb, "Have an account? Log in")
			clickButton(t, tb, "New here? Create an account")
			tb.waitFor(t, sr+`.activeElement && `+sr+`.activeElement.name === "name"`, 5*time.Second)
			if !visible("form.auth") {
				t.Fatal("want the signup form")
			}

			// Keyboard only: type into the focused field, Tab to the next.
			key := func(keys string) {
				t.Helper()
				if err := chromedp.Do(tb.ctx, chromedp.KeyEvent(keys)); err != nil {
					t.Fatalf("keys %q: %v", keys, err)
				}
			}
			key("Grace" + kb.Tab + "grace@example.com" + kb.Tab + "short" + kb.Enter)
			tb.waitFor(t, sr+`.querySelector(".err").textContent !== ""`, 10*time.Second)
			if msg := eval[string](t, tb, sr+`.querySelector(".err").textContent`); msg == "" || !containsFold(msg, "password") {
				t.Errorf("refused signup: inline error %q, want the server's message about the password", msg)
			}
			eval[bool](t, tb, `(() => { const p = `+sr+`.querySelector("input[name=password]"); p.value = ""; p.focus(); return true; })()`)
			key(password + kb.Enter)
			tb.waitFor(t, `CStarChat.isIdentified() && !`+sr+`.querySelector(".composer").hidden`, 15*time.Second)

			eval[bool](t, tb, sr+`.querySelector(".composer textarea").focus(), true`)
			key("Hello from the widget")
			key(kb.Enter)
			tb.waitFor(t, sr+`.querySelector("li.mine[data-seq='1']")`, 10*time.Second)
			if n := eval[int](t, tb, sr+`.querySelectorAll("li.mine").length`); n != 1 {
				t.Errorf("own message shown %d times, want once (no pending copy left)", n)
			}
			ticket := tb.call(t, `CStarChat.getMessages()`).messages(t)[0].TicketID

			hostile := `<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>`
			e.agentPost(t, ticket, hostile)
			e.agentPost(t, ticket, "Details: https://example.com/help. Or javascript:alert(1)")
			tb.waitFor(t, sr+`.querySelectorAll("li.theirs").length === 2`, 10*time.Second)
			time.Sleep(200 * time.Millisecond)
			if got := eval[string](t, tb, sr+`.querySelector("li.theirs .text").textContent`); got != hostile {
				t.Errorf("hostile message shown as %q, want its text", got)
			}
			if eval[bool](t, tb, `window.__pwned !== undefined || !!`+sr+`.querySelector("img, script")`) {
				t.Error("the hostile message became markup")
			}
			links := eval[[]map[string]string](t, tb, `Array.from(`+sr+`.querySelectorAll("a")).map(a => ({href: a.href, rel: a.rel, target: a.target}))`)
			if len(links) != 1 || links[0]["href"] != "https://example.com/help" || links[0]["rel"] != "noopener noreferrer" {
				t.Errorf("links: got %v, want only https://example.com/help with rel=noopener noreferrer", links)
			}

			// A refused send shows the reason and a Retry button, and
			// the composer is usable again.
			eval[bool](t, tb, `(() => { const ta = `+sr+`.querySelector(".composer textarea"); ta.value = "x".repeat(4001); ta.focus(); return true; })()`)
			key(kb.Enter)
			tb.waitFor(t, sr+`.querySelector("li.failed .meta button")`, 10*time.Second)
			if msg := eval[string](t, tb, sr+`.querySelector("li.failed .meta").textContent`); !strings.Contains(msg, "4,000 characters") {
				t.Errorf("failed send: %q, want the reason in words", msg)
			}
			tb.waitFor(t, `!`+sr+`.querySelector(".composer textarea").disabled`, 5*time.Second)
			eval[bool](t, tb, sr+`.querySelector(".composer textarea").value = "", true`)

			// The agent reads the customer's message: it shows a read mark.
			e.agentRead(t, ticket, 1)
			tb.waitFor(t, sr+`.querySelector("li.mine[data-seq='1'][data-read]")`, 10*time.Second)

			// Tab stays inside the open panel.
			eval[bool](t, tb, sr+`.querySelector(".composer textarea").focus(), true`)
			for range 8 {
				key(kb.Tab)
				if !eval[bool](t, tb, sr+`.querySelector(".panel").contains(`+sr+`.activeElement)`) {
					t.Fatal("Tab left the open panel")
				}
			}
			eval[bool](t, tb, sr+`.querySelector(".composer textarea").focus(), true`)
			key(kb.Escape)
			tb.waitFor(t, sr+`.querySelector(".panel").hidden`, 5*time.Second)
			if !eval[bool](t, tb, sr+`.activeElement === `+sr+`.querySelector(".launcher")`) {
				t.Error("after Escape: focus is not back on the launcher")
			}
			tb.noViolations(t)

			// Sent while the server is down: pending, then sent once it is back.
			e.stop(t)
			tb.waitFor(t, `CStarChat.connectionState() !== "open"`, 10*time.Second)
			eval[bool](t, tb, sr+`.querySelector(".launcher").click(), true`)
			eval[bool](t, tb, sr+`.querySelector(".composer textarea").focus(), true`)
			key("Sent while offline" + kb.Enter)
			tb.waitFor(t, sr+`.querySelector("li.pending")`, 5*time.Second)
			e.start(t)
			tb.waitFor(t, `!`+sr+`.querySelector("li.pending") && [...`+sr+`.querySelectorAll("li.mine .text")].filter(p => p.textContent === "Sent while offline").length === 1`, 40*time.Second)
			key(kb.Escape)

			// Nothing of the UI loads before the page's load event.
			if !eval[bool](t, tb, `performance.getEntriesByType("resource").find(r => r.name.endsWith("/cstar-widget.js")).startTime >= performance.getEntriesByType("navigation")[0].loadEventStart`) {
				t.Error("cstar-widget.js was requested before the page's load event")
			}

			// Log out and back in through the forms: the history is there.
			eval[bool](t, tb, sr+`.querySelector(".launcher").click(), true`)
			eval[bool](t, tb, `[...`+sr+`.querySelectorAll("header button")].find(b => b.textContent === "Log out").click(), true`)
			tb.waitFor(t, `!CStarChat.isIdentified() && `+sr+`.querySelector("form.auth input[name=email]")`, 10*time.Second)
			eval[bool](t, tb, sr+`.querySelector("form.auth input[name=email]").focus(), true`)
			key("grace@example.com" + kb.Tab + password + kb.Enter)
			tb.waitFor(t, `CStarChat.isIdentified() && `+sr+`.querySelectorAll("li").length >= 4`, 15*time.Second)

			tb.open(t, e.page("test")+"&ui=1&css=hostile")
			tb.waitFor(t, uiUp, 10*time.Second)
			eval[bool](t, tb, sr+`.querySelector(".launcher").click(), true`)
			tb.waitFor(t, sr+`.querySelectorAll("li").length >= 4`, 15*time.Second)
			time.Sleep(300 * time.Millisecond)
			if n := eval[int](t, tb, sr+`.querySelectorAll("li").length`); n != 4 {
				t.Errorf("after reload: %d messages shown, want the 4 of the history once", n)
			}
			tb.noViolations(t)
		})
	}
}

// TestWidgetUIOptions: CStarChat.init before the load event sets the
// language, title and side; data-* attributes are the defaults it overrides.
func TestWidgetUIOptions(t *testing.T) {
	requireBrowser(t)
	e := newEnv(t, "sqlite")
	tb := newTab(t, nil)
	tb.open(t, e.page("test")+"&ui=1&init=1")
	tb.waitFor(t, uiUp, 10*time.Second)
	got := eval[map[string]any](t, tb, `({title: `+sr+`.querySelector("header h2").textContent,
		label: `+sr+`.querySelector(".launcher").getAttribute("aria-label"),
		left: `+sr+`.querySelector(".launcher").getBoundingClientRect().left})`)
	if got["title"] != "Hilfe" || got["label"] != "Chat öffnen" || got["left"].(float64) > 100 {
		t.Errorf("with init({locale: de, title: Hilfe, position: left}): got %v", got)
	}
	tb.noViolations(t)
}

func quote(s string) string { return "'" + s + "'" }

// clickButton clicks the widget's button whose text is text.
func clickButton(t *testing.T, tb *tab, text string) {
	t.Helper()
	tb.waitFor(t, `[...`+sr+`.querySelectorAll("button")].some(b => b.textContent === `+quote(text)+`)`, 10*time.Second)
	eval[bool](t, tb, `[...`+sr+`.querySelectorAll("button")].find(b => b.textContent === `+quote(text)+`).click(), true`)
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
