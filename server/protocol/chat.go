package protocol

// Live chat. The widget opens a websocket at
//
//	GET /api/widget/v1/chat?key=pk_…&v=1
//
// (a publishable key is not a secret; the session token is, so it travels in
// the first frame, never in the URL). The server checks the key and the
// team's allowed origins at the handshake, then waits for a resume frame.
// Every frame is one JSON object with a "type".
//
// Client → server:
//
//	{"type":"resume","session":"cs_…","tickets":{"<ticket id>":<last seq held>}}   first frame, within 10 s
//	{"type":"send","client_id":"<uuid>","body":"Hello","articles":["<article id>"]}
//	{"type":"typing","typing":true}
//	{"type":"read","ticket_id":"…","seq":7}
//
// Server → client:
//
//	{"type":"message","message":{…}}        replayed (seq > the position held), then live
//	{"type":"ready","customer_id":"…","tickets":[…]} once the replay is done
//	{"type":"ack","client_id":"…","message":{…}}
//	{"type":"typing","ticket_id":"…","author":{…},"typing":true,"ttl_ms":6000}
//	{"type":"read","ticket_id":"…","reader":"agent","seq":7}
//	{"type":"ticket","ticket":{…}}
//	{"type":"error","client_id":"…","code":"rate_limited","error":"…","retry_after_ms":1200}
//	{"type":"error","client_id":"…","code":"unavailable","error":"…","retry_after_ms":2000}   the database could not store it yet
//
// The agents' stream is a websocket at GET /api/v1/teams/{teamId}/realtime,
// authenticated by "Authorization: Bearer sk_…" on the upgrade request and
// resumed with ?after=<pos>. It sends StreamEvent frames.

// ChatVersion is the version of the frame protocol; the client sends it as
// the v query parameter.
const ChatVersion = 1

// ChatPath is the widget's websocket endpoint.
const ChatPath = "/api/widget/v1/chat"

// Frame types.
const (
	FrameResume  = "resume"
	FrameSend    = "send"
	FrameTyping  = "typing"
	FrameRead    = "read"
	FrameMessage = "message"
	FrameReady   = "ready"
	FrameAck     = "ack"
	FrameTicket  = "ticket"
	FrameError   = "error"
)

// Close codes: 4000–4499 tell the client to reconnect (with backoff),
// 4500–4999 to stop until something changes (a new key, a new sign-in).
const (
	CloseRestart      = 4000 // the server is shutting down
	CloseTooSlow      = 4001 // the client did not read its frames fast enough
	CloseResumeWanted = 4002 // no resume frame arrived in time
	CloseProtocol     = 4003 // a frame the server could not understand
	CloseHeartbeat    = 4004 // no pong in time

	CloseInvalidKey     = 4501 // the publishable key is unknown, revoked or expired
	CloseSessionInvalid = 4502 // the session is missing, expired or revoked: sign in again
	CloseVersion        = 4503 // the protocol version is not supported
)

// CloseMessageTooBig is the standard code sent for a frame over MaxFrameBytes.
const CloseMessageTooBig = 1009

// Reconnect tells whether a client should reconnect after close code code.
func Reconnect(code int) bool { return code < 4500 || code > 4999 }

// Limits of the chat channel.
const (
	MaxFrameBytes = 16 << 10 // a bigger frame closes the connection with 1009
	MaxBodyChars  = 4000     // a message body, after trimming
	SendBurst     = 20       // messages a connection may send per SendWindowSec
	SendWindowSec = 10
	// SignalBurst is how many typing and read frames a connection may send
	// per SendWindowSec; more are dropped without an answer, since each
	// fans out to every agent of the team.
	SignalBurst     = 20
	TypingTTLMillis = 6000 // a typing indicator expires unless repeated
	MaxAuthorName   = 100
)

// Author types.
const (
	AuthorCustomer = "customer"
	AuthorAgent    = "agent"
	AuthorBot      = "bot"
	AuthorSystem   = "system"
)

// Author is who wrote a message or is typing.
type Author struct {
	Type string  `json:"type"`
	ID   *string `json:"id"`
	Name string  `json:"name"`
}

// Message is one chat message. Seq increases by one per ticket, from 1,
// with no gaps.
type Message struct {
	ID        string  `json:"id"`
	TicketID  string  `json:"ticket_id"`
	Seq       int64   `json:"seq"`
	Author    Author  `json:"author"`
	Body      string  `json:"body"`
	ClientID  *string `json:"client_id"`
	CreatedAt string  `json:"created_at"` // RFC 3339 with milliseconds
	// Internal marks an internal note, which only agents see (their REST
	// history, stream and dashboard); a widget never gets one.
	Internal bool `json:"internal,omitempty"`
}

// ChatTicket is a conversation as the widget sees it.
type ChatTicket struct {
	ID              string `json:"id"`
	Status          string `json:"status"`
	LastSeq         int64  `json:"last_seq"`
	CustomerReadSeq int64  `json:"customer_read_seq"`
	AgentReadSeq    int64  `json:"agent_read_seq"`
	CreatedAt       string `json:"created_at"`
	UpdatedAt       string `json:"updated_at"`
}

