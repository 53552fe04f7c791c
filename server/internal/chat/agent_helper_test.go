package chat_test

import (
	"time"

	"github.com/cstar-chat/cstar/server/internal/agent"
)

// agentRow is an agent to insert directly, for a ticket's assignee.
func agentRow(teamID, id string) agent.Agent {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return agent.Agent{ID: id, TeamID: teamID, Email: id + "@acme.example", Name: "Olive", Role: agent.Owner, CreatedAt: now, UpdatedAt: now}
}
