package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// TestTransient: the failures that pass by themselves are unavailable, and
// programming and input errors are not.
func TestTransient(t *testing.T) {
	pg := func(code string) error { return fmt.Errorf("store: x: %w", &pgconn.PgError{Code: code}) }
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"admin shutdown 57P01", pg("57P01"), true},
		{"crash shutdown 57P02", pg("57P02"), true},
		{"starting up or recovering 57P03", pg("57P03"), true},
		{"connection failure 08006", pg("08006"), true},
		{"cannot connect 08001", pg("08001"), true},
		{"too many connections 53300", pg("53300"), true},
		{"read-only transaction 25006", pg("25006"), true},
		{"serialization failure 40001", pg("40001"), true},
		{"deadlock 40P01", pg("40P01"), true},
		{"unique violation 23505", pg("23505"), false},
		{"undefined table 42P01", pg("42P01"), false},
		{"syntax error 42601", pg("42601"), false},
		{"wrong password 28P01", pg("28P01"), false},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, true},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"bad connection", driver.ErrBadConn, true},
		{"connection done", sql.ErrConnDone, true},
		{"deadline", fmt.Errorf("store: x: %w", context.DeadlineExceeded), true},
		{"canceled by the client", context.Canceled, false},
		{"no rows", sql.ErrNoRows, false},
		{"a plain error", errors.New("boom"), false},
		{"already classified", fmt.Errorf("%w: x", errs.ErrUnavailable), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := transient(c.err); got != c.want {
				t.Errorf("transient(%v): got %v, want %v", c.err, got, c.want)
			}
			if got := errs.Is(mapErr(c.err), errs.Unavailable); got != c.want {
				t.Errorf("mapErr(%v) unavailable: got %v, want %v", c.err, got, c.want)
			}
		})
	}
	// The other sentinels still map as before.
	if !errs.Is(mapErr(pg("23505")), errs.Conflict) || !errs.Is(mapErr(sql.ErrNoRows), errs.NotFound) {
		t.Error("23505 and no rows: want conflict and not_found")
	}
}

// TestTransientRealFailures: the errors the drivers really return for a
// refused connection and a busy SQLite database are unavailable; a query on
// a missing table is not.
func TestTransientRealFailures(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	_, err = Open(context.Background(), "postgres://postgres@"+addr+"/postgres?sslmode=disable&connect_timeout=2")
	if err == nil || !errs.Is(err, errs.Unavailable) {
		t.Errorf("connect to a closed port: got %v, want unavailable", err)
	}

	path := filepath.Join(t.TempDir(), "busy.db")
	db, err := Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.bun.Exec("CREATE TABLE t (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	// Another process holds the write lock longer than this one waits.
	other, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	impatient, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(50)")
	if err != nil {
		t.Fatal(err)
	}
	defer impatient.Close()
	_, err = impatient.Exec("INSERT INTO t VALUES (1)")
	if !transient(err) {
		t.Errorf("write while another process holds the lock: got %v, want a transient (busy) error", err)
	}
	_, err = db.bun.Exec("SELECT * FROM no_such_table")
	if err == nil || transient(err) {
		t.Errorf("query of a missing table: got %v, want a non-transient error", err)
	}
}

// TestTxRetriesSerializationFailures: tx runs a transaction that failed
// with a serialization failure or a deadlock again, a few times, then
// answers unavailable; any other failure is returned at once.
func TestTxRetriesSerializationFailures(t *testing.T) {
	db, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "tx.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	run := func(fail int, code string) (int, error) {
		n := 0
		err := db.tx(context.Background(), func(ctx context.Context, tx bun.Tx) error {
			n++
			if n <= fail {
				return &pgconn.PgError{Code: code}
			}
			return nil
		})
		return n, err
	}
	if n, err := run(2, "40001"); err != nil || n != 3 {
		t.Errorf("two serialization failures: got %d attempts and %v, want 3 and success", n, err)
	}
	if n, err := run(1, "40P01"); err != nil || n != 2 {
		t.Errorf("one deadlock: got %d attempts and %v, want 2 and success", n, err)
	}
	if n, err := run(100, "40001"); !errs.Is(err, errs.Unavailable) || n != txAttempts {
		t.Errorf("serialization failures every time: got %d attempts and %v, want %d and unavailable", n, err, txAttempts)
	}
	if n, err := run(100, "42P01"); errs.Is(err, errs.Unavailable) || err == nil || n != 1 {
		t.Errorf("a programming error: got %d attempts and %v, want 1 and the error as it is", n, err)
	}
}

// TestTxSurvivesARealDeadlock: two transactions that lock two rows in
// opposite orders deadlock on PostgreSQL; the one PostgreSQL picks is run
// again, and both succeed.
func TestTxSurvivesARealDeadlock(t *testing.T) {
	db, err := Open(context.Background(), testdb.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.bun.ExecContext(ctx, "CREATE TABLE dl (id int PRIMARY KEY, n int); INSERT INTO dl VALUES (1, 0), (2, 0)"); err != nil {
		t.Fatal(err)
	}
	var (
		wg       sync.WaitGroup
		attempts [2]int
		errsOut  [2]error
		both     = make(chan struct{}, 2)
	)
	for i, order := range [2][2]int{{1, 2}, {2, 1}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errsOut[i] = db.tx(ctx, func(ctx context.Context, tx bun.Tx) error {
				attempts[i]++
				if _, err := tx.ExecContext(ctx, "UPDATE dl SET n = n + 1 WHERE id = ?", order[0]); err != nil {
					return err
				}
				if attempts[i] == 1 {
					// Both hold their first row before either asks for its
					// second.
					both <- struct{}{}
					for len(both) < 2 {
						time.Sleep(time.Millisecond)
					}
				}
				_, err := tx.ExecContext(ctx, "UPDATE dl SET n = n + 1 WHERE id = ?", order[1])
				return err
			})
		}()
	}
	wg.Wait()
	for i, err := range errsOut {
		if err != nil {
			t.Errorf("transaction %d: got %v, want it retried past the deadlock", i, err)
		}
	}
	if attempts[0]+attempts[1] < 3 {
		t.Errorf("attempts: got %v, want one of them run again", attempts)
	}
	var sum int
	if err := db.bun.NewRaw("SELECT sum(n) FROM dl").Scan(ctx, &sum); err != nil || sum != 4 {
		t.Errorf("sum of the counters: got %d (%v), want 4 (each transaction once)", sum, err)
	}
}
