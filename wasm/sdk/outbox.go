package sdk

import "github.com/cstar-chat/cstar/server/protocol"

// Send queues text and calls done once the server has stored it, or
// refused it. The text is trimmed of ASCII white space (the JS bridge trims
// Unicode's first) and must keep 1 to 4000 characters. It waits in the
// outbox while disconnected, across reloads.
func (ch *Chat) Send(text string, done func(Message, error)) {
	for len(text) > 0 && text[0] <= ' ' {
		text = text[1:]
	}
	for len(text) > 0 && text[len(text)-1] <= ' ' {
		text = text[:len(text)-1]
	}
	n := 0
	for range text {
		n++
	}
	if n == 0 || n > protocol.MaxBodyChars {
		done(Message{}, &Error{Message: "A message needs 1 to 4000 characters", Code: "invalid"})
		return
	}
	id := ch.env.NewID()
	ch.lock()
	ch.waiters[id] = done
	switch {
	case ch.fatal != nil:
		ch.settle(id, Message{}, ch.fatal)
	case !ch.wanted:
		ch.settle(id, Message{}, &Error{Message: "Sign in before sending messages", Code: "unauthorized"})
	default:
		it := ch.outItem(id, text)
		ch.editOutbox(it, "", false)
		ch.out(sendFrame(it))
	}
	ch.unlock()
}

// SendMessage is Send that blocks until the server stores or refuses it.
func (ch *Chat) SendMessage(text string) (Message, error) {
	var m Message
	var err error
	done := make(chan struct{})
	ch.Send(text, func(rm Message, rerr error) {
		m, err = rm, rerr
		close(done)
	})
	<-done
	return m, err
}

// outItem is an outbox entry.
func (ch *Chat) outItem(id, body any) map[string]any {
	return kv("client_id", id, "body", body, "customer", ch.customer)
}

// sendFrame is the send frame of an outbox item.
//
//go:noinline
func sendFrame(it map[string]any) map[string]any {
	return kv("type", protocol.FrameSend, "client_id", it["client_id"], "body", it["body"])
}

// editOutbox reads the outbox again (other tabs write it too), drops the
// entry with client id drop and any another customer left behind on this
// browser, appends add unless it is there, sends every entry when send is
// set (after a resume), saves the result and returns it.
func (ch *Chat) editOutbox(add map[string]any, drop string, send bool) []any {
	v, _ := ch.c.storage.Load(ch.c.cfg.OutboxKey())
	list, _ := v["items"].([]any)
	keep := make([]any, 0, len(list)+1)
	for _, e := range list {
		m, _ := e.(map[string]any)
		if id := str(m, "client_id"); id != "" && id != drop && str(m, "customer") == ch.customer {
			if add != nil && id == add["client_id"] {
				add = nil
			}
			keep = append(keep, m)
		}
	}
	if add != nil {
		keep = append(keep, add)
	}
	for _, e := range keep {
		if send {
			ch.sendNow(sendFrame(e.(map[string]any)))
		}
	}
	switch {
	case len(keep) == len(list):
	case len(keep) == 0:
		ch.c.storage.Delete(ch.c.cfg.OutboxKey())
	default:
		ch.c.storage.Save(ch.c.cfg.OutboxKey(), kv("v", float64(1), "items", keep))
	}
	return keep
}

// out sends a client frame, through the leader when this tab follows.
func (ch *Chat) out(f map[string]any) {
	if ch.leader {
		ch.sendNow(f)
	} else {
		ch.post("out", f)
	}
}

// sendNow sends f on a ready socket, a send at most once per connection.
func (ch *Chat) sendNow(f map[string]any) {
	if !ch.ready || ch.sock == nil {
		return
	}
	if id := str(f, "client_id"); id != "" {
		if ch.inflight[id] {
			return
		}
		ch.inflight[id] = true
	}
	ch.sock.Send(f)
}

// refused handles an error frame. A send refused for its rate is retried
// when the server says; any other refusal is final.
func (ch *Chat) refused(f map[string]any, own bool) {
	id := str(f, "client_id")
	e := &Error{Message: str(f, "error"), Code: str(f, "code")}
	switch {
	case id == "":
		ch.emitLater("error", e)
	case e.Code == "rate_limited" || e.Code == "unavailable":
		if !own {
			return
		}
		delete(ch.inflight, id)
		wait := num(f, "retry_after_ms")
		if wait <= 0 {
			wait = 1000
		}
		ch.timer(wait, timerResend, "", ch.gen)
	default:
		if own {
			ch.editOutbox(nil, id, false)
		}
		ch.settle(id, Message{}, e)
	}
}

//go:noinline
func (ch *Chat) settle(id string, m Message, err error) {
	if w := ch.waiters[id]; w != nil {
		delete(ch.waiters, id)
		ch.later = append(ch.later, note{done: w, m: m, err: err})
	}
}

func (ch *Chat) settleAll(err error) {
	for id := range ch.waiters {
		ch.settle(id, Message{}, err)
	}
}
