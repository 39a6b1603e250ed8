package sms

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	testAccountSID = "AC0123456789abcdef0123456789abcdef"
	testAuthToken  = "test-auth-token"
)

// twilioCreated is the 201 answer documented for Create a Message.
const twilioCreated = `{
  "account_sid": "AC0123456789abcdef0123456789abcdef",
  "api_version": "2010-04-01",
  "body": "redacted",
  "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
  "date_sent": null,
  "direction": "outbound-api",
  "error_code": null,
  "error_message": null,
  "from": "Avis",
  "messaging_service_sid": null,
  "num_media": "0",
  "num_segments": "2",
  "price": null,
  "price_unit": "USD",
  "sid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
  "status": "queued",
  "to": "+33639981234",
  "uri": "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/SM1f0e8ae6ade43cb3c0ce4525424e404f.json"
}`

func newTestTwilio(t *testing.T, base string, edit func(*TwilioConfig)) *Twilio {
	t.Helper()
	cfg := TwilioConfig{
		Common:         Common{From: "Avis", Countries: []string{"FR", "BE"}},
		BaseURL:        base,
		AccountSID:     testAccountSID,
		AuthToken:      testAuthToken,
		StatusCallback: "https://avis.example/hooks/sms/twilio/status",
	}
	if edit != nil {
		edit(&cfg)
	}
	tw, err := NewTwilio(cfg, Deps{Now: func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return tw
}

// TestTwilioRequest checks the request against the documented Create a
// Message call, field by field.
func TestTwilioRequest(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, reply(http.StatusCreated, twilioCreated))
	tw := newTestTwilio(t, srv.URL, nil)
	text := "Bonjour, votre avis sur votre séjour ? https://avis.example/s/tok " + strings.Repeat("x", 120)
	res, err := tw.Send(context.Background(), Message{To: frMobile, Text: text, Reference: "01JNV3K6Q5X8ZC4R7T2W9Y0B1D"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ProviderID != "SM1f0e8ae6ade43cb3c0ce4525424e404f" || res.Segments != 2 {
		t.Fatalf("result %+v", res)
	}
	r := srv.last()
	if r.Method != http.MethodPost || r.Path != "/2010-04-01/Accounts/"+testAccountSID+"/Messages.json" || r.RawQuery != "" {
		t.Fatalf("request %s %s?%s", r.Method, r.Path, r.RawQuery)
	}
	req := &http.Request{Header: r.Header}
	if u, p, ok := req.BasicAuth(); !ok || u != testAccountSID || p != testAuthToken {
		t.Fatalf("basic auth %q %q %v", u, p, ok)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Fatalf("content type %q", ct)
	}
	form, err := url.ParseQuery(string(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{
		"To":             {frMobile},
		"From":           {"Avis"},
		"Body":           {text},
		"StatusCallback": {"https://avis.example/hooks/sms/twilio/status?ref=01JNV3K6Q5X8ZC4R7T2W9Y0B1D"},
	}
	if form.Encode() != want.Encode() {
		t.Fatalf("form\n got %v\nwant %v", form, want)
	}
}

func TestTwilioMessagingService(t *testing.T) {
	t.Parallel()
	// A Messaging Service reports num_segments "0" until it picks a sender.
	srv := newRecorder(t, reply(http.StatusCreated, `{"sid":"SMaaa","num_segments":"0","status":"accepted"}`))
	tw := newTestTwilio(t, srv.URL, func(c *TwilioConfig) {
		c.From, c.MessagingServiceSID, c.StatusCallback = "", "MG0123456789abcdef0123456789abcdef", ""
	})
	res, err := tw.Send(context.Background(), Message{To: frMobile, Text: "Merci 🙂"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ProviderID != "SMaaa" || res.Segments != 1 {
		t.Fatalf("result %+v", res)
	}
	form, _ := url.ParseQuery(string(srv.last().Body))
	want := url.Values{"To": {frMobile}, "MessagingServiceSid": {"MG0123456789abcdef0123456789abcdef"}, "Body": {"Merci 🙂"}}
	if form.Encode() != want.Encode() {
		t.Fatalf("form %v", form)
	}
}

// TestTwilioDefaultCallback: a configuration without status_callback has
// Twilio post its receipts to avis's own hook for the tenant; one that
// names a callback keeps it.
func TestTwilioDefaultCallback(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, reply(http.StatusCreated, `{"sid":"SMbbb","num_segments":"1","status":"queued"}`))
	for _, tc := range []struct {
		name, configured, want string
	}{
		{"none configured", "", "https://avis.example/hooks/sms/01TENANT/twilio/status?ref=R1"},
		{"configured", "https://crm.example/twilio", "https://crm.example/twilio?ref=R1"},
	} {
		cfg := TwilioConfig{Common: Common{From: "Boutique"}, BaseURL: srv.URL, AccountSID: "AC0123456789abcdef0123456789abcdef",
			AuthToken: "secret", StatusCallback: tc.configured}
		tw, err := NewTwilio(cfg, Deps{Hooks: "https://avis.example/hooks/sms/01TENANT"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Send(context.Background(), Message{To: frMobile, Text: "Merci", Reference: "R1"}); err != nil {
			t.Fatal(err)
		}
		form, _ := url.ParseQuery(string(srv.last().Body))
		if got := form.Get("StatusCallback"); got != tc.want {
			t.Errorf("%s: StatusCallback %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestTwilioErrors answers with Twilio's documented error bodies.
func TestTwilioErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		body       string
		headers    []string
		kind       string
		retryAfter time.Duration
		code       string
	}{
		{"invalid To", 400, `{"code": 21211, "message": "The 'To' number +33639981234 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}`, nil, "unsupported", 0, "21211"},
		{"region not enabled", 400, `{"code": 21408, "message": "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: +33639981234.", "status": 400}`, nil, "unsupported", 0, "21408"},
		{"not SMS-capable", 400, `{"code": 21614, "message": "'To' number is not a valid mobile number", "status": 400}`, nil, "unsupported", 0, "21614"},
		{"unsubscribed", 400, `{"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}`, nil, "permanent", 0, "21610"},
		{"bad sender", 400, `{"code": 21606, "message": "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination/account", "status": 400}`, nil, "permanent", 0, "21606"},
		{"auth", 401, `{"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}`, nil, "auth", 0, "20003"},
		{"rate limited", 429, `{"code": 20429, "message": "Too Many Requests", "status": 429}`, []string{"Retry-After", "7"}, "ratelimited", 7 * time.Second, "20429"},
		{"rate limited, date", 429, `{"code": 20429, "message": "Too Many Requests", "status": 429}`, []string{"Retry-After", "Sun, 01 Mar 2026 12:01:00 GMT"}, "ratelimited", time.Minute, "20429"},
		{"server error", 500, `{"code": 20500, "message": "Internal Server Error", "status": 500}`, nil, "temporary", 0, "20500"},
		{"bad gateway, HTML", 502, `<html>Bad Gateway</html>`, nil, "temporary", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newRecorder(t, reply(tt.status, tt.body, tt.headers...))
			tw := newTestTwilio(t, srv.URL, nil)
			text := "Votre avis compte"
			_, err := tw.Send(context.Background(), Message{To: frMobile, Text: text})
			se := sendErr(t, err)
			if kindOf(se) != tt.kind || se.RetryAfter != tt.retryAfter || se.Code != tt.code || se.Status != tt.status {
				t.Errorf("got %s retry %v code %q status %d: %v", kindOf(se), se.RetryAfter, se.Code, se.Status, err)
			}
			assertNoPersonalData(t, err, frMobile, text)
		})
	}
}

func TestTwilioRefusesBeforeCalling(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, reply(http.StatusCreated, twilioCreated))
	tw := newTestTwilio(t, srv.URL, nil) // countries FR, BE
	tests := []struct {
		name string
		m    Message
		kind string
	}{
		{"country not allowed", Message{To: gbMobile, Text: "Hello"}, "unsupported"},
		{"not E.164", Message{To: "0639981234", Text: "Bonjour"}, "unsupported"},
		{"empty text", Message{To: frMobile, Text: "  "}, "permanent"},
		{"bad sender", Message{To: frMobile, From: "Far too long a name", Text: "Bonjour"}, "permanent"},
	}
	for _, tt := range tests {
		_, err := tw.Send(context.Background(), tt.m)
		if se := sendErr(t, err); kindOf(se) != tt.kind {
			t.Errorf("%s: %s: %v", tt.name, kindOf(se), err)
		}
		assertNoPersonalData(t, err, tt.m.To, tt.m.Text)
	}
	if n := srv.count(); n != 0 {
		t.Fatalf("%d requests reached the provider", n)
	}
}

func TestTwilioNetworkError(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, reply(201, twilioCreated))
	base := srv.URL
	srv.Close() // nothing listens any more
	tw := newTestTwilio(t, base, nil)
	_, err := tw.Send(context.Background(), Message{To: frMobile, Text: "Bonjour"})
	if se := sendErr(t, err); !se.Temporary {
		t.Fatalf("closed server: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = tw.Send(ctx, Message{To: frMobile, Text: "Bonjour"})
	if se := sendErr(t, err); !se.Temporary || !strings.Contains(err.Error(), "canceled") {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestTwilioConfig(t *testing.T) {
	t.Parallel()
	ok := TwilioConfig{AccountSID: testAccountSID, AuthToken: "x", Common: Common{From: "Avis"}}
	tests := []struct {
		name string
		edit func(*TwilioConfig)
		err  string
	}{
		{"ok", func(*TwilioConfig) {}, ""},
		{"no sid", func(c *TwilioConfig) { c.AccountSID = "" }, "account_sid is required"},
		{"no token", func(c *TwilioConfig) { c.AuthToken = "" }, "auth_token is required"},
		{"no sender", func(c *TwilioConfig) { c.From = "" }, "set from"},
		{"plain http", func(c *TwilioConfig) { c.BaseURL = "http://api.example.com" }, "must use https://"},
		{"bad callback", func(c *TwilioConfig) { c.StatusCallback = "/relative" }, "status_callback"},
		{"bad country", func(c *TwilioConfig) { c.Countries = []string{"France"} }, "not an ISO 3166-1"},
	}
	for _, tt := range tests {
		c := ok
		tt.edit(&c)
		err := c.Validate()
		if (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.err)
		}
	}
}
