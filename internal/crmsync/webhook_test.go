package crmsync

import (
	"bytes"
	"crypto/x509"
	"errors"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"avis/internal/account"
	"avis/internal/channel/email"
	"avis/internal/channel/email/smtptest"
	"avis/internal/db"
	"avis/internal/feed"
	"avis/internal/jobs"
)

// TestWebhookSignature signs as avis does and checks the result with the
// verifier written from the specification and with the Standard Webhooks
// library; during a rotation both secrets' signatures are sent.
func TestWebhookSignature(t *testing.T) {
	oldSecret, newSecret := NewSecret(), NewSecret()
	if !strings.HasPrefix(oldSecret, "whsec_") || len(oldSecret) != len("whsec_")+44 {
		t.Fatalf("secret %q is not whsec_ and the base64 of 32 bytes", oldSecret)
	}
	body := []byte(`{"type":"response.completed","timestamp":"2026-11-29T08:00:00Z","data":{}}`)
	at := time.Now()
	for _, tc := range []struct {
		name    string
		secrets []string
		verify  []string
		want    bool
	}{
		{"one secret", []string{newSecret}, []string{newSecret}, true},
		{"rotation, new secret", []string{newSecret, oldSecret}, []string{newSecret}, true},
		{"rotation, old secret", []string{newSecret, oldSecret}, []string{oldSecret}, true},
		{"wrong secret", []string{newSecret}, []string{oldSecret}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sig, err := Sign("evt_1", at, body, tc.secrets...)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(strings.Fields(sig)); n != len(tc.secrets) {
				t.Fatalf("%d signatures for %d secrets: %q", n, len(tc.secrets), sig)
			}
			h := http.Header{}
			h.Set("webhook-id", "evt_1")
			h.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
			h.Set("webhook-signature", sig)
			for _, s := range tc.verify {
				err := verifySpec(s, h, body)
				if (err == nil) != tc.want {
					t.Errorf("spec verifier: %v, want ok=%v", err, tc.want)
				}
				wh, _ := standardwebhooks.NewWebhook(s)
				err = wh.Verify(body, h)
				if (err == nil) != tc.want {
					t.Errorf("Standard Webhooks library: %v, want ok=%v", err, tc.want)
				}
				// A changed body or id does not verify.
				if err := verifySpec(s, h, append([]byte(" "), body...)); err == nil {
					t.Error("a changed body verified")
				}
			}
		})
	}
}

