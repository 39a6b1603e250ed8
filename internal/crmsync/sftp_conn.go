package crmsync

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// ErrHostKeyMismatch is wrapped by the error of a connection refused because
// the server's host key is not the one configured.
var ErrHostKeyMismatch = errors.New("host key mismatch")

// errAuth is wrapped when the server refused the login.
var errAuth = errors.New("login refused")

// ParseFingerprint checks a host-key fingerprint as an admin pastes it and
// returns it in canonical form: "SHA256:" and the unpadded base64 of 32
// bytes, as `ssh-keygen -lf` and ssh.FingerprintSHA256 print it. A whole
// line of `ssh-keygen -lf` output ("256 SHA256:… comment (ED25519)") is
// accepted too, and so is padding.
func ParseFingerprint(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("the host-key fingerprint is empty: it is required, so that avis talks only to your server. Ask its administrator for the output of `ssh-keygen -lf` on the server's host key, or use the fingerprint avis reads from the server after checking it with them")
	}
	if strings.ContainsAny(s, " \t") {
		for _, f := range strings.Fields(s) {
			if len(f) > 7 && strings.EqualFold(f[:7], "SHA256:") {
				s = f
				break
			}
		}
	}
	prefix, b64, ok := strings.Cut(s, ":")
	if !ok || !strings.EqualFold(prefix, "SHA256") {
		if strings.EqualFold(prefix, "MD5") || strings.Count(s, ":") == 15 {
			return "", errors.New("the host-key fingerprint is an MD5 one: give the SHA256 one (ssh-keygen -lf KEY -E sha256 prints it)")
		}
		return "", errors.New("the host-key fingerprint must start with SHA256: as `ssh-keygen -lf` prints it, e.g. SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8")
	}
	raw, err := base64.RawStdEncoding.Strict().DecodeString(strings.TrimRight(b64, "="))
	if err != nil || len(raw) != sha256.Size {
		return "", errors.New("the host-key fingerprint is not a whole SHA256 fingerprint (\"SHA256:\" then 43 characters): copy it again in full")
	}
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(raw), nil
}

// hostKeyError says the server showed another host key than the one
// configured. It matches ErrHostKeyMismatch.
type hostKeyError struct{ got, want string }

func (e *hostKeyError) Error() string {
	return fmt.Sprintf(xferHostKey, e.got, e.want)
}

func (e *hostKeyError) Is(target error) bool { return target == ErrHostKeyMismatch }

// checkHostKey returns a HostKeyCallback that accepts only the key whose
// SHA256 fingerprint is want (canonical form), compared in constant time.
func checkHostKey(want string) ssh.HostKeyCallback {
	return func(_ string, _ net.Addr, key ssh.PublicKey) error {
		got := ssh.FingerprintSHA256(key)
		if subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1 {
			return nil
		}
		return &hostKeyError{got: got, want: want}
	}
}

// dial connects to addr and runs the SSH handshake with cfg within timeout;
// secret names what the login uses ("password" or "private key") for errors.
// Cancelling ctx closes the connection, at any time until the returned
// stop function is called (stop does not close the client).
func dial(ctx context.Context, addr string, cfg *ssh.ClientConfig, timeout time.Duration, secret string) (client *ssh.Client, stop func() bool, err error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, failf(nil, xferStopped, addr, ctx.Err())
		}
		return nil, nil, failf(nil, xferSFTPUnreachable, addr, err)
	}
	stop = context.AfterFunc(ctx, func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(timeout))
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		stop()
		conn.Close()
		var hk *hostKeyError
		switch {
		case errors.As(err, &hk):
			return nil, nil, hk
		case errors.Is(err, errStopHandshake):
			return nil, nil, err
		case ctx.Err() != nil:
			return nil, nil, failf(nil, xferStopped, addr, ctx.Err())
		case strings.Contains(err.Error(), "unable to authenticate"):
			if secret == secretName(AuthKey) {
				return nil, nil, failf(errAuth, xferSFTPLoginKey, addr)
			}
			return nil, nil, failf(errAuth, xferSFTPLoginPass, addr)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, nil, failf(nil, xferHandshakeTimeout, addr, timeout)
		}
		return nil, nil, failf(nil, xferHandshake, addr, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), stop, nil
}

// errStopHandshake ends a handshake once the host key is known.
var errStopHandshake = errors.New("host key read")

// HostKeyFingerprint connects to host:port, reads the server's host key and
// returns its SHA256 fingerprint ("SHA256:…"), without logging in. It is for
// the admin UI to ask "this server presents SHA256:… — is that right?"
// before the source is saved: avis never trusts a key on first use by
// itself. The key is the one avis negotiates when it fetches (the server's
// preferred type among those avis accepts).
func HostKeyFingerprint(ctx context.Context, host string, port int) (string, error) {
	if port < 1 || port > 65535 {
		return "", failf(nil, xferHostKeyPort)
	}
	host = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(host), "["), "]")
	if host == "" {
		return "", failf(nil, xferHostKeyHost)
	}
	return hostKeyFingerprint(ctx, host, port, 15*time.Second)
}

func hostKeyFingerprint(ctx context.Context, host string, port int, timeout time.Duration) (string, error) {
	var fp string
	cfg := &ssh.ClientConfig{
		User: "avis",
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			fp = ssh.FingerprintSHA256(key)
			return errStopHandshake
		},
		Timeout: timeout,
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	c, stop, err := dial(ctx, addr, cfg, timeout, "password")
	if err == nil {
		// Cannot happen: the callback always stops the handshake.
		stop()
		c.Close()
		return "", failf(nil, xferHostKeyNone, addr)
	}
	if fp == "" {
		return "", failf(nil, xferHostKeyRead, addr, err)
	}
	return fp, nil
}
