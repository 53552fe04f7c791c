// Command pgtest runs a command against a throwaway PostgreSQL cluster:
//
//	go run ./server/cmd/pgtest -- go test ./...
//
// When CSTAR_TEST_DATABASE_URL is already set it just runs the command.
// Otherwise it finds the PostgreSQL server binaries (installing them with
// apt-get when it runs as root and they are missing), starts a throwaway
// cluster (server/apptest/pgcluster: a temporary directory, an unprivileged
// user, a free loopback port), runs the command with
// CSTAR_TEST_DATABASE_URL pointing at it, and removes the cluster afterwards.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/cstar-chat/cstar/server/apptest/pgcluster"
)

const envURL = "CSTAR_TEST_DATABASE_URL"

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(os.Stderr, "usage: pgtest -- COMMAND [ARG...]\n\nRuns COMMAND with "+envURL+" set to a throwaway PostgreSQL cluster.")
		os.Exit(2)
	}
	if os.Getenv(envURL) != "" {
		os.Exit(run(args, nil))
	}
	url, stop, err := startCluster()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { <-sig; stop(); os.Exit(130) }()
	code := run(args, []string{envURL + "=" + url})
	stop()
	os.Exit(code)
}

func run(args, env []string) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		return 1
	}
	return 0
}

func ensureBinaries() (string, error) {
	dir, err := pgcluster.BinDir()
	if err == nil {
		return dir, nil
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("%v: install them with `sudo apt-get install postgresql` (Debian/Ubuntu), "+
			"or set %s to a PostgreSQL database the tests may use", err, envURL)
	}
	fmt.Fprintln(os.Stderr, "pgtest: installing PostgreSQL server binaries with apt-get")
	for _, c := range [][]string{{"apt-get", "update", "-q"}, {"apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"}} {
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("%s: %w", c[1], err)
		}
	}
	return pgcluster.BinDir()
}

func startCluster() (url string, stop func(), err error) {
	bin, err := ensureBinaries()
	if err != nil {
		return "", nil, err
	}
	c, err := pgcluster.Start(bin)
	if err != nil {
		return "", nil, err
	}
	fmt.Fprintf(os.Stderr, "pgtest: PostgreSQL running at %s\n", c.URL())
	return c.URL(), c.Remove, nil
}
