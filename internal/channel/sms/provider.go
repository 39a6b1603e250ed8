package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// Provider sends SMS through one provider account. Implementations are safe
// for concurrent use.
type Provider interface {
	// Name is the provider's configured name, for logs and metrics.
	Name() string
	// Send sends one message. A non-nil error is a *SendError.
	Send(ctx context.Context, m Message) (Result, error)
}

// Message is one SMS to send.
type Message struct {
	// To is the recipient in E.164 form (+33612345678).
	To string
	// From is the sender id: an alphanumeric name of 1 to 11 characters
	// (letters, digits and spaces, at least one letter) or an E.164
	// number. Empty means the provider's configured default.
	From string
	// Text is the message body.
	Text string
	// Reference is our id for the message (the invitation id). Providers
	// that can carry it hand it back in delivery receipts.
	Reference string
}

// Result is what a provider says about an accepted message.
type Result struct {
	// ProviderID is the provider's id for the message, which its delivery
	// receipts carry. It may be empty for a generic provider whose
	// response has no id.
	ProviderID string
	// Segments is the number of SMS segments billed: the provider's count
	// when it gives one, otherwise Analyse's.
	Segments int
	// Credits is what the provider says it charged, in its own units
	// (OVH: SMS credits); 0 when it does not say.
	Credits float64
}

// SendError says why a message was not sent and what to do about it. At
// most one of Temporary, RateLimited, Auth, Unsupported and Permanent is
// set. Its message never contains a phone number or the text.
type SendError struct {
	// Provider is the provider's name.
	Provider string
	// Temporary: a network error or a 5xx; try again later.
	Temporary bool
	// RateLimited: the provider said 429; wait RetryAfter (if non-zero)
	// before sending again through this provider.
	RateLimited bool
	// RetryAfter is the provider's Retry-After, 0 when it gave none.
	RetryAfter time.Duration
	// Permanent: this message will never be accepted as it is (bad sender,
	// empty text, recipient opted out, another 4xx).
	Permanent bool
	// Unsupported: the number is invalid or its country is not served;
	// do not retry, do not try this number again through this provider.
	Unsupported bool
	// Auth: the provider refused our credentials; fix the configuration.
	Auth bool
	// Status is the HTTP status, 0 when no response was received.
	Status int
	// Code is the provider's own error code, if any.
	Code string
	// Msg is a short explanation, scrubbed of phone numbers.
	Msg string
	// Err is the underlying error (network, context), if any.
	Err error
}

// Error returns "sms: PROVIDER: KIND (HTTP STATUS, code CODE): MSG".
func (e *SendError) Error() string {
	var b strings.Builder
	b.WriteString("sms: ")
	if e.Provider != "" {
		b.WriteString(e.Provider)
		b.WriteString(": ")
	}
	b.WriteString(e.kind())
	if e.RateLimited && e.RetryAfter > 0 {
		b.WriteString(", retry after ")
		b.WriteString(e.RetryAfter.String())
	}
	if e.Status != 0 || e.Code != "" {
		b.WriteString(" (")
		if e.Status != 0 {
			b.WriteString("HTTP ")
			b.WriteString(strconv.Itoa(e.Status))
		}
		if e.Code != "" {
			if e.Status != 0 {
				b.WriteString(", ")
			}
			b.WriteString("code ")
			b.WriteString(e.Code)
		}
		b.WriteString(")")
	}
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	return b.String()
}

func (e *SendError) kind() string {
	switch {
	case e.RateLimited:
		return "rate limited"
	case e.Temporary:
		return "temporary failure"
	case e.Auth:
		return "credentials refused"
	case e.Unsupported:
		return "number or destination not supported"
	default:
		return "message refused"
	}
}

// Unwrap returns the underlying error, so that errors.Is(err,
// context.DeadlineExceeded) works.
func (e *SendError) Unwrap() error { return e.Err }

// Retryable reports whether sending the same message later may succeed.
func (e *SendError) Retryable() bool { return e.Temporary || e.RateLimited }

// Deps are what a provider needs from outside.
type Deps struct {
	// HTTP is the client requests go through; nil means a client with a
	// 30-second timeout.
	HTTP *http.Client
	// Now is the clock (Retry-After dates, OVH timestamps); nil means
	// time.Now.
	Now func() time.Time
	// Hooks is the URL under which avis receives this tenant's provider
	// callbacks (https://avis.example/hooks/sms/{tenant}): a provider whose
	// configuration names no callback URL has its receipts sent there.
	Hooks string
}

