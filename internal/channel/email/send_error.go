package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail/smtp"
)

// Stages of a delivery, as SendError.Stage names them.
const (
	StageEnvelope = "envelope" // the envelope addresses were refused before sending
	StageConnect  = "connect"  // TCP connection and the server's greeting
	StageTLS      = "tls"      // STARTTLS or the implicit TLS handshake
	StageHello    = "ehlo"     // EHLO/HELO
	StageAuth     = "auth"     // AUTH
	StageReset    = "rset"     // RSET before reusing a connection
	StageMail     = "mail"     // MAIL FROM
	StageRcpt     = "rcpt"     // RCPT TO
	StageData     = "data"     // DATA, the message, and the final reply
	StageSize     = "size"     // the message is over the relay's SIZE limit
	StageRate     = "rate"     // waiting for the relay's rate limit
)

// SendError is the error of every failed Send. The caller inspects it with
// errors.As to decide: retry later (Temporary), stop writing to the address
// (HardBounce), stop everything and tell the admin (Auth), or give the
// message up (none of the three). It never holds an email address.
type SendError struct {
	// Temporary means the same message may succeed later (4xx replies,
	// network errors, timeouts, a connection dropped mid-message).
	Temporary bool
	// HardBounce means the recipient's address does not exist or is
	// disabled (RCPT 5.1.x or 5.2.1; 550, 551 or 553 without an enhanced
	// code): the address should be suppressed.
	HardBounce bool
	// Auth means the relay refused the credentials (530, 534, 535, 538) or
	// they could not be sent safely: no message will go through this relay
	// until its configuration is fixed, and the sender refuses every later
	// Send with the same error.
	Auth bool
	// RateLimited means the relay asked to slow down (421, or 4xx with a
	// 4.7.x status): no message goes to it for RetryAfter, and the caller
	// should put this one back for at least that long without counting it
	// as a failed attempt. Temporary is true as well.
	RateLimited bool
	// RetryAfter is how long the relay is paused, when RateLimited.
	RetryAfter time.Duration
	// Code is the SMTP reply code, 0 when the server did not reply.
	Code int
	// EnhancedCode is the RFC 3463 status ("5.1.1"), when the server gave one.
	EnhancedCode string
	// Msg is the server's reply text with every email address scrubbed, or
	// a description of the local failure.
	Msg string
	// Stage is the step that failed (StageConnect, StageRcpt, …).
	Stage string
	// Err is the underlying network, TLS or context error, if any (never
	// the server's reply, which may hold an address).
	Err error
}

// Error returns "email: smtp <stage>: <code> <enhanced> <text> (<kind>)".
func (e *SendError) Error() string {
	var b strings.Builder
	b.WriteString("email: smtp ")
	b.WriteString(e.Stage)
	b.WriteString(": ")
	if e.Code != 0 {
		b.WriteString(strconv.Itoa(e.Code))
		b.WriteByte(' ')
	}
	if e.EnhancedCode != "" {
		b.WriteString(e.EnhancedCode)
		b.WriteByte(' ')
	}
	b.WriteString(e.Msg)
	if e.Err != nil && e.Msg == "" {
		b.WriteString(e.Err.Error())
	}
	switch {
	case e.Auth:
		b.WriteString(" (authentication failed: check the relay's user and password)")
	case e.HardBounce:
		b.WriteString(" (hard bounce)")
	case e.RateLimited:
		b.WriteString(" (the relay asked to slow down: paused for " + e.RetryAfter.String() + ")")
	case e.Temporary:
		b.WriteString(" (temporary)")
	default:
		b.WriteString(" (permanent)")
	}
	return b.String()
}

// Unwrap returns the underlying network, TLS or context error.
func (e *SendError) Unwrap() error { return e.Err }

// emailLike matches anything that looks like an email address, bracketed
// or not, with or without a display name's quotes around it.
var emailLike = regexp.MustCompile(`[^\s<>()\[\]",;:]*@[^\s<>()\[\]",;:]*`)

