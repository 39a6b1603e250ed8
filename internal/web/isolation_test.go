package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/crmsync"
	"avis/internal/db"
	"avis/internal/dispatch"
	"avis/internal/journey"
	"avis/internal/privacy"
	"avis/internal/web"
)

// TestTenantIsolation logs in as tenant A and tries to read, change and
// delete tenant B's objects by id through every route that takes an id: all
// answer 404 and B's objects are unchanged.
func TestTenantIsolation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	_, _ = e.tenant("alpha", account.RoleOwner)
	beta, betaOwner := e.tenant("beta", account.RoleOwner)
	betaViewer, err := e.accounts.CreateUser(ctx, audit.System("test"), beta.ID, "beta-viewer@example.com", "", testPassword, account.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := e.contacts.Create(ctx, audit.System("test"), beta.ID, contact.Input{Email: "beta.customer@example.org", FirstName: "Beta"})
	if err != nil {
		t.Fatal(err)
	}
	_, bKey, err := e.accounts.CreateAPIKey(ctx, audit.System("test"), beta.ID, "beta key", []string{"contacts:read"})
	if err != nil {
		t.Fatal(err)
	}
	alphaKey, _, err := e.accounts.CreateAPIKey(ctx, audit.System("test"), mustTenant(t, e, "alpha"), "alpha key", []string{"contacts:read", "contacts:write"})
	if err != nil {
		t.Fatal(err)
	}

	// Beta's upload, finished import, journey and SFTP source.
	bUpload, _, err := e.uploads.Save(ctx, beta.ID, strings.NewReader("email;Nom\nbeta.customer@example.org;Beta\n"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	bImport, _, err := e.contacts.ImportFile(ctx, audit.System("test"), beta.ID, contact.SourceRef{Kind: "cli", Name: "beta.csv"},
		strings.NewReader("email\nbeta.other@example.org\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bJourney, err := e.journeys.CreateJourney(ctx, audit.System("test"), beta.ID, "Beta journey", []journey.StepInput{{Key: "order", Name: "Order"}})
	if err != nil {
		t.Fatal(err)
	}
	bSource, err := e.sftp.Create(ctx, audit.System("test"), beta.ID, crmsync.SourceInput{Name: "Beta drop", Host: "sftp.example.com",
		Username: "beta", AuthKind: crmsync.AuthPassword, Secret: "beta-password", HostKeyFingerprint: "SHA256:" + strings.Repeat("A", 43)})
	if err != nil {
		t.Fatal(err)
	}

	bExport, err := e.exports.Create(ctx, audit.System("test"), beta.ID, crmsync.ExportInput{Name: "Beta export", Kinds: []string{crmsync.KindResponses}, Protocol: crmsync.ProtocolSFTP, Host: "sftp.example.com", Username: "beta", Secret: "beta-password", HostKeyFingerprint: "SHA256:" + strings.Repeat("A", 43)}, false)
	if err != nil {
		t.Fatal(err)
	}

	// Beta's step rule test message, in beta's outbox.
	bStep := bJourney.Steps[0].ID
	if _, err := e.dispatch.TestSend(ctx, audit.System("test"), beta.ID, dispatch.DefaultRule(bStep, db.NewID()), "beta.customer@example.org"); err != nil {
		t.Fatal(err)
	}
	bOutbox, err := e.dispatch.Outbox(ctx, beta.ID, "", 1)
	if err != nil || len(bOutbox) != 1 {
		t.Fatalf("beta outbox: %v %v", bOutbox, err)
	}
	unknownToken := strings.Repeat("x", 22)

	bNotice, err := e.notices.Current(ctx, beta.ID, privacy.KindInformation, "fr")
	if err != nil {
		t.Fatal(err)
	}
	// Beta's survey, and an alpha key that may read and write surveys.
	bSurvey, err := e.surveys.Create(ctx, audit.System("test"), beta.ID, surveyFixture("Beta survey"))
	if err != nil {
		t.Fatal(err)
	}
	alphaSurveyKey, _, err := e.accounts.CreateAPIKey(ctx, audit.System("test"), mustTenant(t, e, "alpha"), "alpha surveys", []string{"surveys:read", "surveys:write"})
	if err != nil {
		t.Fatal(err)
	}

	// Beta's SMS provider (Twilio), whose callbacks alpha must not be able
	// to forge: without beta's signature they are refused.
	betaSMS := `{"type":"twilio","from":"Beta","account_sid":"AC` + strings.Repeat("b", 32) + `","auth_token":"beta-auth-token"}`
	if _, err := e.dispatch.SaveSettings(ctx, audit.System("test"), beta.ID, dispatch.SettingsUpdate{SMSConfig: &betaSMS}); err != nil {
		t.Fatal(err)
	}

	// Another tenant's response and invitation (a survey answered through
	// an invitation), a beta contact known to its CRM as beta-crm-1, and
	// an alpha key that may pull results and erase people.
	bResponse, bInvitation := betaAnswered(t, e, beta.ID)
	if _, err := e.contacts.Create(ctx, audit.System("test"), beta.ID, contact.Input{ExternalID: "beta-crm-1", Email: "beta.crm@example.org"}); err != nil {
		t.Fatal(err)
	}
	alphaResultsKey, _, err := e.accounts.CreateAPIKey(ctx, audit.System("test"), mustTenant(t, e, "alpha"), "alpha results", []string{"responses:read", "subjects:write"})
	if err != nil {
		t.Fatal(err)
	}

	// Beta's data-subject request, received by post and still open.
	bRequest, err := e.requests.Record(ctx, nil, audit.System("test"), beta.ID, privacy.Request{Kind: privacy.RequestAccess, SubjectID: bc.ID,
		Channel: privacy.ChannelPost})
	if err != nil {
		t.Fatal(err)
	}

	bHook, bHookDelivery, alphaHookKey := betaWebhook(t, e, beta.ID, mustTenant(t, e, "alpha")) // beta's endpoint, a delivery in its log; alpha's webhooks key
	a := e.loggedIn("alpha-owner@example.com")
	tok := a.csrf("/")
	cases := []struct {
		pattern, method, path string
		form                  url.Values
		bearer                string
	}{
		{"GET /contacts/{id}", "GET", "/contacts/" + bc.ID, nil, ""},
		{"POST /contacts/{id}/erase", "POST", "/contacts/" + bc.ID + "/erase", url.Values{"csrf": {tok}}, ""},
		{"POST /contacts/{id}/restrict", "POST", "/contacts/" + bc.ID + "/restrict", url.Values{"csrf": {tok}, "restrict": {"1"}}, ""},
		{"POST /users/{id}/role", "POST", "/users/" + betaViewer.ID + "/role", url.Values{"csrf": {tok}, "role": {"owner"}}, ""},
		{"POST /users/{id}/remove", "POST", "/users/" + betaOwner.ID + "/remove", url.Values{"csrf": {tok}}, ""},
		{"POST /apikeys/{id}/revoke", "POST", "/apikeys/" + bKey.ID + "/revoke", url.Values{"csrf": {tok}}, ""},
		{"POST /requests/{id}/extend", "POST", "/requests/" + bRequest.ID + "/extend", url.Values{"csrf": {tok}, "reason": {privacy.ExtendComplex}}, ""},
		{"POST /requests/{id}/complete", "POST", "/requests/" + bRequest.ID + "/complete", url.Values{"csrf": {tok}, "outcome": {privacy.OutcomeDone}}, ""},
		{"POST /tenants/switch", "POST", "/tenants/switch", url.Values{"csrf": {tok}, "tenant": {beta.ID}}, ""},
		{"GET /api/v1/contacts/{id}", "GET", "/api/v1/contacts/" + bc.ID, nil, alphaKey},
		{"GET /uploads/{id}", "GET", "/uploads/" + bUpload + "?name=beta.csv", nil, ""},
		{"POST /uploads/{id}/run", "POST", "/uploads/" + bUpload + "/run", url.Values{"csrf": {tok}, "name": {"beta.csv"}, "field_0": {"email"}}, ""},
		{"GET /imports/{id}", "GET", "/imports/" + bImport.ImportID, nil, ""},
		{"GET /imports/{id}/report.csv", "GET", "/imports/" + bImport.ImportID + "/report.csv", nil, ""},
		{"POST /journeys/{id}/steps", "POST", "/journeys/" + bJourney.ID + "/steps", url.Values{"csrf": {tok}, "key": {"alpha-step"}, "name": {"Alpha"}}, ""},
		{"POST /sftp/{id}/delete", "POST", "/sftp/" + bSource.ID + "/delete", url.Values{"csrf": {tok}}, ""},
		{"POST /sftp/{id}/fetch", "POST", "/sftp/" + bSource.ID + "/fetch", url.Values{"csrf": {tok}}, ""},
		{"GET /exports/{id}", "GET", "/exports/" + bExport.ID, nil, ""},
		{"POST /exports/{id}", "POST", "/exports/" + bExport.ID, url.Values{"csrf": {tok}, "name": {"mine now"}}, ""},
		{"POST /exports/{id}/delete", "POST", "/exports/" + bExport.ID + "/delete", url.Values{"csrf": {tok}}, ""},
		{"POST /exports/{id}/run", "POST", "/exports/" + bExport.ID + "/run", url.Values{"csrf": {tok}}, ""},
		{"POST /exports/{id}/test", "POST", "/exports/" + bExport.ID + "/test", url.Values{"csrf": {tok}}, ""},
		{"GET /webhooks/{id}", "GET", "/webhooks/" + bHook, nil, ""}, {"POST /webhooks/{id}", "POST", "/webhooks/" + bHook, url.Values{"csrf": {tok}, "url": {"https://93.184.215.14/alpha"}, "events": {"response.created"}}, ""}, {"POST /webhooks/{id}/test", "POST", "/webhooks/" + bHook + "/test", url.Values{"csrf": {tok}}, ""}, {"POST /webhooks/{id}/rotate", "POST", "/webhooks/" + bHook + "/rotate", url.Values{"csrf": {tok}}, ""}, {"POST /webhooks/{id}/delete", "POST", "/webhooks/" + bHook + "/delete", url.Values{"csrf": {tok}}, ""}, {"POST /webhooks/{id}/replay", "POST", "/webhooks/" + bHook + "/replay", url.Values{"csrf": {tok}, "from": {"2020-01-01T00:00"}, "to": {"2030-01-01T00:00"}}, ""}, {"POST /webhooks/{id}/deliveries/{did}/replay", "POST", "/webhooks/" + bHook + "/deliveries/" + bHookDelivery + "/replay", url.Values{"csrf": {tok}}, ""}, {"GET /api/v1/webhooks/{id}", "GET", "/api/v1/webhooks/" + bHook, nil, alphaHookKey}, {"PATCH /api/v1/webhooks/{id}", "PATCH", "/api/v1/webhooks/" + bHook, nil, alphaHookKey}, {"DELETE /api/v1/webhooks/{id}", "DELETE", "/api/v1/webhooks/" + bHook, nil, alphaHookKey}, {"POST /api/v1/webhooks/{id}/rotate", "POST", "/api/v1/webhooks/" + bHook + "/rotate", nil, alphaHookKey},
		{"GET /steps/{id}/rule", "GET", "/steps/" + bStep + "/rule", nil, ""},
		{"POST /steps/{id}/rule", "POST", "/steps/" + bStep + "/rule", url.Values{"csrf": {tok}, "survey": {db.NewID()}, "channels": {"email"}}, ""},
		{"POST /steps/{id}/rule/preview", "POST", "/steps/" + bStep + "/rule/preview", url.Values{"csrf": {tok}, "contact": {bc.ID}}, ""},
		{"POST /steps/{id}/rule/test", "POST", "/steps/" + bStep + "/rule/test", url.Values{"csrf": {tok}, "to": {"x@example.org"}}, ""},
		{"GET /outbox/{id}", "GET", "/outbox/" + bOutbox[0].ID, nil, ""},
		{"GET /outbox/{id}/html", "GET", "/outbox/" + bOutbox[0].ID + "/html", nil, ""},
		{"GET /surveys/{id}", "GET", "/surveys/" + bSurvey.ID, nil, ""},
		{"GET /surveys/{id}/export.json", "GET", "/surveys/" + bSurvey.ID + "/export.json", nil, ""},
		{"POST /surveys/{id}/status", "POST", "/surveys/" + bSurvey.ID + "/status", url.Values{"csrf": {tok}, "status": {"active"}}, ""},
		{"POST /surveys/{id}/settings", "POST", "/surveys/" + bSurvey.ID + "/settings", url.Values{"csrf": {tok}, "name": {"Alpha"}, "default_language": {"fr"}, "languages": {"fr"}}, ""},
		{"POST /surveys/{id}/questions", "POST", "/surveys/" + bSurvey.ID + "/questions", url.Values{"csrf": {tok}, "page": {"1"}, "type": {"text"}, "text": {"Alpha ?"}}, ""},
		{"GET /surveys/{id}/questions/{qid}", "GET", "/surveys/" + bSurvey.ID + "/questions/nps", nil, ""},
		{"POST /surveys/{id}/questions/{qid}", "POST", "/surveys/" + bSurvey.ID + "/questions/nps", url.Values{"csrf": {tok}, "id": {"nps"}, "type": {"nps"}, "text_fr": {"Alpha ?"}}, ""},
		{"POST /surveys/{id}/questions/{qid}/move", "POST", "/surveys/" + bSurvey.ID + "/questions/comment/move", url.Values{"csrf": {tok}, "direction": {"up"}}, ""},
		{"POST /surveys/{id}/questions/{qid}/delete", "POST", "/surveys/" + bSurvey.ID + "/questions/comment/delete", url.Values{"csrf": {tok}}, ""},
		{"GET /api/v1/surveys/{id}", "GET", "/api/v1/surveys/" + bSurvey.ID, nil, alphaSurveyKey},
		{"GET /api/v1/responses/{id}", "GET", "/api/v1/responses/" + bResponse, nil, alphaResultsKey},
		{"GET /api/v1/invitations/{id}", "GET", "/api/v1/invitations/" + bInvitation, nil, alphaResultsKey},
		{"DELETE /api/v1/subjects/{external_id}", "DELETE", "/api/v1/subjects/beta-crm-1", nil, alphaResultsKey},
		{"PUT /api/v1/surveys/{id}", "PUT", "/api/v1/surveys/" + bSurvey.ID, nil, alphaSurveyKey},
		{"GET /api/v1/surveys/{id}/versions", "GET", "/api/v1/surveys/" + bSurvey.ID + "/versions", nil, alphaSurveyKey},
		{"GET /api/v1/surveys/{id}/versions/{version}", "GET", "/api/v1/surveys/" + bSurvey.ID + "/versions/1", nil, alphaSurveyKey},
		// Link tokens are credentials of their own, not tenant objects: an
		// unknown one is a 404 for everyone.
		{"GET /u/{token}", "GET", "/u/" + unknownToken, nil, ""},
		{"POST /u/{token}", "POST", "/u/" + unknownToken, url.Values{"List-Unsubscribe": {"One-Click"}}, ""},
		{"GET /me/{token}", "GET", "/me/" + unknownToken, nil, ""},
		{"GET /me/{token}/{what}", "GET", "/me/" + unknownToken + "/export.json", nil, ""},
		{"POST /me/{token}/{what}", "POST", "/me/" + unknownToken + "/erase", url.Values{"confirm": {"yes"}}, ""},
		// The access-link form is public for each tenant; an unknown tenant has none.
		{"GET /me/request/{tenant}", "GET", "/me/request/" + db.NewID(), nil, ""},
		{"POST /me/request/{tenant}", "POST", "/me/request/" + db.NewID(), url.Values{"address": {"beta.customer@example.org"}}, ""},
		// Notices and brand files are public per tenant: beta's notice
		// version is not alpha's, an unknown tenant has none.
		{"GET /legal/{tenant}/notice", "GET", "/legal/" + mustTenant(t, e, "alpha") + "/notice?v=" + bNotice.ID, nil, ""},
		{"GET /legal/{tenant}/publication", "GET", "/legal/" + db.NewID() + "/publication", nil, ""},
		{"GET /brand/{tenant}/logo", "GET", "/brand/" + db.NewID() + "/logo", nil, ""},
		{"GET /brand/{tenant}/style.css", "GET", "/brand/" + db.NewID() + "/style.css", nil, ""},
		// The survey page: an unknown token, beta's survey whose public link is off, its public-link control.
		{"GET /s/{token}", "GET", "/s/" + unknownToken, nil, ""},
		{"POST /s/{token}", "POST", "/s/" + unknownToken, url.Values{"q_nps": {"3"}}, ""},
		{"GET /s/p/{survey}", "GET", "/s/p/" + bSurvey.ID, nil, ""},
		{"POST /s/p/{survey}", "POST", "/s/p/" + bSurvey.ID, url.Values{"q_nps": {"3"}}, ""},
		{"GET /surveys/{id}/public", "GET", "/surveys/" + bSurvey.ID + "/public", nil, ""},
		{"POST /surveys/{id}/public", "POST", "/surveys/" + bSurvey.ID + "/public", url.Values{"csrf": {tok}, "enabled": {"1"}}, ""},
		// SMS provider callbacks name the tenant and carry the provider's
		// signature or secret instead of a session: beta's Twilio hooks
		// refuse alpha's unsigned calls (403), the providers beta does not
		// use do not exist for it (404).
		{"POST /hooks/sms/{tenant}/twilio/status", "POST", "/hooks/sms/" + beta.ID + "/twilio/status", url.Values{"MessageSid": {"SM" + strings.Repeat("1", 32)}, "MessageStatus": {"delivered"}}, ""},
		{"POST /hooks/sms/{tenant}/twilio/inbound", "POST", "/hooks/sms/" + beta.ID + "/twilio/inbound", url.Values{"From": {"+33612345678"}, "Body": {"STOP"}}, ""},
		{"GET /hooks/sms/{tenant}/ovh/{secret}/receipt", "GET", "/hooks/sms/" + beta.ID + "/ovh/" + unknownToken + "/receipt?id=1&dlr=1", nil, ""},
		{"POST /hooks/sms/{tenant}/ovh/{secret}/receipt", "POST", "/hooks/sms/" + beta.ID + "/ovh/" + unknownToken + "/receipt", url.Values{"id": {"1"}, "dlr": {"1"}}, ""},
		{"GET /hooks/sms/{tenant}/ovh/{secret}/inbound", "GET", "/hooks/sms/" + beta.ID + "/ovh/" + unknownToken + "/inbound?senderid=%2B33612345678&message=STOP", nil, ""},
		{"POST /hooks/sms/{tenant}/ovh/{secret}/inbound", "POST", "/hooks/sms/" + beta.ID + "/ovh/" + unknownToken + "/inbound", url.Values{"senderid": {"+33612345678"}, "message": {"STOP"}}, ""},
		{"POST /hooks/sms/{tenant}/generic/receipt", "POST", "/hooks/sms/" + beta.ID + "/generic/receipt", url.Values{"id": {"1"}}, ""},
		{"POST /hooks/sms/{tenant}/generic/inbound", "POST", "/hooks/sms/" + beta.ID + "/generic/inbound", url.Values{"from": {"+33612345678"}}, ""},
	}
	// Routes that answer 403 rather than 404: beta exists there, but the
	// caller lacks beta's signature.
	forbidden := map[string]bool{"POST /hooks/sms/{tenant}/twilio/status": true, "POST /hooks/sms/{tenant}/twilio/inbound": true}
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.pattern] = true
		t.Run(c.pattern, func(t *testing.T) {
			var hdr []string
			if c.bearer != "" {
				hdr = []string{"Authorization", "Bearer " + c.bearer}
			}
			r := a.do(c.method, c.path, c.form, hdr...)
			want := http.StatusNotFound
			if forbidden[c.pattern] {
				want = http.StatusForbidden
			}
			if r.status != want {
				t.Fatalf("%s %s as tenant alpha = %d, want %d", c.method, c.path, r.status, want)
			}
			if strings.Contains(r.body, "beta.customer") || strings.Contains(r.body, "Beta") {
				t.Fatal("the answer shows tenant beta's data")
			}
		})
	}
	// Every route that names an object must be in the table above.
	for _, p := range web.Routes() {
		if (strings.Contains(strings.ReplaceAll(p, "{$}", ""), "{") || p == "POST /tenants/switch") && !covered[p] {
			t.Errorf("route %s takes an id but is not covered by the isolation test", p)
		}
	}
	// Nothing of beta's changed.
	if on, err := e.responses.PublicLink(ctx, beta.ID, bSurvey.ID); err != nil || on {
		t.Errorf("beta's public link was switched on: %v, %v", on, err)
	}
	if sv, err := e.surveys.Get(ctx, beta.ID, bSurvey.ID); err != nil || sv.CurrentVersion != 1 || sv.Status != "draft" || sv.Name != "Beta survey" {
		t.Errorf("beta's survey changed: %+v, %v", sv, err)
	}
	if _, err := e.contacts.Get(ctx, audit.System("test"), beta.ID, bc.ID); err != nil {
		t.Errorf("beta's contact: %v", err)
	}
	if at, err := e.contacts.Restriction(ctx, beta.ID, bc.ID); err != nil || !at.IsZero() {
		t.Errorf("beta's contact restricted: %v, %v", at, err)
	}
	if role, err := e.accounts.RoleOf(ctx, beta.ID, betaViewer.ID); err != nil || role != account.RoleViewer {
		t.Errorf("beta viewer role = %v, %v", role, err)
	}
	if role, err := e.accounts.RoleOf(ctx, beta.ID, betaOwner.ID); err != nil || role != account.RoleOwner {
		t.Errorf("beta owner role = %v, %v", role, err)
	}
	keys, _ := e.accounts.APIKeys(ctx, beta.ID)
	if len(keys) != 1 || !keys[0].RevokedAt.IsZero() {
		t.Errorf("beta's key was revoked")
	}
	if rd, err := e.uploads.Open(ctx, beta.ID, bUpload); err != nil {
		t.Errorf("beta's upload: %v", err)
	} else {
		rd.Close()
	}
	if list, _ := e.contacts.Imports(ctx, beta.ID, 10); len(list) != 1 {
		t.Errorf("beta has %d imports, want 1 (none queued by alpha)", len(list))
	}
	if js, _ := e.journeys.Journeys(ctx, beta.ID); len(js) != 1 || len(js[0].Steps) != 1 {
		t.Errorf("beta's journeys changed: %+v", js)
	}
	if x, err := e.exports.Get(ctx, beta.ID, bExport.ID); err != nil || x.Name != "Beta export" {
		t.Errorf("beta's export: %+v, %v", x, err)
	}
	if _, err := e.sftp.Get(ctx, beta.ID, bSource.ID); err != nil {
		t.Errorf("beta's SFTP source: %v", err)
	}
	if rq, err := e.requests.Get(ctx, beta.ID, bRequest.ID); err != nil || !rq.Open() || rq.Extension != "" {
		t.Errorf("beta's request changed: %+v, %v", rq, err)
	}
	// Still in alpha.
	if r := a.get("/"); r.status != http.StatusOK || !strings.Contains(r.body, "Company alpha") {
		t.Errorf("alpha's session moved: %d", r.status)
	}
}
