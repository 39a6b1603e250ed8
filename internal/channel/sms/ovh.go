package sms

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// The OVHcloud SMS API, as documented in OVHcloud's guides "First steps
// with the OVHcloud APIs" (request signing), "API SMS Cookbook" and "Send
// SMS with the OVHcloud API" (POST /sms/{serviceName}/jobs), and in the
// API schema https://eu.api.ovh.com/1.0/sms.json (sms.SmsSendingReport):
//
//   - every request carries X-Ovh-Application (application key),
//     X-Ovh-Consumer (consumer key), X-Ovh-Timestamp (OVH's clock, read from
//     GET /auth/time) and X-Ovh-Signature = "$1$" + hex(SHA1(application
//     secret + "+" + consumer key + "+" + METHOD + "+" + full URL + "+" +
//     body + "+" + timestamp));
//   - the job body has message, receivers, sender or senderForResponse,
//     noStopClause, priority, coding, charset, tag, validityPeriod;
//   - the answer lists ids, validReceivers, invalidReceivers and
//     totalCreditsRemoved.
//
// The jobs call takes no callback URL: OVH calls the account's callBack URL
// (PUT /sms/{serviceName}, set once in the control panel or the API) with
// the delivery report (ParseOVHReceipt), and the account's smsResponse
// cgiUrl with replies (ParseOVHInbound).

// OVH endpoints by name, as OVH's API clients call them.
var ovhEndpoints = map[string]string{
	"ovh-eu": "https://eu.api.ovh.com/1.0",
	"ovh-ca": "https://ca.api.ovh.com/1.0",
	"ovh-us": "https://api.us.ovhcloud.com/1.0",
}

// ovhTagMax is the longest tag OVH documents (http2sms: "a maximum chain of
// 20 characters").
const ovhTagMax = 20

// ovhAuthCodes are OVH errorCode values that mean our keys or signature
// were refused.
var ovhAuthCodes = map[string]bool{
	"INVALID_SIGNATURE": true, "INVALID_CREDENTIAL": true, "NOT_CREDENTIAL": true,
	"INVALID_KEY": true, "NOT_GRANTED_CALL": true, "QUERY_TIME_OUT": true,
}

// OVHConfig configures the OVHcloud SMS API.
type OVHConfig struct {
	Common
	// Endpoint is "ovh-eu" (the default), "ovh-ca", "ovh-us", or a base URL
	// such as https://eu.api.ovh.com/1.0.
	Endpoint string `json:"endpoint"`
	// ApplicationKey, ApplicationSecret and ConsumerKey are the API
	// credentials (AK, AS, CK); the consumer key needs POST on
	// /sms/{serviceName}/jobs.
	ApplicationKey    string `json:"application_key"`
	ApplicationSecret string `json:"application_secret"`
	ConsumerKey       string `json:"consumer_key"`
	// ServiceName is the SMS account, e.g. sms-ab12345-1.
	ServiceName string `json:"service_name"`
	// NoStopClause leaves out the "STOP" mention OVH appends to
	// commercial messages (and OVH then sends outside commercial hours
	// too). Set it only for non-marketing messages.
	NoStopClause bool `json:"no_stop_clause"`
	// Priority is "high" (the default), "medium", "low" or "veryLow".
	Priority string `json:"priority"`
	// SenderForResponse sends from an OVH short number that recipients can
	// answer (France only), instead of From; replies reach the account's
	// smsResponse callback.
	SenderForResponse bool `json:"sender_for_response"`
	// ValidityPeriod is how many minutes OVH keeps trying; 0 is OVH's
	// default (2880).
	ValidityPeriod int `json:"validity_period"`
}

