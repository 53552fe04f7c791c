package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// buildServer builds the real server binary into dir.
func buildServer(dir string) (string, error) {
	out := filepath.Join(dir, "cstar")
	cmd := exec.Command("go", "build", "-o", out, "./server/cmd/cstar")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./server/cmd/cstar (run from the repository root): %w", err)
	}
	return out, nil
}

// teamKeys is what "cstar teams create" prints.
type teamKeys struct {
	ID              string            `json:"id"`
	Keys            map[string]string `json:"keys"`
	IdentitySecrets map[string]string `json:"identity_secrets"`
}

func createTeam(bin, db string) (teamKeys, error) {
	var t teamKeys
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, "teams", "create", "--name", "Chaos", "--slug", "chaos", "--db", db)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return t, fmt.Errorf("cstar teams create: %v: %s", err, errOut.String())
	}
	if err := json.Unmarshal(out.Bytes(), &t); err != nil {
		return t, fmt.Errorf("cstar teams create printed %q: %w", out.String(), err)
	}
	return t, nil
}

// server is one "cstar serve" child process, which the tool may kill and
// start again on the same port.
type server struct {
	name, bin, db, logPath string
	port                   int
	hc                     *http.Client

	mu        sync.Mutex
	cmd       *exec.Cmd
	exited    chan struct{}
	killed    bool // by the tool: the exit that follows is planned
	unplanned []string
}

func newServer(name, bin, db, dir string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return &server{name: name, bin: bin, db: db, port: port, logPath: filepath.Join(dir, "server-"+name+".log"),
		hc: &http.Client{Timeout: time.Second}}, nil
}

func (s *server) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }
func (s *server) url() string  { return "http://" + s.addr() }

// start runs the process and waits until it answers /healthz.
func (s *server) start() error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	// The limits are raised: every client of the run is one IP and two keys.
	cmd := exec.Command(s.bin, "serve", "--addr", s.addr(), "--db", s.db, "--log-level", "warn",
		"--rate-secret", "100000000", "--rate-publishable", "100000000", "--widget-dir", os.DevNull)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	exited := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.exited, s.killed = cmd, exited, false
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logf.Close()
		s.mu.Lock()
		if !s.killed {
			s.unplanned = append(s.unplanned, fmt.Sprintf("%s exited by itself at %s: %v", s.name,
				time.Now().Format("15:04:05.000"), err))
		}
		s.mu.Unlock()
		close(exited)
	}()
	ok := waitFor(30*time.Second, func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		return s.get("/healthz") == 200
	})
	select {
	case <-exited:
		return fmt.Errorf("server %s stopped at start; see %s", s.name, s.logPath)
	default:
	}
	if !ok {
		return fmt.Errorf("server %s did not answer /healthz in 30 s; see %s", s.name, s.logPath)
	}
	return nil
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() {
	s.mu.Lock()
	s.killed = true
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// stop ends the process gracefully (SIGTERM) at the end of the run.
func (s *server) stop() {
	s.mu.Lock()
	s.killed = true
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

func (s *server) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd.Process.Pid
}

func (s *server) exits() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.unplanned...)
}

// get returns the status of GET path, 0 when there is no answer within the
// client's timeout.
func (s *server) get(path string) int {
	res, err := s.hc.Get(s.url() + path)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}
