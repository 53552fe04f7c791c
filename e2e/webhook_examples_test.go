package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/webhooksig"
)

// TestWebhookExamples runs the webhook receivers of the docs, in Node and
// Python (standard libraries only), and PHP where it is installed (CI has
// none), as a site's endpoints for real deliveries: each verifies the
// signatures cStar sends, through a secret roll whose grace signs twice; and
// each refuses a forged body, a wrong secret and a replay older than 5
// minutes.
func TestWebhookExamples(t *testing.T) {
	for _, c := range []struct {
		name, example string
		cmd           func(path string, port int) *exec.Cmd
		// log is where the example prints what it verified.
		log string
	}{
		{"node", "webhook-receiver.mjs", func(path string, _ int) *exec.Cmd { return exec.Command("node", path) }, "stdout"},
		{"python", "webhook_receiver.py", func(path string, _ int) *exec.Cmd {
			py := "/usr/bin/python3"
			if _, err := os.Stat(py); err != nil {
				py = "python3"
			}
			return exec.Command(py, path)
		}, "stdout"},
		{"php", "webhook-receiver.php", func(path string, port int) *exec.Cmd {
			return exec.Command("php", "-S", fmt.Sprintf("127.0.0.1:%d", port), path)
		}, "stderr"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "php" {
				if _, err := exec.LookPath("php"); err != nil {
					t.Skip("no php: the PHP example is run only where PHP is installed")
				}
			}
			s := apptest.Start(t, databaseURL(t, "sqlite"))
			port := freePort(t)
			url := fmt.Sprintf("http://127.0.0.1:%d/cstar-webhooks", port)
			hook := s.Do(t, "POST", s.Path("/webhooks"), s.SKTest, map[string]any{"url": url,
				"events": []string{"customer.created", "customer.updated"}}).Want(t, 201).Data(t)
			id, secret := apptest.Str(hook["id"]), apptest.Str(hook["secret"])

			cmd := c.cmd(filepath.Join("..", "docs", "examples", c.example), port)
			cmd.Env = append(os.Environ(), "CSTAR_WEBHOOK_SECRET="+secret, "PORT="+strconv.Itoa(port))
			var out io.Reader
			var err error
			if c.log == "stderr" {
				out, err = cmd.StderrPipe()
			} else {
				cmd.Stderr = os.Stderr
				out, err = cmd.StdoutPipe()
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatalf("start the %s example: %v", c.name, err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			lines := make(chan string, 64)
			go func() {
				sc := bufio.NewScanner(out)
				for sc.Scan() {
					// PHP's server prefixes its log lines with the time and
					// logs connections too.
					l := sc.Text()
					if strings.HasPrefix(l, "[") {
						_, l, _ = strings.Cut(l, "] ")
					}
					if strings.HasPrefix(l, "verified") || strings.HasPrefix(l, "rejected") {
						lines <- l
					}
				}
				close(lines)
			}()
			waitListening(t, port)
			next := func(want string) string {
				t.Helper()
				select {
				case l := <-lines:
					if !strings.HasPrefix(l, want) {
						t.Fatalf("%s example: got %q, want %q…", c.name, l, want)
					}
					return l
				case <-time.After(apptest.Wait):
					t.Fatalf("%s example: nothing printed, want %q…", c.name, want)
				}
				return ""
			}

			cust := s.Do(t, "POST", s.Path("/customers"), s.SKTest, map[string]any{"email": "ada@example.com"}).Want(t, 201).ID(t)
			next("verified customer.created evt_")
			// During a roll's grace two v1 signatures come; the example
			// still holds the old secret.
			s.Do(t, "POST", s.Path("/webhooks/"+id+"/roll-secret"), s.SKTest, map[string]any{"expires_in": 3600}).Want(t, 200)
			s.Do(t, "PATCH", s.Path("/customers/"+cust), s.SKTest, map[string]any{"name": "Ada"}).Want(t, 200)
			next("verified customer.updated evt_")
			s.Do(t, "POST", s.Path("/webhooks/"+id+"/test"), s.SKTest, nil).Want(t, 202)
			next("verified ping evt_")

			// Every delivery succeeded at its first attempt (recorded just
			// after the answer).
			deadline := time.Now().Add(apptest.Wait)
			for {
				ds := s.Do(t, "GET", s.Path("/webhooks/"+id+"/deliveries"), s.SKTest, nil).Want(t, 200).Items(t)
				done := len(ds) == 3
				for _, d := range ds {
					done = done && d["state"] == "succeeded" && d["status_code"] == 200.0 && d["attempts"] == 1.0
				}
				if done {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("deliveries: got %v, want 3 succeeded at the first attempt", ds)
				}
				time.Sleep(20 * time.Millisecond)
			}

			// Forgeries are refused with 400.
			body := []byte(`{"id":"evt_00000000000000000000000000000000","type":"ping","created":1,"livemode":false,"data":{}}`)
			now := time.Now()
			for _, f := range []struct {
				name, header string
				body         []byte
			}{
				{"wrong secret", webhooksig.Header(now, body, "whsec_not-the-secret"), body},
				{"body changed", webhooksig.Header(now, body, secret), []byte(strings.TrimSuffix(string(body), "}") + `,"x":1}`)},
				{"replay of 6 minutes ago", webhooksig.Header(now.Add(-6*time.Minute), body, secret), body},
				{"no signature", "", body},
			} {
				req, _ := http.NewRequest("POST", url, strings.NewReader(string(f.body)))
				req.Header.Set("Content-Type", "application/json")
				if f.header != "" {
					req.Header.Set("Cstar-Signature", f.header)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("%s: %v", f.name, err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 400 {
					t.Errorf("%s: got %d, want 400", f.name, res.StatusCode)
				}
				next("rejected")
			}
			// The real signature of the same body passes.
			req, _ := http.NewRequest("POST", url, strings.NewReader(string(body)))
			req.Header.Set("Cstar-Signature", webhooksig.Header(now, body, secret))
			res, err := http.DefaultClient.Do(req)
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("a good signature: got %v %v, want 200", res, err)
			}
			res.Body.Close()
			next("verified ping evt_0000")
		})
	}
}

var portMu sync.Mutex

// freePort returns a loopback TCP port nobody listens on now.
func freePort(t *testing.T) int {
	portMu.Lock()
	defer portMu.Unlock()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitListening waits until something accepts connections on port.
func waitListening(t *testing.T, port int) {
	deadline := time.Now().Add(apptest.Wait)
	for time.Now().Before(deadline) {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on port %d", port)
}
