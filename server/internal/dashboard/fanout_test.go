package dashboard_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/agent"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// TestDashboardAcrossProcesses: two servers on one PostgreSQL database act
// as one for the dashboard: a dashboard open on B hears a customer writing
// through A, A's widget hears B's reply and never B's note, a removal made
// on A closes the agent's dashboard on B at once, and a key revoked from a
// dashboard on B closes the widget on A.
func TestDashboardAcrossProcesses(t *testing.T) {
	testdb.Each(t, func(t *testing.T, url string) {
		if strings.HasPrefix(url, "sqlite") {
			t.Skip("SQLite mode is single-process")
		}
		a := apptest.Start(t, url, apptest.Timings(apptest.ChatTimings))
		b := apptest.Start(t, url, apptest.NoTeam, apptest.Timings(apptest.ChatTimings))
		b.Team = a.Team
		a.CreateAgent(t, "olive@acme.example", "Olive", agent.Owner)
		a.CreateAgent(t, "mo@acme.example", "Mo", agent.Member)

		mo := b.Browser(t)
		mo.SignIn(t, "mo@acme.example")
		live, _, _ := mo.Live(t, "/app/live")

		e := &env{Server: a}
		w, ticket := e.chat(t, a.PKLive, "Grace", "Hello from A")
		f := live.WaitUntil("message.created", func(f map[string]any) bool {
			m, _ := f["message"].(map[string]any)
			return m["body"] == "Hello from A"
		})
		if f["ticket_id"] != ticket {
			t.Fatalf("B's dashboard: %v", f)
		}
		conv := "/app/conversations/" + ticket
		mo.Get(t, conv)
		post(t, mo, conv+"/messages", "a note on B", true)
		post(t, mo, conv+"/messages", "reply from B", false)
		for {
			f := w.Next(apptest.Wait)
			if strings.Contains(strings.ToLower(toString(f)), "note on b") {
				t.Fatalf("A's widget got the note: %v", f)
			}
			if m, _ := f["message"].(map[string]any); m != nil && m["body"] == "reply from B" {
				break
			}
		}

		owner := a.Browser(t)
		owner.SignIn(t, "olive@acme.example")
		var moID string
		list, _ := a.App.Agents().List(t.Context(), a.Team.ID)
		for _, ag := range list {
			if ag.Email == "mo@acme.example" {
				moID = ag.ID
			}
		}
		owner.Get(t, "/app/settings/team")
		wantRedirect(t, "remove Mo on A", owner.Post(t, "/app/settings/team/agents/"+moID+"/remove", nil), "/app/settings/team")
		live.WantClose(protocol.CloseSessionInvalid)

		ob := b.Browser(t)
		ob.SignIn(t, "olive@acme.example")
		ob.Get(t, "/app/settings/keys")
		var pk string
		for _, k := range b.Do(t, "GET", b.Path("/api-keys"), a.SKLive, nil).Want(t, http.StatusOK).Items(t) {
			if k["type"] == "publishable" {
				pk = apptest.Str(k["id"])
			}
		}
		ob.Post(t, "/app/settings/keys/"+pk+"/revoke", nil)
		w.WantClose(protocol.CloseInvalidKey)
	})
}

func toString(v any) string { return strings.TrimSpace(fmtSprint(v)) }