// TestWebhookURLGuard refuses destinations an attacker would aim avis at,
// at save time and again when connecting, unless the operator allows them.
func TestWebhookURLGuard(t *testing.T) {
	e := newEnv(t)
	strict := NewWebhooks(e.d, e.v, e.a, WebhookOptions{})
	lax := NewWebhooks(e.d, e.v, e.a, WebhookOptions{AllowPrivate: true, AllowHTTP: true})
	for _, tc := range []struct {
		url        string
		strictOK   bool
		laxOK      bool
		strictWant string
	}{
		{"https://127.0.0.1/hook", false, true, "internal address"},
		{"https://[::1]:8443/hook", false, true, "internal address"},
		{"https://localhost/hook", false, true, "internal address"},
		{"https://169.254.169.254/latest/meta-data", false, true, "internal address"},
		{"https://[fe80::1]/hook", false, true, "internal address"},
		{"https://10.1.2.3/hook", false, true, "internal address"},
		{"https://172.20.0.1/hook", false, true, "internal address"},
		{"https://192.168.1.10/hook", false, true, "internal address"},
		{"https://[fd00::5]/hook", false, true, "internal address"},
		{"https://100.64.0.1/hook", false, true, "internal address"},
		{"https://0.0.0.0/hook", false, true, "internal address"},
		{"https://224.0.0.1/hook", false, true, "internal address"},
		{"https://[::ffff:127.0.0.1]/hook", false, true, "internal address"},
		{"https://93.184.215.14/hook", true, true, ""},
		{"http://93.184.215.14/hook", false, true, "https://"},
		{"https://user:pass@93.184.215.14/hook", false, false, "user name"},
		{"ftp://93.184.215.14/hook", false, false, "https://"},
		{"https://93.184.215.14/hook#x", false, false, "fragment"},
		{"", false, false, "Give the URL"},
		{"https://93.184.215.14/" + strings.Repeat("a", MaxURLLength), false, false, "longer"},
		{"https://no-such-host.invalid/hook", false, true, "could not be resolved"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			_, err := strict.CheckURL(t.Context(), tc.url)
			if (err == nil) != tc.strictOK {
				t.Errorf("strict: %v, want ok=%v", err, tc.strictOK)
			}
			if err != nil && !strings.Contains(err.Error(), tc.strictWant) {
				t.Errorf("strict: %q does not say %q", err, tc.strictWant)
			}
			_, err = lax.CheckURL(t.Context(), tc.url)
			if (err == nil) != tc.laxOK {
				t.Errorf("allowed: %v, want ok=%v", err, tc.laxOK)
			}
		})
	}

	// A name that resolved to a public address when saved and to a
	// loopback one now (DNS rebinding): the connection itself is refused.
	r := newReceiver(t)
	ep := Endpoint{TenantID: e.tenant, ID: db.NewID(), URL: r.url()}
	o := strict.post(t.Context(), ep, "evt_x", []byte(`{}`), []string{NewSecret()})
	if o.ok() || !strings.Contains(o.problem, "avis refused to connect to 127.0.0.1, an internal address") {
		t.Errorf("connection to loopback: %+v", o)
	}
	if len(r.got()) != 0 {
		t.Error("the receiver on loopback got a request")
	}
}

// TestWebhookDeliveryInOrder: a burst of events reaches a healthy receiver
// signed, once each, in feed order, with the least-data payload.
func TestWebhookDeliveryInOrder(t *testing.T) {
	h := newHookEnv(t, nil)
	r := newReceiver(t)
	h.endpoint(t, r)
	ids := h.responses(t, 60, "")
	waitFor(t, "60 deliveries", func() bool { return len(r.delivered()) == 60 })
	r.checkSignatures()
	if got := r.delivered(); !slices.Equal(got, ids) {
		t.Fatalf("delivered %v\nwant %v", got, ids)
	}
	if n := len(r.got()); n != 60 {
		t.Errorf("%d requests for 60 events", n)
	}
	var last int64
	for _, x := range r.got() {
		if x.typ != feed.ResponseCreated || x.seq <= last {
			t.Fatalf("hit %s %s seq %d after %d", x.id, x.typ, x.seq, last)
		}
		last = x.seq
	}
	// Few jobs for many events: one per endpoint while one is pending.
	list, err := h.q.Client.JobList(t.Context(), river.NewJobListParams().Kinds(DeliverArgs{}.Kind()).First(1000))
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Jobs) > 30 {
		t.Errorf("%d delivery jobs for 60 events of one endpoint", len(list.Jobs))
	}
}

// TestWebhookDownThenBack: while the receiver is down, every event waits
// and is retried with backoff; once it is back, every delivery arrives, in
// order, none twice.
func TestWebhookDownThenBack(t *testing.T) {
	h := newHookEnv(t, nil)
	r := newReceiver(t)
	ep := h.endpoint(t, r)
	r.stop()
	ids := h.responses(t, 10, "")
	waitFor(t, "a few failed attempts", func() bool {
		ds, _ := h.w.Deliveries(t.Context(), h.tenant, ep.ID, "", 50)
		for _, d := range ds {
			if d.Attempts >= 3 {
				return true
			}
		}
		return false
	})
	ds, _ := h.w.Deliveries(t.Context(), h.tenant, ep.ID, "", 50)
	first := ds[len(ds)-1]
	if first.Status != StatusRetrying || !strings.Contains(first.Error, "The endpoint refused the connection") || first.NextAttemptAt.IsZero() {
		t.Errorf("first delivery while down: %+v", first)
	}
	for _, d := range ds[:len(ds)-1] {
		if d.Attempts != 0 {
			t.Errorf("a later delivery was tried (%d attempts) while the first one failed", d.Attempts)
		}
	}
	more := h.responses(t, 5, "")
	r.start()
	want := append(ids, more...)
	waitFor(t, "every delivery", func() bool { return len(r.delivered()) == len(want) })
	r.checkSignatures()
	if got := r.delivered(); !slices.Equal(got, want) {
		t.Fatalf("after the receiver came back: %v\nwant %v", got, want)
	}
	if n := len(r.got()); n != len(want) {
		t.Errorf("%d requests for %d events", n, len(want))
	}
	waitFor(t, "the endpoint healthy again", func() bool {
		got, _ := h.w.Get(t.Context(), h.tenant, ep.ID)
		return got.Enabled && got.FailingSince.IsZero()
	})
}

