package response_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"

	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/db"
	"avis/internal/db/dbtest"
	"avis/internal/dispatch"
	"avis/internal/privacy"
	"avis/internal/response"
	"avis/internal/survey"
	"avis/internal/vault"
)

var sys = audit.System("test")

// twoPages: an NPS with a comment shown to detractors, then a CSAT, a
// choice and a yes/no.
const twoPages = `{"avis_survey": 1, "name": "Livraison", "default_language": "fr", "languages": ["fr", "en"],
 "pages": [
  {"questions": [
   {"id": "nps", "type": "nps", "required": true, "text": {"fr": "Recommanderiez-vous ?"}},
   {"id": "why", "type": "longtext", "text": {"fr": "Pourquoi ?"}, "condition": {"question": "nps", "op": "le", "value": 6}}
  ]},
  {"questions": [
   {"id": "delivery", "type": "csat", "required": true, "text": {"fr": "La livraison ?"}},
   {"id": "topics", "type": "multi", "text": {"fr": "Quoi ?"},
    "choices": [{"key": "price", "text": {"fr": "Prix"}}, {"key": "speed", "text": {"fr": "Vitesse"}}]},
   {"id": "again", "type": "yesno", "text": {"fr": "Encore ?"}}
  ]}
 ]}`

type env struct {
	t        *testing.T
	db       *db.DB
	vault    *vault.Vault
	contacts *contact.Store
	consents *privacy.Consents
	s        *response.Store
	tenant   string
	survey   survey.Survey
	def      *survey.Definition
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	d := dbtest.Open(t)
	v, err := vault.New(ctx, d, bytes.Repeat([]byte{5}, 32))
	if err != nil {
		t.Fatal(err)
	}
	a := audit.New(d)
	e := &env{t: t, db: d, vault: v, contacts: contact.NewStore(d, v, a), consents: privacy.NewConsents(d), tenant: db.NewID()}
	e.s = response.NewStore(d, v, a, e.consents, nil, response.Options{})
	if _, err := d.W.Exec(`INSERT INTO tenants (id, slug, name, created_at) VALUES ($1, 'shop', 'Shop', $2)`, e.tenant, db.Now()); err != nil {
		t.Fatal(err)
	}
	if e.def, err = survey.Parse([]byte(twoPages)); err != nil {
		t.Fatal(err)
	}
	if e.survey, err = survey.NewStore(d, a).Create(ctx, sys, e.tenant, e.def); err != nil {
		t.Fatal(err)
	}
	return e
}

// invitation makes a contact and a sent invitation to them.
func (e *env) invitation(email string) (contactID, invitationID string) {
	e.t.Helper()
	c, err := e.contacts.Create(context.Background(), sys, e.tenant, contact.Input{Email: email, FirstName: "Ada", LastName: "Lovelace", Language: "fr"})
	if err != nil {
		e.t.Fatal(err)
	}
	id := db.NewID()
	now := db.Now()
	if _, err := e.db.W.Exec(`INSERT INTO invitations (tenant_id, id, rule_id, survey_id, step_id, contact_id, touchpoint_id, channel,
		status, token_hash, language, due_at, sent_at, expires_at, created_at, updated_at)
		VALUES ($1, $2, 'r', $3, 'step1', $4, $5, 'email', 'sent', $6, 'fr', $7, $7, $8, $7, $7)`,
		e.tenant, id, e.survey.ID, c.ID, db.NewID(), dispatch.TokenHash(id), now, now+3600e6); err != nil {
		e.t.Fatal(err)
	}
	return c.ID, id
}

func (e *env) start(contactID, invitationID string) response.Start {
	return response.Start{TenantID: e.tenant, SurveyID: e.survey.ID, SurveyVersion: 1, InvitationID: invitationID,
		ContactID: contactID, StepID: "step1", Language: "fr", NoticeID: "notice-1", NoticeHash: "h1"}
}

