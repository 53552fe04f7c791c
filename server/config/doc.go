// Package config holds the server's one Config: defaults, then CSTAR_*
// environment variables, then command-line flags.
package config