// TestWebhookRetriesWithBackoff: a receiver answering 500 gets the same
// event (same webhook-id) again after growing waits, then the rest.
func TestWebhookRetriesWithBackoff(t *testing.T) {
	h := newHookEnv(t, nil)
	r := newReceiver(t)
	ep := h.endpoint(t, r)
	r.set("500", 3)
	ids := h.responses(t, 3, "")
	waitFor(t, "three deliveries", func() bool { return len(r.delivered()) == 3 })
	hits := r.got()
	if len(hits) != 6 {
		t.Fatalf("%d requests, want 3 failures and 3 successes", len(hits))
	}
	for i := range 4 {
		if hits[i].id != ids[0] {
			t.Fatalf("request %d carried %s, want the first event again (%s)", i, hits[i].id, ids[0])
		}
	}
	for i, want := range []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond} {
		if gap := hits[i+1].at.Sub(hits[i].at); gap < want {
			t.Errorf("retry %d after %s, want at least %s", i+1, gap, want)
		}
	}
	var first Delivery
	waitFor(t, "the log to record the deliveries", func() bool {
		ds, _ := h.w.Deliveries(t.Context(), h.tenant, ep.ID, "", 50)
		first = ds[len(ds)-1]
		return ds[0].Status == StatusDelivered
	})
	if first.Status != StatusDelivered || first.Attempts != 4 || first.HTTPStatus != http.StatusNoContent {
		t.Errorf("first delivery in the log: %+v", first)
	}
}

// TestWebhookGone: 410 disables the endpoint at once and tells its admins;
// later events wait for it.
func TestWebhookGone(t *testing.T) {
	h := newHookEnv(t, nil)
	r := newReceiver(t)
	ep := h.endpoint(t, r)
	r.set("410", 0)
	h.responses(t, 2, "")
	waitFor(t, "the endpoint disabled", func() bool { return len(h.notes.list()) == 1 })
	got, _ := h.w.Get(t.Context(), h.tenant, ep.ID)
	if got.Enabled || got.DisabledKind != DisabledGone || !strings.Contains(got.DisabledReason, "410") {
		t.Errorf("after 410: %+v", got)
	}
	if n := len(r.got()); n != 1 {
		t.Errorf("%d requests after a 410, want 1", n)
	}
	h.responses(t, 1, "")
	time.Sleep(200 * time.Millisecond)
	if n := len(r.got()); n != 1 {
		t.Errorf("a disabled endpoint got %d requests", n)
	}
}

