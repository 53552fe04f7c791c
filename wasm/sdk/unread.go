package sdk

import "github.com/cstar-chat/cstar/server/protocol"

// unreadLocked is UnreadCount with mu held.
//
//go:noinline
func (ch *Chat) unreadLocked() int {
	n := 0
	for _, t := range ch.tickets {
		for i := len(t.msgs) - 1; t.known && i >= 0 && t.msgs[i].Seq > t.readSeq; i-- {
			if t.msgs[i].AuthorType != protocol.AuthorCustomer {
				n++
			}
		}
	}
	return n
}

// UnreadCount is the number of messages held that the customer did not
// write and has not read.
func (ch *Chat) UnreadCount() int {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.unreadLocked()
}

// MarkRead marks every message held as read, locally at once, and tells
// the server the highest seq of each ticket that had unread messages (the
// current one above all). Read positions marked while disconnected are
// sent after the next resume.
func (ch *Chat) MarkRead() {
	ch.lock()
	for id, t := range ch.tickets {
		s := t.maxSeq()
		if s <= t.readSeq {
			continue
		}
		t.readSeq = s
		ch.out(kv("type", protocol.FrameRead, "ticket_id", id, "seq", float64(s)))
		if ch.leader {
			ch.post("frame", kv("type", protocol.FrameRead, "ticket_id", id, "reader", protocol.AuthorCustomer, "seq", float64(s)))
		}
	}
	ch.unlock()
}
