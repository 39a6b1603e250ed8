package sms

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// TestVerifyTwilioSignature uses the example of Twilio's security guide:
// auth token 12345, the URL and parameters below sign to
// 0/KCTR6DLpKmkAf8muzZqo1nDgQ=.
func TestVerifyTwilioSignature(t *testing.T) {
	t.Parallel()
	const token = "12345"
	const sig = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
	form := url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {"+12349013030"},
		"Digits":  {"1234"},
		"From":    {"+12349013030"},
		"To":      {"+18005551212"},
	}
	const u = "https://mycompany.com/myapp.php?foo=1&bar=2"
	tests := []struct {
		name  string
		token string
		url   string
		form  url.Values
		sig   string
		want  bool
	}{
		{"documented example", token, u, form, sig, true},
		{"default port added", token, "https://mycompany.com:443/myapp.php?foo=1&bar=2", form, sig, true},
		{"other URL", token, "https://mycompany.com/myapp.php?foo=1&bar=3", form, sig, false},
		{"other token", "54321", u, form, sig, false},
		{"tampered parameter", token, u, url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"9999"}, "From": {"+12349013030"}, "To": {"+18005551212"}}, sig, false},
		{"empty signature", token, u, form, "", false},
		{"empty token", "", u, form, sig, false},
		{"garbage signature", token, u, form, "not base64!", false},
	}
	for _, tt := range tests {
		if got := VerifyTwilioSignature(tt.token, tt.url, tt.form, tt.sig); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestParseTwilioStatus(t *testing.T) {
	t.Parallel()
	base := func(kv ...string) url.Values {
		v := url.Values{"AccountSid": {testAccountSID}, "From": {"Avis"}, "To": {frMobile}, "ApiVersion": {"2010-04-01"}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		name string
		form url.Values
		want Receipt
		err  string
	}{
		{"delivered", base("MessageSid", "SM123", "MessageStatus", "delivered", "ref", "inv-1"), Receipt{"SM123", "inv-1", StatusDelivered, ""}, ""},
		{"sent", base("MessageSid", "SM123", "MessageStatus", "sent"), Receipt{"SM123", "", StatusSent, ""}, ""},
		{"queued", base("MessageSid", "SM123", "MessageStatus", "queued"), Receipt{"SM123", "", StatusQueued, ""}, ""},
		{"undelivered with code", base("MessageSid", "SM123", "MessageStatus", "undelivered", "ErrorCode", "30003"), Receipt{"SM123", "", StatusUndelivered, "30003"}, ""},
		{"failed", base("MessageSid", "SM123", "MessageStatus", "failed", "ErrorCode", "30007"), Receipt{"SM123", "", StatusFailed, "30007"}, ""},
		{"legacy names", base("SmsSid", "SM9", "SmsStatus", "delivered"), Receipt{"SM9", "", StatusDelivered, ""}, ""},
		{"no sid", base("MessageStatus", "delivered"), Receipt{}, "MessageSid is missing"},
		{"inbound status", base("MessageSid", "SM1", "MessageStatus", "received"), Receipt{}, "not a status"},
		{"bad ref", base("MessageSid", "SM1", "MessageStatus", "sent", "ref", "a b"), Receipt{}, "ref has characters"},
	}
	for _, tt := range tests {
		got, err := ParseTwilioStatus(tt.form)
		if got != tt.want || !errMatches(err, tt.err) {
			t.Errorf("%s: %+v, %v; want %+v, %q", tt.name, got, err, tt.want, tt.err)
		}
	}
}

func TestParseTwilioInbound(t *testing.T) {
	t.Parallel()
	in, err := ParseTwilioInbound(url.Values{"MessageSid": {"SM1"}, "From": {frMobile}, "To": {"+33199001234"}, "Body": {"Stop\u0007"}, "NumSegments": {"1"}})
	if err != nil || in != (Inbound{ProviderID: "SM1", From: frMobile, Text: "Stop"}) {
		t.Fatalf("%+v %v", in, err)
	}
	for _, from := range []string{"", "whatsapp:+33639981234", "0639981234"} {
		if _, err := ParseTwilioInbound(url.Values{"MessageSid": {"SM1"}, "From": {from}, "Body": {"x"}}); !errors.Is(err, ErrCallback) || strings.Contains(err.Error(), "639981234") {
			t.Errorf("From %q: %v", from, err)
		}
	}
}

func TestParseOVHReceipt(t *testing.T) {
	t.Parallel()
	q := func(raw string) url.Values { v, _ := url.ParseQuery(raw); return v }
	tests := []struct {
		name  string
		query string
		want  Receipt
		err   string
	}{
		{"delivered", "id=26929925&dlr=1&ptt=13&date=1772366500&description=Delivered", Receipt{"26929925", "", StatusDelivered, ""}, ""},
		{"not delivered", "id=26929925&dlr=2&ptt=2001&description=Error", Receipt{"26929925", "", StatusUndelivered, "2001"}, ""},
		{"buffered", "id=26929925&dlr=4&ptt=1", Receipt{"26929925", "", StatusSent, ""}, ""},
		{"at SMSC", "id=26929925&dlr=8", Receipt{"26929925", "", StatusSent, ""}, ""},
		{"rejected, tag", "id=26929925&dlr=16&ptt=4&tag=inv-42", Receipt{"26929925", "inv-42", StatusFailed, "4"}, ""},
		{"no id", "dlr=1", Receipt{}, "id is missing"},
		{"no dlr", "id=1", Receipt{}, "dlr is missing"},
		{"bad dlr", "id=1&dlr=3", Receipt{}, "dlr is not"},
	}
	for _, tt := range tests {
		got, err := ParseOVHReceipt(q(tt.query))
		if got != tt.want || !errMatches(err, tt.err) {
			t.Errorf("%s: %+v, %v; want %+v, %q", tt.name, got, err, tt.want, tt.err)
		}
	}
}

func TestParseOVHInbound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		v      url.Values
		region string
		want   Inbound
		err    string
	}{
		{"E.164", url.Values{"id": {"77"}, "senderid": {frMobile}, "message": {"STOP"}, "tag": {"inv-42"}, "shortcode": {"38100"}}, "FR", Inbound{"77", frMobile, "STOP", "inv-42"}, ""},
		{"national", url.Values{"id": {"78"}, "senderid": {"0639981234"}, "message": {"Arrêt"}}, "FR", Inbound{"78", frMobile, "Arrêt", ""}, ""},
		{"00 prefix", url.Values{"senderid": {"0033639981234"}, "message": {"oui"}}, "FR", Inbound{"", frMobile, "oui", ""}, ""},
		{"no sender", url.Values{"message": {"STOP"}}, "FR", Inbound{}, "senderid is missing"},
		{"junk sender", url.Values{"senderid": {"abc"}, "message": {"STOP"}}, "FR", Inbound{}, "not a phone number"},
		{"national without region", url.Values{"senderid": {"0639981234"}, "message": {"STOP"}}, "", Inbound{}, "not a phone number"},
		{"bad UTF-8", url.Values{"senderid": {frMobile}, "message": {"\xff"}}, "FR", Inbound{}, "UTF-8"},
	}
	for _, tt := range tests {
		got, err := ParseOVHInbound(tt.v, tt.region)
		if got != tt.want || !errMatches(err, tt.err) {
			t.Errorf("%s: %+v, %v; want %+v, %q", tt.name, got, err, tt.want, tt.err)
		}
		if err != nil && strings.Contains(err.Error(), "639981234") {
			t.Errorf("%s: error quotes the number", tt.name)
		}
	}
}

