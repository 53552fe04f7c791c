package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/cstar-chat/cstar/demo"
	"github.com/cstar-chat/cstar/server/apptest"
)

// a11yJS is what the by-hand checks ask of a page, through shadow roots:
// the focused element with the contrast of its focus ring against what is
// behind it, every control a keyboard must reach, and what live regions
// said. It is evaluated through the DevTools protocol, like axe-core.
const a11yJS = `window.__a11y = window.__a11y || (() => {
  const parse = c => { const m = /rgba?\(([^)]*)\)/.exec(c || ""); if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const lum = c => c.slice(0, 3).map(v => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); })
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const ratio = (x, y) => { const a = lum(x) + 0.05, b = lum(y) + 0.05; return a > b ? a / b : b / a; };
  const up = n => n.parentNode instanceof ShadowRoot ? n.parentNode.host : n.parentElement;
  // behind is the colour under el: its ancestors' backgrounds, composited.
  const behind = el => {
    const layers = [];
    for (let n = el; n; n = up(n)) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let bg = [255, 255, 255];
    for (let i = layers.length - 1; i >= 0; i--) { const c = layers[i]; bg = [0, 1, 2].map(k => c[k] * c[3] + bg[k] * (1 - c[3])); }
    return bg;
  };
  const deepActive = () => { let a = document.activeElement; while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement; return a; };
  let seq = 0;
  const key = e => e.type === "radio" && e.name ? "radio:" + e.name : (e.__a11yKey = e.__a11yKey || "k" + (++seq));
  const label = e => (e.getAttribute("aria-label") || (e.labels && e.labels[0] && e.labels[0].textContent) || e.textContent || e.name || e.id || "").trim().replace(/\s+/g, " ").slice(0, 50);
  const visible = e => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden";
  const SEL = 'a[href], button, input:not([type="hidden"]), select, textarea, [tabindex]:not([tabindex="-1"])';
  return {
    ratio, parse, behind,
    // focus describes the focused element; ring is the best contrast of
    // its outline or a spread box-shadow against the colour behind it.
    focus() {
      const a = deepActive();
      if (!a || a === document.body || a === document.documentElement) return { key: "", tag: "body" };
      const cs = getComputedStyle(a), bg = behind(up(a) || a), rings = [];
      if (cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 2) rings.push(parse(cs.outlineColor));
      for (const m of cs.boxShadow.matchAll(/(rgba?\([^)]*\))\s+(-?[\d.]+)px\s+(-?[\d.]+)px\s+(-?[\d.]+)px\s+(-?[\d.]+)px/g)) {
        if (parseFloat(m[5]) >= 1) rings.push(parse(m[1]));
      }
      const r = a.getBoundingClientRect();
      return { key: key(a), tag: a.tagName.toLowerCase(), label: label(a),
        ring: Math.max(0, ...rings.filter(Boolean).map(c => ratio(c, bg))),
        inView: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth };
    },
    // controls lists what a keyboard must reach under root (a selector of
    // the page or of a shadow root).
    controls(root) {
      const out = [], seen = {};
      const walk = r => r.querySelectorAll("*").forEach(e => {
        if (e.shadowRoot) walk(e.shadowRoot);
        if (e.matches(SEL) && !e.disabled && visible(e) && !seen[key(e)]) { seen[key(e)] = true; out.push({ key: key(e), tag: e.tagName.toLowerCase(), label: label(e) }); }
      });
      walk(root);
      return out;
    },
    // listen records what live regions under root say: per batch of
    // changes (what one task did) and region, the text added, as a screen
    // reader hears one change; a region that is not rendered says nothing.
    listen(root) {
      const said = window.__said = window.__said || [];
      const region = n => { for (; n && n !== root; n = n.parentNode) {
        if (n.nodeType !== 1) continue;
        const l = n.getAttribute("aria-live"), role = n.getAttribute("role");
        if (l) return l === "off" ? null : n;
        if (role === "log" || role === "status" || role === "alert") return n;
      } return null; };
      new MutationObserver(ms => {
        const added = new Set(), batch = new Map();
        ms.forEach(m => { if (m.type === "characterData") added.add(m.target); else m.addedNodes.forEach(n => added.add(n)); });
        for (const n of added) {
          let inner = false;
          for (let p = n.parentNode; p && !inner; p = p.parentNode) inner = added.has(p);
          const r = !inner && n.isConnected && region(n), text = (n.textContent || "").trim();
          if (r && text && r.checkVisibility()) batch.set(r, (batch.get(r) || []).concat(text));
        }
        batch.forEach(texts => said.push(texts.join(" ")));
      }).observe(root, { childList: true, subtree: true, characterData: true });
    },
  };
})(), true`

