package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

var testEnv = Envelope{From: "bounce@shop.example", To: "zoe@customer.example"}

// buildSample builds sampleMessage signed with the RSA test key.
func buildSample(t testing.TB) []byte {
	t.Helper()
	rsaKey, _, _ := testKeys(t)
	raw, err := Build(sampleMessage(), testNow, rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// checkDelivered checks the server stored want messages, each with the
// test envelope, parsing and verifying as a receiving server would.
func checkDelivered(t *testing.T, be *testBackend, want int) {
	t.Helper()
	rsaKey, _, lookup := testKeys(t)
	msgs := be.messages()
	if len(msgs) != want {
		t.Fatalf("server received %d messages, want %d", len(msgs), want)
	}
	for _, m := range msgs {
		if m.from != testEnv.From || m.to != testEnv.To {
			t.Fatalf("envelope %s -> %s", m.from, m.to)
		}
		checkSample(t, m.data)
		verifyDKIM(t, m.data, rsaKey, lookup, signedFields...)
	}
}

// TestSendModes delivers one message per TLS mode and AUTH, and checks it
// arrives parseable, with its subject decoded and its DKIM signature valid.
func TestSendModes(t *testing.T) {
	t.Parallel()
	raw := buildSample(t)
	tests := []struct {
		name     string
		mode     TLSMode
		user     string
		userinfo string
		params   string
	}{
		{name: "plain", mode: TLSNone},
		{name: "plain with auth on loopback", mode: TLSNone, user: "avis", userinfo: "avis:s3cr%40t"},
		{name: "starttls", mode: TLSStartTLS},
		{name: "starttls with auth plain", mode: TLSStartTLS, user: "avis", userinfo: "avis:s3cr%40t"},
		{name: "implicit tls with auth", mode: TLSImplicit, user: "avis", userinfo: "avis:s3cr%40t"},
		{name: "starttls with auth login", mode: TLSStartTLS, user: "avis", userinfo: "avis:s3cr%40t", params: "login"},
		{name: "starttls insecure_skip_verify on localhost", mode: TLSStartTLS, params: "insecure_skip_verify=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			be := &testBackend{user: tt.user, pass: "s3cr@t", loginOnly: tt.params == "login"}
			if tt.params == "login" {
				tt.params = ""
			}
			ts := startServer(t, be, tt.mode)
			opts := Options{}
			if tt.params != "" {
				// No trusted roots: only insecure_skip_verify lets it through.
				ts.roots = nil
			}
			s := ts.newSender(t, ts.relayURL(tt.mode, tt.userinfo, tt.params), opts)
			if err := s.Send(context.Background(), testEnv, raw); err != nil {
				t.Fatal(err)
			}
			checkDelivered(t, be, 1)
			if _, logins, _ := be.counts(); tt.user != "" && logins != 1 {
				t.Fatalf("%d logins", logins)
			}
		})
	}
}

// TestSendTLSRefused checks an untrusted certificate and a relay without
// STARTTLS are permanent errors that say so, and that nothing is sent.
func TestSendTLSRefused(t *testing.T) {
	t.Parallel()
	raw := buildSample(t)
	t.Run("untrusted certificate", func(t *testing.T) {
		t.Parallel()
		be := &testBackend{}
		ts := startServer(t, be, TLSStartTLS)
		ts.roots = nil
		s := ts.newSender(t, ts.relayURL(TLSStartTLS, "", ""), Options{})
		se := sendError(t, s.Send(context.Background(), testEnv, raw))
		if se.Temporary || se.Auth || se.HardBounce || se.Stage != StageTLS || !strings.Contains(se.Error(), "certificate") {
			t.Fatalf("%+v: %v", se, se)
		}
	})
	t.Run("no starttls offered", func(t *testing.T) {
		t.Parallel()
		be := &testBackend{}
		ts := startServer(t, be, TLSNone)
		s := ts.newSender(t, ts.relayURL(TLSStartTLS, "", ""), Options{})
		se := sendError(t, s.Send(context.Background(), testEnv, raw))
		if se.Temporary || se.Stage != StageTLS || !strings.Contains(se.Msg, "does not offer STARTTLS") {
			t.Fatalf("%+v", se)
		}
		if _, _, n := be.counts(); n != 0 {
			t.Fatal("sent in clear")
		}
	})
}

func sendError(t *testing.T, err error) *SendError {
	t.Helper()
	var se *SendError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *SendError", err, err)
	}
	return se
}

