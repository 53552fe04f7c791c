package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// console is the agent console's backend: the browser talks to these
// routes, and they talk to cStar with the secret key.
type console struct {
	cfg    Config
	client *http.Client
	agent  string

	mu    sync.Mutex
	names map[string]string // customer id → name, for the chat list
	subs  map[chan []byte]struct{}

	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once
}

func newConsole(cfg Config) *console {
	ctx, cancel := context.WithCancel(context.Background())
	return &console{cfg: cfg, client: &http.Client{Timeout: 10 * time.Second}, agent: "Demo Agent",
		names: map[string]string{}, subs: map[chan []byte]struct{}{}, ctx: ctx, cancel: cancel}
}

func (c *console) close() { c.cancel() }

func (c *console) routes(m *http.ServeMux) {
	m.HandleFunc("GET /console/api/chats", c.chats)
	m.HandleFunc("GET /console/api/chats/{id}/messages", c.messages)
	m.HandleFunc("GET /console/api/chats/{id}/article-views", c.articleViews)
	m.HandleFunc("POST /console/api/chats/{id}/messages", c.reply)
	m.HandleFunc("POST /console/api/chats/{id}/typing", c.typing)
	m.HandleFunc("POST /console/api/chats/{id}/read", c.read)
	m.HandleFunc("POST /console/api/chats/{id}/close", c.closeChat)
	m.HandleFunc("GET /console/events", c.events)
}

// apiError is cStar's error envelope, passed on to the console.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

// call sends one request to cStar's API with the secret key and returns the
// envelope's data.
func (c *console) call(ctx context.Context, method, path string, body any) (json.RawMessage, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.API+"/api/v1/teams/"+url.PathEscape(c.cfg.Team)+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.SecretKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.client.Do(req)
	if err != nil {
		return nil, &apiError{status: http.StatusBadGateway, msg: "cStar is not reachable"}
	}
	defer res.Body.Close()
	var env struct {
		Success bool            `json:"success"`
		Data    json.RawMessage `json:"data"`
		Error   string          `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 4<<20)).Decode(&env); err != nil {
		return nil, &apiError{status: http.StatusBadGateway, msg: "cStar sent an answer that is not JSON"}
	}
	if !env.Success {
		return nil, &apiError{status: res.StatusCode, msg: env.Error}
	}
	return env.Data, nil
}

// forward makes one call to cStar and answers with its data, or its error.
func (c *console) forward(w http.ResponseWriter, r *http.Request, method, path string, body any, status int) {
	data, err := c.call(r.Context(), method, path, body)
	if err != nil {
		c.fail(w, err)
		return
	}
	writeJSON(w, status, data)
}

func (c *console) fail(w http.ResponseWriter, err error) {
	if e, ok := err.(*apiError); ok {
		writeError(w, e.status, e.msg)
		return
	}
	c.cfg.Log.Error("demo console", "err", err)
	writeError(w, http.StatusInternalServerError, "Something went wrong")
}

// decodeBody reads the console's small JSON bodies. Requiring JSON also
// means another site cannot post here without a CORS preflight.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "Send application/json")
		return false
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "Send a JSON object")
		return false
	}
	return true
}

type chatTicket struct {
	ID              string  `json:"id"`
	Subject         string  `json:"subject"`
	Status          string  `json:"status"`
	Channel         string  `json:"channel"`
	CustomerID      *string `json:"customer_id"`
	CustomerName    string  `json:"customer_name"`
	LastSeq         int64   `json:"last_seq"`
	AgentReadSeq    int64   `json:"agent_read_seq"`
	CustomerReadSeq int64   `json:"customer_read_seq"`
	UpdatedAt       string  `json:"updated_at"`
}

// chats lists the open chat conversations, newest first, with their
// customers' names.
func (c *console) chats(w http.ResponseWriter, r *http.Request) {
	out := []chatTicket{}
	for _, status := range []string{"open", "pending"} {
		data, err := c.call(r.Context(), "GET", "/tickets?limit=100&status="+status, nil)
		if err != nil {
			c.fail(w, err)
			return
		}
		var ts []chatTicket
		if err := json.Unmarshal(data, &ts); err != nil {
			c.fail(w, err)
			return
		}
		for _, t := range ts {
			if t.Channel != "chat" {
				continue
			}
			if t.CustomerID != nil {
				t.CustomerName = c.customerName(r.Context(), *t.CustomerID)
			}
			out = append(out, t)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (c *console) customerName(ctx context.Context, id string) string {
	c.mu.Lock()
	name, ok := c.names[id]
	c.mu.Unlock()
	if ok {
		return name
	}
	data, err := c.call(ctx, "GET", "/customers/"+url.PathEscape(id), nil)
	if err != nil {
		return ""
	}
	var cu struct {
		Name, Email, Kind string
		Unverified        string `json:"unverified_email"`
	}
	json.Unmarshal(data, &cu)
	name = cu.Name
	if name == "" {
		name = cu.Email
	}
	if cu.Kind == "visitor" {
		// An anonymous visitor: what it typed is shown as a claim.
		if name == "" {
			name = "Visitor"
		}
		if cu.Unverified != "" {
			name += " · " + cu.Unverified + " (unverified)"
		}
	}
	c.mu.Lock()
	if len(c.names) > 10000 {
		clear(c.names)
	}
	c.names[id] = name
	c.mu.Unlock()
	return name
}

func (c *console) messages(w http.ResponseWriter, r *http.Request) {
	c.forward(w, r, "GET", "/tickets/"+url.PathEscape(r.PathValue("id"))+"/messages?limit=200", nil, http.StatusOK)
}

// articleViews lists the help articles the customer opened in the widget
// before writing.
func (c *console) articleViews(w http.ResponseWriter, r *http.Request) {
	c.forward(w, r, "GET", "/tickets/"+url.PathEscape(r.PathValue("id"))+"/article-views", nil, http.StatusOK)
}

func (c *console) reply(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Body     string `json:"body"`
		ClientID string `json:"client_id"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	c.forward(w, r, "POST", "/tickets/"+url.PathEscape(r.PathValue("id"))+"/messages",
		map[string]string{"body": in.Body, "author_name": c.agent, "client_id": in.ClientID}, http.StatusCreated)
}

func (c *console) typing(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Typing bool `json:"typing"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	c.forward(w, r, "POST", "/tickets/"+url.PathEscape(r.PathValue("id"))+"/typing",
		map[string]any{"typing": in.Typing, "author_name": c.agent}, http.StatusOK)
}

func (c *console) read(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Seq int64 `json:"seq"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	c.forward(w, r, "POST", "/tickets/"+url.PathEscape(r.PathValue("id"))+"/read", in, http.StatusOK)
}

func (c *console) closeChat(w http.ResponseWriter, r *http.Request) {
	var in struct{}
	if !decodeBody(w, r, &in) {
		return
	}
	c.forward(w, r, "PATCH", "/tickets/"+url.PathEscape(r.PathValue("id")), map[string]string{"status": "closed"}, http.StatusOK)
}

// events relays cStar's realtime stream to the console as server-sent
// events. One stream connection serves every open console.
func (c *console) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "Streaming unsupported")
		return
	}
	c.once.Do(func() { go c.relay() })
	ch := make(chan []byte, 64)
	c.mu.Lock()
	c.subs[ch] = struct{}{}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.subs, ch)
		c.mu.Unlock()
	}()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	fmt.Fprint(w, ": connected\n\n")
	fl.Flush()
	beat := time.NewTicker(20 * time.Second)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-c.ctx.Done():
			return
		case <-beat.C:
			fmt.Fprint(w, ": beat\n\n")
		case ev, ok := <-ch:
			if !ok {
				return // too slow: the browser's EventSource reconnects
			}
			fmt.Fprintf(w, "data: %s\n\n", ev)
		}
		fl.Flush()
	}
}

