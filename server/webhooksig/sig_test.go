package webhooksig_test

import (
	"errors"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/webhooksig"
)

func TestVerify(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"ping"}`)
	at := time.Unix(1795840186, 0)
	const secret, old = "whsec_new", "whsec_old"
	both := webhooksig.Header(at, body, secret, old)
	cases := []struct {
		name   string
		header string
		body   []byte
		secret string
		now    time.Time
		want   error
	}{
		{"current secret", both, body, secret, at, nil},
		{"rolled secret in its grace", both, body, old, at, nil},
		{"4 minutes late", both, body, secret, at.Add(4 * time.Minute), nil},
		{"6 minutes late", both, body, secret, at.Add(6 * time.Minute), webhooksig.ErrTimestamp},
		{"6 minutes early", both, body, secret, at.Add(-6 * time.Minute), webhooksig.ErrTimestamp},
		{"other secret", both, body, "whsec_other", at, webhooksig.ErrMismatch},
		{"body changed", both, []byte(`{"id":"evt_1","type":"ping" }`), secret, at, webhooksig.ErrMismatch},
		{"timestamp changed", "t=1795840187" + both[len("t=1795840186"):], body, secret, at, webhooksig.ErrMismatch},
		{"no v1", "t=1795840186", body, secret, at, webhooksig.ErrMalformed},
		{"no t", "v1=00", body, secret, at, webhooksig.ErrMalformed},
		{"garbage", "hello", body, secret, at, webhooksig.ErrMalformed},
		{"unknown scheme ignored", both + ",v0=abc", body, secret, at, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := webhooksig.Verify(c.header, c.body, c.secret, 0, c.now); !errors.Is(err, c.want) {
				t.Errorf("Verify: got %v, want %v", err, c.want)
			}
		})
	}
}
