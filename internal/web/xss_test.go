package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/demo"
	"avis/internal/dispatch"
	"avis/internal/survey"
)

// xssSurvey is one page: a score and a comment, with the consent to
// publish below.
const xssSurvey = `{"avis_survey": 1, "name": "Avis", "default_language": "fr", "languages": ["fr", "en"],
 "pages": [{"questions": [
   {"id": "nps", "type": "nps", "text": {"fr": "Recommanderiez-vous notre boutique ?", "en": "Would you recommend our shop?"}},
   {"id": "comment", "type": "longtext", "text": {"fr": "Un commentaire ?", "en": "Any comment?"}}
 ]}]}`

// xssStep is the name of the step whose invitations the people answer: it
// shows on their own page and on the invitations page.
const xssStep = `Livraison <img src=x onerror=alert('step')> " onmouseover="alert(2)`

// xssSender is the sender name of the invitations: no quote or angle
// bracket is allowed there, so it breaks attributes with an apostrophe.
const xssSender = `Boutique ' autofocus onfocus='alert(1)' x='`

// xssPerson is one person of the corpus: a contact named with payload i,
// invited, who answers with payload i.
type xssPerson struct {
	i         int
	id, email string
	token     string
	messageID string
	// nameOK and commentOK: the name and comment were accepted, so the
	// pages must show them.
	nameOK, commentOK bool
}

