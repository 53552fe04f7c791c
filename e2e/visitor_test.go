package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/cstar-chat/cstar/server/identitytoken"
)

// wasmRequests is how many requests for the SDK module or its Go glue the
// page has made (Resource Timing).
const wasmRequests = `performance.getEntriesByType("resource").filter(r => /\.wasm$|\/wasm_exec\.js$/.test(r.name)).length`

// TestVisitor is the first contact, in the widget, on each database: an
// anonymous visitor's page downloads no module until the panel opens (and
// one then), the panel is usable at once, the visitor writes without an
// account, an agent replies, and the visitor signs up and keeps the
// conversation, and a later page view costs no API request but the socket; a second browser that signs up with the email the first
// typed sees none of it; identify with a token merges too; the panel
// opens and closes from the page (data-launcher="none", open({message}),
// close, toggle, and their events, also before anything has loaded); the
// newest message is in view when the panel opens; an article read before
// writing reaches the agents. No CSP violation anywhere.
func TestVisitor(t *testing.T) {
	requireBrowser(t)
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			e.seedHelp(t)
			lazy := e.page("test") + "&ui=1&lazy=1"

			t.Run("writes_then_signs_up", func(t *testing.T) {
				a := newTab(t, nil)
				a.visit(t, lazy+"&ask-email=never")
				a.waitFor(t, uiUp, 10*time.Second)
				time.Sleep(1500 * time.Millisecond) // idle: nothing may load meanwhile
				if n := eval[int](t, a, wasmRequests); n != 0 {
					t.Fatalf("idle anonymous visitor: %d requests for the module or its glue, want 0", n)
				}
				if eval[bool](t, a, `CStarChat.isIdentified() || CStarChat.getVisitor() !== null || CStarChat.getCustomer() !== null`) {
					t.Fatal("idle anonymous visitor: want not identified, no visitor, no customer")
				}
				// The click opens a usable panel at once; the module loads
				// meanwhile. On a machine busy with other work a click may
				// wait for the CPU: the best of two pages counts.
				click := `(() => { const t0 = performance.now(); ` + sr + `.querySelector(".launcher").click();
					const x = ` + sr + `.activeElement; return x && x.type === "search" && !` + sr + `.querySelector(".panel").hidden ? performance.now() - t0 : -1; })()`
				usable := eval[float64](t, a, click)
				if usable < 0 || usable > 300 {
					again := newTab(t, nil)
					again.visit(t, lazy)
					again.waitFor(t, uiUp, 10*time.Second)
					if u := eval[float64](t, again, click); u >= 0 && (usable < 0 || u < usable) {
						usable = u
					}
				}
				if usable < 0 || usable > 300 {
					t.Errorf("panel usable after the click: got %v ms, want within 300 ms", usable)
				}
				t.Logf("panel usable %.1f ms after the click, module not yet loaded", usable)
				a.waitFor(t, wasmRequests+` === 2`, 10*time.Second)
				a.waitFor(t, `window.__readyAt !== undefined`, 15*time.Second)

				clickButton(t, a, "Start a conversation")
				a.waitFor(t, `!`+sr+`.querySelector(".composer").hidden`, 5*time.Second)
				if err := chromedp.Do(a.ctx, chromedp.KeyEvent("Where is my parcel?"+kb.Enter)); err != nil {
					t.Fatal(err)
				}
				a.waitFor(t, sr+`.querySelector("li.mine[data-seq='1']")`, 15*time.Second)
				v := eval[map[string]any](t, a, `CStarChat.getVisitor()`)
				if v == nil || v["id"] == "" || eval[bool](t, a, `CStarChat.isIdentified() || CStarChat.getCustomer() !== null`) {
					t.Fatalf("after writing: getVisitor() %v; want a visitor, not identified, no customer", v)
				}
				ms := a.call(t, `CStarChat.getMessages()`).messages(t)
				e.agentPost(t, ms[0].TicketID, "It left the warehouse this morning.")
				a.waitFor(t, sr+`.querySelector("li.theirs")`, 10*time.Second)

				c := a.call(t, `CStarChat.signup(`+args(map[string]string{"email": "grace@example.com", "name": "Grace", "password": password})+`)`).customer(t)
				got := bodies(a.call(t, `CStarChat.getMessages()`).messages(t))
				if !slices.Equal(got, []string{"Where is my parcel?", "It left the warehouse this morning."}) {
					t.Errorf("after signing up: history %q, want the visitor's conversation", got)
				}
				if !eval[bool](t, a, `CStarChat.isIdentified() && CStarChat.getVisitor() === null`) || c.Email != "grace@example.com" {
					t.Errorf("after signing up: want identified as grace@example.com and no visitor")
				}
				a.waitFor(t, `CStarChat.connectionState() === "open"`, 15*time.Second)
				a.noViolations(t)

				// A page view of the signed-in visitor costs one request to the
				// API before they do anything: the socket (no /me, no
				// settings, no history until the panel opens).
				a.visit(t, lazy)
				a.waitFor(t, `CStarChat.connectionState() === "open"`, 15*time.Second)
				time.Sleep(500 * time.Millisecond)
				if got := eval[[]string](t, a, `performance.getEntriesByType("resource").map(r => r.name).filter(n => n.indexOf("/api/") >= 0)`); len(got) != 0 {
					t.Errorf("a signed-in page view: API requests besides the socket %q, want none", got)
				}
			})

			t.Run("second_browser_same_email_sees_nothing", func(t *testing.T) {
				victim := newTab(t, nil)
				victim.open(t, e.page("test"))
				victim.call(t, `CStarChat.setVisitorEmail("victim@example.com")`)
				victim.call(t, `CStarChat.sendMessage("My card ends in 4242")`).message(t)

				attacker := newTab(t, nil)
				attacker.open(t, e.page("test"))
				attacker.call(t, `CStarChat.signup(`+args(map[string]string{"email": "victim@example.com", "name": "Victim", "password": password})+`)`).customer(t)
				if got := attacker.call(t, `CStarChat.getMessages()`).messages(t); len(got) != 0 {
					t.Errorf("a browser that signs up with the email the visitor typed: history %q, want none", bodies(got))
				}
				// The victim keeps the conversation, and takes it into an
				// account of its own.
				victim.call(t, `CStarChat.signup(`+args(map[string]string{"email": "real-victim@example.com", "name": "V", "password": password})+`)`).customer(t)
				if got := bodies(victim.call(t, `CStarChat.getMessages()`).messages(t)); !slices.Equal(got, []string{"My card ends in 4242"}) {
					t.Errorf("the visitor after signing up: history %q, want its message", got)
				}
				if got := attacker.call(t, `CStarChat.getMessages()`).messages(t); len(got) != 0 {
					t.Errorf("the other browser after all: history %q, want none", bodies(got))
				}
			})

			// Two tabs of one browser writing a first message at the same
			// moment make one visitor between them (the loader takes a Web
			// Lock around the creation), so no conversation is orphaned.
			t.Run("two_tabs_one_visitor", func(t *testing.T) {
				visitors := func() int {
					n := 0
					for _, c := range e.Server.Do(t, "GET", "/api/v1/teams/"+e.TeamID+"/customers?limit=100", e.SKTest, nil).Want(t, 200).Items(t) {
						if c["kind"] == "visitor" {
							n++
						}
					}
					return n
				}
				before := visitors()
				a := newTab(t, nil)
				b := newTab(t, a) // same browser context: the same localStorage
				a.open(t, e.page("test"))
				b.open(t, e.page("test"))
				at := time.Now().Add(700 * time.Millisecond).UnixMilli()
				for i, x := range []*tab{a, b} {
					eval[bool](t, x, fmt.Sprintf(`window.__first = new Promise(r => setTimeout(r, %d - Date.now())).then(() => CStarChat.sendMessage("first from tab %d")), true`, at, i))
				}
				for _, x := range []*tab{a, b} {
					x.call(t, `window.__first`).message(t)
				}
				if n := visitors() - before; n != 1 {
					t.Errorf("two tabs writing at once: %d visitors made, want 1", n)
				}
				if va, vb := eval[string](t, a, `CStarChat.getVisitor().id`), eval[string](t, b, `CStarChat.getVisitor().id`); va != vb {
					t.Errorf("the tabs' visitors: %s and %s, want one", va, vb)
				}
			})

			t.Run("identify_merges", func(t *testing.T) {
				tb := newTab(t, nil)
				tb.open(t, e.page("test"))
				tb.call(t, `CStarChat.sendMessage("Before I logged in to the shop")`).message(t)
				tok, err := identitytoken.Sign([]byte(e.IdentityTest), identitytoken.Claims{Subject: "shop-42", Email: "lin@example.com", Name: "Lin"}, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				c := tb.call(t, `CStarChat.identify({token: `+args(tok)+`})`).customer(t)
				if c.ExternalID != "shop-42" {
					t.Errorf("identify: external id %q, want shop-42", c.ExternalID)
				}
				if got := bodies(tb.call(t, `CStarChat.getMessages()`).messages(t)); !slices.Equal(got, []string{"Before I logged in to the shop"}) {
					t.Errorf("after identify: history %q, want the visitor's message", got)
				}
			})

			t.Run("open_close_toggle", func(t *testing.T) {
				tb := newTab(t, nil)
				tb.visit(t, lazy+"&launcher=none&sitebutton=1&openearly=1")
				// open() before anything loaded: the UI opens once it runs.
				tb.waitFor(t, `!!document.getElementById("cstar-widget-host") && !`+sr+`.querySelector(".panel").hidden`, 10*time.Second)
				if got := eval[string](t, tb, sr+`.querySelector(".composer textarea").value`); got != "Hello from the page" {
					t.Errorf("open({message}) before load: composer %q, want the message", got)
				}
				if eval[bool](t, tb, `(() => { const r = `+sr+`.querySelector(".launcher").getBoundingClientRect(); return r.width > 0; })()`) {
					t.Error(`data-launcher="none": the launcher shows`)
				}
				eval[bool](t, tb, `CStarChat.close(), true`)
				if !eval[bool](t, tb, sr+`.querySelector(".panel").hidden && !CStarChat.isOpen()`) {
					t.Error("close(): the panel is still open")
				}
				eval[bool](t, tb, `document.getElementById("site-help").click(), true`)
				tb.waitFor(t, `!`+sr+`.querySelector(".panel").hidden && CStarChat.isOpen()`, 5*time.Second)
				if got := eval[string](t, tb, sr+`.querySelector(".composer textarea").value`); !strings.HasPrefix(got, "About order #1234") {
					t.Errorf("the site's button open({message}): composer %q", got)
				}
				eval[bool](t, tb, `CStarChat.toggle(), true`)
				eval[bool](t, tb, `CStarChat.toggle(), true`)
				eval[bool](t, tb, `CStarChat.toggle(), true`)
				want := []string{"open:Hello from the page", "close", "open:About order #1234: ", "close", "open:", "close"}
				if got := eval[[]string](t, tb, `window.__panel`); !slices.Equal(got, want) {
					t.Errorf("open and close events: got %q, want %q", got, want)
				}
				tb.noViolations(t)
			})

			t.Run("newest_in_view", func(t *testing.T) {
				tb := newTab(t, nil)
				tb.open(t, e.page("test")+"&ui=1")
				tb.call(t, `CStarChat.signup(`+args(map[string]string{"email": "many@example.com", "name": "Mo", "password": password})+`)`).customer(t)
				ticket := tb.call(t, `CStarChat.sendMessage("Question 1")`).message(t).TicketID
				for i := range 30 {
					e.agentPost(t, ticket, "Answer line "+strings.Repeat("x", i))
				}
				tb.open(t, e.page("test")+"&ui=1")
				tb.waitFor(t, uiUp, 10*time.Second)
				eval[bool](t, tb, sr+`.querySelector(".launcher").click(), true`)
				tb.waitFor(t, sr+`.querySelectorAll("li[data-seq]").length === 31`, 15*time.Second)
				time.Sleep(200 * time.Millisecond)
				inView := `(() => { const b = ` + sr + `.querySelector(".body"), l = ` + sr + `.querySelector("li[data-seq='31']");
					const br = b.getBoundingClientRect(), lr = l.getBoundingClientRect();
					return lr.bottom <= br.bottom + 1 && lr.top >= br.top - 1 && b.scrollTop > 0; })()`
				if !eval[bool](t, tb, inView) {
					t.Error("panel opened on a long history: the newest message is not in view")
				}
				// Closed and opened again: still the newest.
				eval[bool](t, tb, `CStarChat.close(), CStarChat.open(), true`)
				if !eval[bool](t, tb, inView) {
					t.Error("panel opened again: the newest message is not in view")
				}
			})

			t.Run("article_then_chat", func(t *testing.T) {
				tb := newTab(t, nil)
				tb.visit(t, lazy)
				tb.waitFor(t, uiUp, 10*time.Second)
				// Hovering the launcher downloads the module meanwhile.
				eval[bool](t, tb, sr+`.querySelector(".launcher").dispatchEvent(new PointerEvent("pointerenter")), true`)
				tb.waitFor(t, wasmRequests+` === 2`, 10*time.Second)
				eval[bool](t, tb, sr+`.querySelector(".launcher").click(), true`)
				tb.waitFor(t, sr+`.activeElement && `+sr+`.activeElement.type === "search"`, 5*time.Second)
				if err := chromedp.Do(tb.ctx, chromedp.KeyEvent("shipping")); err != nil {
					t.Fatal(err)
				}
				tb.waitFor(t, sr+`.querySelectorAll("ul.arts li").length === 1`, 10*time.Second)
				eval[bool](t, tb, sr+`.querySelector("ul.arts button").click(), true`)
				tb.waitFor(t, sr+`.querySelector("article h3") && `+sr+`.querySelector("article h3").textContent === "Shipping times"`, 5*time.Second)
				clickButton(t, tb, "Chat with us")
				tb.waitFor(t, `!`+sr+`.querySelector(".composer").hidden`, 5*time.Second)
				// ask-email after (the default): the card follows the first message.
				if err := chromedp.Do(tb.ctx, chromedp.KeyEvent("When does express arrive?"+kb.Enter)); err != nil {
					t.Fatal(err)
				}
				tb.waitFor(t, sr+`.querySelector("li.mine[data-seq='1']") && `+sr+`.querySelector("li.card input[type=email]")`, 15*time.Second)
				ticket := tb.call(t, `CStarChat.getMessages()`).messages(t)[0].TicketID
				views, _ := e.rest(t, "GET", "/tickets/"+ticket+"/article-views", nil, 200).([]any)
				if len(views) != 1 || views[0].(map[string]any)["title"] != "Shipping times" {
					t.Errorf("articles the agents see: got %v, want Shipping times", views)
				}
				tb.noViolations(t)
			})
		})
	}
}
