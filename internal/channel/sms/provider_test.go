package sms

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Numbers from the ranges regulators reserve for fiction.
const (
	frMobile = "+33639981234" // ARCEP 06 39 98 xx xx
	gbMobile = "+447700900123"
	usNumber = "+12025550142"
)

func TestValidSender(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in string
		ok bool
	}{
		{"Avis", true},
		{"Hotel Lumen", true},
		{"ABCDEFGHIJK", true},
		{"ABCDEFGHIJKL", false}, // 12
		{"+33639981234", true},
		{"33639981234", false}, // digits only, no +
		{"12345", false},
		{"Avis!", false},
		{"Hôtel", false},
		{" Avis", false},
		{"", false},
	}
	for _, tt := range tests {
		if err := ValidSender(tt.in); (err == nil) != tt.ok {
			t.Errorf("ValidSender(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func TestCountry(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		frMobile:         "FR",
		"+32470123456":   "BE",
		gbMobile:         "GB",
		usNumber:         "US",
		"+4915112345678": "DE",
		"0612345678":     "",
		"+0612345678":    "",
	}
	for in, want := range tests {
		if got := Country(in); got != want {
			t.Errorf("Country(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScrub(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"The 'To' number +33639981234 is not a valid phone number.", "The 'To' number [redacted] is not a valid phone number."},
		{"Invalid receiver 06 39 98 12 34", "Invalid receiver [redacted]"},
		{"(202) 555-0142 unreachable", "[redacted] unreachable"},
		{"error 21211 at 12:30", "error 21211 at 12:30"},
		{"line\nbreak\tand\x00nul", "line break and nul"},
	}
	for _, tt := range tests {
		if got := Scrub(tt.in); got != tt.want {
			t.Errorf("Scrub(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := Scrub(strings.Repeat("x", 500)); len([]rune(got)) != 200 {
		t.Errorf("Scrub did not cut: %d runes", len([]rune(got)))
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"30", 30 * time.Second},
		{"-5", 0},
		{"999999", 24 * time.Hour},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.in, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestSendErrorMessage(t *testing.T) {
	t.Parallel()
	e := &SendError{Provider: "twilio", RateLimited: true, RetryAfter: 30 * time.Second, Status: 429, Code: "20429", Msg: "Too Many Requests"}
	if got, want := e.Error(), "sms: twilio: rate limited, retry after 30s (HTTP 429, code 20429): Too Many Requests"; got != want {
		t.Errorf("Error() = %q\nwant      %q", got, want)
	}
	if !e.Retryable() {
		t.Error("rate limited is not retryable")
	}
	wrapped := &SendError{Temporary: true, Err: context.DeadlineExceeded}
	if !errors.Is(wrapped, context.DeadlineExceeded) {
		t.Error("Unwrap does not reach the cause")
	}
}

func TestCheckBaseURL(t *testing.T) {
	t.Parallel()
	for in, ok := range map[string]bool{
		"https://api.twilio.com":   true,
		"https://api.twilio.com/":  true,
		"http://127.0.0.1:8080":    true,
		"http://localhost:1":       true,
		"http://api.example.com":   false,
		"ftp://api.example.com":    false,
		"https://u:p@api.example":  false,
		"https://api.example/?a=b": false,
		"api.example.com":          false,
	} {
		if _, err := checkBaseURL("p", "base_url", in); (err == nil) != ok {
			t.Errorf("checkBaseURL(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}

// recorder is a loopback HTTP server that records every request and
// answers with the handler the test sets.
type recorder struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recordedRequest
	handler  func(w http.ResponseWriter, r *http.Request, body []byte)
}

type recordedRequest struct {
	Method, Path, RawQuery, Host string
	Header                       http.Header
	Body                         []byte
}

func newRecorder(t *testing.T, h func(w http.ResponseWriter, r *http.Request, body []byte)) *recorder {
	t.Helper()
	rec := &recorder{handler: h}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 0, 512)
		buf := make([]byte, 512)
		for {
			n, err := r.Body.Read(buf)
			body = append(body, buf[:n]...)
			if err != nil {
				break
			}
		}
		rec.mu.Lock()
		rec.requests = append(rec.requests, recordedRequest{r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.Header.Clone(), body})
		h := rec.handler
		rec.mu.Unlock()
		h(w, r, body)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *recorder) count() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.requests)
}

func (rec *recorder) last() recordedRequest {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.requests[len(rec.requests)-1]
}

func (rec *recorder) set(h func(w http.ResponseWriter, r *http.Request, body []byte)) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.handler = h
}

// reply answers status with headers (name, value, …) and body.
func reply(status int, body string, headers ...string) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

// assertNoPersonalData fails if err's message holds the number (in any
// common spelling) or the text.
func assertNoPersonalData(t *testing.T, err error, number, text string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	digits := strings.TrimPrefix(number, "+")
	for _, s := range []string{number, digits, digits[2:], text} {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("error %q contains personal data %q", msg, s)
		}
	}
}

// sendErr returns err as a *SendError or fails.
func sendErr(t *testing.T, err error) *SendError {
	t.Helper()
	var se *SendError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *SendError", err, err)
	}
	return se
}

// kindOf names the one kind flag set on e.
func kindOf(e *SendError) string {
	var k []string
	for name, set := range map[string]bool{"temporary": e.Temporary, "ratelimited": e.RateLimited, "permanent": e.Permanent, "unsupported": e.Unsupported, "auth": e.Auth} {
		if set {
			k = append(k, name)
		}
	}
	if len(k) != 1 {
		return "flags:" + strings.Join(k, ",")
	}
	return k[0]
}
