package httpapi

import (
	"net/http"
	"time"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/page"
	"github.com/cstar-chat/cstar/server/internal/wire"
	"github.com/cstar-chat/cstar/server/protocol"
)

// exportSession is a session as an export shows it: never its token (only
// its hash is kept anyway).
type exportSession struct {
	ID                string    `json:"id"`
	CreatedAt         time.Time `json:"created_at"`
	LastUsedAt        time.Time `json:"last_used_at"`
	ExpiresAt         time.Time `json:"expires_at"`
	AbsoluteExpiresAt time.Time `json:"absolute_expires_at"`
}

type exportTicket struct {
	wire.Ticket
	Messages []protocol.Message `json:"messages"`
}

type exportPassword struct {
	Set    bool    `json:"set"`
	Scheme *string `json:"scheme"`
}

// exportCustomer answers a data-access request: everything cStar holds
// about a customer, in one document: the profile (with what was proven),
// whether a password is set (never its hash), the live sessions (never
// their tokens), and every ticket of theirs with all its messages.
func (s *Server) exportCustomer(w http.ResponseWriter, r *http.Request) error {
	ctx, sc := r.Context(), principalOf(r.Context()).scope()
	c, err := s.Helpdesk.Customer(ctx, sc, r.PathValue("id"))
	if err != nil {
		return err
	}
	scheme, err := s.Identity.PasswordScheme(ctx, sc, c.ID)
	if err != nil {
		return err
	}
	ses, err := s.Identity.Sessions(ctx, sc, c.ID)
	if err != nil {
		return err
	}
	out := struct {
		ExportedAt time.Time       `json:"exported_at"`
		Customer   wire.Customer   `json:"customer"`
		Password   exportPassword  `json:"password"`
		Sessions   []exportSession `json:"sessions"`
		Tickets    []exportTicket  `json:"tickets"`
	}{ExportedAt: s.Now().UTC(), Customer: wire.CustomerOf(c), Password: exportPassword{Set: scheme != ""},
		Sessions: make([]exportSession, len(ses)), Tickets: []exportTicket{}}
	if scheme != "" {
		out.Password.Scheme = &scheme
	}
	for i, x := range ses {
		out.Sessions[i] = exportSession{ID: x.ID, CreatedAt: x.CreatedAt, LastUsedAt: x.LastUsedAt, ExpiresAt: x.ExpiresAt,
			AbsoluteExpiresAt: x.AbsoluteExpiresAt}
	}
	p := page.Params{Limit: page.MaxLimit}
	for {
		tickets, err := s.Helpdesk.ListTickets(ctx, sc, helpdesk.TicketFilter{CustomerID: c.ID}, p)
		if err != nil {
			return err
		}
		for _, t := range tickets.Items {
			et := exportTicket{Ticket: wire.TicketOf(t), Messages: []protocol.Message{}}
			for after := int64(0); ; {
				ms, err := s.Chat.After(ctx, sc, t.ID, after, chat.MaxPage)
				if err != nil {
					return err
				}
				for _, m := range ms {
					et.Messages = append(et.Messages, wire.Message(m))
					after = m.Seq
				}
				if len(ms) < chat.MaxPage {
					break
				}
			}
			out.Tickets = append(out.Tickets, et)
		}
		if !tickets.HasMore {
			break
		}
		p.After = tickets.Items[len(tickets.Items)-1].ID
	}
	return ok(w, http.StatusOK, out)
}