// TestSendAuthFailure checks a wrong password is one Auth error after one
// connection, and that the sender then stops without connecting again.
func TestSendAuthFailure(t *testing.T) {
	t.Parallel()
	raw := buildSample(t)
	be := &testBackend{user: "avis", pass: "right"}
	ts := startServer(t, be, TLSStartTLS)
	s := ts.newSender(t, ts.relayURL(TLSStartTLS, "avis:wrong", "pool=4"), Options{})
	se := sendError(t, s.Send(context.Background(), testEnv, raw))
	if !se.Auth || se.Temporary || se.HardBounce || se.Code != 535 || se.EnhancedCode != "5.7.8" || se.Stage != StageAuth {
		t.Fatalf("%+v", se)
	}
	if !strings.Contains(se.Error(), "check the relay's user and password") || strings.Contains(se.Error(), "wrong") {
		t.Fatalf("error text %q", se.Error())
	}
	// Eight more messages from eight goroutines: no new connection.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := s.Send(context.Background(), testEnv, raw); !errors.As(err, new(*SendError)) || !sendErrorAuth(err) {
				t.Errorf("later Send: %v", err)
			}
		})
	}
	wg.Wait()
	sessions, logins, msgs := be.counts()
	if sessions != 1 || logins != 1 || msgs != 0 {
		t.Fatalf("%d connections, %d logins, %d messages; want 1, 1, 0", sessions, logins, msgs)
	}
}

func sendErrorAuth(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Auth
}

// TestSendReplies checks how replies to RCPT and DATA are classified, that
// no address leaks into the error, and that the connection stays usable.
func TestSendReplies(t *testing.T) {
	t.Parallel()
	raw := buildSample(t)
	tests := []struct {
		name                        string
		rcpt                        error
		data                        error
		temporary, hardBounce, auth bool
		code                        int
		enhanced, stage             string
	}{
		{name: "550 5.1.1 user unknown", rcpt: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<zoe@customer.example>: Recipient address rejected: User unknown"},
			hardBounce: true, code: 550, enhanced: "5.1.1", stage: StageRcpt},
		{name: "553 without enhanced code", rcpt: &smtp.SMTPError{Code: 553, EnhancedCode: smtp.NoEnhancedCode, Message: "mailbox name not allowed zoe@customer.example"},
			hardBounce: true, code: 553, stage: StageRcpt},
		{name: "552 5.2.2 mailbox full is not a hard bounce", rcpt: &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 2, 2}, Message: "zoe@customer.example mailbox full"},
			code: 552, enhanced: "5.2.2", stage: StageRcpt},
		{name: "550 5.7.1 policy is not a hard bounce", rcpt: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "relaying denied"},
			code: 550, enhanced: "5.7.1", stage: StageRcpt},
		{name: "451 greylisted", rcpt: &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "<zoe@customer.example>: Greylisted, try again later"},
			temporary: true, code: 451, enhanced: "4.7.1", stage: StageRcpt},
		{name: "452 on rcpt", rcpt: &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "over quota"},
			temporary: true, code: 452, enhanced: "4.2.2", stage: StageRcpt},
		{name: "554 on data", data: &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "message rejected as spam"},
			code: 554, enhanced: "5.7.1", stage: StageData},
		{name: "552 on data", data: &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "message too big"},
			code: 552, enhanced: "5.3.4", stage: StageData},
		{name: "450 on data", data: &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 0, 0}, Message: "try later"},
			temporary: true, code: 450, enhanced: "4.0.0", stage: StageData},
		{name: "530 on rcpt is auth", rcpt: &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"},
			auth: true, code: 530, enhanced: "5.7.0", stage: StageRcpt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			be, stopRefusing := refusingBackend(tt.rcpt, tt.data)
			ts := startServer(t, be, TLSNone)
			s := ts.newSender(t, ts.relayURL(TLSNone, "", "pool=1"), Options{})
			se := sendError(t, s.Send(context.Background(), testEnv, raw))
			if se.Temporary != tt.temporary || se.HardBounce != tt.hardBounce || se.Auth != tt.auth ||
				se.Code != tt.code || se.EnhancedCode != tt.enhanced || se.Stage != tt.stage {
				t.Fatalf("got %+v", se)
			}
			for _, leak := range []string{"zoe", "customer.example", "@"} {
				if strings.Contains(se.Error(), leak) {
					t.Fatalf("error %q shows the address", se.Error())
				}
			}
			if tt.auth {
				return
			}
			// The same connection carries the next message (after RSET).
			stopRefusing()
			if err := s.Send(context.Background(), testEnv, raw); err != nil {
				t.Fatal(err)
			}
			if sessions, _, _ := be.counts(); sessions != 1 {
				t.Fatalf("%d connections, want the first one reused", sessions)
			}
			checkDelivered(t, be, 1)
		})
	}
}