// TestXSSCorpus posts a corpus of hostile strings (testdata/xss) into every
// free-text place a person or an admin fills — the sender name, journey and
// step names, contact names through the API, survey answers, the name and
// email correction on /me/, survey names, questions and choices in the
// editor, and query parameters pages echo — then opens every page that
// shows them and asserts that none became markup: no element, attribute or
// URL came from a payload, the JSON download is JSON, and the outbox's
// HTML view is sandboxed.
func TestXSSCorpus(t *testing.T) {
	ctx := context.Background()
	payloads := loadPayloads(t)
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	owner := e.loggedIn("shop-owner@example.com")

	// The sender name.
	t.Run("sender name", func(t *testing.T) {
		for i, p := range payloads {
			tag := xssTag(i)
			r := owner.post("/messaging", url.Values{"from_name": {tag + "M " + p}, "from_email": {"avis@boutique.example"}, "reply_to": {"service@boutique.example"}})
			if r.status != http.StatusOK && r.status != http.StatusUnprocessableEntity {
				t.Errorf("payload %d: status %d", i, r.status)
			}
			// Taken or refused, the form shows what was typed.
			assertSafePage(t, fmt.Sprintf("messaging, payload %d posted", i), r)
			if r.status == http.StatusOK {
				assertSafePage(t, fmt.Sprintf("messaging, payload %d saved", i), owner.get("/messaging"), tag+"M ")
			}
		}
		if r := owner.post("/messaging", url.Values{"from_name": {xssSender}, "from_email": {"avis@boutique.example"}}); r.status != http.StatusOK {
			t.Fatalf("the sender name of the invitations: %d", r.status)
		}
	})

	// Journeys and steps, through the form.
	t.Run("journey and step names", func(t *testing.T) {
		for i, p := range payloads {
			tag := xssTag(i)
			r := owner.post("/journeys", url.Values{"name": {tag + "J " + p}, "key_0": {fmt.Sprintf("k%d", i)}, "step_0": {tag + "S " + p}})
			if r.status != http.StatusOK && r.status != http.StatusUnprocessableEntity {
				t.Errorf("payload %d: status %d", i, r.status)
			}
			assertSafePage(t, fmt.Sprintf("journeys, payload %d posted", i), r)
		}
		if r := owner.post("/journeys", url.Values{"name": {"Commande"}, "key_0": {"delivery"}, "step_0": {xssStep}}); r.status != http.StatusOK {
			t.Fatalf("the journey of the invitations: %d\n%s", r.status, r.body)
		}
		js, err := e.journeys.Journeys(ctx, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, j := range js {
			if strings.HasPrefix(j.Name, "Ztag") {
				want = append(want, j.Name[:9])
			}
			for _, s := range j.Steps {
				assertSafePage(t, "rule page of step "+s.Key, owner.get("/steps/"+s.ID+"/rule"))
			}
		}
		if len(want) < len(payloads)/2 {
			t.Errorf("only %d of %d journeys were created", len(want), len(payloads))
		}
		assertSafePage(t, "journeys", owner.get("/journeys"), want...)
	})

	// The invitations: a survey, a rule on the delivery step.
	stepID := ""
	js, _ := e.journeys.Journeys(ctx, tn.ID)
	for _, j := range js {
		for _, s := range j.Steps {
			if s.Key == "delivery" {
				stepID = s.ID
			}
		}
	}
	if stepID == "" {
		t.Fatal("no delivery step")
	}
	def, err := survey.Parse([]byte(xssSurvey))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := e.surveys.Create(ctx, audit.System("test"), tn.ID, def)
	if err != nil {
		t.Fatal(err)
	}
	rule := dispatch.DefaultRule(stepID, sv.ID)
	all := [7]bool{true, true, true, true, true, true, true}
	rule.EmailWindow = dispatch.Window{Days: all, From: 0, To: 1440}
	rule.SMSWindow = rule.EmailWindow
	if _, err := e.dispatch.SaveRule(ctx, audit.System("test"), tn.ID, rule); err != nil {
		t.Fatal(err)
	}

	// One contact per payload, named with it, through the API.
	key, _, err := e.accounts.CreateAPIKey(ctx, audit.System("test"), tn.ID, "crm", []string{"contacts:write", "contacts:read"})
	if err != nil {
		t.Fatal(err)
	}
	api := apiClient{t, e, key}
	people := make([]*xssPerson, len(payloads))
	var ids []string
	for i, p := range payloads {
		tag := xssTag(i)
		pp := &xssPerson{i: i, email: fmt.Sprintf("person%03d@example.org", i), nameOK: true}
		row := func(first string) string {
			b, _ := json.Marshal([]map[string]string{{"external_id": fmt.Sprintf("X-%d", i), "email": pp.email, "first_name": first,
				"last_name": tag + "L " + p, "language": "fr"}})
			return string(b)
		}
		status, out := api.post("/api/v1/contacts", "application/json", row(tag+"F "+p))
		if status != http.StatusOK {
			t.Fatalf("payload %d: API import %d %v", i, status, out)
		}
		if out["created"] != float64(1) {
			// A refused name: the person still gets an invitation.
			pp.nameOK = false
			if _, out := api.post("/api/v1/contacts", "application/json", row("Plain")); out["created"] != float64(1) {
				t.Fatalf("payload %d: a plain contact was not created: %v", i, out)
			}
		}
		if pp.id, err = e.contacts.FindByAddress(ctx, tn.ID, contact.FieldEmail, pp.email); err != nil {
			t.Fatal(err)
		}
		people[i] = pp
		ids = append(ids, pp.id)
	}
	if err := demo.Events(ctx, e.db, e.journeys, e.dispatch, tn.ID, "delivery", ids, time.Now()); err != nil {
		t.Fatal(err)
	}
	xssWaitInvitations(t, e, tn.ID, people)

	// Each answers with their payload.
	t.Run("survey answers", func(t *testing.T) {
		for _, pp := range people {
			p := e.respondent()
			tag := xssTag(pp.i)
			page := p.get("/s/" + pp.token)
			assertSafePage(t, fmt.Sprintf("survey page %d", pp.i), page)
			post, thanks := p.send(page, answers("q_nps", "3", "q_comment", tag+"A "+payloads[pp.i], "consent", "1"))
			switch post.status {
			case http.StatusSeeOther:
				pp.commentOK = true
				assertSafePage(t, fmt.Sprintf("thank-you page %d", pp.i), thanks, "/me/"+pp.token)
			case http.StatusUnprocessableEntity:
				// Refused (control characters, invalid UTF-8): said next to
				// the field, shown back as text; a plain comment then.
				assertSafePage(t, fmt.Sprintf("survey page %d with the comment refused", pp.i), post, tag+"A")
				mustContain(t, "refused comment", post.body, `id="q-comment-err"`)
				if post, _ := p.send(post, answers("q_nps", "3", "q_comment", "Plain", "consent", "1")); post.status != http.StatusSeeOther {
					t.Fatalf("payload %d: a plain comment: %d", pp.i, post.status)
				}
			default:
				t.Fatalf("payload %d: answer status %d\n%s", pp.i, post.status, post.body)
			}
		}
	})

	// The pages that show them: the person's, the admin's.
	t.Run("pages showing names and answers", func(t *testing.T) {
		anon := e.browser()
		for _, pp := range people {
			tag := xssTag(pp.i)
			names := []string{tag + "L "}
			if pp.nameOK {
				names = append(names, tag+"F ")
			}
			wantMe, wantJSON := append([]string{"Livraison <img"}, names...), names
			if pp.commentOK {
				wantMe = append(wantMe, tag+"A ")
				// Browsers send line breaks as CRLF; avis keeps LF.
				wantJSON = append(wantJSON, tag+"A "+strings.ReplaceAll(payloads[pp.i], "\r\n", "\n"))
			}
			assertSafePage(t, fmt.Sprintf("/me/ of %d", pp.i), anon.get("/me/"+pp.token), wantMe...)
			assertJSONDownload(t, fmt.Sprintf("/me/ export of %d", pp.i), anon.get("/me/"+pp.token+"/export.json"), wantJSON...)
			assertSafePage(t, fmt.Sprintf("contact page of %d", pp.i), owner.get("/contacts/"+pp.id), names...)
			assertSafePage(t, fmt.Sprintf("outbox message of %d", pp.i), owner.get("/outbox/"+pp.messageID))
			h := owner.get("/outbox/" + pp.messageID + "/html")
			var wantHTML []string
			if pp.nameOK {
				wantHTML = append(wantHTML, tag+"F ")
			}
			assertSafePage(t, fmt.Sprintf("outbox HTML of %d", pp.i), h, wantHTML...)
			if csp := h.header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("outbox HTML of %d: Content-Security-Policy %q does not sandbox the message", pp.i, csp)
			}
		}
		var names []string
		for _, pp := range people {
			if pp.nameOK {
				names = append(names, xssTag(pp.i)+"F ")
			}
		}
		assertSafePage(t, "contacts list", xssAllPages(t, owner, "/contacts"), names...)
		for _, path := range []string{"/invitations", "/invitations?status=answered", "/outbox", "/requests", "/audit", "/"} {
			assertSafePage(t, path, owner.get(path))
		}
	})

	// The correction on /me/: names and email, taken or refused.
	t.Run("correction on my page", func(t *testing.T) {
		anon := e.browser()
		for _, pp := range people {
			tag := xssTag(pp.i)
			form := formTokenRe.FindStringSubmatch(anon.get("/me/" + pp.token).body)
			if form == nil {
				t.Fatalf("no form on /me/ of %d", pp.i)
			}
			p := payloads[pp.i]
			r := anon.do("POST", "/me/"+pp.token+"/correct", url.Values{"form": {form[1]}, "first_name": {tag + "C " + p},
				"last_name": {p}, "email": {pp.email}})
			if r.status != http.StatusOK && r.status != http.StatusUnprocessableEntity {
				t.Fatalf("payload %d: correction %d", pp.i, r.status)
			}
			assertSafePage(t, fmt.Sprintf("correction %d posted", pp.i), r, tag+"C")
			if r.status == http.StatusOK {
				assertSafePage(t, fmt.Sprintf("/me/ of %d after the correction", pp.i), anon.get("/me/"+pp.token), tag+"C")
				assertSafePage(t, fmt.Sprintf("contact page of %d after the correction", pp.i), owner.get("/contacts/"+pp.id), tag+"C")
			}
		}
		// Emails that are valid addresses and markup at once.
		pp := people[0]
		for _, addr := range []string{`"<svg/onload=alert(1)>"@example.org`, `"\"><img src=x onerror=alert(1)>"@example.org`,
			`x@example.org"><script>alert(1)</script>`, "x@example.org\r\nBcc: victim@example.org", `javascript:alert(1)//@example.org`} {
			form := formTokenRe.FindStringSubmatch(anon.get("/me/" + pp.token).body)
			r := anon.do("POST", "/me/"+pp.token+"/correct", url.Values{"form": {form[1]}, "first_name": {"Jeanne"}, "email": {addr}})
			assertSafePage(t, fmt.Sprintf("email %q posted", addr), r)
			assertSafePage(t, fmt.Sprintf("/me/ after email %q", addr), anon.get("/me/"+pp.token))
			assertSafePage(t, fmt.Sprintf("contact page after email %q", addr), owner.get("/contacts/"+pp.id))
		}
		assertSafePage(t, "contacts list after the corrections", xssAllPages(t, owner, "/contacts"))
		assertSafePage(t, "requests after the corrections", owner.get("/requests"))
	})

	// Surveys: names, questions and choices in the editor, its preview, and
	// the public page that shows them to respondents.
	t.Run("survey editor", func(t *testing.T) {
		var names []string
		for i, p := range payloads {
			tag := xssTag(i)
			r := owner.post("/surveys", url.Values{"name": {tag + "N " + p}, "default_language": {"fr"}})
			if r.status != http.StatusSeeOther {
				assertSafePage(t, fmt.Sprintf("new survey %d refused", i), r)
				continue
			}
			m := surveyIDRe.FindStringSubmatch(r.header.Get("Location"))
			if m == nil {
				t.Fatalf("payload %d: created survey at %q", i, r.header.Get("Location"))
			}
			id := m[1]
			names = append(names, tag+"N ")
			assertSafePage(t, fmt.Sprintf("editor of survey %d", i), owner.get("/surveys/"+id), tag+"N ")
			line := strings.NewReplacer("\r", " ", "\n", " ", "|", "/").Replace(p)
			r = owner.post("/surveys/"+id+"/questions", url.Values{"page": {"1"}, "type": {"single"}, "id": {"hostile"},
				"text": {tag + "Q " + p}, "choices": {tag + "K " + line + "\r\nautre"}})
			if r.status != http.StatusSeeOther {
				assertSafePage(t, fmt.Sprintf("question %d refused", i), r, tag+"Q")
				continue
			}
			for _, path := range []string{"/surveys/" + id, "/surveys/" + id + "?preview=fr", "/surveys/" + id + "/questions/hostile"} {
				assertSafePage(t, fmt.Sprintf("%s (payload %d)", path, i), owner.get(path), tag+"Q", tag+"K")
			}
			if r := owner.post("/surveys/"+id+"/public", url.Values{"enabled": {"1"}, "csrf": {owner.csrf("/surveys/" + id + "/public")}}); r.status != http.StatusSeeOther {
				t.Fatalf("payload %d: public link: %d", i, r.status)
			}
			assertSafePage(t, fmt.Sprintf("public survey page %d", i), e.respondent().get("/s/p/"+id), tag+"Q", tag+"K")
			if x := owner.get("/surveys/" + id + "/export.json"); !strings.HasPrefix(x.header.Get("Content-Type"), "application/json") || !json.Valid([]byte(x.body)) {
				t.Errorf("survey export %d: %q", i, x.header.Get("Content-Type"))
			}
		}
		if len(names) < len(payloads)/2 {
			t.Errorf("only %d of %d surveys were created", len(names), len(payloads))
		}
		assertSafePage(t, "surveys list", owner.get("/surveys"), names...)
		assertSafePage(t, "rule page", owner.get("/steps/"+stepID+"/rule"))
	})

	// Query parameters that pages echo.
	t.Run("echoed parameters", func(t *testing.T) {
		pp := people[0]
		for i, p := range payloads {
			q := url.QueryEscape(p)
			for _, path := range []string{"/invitations?status=" + q, "/requests?kind=" + q, "/contacts?after=" + q, "/outbox?before=" + q,
				"/surveys/" + sv.ID + "?preview=" + q, "/audit?action=" + q, "/audit?subject=" + q, "/imports?after=" + q} {
				assertSafePage(t, fmt.Sprintf("%s (payload %d)", strings.SplitN(path, "?", 2)[0], i), owner.get(path))
			}
			for _, path := range []string{"/s/" + pp.token + "?lang=" + q, "/me/" + pp.token + "?lang=" + q, "/u/" + pp.token + "?lang=" + q,
				"/s/p/" + url.PathEscape(p), "/me/request/" + tn.ID + "?lang=" + q} {
				assertSafePage(t, fmt.Sprintf("%s (payload %d)", strings.SplitN(path, "?", 2)[0][:4], i), e.respondent().get(path))
			}
		}
	})
}

