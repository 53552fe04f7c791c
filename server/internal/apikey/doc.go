// Package apikey issues, parses, verifies, rolls and revokes the Stripe-style
// API keys (sk_live_, sk_test_, pk_live_, pk_test_) and counts their usage.
package apikey
