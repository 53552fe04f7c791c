package e2e

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/cstar-chat/cstar/demo"
	"github.com/cstar-chat/cstar/server/apptest"
)

// TestDemoJourney walks the demo as a visitor and an agent would: on the
// store page the visitor opens the widget (help articles first) and writes
// without an account; in the agents' dashboard (test mode) the chat appears
// live, the agent replies with the keyboard, and the reply reaches the
// visitor's widget; the visitor signs up in the widget and keeps the
// conversation, which the dashboard then shows under their name; a reload
// shows the history, and so does logging out and back in. On the account
// page a store user signs in with the store's own login and chats under
// that identity.
func TestDemoJourney(t *testing.T) {
	requireBrowser(t)
	e := newEnv(t, "sqlite")
	e.Server.CreateAgent(t, "owner@demo.example", "Demo Owner", "owner")
	site, err := demo.New(demo.Config{API: e.API, Team: e.TeamID, TeamName: "Demo Store",
		PublishableKey: e.PKTest, IdentitySecret: e.IdentityTest})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(site)
	t.Cleanup(func() { site.Close(); srv.Close() })
	key := func(tb *tab, keys string) {
		t.Helper()
		if err := chromedp.Do(tb.ctx, chromedp.KeyEvent(keys)); err != nil {
			t.Fatalf("keys: %v", err)
		}
	}
	// nav opens a demo page with /violations.js's collector run first.
	nav := func(tb *tab, url string) {
		t.Helper()
		collect := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: violationsJS})
			return err
		})
		if err := chromedp.Do(tb.ctx, collect, chromedp.Navigate(url)); err != nil {
			t.Fatal(err)
		}
	}

	// With CSTAR_SCREENSHOTS=dir (make screenshots), the README's pictures.
	shot := func(tb *tab, name string) {
		t.Helper()
		dir := os.Getenv("CSTAR_SCREENSHOTS")
		if dir == "" {
			return
		}
		time.Sleep(300 * time.Millisecond) // let the last frame paint
		png, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
		}
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
	}
	desktop := func(tb *tab) {
		t.Helper()
		if err := chromedp.Do(tb.ctx, chromedp.EmulateViewport(1100, 720)); err != nil {
			t.Fatal(err)
		}
	}

	e.seedHelp(t)
	visitor := newTab(t, nil)
	desktop(visitor)
	nav(visitor, srv.URL+"/")
	visitor.waitFor(t, `document.getElementById("cstar-widget-host")`, 15*time.Second)
	shot(visitor, "launcher")
	// The visitor opens the widget (help articles first) and writes
	// without an account.
	eval[bool](t, visitor, sr+`.querySelector(".launcher").click(), true`)
	visitor.waitFor(t, sr+`.querySelectorAll("ul.arts li").length === 3`, 10*time.Second)
	shot(visitor, "help")
	// An article first, then "still need help?".
	eval[bool](t, visitor, `[...`+sr+`.querySelectorAll("ul.arts button")].find(b => b.querySelector("strong").textContent === "Shipping times").click(), true`)
	clickButton(t, visitor, "Chat with us")
	visitor.waitFor(t, `!`+sr+`.querySelector(".composer").hidden && `+sr+`.activeElement === `+sr+`.querySelector(".composer textarea")`, 5*time.Second)
	key(visitor, "Where is my order?"+kb.Enter)
	visitor.waitFor(t, sr+`.querySelector("li.mine[data-seq='1']")`, 15*time.Second)
	if eval[bool](t, visitor, `CStarChat.isIdentified()`) || !eval[bool](t, visitor, `!!CStarChat.getVisitor()`) {
		t.Error("after writing without an account: want a visitor, not identified")
	}

	agent := newTab(t, nil)
	desktop(agent)
	nav(agent, e.API+"/app/login?next=/app/test/inbox")
	agent.waitFor(t, `document.activeElement && document.activeElement.id === "email"`, 10*time.Second)
	key(agent, "owner@demo.example"+kb.Tab+apptest.AgentPassword+kb.Enter)
	agent.waitFor(t, `location.pathname === "/app/test/inbox" && document.querySelector("#conversations .who")`, 15*time.Second)
	if got := eval[string](t, agent, `document.querySelector("#conversations .who").textContent`); got == "Grace" {
		t.Errorf("dashboard inbox before the signup: got %q, want the anonymous visitor", got)
	}
	eval[bool](t, agent, `document.querySelector("#conversations li a").click(), true`)
	agent.waitFor(t, `document.querySelector("#messages li[data-seq='1']")`, 10*time.Second)
	if got := eval[string](t, agent, `(document.getElementById("read-before") || {}).textContent || ""`); !strings.Contains(got, "Shipping times") {
		t.Errorf("dashboard's conversation: read before writing %q, want Shipping times", got)
	}
	agent.waitFor(t, `document.activeElement && document.activeElement.id === "body" && document.body.getAttribute("data-live") === "ready"`, 10*time.Second)
	key(agent, "It ships today."+kb.Enter)
	visitor.waitFor(t, sr+`.querySelector("li.theirs") && `+sr+`.querySelector("li.theirs .text").textContent === "It ships today."`, 10*time.Second)
	visitor.waitFor(t, sr+`.querySelector(".badge").hidden && CStarChat.unreadCount() === 0`, 5*time.Second)

	// The visitor signs up in the widget: the conversation comes along.
	clickButton(t, visitor, "Help")
	clickButton(t, visitor, "Have an account? Log in")
	clickButton(t, visitor, "New here? Create an account")
	visitor.waitFor(t, sr+`.activeElement && `+sr+`.activeElement.name === "name"`, 5*time.Second)
	key(visitor, "Grace"+kb.Tab+"grace@example.com"+kb.Tab+password+kb.Enter)
	visitor.waitFor(t, `CStarChat.isIdentified() && !`+sr+`.querySelector(".composer").hidden && `+sr+`.querySelectorAll("li[data-seq]").length === 2`, 15*time.Second)
	if got := eval[string](t, visitor, sr+`.querySelector("li.theirs .text").textContent`); got != "It ships today." {
		t.Errorf("after signing up: the agent's reply %q, want the visitor's conversation", got)
	}
	shot(visitor, "conversation")
	// Back in the inbox, the conversation is Grace's and has nothing unread.
	nav(agent, e.API+"/app/test/inbox")
	agent.waitFor(t, `document.querySelector("#conversations .who") && document.querySelector("#conversations .who").textContent === "Grace" && !document.querySelector("#conversations .unread-count")`, 10*time.Second)
	eval[bool](t, agent, `document.querySelector("#conversations li a").click(), true`)
	agent.waitFor(t, `document.querySelector("aside.customer") && document.querySelector("aside.customer").textContent.indexOf("Started as an anonymous visitor") >= 0`, 10*time.Second)

	// A reload shows the history once.
	nav(visitor, srv.URL+"/")
	visitor.waitFor(t, `document.getElementById("cstar-widget-host")`, 15*time.Second)
	eval[bool](t, visitor, sr+`.querySelector(".launcher").click(), true`)
	visitor.waitFor(t, sr+`.querySelectorAll("li[data-seq]").length >= 2`, 15*time.Second)
	time.Sleep(300 * time.Millisecond)
	if n := eval[int](t, visitor, sr+`.querySelectorAll("li[data-seq]").length`); n != 2 {
		t.Errorf("after reload: %d messages, want the 2 of the history once", n)
	}

	// Log out in the widget and back in through its login form.
	eval[bool](t, visitor, `[...`+sr+`.querySelectorAll("header button")].find(b => b.textContent === "Log out").click(), true`)
	visitor.waitFor(t, `!CStarChat.isIdentified() && `+sr+`.querySelector("form.auth input[name=email]")`, 10*time.Second)
	eval[bool](t, visitor, sr+`.querySelector("form.auth input[name=email]").focus(), true`)
	key(visitor, "grace@example.com"+kb.Tab+password+kb.Enter)
	visitor.waitFor(t, `CStarChat.isIdentified() && `+sr+`.querySelectorAll("li[data-seq]").length === 2`, 15*time.Second)

	// A phone: the open panel fills the screen.
	phone := newTab(t, nil)
	if err := chromedp.Do(phone.ctx, chromedp.EmulateViewport(390, 780, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	nav(phone, srv.URL+"/")
	phone.waitFor(t, `document.getElementById("cstar-widget-host")`, 15*time.Second)
	eval[bool](t, phone, sr+`.querySelector(".launcher").click(), true`)
	if w := eval[float64](t, phone, sr+`.querySelector(".panel").getBoundingClientRect().width`); w < 385 {
		t.Errorf("panel on a 390 px phone: %v px wide, want the full width", w)
	}
	shot(phone, "mobile")
	agent.noViolations(t)
	visitor.noViolations(t)

	// Bring your own auth: the store's login, then the widget is that user.
	store := newTab(t, nil)
	nav(store, srv.URL+"/account")
	store.waitFor(t, `!document.getElementById("signed-out").hidden`, 15*time.Second)
	eval[bool](t, store, `document.querySelector("#store-login [name=password]").focus(), true`)
	key(store, "alex-store-pass"+kb.Enter)
	store.waitFor(t, `document.getElementById("chat-identity").textContent.indexOf("Alex Rivera") === 0`, 15*time.Second)
	if got := eval[string](t, store, `CStarChat.getCustomer().externalId`); got != "store-user-1" {
		t.Errorf("widget identity: external id %q, want store-user-1", got)
	}
	// Alex writes; the dashboard shows the chat under Alex's name.
	store.waitFor(t, uiUp, 10*time.Second)
	eval[bool](t, store, sr+`.querySelector(".launcher").click(), true`)
	store.waitFor(t, `!`+sr+`.querySelector(".composer").hidden`, 10*time.Second)
	eval[bool](t, store, sr+`.querySelector(".composer textarea").focus(), true`)
	key(store, "Hi, Alex here"+kb.Enter)
	store.waitFor(t, sr+`.querySelector("li.mine[data-seq='1']")`, 10*time.Second)
	nav(agent, e.API+"/app/test/inbox")
	agent.waitFor(t, `[...document.querySelectorAll("#conversations .who")].some(s => s.textContent === "Alex Rivera")`, 10*time.Second)
	store.noViolations(t)
}
