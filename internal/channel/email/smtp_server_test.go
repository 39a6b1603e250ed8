package email

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// received is one message as the test server stored it.
type received struct {
	from, to string
	data     []byte
}

// testBackend is a go-smtp backend that stores every message and counts
// sessions and logins. Its hooks make the server misbehave on purpose.
type testBackend struct {
	user, pass string // AUTH required when user is set
	loginOnly  bool   // offer AUTH LOGIN only

	// rcpt, if set, answers RCPT TO.
	rcpt func(to string) error
	// data, if set, reads the message instead of storing it.
	data func(c *smtp.Conn, r io.Reader) error

	mu       sync.Mutex
	sessions int // connections (go-smtp opens a session per EHLO)
	logins   int
	logouts  int
	msgs     []received
	conns    []*smtp.Conn
}

func (be *testBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	be.mu.Lock()
	if !slices.Contains(be.conns, c) {
		be.sessions++
		be.conns = append(be.conns, c)
	}
	be.mu.Unlock()
	return &testSession{be: be, c: c}, nil
}

func (be *testBackend) counts() (sessions, logins, msgs int) {
	be.mu.Lock()
	defer be.mu.Unlock()
	return be.sessions, be.logins, len(be.msgs)
}

func (be *testBackend) messages() []received {
	be.mu.Lock()
	defer be.mu.Unlock()
	return append([]received(nil), be.msgs...)
}

// dropAll closes every connection from the server's side.
func (be *testBackend) dropAll() {
	be.mu.Lock()
	defer be.mu.Unlock()
	for _, c := range be.conns {
		_ = c.Conn().Close()
	}
}

type testSession struct {
	be       *testBackend
	c        *smtp.Conn
	authed   bool
	from, to string
}

func (s *testSession) AuthMechanisms() []string {
	if s.be.loginOnly {
		return []string{sasl.Login}
	}
	return []string{sasl.Plain}
}

func (s *testSession) Auth(mech string) (sasl.Server, error) {
	check := func(username, password string) error {
		s.be.mu.Lock()
		s.be.logins++
		s.be.mu.Unlock()
		if username != s.be.user || password != s.be.pass {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}
	if mech == sasl.Login {
		return &loginServer{check: check}, nil
	}
	return sasl.NewPlainServer(func(_, username, password string) error { return check(username, password) }), nil
}

// loginServer is the server side of AUTH LOGIN, which go-sasl lacks.
type loginServer struct {
	check    func(user, pass string) error
	step     int
	username string
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	l.step++
	switch l.step {
	case 1:
		if response != nil { // initial response is the user name
			l.username = string(response)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 2:
		l.username = string(response)
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.username, string(response))
	}
}

func (s *testSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.be.user != "" && !s.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.from = from
	return nil
}

func (s *testSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.be.rcpt != nil {
		if err := s.be.rcpt(to); err != nil {
			return err
		}
	}
	s.to = to
	return nil
}

func (s *testSession) Data(r io.Reader) error {
	if s.be.data != nil {
		return s.be.data(s.c, r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.be.mu.Lock()
	s.be.msgs = append(s.be.msgs, received{from: s.from, to: s.to, data: b})
	s.be.mu.Unlock()
	return nil
}

func (s *testSession) Reset() { s.from, s.to = "", "" }

func (s *testSession) Logout() error {
	s.be.mu.Lock()
	s.be.logouts++
	s.be.mu.Unlock()
	return nil
}

// testCert returns a self-signed certificate for 127.0.0.1 and localhost,
// and a pool that trusts it.
func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "avis test relay"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// testServer is a go-smtp server on a loopback port.
type testServer struct {
	be    *testBackend
	port  int
	roots *x509.CertPool // trusts the server's certificate
}

// startServer runs a server speaking mode (none, starttls, implicit) until
// the test ends.
func startServer(t testing.TB, be *testBackend, mode TLSMode) *testServer {
	t.Helper()
	srv := smtp.NewServer(be)
	srv.Domain = "relay.test"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.AllowInsecureAuth = mode == TLSNone
	ts := &testServer{be: be}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.port = l.Addr().(*net.TCPAddr).Port
	if mode != TLSNone {
		cert, pool := testCert(t)
		ts.roots = pool
		cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if mode == TLSImplicit {
			l = tls.NewListener(l, cfg)
		} else {
			srv.TLSConfig = cfg
		}
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			t.Errorf("test SMTP server: %v", err)
		}
	})
	return ts
}

// relayURL returns the URL of the server with the given credentials and
// extra parameters.
func (ts *testServer) relayURL(mode TLSMode, userinfo, params string) string {
	u := "smtp://"
	if userinfo != "" {
		u += userinfo + "@"
	}
	u += "127.0.0.1:" + strconv.Itoa(ts.port) + "?tls=" + string(mode)
	if params != "" {
		u += "&" + params
	}
	return u
}

// newSender parses url and returns a sender that trusts the server's
// certificate, closed when the test ends.
func (ts *testServer) newSender(t testing.TB, url string, opts Options) *SMTP {
	t.Helper()
	r, err := ParseRelayURL(url)
	if err != nil {
		t.Fatal(err)
	}
	if opts.TLSConfig == nil && ts.roots != nil {
		opts.TLSConfig = &tls.Config{RootCAs: ts.roots, MinVersion: tls.VersionTLS12}
	}
	s, err := NewSMTP(r, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// firstBytes reads n bytes of r (to drop a connection mid-message).
func firstBytes(r io.Reader, n int64) []byte {
	var b bytes.Buffer
	_, _ = io.CopyN(&b, r, n)
	return b.Bytes()
}