// Validate checks the configuration and fills in defaults.
func (c *OVHConfig) Validate() error {
	if err := c.Common.validate("ovh"); err != nil {
		return err
	}
	if c.Endpoint == "" {
		c.Endpoint = "ovh-eu"
	}
	if _, ok := ovhEndpoints[c.Endpoint]; !ok {
		base, err := checkBaseURL(c.Name, "endpoint", c.Endpoint)
		if err != nil {
			return errorf("%s: endpoint is ovh-eu, ovh-ca, ovh-us or an https:// base URL", c.Name)
		}
		c.Endpoint = base
	}
	switch {
	case c.ApplicationKey == "":
		return errorf("%s: application_key is required", c.Name)
	case c.ApplicationSecret == "":
		return errorf("%s: application_secret is required", c.Name)
	case c.ConsumerKey == "":
		return errorf("%s: consumer_key is required", c.Name)
	case c.ServiceName == "" || strings.ContainsAny(c.ServiceName, "/?#% "):
		return errorf("%s: service_name is required (the SMS account, e.g. sms-ab12345-1)", c.Name)
	}
	switch c.Priority {
	case "":
		c.Priority = "high"
	case "high", "medium", "low", "veryLow":
	default:
		return errorf("%s: priority is high, medium, low or veryLow", c.Name)
	}
	if c.From == "" && !c.SenderForResponse {
		return errorf("%s: set from (a sender declared on the SMS account) or sender_for_response", c.Name)
	}
	if c.ValidityPeriod < 0 || c.ValidityPeriod > 2880 {
		return errorf("%s: validity_period is a number of minutes from 1 to 2880 (0: OVH's default)", c.Name)
	}
	return nil
}

func (c *OVHConfig) baseURL() string {
	if b, ok := ovhEndpoints[c.Endpoint]; ok {
		return b
	}
	return c.Endpoint
}

// OVH sends SMS through the OVHcloud SMS API.
type OVH struct {
	cfg OVHConfig
	d   Deps

	mu     sync.Mutex
	synced bool
	delta  int64 // OVH's clock minus ours, in seconds
}

// NewOVH validates cfg and returns the provider.
func NewOVH(cfg OVHConfig, d Deps) (*OVH, error) {
	cfg.Countries = append([]string(nil), cfg.Countries...)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &OVH{cfg: cfg, d: d.withDefaults()}, nil
}

// Name returns the configured name ("ovh" by default).
func (o *OVH) Name() string { return o.cfg.Name }

// ovhJob is the body of POST /sms/{serviceName}/jobs.
type ovhJob struct {
	Charset           string   `json:"charset"`
	Coding            string   `json:"coding"`
	Message           string   `json:"message"`
	NoStopClause      bool     `json:"noStopClause"`
	Priority          string   `json:"priority"`
	Receivers         []string `json:"receivers"`
	Sender            string   `json:"sender,omitempty"`
	SenderForResponse bool     `json:"senderForResponse"`
	Tag               string   `json:"tag,omitempty"`
	ValidityPeriod    int      `json:"validityPeriod,omitempty"`
}

// ovhReport is sms.SmsSendingReport.
type ovhReport struct {
	IDs                 []json.Number `json:"ids"`
	InvalidReceivers    []string      `json:"invalidReceivers"`
	ValidReceivers      []string      `json:"validReceivers"`
	TotalCreditsRemoved float64       `json:"totalCreditsRemoved"`
	Tag                 string        `json:"tag"`
}

// ovhError is OVH's error body.
type ovhError struct {
	Message   string `json:"message"`
	ErrorCode string `json:"errorCode"`
	Class     string `json:"class"`
}

