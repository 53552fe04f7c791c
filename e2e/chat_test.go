package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestChat runs the live-chat scenarios in Chromium on each database: the
// page on another origin talks to the server through the SDK's websocket.
func TestChat(t *testing.T) {
	requireBrowser(t)
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, dialect)
			tb := newTab(t, nil)
			tb.open(t, e.page("test"))
			tb.call(t, `CStarChat.signup(`+args(map[string]string{"email": "grace@example.com", "name": "Grace", "password": password})+`)`).customer(t)
			tb.waitOpen(t)
			// data-ui="none": the SDK alone, no widget UI fetched.
			if eval[bool](t, tb, `!!document.getElementById("cstar-widget-host") || performance.getEntriesByType("resource").some(r => r.name.endsWith("/cstar-widget.js"))`) {
				t.Fatal(`data-ui="none" page: the widget UI was loaded`)
			}

			var ticketID string
			t.Run("agent_reply_appears", func(t *testing.T) {
				sent := tb.call(t, `CStarChat.sendMessage("Hello, is anyone there?")`)
				m := sent.message(t)
				if m.Seq != 1 || m.Body != "Hello, is anyone there?" || m.Author.Type != "customer" || m.TicketID == "" {
					t.Fatalf("sendMessage: got %+v, want seq 1, the body, a customer author and a ticket", m)
				}
				ticketID = m.TicketID
				e.agentPost(t, ticketID, "Hi Grace, Bob here. How can I help?")
				tb.waitFor(t, `window.__msgs.some(m => m.body === "Hi Grace, Bob here. How can I help?" && m.author.type === "agent")`, 10*time.Second)
				tb.noViolations(t)
			})
			if ticketID == "" {
				t.FailNow()
			}

			t.Run("reload_shows_history_once", func(t *testing.T) {
				tb.open(t, e.page("test"))
				tb.waitOpen(t)
				tb.waitFor(t, `window.__msgs.length >= 2`, 10*time.Second)
				time.Sleep(300 * time.Millisecond) // room for a duplicate to show up
				got := tb.messages(t)
				want := []string{"Hello, is anyone there?", "Hi Grace, Bob here. How can I help?"}
				if !sameBodies(got, want) {
					t.Errorf("message events after reload: got %v, want each of %q once, in order", bodies(got), want)
				}
				hist := tb.call(t, `CStarChat.getMessages()`).messages(t)
				if !sameBodies(hist, want) {
					t.Errorf("getMessages(): got %v, want %q", bodies(hist), want)
				}
			})

			t.Run("server_restart_delivers_once", func(t *testing.T) {
				e.stop(t)
				tb.waitFor(t, `window.__conn[window.__conn.length - 1] !== "open"`, 10*time.Second)
				// Typed and sent while the server is down: it waits in the
				// outbox and the promise stays pending.
				eval[bool](t, tb, `(window.__pending = CStarChat.sendMessage("Sent while you were away"), window.__pending.then(m => window.__sentWhileDown = m), true)`)
				time.Sleep(300 * time.Millisecond)
				e.start(t)
				tb.waitFor(t, `window.__sentWhileDown !== undefined`, 40*time.Second)
				time.Sleep(300 * time.Millisecond)
				stored := e.agentMessages(t, ticketID)
				n := 0
				for _, m := range stored {
					if m.Body == "Sent while you were away" {
						n++
					}
				}
				if n != 1 {
					t.Errorf("stored copies of the message sent while the server was down: got %d, want 1 (all: %v)", n, bodies(stored))
				}
				if got := eval[int](t, tb, `window.__msgs.filter(m => m.body === "Sent while you were away").length`); got != 1 {
					t.Errorf("message events for it in the page: got %d, want 1", got)
				}
			})

			t.Run("two_tabs_one_socket", func(t *testing.T) {
				second := newTab(t, tb)
				second.open(t, e.page("test"))
				second.waitFor(t, `CStarChat.isIdentified()`, 5*time.Second)
				second.waitOpen(t)
				time.Sleep(500 * time.Millisecond)
				if w, _ := e.Server.App.Hub().Counts(); w != 1 {
					t.Errorf("widget sockets on the server with two tabs open: got %d, want 1", w)
				}
				e.agentPost(t, ticketID, "Both tabs see this")
				for _, x := range []*tab{tb, second} {
					x.waitFor(t, `window.__msgs.filter(m => m.body === "Both tabs see this").length === 1`, 10*time.Second)
				}
				m := second.call(t, `CStarChat.sendMessage("From the second tab")`).message(t)
				if m.Body != "From the second tab" {
					t.Errorf("second tab's send: got %+v", m)
				}
				tb.waitFor(t, `window.__msgs.some(m => m.body === "From the second tab")`, 10*time.Second)
				time.Sleep(300 * time.Millisecond)
				for _, x := range []*tab{tb, second} {
					if got := eval[int](t, x, `window.__msgs.filter(m => m.body === "From the second tab").length`); got != 1 {
						t.Errorf("message events for the second tab's message: got %d, want 1", got)
					}
				}
			})

			t.Run("send_trims_unicode_space", func(t *testing.T) {
				// No-break and em spaces count as white space, as on the server.
				m := tb.call(t, `CStarChat.sendMessage("\u00a0 Thanks!\u2003\n")`).message(t)
				if m.Body != "Thanks!" {
					t.Errorf("sent body: got %q, want %q", m.Body, "Thanks!")
				}
				r := tb.call(t, `CStarChat.sendMessage(" \u00a0\t ")`)
				if r.OK || r.Code != "invalid" {
					t.Errorf("blank message: got ok=%v code %q, want a rejection with code invalid", r.OK, r.Code)
				}
			})
		})
	}
}

