package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// TestTypings type-checks testdata/typings/usage.ts, a page script that uses
// every method of the CStarChat global, with tsc --strict against
// js/cstar-chat.d.ts; the method list is wasm/jsbridge/methods.go's (whose
// own tests hold the loader and the declarations to it), so a method added
// there and not used here fails.
func TestTypings(t *testing.T) {
	tsc := filepath.Join("node_modules", "typescript", "bin", "tsc")
	if _, err := os.Stat(tsc); err != nil {
		t.Fatalf("typescript is not installed in e2e/node_modules: run make test (npm ci): %v", err)
	}
	usage, err := os.ReadFile(filepath.Join("testdata", "typings", "usage.ts"))
	if err != nil {
		t.Fatal(err)
	}
	methods, err := os.ReadFile(filepath.Join("..", "wasm", "jsbridge", "methods.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\{"(\w+)", (public|loaderOnly),`).FindAllStringSubmatch(string(methods), -1) {
		if !regexp.MustCompile(`CStarChat\.` + m[1] + `\b`).Match(usage) {
			t.Errorf("usage.ts does not use CStarChat.%s (a %s method of methods.go)", m[1], m[2])
		}
	}
	dir := t.TempDir()
	decl, err := os.ReadFile(filepath.Join("..", "js", "cstar-chat.d.ts"))
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{"cstar-chat.d.ts": decl, "usage.ts": usage} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("node", tsc, "--strict", "--noEmit", "--target", "es2020", "--lib", "es2020,dom",
		"--module", "es2020", "--moduleResolution", "bundler", filepath.Join(dir, "usage.ts"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tsc --strict over usage.ts: %v\n%s", err, out)
	}
}
