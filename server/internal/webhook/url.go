package webhook

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/text"
)

// CheckURL validates an endpoint URL and returns it as stored: https (http
// too with AllowInsecure), a host, no user info or fragment. An address
// written in the URL is checked here too, but the check that counts is
// Blocked at dial time, on the address the name resolves to then.
func (p Policy) CheckURL(raw string) (string, error) {
	if err := text.Line("url", raw); err != nil {
		return "", err
	}
	if raw == "" || len(raw) > MaxURL {
		return "", errs.Invalidf("url", "url must be an https URL of at most %d characters", MaxURL)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return "", errs.Invalidf("url", "url must be an absolute https URL")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && p.AllowInsecure:
	case u.Scheme == "http":
		return "", errs.Invalidf("url", "url must use https (this server does not allow http endpoints)")
	default:
		return "", errs.Invalidf("url", "url must be an https URL")
	}
	if u.User != nil {
		return "", errs.Invalidf("url", "url must not hold a user name or password")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "", errs.Invalidf("url", "url must not have a fragment")
	}
	host := strings.ToLower(u.Hostname())
	if !p.AllowPrivate {
		if host == "localhost" || strings.HasSuffix(host, ".localhost") {
			return "", errs.Invalidf("url", "url must not point at this server's own network")
		}
		if a, err := netip.ParseAddr(host); err == nil && Blocked(a) {
			return "", errs.Invalidf("url", "url must not point at a private, loopback, link-local or metadata address")
		}
	}
	return u.String(), nil
}

// blockedPrefixes are ranges that no endpoint may reach unless the operator
// allows private addresses, beyond what netip classifies: "this network",
// carrier-grade NAT (shared address space), IETF protocol assignments,
// benchmarking, reserved, and the metadata services of cloud providers
// that sit outside link-local.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("100.100.100.200/32"), // Alibaba Cloud metadata
	netip.MustParsePrefix("fec0::/10"),          // deprecated site-local
	netip.MustParsePrefix("2001:db8::/32"),      // documentation
	netip.MustParsePrefix("100::/64"),           // discard
}

// Blocked reports whether a delivery must not connect to a: loopback,
// private (RFC 1918), link-local (which holds 169.254.169.254, the usual
// metadata address), unique-local (fc00::/7, which holds AWS's fd00:ec2::254),
// multicast, unspecified, and the ranges above. IPv4 inside IPv6 (mapped,
// NAT64 64:ff9b::/96, 6to4 2002::/16) is judged by the IPv4 address.
func Blocked(a netip.Addr) bool {
	a = a.Unmap()
	if a.Is6() {
		b := a.As16()
		switch {
		case netip.MustParsePrefix("64:ff9b::/96").Contains(a):
			return Blocked(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case netip.MustParsePrefix("2002::/16").Contains(a):
			return Blocked(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return true
	}
	if a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return true
	}
	for _, p := range blockedPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// AuditDetail is an endpoint's state as the audit log keeps it.
func AuditDetail(e Endpoint) string {
	return fmt.Sprintf("enabled=%t events=%s", e.Enabled, strings.Join(e.Events, " "))
}

// AuditTarget is an endpoint's URL as the audit log keeps it: without its
// query, where receivers often put a token of their own, which the log
// would otherwise keep after the endpoint is gone.
func AuditTarget(url string) string {
	u, _, _ := strings.Cut(url, "?")
	return u
}
