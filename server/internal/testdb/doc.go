// Package testdb gives tests fresh, empty cStar databases on SQLite and on
// PostgreSQL, so that every suite runs on both.
package testdb
