package crmsync

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jlaffaye/ftp"
)

// ErrCertificate is wrapped by the error of an FTPS connection refused
// because the server's certificate is not trusted.
var ErrCertificate = errors.New("certificate not trusted")

// certError says why the FTPS server's certificate was refused, with its
// fingerprint for the admin to check and pin.
type certError struct {
	got, want string
	err       error
}

func (e *certError) Error() string {
	if e.want != "" {
		return fmt.Sprintf(xferCertPinned, colons(e.got), colons(e.want))
	}
	return fmt.Sprintf(xferCertUntrusted, e.err, colons(e.got))
}

func (e *certError) Is(target error) bool { return target == ErrCertificate }

// colons writes a hex fingerprint as openssl does: AB:CD:…
func colons(h string) string {
	var b strings.Builder
	for i := 0; i+1 < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strings.ToUpper(h[i : i+2]))
	}
	return b.String()
}

// ftpsTLS returns the TLS configuration of an FTPS connection to host:
// the certificate is verified against roots (the system's when nil) and
// host, or, when pin is set, must be exactly the pinned one. Verification
// is never skipped: crypto/tls's own check is replaced by this one so that
// a refusal can name the certificate's fingerprint. The refusal is also
// kept in *refused.
func ftpsTLS(host, pin string, roots *x509.CertPool, refused **certError) *tls.Config {
	return &tls.Config{
		ServerName:         host,
		MinVersion:         tls.VersionTLS12,
		ClientSessionCache: tls.NewLRUClientSessionCache(4),
		// The certificate is verified in VerifyPeerCertificate below.
		InsecureSkipVerify: true, //nolint:gosec // verified below, against roots or the pin
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("the FTPS server sent no certificate")
			}
			sum := sha256.Sum256(raw[0])
			got := hex.EncodeToString(sum[:])
			if pin != "" {
				if subtle.ConstantTimeCompare([]byte(got), []byte(pin)) == 1 {
					return nil
				}
				*refused = &certError{got: got, want: pin}
				return *refused
			}
			certs := make([]*x509.Certificate, len(raw))
			for i, b := range raw {
				c, err := x509.ParseCertificate(b)
				if err != nil {
					*refused = &certError{got: got, err: err}
					return *refused
				}
				certs[i] = c
			}
			inter := x509.NewCertPool()
			for _, c := range certs[1:] {
				inter.AddCert(c)
			}
			if _, err := certs[0].Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter}); err != nil {
				*refused = &certError{got: got, err: err}
				return *refused
			}
			return nil
		},
	}
}

// ftpsConn is an export destination over FTP with explicit TLS.
type ftpsConn struct {
	c     *ftp.ServerConn
	stop  func() bool
	conns *connSet
}

// connSet keeps the connections of an FTPS session (control and data) to
// close them all when the run is cancelled.
type connSet struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (s *connSet) add(c net.Conn) (first bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns = append(s.conns, c)
	return len(s.conns) == 1
}

func (s *connSet) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

// control returns the control connection.
func (s *connSet) control() net.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.conns) == 0 {
		return nil
	}
	return s.conns[0]
}