// TestSendDroppedMidMessage checks a connection dropped during DATA is a
// temporary error, and that the next Send succeeds on a new connection.
func TestSendDroppedMidMessage(t *testing.T) {
	t.Parallel()
	raw := buildSample(t)
	var drop sync.Once
	dropped := false
	be := &testBackend{}
	be.data = func(c *smtp.Conn, r io.Reader) error {
		first := false
		drop.Do(func() { first = true })
		if first {
			firstBytes(r, 200)
			dropped = true
			_ = c.Conn().Close()
			return errors.New("dropped")
		}
		b, err := io.ReadAll(r)
		be.mu.Lock()
		be.msgs = append(be.msgs, received{from: testEnv.From, to: testEnv.To, data: b})
		be.mu.Unlock()
		return err
	}
	ts := startServer(t, be, TLSStartTLS)
	s := ts.newSender(t, ts.relayURL(TLSStartTLS, "", "pool=2"), Options{})
	se := sendError(t, s.Send(context.Background(), testEnv, raw))
	if !dropped || !se.Temporary || se.HardBounce || se.Auth || se.Stage != StageData {
		t.Fatalf("%+v", se)
	}
	if err := s.Send(context.Background(), testEnv, raw); err != nil {
		t.Fatalf("Send after the drop: %v", err)
	}
	if sessions, _, _ := be.counts(); sessions != 2 {
		t.Fatalf("%d connections, want 2", sessions)
	}
	checkDelivered(t, be, 1)
}

// TestSendStaleConnection checks that a pooled connection the relay closed
// while idle is replaced without the caller seeing an error.
func TestSendStaleConnection(t *testing.T) {
	t.Parallel()
	raw := buildSample(t)
	be := &testBackend{}
	ts := startServer(t, be, TLSNone)
	s := ts.newSender(t, ts.relayURL(TLSNone, "", "pool=1"), Options{})
	if err := s.Send(context.Background(), testEnv, raw); err != nil {
		t.Fatal(err)
	}
	be.dropAll()
	time.Sleep(20 * time.Millisecond)
	if err := s.Send(context.Background(), testEnv, raw); err != nil {
		t.Fatalf("Send on a connection the server closed: %v", err)
	}
	if sessions, _, _ := be.counts(); sessions != 2 {
		t.Fatalf("%d connections, want 2", sessions)
	}
	checkDelivered(t, be, 2)
}

// TestSendReusesConnection sends N messages one after the other: one
// connection carries them all.
func TestSendReusesConnection(t *testing.T) {
	t.Parallel()
	raw := buildSample(t)
	be := &testBackend{}
	ts := startServer(t, be, TLSStartTLS)
	s := ts.newSender(t, ts.relayURL(TLSStartTLS, "", "pool=4"), Options{})
	const n = 25
	for range n {
		if err := s.Send(context.Background(), testEnv, raw); err != nil {
			t.Fatal(err)
		}
	}
	if sessions, _, msgs := be.counts(); sessions != 1 || msgs != n {
		t.Fatalf("%d connections for %d messages, want 1", sessions, msgs)
	}
	if s.Idle() != 1 {
		t.Fatalf("%d idle connections", s.Idle())
	}
	checkDelivered(t, be, n)
}

