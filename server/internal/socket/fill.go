package socket

import (
	"context"
	"errors"
	"fmt"
)

// errLoad marks a gap that could not be read from the database, as opposed
// to a frame that could not be written to a broken socket.
var errLoad = errors.New("read the gap")

// fillGap sends, in order, the items after position from up to position
// upto that the client has not been sent: the messages of a ticket by seq
// (the widget) or a team's durable events by position (the agents' stream).
// load reads up to limit items after a position; it returns the position
// reached, which falls short of upto only when the database holds less.
// An error from load wraps errLoad; one from send is returned as it is.
func fillGap[T any](ctx context.Context, from, upto int64, load func(ctx context.Context, after int64, limit int) ([]T, error),
	posOf func(T) int64, send func(T) error) (int64, error) {
	for from < upto {
		items, err := load(ctx, from, int(min(upto-from, maxFillPage)))
		if err != nil {
			return from, fmt.Errorf("%w: %w", errLoad, err)
		}
		if len(items) == 0 {
			return from, nil
		}
		for _, it := range items {
			if err := send(it); err != nil {
				return from, err
			}
			from = posOf(it)
		}
	}
	return from, nil
}
