// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp) on
// a loopback port for tests and benchmarks: it receives every message and
// can refuse recipients or fail on demand.
package smtptest

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync"

	"github.com/emersion/go-smtp"
)

// Message is one message the server accepted.
type Message struct {
	From string
	To   []string
	Data []byte
}

// Server is a loopback SMTP server.
type Server struct {
	// Addr is host:port of the listener.
	Addr string
	// URL is an avis relay URL for it (smtp://…?tls=none).
	URL string

	srv *smtp.Server
	ln  net.Listener

	mu       sync.Mutex
	msgs     []Message
	sessions int
	// Reject answers RCPT TO with this code for the addresses it holds
	// (550 for an unknown mailbox, 451 to ask for a retry).
	reject map[string]int
	// OnData, when set, is called with each message; an error refuses it.
	onData func(Message) error
	// Discard, when set, keeps only counts, not the messages (benchmarks).
	discard bool
	count   int
	notify  chan struct{}
}

// Start listens on 127.0.0.1 on a free port and serves until Close.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: ln.Addr().String(), ln: ln, reject: map[string]int{}, notify: make(chan struct{}, 1)}
	s.URL = "smtp://" + s.Addr + "?tls=none"
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.MaxMessageBytes = 10 << 20
	s.srv.MaxRecipients = 10
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Reject makes RCPT TO for addr answer code (e.g. 550 or 451).
func (s *Server) Reject(addr string, code int) {
	s.mu.Lock()
	s.reject[strings.ToLower(addr)] = code
	s.mu.Unlock()
}

// OnData sets a function called with every message before it is accepted.
func (s *Server) OnData(f func(Message) error) {
	s.mu.Lock()
	s.onData = f
	s.mu.Unlock()
}

// Discard keeps counts only (for benchmarks with many messages).
func (s *Server) Discard() {
	s.mu.Lock()
	s.discard = true
	s.mu.Unlock()
}

// Messages returns the messages received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Count returns how many messages were accepted.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Sessions returns how many SMTP sessions (connections) were opened.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// Received is signalled (without blocking) each time a message arrives.
func (s *Server) Received() <-chan struct{} { return s.notify }

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) {
	b.s.mu.Lock()
	b.s.sessions++
	b.s.mu.Unlock()
	return &session{s: b.s}, nil
}

type session struct {
	s    *Server
	from string
	to   []string
}

func (ss *session) AuthMechanisms() []string { return nil }

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	code := ss.s.reject[strings.ToLower(to)]
	ss.s.mu.Unlock()
	switch {
	case code >= 500:
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	case code >= 400:
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: "Try again later"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return err
	}
	m := Message{From: ss.from, To: ss.to, Data: buf.Bytes()}
	ss.s.mu.Lock()
	f := ss.s.onData
	ss.s.mu.Unlock()
	if f != nil {
		if err := f(m); err != nil {
			var se *smtp.SMTPError
			if errors.As(err, &se) {
				return se
			}
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: err.Error()}
		}
	}
	ss.s.mu.Lock()
	ss.s.count++
	if !ss.s.discard {
		ss.s.msgs = append(ss.s.msgs, m)
	}
	ss.s.mu.Unlock()
	select {
	case ss.s.notify <- struct{}{}:
	default:
	}
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }
