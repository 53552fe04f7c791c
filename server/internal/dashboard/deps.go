package dashboard

import (
	"context"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cstar-chat/cstar/server/internal/agent"
	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/audit"
	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/identity"
	"github.com/cstar-chat/cstar/server/internal/library"
	"github.com/cstar-chat/cstar/server/internal/page"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/socket"
	"github.com/cstar-chat/cstar/server/internal/team"
	"github.com/cstar-chat/cstar/server/internal/webhook"
)

// The dashboard's view of each feature: what it calls, and nothing else.

// Agents signs agents in and manages them (agent.Service).
type Agents interface {
	SignIn(ctx context.Context, email, pw string, c agent.Client) (agent.Agent, agent.Issued, error)
	VerifyCode(ctx context.Context, token, code string, c agent.Client) (agent.Agent, agent.Issued, error)
	Authenticate(ctx context.Context, token string) (agent.Session, agent.Agent, error)
	SessionEnd(ctx context.Context, token string) (time.Time, error)
	SignOut(ctx context.Context, token string) error
	Get(ctx context.Context, teamID, id string) (agent.Agent, error)
	List(ctx context.Context, teamID string) ([]agent.Agent, error)
	Remove(ctx context.Context, actor agent.Agent, id string) (agent.Agent, error)
	SetRole(ctx context.Context, actor agent.Agent, id string, role agent.Role) (agent.Agent, error)
	Invite(ctx context.Context, actor agent.Agent, email string, role agent.Role) (agent.Invitation, string, error)
	Invitation(ctx context.Context, token string) (agent.Invitation, error)
	Accept(ctx context.Context, token, name, pw, teamName string, c agent.Client) (agent.Agent, agent.Issued, error)
	Invitations(ctx context.Context, teamID string) ([]agent.Invitation, error)
	Withdraw(ctx context.Context, actor agent.Agent, id string) (agent.Invitation, error)
	BeginTOTP(ctx context.Context, a agent.Agent) (secret, url string, err error)
	PendingTOTP(ctx context.Context, a agent.Agent) (secret, url string, err error)
	EnableTOTP(ctx context.Context, a agent.Agent, ses agent.Session, code string, c agent.Client) (agent.Issued, error)
	DisableTOTP(ctx context.Context, a agent.Agent, code string) error
	SavedReplies(ctx context.Context, teamID string) ([]agent.SavedReply, error)
	SaveReply(ctx context.Context, a agent.Agent, title, body string) (agent.SavedReply, error)
	DeleteReply(ctx context.Context, a agent.Agent, id string) error
	MailAgents
}

// Keys manages API keys (apikey.Service).
type Keys interface {
	List(ctx context.Context, sc scope.Scope) ([]apikey.Key, error)
	Get(ctx context.Context, sc scope.Scope, id string) (apikey.Key, error)
	CreateNamed(ctx context.Context, sc scope.Scope, t apikey.Type, name string) (apikey.Issued, error)
	Roll(ctx context.Context, sc scope.Scope, id string, grace time.Duration) (apikey.Issued, error)
	Revoke(ctx context.Context, sc scope.Scope, id string) error
	UsageHours(ctx context.Context, sc scope.Scope, id string, hours int) (apikey.Usage, error)
}

// Webhooks manages the mode's webhook endpoints (webhook.Service).
type Webhooks interface {
	List(ctx context.Context, sc scope.Scope, p page.Params) (page.Page[webhook.Endpoint], error)
	Endpoint(ctx context.Context, sc scope.Scope, id string) (webhook.Endpoint, error)
	Create(ctx context.Context, sc scope.Scope, in webhook.Input) (webhook.Endpoint, error)
	Update(ctx context.Context, sc scope.Scope, id string, in webhook.Input) (webhook.Endpoint, error)
	Delete(ctx context.Context, sc scope.Scope, id string) error
	RollSecret(ctx context.Context, sc scope.Scope, id string, grace time.Duration) (webhook.Endpoint, error)
	Test(ctx context.Context, sc scope.Scope, id string) (webhook.Delivery, error)
	Deliveries(ctx context.Context, sc scope.Scope, endpointID string, p page.Params) (page.Page[webhook.Delivery], error)
	Redeliver(ctx context.Context, sc scope.Scope, endpointID, deliveryID string) (webhook.Delivery, error)
}

