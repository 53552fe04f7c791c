package sdk

import "github.com/cstar-chat/cstar/server/protocol"

// Send queues text and calls done once the server has stored it, or
// refused it for good. The text is trimmed of ASCII white space (the JS
// bridge trims Unicode's first) and must keep 1 to 4000 characters. It
// waits in the outbox while disconnected, or while the server cannot store
// it (unavailable), across reloads, and is sent again until it is stored.
//
// articles are the ids of the Library articles the customer opened before
// writing it (or nil): they go with the message, for the agents.
func (ch *Chat) Send(text string, articles []any, done func(Message, error)) {
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
	case ch.leader:
		it := ch.outItem(id, text, articles)
		ch.editOutbox(it, "", false)
		if !ch.held {
			ch.sendNow(sendFrame(it))
		}
	default:
		// The leader keeps the outbox; this tab keeps the message until
		// it is acknowledged, for a leader that takes over meanwhile.
		it := ch.outItem(id, text, articles)
		ch.mine[id] = it
		ch.post("out", sendFrame(it))
	}
	ch.unlock()
}

// SendMessage is Send that blocks until the server stores or refuses it.
func (ch *Chat) SendMessage(text string, articles []any) (Message, error) {
	var m Message
	var err error
	done := make(chan struct{})
	ch.Send(text, articles, func(rm Message, rerr error) {
		m, err = rm, rerr
		close(done)
	})
	<-done
	return m, err
}

// outItem is an outbox entry.
func (ch *Chat) outItem(id, body, articles any) map[string]any {
	it := kv("client_id", id, "body", body, "customer", ch.customer)
	if a, _ := articles.([]any); len(a) > 0 {
		it["articles"] = a
	}
	return it
}

// sendFrame is the send frame of an outbox item.
//
//go:noinline
func sendFrame(it map[string]any) map[string]any {
	f := kv("type", protocol.FrameSend, "client_id", it["client_id"], "body", it["body"])
	if a := it["articles"]; a != nil {
		f["articles"] = a
	}
	return f
}

// editOutbox reads the outbox again, drops the entry with client id drop
// and any another customer left behind on this browser, appends add unless
// it is there, sends every entry when send is set (after a resume; only the
// first while held), saves
// the result and returns it. Only the leader calls it, so no two tabs read
// and write it at once (without Web Locks every tab is a leader, and two
// tabs' writes at once can still drop an entry).
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
	added := add != nil
	if added {
		keep = append(keep, add)
	}
	for _, e := range keep {
		if send {
			ch.sendNow(sendFrame(e.(map[string]any)))
			if ch.held {
				break
			}
		}
	}
	if len(keep) == 0 {
		ch.held = false
	}
	switch {
	case !added && len(keep) == len(list): // nothing dropped, nothing added
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

// mineList is this follower's unacknowledged sends as outbox items.
func (ch *Chat) mineList() []any {
	var l []any
	for _, it := range ch.mine {
		l = append(l, it)
	}
	return l
}

// refused handles an error frame. A send refused for its rate is sent
// again when the server says; one the server could not store for the
// moment (unavailable) stays pending, is sent again with the reconnect
// backoff (at least the server's retry_after_ms) and raises an error event
// in every tab, so that a page can say it is waiting; any other refusal is
// final.
func (ch *Chat) refused(f map[string]any, own bool) {
	id := str(f, "client_id")
	e := &Error{Message: str(f, "error"), Code: str(f, "code")}
	switch {
	case id == "":
		ch.emitLater("error", e)
	case e.Code == "rate_limited" || e.Code == "unavailable":
		if e.Code == "unavailable" {
			ch.emitLater("error", e)
		}
		if !own {
			return
		}
		ch.held = true
		delete(ch.inflight, id)
		wait := num(f, "retry_after_ms")
		if e.Code == "unavailable" {
			wait = max(wait, Backoff(ch.refusal, ch.env.Random()))
			ch.refusal++
		}
		if wait <= 0 {
			wait = 1000
		}
		ch.timer(wait, timerResend, "", ch.gen)
	default:
		if own {
			ch.editOutbox(nil, id, false)
		}
		delete(ch.mine, id)
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
	ch.mine = map[string]any{}
}
