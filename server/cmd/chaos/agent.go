package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// agent is an integration with the secret key: it follows the team's
// realtime stream (resuming by position after every disconnect) and answers
// each visitor message of the conversations it owns with a REST post that
// carries an Idempotency-Key and a client id, retried until it is stored.
type agent struct {
	i, of        int
	name         string
	base, teamID string
	sk           string
	hc           *http.Client
	l            *ledger

	mu      sync.Mutex
	replied map[string]bool // visitor bodies answered
	tickets map[string]int  // the conversations this agent owns → the visitor's number
	n       int
	answers map[string]int // REST answers by status, for the report
	wg      sync.WaitGroup
}

func newAgent(i, of int, base, teamID, sk string, l *ledger) *agent {
	return &agent{i: i, of: of, name: fmt.Sprintf("a%d", i), base: base, teamID: teamID, sk: sk, l: l,
		hc:      &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}},
		replied: map[string]bool{}, tickets: map[string]int{}, answers: map[string]int{}}
}

type streamEvent struct {
	Type     string `json:"type"`
	Pos      int64  `json:"pos"`
	TicketID string `json:"ticket_id"`
	Message  *struct {
		ID       string `json:"id"`
		TicketID string `json:"ticket_id"`
		Seq      int64  `json:"seq"`
		Body     string `json:"body"`
		Author   struct {
			Type string `json:"type"`
		} `json:"author"`
	} `json:"message"`
}

// stream follows the realtime stream until ctx ends; post is the context
// replies are retried under (it outlives ctx, for the drain).
func (a *agent) stream(ctx, post context.Context) {
	d := &websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	h := http.Header{"Authorization": {"Bearer " + a.sk}}
	var after int64
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		url := "ws" + strings.TrimPrefix(a.base, "http") + "/api/v1/teams/" + a.teamID + "/realtime?after=" + strconv.FormatInt(after, 10)
		c, res, err := d.DialContext(ctx, url, h)
		if err != nil {
			status := 0
			if res != nil {
				status = res.StatusCode
			}
			a.l.tracef("%s stream: dial after=%d: %d %v", a.name, after, status, err)
			sleep(ctx, backoff)
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		a.l.tracef("%s stream: open after=%d", a.name, after)
		stop := context.AfterFunc(ctx, func() { c.Close() })
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				a.l.tracef("%s stream: closed at %d: %v", a.name, after, err)
				break
			}
			var e streamEvent
			if json.Unmarshal(data, &e) != nil {
				continue
			}
			if e.Type == "ready" {
				backoff = 100 * time.Millisecond
				continue
			}
			if e.Pos > 0 {
				a.l.position(a.name, e.Pos)
				after = max(after, e.Pos)
			}
			if e.Type == "message.created" && e.Message != nil {
				m := e.Message
				a.l.tracef("%s stream: pos %d seq %d %s %q", a.name, e.Pos, m.Seq, short(m.TicketID), m.Body)
				a.l.show(a.name, sighting{body: m.Body, ticket: m.TicketID, id: m.ID, seq: m.Seq, pos: e.Pos})
				if m.Author.Type == "customer" {
					a.answer(post, m.TicketID, m.Body)
				}
			}
		}
		stop()
		c.Close()
		sleep(ctx, backoff)
	}
}

// answer replies to a visitor's message when its conversation is this
// agent's (by the visitor's number), once.
func (a *agent) answer(ctx context.Context, ticket, visitorBody string) {
	var w int
	if _, err := fmt.Sscanf(visitorBody, "w%02d.", &w); err != nil || w%a.of != a.i {
		return
	}
	a.mu.Lock()
	a.tickets[ticket] = w
	if a.replied[visitorBody] {
		a.mu.Unlock()
		return
	}
	a.replied[visitorBody] = true
	a.mu.Unlock()
	a.send(ctx, ticket, w, "re "+visitorBody[:8])
}

// send posts a message to the visitor's conversation in the background.
func (a *agent) send(ctx context.Context, ticket string, w int, text string) {
	a.mu.Lock()
	a.n++
	n := a.n
	a.mu.Unlock()
	body := fmt.Sprintf("%s.%04d %s", a.name, n, text)
	a.l.typed(a.name, body, w)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.post(ctx, ticket, body, fmt.Sprintf("%s-%d", a.name, n))
	}()
}

// nudgeLoop posts, besides the answers, a message of the agent's own to
// one of its conversations every interval, so that REST posts also meet
// the faults while no visitor message gets through.
func (a *agent) nudgeLoop(ctx, post context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	k := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.mu.Lock()
		var ids []string
		for id := range a.tickets {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		var ticket string
		var w int
		if len(ids) > 0 {
			ticket = ids[k%len(ids)]
			w = a.tickets[ticket]
		}
		a.mu.Unlock()
		if ticket != "" {
			k++
			a.send(post, ticket, w, fmt.Sprintf("to w%02d", w))
		}
	}
}

// post stores one reply: retried on network errors, 5xx, 409 (the first
// attempt still in progress) and 429 until it is stored, refused for good,
// or ctx ends (then it stays pending).
func (a *agent) post(ctx context.Context, ticket, body, key string) {
	payload, _ := json.Marshal(map[string]any{"body": body, "author_name": "Agent " + a.name, "client_id": key})
	wait := 100 * time.Millisecond
	for {
		req, _ := http.NewRequestWithContext(ctx, "POST", a.base+"/api/v1/teams/"+a.teamID+"/tickets/"+ticket+"/messages",
			bytes.NewReader(payload))
		req.Header.Set("Authorization", "Bearer "+a.sk)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		res, err := a.hc.Do(req)
		if ctx.Err() != nil {
			return
		}
		status, msg := 0, ""
		if err == nil {
			var env struct {
				Error string `json:"error"`
				Code  string `json:"code"`
			}
			data, _ := io.ReadAll(res.Body)
			res.Body.Close()
			json.Unmarshal(data, &env)
			status, msg = res.StatusCode, env.Code
			if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && ra > 0 {
				wait = min(time.Duration(ra)*time.Second, 2*time.Second)
			}
			if status >= 400 && status != 409 && status != 429 && status < 500 {
				a.count(strconv.Itoa(status) + " " + msg)
				a.l.settle(body, fmt.Errorf("%d %s: %s", status, env.Code, env.Error))
				return
			}
		}
		a.l.tracef("%s post %q: %d %s %v", a.name, body, status, msg, err)
		switch {
		case err != nil:
			a.count("network error")
		case status == 200 || status == 201:
			a.count(strconv.Itoa(status))
			a.l.settle(body, nil)
			return
		default:
			a.count(strconv.Itoa(status) + " " + msg)
		}
		if !sleep(ctx, wait) {
			return
		}
		wait = min(2*wait, 2*time.Second)
	}
}

func (a *agent) count(k string) {
	a.mu.Lock()
	a.answers[k]++
	a.mu.Unlock()
}

// sleep waits d or until ctx ends, and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
