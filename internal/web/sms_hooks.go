package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"avis/internal/channel/sms"
	"avis/internal/db"
	"avis/internal/dispatch"
)

// SMS provider callbacks: delivery receipts and replies, posted by the
// tenant's provider to /hooks/sms/{tenant}/{provider}/…. They carry no
// session and no CSRF token; each is authenticated by its provider's own
// mechanism, with a secret from the tenant's SMS configuration:
//
//   - Twilio signs each request (X-Twilio-Signature) with the account's
//     auth token over the URL it called, which is AVIS_BASE_URL and the
//     request's path and query (avis usually sits behind a proxy);
//   - OVH signs nothing, so its URLs carry a per-tenant secret path
//     segment, a keyed hash shown on the Messaging page;
//   - a generic provider signs the JSON body (X-Avis-Signature) with the
//     configuration's callback_secret.
//
// The answers say nothing: 200 with an empty body (an empty TwiML
// document to Twilio's incoming messages), 403 for a bad signature or
// secret, 404 for a tenant without that provider, 400 for a body that
// does not parse, 413 over 64 KiB. Logs carry ids and outcomes, never a
// number or a text.

// smsHookMaxBody bounds a callback's body.
const smsHookMaxBody = 64 << 10

// twimlEmpty answers Twilio's incoming-message webhook: no reply.
const twimlEmpty = `<?xml version="1.0" encoding="UTF-8"?><Response/>`

// smsHook is what the callbacks need of a tenant's SMS provider.
type smsHook struct {
	// kind is the provider's type: twilio, ovh or generic.
	kind string
	// secret authenticates callbacks: Twilio's auth token, OVH's
	// application secret (the key of the URL secret), the generic
	// callback_secret. Empty: this provider takes no callback.
	secret string
	// region reads national sender numbers of OVH replies.
	region string
}

// smsHookOf reads the callback set-up from a provider's JSON
// configuration (validated when it was saved).
func smsHookOf(config []byte) smsHook {
	var probe struct {
		Type string `json:"type"`
	}
	if len(config) == 0 || json.Unmarshal(config, &probe) != nil {
		return smsHook{}
	}
	h := smsHook{kind: probe.Type}
	switch probe.Type {
	case "twilio":
		var c sms.TwilioConfig
		if json.Unmarshal(config, &c) == nil {
			h.secret = c.AuthToken
		}
	case "ovh":
		var c sms.OVHConfig
		if json.Unmarshal(config, &c) == nil {
			h.secret = c.ApplicationSecret
			// OVH serves French numbers first; a single allowed country
			// says where national numbers belong.
			h.region = "FR"
			if len(c.Countries) == 1 {
				h.region = strings.ToUpper(strings.TrimSpace(c.Countries[0]))
			}
		}
	case "generic":
		var c sms.GenericConfig
		if json.Unmarshal(config, &c) == nil {
			h.secret = c.CallbackSecret
		}
	default:
		return smsHook{}
	}
	return h
}

// ovhCallbackSecret is the secret path segment of a tenant's OVH callback
// URLs: HMAC-SHA256 of the tenant id keyed with the OVH application
// secret, 22 characters of base64url (132 bits). It changes when the
// application secret does.
func ovhCallbackSecret(applicationSecret, tenantID string) string {
	mac := hmac.New(sha256.New, []byte(applicationSecret))
	mac.Write([]byte("avis sms_callback ovh\x00" + tenantID))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))[:22]
}

// smsHookPath is the path of a callback route for a tenant.
func smsHookPath(tenantID string, h smsHook, what string) string {
	switch h.kind {
	case "twilio":
		if what == "receipt" {
			what = "status"
		}
		return "/hooks/sms/" + tenantID + "/twilio/" + what
	case "ovh":
		return "/hooks/sms/" + tenantID + "/ovh/" + ovhCallbackSecret(h.secret, tenantID) + "/" + what
	default:
		return "/hooks/sms/" + tenantID + "/generic/" + what
	}
}

// smsCallbacks are the callback URLs the Messaging page shows.
type smsCallbacks struct {
	Receipt, Inbound string
	// NeedSecret: a generic provider without callback_secret, which
	// therefore receives nothing.
	NeedSecret bool
}

// smsCallbackSource is what the Messaging page keeps to show the URLs.
type smsCallbackSource struct {
	base string
	hook smsHook
}

// callbackSource returns the callback set-up of the settings.
func (s *Server) callbackSource(st dispatch.Settings) smsCallbackSource {
	return smsCallbackSource{base: strings.TrimRight(s.Config.BaseURL, "/"), hook: smsHookOf(st.SMSConfig)}
}

