package web_test

import (
	"bytes"
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/survey"
)

// surveyFixture is a survey in French and English: an NPS question, then
// a page with a comment shown to detractors and a multi-choice question.
func surveyFixture(name string) *survey.Definition {
	return &survey.Definition{Name: name, DefaultLanguage: "fr", Languages: []string{"fr", "en"}, Pages: []survey.Page{
		{Questions: []survey.Question{{ID: "nps", Type: survey.TypeNPS, Required: true,
			Text: survey.Texts{"fr": "Recommanderiez-vous notre boutique ?", "en": "Would you recommend our shop?"}}}},
		{Questions: []survey.Question{
			{ID: "comment", Type: survey.TypeLongText, Text: survey.Texts{"fr": "Qu'est-ce qui n'a pas été ?"},
				Condition: &survey.Condition{Question: "nps", Op: survey.OpLE, Value: 6}},
			{ID: "topics", Type: survey.TypeMulti, MaxSelect: 2, Text: survey.Texts{"fr": "Qu'avez-vous apprécié ?"},
				Choices: []survey.Choice{{Key: "price", Text: survey.Texts{"fr": "Le prix", "en": "The price"}}, {Key: "speed", Text: survey.Texts{"fr": "La rapidité"}}}},
		}},
	}}
}

// surveyIDFrom reads the survey id from the address the browser is sent to.
func surveyIDFrom(t *testing.T, r resp) string {
	t.Helper()
	m := regexp.MustCompile(`^/surveys/([0-9a-z]{26})\?m=`).FindStringSubmatch(r.header.Get("Location"))
	if r.status != http.StatusSeeOther || m == nil {
		t.Fatalf("want a redirect to a survey, got %d %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	return m[1]
}

// questionOrder lists the question ids page by page: "nps q2 | comment".
func questionOrder(d *survey.Definition) string {
	var pages []string
	for _, p := range d.Pages {
		var ids []string
		for _, q := range p.Questions {
			ids = append(ids, q.ID)
		}
		pages = append(pages, strings.Join(ids, " "))
	}
	return strings.Join(pages, " | ")
}

// field returns the HTML of the form control with the given id, and the
// error message tied to it, if any.
func field(t *testing.T, body, id string) (control, errMsg string) {
	t.Helper()
	m := regexp.MustCompile(`<(?:input|textarea|select)[^>]* id="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(body)
	if m == "" {
		t.Fatalf("no control #%s on the page", id)
	}
	e := regexp.MustCompile(`<p class="bad field-error" id="` + regexp.QuoteMeta(id) + `-err">([^<]*)</p>`).FindStringSubmatch(body)
	if e != nil {
		errMsg = html.UnescapeString(strings.TrimSpace(e[1]))
		if !strings.Contains(m, `aria-invalid="true"`) || !regexp.MustCompile(`aria-describedby="[^"]*`+regexp.QuoteMeta(id)+`-err`).MatchString(m) {
			t.Errorf("#%s has an error message that it does not point to: %s", id, m)
		}
	}
	return m, errMsg
}

// TestSurveyEditor creates a survey and edits it through the forms, as a
// user with JavaScript off: add, edit, reorder and delete questions, a
// condition in words, errors next to their fields, status and languages.
func TestSurveyEditor(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	b := e.loggedIn("shop-owner@example.com").english()
	if r := b.get("/surveys"); r.status != http.StatusOK || !strings.Contains(r.body, "No survey yet.") {
		t.Fatalf("/surveys: %d", r.status)
	}
	tok := b.csrf("/surveys")

	// A name is needed; the form comes back with the error at the field.
	r := b.post("/surveys", url.Values{"csrf": {tok}, "name": {"  "}, "default_language": {"fr"}, "languages": {"fr", "en"}})
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("create without a name: %d", r.status)
	}
	if _, msg := field(t, r.body, "new-name"); msg != "missing; give the survey a name" {
		t.Fatalf("error at the name = %q", msg)
	}

	id := surveyIDFrom(t, b.post("/surveys", url.Values{"csrf": {tok}, "name": {"Après livraison"}, "default_language": {"fr"}, "languages": {"fr", "en"}}))
	r = b.get("/surveys/" + id + "?m=created")
	for _, want := range []string{"<h1>Après livraison</h1>", "Survey created with a first question", "Quelle est la probabilité que vous nous recommandiez",
		"Recommendation, NPS (0 to 10)", "Français, English"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the new survey's page lacks %q", want)
		}
	}
	sv, err := e.surveys.Get(ctx, tn.ID, id)
	if err != nil || sv.Definition.Pages[0].Questions[0].Text["en"] != "How likely are you to recommend us to a friend or colleague?" {
		t.Fatalf("stored survey: %+v %v", sv, err)
	}
	version := func() string {
		sv, err := e.surveys.Get(ctx, tn.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		return strconv.Itoa(sv.CurrentVersion)
	}

	// Add a one-choice question with an automatic key, then a comment on
	// a new page.
	r = b.post("/surveys/"+id+"/questions", url.Values{"csrf": {tok}, "version": {version()}, "page": {"1"}, "type": {"single"},
		"text": {"Qu'avez-vous apprécié ?"}, "choices": {"Le prix\r\nspeed | La rapidité\r\n"}})
	if r.status != http.StatusSeeOther || !strings.HasSuffix(r.header.Get("Location"), "?m=added#q-q2") {
		t.Fatalf("add: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	r = b.post("/surveys/"+id+"/questions", url.Values{"csrf": {tok}, "version": {version()}, "page": {"new"}, "type": {"longtext"},
		"id": {"what_went_wrong"}, "text": {"Qu'est-ce qui n'a pas été ?"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("add on a new page: %d\n%s", r.status, r.body)
	}
	sv, _ = e.surveys.Get(ctx, tn.ID, id)
	if got := questionOrder(sv.Definition); got != "nps q2 | what_went_wrong" || sv.CurrentVersion != 3 {
		t.Fatalf("order %q, version %d", got, sv.CurrentVersion)
	}
	if q, _, _ := sv.Definition.Question("q2"); q.Choices[0].Key != "le_prix" || q.Choices[1].Key != "speed" || q.Choices[1].Text["fr"] != "La rapidité" {
		t.Fatalf("choices %+v", q.Choices)
	}
	page := b.get("/surveys/" + id).body
	for _, want := range []string{"Page 2", "Qu&#39;avez-vous apprécié ?", "One choice", "Le prix", "La rapidité"} {
		if !strings.Contains(page, want) {
			t.Errorf("the editor lacks %q", want)
		}
	}

	// A one-choice question without choices is refused, the error next to
	// the choices field.
	r = b.post("/surveys/"+id+"/questions", url.Values{"csrf": {tok}, "version": {version()}, "page": {"1"}, "type": {"single"}, "text": {"Et ?"}})
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("add without choices: %d", r.status)
	}
	if _, msg := field(t, r.body, "add-choices"); msg != "0 choices: this question needs at least 2." {
		t.Fatalf("error at the choices = %q", msg)
	}
	if c, _ := field(t, r.body, "add-text"); !strings.Contains(r.body, ">Et ?</textarea>") {
		t.Errorf("the text typed is lost: %s", c)
	}

	// Edit the comment: an English text and a condition on the NPS.
	r = b.get("/surveys/" + id + "/questions/what_went_wrong")
	if r.status != http.StatusOK || !strings.Contains(r.body, `<option value="nps">nps — Quelle est la probabilité`) {
		t.Fatalf("question page: %d\n%s", r.status, r.body)
	}
	form := url.Values{"csrf": {tok}, "version": {version()}, "id": {"what_went_wrong"}, "type": {"longtext"},
		"text_fr": {"Qu'est-ce qui n'a pas été ?"}, "text_en": {"What went wrong?"},
		"cond_question": {"nps"}, "cond_op": {"le"}, "cond_value": {"6"}}
	r = b.post("/surveys/"+id+"/questions/what_went_wrong", form)
	if r.status != http.StatusSeeOther {
		t.Fatalf("save question: %d\n%s", r.status, r.body)
	}
	page = b.get("/surveys/" + id).body
	if !strings.Contains(page, "Shown only if the answer to “nps” is at most 6.") {
		t.Error("the editor does not say the condition in words")
	}
	if sv, _ := e.surveys.Get(ctx, tn.ID, id); sv.CurrentVersion != 4 {
		t.Errorf("version %d after the edit, want 4", sv.CurrentVersion)
	}
	// In French too.
	fr := e.loggedIn("shop-owner@example.com")
	if !strings.Contains(fr.get("/surveys/"+id).body, "Affichée seulement si la réponse à « nps » est au plus 6.") {
		t.Error("the condition is not said in French")
	}

	// Errors land next to their fields: no French text, a value off the
	// NPS scale.
	form.Set("version", version())
	form.Set("text_fr", "")
	form.Set("cond_value", "11")
	r = b.post("/surveys/"+id+"/questions/what_went_wrong", form)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad question: %d", r.status)
	}
	if _, msg := field(t, r.body, "q-text-fr"); msg != "Missing: every question needs a text in the default language (fr)." {
		t.Errorf("error at the French text = %q", msg)
	}
	if _, msg := field(t, r.body, "q-cond-value"); msg != "11 is outside the scale of “nps” (0 to 10): give a value on the scale." {
		t.Errorf("error at the condition's value = %q", msg)
	}
	if _, msg := field(t, r.body, "q-text-en"); msg != "" || !strings.Contains(r.body, ">What went wrong?</textarea>") {
		t.Errorf("the English text has an error %q or was lost", msg)
	}
	// The French page says it in French.
	form.Set("csrf", fr.csrf("/surveys"))
	r = fr.post("/surveys/"+id+"/questions/what_went_wrong", form)
	if _, msg := field(t, r.body, "q-text-fr"); msg != "Manquant : chaque question a besoin d'un texte dans la langue par défaut (fr)." {
		t.Errorf("French error at the French text = %q", msg)
	}

	// Rename q2: the choices keep their keys, a new id is refused when taken.
	form = url.Values{"csrf": {tok}, "version": {version()}, "id": {"nps"}, "type": {"single"}, "text_fr": {"Qu'avez-vous apprécié ?"},
		"choices_fr": {"le_prix | Le prix\nspeed | La rapidité"}, "choices_en": {"The price\nspeed | Speed"}}
	r = b.post("/surveys/"+id+"/questions/q2", form)
	if _, msg := field(t, r.body, "q-id"); r.status != http.StatusUnprocessableEntity || msg != "“nps” is already the id of an earlier question: give each question its own id." {
		t.Fatalf("taken id: %d %q", r.status, msg)
	}
	form.Set("id", "liked")
	if r = b.post("/surveys/"+id+"/questions/q2", form); r.status != http.StatusSeeOther {
		t.Fatalf("rename: %d\n%s", r.status, r.body)
	}
	sv, _ = e.surveys.Get(ctx, tn.ID, id)
	if q, _, ok := sv.Definition.Question("liked"); !ok || q.Choices[0].Text["en"] != "The price" || q.Choices[1].Text["en"] != "Speed" {
		t.Fatalf("renamed question %+v", q)
	}

	// Reorder: the comment moves up onto page 1 (page 2 goes), then above
	// "liked"; above the NPS it would come before the question its
	// condition uses: refused, the problem on its row.
	move := func(qid, dir string) resp {
		return b.post("/surveys/"+id+"/questions/"+qid+"/move", url.Values{"csrf": {tok}, "version": {version()}, "direction": {dir}})
	}
	if r := move("what_went_wrong", "up"); r.status != http.StatusSeeOther {
		t.Fatalf("move up: %d", r.status)
	}
	sv, _ = e.surveys.Get(ctx, tn.ID, id)
	if got := questionOrder(sv.Definition); got != "nps liked what_went_wrong" {
		t.Fatalf("after a move up: %q", got)
	}
	move("what_went_wrong", "up")
	r = move("what_went_wrong", "up")
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "“nps” comes later in the survey") {
		t.Fatalf("move above the question of the condition: %d\n%s", r.status, r.body)
	}
	sv, _ = e.surveys.Get(ctx, tn.ID, id)
	if got := questionOrder(sv.Definition); got != "nps what_went_wrong liked" {
		t.Fatalf("after the moves: %q", got)
	}
	// Down past the end of the page is a no-op at the end of the survey.
	if r := move("liked", "down"); r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "m=unchanged") {
		t.Fatalf("move the last one down: %d %s", r.status, r.header.Get("Location"))
	}

	// Delete: the NPS is used by a condition; "liked" goes.
	r = b.post("/surveys/"+id+"/questions/nps/delete", url.Values{"csrf": {tok}, "version": {version()}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "“nps” was not deleted: the condition of “what_went_wrong” uses it.") {
		t.Fatalf("delete a question a condition uses: %d", r.status)
	}
	r = b.post("/surveys/"+id+"/questions/liked/delete", url.Values{"csrf": {tok}, "version": {version()}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("delete: %d", r.status)
	}
	page = b.get("/surveys/" + id + "?m=deleted").body
	if strings.Contains(page, `id="q-liked"`) || !strings.Contains(page, "Question deleted.") {
		t.Error("the deleted question is still shown")
	}

	// A form from an older version is refused rather than undoing a change.
	r = b.post("/surveys/"+id+"/questions/what_went_wrong/move", url.Values{"csrf": {tok}, "version": {"1"}, "direction": {"up"}})
	if r.status != http.StatusConflict || !strings.Contains(r.body, "This survey changed since you opened the page.") {
		t.Fatalf("stale form: %d", r.status)
	}

	// Status, and a language taken away with its texts.
	if r := b.post("/surveys/"+id+"/status", url.Values{"csrf": {tok}, "status": {"active"}}); r.status != http.StatusSeeOther {
		t.Fatalf("status: %d", r.status)
	}
	r = b.post("/surveys/"+id+"/settings", url.Values{"csrf": {tok}, "version": {version()}, "name": {"Après livraison 2"}, "default_language": {"fr"}, "languages": {"fr"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("settings: %d\n%s", r.status, r.body)
	}
	sv, _ = e.surveys.Get(ctx, tn.ID, id)
	if sv.Status != survey.StatusActive || sv.Name != "Après livraison 2" || len(sv.Definition.Languages) != 1 || sv.Definition.Pages[0].Questions[0].Text["en"] != "" {
		t.Fatalf("after status and settings: %+v %+v", sv, sv.Definition)
	}
	// English as the default language: the texts missing in English are named.
	r = b.post("/surveys/"+id+"/settings", url.Values{"csrf": {tok}, "version": {version()}, "name": {"Après livraison 2"}, "default_language": {"en"}, "languages": {"fr", "en"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Question “nps”, text.en: Missing: every question needs a text in the default language (en).") {
		t.Fatalf("default language without texts: %d\n%s", r.status, r.body)
	}

	// The list.
	r = b.get("/surveys")
	if !regexp.MustCompile(`Après livraison 2</a></td><td>Active</td><td class="num">\d+</td><td class="num">2</td>`).MatchString(r.body) {
		t.Errorf("the list does not show name, status, version and 2 questions:\n%s", r.body)
	}

	// Roles: an analyst reads (no forms), cannot change; a viewer reads too.
	if _, err := e.accounts.CreateUser(ctx, audit.System("test"), tn.ID, "analyst@example.com", "", testPassword, account.RoleAnalyst); err != nil {
		t.Fatal(err)
	}
	an := e.loggedIn("analyst@example.com").english()
	if r := an.get("/surveys/" + id); r.status != http.StatusOK || strings.Contains(r.body, "/move") || strings.Contains(r.body, `action="/surveys/`+id+`/questions"`) {
		t.Errorf("analyst's editor page: %d, or it offers forms", r.status)
	}
	if r := an.get("/surveys"); strings.Contains(r.body, `action="/surveys"`) {
		t.Error("the list offers an analyst the new survey form")
	}
	atok := an.csrf("/surveys")
	for _, p := range []string{"/surveys", "/surveys/" + id + "/status", "/surveys/" + id + "/questions/nps/delete"} {
		if r := an.post(p, url.Values{"csrf": {atok}, "status": {"archived"}}); r.status != http.StatusForbidden {
			t.Errorf("analyst POST %s = %d, want 403", p, r.status)
		}
	}
	if r := an.get("/surveys/" + id + "/questions/nps"); r.status != http.StatusForbidden {
		t.Errorf("analyst opens the question form: %d", r.status)
	}
}

// TestSurveyImportExport exports a survey, imports the file as a new
// survey (the same definition), and shows an import's problems with their
// places.
func TestSurveyImportExport(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	sv, err := e.surveys.Create(ctx, audit.System("test"), tn.ID, surveyFixture("Livraison"))
	if err != nil {
		t.Fatal(err)
	}
	b := e.loggedIn("shop-owner@example.com").english()
	r := b.get("/surveys/" + sv.ID + "/export.json")
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Disposition"), `attachment; filename="livraison-v1.json"`) {
		t.Fatalf("export: %d %q", r.status, r.header.Get("Content-Disposition"))
	}
	exported := []byte(r.body)
	want, _ := survey.Export(sv.Definition)
	if !bytes.Equal(exported, want) {
		t.Fatalf("export differs from survey.Export:\n%s", exported)
	}
	// The editor shows the condition and the preview.
	page := b.get("/surveys/" + sv.ID).body
	for _, w := range []string{"Shown only if the answer to “nps” is at most 6.", "<legend>Would you recommend our shop?", `name="pv-nps" value="10"`, "The price"} {
		if !strings.Contains(page, w) {
			t.Errorf("editor page lacks %q", w)
		}
	}

	// Import the file (upload) and the same text (pasted).
	tok := b.csrf("/surveys")
	r = b.multipartPost("/surveys/import", "livraison.json", []formPart{{name: "csrf", value: tok}, {name: "json", value: ""}, {name: "file", file: exported}})
	imported := surveyIDFrom(t, r)
	r = b.post("/surveys/import", url.Values{"csrf": {tok}, "json": {string(exported)}})
	pasted := surveyIDFrom(t, r)
	for _, id := range []string{imported, pasted} {
		got, err := e.surveys.Get(ctx, tn.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := survey.Export(got.Definition)
		if !bytes.Equal(again, exported) || got.Status != survey.StatusDraft {
			t.Errorf("imported survey differs:\n%s", again)
		}
	}
	if r := b.get("/surveys/" + imported + "?m=imported"); !strings.Contains(r.body, "Survey imported.") {
		t.Error("no notice after the import")
	}

	// Problems come back with their paths, the text kept.
	bad := strings.Replace(string(exported), `"type": "longtext"`, `"type": "essay"`, 1)
	r = b.post("/surveys/import", url.Values{"csrf": {tok}, "json": {bad}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `pages[1].questions[0].type: &#34;essay&#34; is not a question type`) ||
		!strings.Contains(r.body, `aria-describedby="import-help import-err"`) || !strings.Contains(r.body, "essay") {
		t.Fatalf("bad import: %d\n%s", r.status, r.body)
	}
	r = b.post("/surveys/import", url.Values{"csrf": {tok}, "json": {"{"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "not valid JSON at line 1") {
		t.Fatalf("broken JSON: %d", r.status)
	}
	if list, _ := e.surveys.List(ctx, tn.ID); len(list) != 3 {
		t.Errorf("%d surveys, want 3 (refused imports create none)", len(list))
	}
}
