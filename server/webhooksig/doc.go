// Package webhooksig lets a site's backend check that a webhook request came from cStar: it verifies the Cstar-Signature header (an HMAC-SHA256 of the timestamp and the raw body under the endpoint's signing secret) and refuses old timestamps; it uses only the standard library so it can be copied or vendored into any Go backend.
package webhooksig
