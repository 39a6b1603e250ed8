package sms

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/unicode/norm"
)

// ErrCallback is wrapped by every error of the callback parsers. The
// messages name the field at fault, never its value.
var ErrCallback = errors.New("sms: invalid callback")

func callbackErr(msg string) error { return fmt.Errorf("%w: %s", ErrCallback, msg) }

// Status is a message's delivery status.
type Status string

// Delivery statuses, from first to last. A receipt may skip some; Queued
// is informational and callers may ignore it.
const (
	// StatusQueued: the provider holds the message, not yet handed to a
	// carrier.
	StatusQueued Status = "queued"
	// StatusSent: handed to the carrier; delivery not yet confirmed.
	StatusSent Status = "sent"
	// StatusDelivered: the handset has it.
	StatusDelivered Status = "delivered"
	// StatusUndelivered: the carrier could not deliver it (phone off for
	// too long, unknown subscriber).
	StatusUndelivered Status = "undelivered"
	// StatusFailed: the provider or the carrier refused it.
	StatusFailed Status = "failed"
)

// Final reports whether no later receipt is expected after s.
func (s Status) Final() bool {
	return s == StatusDelivered || s == StatusUndelivered || s == StatusFailed
}

// Receipt is a delivery report.
type Receipt struct {
	// ProviderID is the provider's message id (Result.ProviderID).
	ProviderID string
	// Reference is our message reference when the provider carried it
	// back, else "".
	Reference string
	// Status is the new status.
	Status Status
	// ErrorCode is the provider's error code for a failure, else "".
	ErrorCode string
}

// Inbound is a message a recipient sent us (a reply, a STOP).
type Inbound struct {
	// ProviderID is the provider's id for the incoming message, if any,
	// to drop duplicates.
	ProviderID string
	// From is the sender's number in E.164 form.
	From string
	// Text is what they wrote. It is personal data: never log it.
	Text string
	// Reference is the reference (OVH tag) of our message this answers,
	// when the provider says.
	Reference string
}

// maxCallback bounds callback bodies and values.
const (
	maxCallbackBody = 64 << 10
	maxIDLen        = 128
)

// cleanID checks a provider id or a reference: printable ASCII without
// spaces, at most 128 bytes.
func cleanID(field, s string, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			return "", callbackErr(field + " is missing")
		}
		return "", nil
	}
	if len(s) > maxIDLen {
		return "", callbackErr(field + " is too long")
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return "", callbackErr(field + " has characters an id does not have")
		}
	}
	return s, nil
}

// cleanText checks an inbound text: valid UTF-8, at most 64 KiB, control
// characters other than line breaks and tabs removed.
func cleanText(s string) (string, error) {
	if len(s) > maxCallbackBody {
		return "", callbackErr("the text is too long")
	}
	if !utf8.ValidString(s) {
		return "", callbackErr("the text is not valid UTF-8")
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return -1
		}
		return r
	}, s), nil
}

// cleanNumber turns a sender number into E.164: "+33…" as is, "0033…" as
// "+33…", and a national number ("06…") read as a number of defaultRegion.
func cleanNumber(field, s, defaultRegion string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", callbackErr(field + " is missing")
	}
	if ValidE164(s) {
		return s, nil
	}
	if len(s) > 32 {
		return "", callbackErr(field + " is not a phone number")
	}
	region := strings.ToUpper(defaultRegion)
	if region == "" {
		region = "ZZ"
	}
	n, err := phonenumbers.Parse(s, region)
	if err != nil {
		return "", callbackErr(field + " is not a phone number")
	}
	e := phonenumbers.Format(n, phonenumbers.E164)
	if !ValidE164(e) {
		return "", callbackErr(field + " is not a phone number")
	}
	return e, nil
}

// Twilio callbacks, as documented at
// https://www.twilio.com/docs/messaging/guides/track-outbound-message-status
// (status callback: MessageSid, MessageStatus, ErrorCode as a form POST)
// and https://www.twilio.com/docs/messaging/guides/webhook-request
// (incoming message: MessageSid, From, To, Body); signatures per
// https://www.twilio.com/docs/usage/webhooks/webhooks-security.