// stop is one stop of the focus: what a keyboard user is on.
type stop struct {
	Key    string  `json:"key"`
	Tag    string  `json:"tag"`
	Label  string  `json:"label"`
	Ring   float64 `json:"ring"`
	InView bool    `json:"inView"`
}

func (s stop) String() string { return fmt.Sprintf("<%s> %q", s.Tag, s.Label) }

// focused is where the focus is now.
func (t *tab) focused(tb testing.TB) stop {
	tb.Helper()
	eval[bool](tb, t, a11yJS)
	return eval[stop](tb, t, `__a11y.focus()`)
}

// checkStop fails tb unless the focused control is in view and shows a
// focus ring of 3:1 against what is behind it (WCAG 1.4.11).
func checkStop(tb testing.TB, where string, s stop) {
	tb.Helper()
	if s.Ring < 3 {
		tb.Errorf("%s: focus on %s shows no ring of 3:1 (best %.2f:1)", where, s, s.Ring)
	}
	if !s.InView {
		tb.Errorf("%s: focus on %s, which is out of view", where, s)
	}
}

// tabCycle presses Tab until the focus comes back to where it started, at
// most limit times (more is a trap), checks each stop's ring, and fails tb
// when a control of controls was never reached.
func (t *tab) tabCycle(tb testing.TB, where, controls string, limit int) []stop {
	tb.Helper()
	eval[bool](tb, t, a11yJS)
	want := eval[[]stop](tb, t, `__a11y.controls(`+controls+`)`)
	var stops []stop
	first := ""
	for range limit {
		t.press(tb, kb.Tab)
		s := t.focused(tb)
		if s.Key == "" { // between the page's last control and its first
			continue
		}
		if s.Key == first {
			break
		}
		if first == "" {
			first = s.Key
		}
		checkStop(tb, where, s)
		stops = append(stops, s)
	}
	if len(stops) == 0 {
		tb.Fatalf("%s: Tab reaches nothing", where)
	}
	if s := t.focused(tb); s.Key != first {
		tb.Fatalf("%s: after %d presses of Tab the focus had not come back to %s: a keyboard trap? (stops %v)", where, limit, stops[0], stops)
	}
	reached, least := map[string]bool{}, math.Inf(1)
	for _, s := range stops {
		reached[s.Key] = true
		least = min(least, s.Ring)
	}
	tb.Logf("%s: %d Tab stops, %d controls, the faintest ring %.2f:1", where, len(stops), len(want), least)
	for _, c := range want {
		if !reached[c.Key] {
			tb.Errorf("%s: %s is never reached with Tab", where, c)
		}
	}
	return stops
}

// TestAccessibilityByHand checks what axe-core cannot see: keyboard-only
// use with a visible focus everywhere, readable text on any site colour,
// reduced motion, 200 % zoom, and what screen readers hear.
func TestAccessibilityByHand(t *testing.T) {
	requireBrowser(t)
	e := newEnv(t, "sqlite")
	e.seedHelp(t)
	t.Run("keyboard/widget", func(t *testing.T) { keyboardWidget(t, e) })
	t.Run("keyboard/dashboard", func(t *testing.T) { keyboardDashboard(t, e) })
	t.Run("keyboard/demo", func(t *testing.T) { keyboardDemo(t, e) })
	t.Run("colour", func(t *testing.T) { widgetColours(t, e) })
	t.Run("reduced_motion", func(t *testing.T) { reducedMotion(t, e) })
	t.Run("zoom", func(t *testing.T) { zoom(t, e) })
	t.Run("announcements", func(t *testing.T) { announcements(t, e) })
}

// panel is the widget's open panel: what Tab cycles through while it is
// open (the launcher is reached again after Escape).
const panel = sr + `.querySelector(".panel")`

