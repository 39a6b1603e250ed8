package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	ovhAK      = "7kbG7Bk7S9Nt7ZSV"
	ovhAS      = "EXEgWIz07P0HYwtQDs7cNIqCiQaWSuHF"
	ovhCK      = "MtSwSrPpNjqfVSmJhLbPyr2i45lSwPU1"
	ovhService = "sms-ab12345-1"
)

// fakeOVH is a loopback OVH API: GET /1.0/auth/time answers its own clock
// (100 s ahead of the client's), and POST /1.0/sms/{service}/jobs checks
// the headers and recomputes the signature before answering jobs().
type fakeOVH struct {
	*recorder
	serverTime int64
	timeCalls  atomic.Int32
	jobs       atomic.Value // func(w, body)
	t          *testing.T
}

func newFakeOVH(t *testing.T) *fakeOVH {
	f := &fakeOVH{serverTime: 1772366500, t: t}
	f.jobs.Store(reply(http.StatusOK, `{"totalCreditsRemoved":1,"invalidReceivers":[],"ids":[26929925],"validReceivers":["+33639981234"],"tag":""}`))
	f.recorder = newRecorder(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/1.0/auth/time":
			f.timeCalls.Add(1)
			if r.Header.Get("X-Ovh-Signature") != "" {
				t.Errorf("/auth/time is unauthenticated, yet signed")
			}
			w.Write([]byte(strconv.FormatInt(f.serverTime, 10)))
		case r.Method == http.MethodPost && r.URL.Path == "/1.0/sms/"+ovhService+"/jobs":
			if msg := f.checkSigned(r, body); msg != "" {
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(`{"errorCode":"INVALID_SIGNATURE","httpCode":"400 Bad Request","message":"` + msg + `"}`))
				return
			}
			f.jobs.Load().(func(http.ResponseWriter, *http.Request, []byte))(w, r, body)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusNotFound)
		}
	})
	return f
}

// checkSigned returns "" when the request is signed as OVH documents.
func (f *fakeOVH) checkSigned(r *http.Request, body []byte) string {
	h := r.Header
	if h.Get("X-Ovh-Application") != ovhAK || h.Get("X-Ovh-Consumer") != ovhCK {
		return "Invalid application key or consumer key"
	}
	if h.Get("X-Ovh-Timestamp") != strconv.FormatInt(f.serverTime, 10) {
		return "Invalid timestamp " + h.Get("X-Ovh-Timestamp")
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		return "Invalid content type"
	}
	fullURL := "http://" + r.Host + r.URL.RequestURI()
	want := OVHSignature(ovhAS, ovhCK, r.Method, fullURL, string(body), h.Get("X-Ovh-Timestamp"))
	if h.Get("X-Ovh-Signature") != want {
		return "Invalid signature"
	}
	return ""
}

func (f *fakeOVH) provider(t *testing.T, edit func(*OVHConfig)) *OVH {
	t.Helper()
	cfg := OVHConfig{
		Common:            Common{From: "Avis", Countries: []string{"FR"}},
		Endpoint:          f.URL + "/1.0",
		ApplicationKey:    ovhAK,
		ApplicationSecret: ovhAS,
		ConsumerKey:       ovhCK,
		ServiceName:       ovhService,
		NoStopClause:      true,
	}
	if edit != nil {
		edit(&cfg)
	}
	clientNow := time.Unix(f.serverTime-100, 0) // our clock is 100 s late
	o, err := NewOVH(cfg, Deps{Now: func() time.Time { return clientNow }})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestOVHRequest(t *testing.T) {
	t.Parallel()
	f := newFakeOVH(t)
	o := f.provider(t, nil)
	res, err := o.Send(context.Background(), Message{To: frMobile, Text: "Donnez votre avis sur votre séjour", Reference: "inv-42"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ProviderID != "26929925" || res.Segments != 1 || res.Credits != 1 {
		t.Fatalf("result %+v", res)
	}
	var job map[string]any
	dec := json.NewDecoder(bytes.NewReader(f.last().Body))
	dec.UseNumber()
	if err := dec.Decode(&job); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"charset":           "UTF-8",
		"coding":            "7bit",
		"message":           "Donnez votre avis sur votre séjour",
		"noStopClause":      true,
		"priority":          "high",
		"receivers":         []any{frMobile},
		"sender":            "Avis",
		"senderForResponse": false,
		"tag":               "inv-42",
	}
	if !reflect.DeepEqual(job, want) {
		t.Fatalf("job\n got %v\nwant %v", job, want)
	}
	// A second message reuses the clock offset.
	if _, err := o.Send(context.Background(), Message{To: frMobile, Text: "Merci ! Votre fenêtre 🙂", Reference: "01JNV3K6Q5X8ZC4R7T2W9Y0B1D"}); err != nil {
		t.Fatal(err)
	}
	if n := f.timeCalls.Load(); n != 1 {
		t.Fatalf("/auth/time called %d times", n)
	}
	job = nil
	json.Unmarshal(f.last().Body, &job)
	if job["coding"] != "8bit" {
		t.Errorf("UCS-2 text sent with coding %v", job["coding"])
	}
	if _, ok := job["tag"]; ok {
		t.Errorf("a 26-character reference was sent as a tag (OVH: 20 at most)")
	}
}

func TestOVHSenderForResponse(t *testing.T) {
	t.Parallel()
	f := newFakeOVH(t)
	o := f.provider(t, func(c *OVHConfig) {
		c.From, c.SenderForResponse, c.NoStopClause, c.Priority, c.ValidityPeriod = "", true, false, "medium", 60
	})
	if _, err := o.Send(context.Background(), Message{To: frMobile, Text: "Bonjour"}); err != nil {
		t.Fatal(err)
	}
	var job map[string]any
	json.Unmarshal(f.last().Body, &job)
	if job["senderForResponse"] != true || job["sender"] != nil || job["noStopClause"] != false || job["priority"] != "medium" || job["validityPeriod"] != 60.0 {
		t.Fatalf("job %v", job)
	}
}

func TestOVHErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		body       string
		headers    []string
		kind       string
		retryAfter time.Duration
	}{
		{"invalid receiver in the report", 200, `{"totalCreditsRemoved":0,"invalidReceivers":["+33639981234"],"ids":[],"validReceivers":[]}`, nil, "unsupported", 0},
		{"receiver refused", 400, `{"message":"Invalid receivers: +33639981234"}`, nil, "unsupported", 0},
		{"sender not validated", 400, `{"message":"The sender Avis does not exist"}`, nil, "permanent", 0},
		{"call not granted", 403, `{"errorCode":"NOT_GRANTED_CALL","httpCode":"403 Forbidden","message":"This call has not been granted"}`, nil, "auth", 0},
		{"invalid credential", 403, `{"errorCode":"INVALID_CREDENTIAL","httpCode":"403 Forbidden","message":"This credential is not valid"}`, nil, "auth", 0},
		{"not authenticated", 401, `{"message":"You must login first"}`, nil, "auth", 0},
		{"rate limited", 429, `{"message":"Too many requests"}`, []string{"Retry-After", "12"}, "ratelimited", 12 * time.Second},
		{"server error", 500, `{"message":"Internal server error"}`, nil, "temporary", 0},
		{"unavailable", 503, ``, nil, "temporary", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeOVH(t)
			f.jobs.Store(reply(tt.status, tt.body, tt.headers...))
			o := f.provider(t, nil)
			text := "Votre avis compte"
			_, err := o.Send(context.Background(), Message{To: frMobile, Text: text})
			se := sendErr(t, err)
			if kindOf(se) != tt.kind || se.RetryAfter != tt.retryAfter {
				t.Errorf("got %s retry %v: %v", kindOf(se), se.RetryAfter, err)
			}
			assertNoPersonalData(t, err, frMobile, text)
		})
	}
}