// TestSendConcurrent sends 200 messages from 8 goroutines through a pool
// of 4: each arrives exactly once, over at most 4 connections.
func TestSendConcurrent(t *testing.T) {
	t.Parallel()
	be := &testBackend{}
	ts := startServer(t, be, TLSStartTLS)
	s := ts.newSender(t, ts.relayURL(TLSStartTLS, "", "pool=4"), Options{})
	_, edKey, lookup := testKeys(t)
	const goroutines, total = 8, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := g; i < total; i += goroutines {
				m := sampleMessage()
				m.MessageID = fmt.Sprintf("<inv-%03d@avis.example>", i)
				m.Headers["X-Avis-Invitation"] = fmt.Sprint(i)
				raw, err := Build(m, testNow, edKey)
				if err != nil {
					t.Error(err)
					return
				}
				if err := s.Send(context.Background(), testEnv, raw); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	sessions, _, _ := be.counts()
	if sessions > 4 {
		t.Fatalf("%d connections for a pool of 4", sessions)
	}
	seen := map[string]bool{}
	for _, m := range be.messages() {
		msg, err := mail.ReadMessage(bytes.NewReader(m.data))
		if err != nil {
			t.Fatal(err)
		}
		id := msg.Header.Get("Message-ID")
		if seen[id] {
			t.Fatalf("%s received twice", id)
		}
		seen[id] = true
		verifyDKIM(t, m.data, edKey, lookup, signedFields...)
	}
	if len(seen) != total {
		t.Fatalf("%d distinct messages received, want %d", len(seen), total)
	}
}

// TestSendContextDeadline checks a relay that stalls does not hold Send
// past its context's deadline, and that the error says it timed out.
func TestSendContextDeadline(t *testing.T) {
	t.Parallel()
	raw := buildSample(t)
	release := make(chan struct{})
	be := &testBackend{}
	be.data = func(_ *smtp.Conn, r io.Reader) error {
		_, _ = io.ReadAll(r)
		<-release
		return nil
	}
	ts := startServer(t, be, TLSNone)
	defer close(release)
	s := ts.newSender(t, ts.relayURL(TLSNone, "", ""), Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Send(ctx, testEnv, raw)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Send took %s past a 300 ms deadline", d)
	}
	se := sendError(t, err)
	if !se.Temporary || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%+v", se)
	}
	if s.Idle() != 0 {
		t.Fatal("a connection in an unknown state went back to the pool")
	}
}

// TestSendDialDeadline checks a relay that accepts the connection but never
// greets does not hold Send past its context's deadline.
func TestSendDialDeadline(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	r, err := ParseRelayURL("smtp://" + l.Addr().String() + "?tls=none")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSMTP(r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Send(ctx, testEnv, buildSample(t))
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Send took %s past a 200 ms deadline", d)
	}
	if se := sendError(t, err); !se.Temporary || se.Stage != StageConnect || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%+v", se)
	}
}

// TestSendIdleTimeout checks idle connections are closed (with QUIT).
func TestSendIdleTimeout(t *testing.T) {
	t.Parallel()
	raw := buildSample(t)
	be := &testBackend{}
	ts := startServer(t, be, TLSNone)
	s := ts.newSender(t, ts.relayURL(TLSNone, "", ""), Options{IdleTimeout: 100 * time.Millisecond})
	if err := s.Send(context.Background(), testEnv, raw); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for s.Idle() != 0 || logouts(be) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d idle connections, %d sessions ended after the idle timeout", s.Idle(), logouts(be))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The next message dials again.
	if err := s.Send(context.Background(), testEnv, raw); err != nil {
		t.Fatal(err)
	}
	if sessions, _, _ := be.counts(); sessions != 2 {
		t.Fatalf("%d sessions", sessions)
	}
}

func logouts(be *testBackend) int {
	be.mu.Lock()
	defer be.mu.Unlock()
	return be.logouts
}

