package httpapi

import (
	"bufio"
	"net"
	"net/http"
)

// Hijack lets the websocket handlers take over the connection through the
// logging and routing wrappers.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return c, rw, err
}

// Hijack implements http.Hijacker.
func (e *envelopeMux) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(e.ResponseWriter).Hijack()
}

// Unwrap exposes the wrapped writer to http.ResponseController.
func (e *envelopeMux) Unwrap() http.ResponseWriter { return e.ResponseWriter }