// dialFTPS connects to an FTPS server (AUTH TLS on the control connection,
// PROT P on the data connections), logs in and changes to the folder.
func (s *ExportStore) dialFTPS(ctx context.Context, sc Schedule, password string) (*ftpsConn, error) {
	addr := net.JoinHostPort(sc.Host, strconv.Itoa(sc.Port))
	var refused *certError
	cfg := ftpsTLS(sc.Host, sc.TLSFingerprint, s.roots, &refused)
	d := net.Dialer{Timeout: s.dialTimeout, KeepAlive: 30 * time.Second}
	conns := &connSet{}
	var dialErr error
	// The first connection is the control one, which the library turns
	// to TLS with AUTH TLS; the others are data connections, in TLS from
	// their first byte (PROT P).
	dialFunc := func(network, address string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, address)
		if err != nil {
			if conns.control() == nil {
				dialErr = err
			}
			return nil, err
		}
		if conns.add(c) {
			_ = c.SetDeadline(time.Now().Add(s.dialTimeout))
			return c, nil
		}
		return tls.Client(c, cfg), nil
	}
	stop := context.AfterFunc(ctx, conns.closeAll)
	fail := func(err error) (*ftpsConn, error) {
		stop()
		conns.closeAll()
		return nil, err
	}
	c, err := ftp.Dial(addr, ftp.DialWithDialFunc(dialFunc), ftp.DialWithExplicitTLS(cfg), ftp.DialWithShutTimeout(s.dialTimeout))
	if err != nil {
		switch {
		case refused != nil:
			return fail(refused)
		case ctx.Err() != nil:
			return fail(failf(nil, xferStopped, addr, ctx.Err()))
		case dialErr != nil:
			return fail(failf(nil, xferFTPSUnreachable, addr, dialErr))
		case code(err) == 500 || code(err) == 502 || code(err) == 504 || code(err) == 534:
			return fail(failf(nil, xferNoAuthTLS, addr))
		}
		return fail(failf(nil, xferNoTLS, addr, err))
	}
	// Servers wait a few seconds before refusing a wrong password (a brake
	// on guessing): the login gets its own time.
	if cc := conns.control(); cc != nil {
		_ = cc.SetDeadline(time.Now().Add(3 * s.dialTimeout))
	}
	if err := c.Login(sc.Username, password); err != nil {
		switch {
		case refused != nil:
			return fail(refused)
		case code(err) == 530 || code(err) == 331 || code(err) == 332:
			return fail(failf(errAuth, xferFTPSLogin, addr))
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fail(failf(nil, xferFTPSLoginTimeout, addr, 3*s.dialTimeout))
		}
		return fail(failf(nil, xferFTPSLoginOther, addr, err))
	}
	if cc := conns.control(); cc != nil {
		_ = cc.SetDeadline(time.Time{})
	}
	if sc.Folder != "." {
		if err := c.ChangeDir(sc.Folder); err != nil {
			_ = c.Quit()
			return fail(failf(nil, xferFTPSFolder, sc.Folder, err))
		}
	}
	return &ftpsConn{c: c, stop: stop, conns: conns}, nil
}

// code is the FTP reply code of err, 0 when it has none.
func code(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

// ftpWriteError says in plain words why writing name failed.
func ftpWriteError(name string, err error) error {
	switch code(err) {
	case 452, 552:
		return failf(ErrDiskFull, xferFTPSDiskFull, name, err.Error())
	case 550, 553, 532:
		return failf(ErrPermission, xferFTPSDenied, name, err.Error())
	case 426, 421:
		return failf(ErrConnectionLost, xferFTPSClosed, name, err.Error())
	}
	if lost := lostOr(err); errors.Is(lost, ErrConnectionLost) {
		return failf(lost, xferLostWriting, name)
	}
	return failf(nil, xferFTPSWrite, name, err)
}

func (f *ftpsConn) create(name string) (io.WriteCloser, error) {
	pr, pw := io.Pipe()
	w := &ftpsFile{pw: pw, done: make(chan error, 1), name: name}
	go func() {
		err := f.c.Stor(name, pr)
		// A Stor that ended early (refused, connection lost) unblocks the
		// writer with its error.
		if err != nil {
			pr.CloseWithError(ftpWriteError(name, err))
		} else {
			pr.CloseWithError(io.ErrClosedPipe)
		}
		w.done <- err
	}()
	return w, nil
}

func (f *ftpsConn) exists(name string) (bool, error) {
	_, err := f.c.FileSize(name)
	switch {
	case err == nil:
		return true, nil
	case code(err) == 550 || code(err) == 450:
		return false, nil
	}
	return false, failf(nil, xferFTPSLook, name, lostOr(err))
}

func (f *ftpsConn) rename(from, to string) error {
	if err := f.c.Rename(from, to); err != nil {
		return failf(nil, xferFTPSRename, from, to, lostOr(err))
	}
	return nil
}

func (f *ftpsConn) remove(name string) error {
	if err := f.c.Delete(name); err != nil {
		return failf(nil, xferFTPSRemove, name, lostOr(err))
	}
	return nil
}

func (f *ftpsConn) Close() error {
	err := f.c.Quit()
	f.stop()
	f.conns.closeAll()
	return err
}

// ftpsFile is a file being uploaded over FTPS: what is written goes
// through a pipe to the STOR command.
type ftpsFile struct {
	pw   *io.PipeWriter
	done chan error
	name string
}

func (w *ftpsFile) Write(b []byte) (int, error) { return w.pw.Write(b) }

func (w *ftpsFile) Close() error {
	w.pw.Close()
	if err := <-w.done; err != nil {
		return ftpWriteError(w.name, err)
	}
	return nil
}
