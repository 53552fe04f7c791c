package store_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/apptest/pgcluster"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/storetest"
)

// syncBuffer is a log destination that goroutines share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestOutageOnPostgres: while PostgreSQL is stopped every query fails as
// unavailable (none as internal), Health says down, and the log says
// "database unavailable" once however many queries failed; once it is
// started again queries work, Health says up, and the log says once that
// it is back and after how long.
func TestOutageOnPostgres(t *testing.T) {
	pg := pgcluster.ForTest(t)
	db := storetest.Open(t, pg.URL())
	var logs syncBuffer
	db.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	ctx := context.Background()
	sc := scope.Scope{TeamID: "00000000-0000-7000-8000-000000000000", Mode: scope.Test}
	if _, err := db.HeadPos(ctx, sc); err != nil {
		t.Fatalf("before the outage: %v", err)
	}

	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		// HeadPos returns the driver's error as it is: the connector
		// classifies it. Messages goes through mapErr.
		if _, err := db.HeadPos(ctx, sc); !errs.Is(err, errs.Unavailable) {
			t.Fatalf("query %d during the outage: got %v (code %s), want unavailable", i, err, errs.CodeOf(err))
		}
		if _, err := db.Messages(ctx, sc, "00000000-0000-7000-8000-000000000001", 0, 0, 10, true); !errs.Is(err, errs.Unavailable) {
			t.Fatalf("query %d during the outage: got %v (code %s), want unavailable", i, err, errs.CodeOf(err))
		}
	}
	if h := db.Health(); h.Up || h.Outages != 1 {
		t.Errorf("health during the outage: got %+v, want down, 1 outage", h)
	}

	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !db.Health().Up && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if h := db.Health(); !h.Up || h.Outages != 1 {
		t.Errorf("health after the outage: got %+v, want up, 1 outage", h)
	}
	if _, err := db.HeadPos(ctx, sc); err != nil {
		t.Errorf("after the outage: %v", err)
	}
	out := logs.String()
	if n := strings.Count(out, `msg="database unavailable"`); n != 1 {
		t.Errorf("log lines saying the database is unavailable: got %d, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, `msg="database available again" unavailable_for=`); n != 1 {
		t.Errorf("log lines saying the database is back, with how long it was gone: got %d, want 1:\n%s", n, out)
	}
}
