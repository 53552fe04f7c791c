package password

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alexedwards/argon2id"
	"golang.org/x/crypto/bcrypt"

	"github.com/cstar-chat/cstar/server/internal/errs"
)

// OWASP are the parameters of OWASP's password storage cheat sheet for
// argon2id: 19 MiB of memory, two passes, one lane. Never the library's
// DefaultParams, which are weaker in time and stronger in memory than we
// want per login.
var OWASP = argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// ErrBusy is returned when every hashing slot stayed taken for the whole
// wait: the caller answers 503 with Retry-After.
var ErrBusy = &errs.Error{Code: errs.Unavailable, Message: "Too many sign-ins at once, please retry", RetryAfter: time.Second}

// Hasher hashes and verifies passwords. At most a fixed number of hashes
// run at once, so that a flood of logins cannot exhaust memory (each takes
// 19 MiB); the rest wait a short while and then get ErrBusy.
type Hasher struct {
	params argon2id.Params
	slots  chan struct{}
	wait   time.Duration
	dummy  string
}

// New returns a Hasher running at most concurrency hashes at once, each
// waiting at most wait for a slot.
func New(params argon2id.Params, concurrency int, wait time.Duration) (*Hasher, error) {
	if concurrency < 1 {
		return nil, fmt.Errorf("password: concurrency must be at least 1")
	}
	dummy, err := argon2id.CreateHash("cstar dummy password for unknown accounts", &params)
	if err != nil {
		return nil, fmt.Errorf("password: dummy hash: %w", err)
	}
	return &Hasher{params: params, slots: make(chan struct{}, concurrency), wait: wait, dummy: dummy}, nil
}

func (h *Hasher) acquire(ctx context.Context) (func(), error) {
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return func() { <-h.slots }, nil
	case <-t.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Hash returns the encoded argon2id hash of pw.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	enc, err := argon2id.CreateHash(pw, &h.params)
	if err != nil {
		return "", fmt.Errorf("password: hash: %w", err)
	}
	return enc, nil
}

// Verify reports whether pw matches encoded, and whether encoded should be
// replaced by a new Hash of pw: it was made with other parameters than the
// current ones, or with bcrypt (imported from another system).
func (h *Hasher) Verify(ctx context.Context, pw, encoded string) (match, rehash bool, err error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer release()
	if Scheme(encoded) == SchemeBcrypt {
		err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(pw))
		switch {
		case err == nil:
			return true, true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword), errors.Is(err, bcrypt.ErrPasswordTooLong):
			return false, false, nil
		}
		return false, false, fmt.Errorf("password: verify bcrypt: %w", err)
	}
	match, p, err := argon2id.CheckHash(pw, encoded)
	if err != nil {
		return false, false, fmt.Errorf("password: verify: %w", err)
	}
	return match, match && differs(*p, h.params), nil
}

// VerifyUnknown spends the time of one verification on nothing, so that a
// login for an unknown email takes as long as a wrong password.
func (h *Hasher) VerifyUnknown(ctx context.Context, pw string) error {
	_, _, err := h.Verify(ctx, pw, h.dummy)
	return err
}

// differs reports whether a hash made with got should be made again with
// want: an imported hash at other parameters, or ours after a change of
// parameters, either way.
func differs(got, want argon2id.Params) bool {
	return got.Memory != want.Memory || got.Iterations != want.Iterations || got.Parallelism != want.Parallelism ||
		got.KeyLength != want.KeyLength || got.SaltLength != want.SaltLength
}
