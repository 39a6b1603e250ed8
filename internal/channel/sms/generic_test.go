package sms

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func newTestGeneric(t *testing.T, cfg GenericConfig) *Generic {
	t.Helper()
	g, err := NewGeneric(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGenericJSON(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, reply(http.StatusAccepted, `{"data":{"id":"msg-981","parts":2}}`))
	g := newTestGeneric(t, GenericConfig{
		Common:  Common{Name: "acme", From: "Avis"},
		URL:     srv.URL + "/v1/sms",
		Headers: map[string]string{"Authorization": "Bearer s3cret", "Content-Type": "application/json"},
		Body:    `{"to":{{json .To}},"from":{{json .From}},"text":{{json .Text}}{{if .Reference}},"ref":{{json .Reference}}{{end}}}`,
		IDPath:  "data.id",
	})
	text := "Il a dit \"super\" \\ merci\nà bientôt"
	res, err := g.Send(context.Background(), Message{To: frMobile, Text: text, Reference: "inv-1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ProviderID != "msg-981" || res.Segments != 1 {
		t.Fatalf("result %+v", res)
	}
	r := srv.last()
	if r.Method != http.MethodPost || r.Path != "/v1/sms" || r.Header.Get("Authorization") != "Bearer s3cret" || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("request %s %s %v", r.Method, r.Path, r.Header)
	}
	var got map[string]string
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	want := map[string]string{"to": frMobile, "from": "Avis", "text": text, "ref": "inv-1"}
	if len(got) != len(want) || got["text"] != text || got["to"] != frMobile || got["ref"] != "inv-1" || got["from"] != "Avis" {
		t.Fatalf("body %v", got)
	}
	// Without a reference, the {{if}} leaves the field out.
	g.Send(context.Background(), Message{To: frMobile, Text: "x"})
	if strings.Contains(string(srv.last().Body), "ref") {
		t.Fatalf("body %s", srv.last().Body)
	}
}

func TestGenericFormAndQuery(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, reply(http.StatusOK, `{"messages":[{"message-id":123456789012,"status":"0"}]}`))
	g := newTestGeneric(t, GenericConfig{
		Common:  Common{From: "Avis"},
		URL:     srv.URL + "/sms/json?api_key=k&to={{urlquery .To}}",
		Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		Body:    "from={{urlquery .From}}&text={{urlquery .Text}}&client-ref={{urlquery .Reference}}",
		IDPath:  "messages.0.message-id",
	})
	text := "A&B=C? 50% off €"
	res, err := g.Send(context.Background(), Message{To: frMobile, Text: text, Reference: "r 1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ProviderID != "123456789012" {
		t.Fatalf("id %q", res.ProviderID)
	}
	r := srv.last()
	q, _ := url.ParseQuery(r.RawQuery)
	form, _ := url.ParseQuery(string(r.Body))
	if q.Get("to") != frMobile || q.Get("api_key") != "k" || form.Get("text") != text || form.Get("from") != "Avis" || form.Get("client-ref") != "r 1" || len(form) != 3 {
		t.Fatalf("query %v form %v", q, form)
	}
}

func TestGenericGET(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, reply(http.StatusOK, `{"id":42}`))
	g := newTestGeneric(t, GenericConfig{
		Method: "get",
		URL:    srv.URL + "/send?to={{urlquery .To}}&msg={{urlquery .Text}}",
		IDPath: "id",
	})
	res, err := g.Send(context.Background(), Message{To: frMobile, Text: "Bonjour"})
	if err != nil || res.ProviderID != "42" {
		t.Fatalf("%+v %v", res, err)
	}
	if r := srv.last(); r.Method != http.MethodGet || len(r.Body) != 0 {
		t.Fatalf("%s with %d bytes", r.Method, len(r.Body))
	}
}

func TestGenericErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		headers []string
		kind    string
	}{
		{"rate limited", 429, []string{"Retry-After", "3"}, "ratelimited"},
		{"server error", 500, nil, "temporary"},
		{"auth", 401, nil, "auth"},
		{"forbidden", 403, nil, "auth"},
		{"invalid number", 422, nil, "unsupported"},
		{"bad request", 400, nil, "permanent"},
		{"redirect is not success", 302, nil, "permanent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The provider echoes the request in its error: it must not reach
			// the error string.
			srv := newRecorder(t, nil)
			srv.set(func(w http.ResponseWriter, r *http.Request, body []byte) {
				for i := 0; i+1 < len(tt.headers); i += 2 {
					w.Header().Set(tt.headers[i], tt.headers[i+1])
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(`{"error":"bad","echo":` + string(body) + `}`))
			})
			g := newTestGeneric(t, GenericConfig{
				URL:                 srv.URL + "/sms?to={{urlquery .To}}",
				Headers:             map[string]string{"Content-Type": "application/json"},
				Body:                `{"text":{{json .Text}}}`,
				UnsupportedStatuses: []int{422},
			})
			text := "Secret personal words"
			_, err := g.Send(context.Background(), Message{To: frMobile, Text: text})
			se := sendErr(t, err)
			if kindOf(se) != tt.kind {
				t.Errorf("%s: %v", kindOf(se), err)
			}
			assertNoPersonalData(t, err, frMobile, text)
		})
	}
	// A closed server: the URL (which holds the number) is not in the error.
	srv := newRecorder(t, reply(200, `{}`))
	g := newTestGeneric(t, GenericConfig{URL: srv.URL + "/sms?to={{urlquery .To}}&text={{urlquery .Text}}", Method: "GET"})
	srv.Close()
	_, err := g.Send(context.Background(), Message{To: frMobile, Text: "Secret"})
	if !sendErr(t, err).Temporary {
		t.Fatal(err)
	}
	assertNoPersonalData(t, err, frMobile, "Secret")
	if strings.Contains(err.Error(), "33639981234") || strings.Contains(err.Error(), "/sms") {
		t.Fatalf("network error quotes the URL: %v", err)
	}
}

// TestGenericNoID: an accepted message whose answer lacks the id is still
// a success.
func TestGenericNoID(t *testing.T) {
	t.Parallel()
	srv := newRecorder(t, reply(http.StatusOK, `not json`))
	g := newTestGeneric(t, GenericConfig{URL: srv.URL, Body: "x", IDPath: "id"})
	res, err := g.Send(context.Background(), Message{To: frMobile, Text: "Bonjour"})
	if err != nil || res.ProviderID != "" || res.Segments != 1 {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestGenericConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  GenericConfig
		err  string
	}{
		{"no url", GenericConfig{}, "url is required"},
		{"syntax", GenericConfig{URL: "https://x/{{.To"}, "url template"},
		{"unknown field", GenericConfig{URL: "https://x/", Body: "{{.Password}}"}, "only .To, .From, .Text and .Reference"},
		{"nested field", GenericConfig{URL: "https://x/", Body: "{{.To.Len}}"}, "only .To"},
		{"dot", GenericConfig{URL: "https://x/", Body: "{{.}}"}, "not allowed"},
		{"builtin function", GenericConfig{URL: "https://x/", Body: `{{printf "%s" .To}}`}, `function "printf"`},
		{"call", GenericConfig{URL: "https://x/", Body: `{{call .To}}`}, `function "call"`},
		{"variable", GenericConfig{URL: "https://x/", Body: `{{$x := .To}}{{$x}}`}, "variables are not allowed"},
		{"range", GenericConfig{URL: "https://x/", Body: `{{range .To}}{{end}}`}, "not allowed"},
		{"define", GenericConfig{URL: "https://x/", Body: `{{define "a"}}x{{end}}`}, "not allowed"},
		{"template", GenericConfig{URL: "https://x/", Body: `{{template "a"}}`}, "not allowed"},
		{"relative url", GenericConfig{URL: "/sms"}, "absolute http(s) URL"},
		{"unescaped query", GenericConfig{URL: "https://x/sms?text={{.Text}}"}, "urlquery"},
		{"unescaped json", GenericConfig{URL: "https://x/", Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"text":"{{.Text}}"}`}, "{{json .Text}}"},
		{"quoted json", GenericConfig{URL: "https://x/", Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"text":"{{json .Text}}"}`}, "not valid JSON"},
		{"unescaped form", GenericConfig{URL: "https://x/", Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, Body: `text={{.Text}}`}, "urlquery"},
		{"get with body", GenericConfig{URL: "https://x/", Method: "GET", Body: "x"}, "no body"},
		{"method", GenericConfig{URL: "https://x/", Method: "DELETE"}, "GET, POST or PUT"},
		{"header name", GenericConfig{URL: "https://x/", Headers: map[string]string{"Bad Header": "x"}}, "not a valid header name"},
		{"header with text", GenericConfig{URL: "https://x/", Headers: map[string]string{"X-Text": "{{.Text}}"}}, "line break"},
		{"success status", GenericConfig{URL: "https://x/", SuccessStatuses: []int{302}}, "2xx"},
		{"unsupported status", GenericConfig{URL: "https://x/", UnsupportedStatuses: []int{429}}, "4xx statuses other than"},
		{"id path", GenericConfig{URL: "https://x/", IDPath: "data..id"}, "dotted path"},
	}
	for _, tt := range tests {
		_, err := NewGeneric(tt.cfg, Deps{})
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.err)
		}
	}
}

