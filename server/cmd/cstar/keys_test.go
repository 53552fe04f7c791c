package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/app"
	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// TestKeysCreate: an operator issues a key for a team by slug; it
// authenticates in the asked type and mode; bad input exits 1 or 2 with the
// reason.
func TestKeysCreate(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db string) {
		if _, errOut, code := cstar(t, "teams", "create", "--name", "Acme", "--slug", "acme", "--db", db); code != 0 {
			t.Fatalf("teams create: %s", errOut)
		}
		out, errOut, code := cstar(t, "keys", "create", "--team", "acme", "--type", "secret", "--mode", "test", "--db", db)
		if code != 0 {
			t.Fatalf("keys create: got exit %d (%s), want 0", code, errOut)
		}
		var got struct{ ID, Team, Type, Mode, Key string }
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
		}
		if got.Team != "acme" || got.Type != "secret" || got.Mode != "test" || !strings.HasPrefix(got.Key, "sk_test_") {
			t.Fatalf("got %+v, want an sk_test_ key of acme", got)
		}
		d, err := app.OpenDB(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		k, err := apikey.NewService(d, time.Now).Authenticate(context.Background(), got.Key)
		if err != nil || k.ID != got.ID || k.Mode != scope.Test || k.Type != apikey.Secret {
			t.Fatalf("the new key: got %+v, %v; want it to authenticate as %s", k, err, got.ID)
		}
		for _, c := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{"--team", "nope", "--type", "secret", "--mode", "live"}, 1, `no team "nope"`},
			{[]string{"--team", "acme", "--type", "root", "--mode", "live"}, 1, `type must be`},
			{[]string{"--team", "acme", "--type", "secret", "--mode", "prod"}, 1, `--mode must be`},
			{[]string{"--team", "acme"}, 1, "are required"},
		} {
			_, errOut, code := cstar(t, append(append([]string{"keys", "create"}, c.args...), "--db", db)...)
			if code != c.code || !strings.Contains(errOut, c.want) {
				t.Errorf("keys create %v: got exit %d, stderr %q; want %d and %q", c.args, code, errOut, c.code, c.want)
			}
		}
	})
}
