package pgcluster

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
)

// Cluster is a PostgreSQL cluster in a temporary directory.
type Cluster struct {
	bin  string // the directory of initdb and pg_ctl
	dir  string // the cluster's directory: data, socket, log
	port int
	cred *syscall.Credential // nil: run as this user

	mu      sync.Mutex
	running bool
}

// BinDir finds the directory holding initdb and pg_ctl: on PATH, or the
// newest under /usr/lib/postgresql/*/bin.
func BinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found")
}

// Start initialises a cluster with the binaries in bin and starts it.
// Remove stops it for good and deletes it.
func Start(bin string) (*Cluster, error) {
	cred, u, err := unprivileged()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "cstar-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin, dir: dir, cred: cred}
	if u != nil {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if err := c.pg("initdb", "-D", c.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if c.port, err = freePort(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := c.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// ForTest starts a cluster for tb and removes it when tb ends. Without the
// PostgreSQL binaries tb is skipped, or fails when CSTAR_REQUIRE_POSTGRES=1.
func ForTest(tb testing.TB) *Cluster {
	tb.Helper()
	bin, err := BinDir()
	if err != nil {
		if os.Getenv("CSTAR_REQUIRE_POSTGRES") == "1" {
			tb.Fatalf("%v, and CSTAR_REQUIRE_POSTGRES=1", err)
		}
		tb.Skipf("%v: skipping a test that stops and starts PostgreSQL", err)
	}
	c, err := Start(bin)
	if err != nil {
		tb.Fatalf("start a PostgreSQL cluster: %v", err)
	}
	tb.Cleanup(c.Remove)
	return c
}

// URL is the cluster's postgres database, as its superuser.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// Start starts the stopped cluster again, on the same port, and returns
// once it accepts connections.
func (c *Cluster) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Durability is off: the cluster lives for one test run.
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "+
		"-c full_page_writes=off -c max_connections=300", c.port, c.dir)
	if err := c.pg("pg_ctl", "-D", c.data(), "-o", opts, "-l", filepath.Join(c.dir, "log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		return fmt.Errorf("%v\n%s", err, log)
	}
	c.running = true
	return nil
}

// Stop shuts the cluster down as a restart or a failover does (fast mode:
// sessions are ended with 57P01, then the server exits) and returns once it
// has; connections are refused until Start.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return nil
	}
	if err := c.pg("pg_ctl", "-D", c.data(), "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		return err
	}
	c.running = false
	return nil
}

// Remove stops the cluster at once and deletes its directory.
func (c *Cluster) Remove() {
	c.mu.Lock()
	if c.running {
		_ = c.pg("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop")
		c.running = false
	}
	c.mu.Unlock()
	os.RemoveAll(c.dir)
}

// pg runs one of the PostgreSQL programs as the cluster's user.
func (c *Cluster) pg(name string, args ...string) error {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	cmd.Dir = c.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", name, err, out)
	}
	return nil
}

// unprivileged returns the credentials to run PostgreSQL under: the current
// user when it is not root, else the postgres user (created when missing),
// since PostgreSQL refuses to run as root.
func unprivileged() (*syscall.Credential, *user.User, error) {
	if os.Geteuid() != 0 {
		return nil, nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		if out, err := exec.Command("useradd", "--system", "--no-create-home", "postgres").CombinedOutput(); err != nil {
			return nil, nil, fmt.Errorf("create postgres user: %v: %s", err, out)
		}
		if u, err = user.Lookup("postgres"); err != nil {
			return nil, nil, err
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, u, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
