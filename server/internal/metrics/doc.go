// Package metrics counts HTTP traffic and writes it in the Prometheus text
// exposition format; a few series do not justify the client library's weight.
package metrics