// Teams reads and changes the team (team.Service).
type Teams interface {
	Resolve(ctx context.Context, idOrSlug string) (team.Team, error)
	Apply(ctx context.Context, sc scope.Scope, u team.Update) (team.Team, error)
}

// Identity holds the identity-verification settings and customers'
// sessions (identity.Service).
type Identity interface {
	Secret(ctx context.Context, sc scope.Scope) (identity.Secret, error)
	RollSecret(ctx context.Context, sc scope.Scope, grace time.Duration) (identity.Secret, error)
	UserHashEnabled(ctx context.Context, sc scope.Scope) (bool, error)
	SetUserHashEnabled(ctx context.Context, sc scope.Scope, enabled bool) error
	Sessions(ctx context.Context, sc scope.Scope, customerID string) ([]identity.Session, error)
	RevokeSessions(ctx context.Context, sc scope.Scope, customerID string) (int, error)
}

// Helpdesk reads customers and changes tickets (helpdesk.Service).
type Helpdesk interface {
	Customer(ctx context.Context, sc scope.Scope, id string) (helpdesk.Customer, error)
	ListTickets(ctx context.Context, sc scope.Scope, f helpdesk.TicketFilter, p page.Params) (page.Page[helpdesk.Ticket], error)
	UpdateTicket(ctx context.Context, sc scope.Scope, id string, in helpdesk.TicketInput) (helpdesk.Ticket, error)
	Assign(ctx context.Context, sc scope.Scope, id, agentID string) (helpdesk.Ticket, error)
}

// Chat is the conversations' rules (chat.Service).
type Chat interface {
	Inbox(ctx context.Context, sc scope.Scope, f chat.InboxFilter, cursor string, limit int) (chat.InboxPage, error)
	Conversation(ctx context.Context, sc scope.Scope, ticketID string) (chat.Conversation, error)
	InboxCounts(ctx context.Context, sc scope.Scope, status, agentID string) (chat.InboxCounts, error)
	History(ctx context.Context, sc scope.Scope, ticketID string, before int64, limit int) (chat.Page, error)
	Post(ctx context.Context, sc scope.Scope, ticketID string, author chat.Author, clientID, body string, internal bool) (chat.Message, error)
	AgentRead(ctx context.Context, sc scope.Scope, ticketID string, seq int64) (helpdesk.Ticket, error)
	SessionEnded(ctx context.Context, sc scope.Scope, customerID, sessionID string)
	Head(ctx context.Context, sc scope.Scope) (int64, error)
	// ArticleViews lists the Library articles the customer opened in the
	// widget before writing.
	ArticleViews(ctx context.Context, sc scope.Scope, ticketID string) ([]chat.ArticleView, error)
}

// Library manages the help centre (library.Service).
type Library interface {
	ListCategories(ctx context.Context, sc scope.Scope, p page.Params) (page.Page[library.Category], error)
	CreateCategory(ctx context.Context, sc scope.Scope, in library.CategoryInput) (library.Category, error)
	UpdateCategory(ctx context.Context, sc scope.Scope, id string, in library.CategoryInput) (library.Category, error)
	DeleteCategory(ctx context.Context, sc scope.Scope, id string) error
	ListArticles(ctx context.Context, sc scope.Scope, f library.ArticleFilter, p page.Params) (page.Page[library.Article], error)
	Article(ctx context.Context, sc scope.Scope, id string) (library.Article, error)
	CreateArticle(ctx context.Context, sc scope.Scope, in library.ArticleInput) (library.Article, error)
	UpdateArticle(ctx context.Context, sc scope.Scope, id string, in library.ArticleInput) (library.Article, error)
	DeleteArticle(ctx context.Context, sc scope.Scope, id string) error
}

// Audit records and reads the team's log (audit.Service).
type Audit interface {
	Record(ctx context.Context, e audit.Entry) error
	List(ctx context.Context, sc scope.Scope, p page.Params) (page.Page[audit.Entry], error)
}

// Sockets runs the dashboard's live connection (socket.Server).
type Sockets interface {
	StreamStart(ctx context.Context, sc scope.Scope, after int64, resume bool) (pos int64, reset bool, err error)
	ServeDashboard(ctx context.Context, ws *websocket.Conn, a socket.Agent, pos int64, reset bool)
}