// enhancedCode matches an RFC 3463 status at the start of a reply line.
var enhancedCode = regexp.MustCompile(`^([245]\.\d{1,3}\.\d{1,3})(?:\s+|$)`)

// maxErrorText is the longest reply text kept in a SendError.
const maxErrorText = 300

// scrub removes email addresses, control characters and excess length from
// a server's reply text.
func scrub(s string) string {
	s = emailLike.ReplaceAllString(s, "[address]")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > maxErrorText {
		cut := maxErrorText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// parseReply splits a (possibly multi-line) reply text into its enhanced
// status code and its scrubbed text.
func parseReply(msg string) (enhanced, text string) {
	lines := strings.Split(msg, "\n")
	for i, line := range lines {
		if m := enhancedCode.FindStringSubmatch(line); m != nil {
			if enhanced == "" {
				enhanced = m[1]
			}
			lines[i] = line[len(m[0]):]
		}
	}
	return enhanced, scrub(strings.Join(lines, " "))
}

// isAuthCode reports whether code means the relay refused the credentials.
func isAuthCode(code int) bool {
	switch code {
	case 530, 534, 535, 538:
		return true
	}
	return false
}

// classify turns an error of the given stage into a *SendError. ctx is the
// Send's context: a failure after it ended is a timeout, whatever the
// connection said.
func classify(ctx context.Context, stage string, err error) *SendError {
	var se *SendError
	if errors.As(err, &se) {
		return se
	}
	e := &SendError{Stage: stage}
	ctxErr := ctx.Err()
	if d, ok := ctx.Deadline(); ok && ctxErr == nil && !time.Now().Before(d) {
		// The connection's deadline is the context's: it fires first.
		ctxErr = context.DeadlineExceeded
	}
	if ctxErr != nil {
		e.Temporary = true
		e.Err = ctxErr
		e.Msg = "gave up: " + ctxErr.Error()
		return e
	}
	var tpe *textproto.Error
	if errors.As(err, &tpe) {
		e.Code = tpe.Code
		e.EnhancedCode, e.Msg = parseReply(tpe.Msg)
		class := tpe.Code / 100
		switch {
		case isAuthCode(tpe.Code):
			e.Auth = true
		case class == 4:
			e.Temporary = true
		case class == 5:
			switch stage {
			case StageRcpt:
				e.HardBounce = isHardBounce(tpe.Code, e.EnhancedCode)
			case StageData:
				e.HardBounce = strings.HasPrefix(e.EnhancedCode, "5.1.")
			}
		default:
			// A reply out of sequence: the server is confused, not the
			// message wrong.
			e.Temporary = true
		}
		return e
	}
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalid):
		e.Stage = StageTLS
		e.Msg = "the relay's TLS certificate was refused: " + err.Error()
		return e
	case errors.Is(err, gomail.ErrUnencrypted):
		e.Auth = true
		e.Msg = "the password would be sent without TLS: use tls=starttls or tls=implicit"
		return e
	case errors.Is(err, gomail.ErrWrongHostname):
		e.Auth = true
		e.Msg = "the relay's name does not match the one the credentials are for"
		return e
	}
	// Network errors, EOF, a connection dropped: try again later.
	e.Temporary = true
	e.Err = err
	return e
}

// isHardBounce reports whether a 5xx RCPT reply says the address does not
// exist: an enhanced code 5.1.x (bad address) or 5.2.1 (mailbox disabled)
// decides; without one, 550, 551 and 553 do.
func isHardBounce(code int, enhanced string) bool {
	if enhanced != "" {
		return strings.HasPrefix(enhanced, "5.1.") || enhanced == "5.2.1"
	}
	return code == 550 || code == 551 || code == 553
}

// localError returns a permanent *SendError for a failure on avis's side.
func localError(stage, format string, args ...any) *SendError {
	return &SendError{Stage: stage, Msg: fmt.Sprintf(format, args...)}
}
