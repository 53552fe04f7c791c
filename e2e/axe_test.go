package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// axeFile is axe-core as make test installs it (npm ci in e2e/, the version
// pinned in package.json).
const axeFile = "node_modules/axe-core/axe.min.js"

var axeSource = sync.OnceValues(func() (string, error) {
	b, err := os.ReadFile(axeFile)
	return string(b), err
})

// Scopes of an axe-core run: what cStar renders. On a customer's page that
// is the widget's host element with its shadow root (axe-core walks shadow
// trees); the dashboard's and the demo's pages are cStar's from top to
// bottom.
const (
	scopeWidget = `{include: [["#cstar-widget-host"]]}`
	scopePage   = `document`
)

// axeViolation is a rule that axe-core found broken, and where.
type axeViolation struct {
	Rule   string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	URL    string `json:"helpUrl"`
	Nodes  []struct {
		// Target is a CSS selector, or a list of them through shadow
		// roots (host first).
		Target  json.RawMessage `json:"target"`
		Summary string          `json:"failureSummary"`
	} `json:"nodes"`
}

// blocking reports whether the impact fails a test: serious and critical
// do; moderate and minor are logged.
func (v axeViolation) blocking() bool { return v.Impact == "serious" || v.Impact == "critical" }

func (v axeViolation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s — %s", v.Rule, v.Impact, v.Help, v.URL)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n      %s", n.Target)
		if n.Summary != "" {
			fmt.Fprintf(&b, "\n        %s", strings.ReplaceAll(n.Summary, "\n", "\n        "))
		}
	}
	return b.String()
}

// axe runs axe-core over scope in the tab's page as it is now, logs every
// violation with its rule, targets and help, and fails tb on a serious or
// critical one. axe-core goes in through the DevTools protocol
// (Runtime.evaluate of its text), which the page's Content-Security-Policy
// does not govern: the pages keep their strict policy.
func (t *tab) axe(tb testing.TB, state, scope string) []axeViolation {
	tb.Helper()
	src, err := axeSource()
	if err != nil {
		tb.Fatalf("axe-core is not installed in e2e/node_modules: run make test-tools (npm ci in e2e): %v", err)
	}
	ctx, cancel := context.WithTimeout(t.ctx, 90*time.Second)
	defer cancel()
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === "object"`))
	if err != nil {
		tb.Fatalf("axe %s: %v", state, err)
	}
	if !loaded {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](src)); err != nil {
			tb.Fatalf("axe %s: inject axe-core: %v", state, err)
		}
	}
	// Animations finish first: a panel that is still fading in has
	// colours of its own.
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](`Promise.all(document.getAnimations().concat(
		...[...document.querySelectorAll("*")].filter(e => e.shadowRoot).map(e => e.shadowRoot.getAnimations()))
		.map(a => a.finished.catch(() => {})))
		.then(() => axe.run(`+scope+`, {resultTypes: ["violations"]})).then(r =>
		r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
			nodes: v.nodes.map(n => ({target: n.target, failureSummary: n.failureSummary}))})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.Fatalf("axe %s: %v", state, err)
	}
	var vs []axeViolation
	if err := json.Unmarshal(raw, &vs); err != nil {
		tb.Fatalf("axe %s: decode %s: %v", state, raw, err)
	}
	counts := map[string]int{}
	for _, v := range vs {
		counts[v.Impact]++
		if v.blocking() {
			tb.Errorf("axe %s: %s", state, v)
		} else {
			tb.Logf("axe %s: %s", state, v)
		}
	}
	tb.Logf("axe %-46s critical %d, serious %d, moderate %d, minor %d", state+":",
		counts["critical"], counts["serious"], counts["moderate"], counts["minor"])
	return vs
}