// TestWebhookGivesUp: an endpoint failing for GiveUpAfter is disabled and
// its admins are told; the events of meanwhile are kept, and once it is
// enabled again they all arrive, in order.
func TestWebhookGivesUp(t *testing.T) {
	h := newHookEnv(t, func(o *WebhookOptions) { o.GiveUpAfter = 300 * time.Millisecond })
	r := newReceiver(t)
	ep := h.endpoint(t, r)
	r.set("500", -1)
	ids := h.responses(t, 2, "")
	waitFor(t, "the endpoint disabled", func() bool { return len(h.notes.list()) == 1 })
	got, _ := h.w.Get(t.Context(), h.tenant, ep.ID)
	if got.Enabled || got.DisabledKind != DisabledFailing || !strings.Contains(got.DisabledReason, "500") {
		t.Fatalf("after failing: %+v", got)
	}
	ids = append(ids, h.responses(t, 2, "")...)
	r.set("", 0)
	in := EndpointInput{URL: got.URL, Events: got.Events, Enabled: true}
	if _, err := h.w.Update(t.Context(), h.admin, h.tenant, ep.ID, in); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every delivery", func() bool { return len(r.delivered()) == 4 })
	if got := r.delivered(); !slices.Equal(got, ids) {
		t.Fatalf("after enabling: %v\nwant %v", got, ids)
	}
}

// TestWebhookRedirect: a redirect is a failure that says so; avis does not
// follow it.
func TestWebhookRedirect(t *testing.T) {
	h := newHookEnv(t, nil)
	r := newReceiver(t)
	ep := h.endpoint(t, r)
	r.set("redirect", 0)
	h.responses(t, 1, "")
	var d Delivery
	waitFor(t, "two attempts recorded", func() bool {
		ds, _ := h.w.Deliveries(t.Context(), h.tenant, ep.ID, "", 5)
		d = ds[0]
		return d.Attempts >= 2
	})
	if d.HTTPStatus != http.StatusFound || !strings.Contains(d.Error, "avis does not follow redirects") {
		t.Errorf("redirect: %+v", d)
	}
	// At most one attempt more may be under way; a followed redirect
	// would make many requests per attempt.
	if n := len(r.got()); n > d.Attempts+1 {
		t.Errorf("%d requests for %d attempts: the redirect was followed", n, d.Attempts)
	}
}

// TestWebhookTLS: a certificate from an unknown authority is a failure
// with a message; a trusted one delivers.
func TestWebhookTLS(t *testing.T) {
	r := newReceiver(t)
	srv := httptest.NewTLSServer(r)
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name    string
		trusted bool
	}{{"untrusted", false}, {"trusted", true}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHookEnv(t, func(o *WebhookOptions) {
				if tc.trusted {
					o.RootCAs = x509.NewCertPool()
					o.RootCAs.AddCert(srv.Certificate())
				}
			})
			ep, secret, err := h.w.Create(t.Context(), h.admin, h.tenant, EndpointInput{URL: srv.URL + "/hook", Events: feed.Types, Enabled: true})
			if err != nil {
				t.Fatal(err)
			}
			r.mu.Lock()
			r.secret, r.hits = secret, nil
			r.mu.Unlock()
			d, err := h.w.TestSend(t.Context(), h.admin, h.tenant, ep.ID)
			if err != nil {
				t.Fatal(err)
			}
			if tc.trusted {
				if d.Status != StatusDelivered || len(r.got()) != 1 {
					t.Errorf("trusted certificate: %+v", d)
				}
				r.checkSignatures()
				return
			}
			if d.Status != StatusFailed || !strings.Contains(d.Error, "not signed by a trusted authority") {
				t.Errorf("untrusted certificate: %+v", d)
			}
			if len(r.got()) != 0 {
				t.Error("a request went through an untrusted certificate")
			}
		})
	}
}

// TestWebhookSlowEndpoint: a receiver slower than the timeout fails with a
// message and holds one worker at most; another endpoint is still served.
func TestWebhookSlowEndpoint(t *testing.T) {
	h := newHookEnv(t, func(o *WebhookOptions) { o.Timeout = 300 * time.Millisecond })
	slow, fast := newReceiver(t), newReceiver(t)
	slowEP := h.endpoint(t, slow)
	slow.mu.Lock()
	slow.mode, slow.slowFor = "slow", 5*time.Second
	slow.mu.Unlock()
	h.endpoint(t, fast)
	ids := h.responses(t, 20, "")
	waitFor(t, "the fast endpoint served", func() bool { return len(fast.delivered()) == 20 })
	if got := fast.delivered(); !slices.Equal(got, ids) {
		t.Errorf("fast endpoint: %v", got)
	}
	waitFor(t, "a timeout logged", func() bool {
		ds, _ := h.w.Deliveries(t.Context(), h.tenant, slowEP.ID, "", 50)
		return len(ds) > 0 && strings.Contains(ds[len(ds)-1].Error, "No answer within 300ms.")
	})
}