// keyboardWidget uses the widget with the keyboard alone: from the page to
// the launcher, the help articles and an article, a message, signing up
// from the chat (the conversation kept), a link in a reply, a failed
// send's Retry, Escape, and logging out; Tab stays inside the open panel
// (the documented trap: it is a modal dialog, and Escape leaves it).
func keyboardWidget(t *testing.T, e *env) {
	tb := newTab(t, nil)
	if err := chromedp.Do(tb.ctx, chromedp.EmulateViewport(1100, 760)); err != nil {
		t.Fatal(err)
	}
	tb.visit(t, e.page("test")+"&ui=1&lazy=1")
	tb.waitFor(t, uiUp, 10*time.Second)
	tabTo := func(label string) {
		t.Helper()
		for i := 0; !strings.HasPrefix(tb.focused(t).Label, label); i++ {
			if i > 30 {
				t.Fatalf("%q is not reached with Tab", label)
			}
			tb.press(t, kb.Tab)
		}
	}
	tb.press(t, kb.Tab) // the product page has nothing else to focus
	s := tb.focused(t)
	if s.Label != "Open chat" {
		t.Fatalf("first Tab on the page: got %s, want the launcher", s)
	}
	checkStop(t, "launcher", s)
	tb.press(t, kb.Enter)
	tb.waitFor(t, sr+`.activeElement && `+sr+`.activeElement.type === "search" && `+sr+`.querySelectorAll("ul.arts li").length === 3`, 10*time.Second)
	stops := tb.tabCycle(t, "help", panel, 20)
	if len(stops) != 7 {
		t.Errorf("help: %d stops %v, want 7 (close, search, 3 articles, start, log in)", len(stops), stops)
	}
	tabTo("Shipping times")
	tb.press(t, kb.Enter)
	tb.waitFor(t, sr+`.querySelector("article")`, 5*time.Second)
	tb.tabCycle(t, "an article", panel, 20)
	tabTo("Chat with us")
	tb.press(t, kb.Enter)
	tb.waitFor(t, sr+`.activeElement && `+sr+`.activeElement.tagName === "TEXTAREA"`, 10*time.Second)
	tb.press(t, "Where is my order?"+kb.Enter)
	tb.waitFor(t, sr+`.querySelector("li.mine[data-seq='1']") && `+sr+`.querySelector("li.card input[type=email]")`, 15*time.Second)
	tb.tabCycle(t, "conversation of a visitor, email asked", panel, 20)

	// Sign up from the chat: Help, log in, create an account.
	tabTo("Help")
	tb.press(t, kb.Enter)
	tabTo("Have an account? Log in")
	tb.press(t, kb.Enter)
	tb.waitFor(t, tb.activeIs(`"email"`), 5*time.Second)
	tb.tabCycle(t, "login form", panel, 20)
	tabTo("New here? Create an account")
	tb.press(t, kb.Enter)
	tb.waitFor(t, tb.activeIs(`"name"`), 5*time.Second)
	tb.tabCycle(t, "signup form", panel, 20)
	tabTo("Name")
	tb.press(t, "Grace"+kb.Tab+"grace@example.com"+kb.Tab+password+kb.Enter)
	tb.waitFor(t, `CStarChat.isIdentified() && `+sr+`.activeElement && `+sr+`.activeElement.tagName === "TEXTAREA"`, 15*time.Second)
	ticket := tb.call(t, `CStarChat.getMessages()`).messages(t)[0].TicketID
	e.agentPost(t, ticket, "Here: https://example.com/track")
	tb.waitFor(t, sr+`.querySelector("li.theirs a")`, 10*time.Second)
	// A refused send: its Retry button is reachable too.
	tb.do(t, `const ta = `+sr+`.querySelector(".composer textarea"); ta.value = "x".repeat(4001); ta.focus()`)
	tb.press(t, kb.Enter)
	tb.waitFor(t, sr+`.querySelector("li.failed .meta button")`, 10*time.Second)
	stops = tb.tabCycle(t, "conversation", panel, 20)
	labels := make([]string, len(stops))
	for i, s := range stops {
		labels[i] = s.Label
	}
	for _, want := range []string{"Help", "Log out", "Close chat", "https://example.com/track", "Retry", "Send"} {
		if !strings.Contains(strings.Join(labels, "|"), want) {
			t.Errorf("conversation: Tab stops %q, want %q among them", labels, want)
		}
	}
	// Shift+Tab stays inside too.
	for range len(stops) + 2 {
		tb.press(t, kb.Tab, chromedp.KeyModifiers(kb.ModifierShift))
		if !eval[bool](t, tb, panel+`.contains(`+sr+`.activeElement)`) {
			t.Fatal("Shift+Tab left the open panel")
		}
	}
	tb.press(t, kb.Escape)
	tb.waitFor(t, panel+`.hidden`, 5*time.Second)
	if s := tb.focused(t); s.Label != "Open chat" {
		t.Errorf("after Escape: focus on %s, want the launcher", s)
	} else {
		checkStop(t, "launcher after Escape", s)
	}
	// Open again with Space, log out with Enter: the login form has the focus.
	tb.press(t, " ")
	tb.waitFor(t, `!`+panel+`.hidden && `+sr+`.activeElement && `+sr+`.activeElement.tagName === "TEXTAREA"`, 5*time.Second)
	tabTo("Log out")
	tb.press(t, kb.Enter)
	tb.waitFor(t, `!CStarChat.isIdentified() && `+tb.activeIs(`"email"`), 10*time.Second)
	tb.noViolations(t)
}

