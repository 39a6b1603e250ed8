package web_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/config"
	"avis/internal/contact"
	"avis/internal/db"
	"avis/internal/dispatch"
	"avis/internal/journey"
	"avis/internal/privacy"
)

// The SMS tests' numbers and texts, which must never reach a log.
const (
	hookPhone     = "+33612345678"
	hookAuthToken = "twilio-auth-token-of-the-shop"
	hookReplyText = "Merci, livraison parfaite"
	hookSecret    = "generic-callback-secret-0123456789"
)

// twilioFake is a loopback Twilio-compatible Messages API: it records each
// request and answers with the queued statuses (429 with Retry-After: 1),
// then 201 and a Message resource.
type twilioFake struct {
	srv     *httptest.Server
	mu      sync.Mutex
	forms   []url.Values
	paths   []string
	users   []string
	answers []int
	at429   time.Time
}

func newTwilioFake(t *testing.T, answers ...int) *twilioFake {
	f := &twilioFake{answers: answers}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _, _ := r.BasicAuth()
		_ = r.ParseForm()
		f.mu.Lock()
		f.forms = append(f.forms, r.PostForm)
		f.paths = append(f.paths, r.Method+" "+r.URL.Path)
		f.users = append(f.users, user)
		n := len(f.forms)
		status := http.StatusCreated
		if len(f.answers) > 0 {
			status, f.answers = f.answers[0], f.answers[1:]
		}
		if status == http.StatusTooManyRequests {
			f.at429 = time.Now()
		}
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(status)
			io.WriteString(w, `{"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}`)
			return
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"sid":"%s","num_segments":"1","status":"queued"}`, twilioSID(n))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// twilioSID is the Message SID the fake gives its n-th message.
func twilioSID(n int) string { return fmt.Sprintf("SM%032x", n) }

func (f *twilioFake) requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.forms)
}

const hookAccountSID = "AC0123456789abcdef0123456789abcdef"

// twilioConfig is a tenant's Twilio configuration pointing at the fake.
func twilioConfig(f *twilioFake, statusCallback string) string {
	return `{"type":"twilio","from":"Boutique","account_sid":"` + hookAccountSID + `","auth_token":"` + hookAuthToken +
		`","base_url":"` + f.srv.URL + `","status_callback":"` + statusCallback + `"}`
}

