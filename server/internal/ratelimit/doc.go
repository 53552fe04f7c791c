// Package ratelimit decides, with the generic cell rate algorithm (GCRA), whether a request under a key may proceed now.
package ratelimit