// dashboardPages are the pages whose every control a keyboard must reach.
var dashboardPages = []string{"/test/inbox", "/test/settings/keys", "/test/settings/origins", "/test/settings/identity",
	"/test/settings/widget", "/test/settings/library", "/test/settings/library/articles/new", "/test/settings/team",
	"/test/settings/audit", "/test/settings/webhooks", "/saved-replies", "/account"}

// keyboardDashboard signs in, opens a conversation and replies with the
// keyboard alone, and tabs through every page: each control is reached,
// shows its focus, and Tab comes back round (no trap).
func keyboardDashboard(t *testing.T, e *env) {
	e.Server.CreateAgent(t, "kim@a11y.example", "Kim Keys", "owner")
	app := e.API + "/app"
	visitor := newTab(t, nil)
	visitor.open(t, e.page("test"))
	visitor.call(t, `CStarChat.signup({name: "Kay", email: "kay@example.com", password: "`+password+`"})`).customer(t)
	if r := visitor.call(t, `CStarChat.sendMessage("Do you ship to Norway?")`); !r.OK {
		t.Fatalf("sendMessage: %+v", r)
	}

	d := newDashTab(t)
	d.visit(app + "/login?next=/app/test/inbox")
	d.tabCycle(t, "sign-in", "document", 20)
	d.js(`document.getElementById("email").focus()`)
	d.keys("kim@a11y.example" + kb.Tab + apptest.AgentPassword + kb.Enter)
	d.waitNav(`location.pathname === "/app/test/inbox" && document.querySelector("#conversations li")`)

	// The skip link comes first, shows, and moves to the content.
	d.press(t, kb.Tab)
	if s := d.focused(t); s.Label != "Skip to content" {
		t.Errorf("first Tab: got %s, want the skip link", s)
	} else {
		checkStop(t, "skip link", s)
	}
	d.press(t, kb.Enter)
	if !eval[bool](t, d.tab, `document.activeElement === document.getElementById("main")`) {
		t.Error("the skip link does not move the focus to the content")
	}

	// Into the conversation with the keyboard: Tab to its row, Enter.
	for i := 0; !strings.Contains(d.focused(t).Label, "Kay"); i++ {
		if i > 40 {
			t.Fatal("inbox: the conversation's row is not reached with Tab")
		}
		d.press(t, kb.Tab)
	}
	d.press(t, kb.Enter)
	d.waitNav(`location.pathname.startsWith("/app/test/conversations/") && document.activeElement && document.activeElement.id === "body"`)
	d.waitFor(t, `document.body.getAttribute("data-live") === "ready"`, 10*time.Second)
	d.keys("Yes, in 3 days." + kb.Enter)
	// Sent once the composer is empty (the live event may show the reply
	// before the answer to the post).
	d.waitFor(t, `document.querySelector("#messages li.agent") && document.getElementById("body").value === ""`, 10*time.Second)
	// An internal note: the kind with the arrow keys, from the textarea
	// back to the radio buttons.
	d.press(t, kb.Tab, chromedp.KeyModifiers(kb.ModifierShift))
	if s := d.focused(t); s.Key != "radio:internal" {
		t.Fatalf("Shift+Tab from the composer: got %s, want the reply or note choice", s)
	}
	d.press(t, kb.ArrowRight)
	d.press(t, kb.Tab)
	d.keys("Note: check the customs form." + kb.Enter)
	d.waitFor(t, `document.querySelector("#messages li.note")`, 10*time.Second)
	d.tabCycle(t, "conversation", "document", 80)

	for _, p := range dashboardPages {
		d.visit(app + p)
		d.tabCycle(t, p, "document", 120)
	}
	d.cleanPage()
}