func TestJSONPath(t *testing.T) {
	t.Parallel()
	doc := []byte(`{"id":"a","n":12345678901234567890,"data":{"id":7,"list":[{"id":"x"},{"id":"y"}],"ok":true}}`)
	tests := map[string]string{
		"id":             "a",
		"n":              "12345678901234567890",
		"data.id":        "7",
		"data.list.1.id": "y",
		"data.list.2.id": "",
		"data.list.x":    "",
		"data.ok":        "",
		"data":           "",
		"missing.path":   "",
	}
	for path, want := range tests {
		if got := JSONPath(doc, path); got != want {
			t.Errorf("JSONPath(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestGenericCallbackSecret(t *testing.T) {
	t.Parallel()
	const secret = "k7Qp-2xZ_9vLmW4r"
	p, _, err := Load([]byte(`{"type":"generic","url":"https://sms.example/send","body":"{{urlquery .Text}}","callback_secret":"`+secret+`"}`), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if g := p.(*Generic); g.cfg.CallbackSecret != secret {
		t.Fatalf("callback secret %q", g.cfg.CallbackSecret)
	}
	// A body signed with it verifies; with another secret it does not.
	body := []byte(`{"id":"m1","status":"delivered"}`)
	if !VerifyGenericSignature(secret, body, SignGeneric(secret, body)) || VerifyGenericSignature(secret, body, SignGeneric(secret+"x", body)) {
		t.Fatal("signature round trip")
	}
	for name, bad := range map[string]string{
		"short":   "short-secret-15",
		"long":    strings.Repeat("s", 257),
		"space":   "secret with spaces",
		"newline": "secret-value-with\nline",
		"unicode": "secret-valueé-ok-long",
	} {
		_, err := NewGeneric(GenericConfig{URL: "https://x/", CallbackSecret: bad}, Deps{})
		if err == nil || !strings.Contains(err.Error(), "callback_secret") {
			t.Errorf("%s: %v", name, err)
		}
		if err != nil && strings.Contains(err.Error(), bad) {
			t.Errorf("%s: the error quotes the secret", name)
		}
	}
	// 16 and 256 characters are the bounds.
	for _, ok := range []string{strings.Repeat("a", 16), strings.Repeat("b", 256)} {
		if _, err := NewGeneric(GenericConfig{URL: "https://x/", CallbackSecret: ok}, Deps{}); err != nil {
			t.Errorf("%d characters: %v", len(ok), err)
		}
	}
}