// TestSendRateLimit checks rate=50 holds 30 messages to about half a
// second (4 may start at once).
func TestSendRateLimit(t *testing.T) {
	t.Parallel()
	raw := buildSample(t)
	be := &testBackend{}
	ts := startServer(t, be, TLSNone)
	s := ts.newSender(t, ts.relayURL(TLSNone, "", "pool=4&rate=50"), Options{})
	start := time.Now()
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() {
			if err := s.Send(context.Background(), testEnv, raw); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if d := time.Since(start); d < 480*time.Millisecond {
		t.Fatalf("30 messages at 50/s took %s", d)
	}
	// A deadline shorter than the wait for a token fails at once, as
	// temporary, without touching the relay.
	slow := ts.newSender(t, ts.relayURL(TLSNone, "", "pool=4&rate=0.5"), Options{})
	if err := slow.Send(context.Background(), testEnv, raw); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start = time.Now()
	se := sendError(t, slow.Send(ctx, testEnv, raw))
	if !se.Temporary || se.Stage != StageRate || !errors.Is(se, context.DeadlineExceeded) || time.Since(start) > 100*time.Millisecond {
		t.Fatalf("%+v after %s", se, time.Since(start))
	}
	if _, _, msgs := be.counts(); msgs != 31 {
		t.Fatalf("%d messages", msgs)
	}
}

// TestSendEnvelopeAndClose checks envelope validation and Close.
func TestSendEnvelopeAndClose(t *testing.T) {
	t.Parallel()
	raw := buildSample(t)
	be := &testBackend{}
	ts := startServer(t, be, TLSNone)
	s := ts.newSender(t, ts.relayURL(TLSNone, "", ""), Options{})
	for _, env := range []Envelope{
		{From: "bounce@shop.example", To: "zoe@customer.example>\r\nRCPT TO:<x@evil.example"},
		{From: "bounce@shop.example", To: "no-at-sign"},
		{From: "", To: "zoe@customer.example"},
	} {
		se := sendError(t, s.Send(context.Background(), env, raw))
		if se.Temporary || se.Stage != StageEnvelope || strings.Contains(se.Error(), "zoe") {
			t.Fatalf("%+v", se)
		}
	}
	if sessions, _, _ := be.counts(); sessions != 0 {
		t.Fatal("connected for a bad envelope")
	}
	if err := s.Send(context.Background(), testEnv, raw); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), testEnv, raw); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for logouts(be) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("Close did not end the session")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestScrub(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"<zoe@customer.example>: Recipient address rejected", "<[address]>: Recipient address rejected"},
		{"mailbox zoe.o'neil+tag@sub.customer.example unavailable", "mailbox [address] unavailable"},
		{`"Zoë" zoë@exämple.fr full`, `"Zoë" [address] full`},
		{"line one\nline two\r\x00", "line one line two"},
		{strings.Repeat("é", 400), strings.Repeat("é", 150) + "…"},
	}
	for _, tt := range tests {
		if got := scrub(tt.in); got != tt.want {
			t.Errorf("scrub(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	enh, text := parseReply("5.1.1 <zoe@customer.example>: unknown\n5.1.1 see https://help.example/x")
	if enh != "5.1.1" || text != "<[address]>: unknown see https://help.example/x" {
		t.Fatalf("parseReply: %q %q", enh, text)
	}
}

// TestSendOverSize checks a message over the relay's SIZE is refused before
// it is sent, as a permanent error, and the connection stays usable.
func TestSendOverSize(t *testing.T) {
	t.Parallel()
	be := &testBackend{}
	ts := startServer(t, be, TLSNone) // SIZE 1 MiB
	s := ts.newSender(t, ts.relayURL(TLSNone, "", "pool=1"), Options{})
	m := sampleMessage()
	m.HTML = strings.Repeat("<p>Bonjour</p>\n", 80000)
	big, err := Build(m, testNow, nil)
	if err != nil {
		t.Fatal(err)
	}
	se := sendError(t, s.Send(context.Background(), testEnv, big))
	if se.Temporary || se.HardBounce || se.Code != 552 || se.Stage != StageSize {
		t.Fatalf("%+v", se)
	}
	if err := s.Send(context.Background(), testEnv, buildSample(t)); err != nil {
		t.Fatal(err)
	}
	if sessions, _, msgs := be.counts(); sessions != 1 || msgs != 1 {
		t.Fatalf("%d connections, %d messages", sessions, msgs)
	}
}

// refusingBackend answers RCPT TO with rcpt and the message with data (each
// when not nil) until stop is called, then takes messages.
func refusingBackend(rcpt, data error) (be *testBackend, stop func()) {
	var mu sync.Mutex
	fail := true
	be = &testBackend{}
	be.rcpt = func(string) error {
		mu.Lock()
		defer mu.Unlock()
		if fail && rcpt != nil {
			return rcpt
		}
		return nil
	}
	be.data = func(_ *smtp.Conn, r io.Reader) error {
		b, _ := io.ReadAll(r)
		mu.Lock()
		defer mu.Unlock()
		if fail && data != nil {
			return data
		}
		be.mu.Lock()
		be.msgs = append(be.msgs, received{from: testEnv.From, to: testEnv.To, data: b})
		be.mu.Unlock()
		return nil
	}
	return be, func() {
		mu.Lock()
		fail = false
		mu.Unlock()
	}
}
