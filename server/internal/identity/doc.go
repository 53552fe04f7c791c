// Package identity signs customers up and in with a password and keeps them
// signed in with opaque, hashed, scoped sessions.
package identity
