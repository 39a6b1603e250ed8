package email

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gomail "github.com/wneessen/go-mail/smtp"
)

// Envelope is the SMTP envelope of one message: the bounce address (MAIL
// FROM) and the one recipient (RCPT TO).
type Envelope struct {
	// From is the return path, where bounces go; usually a bounce address
	// under the tenant's domain.
	From string
	// To is the recipient's address.
	To string
}

// Sender delivers built messages. Send returns nil once the relay accepted
// the message, or a *SendError.
type Sender interface {
	Send(ctx context.Context, env Envelope, raw []byte) error
}

// ErrClosed is wrapped by the error of Send on a closed SMTP sender.
var ErrClosed = errors.New("email: the SMTP sender is closed")

// Options tune an SMTP sender; the zero value is the defaults.
type Options struct {
	// TLSConfig is the base TLS configuration (RootCAs for a private CA);
	// nil uses the system roots. ServerName is always the relay's host.
	TLSConfig *tls.Config
	// DialTimeout bounds connecting, TLS, EHLO and AUTH (default 15 s).
	DialTimeout time.Duration
	// SendTimeout bounds one message on an open connection when the
	// context has no earlier deadline (default 60 s).
	SendTimeout time.Duration
	// IdleTimeout closes a connection unused for that long (default 30 s).
	IdleTimeout time.Duration
	// Logger receives connection events at debug level (never an
	// address); nil discards them.
	Logger *slog.Logger
}

// SMTP sends messages through one relay over a pool of reused connections,
// at most Relay.Pool at once and Relay.Rate per second. It is safe for
// concurrent use.
type SMTP struct {
	relay   Relay
	opts    Options
	tls     *tls.Config
	helo    string
	log     *slog.Logger
	sem     chan struct{}
	limiter *limiter
	slow    throttle

	mu      sync.Mutex
	idle    []*conn // most recently used last
	closed  bool
	authErr *SendError
	active  sync.WaitGroup

	done  chan struct{}
	dials atomic.Int64
}

// conn is one open SMTP connection.
type conn struct {
	c        *gomail.Client
	raw      net.Conn // the TCP connection, for deadlines
	maxSize  int      // the relay's SIZE, 0 if none
	lastUsed time.Time
	used     bool // a transaction ran on it: RSET before the next
	poisoned bool // the context's cancellation may still move its deadline
}

var _ Sender = (*SMTP)(nil)

