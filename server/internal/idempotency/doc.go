// Package idempotency defines the replay records behind the Idempotency-Key
// header: a retried POST gets the first response instead of a second effect.
package idempotency