func TestGenericCallbacks(t *testing.T) {
	t.Parallel()
	r, err := ParseGenericReceipt([]byte(`{"id":"msg-981","reference":"inv-1","status":"undelivered","error_code":"EXPIRED","extra":1}`))
	if err != nil || r != (Receipt{"msg-981", "inv-1", StatusUndelivered, "EXPIRED"}) {
		t.Fatalf("%+v %v", r, err)
	}
	for _, bad := range []string{``, `[]`, `{"status":"delivered"}`, `{"id":"a","status":"lost"}`, `{"id":"a","status":"sent"} {}`, `{"id":7,"status":"sent"}`} {
		if _, err := ParseGenericReceipt([]byte(bad)); !errors.Is(err, ErrCallback) {
			t.Errorf("receipt %s: %v", bad, err)
		}
	}
	in, err := ParseGenericInbound([]byte(`{"id":"in-1","from":"+33639981234","text":"Stop merci"}`))
	if err != nil || in != (Inbound{"in-1", frMobile, "Stop merci", ""}) {
		t.Fatalf("%+v %v", in, err)
	}
	if _, err := ParseGenericInbound([]byte(`{"from":"0639981234","text":"x"}`)); !errors.Is(err, ErrCallback) {
		t.Errorf("national number accepted: %v", err)
	}

	body := []byte(`{"id":"msg-981","status":"delivered"}`)
	sig := SignGeneric("shared", body)
	if !strings.HasPrefix(sig, "sha256=") || !VerifyGenericSignature("shared", body, sig) {
		t.Fatalf("signature %q does not verify", sig)
	}
	if VerifyGenericSignature("other", body, sig) || VerifyGenericSignature("shared", append(body, ' '), sig) || VerifyGenericSignature("", body, SignGeneric("", body)) {
		t.Fatal("a wrong signature verifies")
	}
}

func TestIsStop(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"STOP": true, "stop": true, " Stop. ": true, "STOP!!!": true, "stop 🙏": true,
		"STOP SMS": true, "stop-sms": true, "Stop merci": true, "STOP svp": true,
		"ARRET": true, "Arrêt": true, "ARRÊT !": true, "arreter": true,
		"STOPP": true, "Baja": true, "ALTO": true, "cancel": true, "Unsubscribe": true,
		"END": true, "quit.": true, "STOPALL": true, "stop all": true,
		"": false, "   ": false, "?": false, "Merci": false, "non stop": false,
		"End of story": false, "Alto saxophone": false, "S T O P": false, "stopper": false,
		"Quit smoking": false, "Super séjour, merci": false,
	}
	for in, want := range tests {
		if got := IsStop(in); got != want {
			t.Errorf("IsStop(%q) = %v, want %v", in, got, want)
		}
	}
}

func errMatches(err error, want string) bool {
	if want == "" {
		return err == nil
	}
	return err != nil && errors.Is(err, ErrCallback) && strings.Contains(err.Error(), want)
}