// twilioSign computes X-Twilio-Signature as Twilio documents it: the
// Base64 HMAC-SHA1, keyed with the auth token, of the URL followed by the
// POST parameters' names and values sorted by name.
func twilioSign(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := fullURL
	for _, k := range keys {
		for _, v := range form[k] {
			s += k + v
		}
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// smsShop is a tenant with a journey step whose rule asks by SMS at any
// hour, a survey and a contact with a phone.
type smsShop struct {
	t         *testing.T
	e         *env
	tenant    account.Tenant
	owner     string
	contactID string
}

func newSMSShop(t *testing.T, e *env, slug, smsConfig string) *smsShop {
	t.Helper()
	ctx := context.Background()
	sys := audit.System("test")
	tn, owner := e.tenant(slug, account.RoleOwner)
	j, err := e.journeys.CreateJourney(ctx, sys, tn.ID, "Orders", []journey.StepInput{{Key: "delivery", Name: "Delivery"}})
	if err != nil {
		t.Fatal(err)
	}
	sv, err := e.surveys.Create(ctx, sys, tn.ID, surveyFixture("Delivery"))
	if err != nil {
		t.Fatal(err)
	}
	r := dispatch.DefaultRule(j.Steps[0].ID, sv.ID)
	r.Channels = []string{dispatch.SMS}
	r.SMSWindow = dispatch.Window{Days: [7]bool{true, true, true, true, true, true, true}, From: 0, To: 1440}
	if _, err := e.dispatch.SaveRule(ctx, sys, tn.ID, r); err != nil {
		t.Fatal(err)
	}
	if smsConfig != "" {
		if _, err := e.dispatch.SaveSettings(ctx, sys, tn.ID, dispatch.SettingsUpdate{SMSConfig: &smsConfig}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := e.contacts.Create(ctx, sys, tn.ID, contact.Input{Phone: hookPhone, FirstName: "Jeanne"})
	if err != nil {
		t.Fatal(err)
	}
	return &smsShop{t: t, e: e, tenant: tn, owner: owner.Email, contactID: c.ID}
}

// event records a delivery for the contact and schedules its invitation.
func (sh *smsShop) event() dispatch.Scheduled {
	sh.t.Helper()
	ctx := context.Background()
	var out []dispatch.Scheduled
	err := sh.e.db.Tx(ctx, func(tx *sql.Tx) error {
		tp, _, err := sh.e.journeys.Record(ctx, tx, sh.tenant.ID, journey.Event{ContactID: sh.contactID, StepKey: "delivery",
			OccurredAt: time.Now(), SourceKind: "test", SourceID: "t"})
		if err != nil {
			return err
		}
		out, err = sh.e.dispatch.Schedule(ctx, tx, sh.tenant.ID, []journey.Touchpoint{tp})
		return err
	})
	if err != nil || len(out) != 1 {
		sh.t.Fatalf("schedule: %v %v", out, err)
	}
	return out[0]
}

func (sh *smsShop) inv(id string) dispatch.Invitation {
	sh.t.Helper()
	inv, err := sh.e.dispatch.Invitation(context.Background(), sh.tenant.ID, id)
	if err != nil {
		sh.t.Fatal(err)
	}
	return inv
}

// runUntil sends what is due (the job queue may be at it too) until the
// invitation reaches the status.
func (sh *smsShop) runUntil(id, status string) dispatch.Invitation {
	sh.t.Helper()
	if _, err := sh.e.dispatch.RunDue(context.Background(), sh.tenant.ID); err != nil {
		sh.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		inv := sh.inv(id)
		if inv.Status == status {
			return inv
		}
		if time.Now().After(deadline) {
			sh.t.Fatalf("invitation %s is %s (%s), want %s", id, inv.Status, inv.Reason, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// suppressed reports whether the contact's phone is on the suppression
// list, and why.
func (sh *smsShop) suppressed() (bool, string) {
	sh.t.Helper()
	ctx := context.Background()
	reach, err := sh.e.contacts.Reachability(ctx, nil, sh.tenant.ID, sh.contactID)
	if err != nil {
		sh.t.Fatal(err)
	}
	sup, why, err := privacy.Suppressed(ctx, sh.e.db.R, sh.tenant.ID, reach.PhoneIndex)
	if err != nil {
		sh.t.Fatal(err)
	}
	return sup, why
}

// hook sends a callback to avis: a body of a content type, and header
// pairs.
func (e *env) hook(method, path, contentType string, body io.Reader, header ...string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer r.Body.Close()
	all, _ := io.ReadAll(r.Body)
	return resp{r.StatusCode, string(all), r.Header}
}

// twilioPost posts a form to a Twilio hook with the signature sig ("" for
// none).
func (e *env) twilioPost(path string, form url.Values, sig string) resp {
	e.t.Helper()
	var h []string
	if sig != "" {
		h = []string{"X-Twilio-Signature", sig}
	}
	return e.hook("POST", path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), h...)
}

var callbackURLRe = regexp.MustCompile(`<code class="wrap">(http://localhost:8080/hooks/sms/[^<]+)</code>`)

// callbackPaths reads the callback URLs the Messaging page shows and
// returns their paths (receipts, replies).
func (sh *smsShop) callbackPaths() (string, string) {
	sh.t.Helper()
	page := sh.e.loggedIn(sh.owner).get("/messaging")
	if page.status != http.StatusOK {
		sh.t.Fatalf("messaging page: %d", page.status)
	}
	m := callbackURLRe.FindAllStringSubmatch(page.body, -1)
	if len(m) != 2 {
		sh.t.Fatalf("callback URLs on the page: %v", m)
	}
	return strings.TrimPrefix(m[0][1], "http://localhost:8080"), strings.TrimPrefix(m[1][1], "http://localhost:8080")
}

// TestSMSEndToEnd sends an SMS invitation through a Twilio-compatible
// server, then takes Twilio's signed delivery receipt and STOP reply.
func TestSMSEndToEnd(t *testing.T) {
	e := newEnv(t)
	base := config.Default().BaseURL // AVIS_BASE_URL, as Twilio sees avis behind its proxy
	fake := newTwilioFake(t)
	shop := newSMSShop(t, e, "boutique", "") // its configuration names its own URL, below
	statusPath := "/hooks/sms/" + shop.tenant.ID + "/twilio/status"
	inboundPath := "/hooks/sms/" + shop.tenant.ID + "/twilio/inbound"
	cfg := twilioConfig(fake, base+statusPath)
	if _, err := e.dispatch.SaveSettings(context.Background(), audit.System("test"), shop.tenant.ID, dispatch.SettingsUpdate{SMSConfig: &cfg}); err != nil {
		t.Fatal(err)
	}

	// The Messaging page shows the URLs to give Twilio.
	rp, ip := shop.callbackPaths()
	if rp != statusPath || ip != inboundPath {
		t.Fatalf("the page shows %s and %s", rp, ip)
	}

	sc := shop.event()
	if sc.Status != dispatch.StatusScheduled {
		t.Fatalf("scheduled: %+v", sc)
	}
	inv := shop.runUntil(sc.InvitationID, dispatch.StatusSent)
	if fake.requests() != 1 {
		t.Fatalf("the provider received %d requests, want 1", fake.requests())
	}
	form := fake.forms[0]
	if fake.paths[0] != "POST /2010-04-01/Accounts/"+hookAccountSID+"/Messages.json" || fake.users[0] != hookAccountSID {
		t.Errorf("request %s as %q", fake.paths[0], fake.users[0])
	}
	body := form.Get("Body")
	if form.Get("To") != hookPhone || form.Get("From") != "Boutique" || !regexp.MustCompile(`http://localhost:8080/s/[A-Za-z0-9_-]{22}`).MatchString(body) ||
		!strings.Contains(strings.ToUpper(body), "STOP") {
		t.Errorf("message To=%q From=%q Body=%q", form.Get("To"), form.Get("From"), body)
	}
	if cb := form.Get("StatusCallback"); cb != base+statusPath+"?ref="+inv.ID {
		t.Errorf("StatusCallback %q", cb)
	}
	if inv.ProviderID != twilioSID(1) {
		t.Fatalf("provider id %q", inv.ProviderID)
	}

	// Delivery receipt, as Twilio posts it to StatusCallback.
	receiptPath := statusPath + "?ref=" + inv.ID
	receipt := url.Values{"MessageSid": {inv.ProviderID}, "SmsSid": {inv.ProviderID}, "AccountSid": {hookAccountSID},
		"MessageStatus": {"delivered"}, "To": {hookPhone}, "From": {"Boutique"}, "ApiVersion": {"2010-04-01"}}
	for name, sig := range map[string]string{
		"unsigned":         "",
		"garbage":          "bm90IGEgc2lnbmF0dXJl",
		"other token":      twilioSign("another-token", base+receiptPath, receipt),
		"address reached":  twilioSign(hookAuthToken, e.srv.URL+receiptPath, receipt), // not AVIS_BASE_URL
		"without the ref":  twilioSign(hookAuthToken, base+statusPath, receipt),
		"other parameters": twilioSign(hookAuthToken, base+receiptPath, url.Values{"MessageSid": {inv.ProviderID}, "MessageStatus": {"delivered"}}),
	} {
		if r := e.twilioPost(receiptPath, receipt, sig); r.status != http.StatusForbidden || r.body != "" {
			t.Errorf("%s receipt: %d %q, want 403 and nothing", name, r.status, r.body)
		}
	}
	if got := shop.inv(inv.ID); got.Status != dispatch.StatusSent {
		t.Fatalf("a refused receipt changed the invitation: %s", got.Status)
	}
	if r := e.twilioPost(receiptPath, receipt, twilioSign(hookAuthToken, base+receiptPath, receipt)); r.status != http.StatusOK || r.body != "" {
		t.Fatalf("signed receipt: %d %q", r.status, r.body)
	}
	if got := shop.inv(inv.ID); got.Status != dispatch.StatusDelivered || got.DeliveredAt.IsZero() {
		t.Fatalf("after the receipt: %s", got.Status)
	}
	// A signed receipt that does not parse is a 400 that echoes nothing.
	bad := url.Values{"MessageSid": {inv.ProviderID}, "MessageStatus": {"exploded<script>"}}
	if r := e.twilioPost(statusPath, bad, twilioSign(hookAuthToken, base+statusPath, bad)); r.status != http.StatusBadRequest || r.body != "" {
		t.Errorf("unparsable receipt: %d %q", r.status, r.body)
	}

	// Replies: an unsigned STOP does nothing; any other text is dropped;
	// a signed STOP suppresses the number at once.
	stop := url.Values{"MessageSid": {"SM" + strings.Repeat("e", 32)}, "AccountSid": {hookAccountSID}, "From": {hookPhone},
		"To": {"+33700000000"}, "Body": {"Stop."}, "NumMedia": {"0"}}
	if r := e.twilioPost(inboundPath, stop, ""); r.status != http.StatusForbidden {
		t.Fatalf("unsigned STOP: %d", r.status)
	}
	if r := e.twilioPost(inboundPath, stop, twilioSign(hookAuthToken, e.srv.URL+inboundPath, stop)); r.status != http.StatusForbidden {
		t.Fatalf("STOP signed for another address: %d", r.status)
	}
	if sup, _ := shop.suppressed(); sup {
		t.Fatal("an unsigned STOP suppressed the number")
	}
	reply := url.Values{"MessageSid": {"SM" + strings.Repeat("f", 32)}, "From": {hookPhone}, "To": {"+33700000000"}, "Body": {hookReplyText}}
	r := e.twilioPost(inboundPath, reply, twilioSign(hookAuthToken, base+inboundPath, reply))
	if r.status != http.StatusOK || !strings.Contains(r.body, "<Response/>") || !strings.HasPrefix(r.header.Get("Content-Type"), "text/xml") {
		t.Fatalf("reply: %d %q %q", r.status, r.header.Get("Content-Type"), r.body)
	}
	if sup, _ := shop.suppressed(); sup {
		t.Fatal("a reply that is not STOP suppressed the number")
	}
	r = e.twilioPost(inboundPath, stop, twilioSign(hookAuthToken, base+inboundPath, stop))
	if r.status != http.StatusOK || !strings.Contains(r.body, "<Response/>") {
		t.Fatalf("signed STOP: %d %q", r.status, r.body)
	}
	if sup, why := shop.suppressed(); !sup || why != privacy.ReasonStop {
		t.Fatalf("after STOP: suppressed=%v %q", sup, why)
	}
	if next := shop.event(); next.Status != dispatch.StatusSuppressed || next.Reason != privacy.ReasonStop {
		t.Fatalf("the next event after STOP: %+v", next)
	}
	if fake.requests() != 1 {
		t.Fatalf("the provider received %d requests", fake.requests())
	}

	// Another provider's routes do not exist for this tenant, nor do
	// unknown tenants.
	for _, p := range []string{"/hooks/sms/" + shop.tenant.ID + "/generic/receipt", "/hooks/sms/" + db.NewID() + "/twilio/status",
		"/hooks/sms/not-a-tenant/twilio/status"} {
		if r := e.twilioPost(p, receipt, twilioSign(hookAuthToken, base+p, receipt)); r.status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, r.status)
		}
	}

	// Bodies over 64 KiB: refused whole, with or without a length.
	big := url.Values{"MessageSid": {inv.ProviderID}, "MessageStatus": {"delivered"}, "Pad": {strings.Repeat("x", 70<<10)}}
	if r := e.twilioPost(statusPath, big, twilioSign(hookAuthToken, base+statusPath, big)); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("70 KiB body: %d", r.status)
	}
	chunked := struct{ io.Reader }{strings.NewReader(big.Encode())} // no length: sent chunked
	if r := e.hook("POST", statusPath, "application/x-www-form-urlencoded", chunked, "X-Twilio-Signature", twilioSign(hookAuthToken, base+statusPath, big)); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("70 KiB chunked body: %d", r.status)
	}
	if r := e.browser().get("/healthz"); r.status != http.StatusOK {
		t.Fatalf("healthz after the large bodies: %d", r.status)
	}

	// No number and no text in the logs.
	logs := e.logs.String()
	for _, s := range []string{hookPhone, "612345678", hookReplyText, "Stop.", hookAuthToken} {
		if strings.Contains(logs, s) {
			t.Errorf("the logs hold %q", s)
		}
	}
	if !strings.Contains(logs, "sms STOP") || !strings.Contains(logs, "sms callback refused") {
		t.Errorf("the logs do not say what happened:\n%s", logs)
	}
}

// TestSMSRateLimited: a provider that answers 429 then 201 gets the
// message once; the invitation waits, its attempts untouched.
func TestSMSRateLimited(t *testing.T) {
	e := newEnv(t)
	fake := newTwilioFake(t, http.StatusTooManyRequests)
	shop := newSMSShop(t, e, "boutique", twilioConfig(fake, ""))
	sc := shop.event()
	if _, err := e.dispatch.RunDue(context.Background(), shop.tenant.ID); err != nil {
		t.Fatal(err)
	}
	// Wait until the 429 is answered and the invitation put back.
	deadline := time.Now().Add(10 * time.Second)
	var inv dispatch.Invitation
	for {
		inv = shop.inv(sc.InvitationID)
		fake.mu.Lock()
		at := fake.at429
		fake.mu.Unlock()
		if !at.IsZero() && inv.Status == dispatch.StatusScheduled && inv.DueAt.After(at) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the 429: %+v, provider calls %d", inv, fake.requests())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if inv.Attempts != 0 || inv.ProviderID != "" || fake.requests() != 1 {
		t.Fatalf("after the 429: %+v, provider calls %d", inv, fake.requests())
	}
	// Once Retry-After has passed, the next run sends it.
	time.Sleep(time.Until(inv.DueAt) + 50*time.Millisecond)
	sent := shop.runUntil(sc.InvitationID, dispatch.StatusSent)
	if sent.ProviderID != twilioSID(2) || fake.requests() != 2 {
		t.Fatalf("sent %+v after %d provider calls", sent, fake.requests())
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := e.dispatch.RunDue(context.Background(), shop.tenant.ID); err != nil || fake.requests() != 2 {
		t.Fatalf("a later run: %v, %d provider calls", err, fake.requests())
	}
}

// TestSMSHookOVH: OVH signs nothing, so its URLs carry the tenant's
// secret, shown on the Messaging page; a wrong secret is refused.
func TestSMSHookOVH(t *testing.T) {
	e := newEnv(t)
	shop := newSMSShop(t, e, "boutique", `{"type":"ovh","from":"Boutique","application_key":"ak","application_secret":"ovh-application-secret",
		"consumer_key":"ck","service_name":"sms-ab12345-1"}`)
	receiptPath, inboundPath := shop.callbackPaths()
	m := regexp.MustCompile(`^/hooks/sms/` + shop.tenant.ID + `/ovh/([A-Za-z0-9_-]{22})/receipt$`).FindStringSubmatch(receiptPath)
	if m == nil || inboundPath != strings.TrimSuffix(receiptPath, "receipt")+"inbound" {
		t.Fatalf("callback paths %s %s", receiptPath, inboundPath)
	}
	secret := m[1]
	// Another tenant's OVH secret differs.
	other := newSMSShop(t, e, "autre", `{"type":"ovh","from":"Boutique","application_key":"ak","application_secret":"ovh-application-secret",
		"consumer_key":"ck","service_name":"sms-ab12345-1"}`)
	otherReceipt, _ := other.callbackPaths()
	if strings.Contains(otherReceipt, secret) {
		t.Fatal("two tenants share an OVH callback secret")
	}
	// The secret with its first character changed.
	wrongSecret := "A" + secret[1:]
	if secret[0] == 'A' {
		wrongSecret = "B" + secret[1:]
	}
	wrong := strings.Replace(receiptPath, secret, wrongSecret, 1)

	tests := []struct {
		name, method, path string
		want               int
	}{
		{"receipt", "GET", receiptPath + "?id=123456789&dlr=1&ptt=13&description=Delivered", http.StatusOK},
		{"receipt by POST", "POST", receiptPath + "?id=123456789&dlr=2&ptt=73", http.StatusOK},
		{"receipt without dlr", "GET", receiptPath + "?id=123456789", http.StatusBadRequest},
		{"wrong secret", "GET", wrong + "?id=123456789&dlr=1", http.StatusForbidden},
		{"another tenant's secret", "GET", "/hooks/sms/" + shop.tenant.ID + otherReceipt[strings.Index(otherReceipt, "/ovh/"):] + "?id=1&dlr=1", http.StatusForbidden},
		{"short secret", "GET", "/hooks/sms/" + shop.tenant.ID + "/ovh/x/receipt?id=1&dlr=1", http.StatusForbidden},
		{"stop with a wrong secret", "GET", strings.Replace(inboundPath, secret, wrongSecret, 1) + "?id=1&senderid=0612345678&message=STOP", http.StatusForbidden},
	}
	for _, tt := range tests {
		var body io.Reader
		if tt.method == "POST" {
			body = strings.NewReader("")
		}
		if r := e.hook(tt.method, tt.path, "", body); r.status != tt.want || r.body != "" {
			t.Errorf("%s: %d %q, want %d", tt.name, r.status, r.body, tt.want)
		}
	}
	if sup, _ := shop.suppressed(); sup {
		t.Fatal("a STOP with a wrong secret suppressed the number")
	}
	// A reply; then STOP with the number written the French way, by POST.
	if r := e.hook("GET", inboundPath+"?id=77&senderid=%2B33612345678&message="+url.QueryEscape(hookReplyText), "", nil); r.status != http.StatusOK {
		t.Fatalf("reply: %d", r.status)
	}
	if sup, _ := shop.suppressed(); sup {
		t.Fatal("a reply suppressed the number")
	}
	stop := url.Values{"id": {"78"}, "senderid": {"0612345678"}, "message": {"ARRÊT"}, "tag": {""}}
	if r := e.hook("POST", inboundPath, "application/x-www-form-urlencoded", strings.NewReader(stop.Encode())); r.status != http.StatusOK {
		t.Fatalf("STOP: %d", r.status)
	}
	if sup, why := shop.suppressed(); !sup || why != privacy.ReasonStop {
		t.Fatalf("after STOP: %v %q", sup, why)
	}
	if sup, _ := other.suppressed(); sup {
		t.Fatal("the STOP reached another tenant")
	}
	if logs := e.logs.String(); strings.Contains(logs, secret) || strings.Contains(logs, "612345678") || strings.Contains(logs, hookReplyText) {
		t.Error("the logs hold the secret, the number or the text")
	}
}

// genericSign signs a body as a generic provider does: "sha256=" and the
// hexadecimal HMAC-SHA256 of the body.
func genericSign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// TestSMSHookGeneric sends through a generic HTTP provider and takes its
// signed JSON receipt and STOP.
func TestSMSHookGeneric(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var sent int
	gen := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		sent++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"data":{"id":"gen-42"}}`)
	}))
	t.Cleanup(gen.Close)
	cfg := `{"type":"generic","url":"` + gen.URL + `/send","headers":{"Content-Type":"application/json"},
		"body":"{\"to\":{{json .To}},\"text\":{{json .Text}}}","id_path":"data.id","callback_secret":"` + hookSecret + `"}`
	shop := newSMSShop(t, e, "boutique", cfg)
	receiptPath, inboundPath := shop.callbackPaths()
	if receiptPath != "/hooks/sms/"+shop.tenant.ID+"/generic/receipt" || inboundPath != "/hooks/sms/"+shop.tenant.ID+"/generic/inbound" {
		t.Fatalf("callback paths %s %s", receiptPath, inboundPath)
	}
	sc := shop.event()
	inv := shop.runUntil(sc.InvitationID, dispatch.StatusSent)
	mu.Lock()
	calls := sent
	mu.Unlock()
	if inv.ProviderID != "gen-42" || calls != 1 {
		t.Fatalf("sent %+v (%d calls)", inv, calls)
	}
	post := func(path string, body []byte, sig string) int {
		var h []string
		if sig != "" {
			h = []string{"X-Avis-Signature", sig}
		}
		return e.hook("POST", path, "application/json", strings.NewReader(string(body)), h...).status
	}
	receipt := []byte(`{"id":"gen-42","status":"delivered"}`)
	if st := post(receiptPath, receipt, ""); st != http.StatusForbidden {
		t.Errorf("unsigned receipt: %d", st)
	}
	if st := post(receiptPath, receipt, genericSign("another-secret-0123456789", receipt)); st != http.StatusForbidden {
		t.Errorf("receipt signed with another secret: %d", st)
	}
	if st := post(receiptPath, []byte(`{"id":"gen-42","status":"delivered" }`), genericSign(hookSecret, receipt)); st != http.StatusForbidden {
		t.Errorf("receipt signed for another body: %d", st)
	}
	if got := shop.inv(inv.ID); got.Status != dispatch.StatusSent {
		t.Fatalf("a refused receipt changed the invitation: %s", got.Status)
	}
	if st := post(receiptPath, receipt, genericSign(hookSecret, receipt)); st != http.StatusOK {
		t.Fatalf("signed receipt: %d", st)
	}
	if got := shop.inv(inv.ID); got.Status != dispatch.StatusDelivered {
		t.Fatalf("after the receipt: %s", got.Status)
	}
	notJSON := []byte(`{"id":`)
	if st := post(receiptPath, notJSON, genericSign(hookSecret, notJSON)); st != http.StatusBadRequest {
		t.Errorf("signed body that is not JSON: %d", st)
	}
	stop := []byte(`{"id":"in-1","from":"` + hookPhone + `","text":"STOP"}`)
	if st := post(inboundPath, stop, genericSign("another-secret-0123456789", stop)); st != http.StatusForbidden {
		t.Errorf("STOP signed with another secret: %d", st)
	}
	if sup, _ := shop.suppressed(); sup {
		t.Fatal("a wrongly signed STOP suppressed the number")
	}
	if st := post(inboundPath, stop, genericSign(hookSecret, stop)); st != http.StatusOK {
		t.Fatalf("signed STOP: %d", st)
	}
	if sup, why := shop.suppressed(); !sup || why != privacy.ReasonStop {
		t.Fatalf("after STOP: %v %q", sup, why)
	}
	big := []byte(`{"id":"in-2","from":"` + hookPhone + `","text":"` + strings.Repeat("x", 70<<10) + `"}`)
	if st := post(inboundPath, big, genericSign(hookSecret, big)); st != http.StatusRequestEntityTooLarge {
		t.Errorf("70 KiB body: %d", st)
	}

	// Without callback_secret, a generic provider takes no callback, and
	// the Messaging page says what to add.
	noSecret := strings.Replace(cfg, `,"callback_secret":"`+hookSecret+`"`, "", 1)
	if _, err := e.dispatch.SaveSettings(context.Background(), audit.System("test"), shop.tenant.ID, dispatch.SettingsUpdate{SMSConfig: &noSecret}); err != nil {
		t.Fatal(err)
	}
	if st := post(receiptPath, receipt, genericSign(hookSecret, receipt)); st != http.StatusNotFound {
		t.Errorf("receipt without a callback secret configured: %d", st)
	}
	page := e.loggedIn(shop.owner).get("/messaging")
	if !strings.Contains(page.body, "callback_secret") || callbackURLRe.MatchString(page.body) {
		t.Errorf("the page without a callback secret:\n%s", page.body)
	}
}
