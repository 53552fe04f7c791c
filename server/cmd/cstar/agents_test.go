package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// TestAgentsCreate: an operator makes a team's first owner from the command
// line, the password read from stdin; it prints the agent as JSON; bad
// input exits with the reason.
func TestAgentsCreate(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db string) {
		if _, errOut, code := cstar(t, "teams", "create", "--name", "Acme", "--slug", "acme", "--db", db); code != 0 {
			t.Fatalf("teams create: %s", errOut)
		}
		create := func(stdin string, args ...string) (string, error) {
			var out, errb bytes.Buffer
			err := agentsCreate(append(args, "--db", db), strings.NewReader(stdin), &out, &errb)
			return out.String(), err
		}
		out, err := create("a long and unusual passphrase\n", "--team", "acme", "--email", "Olive@Acme.example",
			"--name", "Olive", "--role", "owner", "--password-stdin")
		if err != nil {
			t.Fatalf("agents create: %v", err)
		}
		var got map[string]string
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
		}
		if got["id"] == "" || got["email"] != "olive@acme.example" || got["name"] != "Olive" || got["role"] != "owner" || len(got) != 4 {
			t.Fatalf("got %v, want id, email olive@acme.example, name Olive, role owner", got)
		}
		for _, c := range []struct {
			stdin string
			args  []string
			want  string
		}{
			{"a long and unusual passphrase", []string{"--team", "acme", "--email", "olive@acme.example", "--name", "O", "--role", "agent", "--password-stdin"}, "already exists"},
			{"a long and unusual passphrase", []string{"--team", "nope", "--email", "x@acme.example", "--name", "X", "--role", "agent", "--password-stdin"}, `no team "nope"`},
			{"a long and unusual passphrase", []string{"--team", "acme", "--email", "x@acme.example", "--name", "X", "--role", "root", "--password-stdin"}, "role must be"},
			{"password1", []string{"--team", "acme", "--email", "x@acme.example", "--name", "X", "--role", "agent", "--password-stdin"}, "password"},
			{"a long and unusual passphrase", []string{"--team", "acme", "--email", "x@acme.example", "--name", "X", "--role", "agent"}, "are required"},
		} {
			if _, err := create(c.stdin, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("agents create %v: got %v, want an error with %q", c.args, err, c.want)
			}
		}
		if _, _, code := cstar(t, "agents", "--help"); code != 0 {
			t.Errorf("agents --help: exit %d, want 0", code)
		}
	})
}