// xssWaitInvitations runs the dispatcher until each person's invitation is
// in the outbox, and reads their survey link from it.
func xssWaitInvitations(t *testing.T, e *env, tenantID string, people []*xssPerson) {
	t.Helper()
	ctx := context.Background()
	byContact := map[string]*xssPerson{}
	for _, p := range people {
		byContact[p.id] = p
	}
	found := 0
	for range 1000 {
		if _, err := e.dispatch.RunDue(ctx, tenantID); err != nil {
			t.Fatal(err)
		}
		box, err := e.dispatch.Outbox(ctx, tenantID, "", 200)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range box {
			p := byContact[m.ContactID]
			if p == nil || p.token != "" {
				continue
			}
			msg, err := e.dispatch.OutboxMessage(ctx, audit.System("test"), tenantID, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			l := surveyLinkRe.FindStringSubmatch(decodeQP(string(msg.Raw)))
			if l == nil {
				t.Fatalf("no survey link in the message to %s", p.email)
			}
			p.token, p.messageID = l[1], m.ID
			found++
		}
		if found == len(people) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("only %d of %d invitations reached the outbox", found, len(people))
}

var nextPageRe = regexp.MustCompile(`href="(/contacts\?after=[^"]+)"`)

// xssAllPages reads a paginated admin list to its end and returns its
// pages as one.
func xssAllPages(t *testing.T, b *browser, path string) resp {
	t.Helper()
	first := b.get(path)
	out := first
	for range 100 {
		m := nextPageRe.FindStringSubmatch(out.body)
		if m == nil {
			break
		}
		next := b.get(strings.ReplaceAll(m[1], "&amp;", "&"))
		first.body += next.body
		out = next
	}
	return first
}