// NewSMTP returns a sender for relay. It does not connect: the first Send
// does.
func NewSMTP(relay Relay, opts Options) (*SMTP, error) {
	if relay.Host == "" || relay.Port < 1 || relay.Port > 65535 {
		return nil, errors.New("email: the SMTP relay has no host or port: read it with ParseRelayURL")
	}
	switch relay.TLS {
	case TLSNone, TLSStartTLS, TLSImplicit:
	default:
		return nil, errors.New("email: the SMTP relay has no TLS mode: read it with ParseRelayURL")
	}
	if relay.Pool <= 0 {
		relay.Pool = DefaultPool
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 15 * time.Second
	}
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = 60 * time.Second
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 30 * time.Second
	}
	s := &SMTP{
		relay: relay,
		opts:  opts,
		log:   opts.Logger,
		sem:   make(chan struct{}, relay.Pool),
		done:  make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if opts.TLSConfig != nil {
		s.tls = opts.TLSConfig.Clone()
	} else {
		s.tls = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	s.tls.ServerName = relay.Host
	s.tls.InsecureSkipVerify = relay.InsecureSkipVerify //nolint:gosec // ParseRelayURL allows it for localhost only
	s.helo = relay.HELO
	if s.helo == "" {
		if h, err := os.Hostname(); err == nil && validHELO(h) {
			s.helo = h
		} else {
			s.helo = "localhost"
		}
	}
	if relay.Rate > 0 {
		s.limiter = newLimiter(relay.Rate, relay.Pool)
	}
	go s.janitor()
	return s, nil
}

// Send delivers raw (built by Build) to env.To. It waits for the rate
// limit and a free connection, reuses an open connection (RSET first) or
// dials one, and runs MAIL, RCPT and DATA. A pooled connection found dead
// before the message was handed over is replaced once, transparently;
// after DATA started, a failure is a temporary error and the caller
// retries (the relay may, rarely, have accepted the message).
func (s *SMTP) Send(ctx context.Context, env Envelope, raw []byte) error {
	return s.SendCommit(ctx, env, raw, nil)
}

// commitError carries the error of a SendCommit commit function.
type commitError struct{ err error }

func (e *commitError) Error() string { return e.err.Error() }
func (e *commitError) Unwrap() error { return e.err }

// SendCommit is Send with a commit step: once the whole message is written
// after DATA, and before the final dot that makes the relay take it,
// commit runs (the caller records the message as sent). When commit fails,
// the dot is never sent: the connection is dropped, the relay discards the
// message, and SendCommit returns commit's error as it is. A crash before
// commit returns leaves no message at the relay; only one in the instant
// between commit and the dot can lose it. Use it to send exactly once.
func (s *SMTP) SendCommit(ctx context.Context, env Envelope, raw []byte, commit func() error) error {
	if err := checkEnvelope(env); err != nil {
		return err
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return &SendError{Stage: StageConnect, Msg: "the sender is closed", Err: ErrClosed}
	case s.authErr != nil:
		err := s.authErr
		s.mu.Unlock()
		return err
	}
	s.active.Add(1)
	s.mu.Unlock()
	defer s.active.Done()

	if err := s.limiter.wait(ctx); err != nil {
		return classify(ctx, StageRate, err)
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return classify(ctx, StageConnect, ctx.Err())
	}
	defer func() { <-s.sem }()
	// Checked once a connection slot is ours, so that messages queued
	// behind a refused one do not reach the relay during the pause.
	if d := s.slow.paused(time.Now()); d > 0 {
		return &SendError{Temporary: true, RateLimited: true, RetryAfter: d, Stage: StageRate,
			Msg: "the relay asked to slow down"}
	}

	for attempt := 0; ; attempt++ {
		c, reused, err := s.get(ctx)
		if err != nil {
			return err
		}
		if c.maxSize > 0 && len(raw) > c.maxSize {
			s.put(c)
			return &SendError{Stage: StageSize, Code: 552, EnhancedCode: "5.3.4",
				Msg: "the message (" + strconv.Itoa(len(raw)) + " bytes) is over the relay's limit of " + strconv.Itoa(c.maxSize) + " bytes"}
		}
		handedOver, stage, err := s.transact(ctx, c, env, raw, commit)
		var ce *commitError
		if errors.As(err, &ce) {
			s.discard(c)
			return ce.err
		}
		if err == nil {
			if c.poisoned {
				s.discard(c)
			} else {
				s.put(c)
			}
			s.slow.ok()
			return nil
		}
		se := classify(ctx, stage, err)
		if keepable(err) && !c.poisoned && ctx.Err() == nil {
			s.put(c)
		} else {
			s.discard(c)
		}
		// A pooled connection the relay closed while it was idle fails
		// before the message is handed over: dial again, once.
		stale := reused && !handedOver && (se.Temporary && se.Code == 0 || se.Code == 421)
		if stale && attempt == 0 && ctx.Err() == nil {
			s.log.Debug("smtp: pooled connection was dead, dialling again", "relay", s.relay.Addr(), "stage", stage)
			continue
		}
		if se.Auth {
			s.latchAuth(se)
		}
		if asksToSlowDown(se) {
			se.Temporary, se.RateLimited, se.RetryAfter = true, true, s.slow.slowDown(time.Now())
			s.log.Warn("smtp: the relay asked to slow down; new messages wait", "relay", s.relay.Addr(),
				"code", se.Code, "status", se.EnhancedCode, "pause", se.RetryAfter)
		}
		return se
	}
}

// keepable reports whether the connection is still in a known state after
// err: the server replied (other than 421, closing).
func keepable(err error) bool {
	var tpe *textproto.Error
	if errors.As(err, &tpe) {
		return tpe.Code != 421 && tpe.Code >= 400
	}
	return false
}

// transact runs one mail transaction on c. handedOver is true once the
// DATA command was accepted (a retry could then duplicate the message).
func (s *SMTP) transact(ctx context.Context, c *conn, env Envelope, raw []byte, commit func() error) (handedOver bool, stage string, err error) {
	deadline := time.Now().Add(s.opts.SendTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = c.raw.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = c.raw.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if !stop() {
			// The cancellation ran, or is running: the connection's
			// deadline is not ours to trust any more.
			c.poisoned = true
		}
	}()

	if c.used {
		if err := c.c.Reset(); err != nil {
			return false, StageReset, err
		}
	}
	c.used = true
	if err := c.c.Mail("<" + env.From + ">"); err != nil {
		return false, StageMail, err
	}
	if err := c.c.Rcpt("<" + env.To + ">"); err != nil {
		return false, StageRcpt, err
	}
	handedOver, err = data(c.c.Text, raw, commit)
	if err != nil {
		// A broken connection gets no final dot: it is dropped.
		return handedOver, StageData, err
	}
	// The transaction is over and the relay's state with it (RFC 5321
	// 4.1.1.4): the next message needs no RSET.
	c.used = false
	return true, StageData, nil
}

// get returns an idle connection (reused is true) or dials a new one.
func (s *SMTP) get(ctx context.Context) (c *conn, reused bool, err error) {
	now := time.Now()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, false, &SendError{Stage: StageConnect, Msg: "the sender is closed", Err: ErrClosed}
	}
	for len(s.idle) > 0 {
		c = s.idle[len(s.idle)-1]
		s.idle = s.idle[:len(s.idle)-1]
		if now.Sub(c.lastUsed) < s.opts.IdleTimeout {
			s.mu.Unlock()
			return c, true, nil
		}
		s.mu.Unlock()
		s.quit(c)
		s.mu.Lock()
	}
	s.mu.Unlock()
	c, err = s.dial(ctx)
	if err != nil {
		se := classify(ctx, StageConnect, err)
		if se.Auth {
			s.latchAuth(se)
		}
		return nil, false, se
	}
	return c, false, nil
}