// TestWebhookErasureTravels: subject.erased reaches the endpoints that got
// the person's data (whatever their filter) and those that asked for it,
// not the others; what was still waiting about them is not sent.
func TestWebhookErasureTravels(t *testing.T) {
	h := newHookEnv(t, nil)
	got, waiting, other, subscriber := newReceiver(t), newReceiver(t), newReceiver(t), newReceiver(t)
	h.endpoint(t, got, feed.ResponseCreated)
	waitEP := h.endpoint(t, waiting, feed.ResponseCompleted)
	h.endpoint(t, other, feed.InvitationBounced)
	h.endpoint(t, subscriber, feed.SubjectErased)
	person := db.NewID()
	h.responses(t, 1, person)
	waitFor(t, "the response delivered", func() bool { return len(got.delivered()) == 1 })
	waiting.stop()
	h.emit(t, feed.Event{Type: feed.ResponseCompleted, ObjectID: "resp-0", ContactID: person})
	waitFor(t, "the completion tried", func() bool {
		ds, _ := h.w.Deliveries(t.Context(), h.tenant, waitEP.ID, "", 5)
		return len(ds) == 1 && ds[0].Attempts > 0
	})
	erased := h.emit(t, feed.Event{Type: feed.SubjectErased, ObjectID: person, ContactID: person, ExternalID: "CRM-42"})[0]
	waiting.start()
	for _, r := range []*receiver{got, waiting, subscriber} {
		waitFor(t, "subject.erased", func() bool { return slices.Contains(r.delivered(), erased.ID) })
		last := r.got()[len(r.got())-1]
		if last.typ != feed.SubjectErased || string(last.body) == "" || !strings.Contains(string(last.body), `"data":{"external_id":"CRM-42"}`) {
			t.Errorf("subject.erased payload: %s", last.body)
		}
	}
	for _, x := range waiting.got() {
		if x.typ == feed.ResponseCompleted && x.id != "" && len(waiting.delivered()) > 1 {
			t.Errorf("the completion about the erased person was sent after the erasure")
		}
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(other.got()); n != 0 {
		t.Errorf("an endpoint that never got the person's data got %d requests", n)
	}
}

// TestWebhookReplay: one delivery, then a time range, go again with the
// same webhook-id.
func TestWebhookReplay(t *testing.T) {
	h := newHookEnv(t, nil)
	r := newReceiver(t)
	ep := h.endpoint(t, r)
	from := time.Now().Add(-time.Second)
	ids := h.responses(t, 3, "")
	waitFor(t, "three deliveries", func() bool { return len(r.got()) == 3 })
	ds, _ := h.w.Deliveries(t.Context(), h.tenant, ep.ID, "", 10)
	if err := h.w.Replay(t.Context(), h.admin, h.tenant, ep.ID, ds[len(ds)-1].ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replay recorded", func() bool {
		ds, _ := h.w.Deliveries(t.Context(), h.tenant, ep.ID, "", 10)
		return len(ds) == 4 && ds[0].Status == StatusDelivered
	})
	if got := r.got()[3].id; got != ids[0] {
		t.Errorf("replayed webhook-id %s, want %s", got, ids[0])
	}
	n, err := h.w.ReplayRange(t.Context(), h.admin, h.tenant, ep.ID, from, time.Now().Add(time.Second))
	if err != nil || n != 3 {
		t.Fatalf("range replay: %d, %v", n, err)
	}
	waitFor(t, "the range replay", func() bool { return len(r.got()) == 7 })
	var again []string
	for _, x := range r.got()[4:] {
		again = append(again, x.id)
	}
	if !slices.Equal(again, ids) {
		t.Errorf("range replay sent %v, want %v", again, ids)
	}
	r.checkSignatures()
	if _, err := h.w.ReplayRange(t.Context(), h.admin, h.tenant, ep.ID, time.Now(), from); !errors.Is(err, ErrInvalidEndpoint) {
		t.Errorf("a range ending before it starts: %v", err)
	}
}

