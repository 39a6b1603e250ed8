// Package sftptest runs an SFTP server on loopback for tests and
// benchmarks: pkg/sftp over x/crypto/ssh, a login by password or by key,
// files kept in a directory.
package sftptest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// Server is an SFTP server on 127.0.0.1 whose one login (User, with
// Password or the private key ClientKeyPEM) works in Dir.
type Server struct {
	Host string
	Port int
	// Dir is the login's working directory: relative paths are under it.
	Dir            string
	User, Password string
	// HostKey is the server's key; ClientKeyPEM a private key (OpenSSH
	// PEM) the server accepts for User.
	HostKey      ssh.Signer
	ClientKeyPEM string
	// AuthAttempts counts every authentication attempt, "none" included.
	AuthAttempts atomic.Int64

	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// Options change what NewWith starts.
type Options struct {
	// Open, when set, makes the session that serves each sftp request (an
	// sftp.RequestServer over a file system in memory, say) instead of
	// one working in the server's Dir.
	Open func(ssh.Channel) (Session, error)
}

// New starts a server working in dir.
func New(dir string) (*Server, error) { return NewWith(dir, Options{}) }

// NewWith starts a server working in dir, as o says.
func NewWith(dir string, o Options) (*Server, error) {
	hostKey, _, err := newKey()
	if err != nil {
		return nil, err
	}
	clientKey, clientPEM, err := newKey()
	if err != nil {
		return nil, err
	}
	s := &Server{Host: "127.0.0.1", Dir: dir, User: "crm", Password: "s3cret-Passw0rd!", HostKey: hostKey, ClientKeyPEM: clientPEM,
		conns: map[net.Conn]struct{}{}}
	open := o.Open
	if open == nil {
		open = func(ch ssh.Channel) (Session, error) {
			return sftp.NewServer(ch, sftp.WithServerWorkingDirectory(s.Dir))
		}
	}
	authorised := clientKey.PublicKey().Marshal()
	cfg := &ssh.ServerConfig{
		PasswordCallback: func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if c.User() == s.User && string(pw) == s.Password {
				return nil, nil
			}
			return nil, errors.New("wrong password")
		},
		PublicKeyCallback: func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if c.User() == s.User && bytes.Equal(key.Marshal(), authorised) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
		AuthLogCallback: func(ssh.ConnMetadata, string, error) { s.AuthAttempts.Add(1) },
	}
	cfg.AddHostKey(hostKey)
	if s.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("sftptest: %w", err)
	}
	s.Port = s.ln.Addr().(*net.TCPAddr).Port
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = struct{}{}
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				ServeConn(c, cfg, open)
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
		}
	}()
	return s, nil
}

// Fingerprint is the SHA256 fingerprint of the server's host key, as avis
// asks for it.
func (s *Server) Fingerprint() string { return ssh.FingerprintSHA256(s.HostKey.PublicKey()) }

// Close stops accepting connections, ends those open and waits for them.
func (s *Server) Close() error {
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// Session is what serves the sftp subsystem of one SSH session:
// *sftp.Server or *sftp.RequestServer.
type Session interface {
	Serve() error
	Close() error
}

// ServeConn serves the SSH connection c with cfg, answering each request
// for the sftp subsystem with a session that open makes on its channel.
// It returns when the connection ends.
func ServeConn(c net.Conn, cfg *ssh.ServerConfig, open func(ssh.Channel) (Session, error)) {
	defer c.Close()
	sconn, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	defer sconn.Close()
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	defer wg.Wait()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for req := range creqs {
				ok := req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:]) == "sftp"
				req.Reply(ok, nil)
				if !ok {
					continue
				}
				srv, err := open(ch)
				if err != nil {
					ch.Close()
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					_ = srv.Serve()
					srv.Close()
				}()
			}
		}()
	}
}

// newKey makes an Ed25519 key and its OpenSSH PEM.
func newKey() (ssh.Signer, string, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, "", err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, "", err
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, "", err
	}
	return signer, string(pem.EncodeToMemory(block)), nil
}
