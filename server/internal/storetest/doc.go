// Package storetest gives tests a fresh, migrated store on SQLite and on PostgreSQL, so that every store-backed suite runs on both with one line.
package storetest
