//go:build !js

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
)

// budgetBrotli is the most cstar.wasm may weigh after brotli -q 11: every
// visitor of every customer's site downloads it.
const budgetBrotli = 480 << 10

// forbidden are packages whose weight or purpose has no place in the
// browser SDK. The Go runtime alone is about 418 KB with brotli; fmt adds
// about 125 KB, encoding/json 245 KB and net/http 1.5 MB; strings 2.5 KB,
// for it links unicode's tables.
var forbidden = []string{
	"net/http", "fmt", "encoding/json", "strings", "testing",
	"github.com/uptrace/bun", "github.com/jackc/", "modernc.org/", "database/sql",
	"github.com/gorilla/",
}

func goCmd(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// TestWasmDependencies fails when the js/wasm build links a forbidden package.
func TestWasmDependencies(t *testing.T) {
	deps := strings.Fields(string(goCmd(t, "list", "-deps", ".")))
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || (strings.HasSuffix(f, "/") && strings.HasPrefix(d, f)) || strings.HasPrefix(d, f+"/") {
				t.Errorf("the js/wasm build links %s (forbidden: %s)", d, f)
			}
		}
	}
}

// TestOnlyJSBridgeImportsSyscallJS keeps the module's syscall/js code in
// one package, so that the core and the composition stay testable natively.
func TestOnlyJSBridgeImportsSyscallJS(t *testing.T) {
	const bridge = "github.com/cstar-chat/cstar/wasm/jsbridge"
	lines := strings.Split(string(goCmd(t, "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}} {{join .Imports \" \"}}", ".")), "\n")
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 2 || f[1] == "true" || f[0] == bridge {
			continue
		}
		for _, imp := range f[2:] {
			if imp == "syscall/js" {
				t.Errorf("%s imports syscall/js; only %s may", f[0], bridge)
			}
		}
	}
}

// TestWasmSizeBudget builds the module as shipped and checks its brotli size.
func TestWasmSizeBudget(t *testing.T) {
	out := filepath.Join(t.TempDir(), "cstar.wasm")
	goCmd(t, "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := brotli.NewWriterLevel(&buf, 11)
	w.Write(raw)
	w.Close()
	t.Logf("cstar.wasm: %d bytes raw, %d bytes brotli -q 11 (budget %d)", len(raw), buf.Len(), budgetBrotli)
	if buf.Len() > budgetBrotli {
		t.Fatalf("cstar.wasm is %d bytes with brotli, over the %d-byte budget", buf.Len(), budgetBrotli)
	}
}

// TestWidgetUIBudget keeps the widget UI, which the loader fetches after the
// load event, at most 25 KB with brotli on top of the SDK. (The loader's own
// budget is server/internal/assets's TestLoaderBudget, which measures it as
// it is served, comment lines stripped.)
func TestWidgetUIBudget(t *testing.T) {
	raw, err := os.ReadFile("../js/cstar-widget.js")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := brotli.NewWriterLevel(&buf, 11)
	w.Write(raw)
	w.Close()
	t.Logf("cstar-widget.js: %d bytes raw, %d bytes brotli -q 11", len(raw), buf.Len())
	if buf.Len() > 25<<10 {
		t.Errorf("cstar-widget.js is %d bytes with brotli, over its %d-byte budget", buf.Len(), 25<<10)
	}
}
