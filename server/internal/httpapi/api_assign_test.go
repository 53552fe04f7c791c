package httpapi_test

import (
	"context"
	"testing"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/agent"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// TestTicketAssignee: a secret key assigns a ticket to an agent of its team
// (at creation or later), reassigns and unassigns it with ""; an agent of
// another team, an unknown id and garbage are a 400 that changes nothing;
// a change of the assignee alone leaves the ticket's other fields.
func TestTicketAssignee(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		s := newTestServer(t, dbURL)
		mo := s.CreateAgent(t, "mo@acme.example", "Mo", agent.Member)
		ada := s.CreateAgent(t, "ada@acme.example", "Ada", agent.Admin)
		other := s.CreateTeam(t, "Other", apptest.UniqueSlug("other"))
		stranger, err := s.App.Agents().Create(context.Background(), other.ID, other.Name,
			agent.NewAgent{Email: "sam@other.example", Name: "Sam", Role: agent.Member, Password: apptest.AgentPassword})
		if err != nil {
			t.Fatal(err)
		}

		tk := s.Do(t, "POST", s.Path("/tickets"), s.SKTest, map[string]any{"subject": "Refund", "priority": "high",
			"assignee_id": mo.ID}).Want(t, 201).Data(t)
		id := str(tk["id"])
		if tk["assignee_id"] != mo.ID {
			t.Fatalf("created: assignee_id %v, want %s", tk["assignee_id"], mo.ID)
		}
		patch := func(v any) map[string]any {
			return s.Do(t, "PATCH", s.Path("/tickets/"+id), s.SKTest, map[string]any{"assignee_id": v}).Want(t, 200).Data(t)
		}
		if got := patch(ada.ID); got["assignee_id"] != ada.ID || got["priority"] != "high" || got["subject"] != "Refund" {
			t.Errorf("reassigned: got %v, want Ada and the rest unchanged", got)
		}
		for _, bad := range []string{stranger.ID, "01a20000-0000-7000-8000-000000000000", "not-an-id"} {
			s.Do(t, "PATCH", s.Path("/tickets/"+id), s.SKTest, map[string]any{"assignee_id": bad, "subject": "Changed"}).
				WantError(t, 400, "assignee_id is not an agent of the team")
		}
		if got := s.ticket(t, s.SKTest, id); got["assignee_id"] != ada.ID || got["subject"] != "Refund" {
			t.Errorf("after the refusals: got %v, want Ada and the subject unchanged", got)
		}
		if got := patch(""); got["assignee_id"] != nil {
			t.Errorf("unassigned: assignee_id %v, want null", got["assignee_id"])
		}
		s.Do(t, "POST", s.Path("/tickets"), s.SKTest, map[string]any{"subject": "x", "assignee_id": stranger.ID}).
			WantError(t, 400, "assignee_id is not an agent of the team")
	})
}
