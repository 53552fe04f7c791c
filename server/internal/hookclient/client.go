package hookclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/cstar-chat/cstar/server/internal/webhook"
)

// errBlocked is the dial error for a refused address.
var errBlocked = errors.New("address not allowed for webhooks")

// Client posts deliveries; it implements webhook.Poster.
type Client struct {
	http *http.Client
}

// New returns a client. allowPrivate lets it reach what webhook.Blocked
// refuses (--webhooks-allow-private: tests, and make run on a laptop).
func New(allowPrivate bool) *Client {
	d := &net.Dialer{
		Timeout:   5 * time.Second,
		KeepAlive: 30 * time.Second,
		// Control runs after name resolution, on the very address about to
		// be connected to: a name that resolved to a public address when
		// the endpoint was saved and to 127.0.0.1 now is refused here.
		Control: func(network, address string, _ syscall.RawConn) error {
			if allowPrivate {
				return nil
			}
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return errBlocked
			}
			a, err := netip.ParseAddr(host)
			if err != nil || webhook.Blocked(a) {
				return fmt.Errorf("%w: %s", errBlocked, host)
			}
			return nil
		},
	}
	tr := &http.Transport{
		// An operator's HTTP_PROXY would move the connection, and the
		// address check, to the proxy.
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &Client{http: &http.Client{
		Transport: tr,
		// A redirect is an answer outside 2xx, hence a failure; following
		// it would send the event somewhere nobody configured.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Post implements webhook.Poster. The caller's context bounds the whole
// exchange (10 s in production).
func (c *Client) Post(ctx context.Context, url string, header map[string]string, body []byte) webhook.Response {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return webhook.Response{Err: err, Outcome: webhook.OutcomeNetwork}
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return webhook.Response{Err: err, Outcome: classify(ctx, err)}
	}
	defer res.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(res.Body, webhook.MaxResponse))
	// Read a little more so that the connection can be reused; a long body
	// is cut off with the connection.
	io.CopyN(io.Discard, res.Body, 64<<10)
	return webhook.Response{Status: res.StatusCode, Body: head}
}

func classify(ctx context.Context, err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, errBlocked):
		return webhook.OutcomeRefused
	case errors.Is(err, context.DeadlineExceeded), ctx.Err() != nil, errors.As(err, &ne) && ne.Timeout():
		return webhook.OutcomeTimeout
	}
	return webhook.OutcomeNetwork
}

var _ webhook.Poster = (*Client)(nil)
