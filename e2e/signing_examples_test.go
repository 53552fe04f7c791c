package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cstar-chat/cstar/server/apptest"
)

// TestSigningExamples runs the token-signing examples of the docs, in Node
// (jose, installed by make test's npm ci) and Python (PyJWT, whose
// time.time() dates are fractional), and signs a visitor in with each token
// on a real server.
func TestSigningExamples(t *testing.T) {
	for _, c := range []struct {
		name    string
		example string
		run     func(t *testing.T, path string) *exec.Cmd
	}{
		{"node", "sign-token.mjs", func(t *testing.T, path string) *exec.Cmd {
			// Node resolves jose from the script's folder upward: the
			// script runs from beside e2e/node_modules.
			dir, err := os.MkdirTemp(".", ".example-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			copyPath := filepath.Join(dir, "sign-token.mjs")
			if err := os.WriteFile(copyPath, body, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat("node_modules/jose"); err != nil {
				t.Fatalf("jose is not installed in e2e/node_modules: run make test (npm ci): %v", err)
			}
			return exec.Command("node", copyPath)
		}},
		{"python", "sign_token.py", func(t *testing.T, path string) *exec.Cmd {
			// Debian's python3-jwt lives beside the system Python.
			py := "/usr/bin/python3"
			if _, err := os.Stat(py); err != nil {
				py = "python3"
			}
			return exec.Command(py, path)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			// A server each: both examples claim the same email.
			s := apptest.Start(t, databaseURL(t, "sqlite"))
			secret := s.Team.IdentitySecrets["test"]
			cmd := c.run(t, filepath.Join("..", "docs", "examples", c.example))
			cmd.Env = append(os.Environ(), "CSTAR_IDENTITY_SECRET="+secret, "USER_ID=user-"+c.name)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s example: %v\n%s", c.name, err, out)
			}
			token := strings.TrimSpace(string(out))
			r := s.Do(t, "POST", "/api/widget/v1/identify", s.PKTest, map[string]any{"token": token}).Want(t, 200)
			cust, _ := r.Data(t)["customer"].(map[string]any)
			if apptest.Str(cust["email"]) != "ada@example.com" || apptest.Str(cust["external_id"]) != "user-"+c.name {
				t.Errorf("identified customer: got %v, want ada@example.com as user-%s", cust, c.name)
			}
		})
	}
}