// TestWebhookRotation: after a rotation both secrets sign for a day; the
// receiver may check either.
func TestWebhookRotation(t *testing.T) {
	h := newHookEnv(t, nil)
	r := newReceiver(t)
	ep := h.endpoint(t, r)
	old := r.secret
	secret, err := h.w.Rotate(t.Context(), h.admin, h.tenant, ep.ID)
	if err != nil || secret == old {
		t.Fatalf("rotate: %v", err)
	}
	// A receiver that still knows only the old secret, then one that
	// knows only the new one: both accept.
	h.responses(t, 1, "")
	waitFor(t, "a delivery", func() bool { return len(r.got()) == 1 })
	r.mu.Lock()
	r.secret = secret
	r.mu.Unlock()
	h.responses(t, 1, "")
	waitFor(t, "a second delivery", func() bool { return len(r.got()) == 2 })
	r.checkSignatures()
	for _, x := range r.got() {
		if n := strings.Count(string(x.body), ""); n == 0 {
			t.Fatal("empty body")
		}
	}
	got, _ := h.w.Get(t.Context(), h.tenant, ep.ID)
	if d := time.Until(got.PreviousSecretUntil); d < 23*time.Hour || d > 24*time.Hour {
		t.Errorf("the previous secret is valid until %s", got.PreviousSecretUntil)
	}
}

// TestDeliverArgs: job args carry ids only.
func TestDeliverArgs(t *testing.T) {
	if err := jobs.CheckArgs(DeliverArgs{TenantID: db.NewID(), EndpointID: db.NewID()}); err != nil {
		t.Error(err)
	}
}

// TestWebhookNotifyAdmins: when an endpoint is disabled, the company's
// owners and administrators get an email in their language through the
// server's relay, naming the endpoint and why, with no contact's data;
// analysts get none.
func TestWebhookNotifyAdmins(t *testing.T) {
	ctx := t.Context()
	relay, err := smtptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { relay.Close() })
	r, err := email.ParseRelayURL(relay.URL)
	if err != nil {
		t.Fatal(err)
	}
	smtp, err := email.NewSMTP(r, email.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { smtp.Close() })
	h := newHookEnv(t, func(o *WebhookOptions) { o.GiveUpAfter = 200 * time.Millisecond })
	accounts := account.NewStore(h.d, h.v, h.a, account.Options{Argon2Memory: 1024, Argon2Time: 1})
	tn, err := accounts.CreateTenant(ctx, h.admin, "boutique", "Boutique")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		email string
		role  account.Role
	}{{"owner@boutique.example", account.RoleOwner}, {"admin@boutique.example", account.RoleAdmin}, {"analyst@boutique.example", account.RoleAnalyst}} {
		if _, err := accounts.CreateUser(ctx, h.admin, tn.ID, u.email, "", "Lumière-du-matin-42", u.role); err != nil {
			t.Fatal(err)
		}
	}
	h.w.o.Notify = MailNotifier{Accounts: accounts, SMTP: smtp, BaseURL: "https://avis.example"}
	rcv := newReceiver(t)
	rcv.set("500", -1)
	h.tenant = tn.ID
	ep := h.endpoint(t, rcv)
	h.emit(t, feed.Event{Type: feed.ResponseCreated, ObjectID: "resp-1", ContactID: db.NewID(), ExternalID: "CRM-77"})
	waitFor(t, "two emails", func() bool { return len(relay.Messages()) >= 2 })
	time.Sleep(100 * time.Millisecond)
	msgs := relay.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d emails, want one to the owner and one to the administrator", len(msgs))
	}
	for _, m := range msgs {
		decoded, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(m.Data)))
		raw := string(decoded)
		if m.To[0] == "analyst@boutique.example" {
			t.Error("an analyst was emailed")
		}
		for _, want := range []string{"webhook", rcv.url(), "https://avis.example/webhooks/" + ep.ID, "500", "Les envois ont échoué pendant"} {
			if !strings.Contains(raw, want) {
				t.Errorf("the email to %v does not say %q:\n%s", m.To, want, raw)
			}
		}
		if strings.Contains(raw, "CRM-77") {
			t.Errorf("the email names the contact")
		}
	}
}

