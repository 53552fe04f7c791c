package mail

import (
	"context"
	"time"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// Store is what mail needs from persistence.
type Store interface {
	// EnqueueMail stores jobs; one whose DedupeKey a pending job already has
	// is skipped.
	EnqueueMail(ctx context.Context, jobs ...Job) error
	// ClaimMail takes up to limit jobs due at now (pending, or sending with
	// their claim or wait over) for the holder of claim until until, and
	// counts an attempt of each. Two processes never take the same job.
	ClaimMail(ctx context.Context, now, until time.Time, claim string, limit int) ([]Job, error)
	// FinishMail records j's end (its Status, Recipient, MessageID and
	// LastError) if claim still holds it; errs.ErrNotFound otherwise.
	FinishMail(ctx context.Context, j Job, claim string, at time.Time) error
	// RetryMail puts a job held by claim back, due again at due.
	RetryMail(ctx context.Context, id, claim string, due time.Time, lastErr string) error
	// ReleaseMail hands back every job claim holds, due at now.
	ReleaseMail(ctx context.Context, claim string, now time.Time) error
	// SweepMail deletes jobs and dev mail finished before before, and
	// tokens expired at now.
	SweepMail(ctx context.Context, before, now time.Time) error

	InsertMailToken(ctx context.Context, t Token, hash []byte) error
	// MailToken returns the token stored under hash for purpose while it
	// works at now (unused, unexpired); errs.ErrNotFound otherwise.
	MailToken(ctx context.Context, p Purpose, hash []byte, now time.Time) (Token, error)

	MailTeam(ctx context.Context, teamID string) (Team, error)
	MailCustomer(ctx context.Context, sc scope.Scope, id string) (Customer, error)
	// MailAccountByEmail is the password account of sc whose sign-in name
	// is email.
	MailAccountByEmail(ctx context.Context, sc scope.Scope, email string) (Customer, error)
	MailAgent(ctx context.Context, id string) (Agent, error)
	MailAgentByEmail(ctx context.Context, email string) (Agent, error)
	MailInvitation(ctx context.Context, id string) (Invitation, error)
	MailConversation(ctx context.Context, sc scope.Scope, ticketID string) (Conversation, error)
	// Messages returns up to limit messages of a ticket after seq after, in
	// order; internal notes only with notes.
	Messages(ctx context.Context, sc scope.Scope, ticketID string, after, before int64, limit int, notes bool) ([]chat.Message, error)
	// SetMailedSeq raises how far a ticket's messages were emailed: to the
	// customer, or to the assignee.
	SetMailedSeq(ctx context.Context, sc scope.Scope, ticketID string, toCustomer bool, seq int64) error
	// SetUnsubscribed records that a customer wants no more offline mail.
	SetUnsubscribed(ctx context.Context, sc scope.Scope, customerID string, at time.Time) error

	// ScanMailEvents hands the events after each team and mode's mail
	// cursor to f, stores the jobs f makes and moves the cursor, in one
	// transaction per team and mode (a team and mode being read by another
	// process is skipped). It returns how many events were read.
	ScanMailEvents(ctx context.Context, limit int, f func([]EventRef) []Job) (int, error)

	InsertDevMail(ctx context.Context, m DevMail) error
	DevMails(ctx context.Context, teamID string, limit int) ([]DevMail, error)
	// RecentMail returns a team's latest jobs, newest first.
	RecentMail(ctx context.Context, teamID string, limit int) ([]Job, error)
}

// Team is what mail needs of a team.
type Team struct {
	ID   string
	Name string
	// From is the team's sender address ("": the server's).
	From  string
	Pages map[scope.Mode]Pages
}

// Pages are a team's settings of one mode that mail uses.
type Pages struct {
	// PasswordResetURL is the site's page where a reset link opens, with
	// the token in the fragment.
	PasswordResetURL string
	// ChatURL is the site's page with the chat: verification links and
	// offline replies lead there.
	ChatURL string
	// Locale is the widget's language setting ("" for the visitor's).
	Locale string
}

// Customer is a customer as mail sees them.
type Customer struct {
	ID            string
	Scope         scope.Scope
	Email         string
	Name          string
	EmailVerified bool
	HasPassword   bool
	// Locale is the language the customer last used ("" when unknown).
	Locale       string
	Unsubscribed bool
}

// Agent is an agent as mail sees them.
type Agent struct {
	ID, TeamID, Email, Name string
	// What they chose to hear of by email.
	NotifyNew, NotifyAssigned bool
}

// Invitation is an invitation as mail sees it.
type Invitation struct {
	ID, TeamID, Email, Role string
	// InvitedBy is the name of the agent who invited ("" once removed).
	InvitedBy string
	ExpiresAt time.Time
	// Open is true until it is accepted or withdrawn.
	Open bool
}

// Conversation is a ticket with what mail needs to decide.
type Conversation struct {
	ID       string
	Scope    scope.Scope
	Subject  string
	Status   string
	Customer *Customer
	// AssigneeID is the agent it is assigned to ("" for none).
	AssigneeID string
	LastSeq    int64
	// How far the customer has had its messages: read, written to an open
	// socket, emailed.
	CustomerReadSeq, CustomerDeliveredSeq, CustomerMailedSeq int64
	// How far the agents have read, and the assignee been emailed.
	AgentReadSeq, AssigneeMailedSeq int64
}

// CustomerHas is the highest seq the customer is known to have had.
func (c Conversation) CustomerHas() int64 {
	return max(c.CustomerReadSeq, c.CustomerDeliveredSeq, c.CustomerMailedSeq)
}

// EventRef is a durable event as mail's rules read it.
type EventRef struct {
	Scope      scope.Scope
	Pos        int64
	Type       string
	TicketID   string
	CustomerID string
	CreatedAt  time.Time
	// Of a message.created event: who wrote, whether it is an internal
	// note, its seq.
	AuthorType string
	Note       bool
	Seq        int64
	// AssigneeID is the ticket's assignee when the event is read; Assignee
	// Wants says they want mail about the customer's replies.
	AssigneeID    string
	AssigneeWants bool
	// NotifyAgents, of a ticket.created event, are the team's agents who
	// want mail about new conversations.
	NotifyAgents []string
}

// DevMail is a message kept in the development mailbox.
type DevMail struct {
	ID        string
	TeamID    string
	Kind      Kind
	From      string
	To        string
	Subject   string
	Headers   map[string]string
	Text      string
	HTML      string
	CreatedAt time.Time
}
