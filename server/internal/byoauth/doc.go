// Package byoauth verifies the identity proofs that a site which logs its own
// users in sends for them ("bring your own auth"): HS256 identity tokens and
// Intercom-style user hashes, both keyed with the team's identity secret.
package byoauth
