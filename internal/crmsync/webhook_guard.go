package crmsync

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// ErrForbiddenAddress is wrapped by the error of a destination that
// resolves to an internal address while the operator does not allow them
// (the SSRF guard).
var ErrForbiddenAddress = errors.New("internal address refused")

// internalRanges are the networks a webhook may not reach unless the
// operator allows private destinations: what an attacker would aim at
// through avis (cloud metadata at 169.254.169.254, services on the host or
// its private network).
var internalRanges = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",          // "this network", unspecified
		"10.0.0.0/8",         // private (RFC 1918)
		"100.64.0.0/10",      // carrier-grade NAT (RFC 6598)
		"127.0.0.0/8",        // loopback
		"169.254.0.0/16",     // link-local, cloud metadata
		"172.16.0.0/12",      // private (RFC 1918)
		"192.0.0.0/24",       // IETF protocol assignments
		"192.168.0.0/16",     // private (RFC 1918)
		"198.18.0.0/15",      // benchmarking
		"224.0.0.0/4",        // multicast
		"240.0.0.0/4",        // reserved, broadcast
		"::/128",             // unspecified
		"::1/128",            // loopback
		"64:ff9b::/96",       // NAT64 (may embed any IPv4 address)
		"64:ff9b:1::/48",     // local NAT64
		"fc00::/7",           // unique local
		"fe80::/10",          // link-local
		"ff00::/8",           // multicast
		"2001:db8::/32",      // documentation
		"100::/64",           // discard
		"2002::/16",          // 6to4 (embeds IPv4)
		"2001::/32",          // Teredo
		"::ffff:0:0/96",      // IPv4-mapped (checked unmapped too)
		"::ffff:0:0:0/96",    // IPv4-translated
		"fec0::/10",          // site-local (deprecated)
		"192.88.99.0/24",     // 6to4 relay anycast
		"198.51.100.0/24",    // documentation
		"203.0.113.0/24",     // documentation
		"192.0.2.0/24",       // documentation
		"255.255.255.255/32", // broadcast
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// internalAddress says why ip is refused, or "" when it is a public address.
func internalAddress(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsMulticast():
		return "a multicast address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address"
	case ip.IsPrivate():
		return "a private network address"
	case ip.IsUnspecified():
		return "an unspecified address"
	}
	for _, p := range internalRanges {
		if p.Contains(ip) {
			return "an internal or reserved address"
		}
	}
	return ""
}

// checkIP refuses an internal address unless allowed.
func checkIP(ip netip.Addr, allowPrivate bool) error {
	if allowPrivate {
		return nil
	}
	if why := internalAddress(ip); why != "" {
		return &forbiddenError{ip: ip.Unmap().String(), why: why}
	}
	return nil
}

// forbiddenError is a connection refused by the SSRF guard.
type forbiddenError struct{ ip, why string }

func (e *forbiddenError) Error() string {
	return fmt.Sprintf("%s: %s is %s; avis sends webhooks to public addresses only unless the operator allows private ones (AVIS_WEBHOOK_ALLOW_PRIVATE)", ErrForbiddenAddress, e.ip, e.why)
}

// Unwrap makes errors.Is(err, ErrForbiddenAddress) true.
func (e *forbiddenError) Unwrap() error { return ErrForbiddenAddress }

// parseEndpointURL checks the shape of an endpoint URL: absolute, https
// (or http when allowed), a host, no user information, no fragment.
func parseEndpointURL(raw string, allowHTTP bool) (*url.URL, error) {
	bad := func(msg string, args ...any) (*url.URL, error) { return nil, fieldErr("url", msg, args...) }
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return bad(msgURLMissing)
	case len(raw) > MaxURLLength:
		return bad(msgURLLong, MaxURLLength)
	case !utf8.ValidString(raw) || strings.ContainsAny(raw, " \t\r\n\x00"):
		return bad(msgURLSpaces)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return bad(msgURLInvalid)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !allowHTTP {
			return bad(msgURLHTTP)
		}
	default:
		return bad(msgURLScheme)
	}
	if u.User != nil {
		return bad(msgURLUser)
	}
	if u.Fragment != "" {
		return bad(msgURLFragment)
	}
	if p := u.Port(); p != "" {
		if n, err := net.LookupPort("tcp", p); err != nil || n < 1 || n > 65535 {
			return bad(msgURLPort)
		}
	}
	return u, nil
}

// resolveTimeout bounds the name look-up of a URL being saved.
const resolveTimeout = 5 * time.Second

// CheckURL checks an endpoint URL before it is saved: its shape, then
// every address its host resolves to (unless private ones are allowed).
// Each connection is checked again (against DNS rebinding). The error is
// a *FieldError of the field "url".
func (w *Webhooks) CheckURL(ctx context.Context, raw string) (string, error) {
	u, err := parseEndpointURL(raw, w.o.AllowHTTP)
	if err != nil {
		return "", err
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := checkIP(ip, w.o.AllowPrivate); err != nil {
			return "", &FieldError{Field: "url", Message: msgURLInternal, Args: []any{ip.Unmap().String()}}
		}
		return u.String(), nil
	}
	if w.o.AllowPrivate {
		return u.String(), nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return "", fieldErr("url", msgURLResolve, host)
	}
	for _, ip := range addrs {
		if err := checkIP(ip, false); err != nil {
			return "", fieldErr("url", msgURLInternal, host+" ("+ip.Unmap().String()+")")
		}
	}
	return u.String(), nil
}

// newClient is the HTTP client of deliveries: it checks the address of
// every connection it opens, follows no redirect, verifies TLS
// certificates, ignores proxy settings and gives up after o.Timeout.
func newClient(o WebhookOptions) *http.Client {
	allow := o.AllowPrivate
	dialer := &net.Dialer{
		Timeout: o.Timeout,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return &forbiddenError{ip: address, why: "an address avis cannot read"}
			}
			return checkIP(ap.Addr(), allow)
		},
	}
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   o.Timeout,
		ResponseHeaderTimeout: o.Timeout,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: t,
		Timeout:   o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
