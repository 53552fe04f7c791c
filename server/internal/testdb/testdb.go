package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// EnvURL names a PostgreSQL server the tests may create databases on.
const EnvURL = "CSTAR_TEST_DATABASE_URL"

// EnvRequire, when set to 1 (make test sets it), turns a missing PostgreSQL
// into a failure instead of a skip.
const EnvRequire = "CSTAR_REQUIRE_POSTGRES"

// Dialects lists the databases that Each runs on.
var Dialects = []string{"sqlite", "postgres"}

// Each runs f as a subtest on a fresh SQLite database and on a fresh
// PostgreSQL database, passing the database URL.
func Each(t *testing.T, f func(t *testing.T, dbURL string)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) { f(t, URL(t, d)) })
	}
}

// URL returns a fresh, empty database of the given dialect ("sqlite" or
// "postgres") that lives as long as the test.
func URL(t testing.TB, dialect string) string {
	t.Helper()
	if dialect == "sqlite" {
		return SQLite(t)
	}
	return Postgres(t)
}

// SQLite returns the URL of a new SQLite file in the test's temp dir.
func SQLite(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "cstar.db")
}

// Postgres creates a new database on the server named by
// CSTAR_TEST_DATABASE_URL and drops it when the test ends. Without that
// variable the test is skipped, or fails when CSTAR_REQUIRE_POSTGRES=1.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvURL)
	if admin == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%s is not set but %s=1: run the tests with `make test`", EnvURL, EnvRequire)
		}
		t.Skipf("%s not set: skipping the PostgreSQL run (make test starts a cluster)", EnvURL)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvURL, err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "cstar_test_" + hex.EncodeToString(b[:])

	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("open admin connection: %v", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer db.Close()
		db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u.Path = "/" + name
	return u.String()
}
