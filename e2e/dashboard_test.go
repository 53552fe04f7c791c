package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/cstar-chat/cstar/server/apptest"
)

// dashTab is a tab on the dashboard, with the page's CSP violations
// collected from before any of its scripts run.
type dashTab struct {
	*tab
	tb testing.TB
}

func newDashTab(tb testing.TB) *dashTab {
	tb.Helper()
	t := newTab(tb, nil)
	collect := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: violationsJS})
		return err
	})
	if err := chromedp.Do(t.ctx, collect, chromedp.EmulateViewport(1180, 800)); err != nil {
		tb.Fatal(err)
	}
	return &dashTab{tab: t, tb: tb}
}

// visit loads url and waits for the page's script to have run.
func (d *dashTab) visit(url string) {
	d.tb.Helper()
	if err := chromedp.Do(d.ctx, chromedp.Navigate(url)); err != nil {
		d.tb.Fatalf("navigate to %s: %v", url, err)
	}
	d.waitFor(d.tb, `document.readyState === "complete"`, 10*time.Second)
}

// waitNav waits until expr holds after a navigation the page started
// itself (a form, a link): until the new document answers, an evaluation
// may fail, which is not the test's failure.
func (d *dashTab) waitNav(expr string) {
	d.tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(d.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+") && document.readyState === 'complete'"))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.tb.Fatalf("waited 15s for %s after a navigation: still false", expr)
}

// keys types with the keyboard into the focused element.
func (d *dashTab) keys(s string) {
	d.tb.Helper()
	if err := chromedp.Do(d.ctx, chromedp.KeyEvent(s)); err != nil {
		d.tb.Fatalf("keys: %v", err)
	}
}

// js runs a statement in the page.
func (d *dashTab) js(stmt string) {
	d.tb.Helper()
	eval[bool](d.tb, d.tab, "(() => { "+stmt+"; return true })()")
}

// cleanPage fails unless the page reported no CSP violation.
func (d *dashTab) cleanPage() {
	d.tb.Helper()
	v := eval[[]string](d.tb, d.tab, `window.__violations || []`)
	if len(v) > 0 {
		d.tb.Errorf("%s: CSP violations %q, want none", eval[string](d.tb, d.tab, `location.pathname`), v)
	}
}

// shot saves the page as name.png in $CSTAR_SCREENSHOTS (make screenshots).
func (d *dashTab) shot(name string) {
	d.tb.Helper()
	dir := os.Getenv("CSTAR_SCREENSHOTS")
	if dir == "" {
		return
	}
	time.Sleep(300 * time.Millisecond)
	png, err := chromedp.Run(d.ctx, chromedp.CaptureScreenshot())
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
	if err != nil {
		d.tb.Fatalf("screenshot %s: %v", name, err)
	}
}

// TestDashboardJourney is issue 12's journey, on each database: the owner
// signs in, makes a publishable key and sees it once, invites an agent who
// joins; a visitor writes in the widget on another origin; the agent sees it
// live, replies by keyboard and adds a note; the visitor gets the reply and
// never the note; the usage chart counts the widget's requests; the owner
// revokes the key and the widget is refused; a form posted from another
// site is refused; no dashboard page reports a CSP violation.
func TestDashboardJourney(t *testing.T) {
	requireBrowser(t)
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) { dashboardJourney(t, dialect) })
	}
}

