// Package smtprelay sends cStar's email through an SMTP relay (--smtp-url),
// with TLS required except on loopback; it is the edge of package mail.
package smtprelay