func (d Deps) withDefaults() Deps {
	if d.HTTP == nil {
		d.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return d
}

func errorf(format string, a ...any) error { return fmt.Errorf("sms: "+format, a...) }

var e164RE = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// ValidE164 reports whether s has the form of an E.164 number: "+", a
// non-zero digit, then 6 to 14 more digits.
func ValidE164(s string) bool { return e164RE.MatchString(s) }

// ValidSender checks a sender id: an E.164 number, or an alphanumeric name
// of 1 to 11 characters from A-Z, a-z, 0-9 and space with at least one
// letter (what operators accept across Europe).
func ValidSender(s string) error {
	if ValidE164(s) {
		return nil
	}
	if s == "" {
		return errors.New("the sender is empty")
	}
	if utf8.RuneCountInString(s) > 11 {
		return errors.New("an alphanumeric sender has at most 11 characters")
	}
	letter := false
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
			letter = true
		case r >= '0' && r <= '9', r == ' ':
		default:
			return errors.New("an alphanumeric sender has only letters A-Z, digits and spaces")
		}
	}
	if !letter {
		return errors.New("a sender is an E.164 number (+33612345678) or a name with at least one letter")
	}
	if strings.TrimSpace(s) != s {
		return errors.New("a sender does not start or end with a space")
	}
	return nil
}

// Country returns the ISO 3166-1 alpha-2 code of the country an E.164
// number belongs to ("FR" for +33…), or "" when it cannot be told. For a
// calling code shared by several countries (+1, +44, +7) it is the
// country of the number's range, or the code's main country when the range
// is unknown.
func Country(e164 string) string {
	if !ValidE164(e164) {
		return ""
	}
	n, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return ""
	}
	if r := phonenumbers.GetRegionCodeForNumber(n); r != "" && r != "ZZ" && r != "001" {
		return r
	}
	if r := phonenumbers.GetRegionCodeForCountryCode(int(n.GetCountryCode())); r != "ZZ" && r != "001" {
		return r
	}
	return ""
}

// Common is the part of every provider's configuration that is not about
// the provider's API.
type Common struct {
	// Type selects the provider in Load: "twilio", "ovh" or "generic".
	Type string `json:"type"`
	// Name names the provider in errors, logs and metrics; it defaults to
	// Type.
	Name string `json:"name"`
	// From is the default sender id when a Message has none.
	From string `json:"from"`
	// Countries is the allow-list of destination countries (ISO 3166-1
	// alpha-2, e.g. ["FR","BE"]). Empty allows every country. A number
	// elsewhere is refused as Unsupported before any request.
	Countries []string `json:"countries"`
	// RatePerSecond is how many messages a second the caller may send
	// through this provider (see Limiter); 0 means no limit.
	RatePerSecond float64 `json:"rate_per_second"`
	// Burst is how many messages may go at once after a quiet spell; it
	// defaults to 1.
	Burst int `json:"burst"`
	// Prices is the tenant's price of one segment by destination country
	// (EUR; "*" for any other), for the cost shown before sending.
	Prices PriceTable `json:"prices_per_segment,omitempty"`
}

func (c *Common) validate(kind string) error {
	if c.Name == "" {
		c.Name = kind
	}
	if len(c.Name) > 64 || strings.ContainsFunc(c.Name, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return errorf("%s: the name must be printable and at most 64 characters", kind)
	}
	if c.From != "" {
		if err := ValidSender(c.From); err != nil {
			return errorf("%s: from: %w", c.Name, err)
		}
	}
	for i, cc := range c.Countries {
		cc = strings.ToUpper(strings.TrimSpace(cc))
		if !isCountryCode(cc) {
			return errorf("%s: countries: %q is not an ISO 3166-1 alpha-2 code (e.g. FR)", c.Name, c.Countries[i])
		}
		c.Countries[i] = cc
	}
	if c.RatePerSecond < 0 || c.RatePerSecond != c.RatePerSecond || c.RatePerSecond > 1e6 {
		return errorf("%s: rate_per_second must be a number from 0 (no limit) up", c.Name)
	}
	if c.Burst < 0 {
		return errorf("%s: burst must not be negative", c.Name)
	}
	if err := c.Prices.Validate(); err != nil {
		return errorf("%s: prices_per_segment: %w", c.Name, err)
	}
	return nil
}

// Prices reads the price table of a provider configuration (see Load),
// nil when it has none or cannot be read.
func Prices(config []byte) PriceTable {
	var c Common
	if json.Unmarshal(config, &c) != nil || c.Prices.Validate() != nil {
		return nil
	}
	return c.Prices
}

// NewLimiter returns a Limiter for RatePerSecond and Burst on clock (nil:
// the real clock), or nil when RatePerSecond is 0 (no limit).
func (c Common) NewLimiter(clock Clock) *Limiter {
	if c.RatePerSecond == 0 {
		return nil
	}
	return NewLimiter(c.RatePerSecond, max(c.Burst, 1), clock)
}