// keyboardDemo tabs through the demo store's pages, widget launcher
// included.
func keyboardDemo(t *testing.T, e *env) {
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
	stops := d.tabCycle(t, "demo store", "document", 20)
	if last := stops[len(stops)-1]; last.Label != "Open chat" {
		t.Errorf("demo store: the last stop is %s, want the chat launcher", last)
	}
	d.visit(srv.URL + "/account")
	d.waitFor(t, `document.getElementById("cstar-widget-host") && !document.getElementById("signed-out").hidden`, 15*time.Second)
	d.tabCycle(t, "demo account", "document", 20)
	d.cleanPage()
}

// inkFor is the text colour the widget must choose on a site's colour: white
// where it reads at 4.5:1, else black (computed here apart from the widget).
func inkFor(hex string) (ink string, ratio float64) {
	l := luminance(hex)
	white := 1.05 / (l + 0.05)
	if white >= 4.5 {
		return "rgb(255, 255, 255)", white
	}
	return "rgb(0, 0, 0)", (l + 0.05) / 0.05
}

func luminance(hex string) float64 {
	var l float64
	for i, w := range []float64{0.2126, 0.7152, 0.0722} {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		c := float64(v) / 255
		if c <= 0.04045 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		l += w * c
	}
	return l
}

// widgetColours opens the widget on sites of several colours: every text and
// the launcher's icon on the colour read at 4.5:1, and axe-core agrees.
func widgetColours(t *testing.T, e *env) {
	tb := newTab(t, nil)
	tb.open(t, e.page("test"))
	tb.call(t, `CStarChat.signup({name: "Cole", email: "cole@example.com", password: "`+password+`"})`).customer(t)
	if r := tb.call(t, `CStarChat.sendMessage("Which colour is the mug?")`); !r.OK {
		t.Fatalf("sendMessage: %+v", r)
	}
	for _, c := range []struct{ color, why string }{
		{"#1f5fd6", "the default blue: white"},
		{"#ffd400", "yellow: white would be 1.5:1"},
		{"#00a0e0", "light blue: white would be 2.9:1"},
		{"#767676", "grey at 4.54:1 with white: white"},
		{"#777777", "grey at 4.48:1 with white: black"},
		{"#0b3d2e", "dark green: white"},
	} {
		t.Run(c.color, func(t *testing.T) {
			want, ratio := inkFor(c.color)
			if ratio < 4.5 {
				t.Fatalf("%s: the better of white and black reads at %.2f:1, want 4.5:1", c.color, ratio)
			}
			tb.open(t, e.page("test")+"&ui=1&color="+strings.ReplaceAll(c.color, "#", "%23"))
			tb.waitFor(t, uiUp, 10*time.Second)
			tb.do(t, sr+`.querySelector(".launcher").click()`)
			tb.waitFor(t, sr+`.querySelector("li.mine .text")`, 10*time.Second)
			eval[bool](t, tb, a11yJS)
			got := eval[map[string]string](t, tb, `(() => { const q = s => getComputedStyle(`+sr+`.querySelector(s));
				return {launcher: q(".launcher").color, icon: q(".launcher svg").fill, header: q("header h2").color,
					status: q("header p").color, help: q("header .hl").color, close: q("header .hb:not([hidden]) svg").fill,
					send: q(".composer button.primary").color, mine: q("li.mine .text").color, time: q("li.mine .meta").color,
					bg: q("header").backgroundColor}; })()`)
			for _, part := range []string{"launcher", "icon", "header", "status", "help", "close", "send", "mine", "time"} {
				if got[part] != want {
					t.Errorf("%s (%s): %s is %s, want %s", c.color, c.why, part, got[part], want)
				}
			}
			bg := eval[[]float64](t, tb, `__a11y.parse(`+args(got["bg"])+`)`)
			fg := eval[[]float64](t, tb, `__a11y.parse(`+args(got["header"])+`)`)
			if r := eval[float64](t, tb, `__a11y.ratio(`+args(fg)+`, `+args(bg)+`)`); r < 4.5 {
				t.Errorf("%s: the header's text reads at %.2f:1, want 4.5:1", c.color, r)
			}
			for _, v := range tb.axe(t, "widget on "+c.color, scopeWidget) {
				if v.Rule == "color-contrast" {
					t.Errorf("%s: axe-core finds contrast too low", c.color)
				}
			}
		})
	}
}