// TestWebhookSweep: events queued where no job queue runs (a command-line
// erasure) are sent by the periodic sweep; the log is purged after 30
// days; a disabled endpoint's events wait without making jobs.
func TestWebhookSweep(t *testing.T) {
	h := newHookEnv(t, nil)
	r := newReceiver(t)
	ep := h.endpoint(t, r)
	q := h.w.Queue
	h.w.Queue = nil
	ids := h.responses(t, 3, "")
	time.Sleep(150 * time.Millisecond)
	if n := len(r.got()); n != 0 {
		t.Fatalf("%d deliveries without a job", n)
	}
	h.w.Queue = q
	if err := h.w.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the swept deliveries", func() bool { return len(r.delivered()) == 3 })
	if got := r.delivered(); !slices.Equal(got, ids) {
		t.Errorf("swept: %v, want %v", got, ids)
	}

	// Disabled by a person: events are not queued, no job runs.
	in := EndpointInput{URL: ep.URL, Events: ep.Events, Enabled: false}
	if _, err := h.w.Update(t.Context(), h.admin, h.tenant, ep.ID, in); err != nil {
		t.Fatal(err)
	}
	before, _ := h.q.Client.JobList(t.Context(), river.NewJobListParams().Kinds(DeliverArgs{}.Kind()).First(1000))
	h.responses(t, 5, "")
	after, _ := h.q.Client.JobList(t.Context(), river.NewJobListParams().Kinds(DeliverArgs{}.Kind()).First(1000))
	if len(after.Jobs) != len(before.Jobs) {
		t.Errorf("%d delivery jobs for a disabled endpoint", len(after.Jobs)-len(before.Jobs))
	}

	// 31 days later the log is gone.
	later := NewWebhooks(h.d, h.v, h.a, WebhookOptions{Now: func() time.Time { return time.Now().Add(31 * 24 * time.Hour) }})
	if err := later.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ds, _ := h.w.Deliveries(t.Context(), h.tenant, ep.ID, "", 50); len(ds) != 0 {
		t.Errorf("%d deliveries left after 31 days", len(ds))
	}
}

// TestWebhookRecipientsOf: a person's access request can list which
// endpoints got data about them, and which events.
func TestWebhookRecipientsOf(t *testing.T) {
	h := newHookEnv(t, nil)
	got, other := newReceiver(t), newReceiver(t)
	ep := h.endpoint(t, got, feed.ResponseCreated, feed.ResponseCompleted)
	h.endpoint(t, other, feed.InvitationBounced)
	person := db.NewID()
	h.responses(t, 1, person)
	h.emit(t, feed.Event{Type: feed.ResponseCompleted, ObjectID: "resp-0", ContactID: person})
	h.responses(t, 1, db.NewID())
	waitFor(t, "the person's deliveries recorded", func() bool {
		rs, _ := h.w.RecipientsOf(t.Context(), h.tenant, person)
		return len(rs) == 1 && len(rs[0].Events) == 2
	})
	rs, err := h.w.RecipientsOf(t.Context(), h.tenant, person)
	if err != nil || len(rs) != 1 || rs[0].EndpointID != ep.ID || rs[0].URL != got.url() || rs[0].First.IsZero() || rs[0].Last.Before(rs[0].First) {
		t.Fatalf("recipients: %+v %v", rs, err)
	}
	if rs, _ := h.w.RecipientsOf(t.Context(), h.tenant, db.NewID()); len(rs) != 0 {
		t.Errorf("a stranger has recipients: %+v", rs)
	}
}