// TestOVHBadSignatureResyncs: a refused signature is an Auth error, and
// the next send reads OVH's clock again.
func TestOVHBadSignatureResyncs(t *testing.T) {
	t.Parallel()
	f := newFakeOVH(t)
	o := f.provider(t, func(c *OVHConfig) { c.ApplicationSecret = "wrong" })
	_, err := o.Send(context.Background(), Message{To: frMobile, Text: "Bonjour"})
	if se := sendErr(t, err); !se.Auth || se.Code != "INVALID_SIGNATURE" {
		t.Fatalf("wrong secret: %v", err)
	}
	o.Send(context.Background(), Message{To: frMobile, Text: "Bonjour"})
	if n := f.timeCalls.Load(); n != 2 {
		t.Fatalf("/auth/time called %d times, want 2", n)
	}
}

func TestOVHSignatureVector(t *testing.T) {
	t.Parallel()
	// printf '%s' 'AS+CK+GET+https://eu.api.ovh.com/1.0/auth/currentCredential++1366560945' | sha1sum
	got := OVHSignature("AS", "CK", "GET", "https://eu.api.ovh.com/1.0/auth/currentCredential", "", "1366560945")
	if want := "$1$7967d7352ac7d0636a1ecf092bfaea17512e3928"; got != want {
		t.Fatalf("signature %q, want %q", got, want)
	}
}

func TestOVHConfig(t *testing.T) {
	t.Parallel()
	ok := OVHConfig{ApplicationKey: "a", ApplicationSecret: "s", ConsumerKey: "c", ServiceName: ovhService, Common: Common{From: "Avis"}}
	tests := []struct {
		name string
		edit func(*OVHConfig)
		err  string
	}{
		{"ok", func(*OVHConfig) {}, ""},
		{"named endpoint", func(c *OVHConfig) { c.Endpoint = "ovh-ca" }, ""},
		{"bad endpoint", func(c *OVHConfig) { c.Endpoint = "ovh-mars" }, "endpoint is ovh-eu"},
		{"no secret", func(c *OVHConfig) { c.ApplicationSecret = "" }, "application_secret is required"},
		{"no service", func(c *OVHConfig) { c.ServiceName = "" }, "service_name is required"},
		{"bad priority", func(c *OVHConfig) { c.Priority = "urgent" }, "priority is high"},
		{"no sender", func(c *OVHConfig) { c.From = "" }, "sender_for_response"},
		{"validity", func(c *OVHConfig) { c.ValidityPeriod = 5000 }, "validity_period"},
	}
	for _, tt := range tests {
		c := ok
		tt.edit(&c)
		err := c.Validate()
		if (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.err)
		}
	}
	c := ok
	c.Validate()
	if c.baseURL() != "https://eu.api.ovh.com/1.0" || c.Priority != "high" {
		t.Errorf("defaults: %q %q", c.baseURL(), c.Priority)
	}
}
