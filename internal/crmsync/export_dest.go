package crmsync

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"strconv"
	"strings"
	"syscall"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// exportConn is an open connection to the folder of an export's
// destination.
type exportConn interface {
	// create starts writing a new file of that name in the folder
	// (replacing one of the same name); the writer's Close finishes the
	// upload and says whether the server has all of it.
	create(name string) (io.WriteCloser, error)
	// exists reports whether the folder holds a file of that name.
	exists(name string) (bool, error)
	// rename renames a file of the folder.
	rename(from, to string) error
	// remove deletes a file of the folder.
	remove(name string) error
	// Close ends the connection.
	Close() error
}

// partSuffix is appended to a file's final name while it is uploaded.
const partSuffix = ".part"

// connect opens the destination of sc, logged in, in its folder.
func (s *ExportStore) connect(ctx context.Context, sc Schedule) (exportConn, error) {
	secret, err := s.secret(ctx, sc)
	if err != nil {
		return nil, err
	}
	if sc.Protocol == ProtocolFTPS {
		return s.dialFTPS(ctx, sc, secret)
	}
	return s.dialSFTP(ctx, sc, secret)
}

// sftpConn is an export destination over SFTP.
type sftpConn struct {
	client *ssh.Client
	sc     *sftp.Client
	stop   func() bool
	folder string
	addr   string
}

// dialSFTP logs in to an SFTP server with the connection code of the SFTP
// drop (pinned host key, password or key) and checks the folder.
func (s *ExportStore) dialSFTP(ctx context.Context, sc Schedule, secret string) (*sftpConn, error) {
	var auth ssh.AuthMethod
	if sc.AuthKind == AuthKey {
		signer, err := parseKey(secret)
		if err != nil {
			return nil, err
		}
		auth = ssh.PublicKeys(signer)
	} else {
		auth = ssh.Password(secret)
	}
	cfg := &ssh.ClientConfig{
		User:            sc.Username,
		Auth:            []ssh.AuthMethod{auth},
		HostKeyCallback: checkHostKey(sc.HostKeyFingerprint),
		Timeout:         s.dialTimeout,
	}
	addr := net.JoinHostPort(sc.Host, strconv.Itoa(sc.Port))
	client, stop, err := dial(ctx, addr, cfg, s.dialTimeout, secretName(sc.AuthKind))
	if err != nil {
		return nil, err
	}
	c, err := sftp.NewClient(client, sftp.UseConcurrentWrites(true))
	if err != nil {
		stop()
		client.Close()
		if ctx.Err() != nil {
			return nil, failf(nil, xferStartStopped, addr, ctx.Err())
		}
		return nil, failf(nil, xferNoSFTP, addr, err)
	}
	conn := &sftpConn{client: client, sc: c, stop: stop, folder: sc.Folder, addr: addr}
	if err := checkFolder(c, sc.Folder); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// checkFolder says in plain words why folder cannot be used on the SFTP
// server: missing, closed to the user, a file; nil when it is a folder.
func checkFolder(c *sftp.Client, folder string) error {
	fi, err := c.Stat(folder)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return failf(nil, xferFolderMissing, folder)
	case errors.Is(err, fs.ErrPermission):
		return failf(nil, xferFolderDenied, folder)
	case err != nil:
		return failf(nil, xferFolderOpen, folder, lostOr(err))
	case !fi.IsDir():
		return failf(nil, xferFolderIsFile, folder)
	}
	return nil
}

func (c *sftpConn) path(name string) string { return path.Join(c.folder, name) }

func (c *sftpConn) create(name string) (io.WriteCloser, error) {
	f, err := c.sc.OpenFile(c.path(name), os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return nil, writeError(c.path(name), err)
	}
	return &sftpFile{f: f, p: c.path(name)}, nil
}

func (c *sftpConn) exists(name string) (bool, error) {
	_, err := c.sc.Lstat(c.path(name))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, failf(nil, xferSFTPLook, c.path(name), lostOr(err))
}

func (c *sftpConn) rename(from, to string) error {
	if err := c.sc.Rename(c.path(from), c.path(to)); err != nil {
		return failf(nil, xferSFTPRename, c.path(from), to, lostOr(err))
	}
	return nil
}

func (c *sftpConn) remove(name string) error {
	if err := c.sc.Remove(c.path(name)); err != nil {
		return failf(nil, xferSFTPRemove, c.path(name), lostOr(err))
	}
	return nil
}

func (c *sftpConn) Close() error {
	c.sc.Close()
	c.stop()
	return c.client.Close()
}

// sftpFile is a file being uploaded over SFTP.
type sftpFile struct {
	f   *sftp.File
	p   string
	err error
}

func (w *sftpFile) Write(b []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.f.Write(b)
	if err != nil {
		w.err = writeError(w.p, err)
	}
	return n, w.err
}

func (w *sftpFile) Close() error {
	err := w.f.Close()
	if w.err != nil {
		return w.err
	}
	if err != nil {
		return writeError(w.p, err)
	}
	return nil
}

// ErrDiskFull is wrapped by the error of a write the server refused for
// want of space or quota.
var ErrDiskFull = errors.New("disk full")

// ErrPermission is wrapped by the error of a write the server refused to
// the user.
var ErrPermission = errors.New("permission denied")

// ErrConnectionLost is wrapped when the server closed the connection
// during an export.
var ErrConnectionLost = errors.New("connection lost")

// writeError says in plain words why writing p failed.
func writeError(p string, err error) error {
	var st *sftp.StatusError
	msg := strings.ToLower(err.Error())
	switch {
	case errors.As(err, &st) && (st.FxCode() == sftp.ErrSSHFxPermissionDenied), errors.Is(err, fs.ErrPermission):
		return failf(ErrPermission, xferWriteDenied, p)
	case errors.As(err, &st) && (st.Code == 14 || st.Code == 15), errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT),
		strings.Contains(msg, "no space"), strings.Contains(msg, "quota"), strings.Contains(msg, "disk full"):
		return failf(ErrDiskFull, xferDiskFull, p)
	case errors.Is(err, fs.ErrNotExist):
		return failf(nil, xferWriteNoFolder, p)
	}
	if lost := lostOr(err); errors.Is(lost, ErrConnectionLost) {
		return failf(lost, xferLostWriting, p)
	}
	return failf(nil, xferWrite, p, err)
}

// lostOr returns err, or an error wrapping ErrConnectionLost when err
// says the connection ended.
func lostOr(err error) error {
	if errors.Is(err, sftp.ErrSSHFxConnectionLost) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return failf(ErrConnectionLost, xferLost)
	}
	return err
}