// twilioStatuses maps Twilio's MessageStatus values.
var twilioStatuses = map[string]Status{
	"accepted": StatusQueued, "scheduled": StatusQueued, "queued": StatusQueued, "sending": StatusQueued,
	"sent":      StatusSent,
	"delivered": StatusDelivered, "read": StatusDelivered,
	"undelivered": StatusUndelivered, "partially_delivered": StatusUndelivered,
	"failed": StatusFailed, "canceled": StatusFailed,
}

// ParseTwilioStatus reads Twilio's status callback. form is the request's
// form with the URL query merged in (r.Form after r.ParseForm), so that the
// "ref" parameter Twilio.Send adds to StatusCallback becomes
// Receipt.Reference.
func ParseTwilioStatus(form url.Values) (Receipt, error) {
	var r Receipt
	var err error
	if r.ProviderID, err = cleanID("MessageSid", firstOf(form, "MessageSid", "SmsSid"), true); err != nil {
		return Receipt{}, err
	}
	st := strings.ToLower(strings.TrimSpace(firstOf(form, "MessageStatus", "SmsStatus")))
	if st == "" {
		return Receipt{}, callbackErr("MessageStatus is missing")
	}
	var ok bool
	if r.Status, ok = twilioStatuses[st]; !ok {
		return Receipt{}, callbackErr("MessageStatus is not a status of an outbound message")
	}
	if r.Reference, err = cleanID(TwilioReferenceParam, form.Get(TwilioReferenceParam), false); err != nil {
		return Receipt{}, err
	}
	if code := strings.TrimSpace(form.Get("ErrorCode")); code != "" && code != "0" {
		if r.ErrorCode, err = cleanID("ErrorCode", code, false); err != nil {
			return Receipt{}, err
		}
	}
	return r, nil
}

// ParseTwilioInbound reads Twilio's incoming-message webhook.
func ParseTwilioInbound(form url.Values) (Inbound, error) {
	var in Inbound
	var err error
	if in.ProviderID, err = cleanID("MessageSid", firstOf(form, "MessageSid", "SmsSid"), false); err != nil {
		return Inbound{}, err
	}
	if in.From = strings.TrimSpace(form.Get("From")); !ValidE164(in.From) {
		return Inbound{}, callbackErr("From is not an E.164 number")
	}
	if in.Text, err = cleanText(form.Get("Body")); err != nil {
		return Inbound{}, err
	}
	return in, nil
}

// VerifyTwilioSignature checks the X-Twilio-Signature header of a Twilio
// webhook: the Base64 HMAC-SHA1, keyed with the account's auth token, of
// the full URL Twilio called (scheme, host, path and query, as configured
// at Twilio) followed by each POST parameter name and value, sorted by
// name. form holds the POST parameters only (r.PostForm). As Twilio's own
// libraries do, the URL is also tried with the default port added or
// removed. The comparison is in constant time.
func VerifyTwilioSignature(authToken, fullURL string, form url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
	if err != nil || len(got) != sha1.Size {
		return false
	}
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var params strings.Builder
	for _, k := range keys {
		vs := slices.Clone(form[k])
		slices.Sort(vs)
		for _, v := range vs {
			params.WriteString(k)
			params.WriteString(v)
		}
	}
	ok := 0
	for _, u := range twilioURLVariants(fullURL) {
		mac := hmac.New(sha1.New, []byte(authToken))
		mac.Write([]byte(u))
		mac.Write([]byte(params.String()))
		ok |= subtle.ConstantTimeCompare(mac.Sum(nil), got)
	}
	return ok == 1
}

// twilioURLVariants returns raw and, for an http(s) URL, the same URL with
// the scheme's default port removed or added.
func twilioURLVariants(raw string) []string {
	out := []string{raw}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return out
	}
	def := map[string]string{"https": "443", "http": "80"}[u.Scheme]
	if def == "" {
		return out
	}
	v := *u
	if port := u.Port(); port == def {
		v.Host = u.Hostname()
		if strings.Contains(v.Host, ":") {
			v.Host = "[" + v.Host + "]"
		}
	} else if port == "" {
		v.Host = net.JoinHostPort(u.Hostname(), def)
	} else {
		return out
	}
	return append(out, v.String())
}