// ClientFrame is any frame a widget sends; the fields used depend on Type.
type ClientFrame struct {
	Type     string           `json:"type"`
	Session  string           `json:"session,omitempty"`
	Tickets  map[string]int64 `json:"tickets,omitempty"`
	ClientID string           `json:"client_id,omitempty"`
	Body     string           `json:"body,omitempty"`
	Typing   bool             `json:"typing,omitempty"`
	TicketID string           `json:"ticket_id,omitempty"`
	Seq      int64            `json:"seq,omitempty"`
	// Articles, on a send, are the ids of the published Library articles
	// the customer opened in the widget before writing it (at most
	// MaxArticleViews); agents see them on the conversation.
	Articles []string `json:"articles,omitempty"`
}

// MaxArticleViews is how many article ids a send frame may name; more are
// ignored.
const MaxArticleViews = 10

// MessageFrame carries a stored message.
type MessageFrame struct {
	Type    string  `json:"type"` // message
	Message Message `json:"message"`
}

// ReadyFrame ends the replay that follows a resume. Tickets are the
// customer's open chat ticket and every ticket named in the resume.
type ReadyFrame struct {
	Type       string       `json:"type"` // ready
	CustomerID string       `json:"customer_id"`
	Tickets    []ChatTicket `json:"tickets"`
}

// AckFrame confirms a send once the message is stored.
type AckFrame struct {
	Type     string  `json:"type"` // ack
	ClientID string  `json:"client_id"`
	Message  Message `json:"message"`
}

// TypingFrame says someone is (or stopped) typing in a ticket.
type TypingFrame struct {
	Type     string `json:"type"` // typing
	TicketID string `json:"ticket_id"`
	Author   Author `json:"author"`
	Typing   bool   `json:"typing"`
	TTLMs    int    `json:"ttl_ms"`
}

// ReadFrame says how far a reader (customer or agent) has read a ticket.
type ReadFrame struct {
	Type     string `json:"type"` // read
	TicketID string `json:"ticket_id"`
	Reader   string `json:"reader"` // customer or agent
	Seq      int64  `json:"seq"`
}

// TicketFrame carries a ticket whose status or read positions changed.
type TicketFrame struct {
	Type   string     `json:"type"` // ticket
	Ticket ChatTicket `json:"ticket"`
}

// ErrorFrame refuses one frame; the connection stays open. ClientID is set
// when the refused frame was a send. Codes rate_limited and unavailable
// (the database could not store it for the moment) come with RetryAfterMs
// and mean "send it again then, with the same client id"; every other code
// refuses the frame for good.
type ErrorFrame struct {
	Type         string `json:"type"` // error
	ClientID     string `json:"client_id,omitempty"`
	Code         string `json:"code"`
	Error        string `json:"error"`
	RetryAfterMs int64  `json:"retry_after_ms,omitempty"`
}

// Stream event types on the agents' realtime stream.
const (
	EventTicketCreated  = "ticket.created"
	EventTicketUpdated  = "ticket.updated"
	EventMessageCreated = "message.created"
	// EventCustomerMerged is one conversation of an anonymous visitor that
	// moved into the customer who signed in with the visitor's token: the
	// ticket, now the customer's, names the visitor in merged_from.
	EventCustomerMerged = "customer.merged"
	// Customer events carry the customer as the REST API renders it, or
	// {"id": …, "deleted": true} once it is gone.
	EventCustomerCreated = "customer.created"
	EventCustomerUpdated = "customer.updated"
	EventCustomerDeleted = "customer.deleted"
	EventTyping          = "typing"
	EventReady           = "ready"
	// EventReset comes first on a stream resumed from a position older than
	// the events log keeps (see --event-retention): the events in between
	// are gone, so the client reloads what it shows through the REST API and
	// carries on from Pos.
	EventReset = "reset"
)

// StreamEvent is one frame of the agents' stream. Pos orders the durable
// events (ticket.created, ticket.updated, message.created, customer.created,
// customer.updated, customer.deleted, customer.merged) of one team and mode,
// from 1 with no gaps; a client resumes with ?after=<last pos>.
// Typing events are ephemeral and have no position. A ready frame (with the
// current position) follows the replay.
type StreamEvent struct {
	Type     string   `json:"type"`
	Pos      int64    `json:"pos,omitempty"`
	TicketID string   `json:"ticket_id,omitempty"`
	Ticket   any      `json:"ticket,omitempty"`   // the ticket as the REST API renders it
	Customer any      `json:"customer,omitempty"` // the customer as the REST API renders it
	Message  *Message `json:"message,omitempty"`
	Author   *Author  `json:"author,omitempty"`
	Typing   *bool    `json:"typing,omitempty"`
}

// AgentMessageRequest is the body of POST /api/v1/teams/{teamId}/tickets/{id}/messages.
type AgentMessageRequest struct {
	Body       string `json:"body"`
	AuthorName string `json:"author_name"`
	AuthorType string `json:"author_type,omitempty"` // agent (default) or bot
	ClientID   string `json:"client_id,omitempty"`
	// Internal makes it an internal note: agents see it, the customer never
	// does (an agent's, whatever author_type says).
	Internal bool `json:"internal,omitempty"`
}

// AgentTypingRequest is the body of POST /api/v1/teams/{teamId}/tickets/{id}/typing.
type AgentTypingRequest struct {
	Typing     bool   `json:"typing"`
	AuthorName string `json:"author_name"`
}

// ReadRequest is the body of POST /api/v1/teams/{teamId}/tickets/{id}/read.
type ReadRequest struct {
	Seq int64 `json:"seq"`
}