// prepare validates m against the configuration and returns the sender to
// use. Its errors are *SendError and never quote the number or the text.
func (c *Common) prepare(m Message, senderOptional bool) (string, error) {
	if !ValidE164(m.To) {
		return "", &SendError{Provider: c.Name, Unsupported: true, Msg: "the recipient is not an E.164 number"}
	}
	if len(c.Countries) > 0 {
		cc := Country(m.To)
		ok := false
		for _, a := range c.Countries {
			if a == cc {
				ok = true
				break
			}
		}
		if !ok {
			if cc == "" {
				cc = "unknown"
			}
			return "", &SendError{Provider: c.Name, Unsupported: true, Msg: "destination country " + cc + " is not in this provider's countries"}
		}
	}
	if strings.TrimSpace(m.Text) == "" {
		return "", &SendError{Provider: c.Name, Permanent: true, Msg: "the text is empty"}
	}
	if !utf8.ValidString(m.Text) {
		return "", &SendError{Provider: c.Name, Permanent: true, Msg: "the text is not valid UTF-8"}
	}
	from := m.From
	if from == "" {
		from = c.From
	}
	if from == "" {
		if senderOptional {
			return "", nil
		}
		return "", &SendError{Provider: c.Name, Permanent: true, Msg: "no sender: set from in the message or the configuration"}
	}
	if err := ValidSender(from); err != nil {
		return "", &SendError{Provider: c.Name, Permanent: true, Msg: "sender: " + err.Error()}
	}
	return from, nil
}

// digitsRE matches phone-number-like runs: six digits or more, possibly
// separated by spaces, dots, dashes or parentheses, possibly after a +.
var digitsRE = regexp.MustCompile(`[+(]?\d(?:[ .()\-]*\d){5,}`)

// Scrub makes a provider's message fit for an error string: digit runs of
// six digits or more (phone numbers) become "[redacted]", control
// characters become spaces, and the result is cut to 200 characters.
func Scrub(s string) string {
	s = digitsRE.ReplaceAllString(s, "[redacted]")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 200 {
		s = string([]rune(s)[:199]) + "…"
	}
	return s
}

// maxResponse bounds how much of a provider's response is read.
const maxResponse = 64 << 10

// response is what came back from a provider.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends req and reads the response. A transport failure is a
// Temporary *SendError whose message leaves out the URL (a generic
// provider's URL may carry the number or the text).
func do(hc *http.Client, name string, req *http.Request) (response, error) {
	res, err := hc.Do(req)
	if err != nil {
		inner := err
		var ue *url.Error
		if errors.As(err, &ue) {
			inner = ue.Err
		}
		msg := "network error"
		var ne net.Error
		switch {
		case errors.Is(inner, context.Canceled):
			msg = "canceled"
		case errors.Is(inner, context.DeadlineExceeded), errors.As(inner, &ne) && ne.Timeout():
			msg = "timeout"
		default:
			msg += ": " + Scrub(inner.Error())
		}
		return response{}, &SendError{Provider: name, Temporary: true, Msg: msg, Err: inner}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxResponse))
	if err != nil {
		return response{}, &SendError{Provider: name, Temporary: true, Status: res.StatusCode, Msg: "reading the response: " + Scrub(err.Error()), Err: err}
	}
	return response{status: res.StatusCode, header: res.Header, body: body}, nil
}

// classify turns an unsuccessful HTTP status into a *SendError: 429 is
// RateLimited (with Retry-After), 5xx Temporary, 401 and 403 Auth, any
// other status Permanent. The caller then marks Unsupported the errors its
// provider documents as an invalid or unserved number.
func classify(name string, res response, now time.Time, code, msg string) *SendError {
	e := &SendError{Provider: name, Status: res.status, Code: Scrub(code), Msg: Scrub(msg)}
	switch {
	case res.status == http.StatusTooManyRequests:
		e.RateLimited = true
		e.RetryAfter = retryAfter(res.header.Get("Retry-After"), now)
	case res.status >= 500:
		e.Temporary = true
	case res.status == http.StatusUnauthorized, res.status == http.StatusForbidden:
		e.Auth = true
	default:
		e.Permanent = true
	}
	if e.Msg == "" {
		e.Msg = http.StatusText(res.status)
	}
	return e
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
// The result is between 0 and 24 hours.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n > 86400 {
			n = 86400
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now).Round(time.Second)
	}
	return min(max(d, 0), 24*time.Hour)
}

// checkBaseURL checks a provider's base URL: absolute, https, or http on a
// loopback address (tests, local relays), with no query or fragment. It
// returns the URL without a trailing slash.
func checkBaseURL(name, field, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", errorf("%s: %s must be an absolute https:// URL", name, field)
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return "", errorf("%s: %s must use https:// (plain http is accepted only on a loopback address); the credentials would travel in clear", name, field)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", errorf("%s: %s must not have a query, a fragment or credentials", name, field)
	}
	return strings.TrimRight(raw, "/"), nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func asErr[T error](err error, target *T) bool { return errors.As(err, target) }
