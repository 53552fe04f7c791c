package realtime

import (
	"context"
	"sync"
	"time"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/protocol"
)

// Listener delivers the notices of every process sharing the database
// (store.DB.Listen): listening is called each time the LISTEN is in place,
// first and again after a lost connection came back; lost says why it went.
type Listener interface {
	Listen(ctx context.Context, listening func(), lost func(error), fn func(payload string)) error
}

// Listen feeds the bus from l until stop is called, and returns once the
// first LISTEN is in place (or after readyWait, logged), so that a server
// serves only once it hears the other processes. When the listening
// connection was lost, events may have been missed in between: every socket
// of this process is closed with a reconnect code, and the clients' resume
// fills the gap.
func (b *Bus) Listen(l Listener, readyWait time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	// The listener hands notices over; the bus reads their events in
	// batches. A full queue holds the listener back (pgx buffers meanwhile)
	// rather than dropping anything.
	in := make(chan string, 4096)
	var wg sync.WaitGroup
	wg.Add(2)
	ready := make(chan struct{})
	go func() {
		defer wg.Done()
		first := true
		l.Listen(ctx, func() {
			if first {
				close(ready)
			} else {
				b.hub.CloseAll(protocol.CloseRestart, "events may have been missed")
			}
			first = false
		}, func(err error) {
			// An outage is the store's to log, once.
			if !errs.Is(err, errs.Unavailable) {
				b.log.Error("listen for events", "err", err)
			}
		}, func(payload string) {
			select {
			case in <- payload:
			case <-ctx.Done():
			}
		})
	}()
	go func() {
		defer wg.Done()
		b.Run(ctx, in)
	}()
	select {
	case <-ready:
	case <-time.After(readyWait):
		b.log.Error("listen for events: not listening yet; continuing")
	}
	return func() {
		cancel()
		wg.Wait()
	}
}
