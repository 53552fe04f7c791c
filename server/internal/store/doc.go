// Package store is the only place with SQL: it persists every feature's data
// through bun, on SQLite (the embedded default) or PostgreSQL.
package store
