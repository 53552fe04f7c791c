// Package page implements cursor pagination: limits, opaque cursors and pages.
package page