// SMSCallbacks gives the callback URLs of the tenant's SMS provider, or
// nil when it has none.
func (f messagingForm) SMSCallbacks(tenantID string) *smsCallbacks {
	h := f.callbacks.hook
	if h.kind == "" || !db.ValidID(tenantID) {
		return nil
	}
	if h.secret == "" {
		return &smsCallbacks{NeedSecret: h.kind == "generic"}
	}
	return &smsCallbacks{Receipt: f.callbacks.base + smsHookPath(tenantID, h, "receipt"),
		Inbound: f.callbacks.base + smsHookPath(tenantID, h, "inbound")}
}

// hookAnswer ends a callback with a status and an empty body.
func hookAnswer(w http.ResponseWriter, status int) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
}

// smsHookStart finds the tenant's provider of the given kind and bounds
// the body. It answers and returns false when the request goes no
// further: 404 for an unknown tenant or another provider (or one that
// takes no callback), 413 for a body known to be too large.
func (s *Server) smsHookStart(w http.ResponseWriter, r *http.Request, kind string) (string, smsHook, bool) {
	tenantID := r.PathValue("tenant")
	if !db.ValidID(tenantID) {
		hookAnswer(w, http.StatusNotFound)
		return "", smsHook{}, false
	}
	if r.ContentLength > smsHookMaxBody {
		hookAnswer(w, http.StatusRequestEntityTooLarge)
		return "", smsHook{}, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, smsHookMaxBody)
	st, err := s.Dispatch.Settings(r.Context(), tenantID)
	if err != nil {
		s.Log.Error("sms callback: settings", "tenant", tenantID, "provider", kind, "err", err)
		hookAnswer(w, http.StatusInternalServerError)
		return "", smsHook{}, false
	}
	h := smsHookOf(st.SMSConfig)
	if h.kind != kind || h.secret == "" {
		hookAnswer(w, http.StatusNotFound)
		return "", smsHook{}, false
	}
	return tenantID, h, true
}

// bodyError answers a body that could not be read: 413 when too large,
// else 400.
func bodyError(w http.ResponseWriter, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		hookAnswer(w, http.StatusRequestEntityTooLarge)
		return
	}
	hookAnswer(w, http.StatusBadRequest)
}

// refused logs and answers a callback whose signature or secret is wrong.
func (s *Server) refused(w http.ResponseWriter, tenantID, kind, what string) {
	s.Log.Warn("sms callback refused: bad signature or secret", "tenant", tenantID, "provider", kind, "callback", what)
	hookAnswer(w, http.StatusForbidden)
}

// unparsable logs and answers a signed callback that does not parse. The
// parser's error names the field, never its value.
func (s *Server) unparsable(w http.ResponseWriter, tenantID, kind, what string, err error) {
	s.Log.Warn("sms callback not understood", "tenant", tenantID, "provider", kind, "callback", what, "err", err)
	hookAnswer(w, http.StatusBadRequest)
}

// smsReceipt records a delivery receipt: delivered, or a bounce for
// undelivered and failed; interim statuses change nothing.
func (s *Server) smsReceipt(ctx context.Context, tenantID, kind string, rc sms.Receipt) error {
	if !rc.Status.Final() {
		s.Log.Debug("sms receipt", "tenant", tenantID, "provider", kind, "provider_id", rc.ProviderID, "status", string(rc.Status))
		return nil
	}
	matched, err := s.Dispatch.Receipt(ctx, tenantID, rc.ProviderID, string(rc.Status))
	if err != nil {
		s.Log.Error("sms receipt", "tenant", tenantID, "provider", kind, "provider_id", rc.ProviderID, "err", err)
		return err
	}
	s.Log.Debug("sms receipt", "tenant", tenantID, "provider", kind, "provider_id", rc.ProviderID, "status", string(rc.Status),
		"matched", matched, "error_code", rc.ErrorCode)
	return nil
}

// smsInbound acts on a reply: a STOP puts the sender on the suppression
// list at once; anything else is dropped unread (it may be personal).
func (s *Server) smsInbound(ctx context.Context, tenantID, kind string, in sms.Inbound) error {
	if !sms.IsStop(in.Text) {
		s.Log.Debug("sms reply ignored", "tenant", tenantID, "provider", kind, "provider_id", in.ProviderID)
		return nil
	}
	if err := s.Dispatch.Stop(ctx, tenantID, in.From); err != nil {
		s.Log.Error("sms STOP", "tenant", tenantID, "provider", kind, "provider_id", in.ProviderID, "err", err)
		return err
	}
	s.Log.Info("sms STOP: number suppressed", "tenant", tenantID, "provider", kind, "provider_id", in.ProviderID)
	return nil
}

// twilioStatusHook takes Twilio's delivery status callbacks.
func (s *Server) twilioStatusHook(w http.ResponseWriter, r *http.Request) {
	s.twilioHook(w, r, "receipt")
}

// twilioInboundHook takes Twilio's incoming-message webhook.
func (s *Server) twilioInboundHook(w http.ResponseWriter, r *http.Request) {
	s.twilioHook(w, r, "inbound")
}

