package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// stalled is a database that answers nothing until the caller gives up.
type stalled struct{}

func (stalled) Ping(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }

// TestReadyzStalledDatabase: with the database stalled, /readyz answers
// 503 within its bound instead of hanging (found by make chaos).
func TestReadyzStalledDatabase(t *testing.T) {
	s := New(Deps{DB: stalled{}})
	start := time.Now()
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != http.StatusServiceUnavailable || time.Since(start) > readyzTimeout+time.Second {
		t.Fatalf("readyz with a stalled database: got %d after %v, want 503 within %v", w.Code, time.Since(start), readyzTimeout)
	}
}
