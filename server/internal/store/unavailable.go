package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cstar-chat/cstar/server/internal/errs"
)

// transient reports whether err is a database failure that passes by
// itself, so that the same request may simply be retried: the database is
// down, shutting down, starting or recovering, read-only (a standby, or a
// primary being demoted), out of connections; a connection was refused,
// broke or did not come in time; SQLite stayed busy past its timeout; or a
// serialization failure or deadlock outlived tx's retries. Everything else
// (a bad statement, a missing table, a constraint, a wrong password in the
// URL) is a programming or configuration error and stays internal.
//
// It is the one place that tells the two apart, by SQLSTATE, SQLite result
// code and error type, never by message text.
func transient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, errs.ErrUnavailable) {
		return true
	}
	// A PostgreSQL answer decides by its code alone: a refused password
	// inside a connect error is not an outage.
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return transientState(pgErr.Code)
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		return sqErr.Code()&0xff == sqlite3.SQLITE_BUSY
	}
	var netErr net.Error
	var connErr *pgconn.ConnectError
	switch {
	case errors.As(err, &connErr), errors.As(err, &netErr):
		// No connection could be made, or the one in use failed: refused,
		// reset, timed out, or the host could not be found.
		return true
	case pgconn.Timeout(err), pgconn.SafeToRetry(err):
		return true
	case errors.Is(err, context.DeadlineExceeded):
		// The database did not answer within the time the caller allows
		// (waiting for a connection from the full pool included).
		return true
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	return false
}

// transientState tells which SQLSTATEs are outages rather than mistakes.
func transientState(code string) bool {
	if strings.HasPrefix(code, "08") { // connection_exception
		return true
	}
	switch code {
	case "57P01", // admin_shutdown: the server is stopping (a restart, a failover)
		"57P02", // crash_shutdown
		"57P03", // cannot_connect_now: starting up, shutting down or in recovery
		"53300", // too_many_connections
		"25006", // read_only_sql_transaction: a standby, or a demoted primary
		"40001", // serialization_failure, once tx's retries are spent
		"40P01": // deadlock_detected, likewise
		return true
	}
	return false
}

// retryable are the failures a transaction is simply run again for:
// PostgreSQL rolled it back whole, and another attempt usually passes.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// txAttempts is how many times tx runs a transaction that keeps failing
// with a serialization failure or a deadlock before it answers unavailable.
const txAttempts = 4

// tx runs f in a transaction; on SQLite, one at a time. A serialization
// failure or deadlock runs it again (up to txAttempts in all, after a short
// random pause, so that the two sides of a deadlock do not meet again),
// since f's effects were rolled back; a transient failure comes back
// wrapping errs.ErrUnavailable.
func (db *DB) tx(ctx context.Context, f func(ctx context.Context, tx bun.Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = db.tx1(ctx, f)
		if attempt == txAttempts || !retryable(err) {
			break
		}
		pause := time.Duration(1+rand.IntN(5*attempt)) * time.Millisecond
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return fmt.Errorf("store: transaction: %w", mapErr(errors.Join(err, ctx.Err())))
		}
	}
	if transient(err) {
		return mapErr(err)
	}
	return err
}

func (db *DB) tx1(ctx context.Context, f func(ctx context.Context, tx bun.Tx) error) error {
	if db.dialect == SQLite {
		db.writeMu.Lock()
		defer db.writeMu.Unlock()
	}
	return db.bun.RunInTx(ctx, nil, f)
}

// connector classifies the failures to connect to PostgreSQL where every
// one of them passes (a refused connection is the first sign of an
// outage), so that paths which return a driver error as it is still answer
// unavailable, and tells the outage watch.
type connector struct {
	driver.Connector
	db *DB
}

// Connect implements driver.Connector.
func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		err = mapErr(err)
		c.db.outage.failed(err)
		return nil, err
	}
	if pc, ok := dc.(pgConn); ok {
		return classifiedConn{pc}, nil
	}
	return dc, nil
}

// pgConn is what database/sql uses of pgx's connection.
type pgConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.NamedValueChecker
	driver.SessionResetter
}

