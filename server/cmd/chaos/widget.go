package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cstar-chat/cstar/server/identitytoken"
	"github.com/cstar-chat/cstar/wasm/sdk"
	"github.com/google/uuid"
	"github.com/gorilla/websocket"
)

// visitor is one browser tab with the widget: the SDK core with native
// surroundings, signed in through a bring-your-own-auth token, typing a
// message now and then. What counts is what the visitor typed: a message
// is recorded before the SDK sees it.
type visitor struct {
	i       int
	name    string
	client  *sdk.Client
	chat    *sdk.Chat
	storage *jsonStorage
	cfg     sdk.Config

	mu sync.Mutex
	n  int // messages typed
}

func newVisitor(i int, apiBase, pk string) *visitor {
	cfg := sdk.Config{PublishableKey: pk, APIBase: apiBase}
	st := &jsonStorage{}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
	return &visitor{i: i, name: fmt.Sprintf("w%02d", i), storage: st, cfg: cfg,
		client: sdk.New(cfg, httpTransport{hc}, st)}
}

// signIn identifies the visitor with a fresh token, retrying while the
// server is not there yet.
func (v *visitor) signIn(ctx context.Context, secret string) error {
	var err error
	for ctx.Err() == nil {
		var tok string
		tok, err = identitytoken.Sign([]byte(secret), identitytoken.Claims{Subject: "chaos-" + v.name,
			Name: "Visitor " + v.name}, time.Now())
		if err != nil {
			return err
		}
		if _, err = v.client.Identify(map[string]any{"token": tok}); err == nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s: sign in: %w", v.name, err)
}

// start opens the chat and reports what it shows to the ledger.
func (v *visitor) start(l *ledger, st *stats) {
	d := dialer(&websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 4096})
	counted := func(url string, on func(string, map[string]any, int)) sdk.Socket {
		return d(url, func(event string, f map[string]any, code int) {
			if event == "close" {
				st.add(st.closes, strconv.Itoa(code))
			}
			if event != "frame" {
				l.tracef("%s socket %s %d", v.name, event, code)
			}
			on(event, f, code)
		})
	}
	v.chat = sdk.NewChat(v.client, sdk.ChatEnv{Dial: counted, Clock: clock{}, Random: rand.Float64,
		NewID: uuid.NewString})
	v.client.On("error", func(p any) {
		if e, ok := p.(*sdk.Error); ok {
			st.add(st.errors, fmt.Sprintf("%d %s", e.Status, e.Code))
		}
	})
	v.client.On("message", func(p any) {
		m, _ := p.(map[string]any)
		seq, _ := m["seq"].(float64)
		id, _ := m["id"].(string)
		ticket, _ := m["ticketId"].(string)
		body, _ := m["body"].(string)
		l.tracef("%s shows seq %d %s %q", v.name, int64(seq), short(ticket), body)
		l.show(v.name, sighting{body: body, ticket: ticket, id: id, seq: int64(seq)})
	})
	v.client.On("connection", func(p any) {
		s, _ := p.(string)
		l.tracef("%s %s", v.name, s)
		l.setOpen(v.i, s == sdk.StateOpen)
	})
	v.chat.Start()
}

// typeLoop types a message every interval (with jitter) until ctx ends.
func (v *visitor) typeLoop(ctx context.Context, l *ledger, every time.Duration) {
	t := time.NewTimer(time.Duration(rand.Int64N(int64(every))))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v.typeOne(l)
		t.Reset(every/2 + time.Duration(rand.Int64N(int64(every))))
	}
}

// typeOne types the visitor's next message: it is in the ledger before the
// SDK has it.
func (v *visitor) typeOne(l *ledger) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.n++
	body := fmt.Sprintf("%s.%04d hello from the visitor", v.name, v.n)
	l.typed(v.name, body, v.i)
	l.tracef("%s typed %q", v.name, body)
	v.chat.Send(body, nil, func(_ sdk.Message, err error) {
		if e, ok := err.(*sdk.Error); ok {
			err = fmt.Errorf("%s: %s", e.Code, e.Message)
		}
		l.tracef("%s settled %q: %v", v.name, body, err)
		l.settle(body, err)
	})
}

// outbox is how many messages wait in the visitor's stored outbox.
func (v *visitor) outbox() int { return outboxLen(v.storage, v.cfg.OutboxKey()) }