// waitOpen waits until the SDK reports its connection open.
func (t *tab) waitOpen(tb testing.TB) {
	tb.Helper()
	t.waitFor(tb, `window.__conn[window.__conn.length - 1] === "open"`, 15*time.Second)
}

// message is the SDK's Message.
type message struct {
	ID       string `json:"id"`
	TicketID string `json:"ticketId"`
	Seq      int    `json:"seq"`
	Author   struct {
		Type string `json:"type"`
		Name string `json:"name"`
	} `json:"author"`
	Body string `json:"body"`
}

func (r result) message(tb testing.TB) message {
	tb.Helper()
	if !r.OK {
		tb.Fatalf("got rejection %d %q (code %q), want a message", r.Status, r.Message, r.Code)
	}
	var m message
	if err := json.Unmarshal(r.Value, &m); err != nil || m.ID == "" {
		tb.Fatalf("got %s, want a message (%v)", r.Value, err)
	}
	return m
}

func (r result) messages(tb testing.TB) []message {
	tb.Helper()
	if !r.OK {
		tb.Fatalf("got rejection %d %q (code %q), want messages", r.Status, r.Message, r.Code)
	}
	var ms []message
	if err := json.Unmarshal(r.Value, &ms); err != nil {
		tb.Fatalf("got %s, want messages (%v)", r.Value, err)
	}
	return ms
}

func (t *tab) messages(tb testing.TB) []message {
	tb.Helper()
	return eval[[]message](tb, t, `window.__msgs`)
}

func bodies(ms []message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Body
	}
	return out
}

func sameBodies(ms []message, want []string) bool {
	if len(ms) != len(want) {
		return false
	}
	for i := range ms {
		if ms[i].Body != want[i] {
			return false
		}
	}
	return true
}

// agentPost replies in a ticket as an agent, through the REST API.
func (e *env) agentPost(tb testing.TB, ticketID, body string) {
	tb.Helper()
	raw, _ := json.Marshal(map[string]string{"body": body, "author_name": "Bob"})
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/teams/%s/tickets/%s/messages", e.API, e.TeamID, ticketID), bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+e.SKTest)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("agent post: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != 201 {
		tb.Fatalf("agent post: status %d, want 201", res.StatusCode)
	}
}

// agentRead marks a ticket read up to seq by the agents, through REST.
func (e *env) agentRead(tb testing.TB, ticketID string, seq int) {
	tb.Helper()
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/teams/%s/tickets/%s/read", e.API, e.TeamID, ticketID),
		bytes.NewReader([]byte(fmt.Sprintf(`{"seq":%d}`, seq))))
	req.Header.Set("Authorization", "Bearer "+e.SKTest)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("agent read: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		tb.Fatalf("agent read: status %d, want 200", res.StatusCode)
	}
}

// agentMessages lists a ticket's stored messages through the REST API.
func (e *env) agentMessages(tb testing.TB, ticketID string) []message {
	tb.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/teams/%s/tickets/%s/messages?limit=200", e.API, e.TeamID, ticketID), nil)
	req.Header.Set("Authorization", "Bearer "+e.SKTest)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("list messages: %v", err)
	}
	defer res.Body.Close()
	var body struct {
		Data []struct {
			ID   string `json:"id"`
			Seq  int    `json:"seq"`
			Body string `json:"body"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != 200 {
		tb.Fatalf("list messages: status %d, %v", res.StatusCode, err)
	}
	out := make([]message, len(body.Data))
	for i, d := range body.Data {
		out[i] = message{ID: d.ID, Seq: d.Seq, Body: d.Body}
	}
	return out
}
