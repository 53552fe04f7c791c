package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Notify sends payload on NoticeChannel to every listening process
// (PostgreSQL only).
func (db *DB) Notify(ctx context.Context, payload string) error {
	if db.dialect != Postgres {
		return errors.New("store: notify needs PostgreSQL")
	}
	if _, err := db.bun.ExecContext(ctx, "SELECT pg_notify(?, ?)", NoticeChannel, payload); err != nil {
		return fmt.Errorf("store: notify: %w", mapErr(err))
	}
	return nil
}

// Listen calls fn with the payload of each notification on NoticeChannel
// until ctx ends, on a connection of its own. listening is called each time
// the LISTEN is in place: first, and again after a lost connection was
// re-established, when notifications may have been missed in between; lost
// is told why the connection went.
func (db *DB) Listen(ctx context.Context, listening func(), lost func(error), fn func(payload string)) error {
	if db.dialect != Postgres {
		return errors.New("store: listen needs PostgreSQL")
	}
	var wait reconnectWait
	for {
		heard := false
		err := mapErr(db.listenOnce(ctx, func() { heard = true; listening() }, fn))
		if ctx.Err() != nil {
			return nil
		}
		// The LISTEN connection is usually the first to see PostgreSQL go.
		db.outage.failed(err)
		lost(err)
		backoff := wait.next(heard)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
	}
}

// reconnectWait is how long to wait before the next LISTEN attempt:
// 100 ms, doubling per failed attempt up to 5 s, and back to 100 ms once a
// LISTEN has held (before, the wait kept growing across outages; make chaos
// found it).
type reconnectWait struct{ last time.Duration }

func (w *reconnectWait) next(heard bool) time.Duration {
	switch {
	case heard || w.last == 0:
		w.last = 100 * time.Millisecond
	case w.last < 5*time.Second:
		w.last = min(2*w.last, 5*time.Second)
	}
	return w.last
}

func (db *DB) listenOnce(ctx context.Context, listening func(), fn func(string)) error {
	conn, err := pgx.ConnectConfig(ctx, db.pgConfig)
	if err != nil {
		return fmt.Errorf("store: listen connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+NoticeChannel); err != nil {
		return fmt.Errorf("store: listen: %w", err)
	}
	listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("store: wait for notification: %w", err)
		}
		fn(n.Payload)
	}
}
