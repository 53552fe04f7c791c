package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cstar-chat/cstar/server/internal/testdb"
)

func TestTeamsCreatePrintsIdentitySecrets(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db string) {
		out, errOut, code := cstar(t, "teams", "create", "--name", "Acme Inc", "--slug", "acme-id", "--db", db)
		if code != 0 {
			t.Fatalf("got exit %d (%s), want 0", code, errOut)
		}
		var got struct {
			IdentitySecrets map[string]string `json:"identity_secrets"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
		}
		live, test := got.IdentitySecrets["live"], got.IdentitySecrets["test"]
		if len(got.IdentitySecrets) != 2 || live == test {
			t.Fatalf("identity_secrets: got %v, want distinct live and test", got.IdentitySecrets)
		}
		for m, s := range got.IdentitySecrets {
			if !strings.HasPrefix(s, "isec_") || len(s) != len("isec_")+43 {
				t.Errorf("identity_secrets.%s = %q, want isec_ and 43 base64url characters", m, s)
			}
		}
	})
}