// OVH callbacks. OVH calls the SMS account's callBack URL with a GET
// whose query holds id (the SMS id, Result.ProviderID), dlr (1 delivered,
// 2 not delivered, 4 buffered, 8 accepted by the carrier's SMSC, 16
// rejected by the SMSC), ptt (OVH's detailed status code) and description;
// this is the archived OVH guide quoted in github.com/ovh/docs issue #1496
// and what RaspiSMS's OVH adapter reads. Replies go to the smsResponse
// cgiUrl with id, senderid, message, tag (the tag of the message answered)
// and shortcode.

// ovhDLR maps OVH's dlr values.
var ovhDLR = map[string]Status{
	"1": StatusDelivered, "2": StatusUndelivered, "4": StatusSent, "8": StatusSent, "16": StatusFailed,
}

// ParseOVHReceipt reads OVH's delivery-report callback from the request's
// query (or form: the same names).
func ParseOVHReceipt(q url.Values) (Receipt, error) {
	var r Receipt
	var err error
	if r.ProviderID, err = cleanID("id", q.Get("id"), true); err != nil {
		return Receipt{}, err
	}
	d := strings.TrimSpace(q.Get("dlr"))
	if d == "" {
		return Receipt{}, callbackErr("dlr is missing")
	}
	var ok bool
	if r.Status, ok = ovhDLR[d]; !ok {
		return Receipt{}, callbackErr("dlr is not 1, 2, 4, 8 or 16")
	}
	if r.Reference, err = cleanID("tag", q.Get("tag"), false); err != nil {
		return Receipt{}, err
	}
	if r.Status == StatusUndelivered || r.Status == StatusFailed {
		if r.ErrorCode, err = cleanID("ptt", q.Get("ptt"), false); err != nil {
			return Receipt{}, err
		}
	}
	return r, nil
}

// ParseOVHInbound reads OVH's incoming-SMS callback (smsResponse cgiUrl)
// from the request's query or form. A sender written in national form is
// read as a number of defaultRegion (ISO 3166-1 alpha-2, e.g. "FR").
func ParseOVHInbound(v url.Values, defaultRegion string) (Inbound, error) {
	var in Inbound
	var err error
	if in.ProviderID, err = cleanID("id", v.Get("id"), false); err != nil {
		return Inbound{}, err
	}
	if in.From, err = cleanNumber("senderid", v.Get("senderid"), defaultRegion); err != nil {
		return Inbound{}, err
	}
	if in.Text, err = cleanText(v.Get("message")); err != nil {
		return Inbound{}, err
	}
	if in.Reference, err = cleanID("tag", v.Get("tag"), false); err != nil {
		return Inbound{}, err
	}
	return in, nil
}

// Our own JSON callback format, for generic providers and for bridges a
// tenant writes in front of any other provider:
//
//	receipt: {"id": "provider id", "reference": "our reference", "status": "delivered", "error_code": "…"}
//	inbound: {"id": "provider id", "from": "+33612345678", "text": "STOP", "reference": "…"}
//
// status is one of queued, sent, delivered, undelivered, failed. The
// sender signs the body with VerifyGenericSignature's scheme.

// GenericSignatureHeader carries the signature of a generic callback.
const GenericSignatureHeader = "X-Avis-Signature"

type genericReceipt struct {
	ID        *string `json:"id"`
	Reference string  `json:"reference"`
	Status    string  `json:"status"`
	ErrorCode string  `json:"error_code"`
}

type genericInbound struct {
	ID        string `json:"id"`
	From      string `json:"from"`
	Text      string `json:"text"`
	Reference string `json:"reference"`
}

func decodeCallback(body []byte, v any) error {
	if len(body) > maxCallbackBody {
		return callbackErr("the body is too large")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return callbackErr("the body is not a JSON object of the expected form")
	}
	if dec.More() {
		return callbackErr("the body holds more than one JSON value")
	}
	return nil
}