// broadcast hands one stream frame to every console, dropping those that
// have fallen behind.
func (c *console) broadcast(frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ch := range c.subs {
		select {
		case ch <- frame:
		default:
			delete(c.subs, ch)
			close(ch)
		}
	}
}

// relay holds the connection to cStar's realtime stream, reconnecting with
// backoff and resuming after the last position seen.
func (c *console) relay() {
	u, _ := url.Parse(c.cfg.API)
	u.Scheme = "ws" + strings.TrimPrefix(u.Scheme, "http")
	u.Path = "/api/v1/teams/" + url.PathEscape(c.cfg.Team) + "/realtime"
	hdr := http.Header{"Authorization": {"Bearer " + c.cfg.SecretKey}}
	var pos int64
	wait := time.Second
	for c.ctx.Err() == nil {
		target := *u
		if pos > 0 {
			target.RawQuery = "after=" + strconv.FormatInt(pos, 10)
		}
		conn, _, err := websocket.DefaultDialer.DialContext(c.ctx, target.String(), hdr)
		if err == nil {
			wait = time.Second
			stop := context.AfterFunc(c.ctx, func() { conn.Close() })
			for {
				_, data, err := conn.ReadMessage()
				if err != nil {
					break
				}
				var ev struct {
					Pos int64 `json:"pos"`
				}
				if json.Unmarshal(data, &ev) == nil && ev.Pos > pos {
					pos = ev.Pos
				}
				// One SSE data line per frame.
				c.broadcast(bytes.ReplaceAll(bytes.TrimSpace(data), []byte("\n"), nil))
			}
			stop()
			conn.Close()
		} else {
			c.cfg.Log.Warn("demo console: realtime stream", "err", err)
		}
		select {
		case <-c.ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}
