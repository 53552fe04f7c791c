package socket

import (
	"context"
	"log/slog"
	"time"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/identity"
	"github.com/cstar-chat/cstar/server/internal/realtime"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// maxFillPage is the most messages or events one gap-filling read asks for.
const maxFillPage = chat.MaxPage

// Chat is what the sessions need of the chat rules.
type Chat interface {
	Resume(ctx context.Context, sc scope.Scope, customerID string, held map[string]int64) (chat.Resume, error)
	CustomerSend(ctx context.Context, sc scope.Scope, c helpdesk.Customer, clientID, body string) (chat.Message, error)
	RecordArticleViews(ctx context.Context, sc scope.Scope, customerID, ticketID string, articleIDs []string) error
	CustomerTyping(ctx context.Context, sc scope.Scope, c helpdesk.Customer, typing bool) error
	CustomerRead(ctx context.Context, sc scope.Scope, customerID, ticketID string, seq int64) (helpdesk.Ticket, error)
	// CustomerAfter reads what a customer may see (never an internal note).
	CustomerAfter(ctx context.Context, sc scope.Scope, ticketID string, after int64, limit int) ([]chat.Message, error)
	// Delivered records that tickets' messages reached one of their
	// customer's sockets (no offline email for them then).
	Delivered(ctx context.Context, ds []chat.Delivery) error
	AgentTyping(ctx context.Context, sc scope.Scope, ticketID, authorName string, typing bool) error
	EventsAfter(ctx context.Context, sc scope.Scope, after int64, limit int) ([]chat.Event, error)
	Head(ctx context.Context, sc scope.Scope) (int64, error)
	Oldest(ctx context.Context, sc scope.Scope) (int64, error)
}

// Sessions proves a widget's session token.
type Sessions interface {
	Authenticate(ctx context.Context, sc scope.Scope, token string) (identity.Session, helpdesk.Customer, error)
}

// Hub registers live connections so that events reach them.
type Hub interface {
	SubscribeCustomer(sc scope.Scope, customerID string, s realtime.Subscriber) func()
	SubscribeTeam(sc scope.Scope, s realtime.Subscriber) func()
	SubscribeAgents(sc scope.Scope, s realtime.Subscriber) func()
}

// Server runs the sessions of upgraded connections.
type Server struct {
	chat      Chat
	sessions  Sessions
	hub       Hub
	t         Timings
	log       *slog.Logger
	now       func() time.Time
	deadlines deadlines
	record    recorder
}

// New returns a Server; zero timings mean DefaultTimings. Sweep must be
// called every Timings().Sweep.
func New(c Chat, s Sessions, h Hub, t Timings, log *slog.Logger, now func() time.Time) *Server {
	return &Server{chat: c, sessions: s, hub: h, t: t.withDefaults(), log: log, now: now}
}

// logErr logs a failure (one that closes a connection with a reconnect
// code, or a hint that is lost), unless the database was unavailable: the
// store logs an outage once, and the client's reconnect tries again.
func (s *Server) logErr(ctx context.Context, msg string, err error) {
	if !errs.Is(err, errs.Unavailable) {
		s.log.ErrorContext(ctx, msg, "err", err)
	}
}

// Timings are the server's heartbeat, deadlines and queue length.
func (s *Server) Timings() Timings { return s.t }
