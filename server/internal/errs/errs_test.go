package errs_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/protocol"
)

// TestUnavailableOutranks: the store's ErrUnavailable anywhere in a chain
// makes the answer unavailable with a Retry-After, whatever else the chain
// holds; without it the codes are as before.
func TestUnavailableOutranks(t *testing.T) {
	down := fmt.Errorf("store: list tickets: %w: dial tcp: connection refused", errs.ErrUnavailable)
	for _, c := range []struct {
		name string
		err  error
		want errs.Code
	}{
		{"the store's error", down, errs.Unavailable},
		{"wrapped by a feature", fmt.Errorf("helpdesk: list: %w", down), errs.Unavailable},
		{"inside another code", &errs.Error{Code: errs.NotFound, Message: "x", Err: down}, errs.Unavailable},
		{"not found", fmt.Errorf("x: %w", errs.ErrNotFound), errs.NotFound},
		{"an error", errs.Invalidf("f", "bad"), errs.Invalid},
		{"anything else", errors.New("boom"), errs.Internal},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := errs.CodeOf(c.err); got != c.want {
				t.Errorf("CodeOf: got %s, want %s", got, c.want)
			}
			p := errs.Public(c.err)
			if p.Code != c.want {
				t.Errorf("Public code: got %s, want %s", p.Code, c.want)
			}
			if c.want == errs.Unavailable && (p.RetryAfter != errs.RetryDatabase || p.Message != protocol.MsgUnavailable) {
				t.Errorf("Public: got %q with Retry-After %v, want %q with %v", p.Message, p.RetryAfter, protocol.MsgUnavailable, errs.RetryDatabase)
			}
		})
	}
}
