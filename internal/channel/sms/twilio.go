package sms

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Twilio's REST API, as documented at
// https://www.twilio.com/docs/messaging/api/message-resource (Create a
// Message): POST /2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP
// Basic auth with the Account SID and Auth Token, a form with To, From
// and/or MessagingServiceSid, Body and StatusCallback; the answer is the
// Message resource in JSON (sid, num_segments as a string, status) or an
// error {code, message, more_info, status}.

// TwilioDefaultBaseURL is Twilio's API host.
const TwilioDefaultBaseURL = "https://api.twilio.com"

// TwilioReferenceParam is the query parameter added to StatusCallback to
// carry Message.Reference; ParseTwilioStatus reads it back.
const TwilioReferenceParam = "ref"

// twilioUnsupported are Twilio error codes that mean the recipient cannot
// be reached through this account: 21211 invalid 'To' number, 21408
// permission to send to this region not enabled, 21612 'To' number cannot
// be routed, 21614 'To' number is not SMS-capable.
var twilioUnsupported = map[int]bool{21211: true, 21408: true, 21612: true, 21614: true}

// TwilioConfig configures Twilio or a Twilio-compatible API.
type TwilioConfig struct {
	Common
	// BaseURL is the API's scheme and host; it defaults to
	// TwilioDefaultBaseURL.
	BaseURL string `json:"base_url"`
	// AccountSID is the account (AC…), used in the path and as the Basic
	// auth user.
	AccountSID string `json:"account_sid"`
	// AuthToken is the account's auth token (Basic auth password); the same
	// token signs the callbacks (VerifyTwilioSignature).
	AuthToken string `json:"auth_token"`
	// MessagingServiceSID (MG…) sends through a Messaging Service instead
	// of, or along with, a From number.
	MessagingServiceSID string `json:"messaging_service_sid"`
	// StatusCallback is the URL Twilio posts delivery statuses to; the
	// message's Reference is added as the "ref" query parameter.
	StatusCallback string `json:"status_callback"`
}

// Validate checks the configuration and fills in defaults.
func (c *TwilioConfig) Validate() error {
	if err := c.Common.validate("twilio"); err != nil {
		return err
	}
	if c.BaseURL == "" {
		c.BaseURL = TwilioDefaultBaseURL
	}
	base, err := checkBaseURL(c.Name, "base_url", c.BaseURL)
	if err != nil {
		return err
	}
	c.BaseURL = base
	if c.AccountSID == "" || strings.ContainsAny(c.AccountSID, "/?#% :") {
		return errorf("%s: account_sid is required (AC followed by 32 hex digits on Twilio)", c.Name)
	}
	if c.AuthToken == "" {
		return errorf("%s: auth_token is required", c.Name)
	}
	if c.From == "" && c.MessagingServiceSID == "" {
		return errorf("%s: set from (a number or sender id) or messaging_service_sid", c.Name)
	}
	if c.StatusCallback != "" {
		u, err := url.Parse(c.StatusCallback)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.Fragment != "" {
			return errorf("%s: status_callback must be an absolute http(s) URL without a fragment", c.Name)
		}
	}
	return nil
}

// Twilio sends SMS through Twilio's Messages API or a compatible one.
type Twilio struct {
	cfg TwilioConfig
	d   Deps
}

// NewTwilio validates cfg and returns the provider.
func NewTwilio(cfg TwilioConfig, d Deps) (*Twilio, error) {
	cfg.Countries = append([]string(nil), cfg.Countries...)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.StatusCallback == "" && d.Hooks != "" {
		// Delivery receipts come back to avis without the tenant having
		// to copy its callback URL into the configuration.
		cfg.StatusCallback = d.Hooks + "/twilio/status"
	}
	return &Twilio{cfg: cfg, d: d.withDefaults()}, nil
}

// Name returns the configured name ("twilio" by default).
func (t *Twilio) Name() string { return t.cfg.Name }

// twilioMessage is the part of Twilio's Message resource we read.
type twilioMessage struct {
	SID         string          `json:"sid"`
	NumSegments json.RawMessage `json:"num_segments"` // a string, "1"
	Status      string          `json:"status"`
}

// twilioError is Twilio's error body.
type twilioError struct {
	Code    json.Number `json:"code"`
	Message string      `json:"message"`
}

// Send posts the message to the Messages resource.
func (t *Twilio) Send(ctx context.Context, m Message) (Result, error) {
	from, err := t.cfg.prepare(m, t.cfg.MessagingServiceSID != "")
	if err != nil {
		return Result{}, err
	}
	form := url.Values{}
	form.Set("To", m.To)
	if from != "" {
		form.Set("From", from)
	}
	if t.cfg.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", t.cfg.MessagingServiceSID)
	}
	form.Set("Body", m.Text)
	if t.cfg.StatusCallback != "" {
		form.Set("StatusCallback", twilioCallbackURL(t.cfg.StatusCallback, m.Reference))
	}
	endpoint := t.cfg.BaseURL + "/2010-04-01/Accounts/" + url.PathEscape(t.cfg.AccountSID) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Result{}, &SendError{Provider: t.Name(), Permanent: true, Msg: "building the request", Err: err}
	}
	req.SetBasicAuth(t.cfg.AccountSID, t.cfg.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res, err := do(t.d.HTTP, t.Name(), req)
	if err != nil {
		return Result{}, err
	}
	if res.status != http.StatusCreated && res.status != http.StatusOK {
		var te twilioError
		_ = json.Unmarshal(res.body, &te)
		e := classify(t.Name(), res, t.d.Now(), te.Code.String(), te.Message)
		if code, _ := strconv.Atoi(te.Code.String()); e.Permanent && twilioUnsupported[code] {
			e.Permanent, e.Unsupported = false, true
		}
		return Result{}, e
	}
	var tm twilioMessage
	if err := json.Unmarshal(res.body, &tm); err != nil || tm.SID == "" {
		// Accepted but unreadable: do not report a failure (a retry would
		// send the message twice); the receipt cannot be matched.
		return Result{Segments: Analyse(m.Text).Segments}, nil
	}
	r := Result{ProviderID: tm.SID, Segments: jsonInt(tm.NumSegments)}
	if r.Segments == 0 { // Messaging Services report 0 until a sender is picked
		r.Segments = Analyse(m.Text).Segments
	}
	return r, nil
}

// twilioCallbackURL adds ref=reference to the status callback URL.
func twilioCallbackURL(base, reference string) string {
	if reference == "" {
		return base
	}
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := u.Query()
	q.Set(TwilioReferenceParam, reference)
	u.RawQuery = q.Encode()
	return u.String()
}

// jsonInt reads a JSON number or a string holding one; anything else is 0.
func jsonInt(raw json.RawMessage) int {
	s := strings.Trim(string(raw), `"`)
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
