// Package wire renders the features' values in the shapes clients see, once, for the HTTP API, the sockets and (later) webhooks alike.
package wire