func (e *env) submit(sub response.Submission) response.Outcome {
	e.t.Helper()
	if sub.Def == nil {
		sub.Def = e.def
	}
	out, err := e.s.Submit(context.Background(), sub)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.R.QueryRow(query, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func parse(t *testing.T, def *survey.Definition, page int, f url.Values) survey.Answers {
	t.Helper()
	a, errs := response.ParseForm(def, page, f)
	if len(errs) > 0 {
		t.Fatalf("ParseForm: %v", errs)
	}
	return a
}

const consentWording = "J'accepte que mon avis soit publié avec mon prénom et l'initiale de mon nom"

// TestSubmitInvitation answers a two-page survey through an invitation:
// page 1 saved and resumed, a double submit, completion with scores, the
// invitation answered, the consent recorded with its wording, and a replay
// of the last page that changes nothing.
func TestSubmitInvitation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	cid, inv := e.invitation("ada@example.org")
	st := e.start(cid, inv)

	// Page 1: a detractor, with a comment.
	p1 := parse(t, e.def, 0, form("q_nps", "3", "q_why", "Livré en retard,\r\ncolis abîmé"))
	out := e.submit(response.Submission{Start: st, Page: 0, Answers: p1})
	if out.Errors != nil || out.Completed || out.Response.Page != 1 || out.Response.Status != response.StatusPartial {
		t.Fatalf("page 1: %+v", out)
	}
	id := out.Response.ID
	// The same page again (a double click): still one response, page 2 next.
	again := e.submit(response.Submission{Start: st, Page: 0, Answers: parse(t, e.def, 0, form("q_nps", "3", "q_why", "Livré en retard,\r\ncolis abîmé"))})
	if again.Response.ID != id || again.Response.Page != 1 {
		t.Fatalf("double submit: %+v", again.Response)
	}
	if n := e.count(`SELECT COUNT(*) FROM responses WHERE tenant_id = $1`, e.tenant); n != 1 {
		t.Fatalf("%d responses after a double submit, want 1", n)
	}
	// The comment is sealed: the database does not hold it in clear.
	if n := e.count(`SELECT COUNT(*) FROM response_answers WHERE tenant_id = $1 AND text_sealed IS NOT NULL`, e.tenant); n != 1 {
		t.Fatalf("%d sealed texts, want 1", n)
	}
	var raw []byte
	if err := e.db.R.QueryRow(`SELECT text_sealed FROM response_answers WHERE question_id = 'why'`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("retard")) || !vault.IsSealed(raw) {
		t.Fatal("the comment is stored in clear")
	}
	// Leaving and coming back: the same link resumes at page 2 with the answers.
	r, err := e.s.ByInvitation(ctx, e.tenant, inv)
	if err != nil || r.ID != id || r.Page != 1 || *r.Answers["nps"].Number != 3 || r.Answers["why"].Text != "Livré en retard,\ncolis abîmé" {
		t.Fatalf("resume: %+v, %v", r, err)
	}

	// Page 2, with the consent: complete.
	p2 := parse(t, e.def, 1, form("q_delivery", "5", "q_topics", "price", "q_topics", "speed", "q_again", "yes"))
	consent := &response.Consent{Purpose: privacy.PurposePublishReview, Wording: consentWording, Language: "fr"}
	out = e.submit(response.Submission{Start: st, Page: 1, Answers: p2, Consent: consent})
	if !out.Completed || out.Response.Status != response.StatusComplete || out.ConsentID == "" || out.Errors != nil {
		t.Fatalf("page 2: %+v", out)
	}
	r, err = e.s.Get(ctx, e.tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Complete() || r.CompletedAt.IsZero() || r.SurveyVersion != 1 || r.StepID != "step1" || r.NoticeID != "notice-1" ||
		r.Language != "fr" || r.Source != response.SourceInvitation {
		t.Fatalf("completed response: %+v", r)
	}
	cats := map[string]survey.Category{}
	for _, s := range r.Scores {
		cats[s.QuestionID] = s.Category
	}
	if cats["nps"] != survey.Detractor || cats["delivery"] != survey.Satisfied {
		t.Fatalf("scores: %+v", r.Scores)
	}
	if got := r.Answers["topics"].Choices; len(got) != 2 || got[0] != "price" || !*r.Answers["again"].Bool {
		t.Fatalf("answers: %+v", r.Answers)
	}
	var status string
	var answeredAt int64
	if err := e.db.R.QueryRow(`SELECT status, answered_at FROM invitations WHERE id = $1`, inv).Scan(&status, &answeredAt); err != nil {
		t.Fatal(err)
	}
	if status != dispatch.StatusAnswered || answeredAt == 0 {
		t.Fatalf("invitation: %s at %d", status, answeredAt)
	}
	receipts, err := e.consents.ForSubject(ctx, e.tenant, cid)
	if err != nil || len(receipts) != 1 || receipts[0].Wording != consentWording || receipts[0].ResponseID != id ||
		receipts[0].NoticeID != "notice-1" || receipts[0].NoticeHash != "h1" || receipts[0].Language != "fr" {
		t.Fatalf("receipts: %+v, %v", receipts, err)
	}

	// A replay of the last page, or of the first: acknowledged, nothing changes.
	for page, ans := range []survey.Answers{p1, p2} {
		out = e.submit(response.Submission{Start: st, Page: page, Answers: ans, Consent: consent})
		if !out.AlreadyComplete || out.Completed || out.Response.ID != id {
			t.Fatalf("replay of page %d: %+v", page+1, out)
		}
	}
	if n := e.count(`SELECT COUNT(*) FROM consents WHERE tenant_id = $1`, e.tenant); n != 1 {
		t.Fatalf("%d consents after replays, want 1", n)
	}
}

// TestSubmitProblems: a page with problems stores nothing and says which
// question; going back keeps the valid answers; a hidden question's answer
// is dropped; no consent box ticked means no receipt.
func TestSubmitProblems(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	cid, inv := e.invitation("grace@example.org")
	st := e.start(cid, inv)

	for _, c := range []struct {
		name string
		f    url.Values
		want map[string]string
	}{
		{"nothing", form(), map[string]string{"nps": survey.CodeRequired}},
		{"out of range", form("q_nps", "11"), map[string]string{"nps": survey.CodeOutOfRange}},
		{"too long", form("q_nps", "2", "q_why", strings.Repeat("a", survey.MaxLongText+1)), map[string]string{"why": survey.CodeTooLong}},
		{"invalid text", form("q_nps", "2", "q_why", "a\x00b"), map[string]string{"why": survey.CodeInvalidText}},
	} {
		ans, perrs := response.ParseForm(e.def, 0, c.f)
		if perrs != nil {
			t.Fatalf("%s: ParseForm: %v", c.name, perrs)
		}
		out := e.submit(response.Submission{Start: st, Page: 0, Answers: ans})
		if len(out.Errors) != len(c.want) {
			t.Fatalf("%s: errors %v, want %v", c.name, out.Errors, c.want)
		}
		for q, code := range c.want {
			var ae *survey.AnswerError
			if !errors.As(out.Errors[q], &ae) || ae.Code != code {
				t.Errorf("%s: %s: %v, want %s", c.name, q, out.Errors[q], code)
			}
		}
		if out.Response.Page != 0 {
			t.Errorf("%s: page %d after a problem", c.name, out.Response.Page)
		}
	}
	if n := e.count(`SELECT COUNT(*) FROM response_answers`); n != 0 {
		t.Fatalf("%d answers stored from pages with problems", n)
	}
	// A score that is not a number is reported by ParseForm.
	if _, perrs := response.ParseForm(e.def, 0, form("q_nps", "dix")); perrs["nps"] == nil {
		t.Fatal("ParseForm accepted a score that is not a number")
	}

	// A detractor who saw only the score: the comment question appears on
	// the same page, nothing is reported missing; sent again, the page moves on.
	out := e.submit(response.Submission{Start: st, Page: 0, Shown: []string{"nps"}, Answers: parse(t, e.def, 0, form("q_nps", "2"))})
	if out.Errors != nil || out.Response.Page != 0 || len(out.Revealed) != 1 || out.Revealed[0] != "why" {
		t.Fatalf("revealed: %+v", out)
	}
	out = e.submit(response.Submission{Start: st, Page: 0, Shown: []string{"nps", "why"}, Answers: parse(t, e.def, 0, form("q_nps", "2"))})
	if out.Errors != nil || out.Response.Page != 1 || out.Revealed != nil {
		t.Fatalf("after the revealed question: %+v", out)
	}

	// A promoter: the comment is hidden, so its answer is dropped.
	out = e.submit(response.Submission{Start: st, Page: 0, Answers: parse(t, e.def, 0, form("q_nps", "9", "q_why", "caché"))})
	if out.Response.Page != 1 {
		t.Fatalf("page after a promoter: %d", out.Response.Page)
	}
	if _, ok := out.Response.Answers["why"]; ok {
		t.Fatal("a hidden question's answer was kept")
	}
	if n := e.count(`SELECT COUNT(*) FROM response_answers WHERE question_id = 'why'`); n != 0 {
		t.Fatalf("a hidden question's answer is still stored (%d rows)", n)
	}
	// Page 2 with a valid choice and a missing required CSAT, going back:
	// the choice is kept, the page is 1 again, no error.
	out = e.submit(response.Submission{Start: st, Page: 1, Back: true, Answers: parse(t, e.def, 1, form("q_topics", "speed"))})
	if out.Errors != nil || out.Response.Page != 0 || out.Response.Answers["topics"].Choices[0] != "speed" {
		t.Fatalf("back: %+v", out)
	}
	r, _ := e.s.ByInvitation(ctx, e.tenant, inv)
	if r.Page != 0 || len(r.Answers["topics"].Choices) != 1 {
		t.Fatalf("after back: %+v", r)
	}
	// Complete without ticking the consent box: no receipt.
	e.submit(response.Submission{Start: st, Page: 0, Answers: parse(t, e.def, 0, form("q_nps", "8"))})
	out = e.submit(response.Submission{Start: st, Page: 1, Answers: parse(t, e.def, 1, form("q_delivery", "2"))})
	if !out.Completed || out.ConsentID != "" {
		t.Fatalf("complete: %+v", out)
	}
	if _, ok := out.Response.Answers["topics"]; ok {
		t.Fatal("an answer left out of the last submission of its page was kept")
	}
	if n := e.count(`SELECT COUNT(*) FROM consents`); n != 0 {
		t.Fatalf("%d consents recorded without the box ticked", n)
	}
	if ok, _ := e.consents.MayPublish(ctx, e.tenant, out.Response.ID); ok {
		t.Fatal("a response without consent may be published")
	}
}

// TestConcurrentCompletion sends the last page of one response from 8
// clients at once: one completion, one response, one consent.
func TestConcurrentCompletion(t *testing.T) {
	e := newEnv(t)
	cid, inv := e.invitation("linus@example.org")
	st := e.start(cid, inv)
	e.submit(response.Submission{Start: st, Page: 0, Answers: parse(t, e.def, 0, form("q_nps", "10"))})
	var wg sync.WaitGroup
	var mu sync.Mutex
	completed, already := 0, 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := e.s.Submit(context.Background(), response.Submission{Start: st, Def: e.def, Page: 1,
				Answers: survey.Answers{"delivery": survey.Int(4)}, Consent: &response.Consent{Purpose: privacy.PurposePublishReview, Wording: consentWording, Language: "fr"}})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if out.Completed {
				completed++
			}
			if out.AlreadyComplete {
				already++
			}
		}()
	}
	wg.Wait()
	if completed != 1 || already != 7 {
		t.Fatalf("%d completions and %d acknowledgements, want 1 and 7", completed, already)
	}
	if n := e.count(`SELECT COUNT(*) FROM responses`); n != 1 {
		t.Fatalf("%d responses", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM consents`); n != 1 {
		t.Fatalf("%d consents", n)
	}
}

// TestForgetContact erases a person who answered: their comment can no
// longer be read anywhere, their scores stay as anonymous statistics.
func TestForgetContact(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	cid, inv := e.invitation("marie@example.org")
	other, inv2 := e.invitation("pierre@example.org")
	st := e.start(cid, inv)
	e.submit(response.Submission{Start: st, Page: 0, Answers: parse(t, e.def, 0, form("q_nps", "2", "q_why", "Trop cher"))})
	out := e.submit(response.Submission{Start: st, Page: 1, Answers: parse(t, e.def, 1, form("q_delivery", "1")),
		Consent: &response.Consent{Purpose: privacy.PurposePublishReview, Wording: consentWording, Language: "fr"}})
	e.submit(response.Submission{Start: e.start(other, inv2), Page: 0, Answers: parse(t, e.def, 0, form("q_nps", "1", "q_why", "Bof"))})

	list, err := e.s.ForContact(ctx, e.tenant, cid)
	if err != nil || len(list) != 1 || list[0].Answers["why"].Text != "Trop cher" {
		t.Fatalf("ForContact before erasure: %+v, %v", list, err)
	}

	// The erasure: the contact's key shredded and their responses forgotten, in one transaction.
	err = e.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := e.s.ForgetContact(ctx, tx, e.tenant, cid); err != nil {
			return err
		}
		if _, err := tx.Exec(`DELETE FROM contacts WHERE tenant_id = $1 AND id = $2`, e.tenant, cid); err != nil {
			return err
		}
		return e.vault.EraseSubject(ctx, tx, e.tenant, cid)
	})
	if err != nil {
		t.Fatal(err)
	}
	if list, err := e.s.ForContact(ctx, e.tenant, cid); err != nil || len(list) != 0 {
		t.Fatalf("ForContact after erasure: %+v, %v", list, err)
	}
	r, err := e.s.Get(ctx, e.tenant, out.Response.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.ContactID != "" || r.InvitationID != "" || r.Answers["why"].Text != "" || len(r.Scores) != 2 || !r.Complete() {
		t.Fatalf("after erasure: %+v", r)
	}
	if ok, _ := e.consents.MayPublish(ctx, e.tenant, r.ID); ok {
		t.Fatal("the consent of an erased person still stands")
	}
	// The other person's comment is untouched.
	if list, _ := e.s.ForContact(ctx, e.tenant, other); len(list) != 1 || list[0].Answers["why"].Text != "Bof" {
		t.Fatalf("the other person's answers: %+v", list)
	}
	if n := e.count(`SELECT COUNT(*) FROM response_answers WHERE response_id = $1 AND kind = 'longtext'`, r.ID); n != 0 {
		t.Fatalf("%d free texts left of the erased person", n)
	}
}

// TestPublicResponse answers through a public link: the resume token
// finds the response, another survey's or a forged token does not, and the
// free text is sealed under the response's own key.
func TestPublicResponse(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	if on, _ := e.s.PublicLink(ctx, e.tenant, e.survey.ID); on {
		t.Fatal("a new survey's public link is on")
	}
	if _, err := e.s.PublicSurvey(ctx, e.survey.ID); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("PublicSurvey with the link off: %v", err)
	}
	if err := e.s.SetPublicLink(ctx, sys, e.tenant, e.survey.ID, true); err != nil {
		t.Fatal(err)
	}
	if tid, err := e.s.PublicSurvey(ctx, e.survey.ID); err != nil || tid != e.tenant {
		t.Fatalf("PublicSurvey = %s, %v", tid, err)
	}
	token := response.NewResumeToken()
	st := response.Start{TenantID: e.tenant, SurveyID: e.survey.ID, SurveyVersion: 1, Language: "en", ResumeToken: token}
	out := e.submit(response.Submission{Start: st, Page: 0, Answers: parse(t, e.def, 0, form("q_nps", "4", "q_why", "Slow"))})
	r, err := e.s.ByResume(ctx, e.tenant, e.survey.ID, token)
	if err != nil || r.ID != out.Response.ID || r.Answers["why"].Text != "Slow" || r.Source != response.SourcePublic || r.ContactID != "" {
		t.Fatalf("ByResume: %+v, %v", r, err)
	}
	if _, err := e.s.ByResume(ctx, e.tenant, db.NewID(), token); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("resume token of another survey: %v", err)
	}
	if _, err := e.s.ByResume(ctx, e.tenant, e.survey.ID, response.NewResumeToken()); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("forged resume token: %v", err)
	}
	out = e.submit(response.Submission{ResponseID: r.ID, Start: st, Page: 1, Answers: parse(t, e.def, 1, form("q_delivery", "3"))})
	if !out.Completed {
		t.Fatalf("public completion: %+v", out)
	}
	if err := e.s.SetPublicLink(ctx, sys, e.tenant, e.survey.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.PublicSurvey(ctx, e.survey.ID); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("PublicSurvey after switching off: %v", err)
	}
}

// TestHiddenAnswerDeleted: a comment given with a low score is deleted
// from storage when the score sent again hides its question.
func TestHiddenAnswerDeleted(t *testing.T) {
	e := newEnv(t)
	cid, inv := e.invitation("ada@example.org")
	st := e.start(cid, inv)
	e.submit(response.Submission{Start: st, Page: 0, Answers: parse(t, e.def, 0, form("q_nps", "3", "q_why", "Trop lent"))})
	if n := e.count(`SELECT COUNT(*) FROM response_answers WHERE question_id = 'why'`); n != 1 {
		t.Fatalf("%d comments stored, want 1", n)
	}
	out := e.submit(response.Submission{Start: st, Page: 0, Answers: parse(t, e.def, 0, form("q_nps", "9", "q_why", "Trop lent"))})
	if out.Response.Page != 1 {
		t.Fatalf("page %d after a promoter", out.Response.Page)
	}
	if n := e.count(`SELECT COUNT(*) FROM response_answers WHERE question_id = 'why'`); n != 0 {
		t.Fatalf("the hidden comment is still stored (%d rows)", n)
	}
}

// TestByToken reads an invitation link's invitation and response in one
// query: before any answer (no response), after page 1 (the answers, the
// comment opened), and an unknown or malformed token.
func TestByToken(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	cid, inv := e.invitation("grace@example.org")
	const token = "AbCdEfGhIjKlMnOpQrStUv"
	if _, err := e.db.W.Exec(`UPDATE invitations SET token_hash = $1 WHERE id = $2`, dispatch.TokenHash(token), inv); err != nil {
		t.Fatal(err)
	}
	tid, got, resp, err := e.s.ByToken(ctx, token)
	if err != nil || tid != e.tenant || got.ID != inv || got.ContactID != cid || got.Status != dispatch.StatusSent || resp != nil {
		t.Fatalf("before answering: %s %+v %+v %v", tid, got, resp, err)
	}
	p1 := parse(t, e.def, 0, form("q_nps", "2", "q_why", "Trop long"))
	out := e.submit(response.Submission{Start: e.start(cid, inv), Page: 0, Answers: p1})
	if out.Errors != nil {
		t.Fatalf("page 1: %+v", out)
	}
	_, got, resp, err = e.s.ByToken(ctx, token)
	if err != nil || got.ID != inv || resp == nil || resp.ID != out.Response.ID || resp.Page != 1 ||
		*resp.Answers["nps"].Number != 2 || resp.Answers["why"].Text != "Trop long" {
		t.Fatalf("after page 1: %+v %+v %v", got, resp, err)
	}
	for _, bad := range []string{"AbCdEfGhIjKlMnOpQrStUw", "short", inv} {
		if _, _, _, err := e.s.ByToken(ctx, bad); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("token %q: %v, want ErrNotFound", bad, err)
		}
	}
}
