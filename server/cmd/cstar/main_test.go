package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

func cstar(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"migrate", "--help"}, {"teams", "create", "--help"}, {"keys", "create", "--help"}, {"keys", "--help"}} {
		out, _, code := cstar(t, args...)
		if code != 0 || !strings.Contains(out, "Usage") {
			t.Errorf("cstar %v: got exit %d and %q, want 0 and a usage text", args, code, out)
		}
	}
	if _, _, code := cstar(t, "frobnicate"); code != 2 {
		t.Errorf("unknown command: got exit %d, want 2", code)
	}
}

func TestTeamsCreate(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db string) {
		out, errOut, code := cstar(t, "teams", "create", "--name", "Acme Inc", "--slug", "acme", "--db", db)
		if code != 0 {
			t.Fatalf("got exit %d (%s), want 0", code, errOut)
		}
		var got struct {
			ID, Slug, Name string
			Keys           map[string]string
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
		}
		if got.ID == "" || got.Slug != "acme" || got.Name != "Acme Inc" || len(got.Keys) != 4 {
			t.Fatalf("got %+v", got)
		}
		for kind, k := range got.Keys {
			if !strings.HasPrefix(k, kind+"_") {
				t.Errorf("key %s = %q, want prefix %s_", kind, k, kind)
			}
			if _, err := apikey.Parse(k); err != nil {
				t.Errorf("key %s does not parse: %v", kind, err)
			}
		}
		_, errOut, code = cstar(t, "teams", "create", "--name", "Other", "--slug", "acme", "--db", db)
		if code != 1 || !strings.Contains(errOut, `slug "acme" already exists`) {
			t.Fatalf("duplicate slug: got exit %d, stderr %q; want 1 and a clear message", code, errOut)
		}
		if _, _, code := cstar(t, "teams", "create", "--slug", "x", "--db", db); code == 0 {
			t.Fatalf("missing --name: got exit 0")
		}
	})
}

// TestServeBesideTeamsCreate builds the binary, runs a server on SQLite,
// creates a team from a second process while it runs, uses the new key, and
// checks that SIGTERM drains and exits 0.
func TestServeBesideTeamsCreate(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "cstar")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	db := "sqlite:" + filepath.Join(dir, "cstar.db")
	srv := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", db)
	stderr, _ := srv.StderrPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	var url string
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		var line struct{ Msg, URL string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "cstar listening" {
			url = line.URL
			break
		}
	}
	if url == "" {
		t.Fatal("server did not report its URL")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	out, err := exec.Command(bin, "teams", "create", "--name", "Beside", "--slug", "beside", "--db", db).Output()
	if err != nil {
		t.Fatalf("teams create beside a running server: %v", err)
	}
	var team struct{ Keys map[string]string }
	json.Unmarshal(out, &team)
	req, _ := http.NewRequest("GET", url+"/api/v1/teams/beside/tickets", nil)
	req.Header.Set("Authorization", "Bearer "+team.Keys["sk_test"])
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("new team's key on the running server: got %v, %v; want 200", res, err)
	}
	res.Body.Close()
	srv.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("after SIGTERM: got %v, want exit 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not exit within 15s of SIGTERM")
	}
	_ = os.Remove(bin)
}
