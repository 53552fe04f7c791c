// Package mail is cStar's email: the durable outbox and its worker, the
// rules that turn events into mail, single-use link tokens kept as hashes,
// and the templates (plain text and HTML, in English, German and Spanish).
package mail
