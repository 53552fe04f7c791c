// Package password hashes and verifies customer passwords with argon2id at
// the OWASP parameters, bounding how many hashes run at once.
package password
