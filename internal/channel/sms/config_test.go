package sms

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, reply(http.StatusCreated, twilioCreated))
	p, lim, err := Load([]byte(`{
		"type": "twilio", "name": "twilio-eu", "from": "Avis", "countries": ["fr", "BE"],
		"rate_per_second": 5, "burst": 2,
		"base_url": "`+srv.URL+`", "account_sid": "`+testAccountSID+`", "auth_token": "tok"
	}`), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "twilio-eu" || lim == nil {
		t.Fatalf("%q %v", p.Name(), lim)
	}
	if first, second, third := lim.Allow(), lim.Allow(), lim.Allow(); !first || !second || third {
		t.Fatal("the limiter does not have a burst of 2")
	}
	if _, err := p.Send(context.Background(), Message{To: frMobile, Text: "Bonjour"}); err != nil {
		t.Fatal(err) // "fr" was upper-cased
	}

	for name, ok := range map[string]string{
		"ovh":     `{"type":"ovh","from":"Avis","application_key":"a","application_secret":"s","consumer_key":"c","service_name":"sms-ab12345-1"}`,
		"generic": `{"type":"generic","url":"https://sms.example/send","body":"{{urlquery .Text}}"}`,
	} {
		if p, lim, err := Load([]byte(ok), Deps{}); err != nil || p.Name() != name || lim != nil {
			t.Errorf("%s: %v %v %v", name, p, lim, err)
		}
	}

	tests := []struct {
		name, json, err string
	}{
		{"not JSON", `{`, "not valid JSON"},
		{"no type", `{"name":"x"}`, `"type" is required`},
		{"unknown type", `{"type":"carrier-pigeon"}`, "unknown type"},
		{"misspelt field", `{"type":"twilio","acount_sid":"AC1","auth_token":"secret-value","from":"Avis"}`, `unknown field "acount_sid"`},
		{"wrong type", `{"type":"ovh","application_secret":12}`, `field "application_secret" should be a string`},
		{"invalid", `{"type":"ovh","application_key":"a"}`, "application_secret is required"},
		{"two values", `{"type":"generic","url":"https://x/"} {}`, "not valid JSON"},
	}
	for _, tt := range tests {
		_, _, err := Load([]byte(tt.json), Deps{})
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.err)
		}
		if err != nil && strings.Contains(err.Error(), "secret-value") {
			t.Errorf("%s: error quotes a secret", tt.name)
		}
	}
}
