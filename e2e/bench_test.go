package e2e

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/config"
)

// BenchmarkReadyTime reports the median time from navigation start to
// CStarChat.ready() resolving, on SQLite, with the module in the cache as a
// returning visitor has it (the first load is a warm-up).
func BenchmarkReadyTime(b *testing.B) {
	requireBrowser(b)
	e := newEnv(b, "sqlite")
	tb := newTab(b, nil)
	tb.open(b, e.page("test"))
	var ms []float64
	b.ResetTimer()
	for b.Loop() {
		ms = append(ms, tb.readyTimes(b, e.page("test"), 1)...)
	}
	b.ReportMetric(median(ms), "ms/ready")
}

// floorEnv serves the floor of TestReadyTime: testdata/floor, the smallest
// Go program that publishes a global, built as make widget builds the SDK
// and served the same way by a cstar server of its own (the same code, the
// same headers and compression), with its loader in place of cstar-chat.js.
// It returns the URL of a page that loads it as the test page loads the SDK.
func floorEnv(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	root, err := filepath.Abs("..")
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "cstar.wasm"), "./e2e/testdata/floor")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build the floor: %v\n%s", err, out)
	}
	for src, dst := range map[string]string{
		filepath.Join(widgetDir, "wasm_exec.js"):         "wasm_exec.js",
		filepath.Join("testdata", "floor", "loader.js"):  "cstar-chat.js",
		filepath.Join("testdata", "typings", "usage.ts"): "cstar-widget.js", // never loaded
	} {
		if err := copyFile(src, filepath.Join(dir, dst)); err != nil {
			tb.Fatal(err)
		}
	}
	srv := apptest.Start(tb, databaseURL(tb, "sqlite"), apptest.NoTeam, apptest.Config(func(c *config.Config) { c.WidgetDir = dir }))
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/violations.js":
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			fmt.Fprint(w, violationsJS)
		case "/":
			w.Header().Set("Content-Security-Policy", fmt.Sprintf(
				"default-src 'self'; script-src 'self' %s 'wasm-unsafe-eval'; connect-src %s", srv.URL, srv.URL))
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			fmt.Fprintf(w, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>floor</title>
<script src="/violations.js"></script>
<script src="%s/widget/cstar-chat.js"></script>
</head><body><h1>A product page</h1></body></html>
`, html.EscapeString(srv.URL))
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	tb.Cleanup(site.Close)
	return site.URL + "/"
}

// visit loads url once and returns the time from navigation start to
// ready: in t, or, when t is nil, in a fresh browser context (a first
// visit: an empty cache).
func visit(tb testing.TB, t *tab, url string) float64 {
	tb.Helper()
	if t == nil {
		t = newTab(tb, nil)
	}
	return t.readyTimes(tb, url, 1)[0]
}

// TestReadyTime measures, in Chromium, navigation start to CStarChat.ready()
// against the floor (floorEnv) loaded the same way from the same kind of
// server: first visits (each in a fresh browser context, so an empty cache)
// and return visits (one context, loaded once before), the median of 7
// each, floor and SDK taking turns so that both meet the same load on a
// shared machine. The goal is at most 1.15 times the floor; timing on a
// shared machine varies, so the figures are logged, not asserted
// (go test -run TestReadyTime -v ./e2e prints them).
func TestReadyTime(t *testing.T) {
	requireBrowser(t)
	e := newEnv(t, "sqlite")
	floor := floorEnv(t)
	sdk := e.page("test")
	var ff, sf []float64
	for range 7 {
		ff = append(ff, visit(t, nil, floor))
		sf = append(sf, visit(t, nil, sdk))
	}
	ft, st := newTab(t, nil), newTab(t, nil)
	ft.open(t, floor)
	st.open(t, sdk)
	var fr, sret []float64
	for range 7 {
		fr = append(fr, visit(t, ft, floor))
		sret = append(sret, visit(t, st, sdk))
	}
	for _, r := range []struct {
		name       string
		floor, sdk []float64
	}{{"first visit", ff, sf}, {"return visit", fr, sret}} {
		f, s := median(r.floor), median(r.sdk)
		t.Logf("%s: floor %.1f ms, SDK %.1f ms (median of %d), ratio %.2f (goal at most 1.15)", r.name, f, s, len(r.sdk), s/f)
	}
}