func dashboardJourney(t *testing.T, dialect string) {
	e := newEnv(t, dialect)
	e.Server.CreateAgent(t, "olive@e2e.example", "Olive Owner", "owner")
	app := e.API + "/app"

	// The owner signs in with the keyboard.
	owner := newDashTab(t)
	owner.visit(app + "/login")
	owner.waitFor(t, `document.activeElement && document.activeElement.id === "email"`, 5*time.Second)
	owner.keys("olive@e2e.example" + kb.Tab + apptest.AgentPassword + kb.Enter)
	owner.waitNav(`location.pathname === "/app/inbox"`)
	owner.cleanPage()

	// A test-mode publishable key, shown once.
	owner.visit(app + "/test/settings/keys")
	owner.waitFor(t, `document.querySelector(".test-banner")`, 5*time.Second)
	owner.js(`document.querySelector('.create-key input[value="publishable"]').click(); document.querySelector(".create-key button").click()`)
	owner.waitNav(`document.getElementById("new-key")`)
	pk := eval[string](t, owner.tab, `document.getElementById("new-key").value`)
	if !strings.HasPrefix(pk, "pk_test_") || len(pk) != 44 {
		t.Fatalf("the new key: got %q, want a pk_test_ key", pk)
	}
	owner.shot("dashboard-keys")
	owner.cleanPage()
	owner.visit(app + "/test/settings/keys")
	if html := eval[string](t, owner.tab, `document.documentElement.outerHTML`); strings.Contains(html, pk) {
		t.Fatalf("the keys page shows the key again after a reload; want it shown once")
	}

	// The owner invites an agent; the agent joins with the link.
	owner.visit(app + "/settings/team")
	owner.js(`document.getElementById("invite-email").focus()`)
	owner.keys("sam@e2e.example" + kb.Enter)
	owner.waitNav(`document.getElementById("invite-link")`)
	link := eval[string](t, owner.tab, `document.getElementById("invite-link").value`)
	owner.cleanPage()
	agentTab := newDashTab(t)
	agentTab.visit(link)
	agentTab.waitFor(t, `document.activeElement && document.activeElement.id === "name"`, 5*time.Second)
	agentTab.keys("Sam Agent" + kb.Tab + "a long and unusual passphrase" + kb.Enter)
	agentTab.waitNav(`location.pathname === "/app/inbox"`)
	agentTab.cleanPage()
	if st := eval[int](t, agentTab.tab, `fetch("/app/settings/keys").then(r => r.status)`); st != http.StatusForbidden {
		t.Errorf("an agent's settings page: got %d, want 403", st)
	}
	if n := eval[int](t, agentTab.tab, `document.querySelectorAll('a[href$="/settings/keys"]').length`); n != 0 {
		t.Errorf("an agent sees %d links to the settings, want none", n)
	}

	// The agent watches the test inbox; the page must not reload.
	agentTab.visit(app + "/test/inbox")
	agentTab.waitFor(t, `document.body.getAttribute("data-live") === "ready"`, 10*time.Second)
	agentTab.js(`window.__sameDocument = true`)

	// A visitor on another origin writes with the new key.
	e.PKTest = pk
	visitor := newTab(t, nil)
	visitor.open(t, e.page("test"))
	visitor.call(t, `CStarChat.signup({name: "Grace Hopper", email: "grace@example.com", password: "`+password+`"})`).customer(t)
	visitor.waitFor(t, `CStarChat.connectionState && CStarChat.connectionState() === "open" || window.__conn.indexOf("open") >= 0`, 15*time.Second)
	if r := visitor.call(t, `CStarChat.sendMessage("Hello, where is my order?")`); !r.OK {
		t.Fatalf("sendMessage: %+v", r)
	}

	// It appears in the agent's inbox live.
	agentTab.waitFor(t, `[...document.querySelectorAll("#conversations .who")].some(e => e.textContent === "Grace Hopper")`, 15*time.Second)
	if !eval[bool](t, agentTab.tab, `window.__sameDocument === true`) {
		t.Fatal("the inbox reloaded; want the conversation added live")
	}
	agentTab.waitFor(t, `document.title.startsWith("(1)")`, 5*time.Second)
	agentTab.shot("dashboard-inbox")
	agentTab.cleanPage()

	// The agent opens it and replies with the keyboard, then adds a note.
	agentTab.js(`document.querySelector("#conversations li a").click()`)
	agentTab.waitNav(`location.pathname.startsWith("/app/test/conversations/") && document.activeElement && document.activeElement.id === "body"`)
	agentTab.waitFor(t, `document.body.getAttribute("data-live") === "ready"`, 10*time.Second)
	agentTab.keys("It ships today,")
	if err := chromedp.Do(agentTab.ctx, chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(kb.ModifierShift))); err != nil {
		t.Fatal(err)
	}
	agentTab.keys("tracking by email." + kb.Enter)
	agentTab.waitFor(t, `document.querySelector("#messages li.agent .body")`, 10*time.Second)
	if got := eval[string](t, agentTab.tab, `document.querySelector("#messages li.agent .body").textContent`); got != "It ships today,\ntracking by email." {
		t.Errorf("the reply: got %q, want two lines (Shift+Enter)", got)
	}
	agentTab.js(`document.querySelector('input[name="internal"][value="1"]').click(); document.getElementById("body").focus()`)
	agentTab.keys("Note: VIP customer, do not close." + kb.Enter)
	agentTab.waitFor(t, `document.querySelector("#messages li.note")`, 10*time.Second)

	// The visitor gets the reply, never the note.
	visitor.waitFor(t, `window.__msgs.some(m => m.body === "It ships today,\ntracking by email.")`, 10*time.Second)
	// A message after the note proves the note had its turn to arrive.
	if r := visitor.call(t, `CStarChat.sendMessage("Thanks!")`); !r.OK {
		t.Fatalf("sendMessage: %+v", r)
	}
	agentTab.waitFor(t, `[...document.querySelectorAll("#messages li.customer .body")].some(e => e.textContent === "Thanks!")`, 10*time.Second)
	if eval[bool](t, visitor, `window.__msgs.some(m => m.body.indexOf("VIP") >= 0)`) {
		t.Fatal("the visitor received the internal note")
	}
	if eval[bool](t, visitor, `CStarChat.getMessages().then(p => (p.messages || p).some(m => m.body.indexOf("VIP") >= 0))`) {
		t.Fatal("the visitor's history holds the internal note")
	}
	agentTab.shot("dashboard-conversation")
	agentTab.cleanPage()

	// The usage chart counts the widget's requests.
	owner.visit(app + "/test/settings/keys")
	owner.js(`[...document.querySelectorAll("tr")].find(r => r.textContent.indexOf("` + pk[:12] + `") >= 0).querySelector('a[href$="/usage"]').click()`)
	owner.waitNav(`location.pathname.endsWith("/usage")`)
	if n := eval[int](t, owner.tab, `+document.getElementById("total-requests").textContent`); n < 1 {
		t.Errorf("usage: %d requests, want the widget's", n)
	}
	if n := eval[int](t, owner.tab, `document.querySelectorAll("svg.chart rect").length`); n < 1 {
		t.Errorf("usage chart: %d bars, want some", n)
	}
	owner.shot("dashboard-usage")
	owner.cleanPage()

	// The owner revokes the key; the widget using it is refused.
	owner.visit(app + "/test/settings/keys")
	owner.js(`window.confirm = () => true; [...document.querySelectorAll("tr")].find(r => r.textContent.indexOf("` + pk[:12] + `") >= 0).querySelector("button.danger").click()`)
	owner.waitNav(`document.querySelector(".flash") && document.querySelector(".flash").textContent.indexOf("Revoked") === 0`)
	visitor.waitFor(t, `window.__conn[window.__conn.length - 1] === "closed"`, 10*time.Second)
	if r := visitor.call(t, `CStarChat.sendMessage("after the revocation")`); r.OK {
		t.Fatal("a send after the key was revoked: resolved, want rejected")
	}
	r := e.Server.Do(t, "GET", "/api/v1/teams/"+e.TeamID, pk, nil)
	r.WantError(t, http.StatusUnauthorized, "Invalid API key")

	// A form posted from another site is refused, although the owner is
	// signed in in this browser.
	owner.visit(e.Site + "/")
	before := e.Server.Do(t, "GET", "/api/v1/teams/"+e.TeamID+"/api-keys", e.SKTest, nil).Items(t)
	owner.js(fmt.Sprintf(`const f = document.createElement("form"); f.method = "post"; f.action = %q;
		for (const [k, v] of [["type", "secret"], ["csrf", "guess"]]) { const i = document.createElement("input"); i.name = k; i.value = v; f.appendChild(i); }
		document.body.appendChild(f); f.submit()`, app+"/test/settings/keys"))
	owner.waitNav(`location.pathname === "/app/test/settings/keys"`)
	if txt := eval[string](t, owner.tab, `document.body.innerText`); !strings.Contains(txt, "another site") {
		t.Errorf("cross-site form: got page %q, want the refusal", txt)
	}
	after := e.Server.Do(t, "GET", "/api/v1/teams/"+e.TeamID+"/api-keys", e.SKTest, nil).Items(t)
	if len(after) != len(before) {
		t.Errorf("cross-site form: keys %d → %d, want no new key", len(before), len(after))
	}

	// Every settings page, and the phone layout, without a CSP violation.
	for _, p := range []string{"/settings/origins", "/settings/identity", "/settings/widget", "/settings/library",
		"/settings/library/articles/new", "/settings/team", "/settings/audit", "/saved-replies", "/account"} {
		owner.visit(app + p)
		owner.cleanPage()
	}
	owner.visit(app + "/settings/audit")
	if txt := eval[string](t, owner.tab, `document.body.innerText`); !strings.Contains(txt, "agent.invited") {
		t.Errorf("audit log: want the invitation in %q", txt)
	}
	if err := chromedp.Do(agentTab.ctx, chromedp.EmulateViewport(390, 780, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	agentTab.visit(eval[string](t, agentTab.tab, `location.href`))
	if w := eval[float64](t, agentTab.tab, `document.documentElement.scrollWidth`); w > 400 {
		t.Errorf("conversation on a 390 px phone: %v px wide, want no sideways scrolling", w)
	}
	agentTab.shot("dashboard-mobile")
}
