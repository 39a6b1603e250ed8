package email

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// TLSMode says how the connection to the relay is protected.
type TLSMode string

// The TLS modes of a relay.
const (
	// TLSStartTLS connects in clear and upgrades with STARTTLS before
	// anything else; a relay that does not offer STARTTLS is refused.
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte (SMTPS, port 465).
	TLSImplicit TLSMode = "implicit"
	// TLSNone never encrypts: for a relay on the same machine or network.
	TLSNone TLSMode = "none"
)

// Defaults and bounds of a relay's settings.
const (
	// DefaultPool is the number of connections kept to a relay when the URL
	// does not say.
	DefaultPool = 4
	// MaxPool is the largest pool a relay URL may ask for.
	MaxPool = 64
)

// Relay is the configuration of one SMTP relay, as ParseRelayURL reads it
// from smtp://user:pass@host:port?tls=starttls&pool=4&rate=50.
type Relay struct {
	// Host is the relay's name or IP address (without brackets).
	Host string
	// Port is the TCP port: 587, 465 or 25 by default, after TLS.
	Port int
	// Username is the AUTH user; empty means no AUTH.
	Username string
	// Password is the AUTH password. It is never printed: String, %v,
	// %#v, slog and encoding/json all leave it out.
	Password string `json:"-"`
	// TLS is how the connection is protected.
	TLS TLSMode
	// HELO is the name avis gives in EHLO; empty means the machine's host
	// name.
	HELO string
	// Pool is the number of connections kept open to the relay, and so the
	// number of messages in flight at once (1 to MaxPool).
	Pool int
	// Rate is the most messages per second sent through this relay; 0 is
	// no limit.
	Rate float64
	// InsecureSkipVerify accepts any TLS certificate. ParseRelayURL allows
	// it only for a relay on localhost, for tests.
	InsecureSkipVerify bool
}

// Addr returns host:port for dialing.
func (r Relay) Addr() string { return net.JoinHostPort(r.Host, strconv.Itoa(r.Port)) }

// String returns the relay as a URL with the password redacted, fit for
// logs and the admin UI.
func (r Relay) String() string { return r.url(true) }

// LogValue makes slog print the redacted URL.
func (r Relay) LogValue() slog.Value { return slog.StringValue(r.url(true)) }

// GoString redacts the password from %#v too.
func (r Relay) GoString() string { return "email.Relay(" + r.url(true) + ")" }

