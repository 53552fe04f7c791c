package socket

import (
	"context"
	"sync"
	"time"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// recordEvery is how long deliveries gather before they are written: far
// below the shortest offline-email delay (1 s), and one write for every
// socket of the process meanwhile.
const recordEvery = 100 * time.Millisecond

// recorder writes what the process's widget sockets delivered, for the
// offline emails: gathered for recordEvery (the highest seq per ticket) and
// written in one transaction by a goroutine that runs while some wait, so
// that no writer waits on the database and a busy process writes ten times
// a second, not once a message. A failure is only logged: at worst an
// offline email is sent for a message the customer saw.
type recorder struct {
	mu      sync.Mutex
	pending map[recordKey]int64
	running bool
}

type recordKey struct {
	sc     scope.Scope
	ticket string
}

func (r *recorder) add(s *Server, d chat.Delivery) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil {
		r.pending = map[recordKey]int64{}
	}
	k := recordKey{d.Scope, d.TicketID}
	r.pending[k] = max(r.pending[k], d.Seq)
	if !r.running {
		r.running = true
		go r.run(s)
	}
}

func (r *recorder) run(s *Server) {
	for {
		time.Sleep(recordEvery)
		r.mu.Lock()
		batch := make([]chat.Delivery, 0, len(r.pending))
		for k, seq := range r.pending {
			batch = append(batch, chat.Delivery{Scope: k.sc, TicketID: k.ticket, Seq: seq})
		}
		r.pending = nil
		if len(batch) == 0 {
			r.running = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := s.chat.Delivered(ctx, batch); err != nil {
			s.logErr(ctx, "chat: record deliveries", err)
		}
		cancel()
	}
}