// ParseGenericReceipt reads a receipt in our JSON format.
func ParseGenericReceipt(body []byte) (Receipt, error) {
	var g genericReceipt
	if err := decodeCallback(body, &g); err != nil {
		return Receipt{}, err
	}
	var r Receipt
	var err error
	id := ""
	if g.ID != nil {
		id = *g.ID
	}
	if r.ProviderID, err = cleanID("id", id, true); err != nil {
		return Receipt{}, err
	}
	if r.Reference, err = cleanID("reference", g.Reference, false); err != nil {
		return Receipt{}, err
	}
	switch s := Status(g.Status); s {
	case StatusQueued, StatusSent, StatusDelivered, StatusUndelivered, StatusFailed:
		r.Status = s
	default:
		return Receipt{}, callbackErr("status is not queued, sent, delivered, undelivered or failed")
	}
	if r.ErrorCode, err = cleanID("error_code", g.ErrorCode, false); err != nil {
		return Receipt{}, err
	}
	return r, nil
}

// ParseGenericInbound reads an inbound message in our JSON format.
func ParseGenericInbound(body []byte) (Inbound, error) {
	var g genericInbound
	if err := decodeCallback(body, &g); err != nil {
		return Inbound{}, err
	}
	var in Inbound
	var err error
	if in.ProviderID, err = cleanID("id", g.ID, false); err != nil {
		return Inbound{}, err
	}
	if in.From = strings.TrimSpace(g.From); !ValidE164(in.From) {
		return Inbound{}, callbackErr("from is not an E.164 number")
	}
	if in.Text, err = cleanText(g.Text); err != nil {
		return Inbound{}, err
	}
	if in.Reference, err = cleanID("reference", g.Reference, false); err != nil {
		return Inbound{}, err
	}
	return in, nil
}

// SignGeneric returns the X-Avis-Signature value for body: "sha256=" and
// the hexadecimal HMAC-SHA256 of the body keyed with secret.
func SignGeneric(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifyGenericSignature checks an X-Avis-Signature header against body,
// in constant time. An empty secret verifies nothing.
func VerifyGenericSignature(secret string, body []byte, header string) bool {
	if secret == "" {
		return false
	}
	want := SignGeneric(secret, body)
	return hmac.Equal([]byte(want), []byte(strings.TrimSpace(header)))
}

func firstOf(v url.Values, keys ...string) string {
	for _, k := range keys {
		if s := v.Get(k); s != "" {
			return s
		}
	}
	return ""
}

// stopWords are the opt-out keywords: the carriers' and Twilio's English
// set (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT), French (STOP SMS,
// ARRET), German (STOPP), Spanish (BAJA, ALTO). Accents are folded before
// the lookup, so ARRÊT matches ARRET.
var stopWords = map[string]bool{
	"STOP": true, "STOPALL": true, "STOP ALL": true, "STOP SMS": true, "SMS STOP": true,
	"ARRET": true, "ARRETER": true, "STOPP": true, "BAJA": true, "ALTO": true,
	"CANCEL": true, "UNSUBSCRIBE": true, "END": true, "QUIT": true,
}

// stopFirstWords may start a longer reply ("Stop merci", "STOP svp"): they
// mean nothing else in a reply to an invitation. END, QUIT or ALTO only
// count alone.
var stopFirstWords = map[string]bool{"STOP": true, "STOPP": true, "ARRET": true, "STOPALL": true, "UNSUBSCRIBE": true}

// IsStop reports whether an inbound text asks to stop receiving messages:
// one of the keywords alone, in any case, with accents, punctuation, emoji
// and extra spaces ignored ("Stop.", " arrêt ! ", "STOP SMS"), or a reply
// that starts with STOP, STOPP, ARRET, STOPALL or UNSUBSCRIBE ("Stop
// merci").
func IsStop(text string) bool {
	if len(text) > 1024 {
		return false
	}
	// Fold accents: decompose, drop combining marks.
	var b strings.Builder
	for _, r := range norm.NFD.String(text) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToUpper(r))
		default: // punctuation, symbols, emoji, spaces
			b.WriteByte(' ')
		}
	}
	words := strings.Fields(b.String())
	if len(words) == 0 {
		return false
	}
	if stopWords[strings.Join(words, " ")] {
		return true
	}
	return stopFirstWords[words[0]]
}
