// Package app is the composition root: it builds the store, the services,
// the limiter and the HTTP handler, and runs them as one server.
package app