// classifiedConn classifies the failures of a connection in use (PostgreSQL ending
// its sessions with 57P01 as it shuts down, a reset) where they happen, as
// connector does for new connections, so that no path of the store can
// return them as they are. It does not count them as an outage: a single
// session may be ended by hand, and a real outage refuses the connections
// that follow.
type classifiedConn struct{ pgConn }

// classify wraps a transient failure in errs.ErrUnavailable. driver.ErrBadConn
// stays as it is: it tells database/sql to try another connection.
func classify(err error) error {
	if err == nil || errors.Is(err, driver.ErrBadConn) {
		return err
	}
	return mapErr(err)
}

func (c classifiedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	r, err := c.pgConn.ExecContext(ctx, query, args)
	return r, classify(err)
}

func (c classifiedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	r, err := c.pgConn.QueryContext(ctx, query, args)
	return r, classify(err)
}

func (c classifiedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	t, err := c.pgConn.BeginTx(ctx, opts)
	if err != nil {
		return nil, classify(err)
	}
	return classifiedTx{t}, nil
}

func (c classifiedConn) Ping(ctx context.Context) error { return classify(c.pgConn.Ping(ctx)) }

// classifiedTx classifies a failed commit.
type classifiedTx struct{ driver.Tx }

func (t classifiedTx) Commit() error   { return classify(t.Tx.Commit()) }
func (t classifiedTx) Rollback() error { return classify(t.Tx.Rollback()) }

// outage notices when PostgreSQL stops answering and when it answers again,
// so that the log says so once per outage, with its length, instead of
// once per request; meanwhile it pings the database to see it come back.
type outage struct {
	ping  func(ctx context.Context) error
	every time.Duration

	mu      sync.Mutex
	log     *slog.Logger
	since   time.Time // when the current outage began; zero while up
	count   int64     // outages so far
	probing bool
	closed  bool
	stop    chan struct{}
	done    chan struct{}
}

func newOutage(ping func(context.Context) error) *outage {
	return &outage{ping: ping, every: 250 * time.Millisecond, log: slog.New(slog.DiscardHandler), stop: make(chan struct{})}
}

// failed records a transient failure: the first of an outage is logged,
// and a probe starts to see the database come back.
func (o *outage) failed(err error) {
	if o == nil || !transient(err) {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || !o.since.IsZero() {
		return
	}
	o.since = time.Now()
	o.count++
	o.log.Warn("database unavailable", "err", err)
	if !o.probing {
		o.probing = true
		o.done = make(chan struct{})
		go o.probe()
	}
}

// probe pings until the database answers, then logs how long it was gone.
func (o *outage) probe() {
	defer close(o.done)
	for {
		select {
		case <-o.stop:
			return
		case <-time.After(o.every):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := o.ping(ctx)
		cancel()
		if err != nil {
			continue
		}
		o.mu.Lock()
		d := time.Since(o.since)
		o.since, o.probing = time.Time{}, false
		o.log.Info("database available again", "unavailable_for", d.Round(time.Millisecond).String())
		o.mu.Unlock()
		return
	}
}

// close stops the probe.
func (o *outage) close() {
	if o == nil {
		return
	}
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	o.closed = true
	close(o.stop)
	done := o.done
	o.mu.Unlock()
	if done != nil {
		<-done
	}
}

// Health is what the store knows of its database's availability.
type Health struct {
	Up      bool
	Outages int64 // outages noticed since the store was opened
}

// Health tells whether the database is answering, as far as the store
// has seen, and how many outages it has noticed. SQLite is always up: its
// busy timeouts are answered one request at a time.
func (db *DB) Health() Health {
	o := db.outage
	if o == nil {
		return Health{Up: true}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return Health{Up: o.since.IsZero(), Outages: o.count}
}

// SetLogger sets where the store logs outages of its database (nowhere by
// default).
func (db *DB) SetLogger(l *slog.Logger) {
	if db.outage != nil && l != nil {
		db.outage.mu.Lock()
		db.outage.log = l
		db.outage.mu.Unlock()
	}
}