// put returns c to the idle pool, or closes it if the sender is closed.
func (s *SMTP) put(c *conn) {
	c.lastUsed = time.Now()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.quit(c)
		return
	}
	s.idle = append(s.idle, c)
	s.mu.Unlock()
}

// discard closes c without a goodbye: its state is unknown.
func (s *SMTP) discard(c *conn) {
	_ = c.c.Close()
	s.log.Debug("smtp: connection dropped", "relay", s.relay.Addr())
}

// quit says goodbye and closes c.
func (s *SMTP) quit(c *conn) {
	_ = c.raw.SetDeadline(time.Now().Add(2 * time.Second))
	if err := c.c.Quit(); err != nil {
		_ = c.c.Close()
	}
}

// latchAuth remembers an authentication failure: every later Send returns
// it without connecting.
func (s *SMTP) latchAuth(se *SendError) {
	s.mu.Lock()
	if s.authErr == nil {
		s.authErr = se
		s.log.Warn("smtp: the relay refused the credentials; no more messages go through it until its configuration is fixed",
			"relay", s.relay.String(), "code", se.Code, "enhanced", se.EnhancedCode)
	}
	s.mu.Unlock()
}

// dial opens, secures and authenticates a new connection.
func (s *SMTP) dial(ctx context.Context) (*conn, error) {
	s.dials.Add(1)
	deadline := time.Now().Add(s.opts.DialTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	d := net.Dialer{Deadline: deadline}
	raw, err := d.DialContext(ctx, "tcp", s.relay.Addr())
	if err != nil {
		return nil, classify(ctx, StageConnect, err)
	}
	_ = raw.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	fail := func(stage string, err error) (*conn, error) {
		_ = raw.Close()
		return nil, classify(ctx, stage, err)
	}

	// Commands and message are written to the socket only when a reply
	// is awaited: one write per exchange instead of one per line.
	var nc net.Conn = &coalescer{Conn: raw, w: bufio.NewWriterSize(raw, 32<<10)}
	if s.relay.TLS == TLSImplicit {
		tc := tls.Client(nc, s.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(StageTLS, err)
		}
		nc = tc
	}
	c, err := gomail.NewClient(nc, s.relay.Host)
	if err != nil {
		return fail(StageConnect, err)
	}
	if err := c.Hello(s.helo); err != nil {
		return fail(StageHello, err)
	}
	if s.relay.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			_ = raw.Close()
			return nil, localError(StageTLS, "the relay does not offer STARTTLS: use tls=implicit if it speaks TLS from the start, or tls=none for a relay on a trusted network")
		}
		if err := c.StartTLS(s.tls); err != nil {
			return fail(StageTLS, err)
		}
	}
	if s.relay.Username != "" {
		auth, err := s.auth(c)
		if err != nil {
			_ = raw.Close()
			return nil, err
		}
		if err := c.Auth(auth); err != nil {
			return fail(StageAuth, err)
		}
	}
	if !stop() {
		_ = raw.Close()
		return nil, classify(ctx, StageConnect, context.Cause(ctx))
	}
	_ = raw.SetDeadline(time.Time{})
	cn := &conn{c: c, raw: raw}
	if ok, size := c.Extension("SIZE"); ok {
		cn.maxSize, _ = strconv.Atoi(strings.TrimSpace(size))
	}
	s.log.Debug("smtp: connected", "relay", s.relay.Addr(), "tls", string(s.relay.TLS))
	return cn, nil
}