// reducedMotion: the panel slides in, except under prefers-reduced-motion;
// the dashboard's new inbox rows stop flashing too.
func reducedMotion(t *testing.T, e *env) {
	tb := newTab(t, nil)
	tb.visit(t, e.page("test")+"&ui=1&lazy=1")
	tb.waitFor(t, uiUp, 10*time.Second)
	animated := func() (string, int) {
		t.Helper()
		tb.do(t, sr+`.querySelector(".launcher").click()`)
		got := eval[map[string]any](t, tb, `(() => { const p = `+sr+`.querySelector(".panel");
			return {name: getComputedStyle(p).animationName, running: p.getAnimations().length}; })()`)
		tb.press(t, kb.Escape)
		return got["name"].(string), int(got["running"].(float64))
	}
	if name, n := animated(); name == "none" || n == 0 {
		t.Errorf("opening the panel: animation %q (%d running), want it to slide in", name, n)
	}
	reduce := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}}})
		return err
	})
	if err := chromedp.Do(tb.ctx, reduce); err != nil {
		t.Fatal(err)
	}
	if name, n := animated(); name != "none" || n != 0 {
		t.Errorf("prefers-reduced-motion: animation %q (%d running), want none", name, n)
	}
	if d := eval[string](t, tb, `getComputedStyle(`+sr+`.querySelector(".panel")).transitionDuration`); d != "0s" {
		t.Errorf("prefers-reduced-motion: the panel's transition lasts %s, want none", d)
	}

	e.Server.CreateAgent(t, "mo@a11y.example", "Mo Motion", "agent")
	d := newDashTab(t)
	if err := chromedp.Do(d.ctx, reduce); err != nil {
		t.Fatal(err)
	}
	d.visit(e.API + "/app/login?next=/app/test/inbox")
	d.js(`document.getElementById("email").focus()`)
	d.keys("mo@a11y.example" + kb.Tab + apptest.AgentPassword + kb.Enter)
	d.waitNav(`location.pathname === "/app/test/inbox"`)
	if name := eval[string](t, d.tab, `(() => { const li = document.createElement("li"); li.className = "conv fresh";
		document.getElementById("conversations").appendChild(li); const n = getComputedStyle(li).animationName; li.remove(); return n; })()`); name != "none" {
		t.Errorf("dashboard under prefers-reduced-motion: a new inbox row animates (%s), want none", name)
	}
}

// zoom opens the widget in a 1280×720 window zoomed to 200 % (a 640×360
// CSS-pixel viewport at twice the pixel density): the panel fits the
// window, every control can be focused in view, and a message goes out.
func zoom(t *testing.T, e *env) {
	tb := newTab(t, nil)
	if err := chromedp.Do(tb.ctx, chromedp.EmulateViewport(640, 360, chromedp.EmulateScale(2))); err != nil {
		t.Fatal(err)
	}
	tb.visit(t, e.page("test")+"&ui=1&lazy=1")
	tb.waitFor(t, uiUp, 10*time.Second)
	fits := func(state string) {
		t.Helper()
		tb.waitFor(t, panel+`.getAnimations().length === 0`, 5*time.Second)
		got := eval[map[string]float64](t, tb, `(() => { const p = `+sr+`.querySelector(".panel").getBoundingClientRect(), b = `+sr+`.querySelector(".body");
			return {top: p.top, left: p.left, bottom: p.bottom, right: p.right, w: innerWidth, h: innerHeight,
				body: b.clientHeight, overflow: b.scrollWidth - b.clientWidth}; })()`)
		if got["top"] < 0 || got["left"] < 0 || got["bottom"] > got["h"] || got["right"] > got["w"] {
			t.Errorf("%s at 200 %%: the panel %v does not fit the window", state, got)
		}
		t.Logf("%s at 200 %%: the panel %v×%v px, %v px for the form or the messages", state, got["right"]-got["left"], got["bottom"]-got["top"], got["body"])
		if got["body"] < 150 {
			t.Errorf("%s at 200 %%: %v px left for the form or the messages, want 150 or more", state, got["body"])
		}
		if got["overflow"] > 0 {
			t.Errorf("%s at 200 %%: the content scrolls sideways by %v px", state, got["overflow"])
		}
	}
	tb.do(t, sr+`.querySelector(".launcher").click()`)
	tb.waitFor(t, sr+`.querySelectorAll("ul.arts li").length === 3`, 10*time.Second)
	fits("the help articles")
	tb.tabCycle(t, "help at 200 %", panel, 20)
	clickButton(t, tb, "Have an account? Log in")
	clickButton(t, tb, "New here? Create an account")
	tb.waitFor(t, tb.activeIs(`"name"`), 5*time.Second)
	fits("the signup form")
	tb.tabCycle(t, "signup form at 200 %", panel, 20)
	for tb.focused(t).Label != "Name" {
		tb.press(t, kb.Tab)
	}
	tb.press(t, "Zoe"+kb.Tab+"zoe@example.com"+kb.Tab+password+kb.Enter)
	tb.waitFor(t, `CStarChat.isIdentified() && `+sr+`.activeElement && `+sr+`.activeElement.tagName === "TEXTAREA"`, 15*time.Second)
	for i := range 8 {
		if r := tb.call(t, `CStarChat.sendMessage("Message `+strconv.Itoa(i+1)+` at 200 %")`); !r.OK {
			t.Fatalf("sendMessage: %+v", r)
		}
	}
	tb.do(t, sr+`.querySelector(".composer textarea").focus()`)
	tb.press(t, "Typed at 200 %"+kb.Enter)
	tb.waitFor(t, sr+`.querySelectorAll("li.mine").length === 9`, 10*time.Second)
	fits("a conversation")
	if !eval[bool](t, tb, `(() => { const b = `+sr+`.querySelector(".body"), li = [...b.querySelectorAll("li")].pop().getBoundingClientRect(),
		r = b.getBoundingClientRect(); return li.bottom <= r.bottom + 1 && li.top >= r.top - 1; })()`) {
		t.Error("a conversation at 200 %: the newest message is not in view")
	}
	tb.tabCycle(t, "conversation at 200 %", panel, 20)
}

// announcements: what a screen reader hears of the widget's live regions.
// A new message from the team is said once, whether the panel is open or
// closed; the visitor's own messages and the history (after a reload, on
// logging in) are not said; an agent who keeps typing is said once, not at each typing
// event; a failed send is said. In the dashboard, a customer's message is
// said once and their typing once.
func announcements(t *testing.T, e *env) {
	tb := newTab(t, nil)
	tb.open(t, e.page("test")+"&ui=1")
	tb.waitFor(t, uiUp, 10*time.Second)
	listen := func() {
		t.Helper()
		eval[bool](t, tb, a11yJS)
		tb.do(t, `window.__said = []; __a11y.listen(`+sr+`)`)
	}
	listen()
	said := func(sub string) int {
		t.Helper()
		time.Sleep(300 * time.Millisecond) // anything late would be said by now
		n := 0
		for _, s := range eval[[]string](t, tb, `window.__said`) {
			if strings.Contains(s, sub) {
				n++
			}
		}
		return n
	}
	tb.call(t, `CStarChat.signup({name: "Ann", email: "ann@example.com", password: "`+password+`"})`).customer(t)
	tb.do(t, sr+`.querySelector(".launcher").click()`)
	tb.waitFor(t, `!`+sr+`.querySelector(".composer").hidden`, 10*time.Second)
	tb.do(t, sr+`.querySelector(".composer textarea").focus()`)
	tb.press(t, "My own words"+kb.Enter)
	tb.waitFor(t, sr+`.querySelector("li.mine[data-seq='1']")`, 10*time.Second)
	if n := said("My own words"); n != 0 {
		t.Errorf("the visitor's own message was said %d times, want never", n)
	}
	ticket := tb.call(t, `CStarChat.getMessages()`).messages(t)[0].TicketID

	for range 3 {
		e.agentTyping(t, ticket, true)
		time.Sleep(150 * time.Millisecond)
	}
	tb.waitFor(t, sr+`.querySelector(".typing").textContent !== ""`, 5*time.Second)
	if n := said("typing"); n != 1 {
		t.Errorf("three typing events of the agent were said %d times, want once", n)
	}
	e.agentPost(t, ticket, "The first reply")
	tb.waitFor(t, sr+`.querySelector("li.theirs")`, 10*time.Second)
	if n := said("The first reply"); n != 1 {
		t.Errorf("an agent's message was said %d times, want once", n)
	}
	if n := said("Bob: The first reply"); n != 1 {
		t.Errorf("the agent's message was said without its author (said %q)", eval[[]string](t, tb, `window.__said`))
	}
	tb.press(t, kb.Escape)
	e.agentPost(t, ticket, "A reply while closed")
	tb.waitFor(t, `!`+sr+`.querySelector(".badge").hidden`, 10*time.Second)
	if n := said("A reply while closed"); n != 1 {
		t.Errorf("a message while the panel is closed was said %d times, want once", n)
	}
	tb.do(t, sr+`.querySelector(".launcher").click()`)
	tb.do(t, `const ta = `+sr+`.querySelector(".composer textarea"); ta.value = "x".repeat(4001); ta.focus()`)
	tb.press(t, kb.Enter)
	tb.waitFor(t, sr+`.querySelector("li.failed")`, 10*time.Second)
	if n := said("Not sent."); n != 1 {
		t.Errorf("a failed send was said %d times, want once", n)
	}

	// A reload with the panel opened at once: the history is not said.
	tb.open(t, e.page("test")+"&ui=1")
	tb.waitFor(t, uiUp, 10*time.Second)
	listen()
	tb.do(t, sr+`.querySelector(".launcher").click()`)
	tb.waitFor(t, sr+`.querySelectorAll("li[data-author]").length >= 3`, 10*time.Second)
	for _, body := range []string{"My own words", "The first reply", "A reply while closed"} {
		if n := said(body); n != 0 {
			t.Errorf("after a reload, the history's %q was said %d times, want never", body, n)
		}
	}
	// Logging in again with the panel open: the history is not said.
	if r := tb.call(t, `CStarChat.logout()`); !r.OK {
		t.Fatalf("logout: %+v", r)
	}
	tb.call(t, `CStarChat.login({email: "ann@example.com", password: "`+password+`"})`).customer(t)
	tb.waitFor(t, sr+`.querySelectorAll("li[data-author]").length >= 3`, 10*time.Second)
	for _, body := range []string{"My own words", "The first reply", "A reply while closed"} {
		if n := said(body); n != 0 {
			t.Errorf("logging in with the panel open, the history's %q was said %d times, want never (said %q)", body, n, eval[[]string](t, tb, `window.__said`))
		}
	}

	// The dashboard: the customer writes, and types for a while.
	e.Server.CreateAgent(t, "lea@a11y.example", "Lea Listen", "agent")
	d := newDashTab(t)
	d.visit(e.API + "/app/login?next=/app/test/inbox")
	d.js(`document.getElementById("email").focus()`)
	d.keys("lea@a11y.example" + kb.Tab + apptest.AgentPassword + kb.Enter)
	d.waitNav(`location.pathname === "/app/test/inbox" && document.querySelector("#conversations li a")`)
	d.js(`document.querySelector("#conversations li a").click()`)
	d.waitNav(`location.pathname.startsWith("/app/test/conversations/")`)
	d.waitFor(t, `document.body.getAttribute("data-live") === "ready"`, 10*time.Second)
	eval[bool](t, d.tab, a11yJS)
	d.js(`window.__said = []; __a11y.listen(document.body)`)
	dsaid := func(sub string) int {
		t.Helper()
		time.Sleep(300 * time.Millisecond)
		n := 0
		for _, s := range eval[[]string](t, d.tab, `window.__said`) {
			if strings.Contains(s, sub) {
				n++
			}
		}
		return n
	}
	tb.do(t, `CStarChat.setTyping(true)`)
	d.waitFor(t, `document.getElementById("typing").textContent !== ""`, 10*time.Second)
	time.Sleep(3200 * time.Millisecond) // the SDK repeats a typing event every 3 s
	tb.do(t, `CStarChat.setTyping(true)`)
	time.Sleep(500 * time.Millisecond)
	if n := dsaid("is typing"); n != 1 {
		t.Errorf("dashboard: the customer's typing was said %d times, want once", n)
	}
	if r := tb.call(t, `CStarChat.sendMessage("Are you there?")`); !r.OK {
		t.Fatalf("sendMessage: %+v", r)
	}
	d.waitFor(t, `[...document.querySelectorAll("#messages .body")].some(b => b.textContent === "Are you there?")`, 10*time.Second)
	if n := dsaid("New message from Ann"); n != 1 {
		t.Errorf("dashboard: the customer's message was said %d times, want once (said %q)", n, eval[[]string](t, d.tab, `window.__said`))
	}
	tb.noViolations(t)
	d.cleanPage()
}

// agentTyping tells the customer an agent is typing, through REST.
func (e *env) agentTyping(tb testing.TB, ticketID string, on bool) {
	tb.Helper()
	raw, _ := json.Marshal(map[string]any{"typing": on, "author_name": "Bob"})
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/teams/%s/tickets/%s/typing", e.API, e.TeamID, ticketID), bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+e.SKTest)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("agent typing: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		tb.Fatalf("agent typing: status %d, want 200", res.StatusCode)
	}
}
