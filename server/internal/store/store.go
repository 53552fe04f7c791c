package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/errs"
)

// Dialect names the database behind a DB.
type Dialect string

// The supported databases.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// DB is a connection pool to the cStar database.
type DB struct {
	bun     *bun.DB
	dialect Dialect
	// pgConfig opens the dedicated LISTEN connection (PostgreSQL only).
	pgConfig *pgx.ConnConfig
	onEvents func([]chat.Event)
	// writeMu queues SQLite's write transactions in Go: SQLite has one
	// writer, and a transaction that finds the lock taken sleeps in the
	// busy handler (1 ms, 2 ms, 5 ms… 100 ms) instead of waiting its turn,
	// which under concurrent chat traffic costs seconds at the tail.
	writeMu sync.Mutex
	// outage watches PostgreSQL's availability (nil on SQLite).
	outage *outage
}

//go:embed migrations
var migrations embed.FS

// Open connects to url: "postgres://…" (or "postgresql://…") for PostgreSQL,
// "sqlite:<path>" for SQLite, whose directory is created when missing.
func Open(ctx context.Context, url string) (*DB, error) {
	var db *DB
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		cfg, err := pgx.ParseConfig(url)
		if err != nil {
			return nil, fmt.Errorf("store: parse PostgreSQL URL: %w", err)
		}
		// bun writes the arguments into the SQL text itself, so every query
		// is a new text: pgx's default of preparing and caching each one
		// costs an extra round trip per query and fills its statement cache
		// (512 per connection) with texts never seen again.
		cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
		// A database that does not answer at all (a host gone, packets
		// dropped) fails a connection in seconds rather than after the
		// system's TCP timeout of minutes; a connect_timeout in the URL
		// still wins.
		if cfg.ConnectTimeout == 0 {
			cfg.ConnectTimeout = connectTimeout
		}
		db = &DB{dialect: Postgres, pgConfig: cfg}
		db.outage = newOutage(db.Ping)
		sqldb := sql.OpenDB(connector{Connector: stdlib.GetConnector(*cfg), db: db})
		sqldb.SetMaxOpenConns(20)
		sqldb.SetMaxIdleConns(20)
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
		db.bun = bun.NewDB(sqldb, pgdialect.New())
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(url, "sqlite:")
		if path == "" {
			return nil, errors.New("store: sqlite URL needs a path, as in sqlite:./.cstar/cstar.db")
		}
		if path != ":memory:" {
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return nil, fmt.Errorf("store: create database directory: %w", err)
			}
		}
		// WAL lets readers run beside the one writer; busy_timeout and
		// immediate transactions make a second process (cstar teams create
		// next to a running server) wait for the lock instead of failing.
		dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate&_time_format=sqlite"
		sqldb, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		if path == ":memory:" {
			sqldb.SetMaxOpenConns(1)
		}
		db = &DB{bun: bun.NewDB(sqldb, sqlitedialect.New()), dialect: SQLite}
	default:
		return nil, fmt.Errorf("store: unsupported database URL (want postgres://… or sqlite:<path>)")
	}
	if err := db.bun.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", db.dialect, err)
	}
	return db, nil
}

// connectTimeout bounds a new PostgreSQL connection unless the URL sets
// connect_timeout.
const connectTimeout = 5 * time.Second

// Dialect tells which database db talks to.
func (db *DB) Dialect() Dialect { return db.dialect }

// Close closes the pool.
func (db *DB) Close() error {
	db.outage.close()
	return db.bun.Close()
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.bun.PingContext(ctx) }

// Bun exposes the underlying handle to this package's tests.
func (db *DB) Bun() *bun.DB { return db.bun }

// Migrate applies the migrations that have not run yet, each in its own
// transaction. On PostgreSQL an advisory lock keeps two starting processes
// from migrating at once.
func (db *DB) Migrate(ctx context.Context) error { return db.MigrateTo(ctx, "") }

// MigrateTo applies the pending migrations whose names sort up to last (all
// of them when last is ""): tests use it to build a database as an older
// version left it.
func (db *DB) MigrateTo(ctx context.Context, last string) error {
	dir := "migrations/" + string(db.dialect)
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return fmt.Errorf("store: read migrations: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)

	conn, err := db.bun.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Close()
	if db.dialect == Postgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(72657265)"); err != nil {
			return fmt.Errorf("store: migrate lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(72657265)")
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name TEXT PRIMARY KEY, applied_at TIMESTAMP NOT NULL)`); err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	for _, name := range names {
		if last != "" && name > last {
			break
		}
		var n int
		if err := conn.NewRaw("SELECT count(*) FROM schema_migrations WHERE name = ?", name).Scan(ctx, &n); err != nil {
			return fmt.Errorf("store: migration %s: %w", name, err)
		}
		if n > 0 {
			continue
		}
		body, err := fs.ReadFile(migrations, dir+"/"+name)
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", name, err)
		}
		err = conn.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.NewRaw("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
				name, time.Now().UTC()).Exec(ctx)
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", name, err)
		}
	}
	return nil
}

// mapErr turns driver errors into the errs sentinels, by code, never by
// message text: a transient failure (see transient) wraps ErrUnavailable.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, errs.ErrUnavailable) {
		return err
	}
	if transient(err) {
		return fmt.Errorf("%w: %w", errs.ErrUnavailable, err)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %w", errs.ErrNotFound, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("%w: %w", errs.ErrConflict, err)
	}
	if errors.As(err, &pgErr) && pgErr.Code == "P0002" { // no_data_found, raised by our functions
		return fmt.Errorf("%w: %w", errs.ErrNotFound, err)
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", errs.ErrConflict, err)
		}
	}
	return err
}

// mustAffect turns "no row matched" into ErrNotFound.
func mustAffect(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("store: %s: %w", what, errs.ErrNotFound)
	}
	return nil
}
