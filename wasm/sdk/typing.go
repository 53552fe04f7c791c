package sdk

import "github.com/cstar-chat/cstar/server/protocol"

// typingEveryMs is how often the customer's typing: true is repeated at most.
const typingEveryMs = 3000

type typingTimer struct {
	gen   int
	stop  func()
	frame map[string]any
}

// typingFrame emits typing events, and typing: false itself when the
// indicator is not repeated within its ttl.
func (ch *Chat) typingFrame(f map[string]any) {
	a := obj(f, "author")
	key := str(f, "ticket_id") + "\x00" + str(a, "type") + "\x00" + str(a, "id") + "\x00" + str(a, "name")
	on, _ := f["typing"].(bool)
	old, had := ch.typing[key]
	if had {
		old.stop()
		delete(ch.typing, key)
	}
	if !on && !had {
		return
	}
	if on {
		ttl := num(f, "ttl_ms")
		if ttl <= 0 {
			ttl = protocol.TypingTTLMillis
		}
		ch.typingGen++
		gen := ch.typingGen
		ch.typing[key] = typingTimer{gen: gen, stop: ch.timer(ttl, timerTyping, key, gen), frame: f}
	}
	ch.emitLater("typing", event(f))
}

// SetTyping tells the agents whether the customer is typing: true at most
// every 3 seconds while it lasts, false once.
func (ch *Chat) SetTyping(on bool) {
	ch.lock()
	if now := ch.env.Clock.Now(); on != ch.typingOn || on && now-ch.typingAt >= typingEveryMs {
		ch.typingOn, ch.typingAt = on, now
		ch.out(kv("type", protocol.FrameTyping, "typing", on))
	}
	ch.unlock()
}
