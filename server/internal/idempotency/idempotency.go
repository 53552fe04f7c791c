package idempotency

import (
	"context"
	"time"

	"github.com/cstar-chat/cstar/server/internal/scope"
)

// TTL is how long a key is remembered.
const TTL = 24 * time.Hour

// Abandoned is how long a request may stay in progress before its key is
// taken to belong to a crashed process and may be reused.
const Abandoned = time.Minute

// MaxKeyLen bounds an Idempotency-Key header.
const MaxKeyLen = 255

// Record is the stored outcome of the first request with a key. Status 0
// means that request is still running.
type Record struct {
	RequestHash []byte
	Status      int
	Body        []byte
}

// Store persists records.
type Store interface {
	// Reserve claims key for a request with the given hash. When the key is
	// already taken (and younger than TTL) it returns the existing record and
	// false; otherwise it stores an in-progress record and returns true.
	Reserve(ctx context.Context, s scope.Scope, key string, hash []byte, now time.Time) (Record, bool, error)
	// Complete stores the response of the request that reserved key.
	Complete(ctx context.Context, s scope.Scope, key string, status int, body []byte) error
	// Release forgets key, so that a retry runs again (after a server error).
	Release(ctx context.Context, s scope.Scope, key string) error
}
