// Package scope names the tenant boundary of every query: one team in one mode.
package scope
