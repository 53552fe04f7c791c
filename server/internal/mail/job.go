package mail

import (
	"fmt"
	"time"

	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// Kind is what an email is for.
type Kind string

// The kinds of email. The customers' are in their language; the agents'
// are in English, as the dashboard is.
const (
	// CustomerReset answers a password-reset request: To is the address
	// typed, which may belong to no account (then nothing is sent).
	CustomerReset Kind = "customer_reset"
	// VerifyEmail asks a new password account (SubjectID) to confirm its
	// address.
	VerifyEmail Kind = "verify_email"
	// OfflineReply carries the agents' messages that the customer of the
	// conversation SubjectID has not had, unless they came back first.
	OfflineReply Kind = "offline_reply"
	// AgentReset answers an agent's password-reset request (To as typed).
	AgentReset Kind = "agent_reset"
	// AgentInvitation sends the invitation SubjectID.
	AgentInvitation Kind = "agent_invitation"
	// NewConversation tells agent AgentID of the conversation SubjectID.
	NewConversation Kind = "new_conversation"
	// AssignedReply tells agent AgentID of the customer's unread messages
	// in the conversation SubjectID, assigned to them.
	AssignedReply Kind = "assigned_reply"
)

// Status is where a job is.
type Status string

// The statuses.
const (
	// Pending has not been tried yet.
	Pending Status = "pending"
	// Sending is claimed by a worker until Due, or waits to be tried again
	// at Due.
	Sending Status = "sending"
	// Sent was accepted by the relay (or kept in the dev mailbox).
	Sent Status = "sent"
	// Failed was refused for good (a 5xx), or given up after MaxAge.
	Failed Status = "failed"
	// Dropped had nothing left to send: no such account, the customer came
	// back, the invitation was withdrawn…
	Dropped Status = "dropped"
)

// Job is one email in the outbox. It holds what to send, never a secret:
// the tokens its links carry are made when it is sent, and stored only as
// hashes.
type Job struct {
	ID string
	// TeamID is "" for an agent's reset request, whose team is known only
	// once the address is looked up.
	TeamID string
	// Mode is "" for agents' mail about the team as a whole (invitations,
	// resets).
	Mode scope.Mode
	Kind Kind
	// To is the address typed in a reset request; "" for the other kinds,
	// whose recipient is looked up when the mail is sent.
	To        string
	SubjectID string
	AgentID   string
	Locale    string
	// DedupeKey makes a job that another pending job already covers a
	// no-op (a burst of messages, one offline email).
	DedupeKey string
	// Due is when the job may be sent (its first attempt, or its next).
	Due       time.Time
	CreatedAt time.Time

	// As read back.
	Status     Status
	Attempts   int
	LastError  string
	Recipient  string
	MessageID  string
	FinishedAt *time.Time
}

// Scope is the job's team and mode.
func (j Job) Scope() scope.Scope { return scope.Scope{TeamID: j.TeamID, Mode: j.Mode} }

// NewJob returns a job of kind, due at now.
func NewJob(kind Kind, now time.Time) (Job, error) {
	id, err := ids.New()
	if err != nil {
		return Job{}, fmt.Errorf("mail: %w", err)
	}
	now = now.UTC().Truncate(time.Microsecond)
	return Job{ID: id, Kind: kind, Status: Pending, Due: now, CreatedAt: now}, nil
}
