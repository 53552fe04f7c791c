package e2e

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// EnvRequireBrowser, when set to 1 (make test sets it), turns a missing
// Chromium into a failure instead of a skip.
const EnvRequireBrowser = "CSTAR_REQUIRE_BROWSER"

var (
	// widgetDir holds the widget built as `make widget` builds it.
	widgetDir string
	// browser is the context of the one Chromium the tests share; each test
	// opens its tabs in fresh browser contexts (separate storage).
	browser context.Context
	// skipReason is why the browser tests cannot run, when they cannot.
	skipReason string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	flag.Parse()
	dir, err := os.MkdirTemp("", "cstar-e2e-widget-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	if err := buildWidget(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build the widget:", err)
		return 1
	}
	widgetDir = dir
	if testing.Verbose() {
		fmt.Printf("e2e: widget built in %s\n", time.Since(start).Round(time.Millisecond))
	}

	exe, why := findChromium()
	if exe == "" {
		if os.Getenv(EnvRequireBrowser) == "1" {
			fmt.Fprintf(os.Stderr, "e2e: %s, but %s=1: install it with 'sudo apt-get install chromium'\n", why, EnvRequireBrowser)
			return 1
		}
		skipReason = why + ": skipping the browser tests (install chromium, or set " + EnvRequireBrowser + "=1 to fail instead)"
		fmt.Println("e2e:", skipReason)
		return m.Run()
	}

	profile, err := os.MkdirTemp("", "cstar-e2e-chromium-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(profile)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		// The two-tab test keeps a tab in the background; it must not be
		// throttled.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		fmt.Fprintf(os.Stderr, "e2e: start %s: %v\n", exe, err)
		return 1
	}
	browser = bctx
	return m.Run()
}

// requireBrowser skips tb when no browser could be found.
func requireBrowser(tb testing.TB) {
	tb.Helper()
	if skipReason != "" {
		tb.Skip(skipReason)
	}
}

// buildWidget does what `make widget` does (without the precompression,
// which the server does itself at a fast level when the files are missing).
func buildWidget(dir string) error {
	root, err := goEnv("GOMOD")
	if err != nil {
		return err
	}
	if root == "" || root == os.DevNull {
		return fmt.Errorf("not inside the cstar module")
	}
	root = filepath.Dir(root)
	goroot, err := goEnv("GOROOT")
	if err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "cstar.wasm"), "./wasm")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("GOOS=js GOARCH=wasm go build ./wasm: %v\n%s", err, out)
	}
	for src, dst := range map[string]string{
		filepath.Join(goroot, "lib", "wasm", "wasm_exec.js"): "wasm_exec.js",
		filepath.Join(root, "js", "cstar-chat.js"):           "cstar-chat.js",
		filepath.Join(root, "js", "cstar-widget.js"):         "cstar-widget.js",
		filepath.Join(root, "js", "cstar-chat.d.ts"):         "cstar-chat.d.ts",
	} {
		if err := copyFile(src, filepath.Join(dir, dst)); err != nil {
			return err
		}
	}
	return nil
}

func goEnv(name string) (string, error) {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// findChromium returns the path of Chromium, installing it from the system
// packages when it is missing and the tests run as root (as make test does
// for PostgreSQL), or "" and the reason.
func findChromium() (path, why string) {
	look := func() string {
		for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				return p
			}
		}
		return ""
	}
	if p := look(); p != "" {
		return p, ""
	}
	if os.Geteuid() != 0 {
		return "", "Chromium not found (/usr/bin/chromium) and not root to install it"
	}
	fmt.Println("e2e: Chromium not found; installing it with apt-get")
	for _, args := range [][]string{{"update", "-q"}, {"install", "-y", "-q", "chromium"}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Sprintf("Chromium not found and apt-get %s failed: %v\n%s", args[0], err, out)
		}
	}
	if p := look(); p != "" {
		return p, ""
	}
	return "", "Chromium not found even after apt-get install chromium"
}