func (s *Server) twilioHook(w http.ResponseWriter, r *http.Request, what string) {
	tenantID, h, ok := s.smsHookStart(w, r, "twilio")
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		bodyError(w, err)
		return
	}
	// Twilio signs the URL it was given, which is avis's public address,
	// not the one this request reached through a proxy.
	fullURL := strings.TrimRight(s.Config.BaseURL, "/") + r.URL.RequestURI()
	if !sms.VerifyTwilioSignature(h.secret, fullURL, r.PostForm, r.Header.Get("X-Twilio-Signature")) {
		s.refused(w, tenantID, h.kind, what)
		return
	}
	if what == "receipt" {
		rc, err := sms.ParseTwilioStatus(r.Form)
		if err != nil {
			s.unparsable(w, tenantID, h.kind, what, err)
			return
		}
		if err := s.smsReceipt(r.Context(), tenantID, h.kind, rc); err != nil {
			hookAnswer(w, http.StatusInternalServerError)
			return
		}
		hookAnswer(w, http.StatusOK)
		return
	}
	in, err := sms.ParseTwilioInbound(r.PostForm)
	if err != nil {
		s.unparsable(w, tenantID, h.kind, what, err)
		return
	}
	if err := s.smsInbound(r.Context(), tenantID, h.kind, in); err != nil {
		hookAnswer(w, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, twimlEmpty)
}

// ovhReceiptHook takes OVH's delivery reports (GET or POST).
func (s *Server) ovhReceiptHook(w http.ResponseWriter, r *http.Request) { s.ovhHook(w, r, "receipt") }

// ovhInboundHook takes OVH's incoming SMS (GET or POST).
func (s *Server) ovhInboundHook(w http.ResponseWriter, r *http.Request) { s.ovhHook(w, r, "inbound") }

func (s *Server) ovhHook(w http.ResponseWriter, r *http.Request, what string) {
	tenantID, h, ok := s.smsHookStart(w, r, "ovh")
	if !ok {
		return
	}
	want := ovhCallbackSecret(h.secret, tenantID)
	if subtle.ConstantTimeCompare([]byte(r.PathValue("secret")), []byte(want)) != 1 {
		s.refused(w, tenantID, h.kind, what)
		return
	}
	if err := r.ParseForm(); err != nil {
		bodyError(w, err)
		return
	}
	if what == "receipt" {
		rc, err := sms.ParseOVHReceipt(r.Form)
		if err != nil {
			s.unparsable(w, tenantID, h.kind, what, err)
			return
		}
		if err := s.smsReceipt(r.Context(), tenantID, h.kind, rc); err != nil {
			hookAnswer(w, http.StatusInternalServerError)
			return
		}
		hookAnswer(w, http.StatusOK)
		return
	}
	in, err := sms.ParseOVHInbound(r.Form, h.region)
	if err != nil {
		s.unparsable(w, tenantID, h.kind, what, err)
		return
	}
	if err := s.smsInbound(r.Context(), tenantID, h.kind, in); err != nil {
		hookAnswer(w, http.StatusInternalServerError)
		return
	}
	hookAnswer(w, http.StatusOK)
}

// genericReceiptHook takes receipts in avis's JSON callback format.
func (s *Server) genericReceiptHook(w http.ResponseWriter, r *http.Request) {
	s.genericHook(w, r, "receipt")
}

// genericInboundHook takes replies in avis's JSON callback format.
func (s *Server) genericInboundHook(w http.ResponseWriter, r *http.Request) {
	s.genericHook(w, r, "inbound")
}

func (s *Server) genericHook(w http.ResponseWriter, r *http.Request, what string) {
	tenantID, h, ok := s.smsHookStart(w, r, "generic")
	if !ok {
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		bodyError(w, err)
		return
	}
	if !sms.VerifyGenericSignature(h.secret, body, r.Header.Get(sms.GenericSignatureHeader)) {
		s.refused(w, tenantID, h.kind, what)
		return
	}
	if what == "receipt" {
		rc, err := sms.ParseGenericReceipt(body)
		if err != nil {
			s.unparsable(w, tenantID, h.kind, what, err)
			return
		}
		if err := s.smsReceipt(r.Context(), tenantID, h.kind, rc); err != nil {
			hookAnswer(w, http.StatusInternalServerError)
			return
		}
		hookAnswer(w, http.StatusOK)
		return
	}
	in, err := sms.ParseGenericInbound(body)
	if err != nil {
		s.unparsable(w, tenantID, h.kind, what, err)
		return
	}
	if err := s.smsInbound(r.Context(), tenantID, h.kind, in); err != nil {
		hookAnswer(w, http.StatusInternalServerError)
		return
	}
	hookAnswer(w, http.StatusOK)
}