// url writes the relay back as a URL that ParseRelayURL reads to the same
// Relay (unless the password is redacted).
func (r Relay) url(redact bool) string {
	u := url.URL{Scheme: "smtp", Host: r.Addr()}
	if r.Username != "" || r.Password != "" {
		pw := r.Password
		if redact {
			pw = "REDACTED"
		}
		u.User = url.UserPassword(r.Username, pw)
	}
	q := url.Values{}
	q.Set("tls", string(r.TLS))
	if r.HELO != "" {
		q.Set("helo", r.HELO)
	}
	if r.Pool != 0 {
		q.Set("pool", strconv.Itoa(r.Pool))
	}
	if r.Rate != 0 {
		q.Set("rate", strconv.FormatFloat(r.Rate, 'g', -1, 64))
	}
	if r.InsecureSkipVerify {
		q.Set("insecure_skip_verify", "1")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

const relayExample = "smtp://user:password@smtp.example.com:587?tls=starttls"

// ParseRelayURL reads a relay configuration:
//
//	smtp://user:password@host:port?tls=none|starttls|implicit
//	smtps://user:password@host:port            (implicit TLS)
//
// The port defaults to 587 with starttls (the default for smtp://), 465
// with implicit and 25 with none. The user and password are
// percent-encoded (a password with '@' or '/' is written %40, %2F).
// Optional parameters: helo=name (the EHLO name), pool=N (connections,
// 1 to 64, default 4), rate=R (messages per second, 0 for no limit) and
// insecure_skip_verify=1, accepted only for localhost or 127.0.0.1 (tests).
// Credentials are refused with tls=none unless the relay is on this machine:
// they would cross the network in clear.
func ParseRelayURL(s string) (Relay, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Relay{}, fmt.Errorf("the SMTP relay URL is empty: write it as %s", relayExample)
	}
	if strings.ContainsFunc(s, isCtl) {
		return Relay{}, errors.New("the SMTP relay URL contains a control character (a line break?): write it on one line")
	}
	u, err := url.Parse(s)
	if err != nil {
		return Relay{}, fmt.Errorf("the SMTP relay URL cannot be read (%s): write it as %s, with the user and password percent-encoded", urlErrorReason(err), relayExample)
	}
	var r Relay
	switch strings.ToLower(u.Scheme) {
	case "smtp":
	case "smtps":
		r.TLS = TLSImplicit
	case "":
		return Relay{}, fmt.Errorf("the SMTP relay URL has no scheme: write it as %s", relayExample)
	default:
		return Relay{}, fmt.Errorf("the SMTP relay URL must start with smtp:// or smtps://, not %s://", u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return Relay{}, fmt.Errorf("the SMTP relay URL has no host: write it as %s", relayExample)
	}
	if (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return Relay{}, fmt.Errorf("the SMTP relay URL must not have a path or #fragment after the host: write it as %s (a '/' or '#' in the password is written %%2F or %%23)", relayExample)
	}
	r.Host = u.Hostname()
	if r.Host == "" {
		return Relay{}, fmt.Errorf("the SMTP relay URL has no host: write it as %s", relayExample)
	}
	if !validHost(r.Host) {
		return Relay{}, errors.New("the SMTP relay host is not a host name or IP address: write it as smtp.example.com, 192.0.2.1 or [2001:db8::1]")
	}
	if u.User != nil {
		r.Username = u.User.Username()
		r.Password, _ = u.User.Password()
		switch {
		case r.Username == "" && r.Password != "":
			return Relay{}, fmt.Errorf("the SMTP relay URL has a password but no user: write it as %s", relayExample)
		case r.Username != "" && r.Password == "":
			return Relay{}, fmt.Errorf("the SMTP relay URL has a user but no password: write it as %s", relayExample)
		}
	}

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Relay{}, errors.New("the SMTP relay URL's parameters after '?' cannot be read: write them as name=value joined by '&'")
	}
	for name, vals := range q {
		if len(vals) != 1 {
			return Relay{}, fmt.Errorf("the SMTP relay URL gives %q %d times: give it once", name, len(vals))
		}
		v := vals[0]
		switch name {
		case "tls":
			mode := TLSMode(strings.ToLower(v))
			switch mode {
			case TLSNone, TLSStartTLS, TLSImplicit:
			default:
				return Relay{}, fmt.Errorf("tls=%s is not a TLS mode: write tls=starttls (port 587), tls=implicit (port 465) or tls=none (port 25, no encryption)", v)
			}
			if r.TLS == TLSImplicit && mode != TLSImplicit {
				return Relay{}, fmt.Errorf("smtps:// is implicit TLS, but the URL says tls=%s: write smtp://…?tls=%s, or drop the tls parameter", v, mode)
			}
			r.TLS = mode
		case "helo":
			if !validHELO(v) {
				return Relay{}, errors.New("helo= must be a host name such as mail.example.com (letters, digits, '-' and '.')")
			}
			r.HELO = v
		case "pool":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxPool {
				return Relay{}, fmt.Errorf("pool=%s must be a number of connections from 1 to %d, such as pool=4", v, MaxPool)
			}
			r.Pool = n
		case "rate":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f > 1e6 {
				return Relay{}, fmt.Errorf("rate=%s must be messages per second, such as rate=50 or rate=0.5 (rate=0 is no limit)", v)
			}
			r.Rate = f
		case "insecure_skip_verify":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return Relay{}, fmt.Errorf("insecure_skip_verify=%s must be 1 or 0", v)
			}
			r.InsecureSkipVerify = b
		default:
			return Relay{}, fmt.Errorf("the SMTP relay URL has an unknown parameter %q: the parameters are tls, helo, pool, rate and insecure_skip_verify", name)
		}
	}
	if r.TLS == "" {
		r.TLS = TLSStartTLS
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Relay{}, fmt.Errorf("the SMTP relay port %s must be a number from 1 to 65535 (587 for starttls, 465 for implicit TLS)", p)
		}
		r.Port = n
	} else {
		switch r.TLS {
		case TLSImplicit:
			r.Port = 465
		case TLSNone:
			r.Port = 25
		default:
			r.Port = 587
		}
	}
	if r.InsecureSkipVerify && !isLoopbackHost(r.Host) {
		return Relay{}, errors.New("insecure_skip_verify=1 is only for a test relay on localhost or 127.0.0.1: for a real relay, give it a certificate that verifies")
	}
	if r.InsecureSkipVerify && r.TLS == TLSNone {
		return Relay{}, errors.New("insecure_skip_verify=1 means nothing with tls=none: drop one of them")
	}
	if r.Username != "" && r.TLS == TLSNone && !isLoopbackHost(r.Host) {
		return Relay{}, errors.New("the SMTP relay URL has a user and password with tls=none: they would cross the network in clear. Use tls=starttls or tls=implicit (or smtps://)")
	}
	return r, nil
}

// isLoopbackHost reports whether host names this machine.
func isLoopbackHost(host string) bool {
	switch strings.ToLower(host) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// validHost reports whether host is an IP address or a DNS name.
func validHost(host string) bool {
	if strings.Contains(host, ":") {
		return net.ParseIP(host) != nil
	}
	if len(host) > 253 {
		return false
	}
	for _, c := range []byte(host) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// validHELO reports whether s is a host name or an address literal fit for
// EHLO.
func validHELO(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		return net.ParseIP(strings.TrimPrefix(s[1:len(s)-1], "IPv6:")) != nil
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// urlErrorReason returns why url.Parse failed, without the URL (which may
// hold the password).
func urlErrorReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		var esc url.EscapeError
		if errors.As(ue.Err, &esc) {
			return "a '%' not followed by two hex digits"
		}
		var host url.InvalidHostError
		if errors.As(ue.Err, &host) {
			return "invalid character in the host"
		}
		return "malformed URL"
	}
	return "malformed URL"
}

// isCtl reports whether r is a control character (tab included).
func isCtl(r rune) bool { return r < 0x20 || r == 0x7f }