// auth picks PLAIN, else LOGIN, among the mechanisms the relay offers.
func (s *SMTP) auth(c *gomail.Client) (gomail.Auth, error) {
	ok, mechs := c.Extension("AUTH")
	if !ok {
		return nil, &SendError{Stage: StageAuth, Auth: true,
			Msg: "the relay does not offer AUTH: remove the user and password from the relay URL, or use the relay's submission port (587)"}
	}
	for _, m := range strings.Fields(strings.ToUpper(mechs)) {
		if m == "PLAIN" {
			return gomail.PlainAuth("", s.relay.Username, s.relay.Password, s.relay.Host, false), nil
		}
	}
	for _, m := range strings.Fields(strings.ToUpper(mechs)) {
		if m == "LOGIN" {
			return gomail.LoginAuth(s.relay.Username, s.relay.Password, s.relay.Host, false), nil
		}
	}
	return nil, &SendError{Stage: StageAuth, Auth: true,
		Msg: "the relay offers neither AUTH PLAIN nor AUTH LOGIN (it offers " + scrub(mechs) + ")"}
}

// janitor closes connections idle for longer than IdleTimeout.
func (s *SMTP) janitor() {
	every := max(s.opts.IdleTimeout/3, 10*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case now := <-t.C:
			var old []*conn
			s.mu.Lock()
			// The oldest are first.
			n := 0
			for n < len(s.idle) && now.Sub(s.idle[n].lastUsed) >= s.opts.IdleTimeout {
				n++
			}
			if n > 0 {
				old = append(old, s.idle[:n]...)
				s.idle = append(s.idle[:0], s.idle[n:]...)
			}
			s.mu.Unlock()
			for _, c := range old {
				s.quit(c)
			}
		}
	}
}

// Idle returns the number of open connections waiting in the pool.
func (s *SMTP) Idle() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.idle)
}

// Close says goodbye on every idle connection, waits for the Sends in
// flight to finish (their connections are then closed) and makes every
// later Send fail with ErrClosed.
func (s *SMTP) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	idle := s.idle
	s.idle = nil
	s.mu.Unlock()
	close(s.done)
	for _, c := range idle {
		s.quit(c)
	}
	s.active.Wait()
	return nil
}

// checkEnvelope refuses addresses that cannot go on an SMTP command line.
func checkEnvelope(env Envelope) error {
	for _, f := range [...]struct{ name, v string }{{"sender", env.From}, {"recipient", env.To}} {
		at := strings.LastIndexByte(f.v, '@')
		if at < 1 || at == len(f.v)-1 || len(f.v) > 254 ||
			strings.ContainsFunc(f.v, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '<' || r == '>' }) {
			return localError(StageEnvelope, "the envelope %s is not an email address", f.name)
		}
	}
	return nil
}

// coalescer buffers writes to a connection until the next read (or close):
// SMTP waits for a reply after each command group, so each exchange leaves
// in one write.
type coalescer struct {
	net.Conn
	w *bufio.Writer
}

func (c *coalescer) Write(p []byte) (int, error) { return c.w.Write(p) }

func (c *coalescer) Read(p []byte) (int, error) {
	if c.w.Buffered() > 0 {
		if err := c.w.Flush(); err != nil {
			return 0, err
		}
	}
	return c.Conn.Read(p)
}

func (c *coalescer) Close() error {
	_ = c.w.Flush()
	return c.Conn.Close()
}
