package sdk

import "github.com/cstar-chat/cstar/server/protocol"

// post sends the other tabs a message of kind with data d.
func (ch *Chat) post(kind string, d map[string]any) {
	if ch.env.Tabs != nil {
		ch.env.Tabs.Post(kv("k", kind, "d", d))
	}
}

// recv handles a post of another tab.
func (ch *Chat) recv(msg map[string]any) {
	ch.lock()
	defer ch.unlock()
	{
		d := obj(msg, "d")
		follow := !ch.leader && ch.wanted
		switch str(msg, "k") {
		case "frame":
			if follow {
				ch.handle(d, false)
			}
		case "state":
			if follow {
				ch.setState(str(d, "state"))
			}
		case "lead":
			// A tab took over: what this one sent may never have reached
			// the one before.
			if follow {
				for _, it := range ch.mineList() {
					ch.post("out", sendFrame(it.(map[string]any)))
				}
			}
		case "snap":
			if !follow {
				return
			}
			ms, _ := d["messages"].([]any)
			for _, v := range ms {
				m, _ := v.(map[string]any)
				ch.add(messageFrom(m), true)
			}
			ts, _ := d["tickets"].([]any)
			for _, v := range ts {
				ch.updateTicket(v, false)
			}
			ch.current = str(d, "current")
			ch.setState(str(d, "state"))
		case "hello":
			if ch.leader {
				ch.snapshot()
			}
		case "poke":
			if ch.leader && ch.wanted && ch.sock == nil {
				ch.dial()
			}
		case "out":
			// A follower's frame: the leader sends it; every tab applies
			// the customer's read position at once.
			switch str(d, "type") {
			case protocol.FrameRead:
				if t := ch.ticket(str(d, "ticket_id")); t != nil {
					t.readSeq = max(t.readSeq, num(d, "seq"))
				}
			case protocol.FrameSend:
				if ch.leader && ch.wanted {
					ch.editOutbox(ch.outItem(d["client_id"], d["body"], d["articles"]), "", false)
				}
			}
			if ch.leader && !(ch.held && str(d, "type") == protocol.FrameSend) {
				ch.sendNow(d)
			}
		}
	}
}

// snapshot tells the other tabs everything this leader holds.
func (ch *Chat) snapshot() {
	var ms, ts []any
	for _, t := range ch.tickets {
		if t.raw != nil {
			ts = append(ts, t.raw)
		}
		for _, m := range t.msgs {
			ms = append(ms, m.raw)
		}
	}
	ch.post("snap", kv("state", ch.state, "current", ch.current, "tickets", ts, "messages", ms))
}
