package password

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/cstar-chat/cstar/server/internal/errs"
)

func newHasher(t *testing.T, p argon2id.Params, n int, wait time.Duration) *Hasher {
	t.Helper()
	h, err := New(p, n, wait)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHashVerifyOWASP(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, OWASP, 2, time.Second)
	enc, err := h.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if want := "$argon2id$v=19$m=19456,t=2,p=1$"; !strings.HasPrefix(enc, want) {
		t.Fatalf("hash %q, want prefix %q", enc, want)
	}
	if ok, rehash, err := h.Verify(ctx, "correct horse battery", enc); !ok || rehash || err != nil {
		t.Fatalf("right password: got match=%v rehash=%v err=%v, want true false nil", ok, rehash, err)
	}
	if ok, _, err := h.Verify(ctx, "wrong horse battery", enc); ok || err != nil {
		t.Fatalf("wrong password: got match=%v err=%v, want false nil", ok, err)
	}
	if err := h.VerifyUnknown(ctx, "anything"); err != nil {
		t.Fatalf("VerifyUnknown: %v", err)
	}
}

func TestRehashWhenWeaker(t *testing.T) {
	ctx := context.Background()
	weak := OWASP
	weak.Memory, weak.Iterations = 8*1024, 1
	enc, err := newHasher(t, weak, 1, time.Second).Hash(ctx, "pw-1234567890")
	if err != nil {
		t.Fatal(err)
	}
	ok, rehash, err := newHasher(t, OWASP, 1, time.Second).Verify(ctx, "pw-1234567890", enc)
	if !ok || !rehash || err != nil {
		t.Fatalf("got match=%v rehash=%v err=%v, want true true nil", ok, rehash, err)
	}
}

// TestBoundedConcurrency holds the only slot and checks that a second hash
// waits, then fails with ErrBusy (503 + Retry-After) instead of running.
func TestBoundedConcurrency(t *testing.T) {
	h := newHasher(t, OWASP, 1, 50*time.Millisecond)
	release, err := h.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.Hash(context.Background(), "pw-1234567890")
	if err != ErrBusy || errs.CodeOf(err) != errs.Unavailable {
		t.Fatalf("got %v, want ErrBusy (unavailable)", err)
	}
	release()
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.Hash(context.Background(), "pw-1234567890"); err != nil && err != ErrBusy {
				t.Errorf("hash: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := len(h.slots); n != 0 {
		t.Fatalf("%d slots still taken after all hashes returned, want 0", n)
	}
}

func BenchmarkVerifyOWASP(b *testing.B) {
	h, _ := New(OWASP, 2, time.Second)
	enc, _ := h.Hash(context.Background(), "correct horse battery")
	for b.Loop() {
		h.Verify(context.Background(), "correct horse battery", enc)
	}
}
