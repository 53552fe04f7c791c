package main

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
	"strings"
	"syscall"
	"time"
)

// cluster is a throwaway PostgreSQL cluster that this tool starts, and
// restarts and stalls on purpose. It is found and run as pgtest does
// (server/cmd/pgtest): initdb and pg_ctl on PATH or under
// /usr/lib/postgresql/*/bin, installed with apt-get when missing and root,
// run as the postgres user when root. The code is repeated here because
// both are main packages.
type cluster struct {
	bin, dir, data, opts string
	port                 int
	cred                 *syscall.Credential
}

func (c *cluster) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

func startCluster() (*cluster, error) {
	bin, err := ensureBinaries()
	if err != nil {
		return nil, err
	}
	cred, u, err := unprivileged()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "cstar-chaos-pg-")
	if err != nil {
		return nil, err
	}
	if u != nil {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	c := &cluster{bin: bin, dir: dir, data: filepath.Join(dir, "data"), cred: cred}
	if err := c.pg("initdb", "-D", c.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if c.port, err = freePort(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// Unlike pgtest's cluster, commits wait for their WAL write
	// (synchronous_commit stays on): an immediate stop would otherwise
	// lose transactions already reported committed, and the run would count
	// PostgreSQL's losses as the server's. fsync stays off: the operating
	// system keeps what PostgreSQL wrote, as long as the machine runs.
	c.opts = fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off "+
		"-c full_page_writes=off -c max_connections=300", c.port, dir)
	if err := c.start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

func (c *cluster) pg(name string, args ...string) error {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	cmd.Dir = c.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", name, err, out)
	}
	return nil
}

func (c *cluster) start() error {
	if err := c.pg("pg_ctl", "-D", c.data, "-o", c.opts, "-l", filepath.Join(c.dir, "log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		return fmt.Errorf("%v\n%s", err, tail(string(log), 2000))
	}
	return nil
}

// stopNow is pg_ctl stop -m immediate: every backend is killed at once,
// without a checkpoint; the next start runs crash recovery.
func (c *cluster) stopNow() error {
	return c.pg("pg_ctl", "-D", c.data, "-m", "immediate", "-w", "stop")
}

func (c *cluster) remove() {
	if pids, err := c.processes(); err == nil { // a stalled cluster must wake to stop
		for _, p := range pids {
			syscall.Kill(p, syscall.SIGCONT)
		}
	}
	c.stopNow()
	os.RemoveAll(c.dir)
}

// processes returns the postmaster's pid and its children's (the backends
// and the auxiliary processes).
func (c *cluster) processes() ([]int, error) {
	data, err := os.ReadFile(filepath.Join(c.data, "postmaster.pid"))
	if err != nil {
		return nil, err
	}
	pm, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(data), "\n", 2)[0]))
	if err != nil {
		return nil, fmt.Errorf("postmaster.pid: %w", err)
	}
	pids := []int{pm}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces, so read after ')'.
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 {
			if ppid, _ := strconv.Atoi(f[1]); ppid == pm {
				pids = append(pids, pid)
			}
		}
	}
	return pids, nil
}

// stall stops the postmaster and every backend with SIGSTOP: connections
// stay open and nothing answers, as with a frozen VM or a storage hang.
// The returned function resumes them.
func (c *cluster) stall() (resume func(), n int, err error) {
	pids, err := c.processes()
	if err != nil {
		return nil, 0, err
	}
	for _, p := range pids { // the postmaster first: it forks no new backend meanwhile
		syscall.Kill(p, syscall.SIGSTOP)
	}
	// Backends forked between the listing and the postmaster's stop.
	more, _ := c.processes()
	for _, p := range more {
		syscall.Kill(p, syscall.SIGSTOP)
	}
	return func() {
		for i := len(more) - 1; i >= 0; i-- {
			syscall.Kill(more[i], syscall.SIGCONT)
		}
		for _, p := range pids {
			syscall.Kill(p, syscall.SIGCONT)
		}
	}, len(more), nil
}

func binDir() (string, error) {
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

func ensureBinaries() (string, error) {
	dir, err := binDir()
	if err == nil {
		return dir, nil
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("%v: install them with `sudo apt-get install postgresql` (Debian/Ubuntu)", err)
	}
	fmt.Fprintln(os.Stderr, "chaos: installing PostgreSQL server binaries with apt-get")
	for _, c := range [][]string{{"apt-get", "update", "-q"}, {"apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"}} {
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("%s: %w", c[1], err)
		}
	}
	return binDir()
}

// unprivileged returns the credentials to run PostgreSQL under: the current
// user when it is not root, else the postgres user (created when missing).
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

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// waitFor polls ok every 50 ms until it holds or d passes.
func waitFor(d time.Duration, ok func() bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if ok() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return ok()
}