// Send creates a sending job for one receiver. The message's Reference is
// sent as the job's tag when it fits OVH's 20 characters; otherwise
// receipts are matched by the provider id alone.
func (o *OVH) Send(ctx context.Context, m Message) (Result, error) {
	from, err := o.cfg.prepare(m, o.cfg.SenderForResponse)
	if err != nil {
		return Result{}, err
	}
	info := Analyse(m.Text)
	job := ovhJob{
		Charset:        "UTF-8",
		Coding:         "7bit",
		Message:        m.Text,
		NoStopClause:   o.cfg.NoStopClause,
		Priority:       o.cfg.Priority,
		Receivers:      []string{m.To},
		ValidityPeriod: o.cfg.ValidityPeriod,
	}
	if info.Encoding == EncodingUCS2 {
		job.Coding = "8bit"
	}
	if o.cfg.SenderForResponse {
		job.SenderForResponse = true
	} else {
		job.Sender = from
	}
	if m.Reference != "" && len(m.Reference) <= ovhTagMax {
		job.Tag = m.Reference
	}
	body, err := json.Marshal(job)
	if err != nil {
		return Result{}, &SendError{Provider: o.Name(), Permanent: true, Msg: "encoding the job", Err: err}
	}
	endpoint := o.cfg.baseURL() + "/sms/" + url.PathEscape(o.cfg.ServiceName) + "/jobs"
	res, err := o.call(ctx, http.MethodPost, endpoint, body)
	if err != nil {
		return Result{}, err
	}
	if res.status != http.StatusOK {
		var oe ovhError
		_ = json.Unmarshal(res.body, &oe)
		e := classify(o.Name(), res, o.d.Now(), oe.ErrorCode, oe.Message)
		switch {
		case ovhAuthCodes[oe.ErrorCode]:
			e.Permanent, e.Unsupported, e.Auth = false, false, true
			o.mu.Lock()
			o.synced = false // a stale clock is one cause: read it again next time
			o.mu.Unlock()
		case e.Permanent && strings.Contains(strings.ToLower(oe.Message), "receiver"):
			e.Permanent, e.Unsupported = false, true
		}
		return Result{}, e
	}
	var rep ovhReport
	if err := json.Unmarshal(res.body, &rep); err != nil {
		return Result{Segments: info.Segments}, nil // accepted: never report a failure that a retry would double
	}
	if len(rep.InvalidReceivers) > 0 || len(rep.IDs) == 0 {
		return Result{}, &SendError{Provider: o.Name(), Unsupported: true, Status: res.status, Msg: "OVH listed the receiver as invalid"}
	}
	return Result{ProviderID: rep.IDs[0].String(), Segments: info.Segments, Credits: rep.TotalCreditsRemoved}, nil
}

// call sends a signed request.
func (o *OVH) call(ctx context.Context, method, endpoint string, body []byte) (response, error) {
	ts, err := o.timestamp(ctx)
	if err != nil {
		return response{}, err
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint, bytes.NewReader(body))
	if err != nil {
		return response{}, &SendError{Provider: o.Name(), Permanent: true, Msg: "building the request", Err: err}
	}
	tss := strconv.FormatInt(ts, 10)
	req.Header.Set("Content-Type", "application/json;charset=utf-8")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Ovh-Application", o.cfg.ApplicationKey)
	req.Header.Set("X-Ovh-Consumer", o.cfg.ConsumerKey)
	req.Header.Set("X-Ovh-Timestamp", tss)
	req.Header.Set("X-Ovh-Signature", OVHSignature(o.cfg.ApplicationSecret, o.cfg.ConsumerKey, method, endpoint, string(body), tss))
	return do(o.d.HTTP, o.Name(), req)
}

// timestamp returns OVH's current time in Unix seconds. The offset between
// OVH's clock and ours is read once from GET /auth/time (unauthenticated),
// as OVH's own clients do, and again after OVH refused a signature.
func (o *OVH) timestamp(ctx context.Context) (int64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.synced {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.cfg.baseURL()+"/auth/time", nil)
		if err != nil {
			return 0, &SendError{Provider: o.Name(), Permanent: true, Msg: "building the time request", Err: err}
		}
		req.Header.Set("Accept", "application/json")
		res, err := do(o.d.HTTP, o.Name(), req)
		if err != nil {
			return 0, err
		}
		if res.status != http.StatusOK {
			return 0, classify(o.Name(), res, o.d.Now(), "", "reading OVH's clock (GET /auth/time)")
		}
		server, err := strconv.ParseInt(strings.TrimSpace(string(res.body)), 10, 64)
		if err != nil {
			return 0, &SendError{Provider: o.Name(), Temporary: true, Status: res.status, Msg: "OVH's /auth/time did not answer a Unix time"}
		}
		o.delta = server - o.d.Now().Unix()
		o.synced = true
	}
	return o.d.Now().Unix() + o.delta, nil
}

// OVHSignature computes X-Ovh-Signature: "$1$" and the hexadecimal SHA-1
// of secret+"+"+consumerKey+"+"+method+"+"+fullURL+"+"+body+"+"+timestamp.
func OVHSignature(secret, consumerKey, method, fullURL, body, timestamp string) string {
	h := sha1.Sum([]byte(secret + "+" + consumerKey + "+" + method + "+" + fullURL + "+" + body + "+" + timestamp))
	return "$1$" + hex.EncodeToString(h[:])
}
