package survey_test

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"avis/internal/survey"
)

func readExample(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/after_delivery.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func example(t testing.TB) *survey.Definition {
	t.Helper()
	d, err := survey.Parse(readExample(t))
	if err != nil {
		t.Fatalf("Parse(example): %v", err)
	}
	return d
}

func TestParseExample(t *testing.T) {
	d := example(t)
	if d.Name != "After delivery" || d.DefaultLanguage != "fr" || !reflect.DeepEqual(d.Languages, []string{"fr", "en"}) {
		t.Fatalf("header = %q %q %v", d.Name, d.DefaultLanguage, d.Languages)
	}
	if len(d.Pages) != 3 || d.QuestionCount() != 9 {
		t.Fatalf("%d pages, %d questions", len(d.Pages), d.QuestionCount())
	}
	q, page, ok := d.Question("what_went_wrong")
	if !ok || page != 0 || q.Type != survey.TypeLongText || !q.Required {
		t.Fatalf("what_went_wrong = %+v page %d", q, page)
	}
	if c := q.Condition; c == nil || c.Question != "nps" || c.Op != survey.OpLE || c.Value != 6 {
		t.Fatalf("condition = %+v", q.Condition)
	}
	rating, _, _ := d.Question("packaging")
	if rating.Min != 0 || rating.Max != 5 {
		t.Fatalf("rating scale %d..%d", rating.Min, rating.Max)
	}
	liked, _, _ := d.Question("liked")
	if liked.MinSelect != 1 || liked.MaxSelect != 2 || len(liked.Choices) != 3 || !reflect.DeepEqual(liked.Condition.Keys, []string{"store", "phone"}) {
		t.Fatalf("liked = %+v", liked)
	}
	best, _, _ := d.Question("best_time")
	if !reflect.DeepEqual(best.Condition.Keys, []string{survey.Yes}) {
		t.Fatalf("best_time condition = %+v", best.Condition)
	}
	// Texts fall back to the default language.
	nps, _, _ := d.Question("nps")
	cases := []struct {
		name string
		t    survey.Texts
		lang string
		want string
	}{
		{"translated", nps.Text, "en", "Would you recommend our shop to a friend?"},
		{"default", nps.Text, "fr", "Recommanderiez-vous notre boutique à un proche ?"},
		{"missing falls back", q.Help, "en", "N'indiquez pas de données personnelles."},
		{"language not offered", nps.Text, "de", "Recommanderiez-vous notre boutique à un proche ?"},
		{"choice", liked.Choices[0].Text, "en", "Le prix"},
		{"no help at all", nps.Help, "en", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := d.Text(c.t, c.lang); got != c.want {
				t.Errorf("Text(%s) = %q, want %q", c.lang, got, c.want)
			}
		})
	}
	if d.Lang("en") != "en" || d.Lang("de") != "fr" {
		t.Errorf("Lang: en→%s de→%s", d.Lang("en"), d.Lang("de"))
	}
}

func TestExportRoundTrip(t *testing.T) {
	d := example(t)
	b, err := survey.Export(d)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := survey.Parse(b)
	if err != nil {
		t.Fatalf("Parse(Export(d)): %v\n%s", err, b)
	}
	if !reflect.DeepEqual(d, d2) {
		t.Fatalf("round trip changed the definition:\n%+v\n%+v", d, d2)
	}
	b2, _ := survey.Export(d2)
	if !bytes.Equal(b, b2) {
		t.Fatalf("Export is not stable:\n%s\n%s", b, b2)
	}
	// The export keeps what the source says, in the documented fields.
	for _, want := range []string{`"avis_survey": 1`, `"op": "le"`, `"value": 6`, `"value": "yes"`, `"values": [`, `"min": 0`, `"max_select": 2`, `"fr": "Qu'est-ce qui n'a pas été ?"`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("export lacks %s", want)
		}
	}
}

// doc returns a one-page survey document holding the given questions (JSON
// objects), with French as default and English offered.
func doc(questions ...string) string {
	return `{"avis_survey": 1, "name": "Test", "default_language": "fr", "languages": ["fr", "en"],
		"pages": [{"questions": [` + strings.Join(questions, ",") + `]}]}`
}

const npsQ = `{"id": "nps", "type": "nps", "text": {"fr": "Recommanderiez-vous ?"}}`

func TestParseErrors(t *testing.T) {
	many := make([]string, 0, 101)
	for i := range 101 {
		many = append(many, `{"id": "q`+strings.Repeat("x", i%3)+string(rune('a'+i%26))+string(rune('a'+i/26))+`", "type": "yesno", "text": {"fr": "?"}}`)
	}
	manyPages := `{"avis_survey": 1, "name": "T", "default_language": "fr", "pages": [` + strings.Repeat(`{"questions": [`+npsQ+`]},`, 20) + `{"questions": []}]}`
	cases := []struct {
		name string
		in   string
		want []string // each must be one of the reported problems (prefix match)
	}{
		{"not JSON", `{"avis_survey": 1,`, []string{"not valid JSON at line 1, column 19"}},
		{"not JSON on line 3", "{\n\"avis_survey\": 1,\n\"name\" \"x\"}", []string{"not valid JSON at line 3"}},
		{"not an object", `[1]`, []string{"is a list; a survey is an object"}},
		{"missing version", `{"name": "T", "default_language": "fr", "pages": [{"questions": [` + npsQ + `]}]}`, []string{"avis_survey: missing"}},
		{"future version", strings.Replace(doc(npsQ), `"avis_survey": 1`, `"avis_survey": 2`, 1), []string{"avis_survey: version 2 is not supported"}},
		{"unknown top field", strings.Replace(doc(npsQ), `"name"`, `"titel": "x", "name"`, 1), []string{"titel: unknown field; remove it or check its spelling"}},
		{"duplicate field", strings.Replace(doc(npsQ), `"name": "Test"`, `"name": "Test", "name": "Again"`, 1), []string{"name: given twice"}},
		{"no name", strings.Replace(doc(npsQ), `"name": "Test"`, `"name": " "`, 1), []string{"name: missing; give the survey a name"}},
		{"bad default language", strings.Replace(doc(npsQ), `"default_language": "fr"`, `"default_language": "nl"`, 1), []string{`default_language: "nl" is not a language avis offers`}},
		{"default not offered", strings.Replace(doc(npsQ), `["fr", "en"]`, `["en"]`, 1), []string{"languages: does not include the default language (fr)"}},
		{"language twice", strings.Replace(doc(npsQ), `["fr", "en"]`, `["fr", "en", "fr"]`, 1), []string{"languages[2]: fr is listed twice"}},
		{"no pages", `{"avis_survey": 1, "name": "T", "default_language": "fr", "pages": []}`, []string{"pages: empty"}},
		{"empty page", strings.Replace(doc(npsQ), `]}]}`, `]}, {"questions": []}]}`, 1), []string{"pages[1].questions: empty"}},
		{"too many pages", manyPages, []string{"pages: 21 pages; a survey has at most 20"}},
		{"too many questions", doc(many...), []string{"pages[0].questions: 101 questions; a survey has at most 100"}},
		{"missing default text", doc(`{"id": "nps", "type": "nps", "text": {"en": "Recommend?"}}`),
			[]string{"pages[0].questions[0].text.fr: missing; every question needs a text in the default language (fr)"}},
		{"text in a language not offered", doc(`{"id": "nps", "type": "nps", "text": {"fr": "?", "de": "?"}}`),
			[]string{"pages[0].questions[0].text.de: the survey does not offer this language"}},
		{"text too long", doc(`{"id": "nps", "type": "nps", "text": {"fr": "` + strings.Repeat("é", 2001) + `"}}`),
			[]string{"pages[0].questions[0].text.fr: 2001 characters; at most 2000"}},
		{"control character", doc(`{"id": "nps", "type": "nps", "text": {"fr": "a\u0000b"}}`), []string{"pages[0].questions[0].text.fr: holds a control character"}},
		{"text not a string", doc(`{"id": "nps", "type": "nps", "text": {"fr": 3}}`), []string{"pages[0].questions[0].text.fr: is a number; a text is a string"}},
		{"help without default", doc(`{"id": "nps", "type": "nps", "text": {"fr": "?"}, "help": {"en": "Hint"}}`),
			[]string{"pages[0].questions[0].help.fr: missing; the help text is given in other languages"}},
		{"bad id", doc(`{"id": "Q 1", "type": "nps", "text": {"fr": "?"}}`), []string{`pages[0].questions[0].id: "Q 1" is not a valid id`}},
		{"missing id", doc(`{"type": "nps", "text": {"fr": "?"}}`), []string{"pages[0].questions[0].id: missing"}},
		{"duplicate id", doc(npsQ, npsQ), []string{`pages[0].questions[1].id: "nps" is already the id of an earlier question`}},
		{"unknown type", doc(`{"id": "a", "type": "stars", "text": {"fr": "?"}}`), []string{`pages[0].questions[0].type: "stars" is not a question type`}},
		{"unknown question field", doc(`{"id": "a", "type": "nps", "text": {"fr": "?"}, "mandatory": true}`),
			[]string{"pages[0].questions[0].mandatory: unknown field"}},
		{"required not bool", doc(`{"id": "a", "type": "nps", "required": "yes", "text": {"fr": "?"}}`),
			[]string{"pages[0].questions[0].required: is a string; required is true or false"}},
		{"rating without bounds", doc(`{"id": "r", "type": "rating", "text": {"fr": "?"}}`),
			[]string{"pages[0].questions[0].min: missing", "pages[0].questions[0].max: missing"}},
		{"rating min not below max", doc(`{"id": "r", "type": "rating", "min": 5, "max": 5, "text": {"fr": "?"}}`),
			[]string{"pages[0].questions[0].max: must be greater than min (5)"}},
		{"rating out of bounds", doc(`{"id": "r", "type": "rating", "min": 1, "max": 11, "text": {"fr": "?"}}`),
			[]string{"pages[0].questions[0].max: 11 is out of bounds"}},
		{"rating fractional", doc(`{"id": "r", "type": "rating", "min": 1, "max": 4.5, "text": {"fr": "?"}}`),
			[]string{"pages[0].questions[0].max: 4.5 is not a whole number"}},
		{"min on nps", doc(`{"id": "a", "type": "nps", "min": 1, "text": {"fr": "?"}}`), []string{"pages[0].questions[0].min: only rating questions have min and max"}},
		{"labels on yesno", doc(`{"id": "a", "type": "yesno", "low_label": {"fr": "Non"}, "text": {"fr": "?"}}`),
			[]string{"pages[0].questions[0].low_label: only scale questions"}},
		{"single with one choice", doc(`{"id": "a", "type": "single", "text": {"fr": "?"}, "choices": [{"key": "x", "text": {"fr": "X"}}]}`),
			[]string{"pages[0].questions[0].choices: 1 choices; a single question needs at least 2"}},
		{"single without choices", doc(`{"id": "a", "type": "single", "text": {"fr": "?"}}`),
			[]string{"pages[0].questions[0].choices: 0 choices"}},
		{"choice key twice", doc(`{"id": "a", "type": "single", "text": {"fr": "?"}, "choices": [{"key": "x", "text": {"fr": "X"}}, {"key": "x", "text": {"fr": "Y"}}]}`),
			[]string{`pages[0].questions[0].choices[1].key: "x" is already the key of another choice`}},
		{"choice without text", doc(`{"id": "a", "type": "single", "text": {"fr": "?"}, "choices": [{"key": "x", "text": {"fr": "X"}}, {"key": "y", "text": {"en": "Y"}}]}`),
			[]string{"pages[0].questions[0].choices[1].text.fr: missing; every choice needs a text in the default language (fr)"}},
		{"choices on text", doc(`{"id": "a", "type": "text", "text": {"fr": "?"}, "choices": [{"key": "x", "text": {"fr": "X"}}, {"key": "y", "text": {"fr": "Y"}}]}`),
			[]string{"pages[0].questions[0].choices: only single and multi questions have choices"}},
		{"multi bounds", doc(`{"id": "a", "type": "multi", "min_select": 2, "max_select": 1, "text": {"fr": "?"}, "choices": [{"key": "x", "text": {"fr": "X"}}, {"key": "y", "text": {"fr": "Y"}}]}`),
			[]string{"pages[0].questions[0].max_select: is less than min_select (2)"}},
		{"multi bound above choices", doc(`{"id": "a", "type": "multi", "max_select": 3, "text": {"fr": "?"}, "choices": [{"key": "x", "text": {"fr": "X"}}, {"key": "y", "text": {"fr": "Y"}}]}`),
			[]string{"pages[0].questions[0].max_select: 3 is out of bounds"}},
		{"condition forward", doc(`{"id": "a", "type": "text", "text": {"fr": "?"}, "condition": {"question": "nps", "op": "le", "value": 6}}`, npsQ),
			[]string{`pages[0].questions[0].condition.question: "nps" comes later in the survey`}},
		{"condition on itself", doc(`{"id": "a", "type": "nps", "text": {"fr": "?"}, "condition": {"question": "a", "op": "answered"}}`),
			[]string{"pages[0].questions[0].condition.question: a question cannot depend on itself"}},
		{"condition unknown question", doc(npsQ, `{"id": "a", "type": "text", "text": {"fr": "?"}, "condition": {"question": "npx", "op": "answered"}}`),
			[]string{`pages[0].questions[1].condition.question: no question has the id "npx"`}},
		{"condition unknown op", doc(npsQ, `{"id": "a", "type": "text", "text": {"fr": "?"}, "condition": {"question": "nps", "op": "lte", "value": 6}}`),
			[]string{`pages[0].questions[1].condition.op: "lte" is not an operator`}},
		{"condition numeric op on choices", doc(`{"id": "c", "type": "yesno", "text": {"fr": "?"}}`, `{"id": "a", "type": "text", "text": {"fr": "?"}, "condition": {"question": "c", "op": "gt", "value": 1}}`),
			[]string{`pages[0].questions[1].condition.op: gt compares numbers but "c" is a yesno question`}},
		{"condition value off scale", doc(npsQ, `{"id": "a", "type": "text", "text": {"fr": "?"}, "condition": {"question": "nps", "op": "le", "value": 11}}`),
			[]string{`pages[0].questions[1].condition.value: 11 is outside the scale of "nps" (0 to 10)`}},
		{"condition numeric without value", doc(npsQ, `{"id": "a", "type": "text", "text": {"fr": "?"}, "condition": {"question": "nps", "op": "le"}}`),
			[]string{"pages[0].questions[1].condition.value: missing; le compares with a number"}},
		{"condition is on a scale", doc(npsQ, `{"id": "a", "type": "text", "text": {"fr": "?"}, "condition": {"question": "nps", "op": "is", "value": "x"}}`),
			[]string{`pages[0].questions[1].condition.op: is compares choices but "nps" is a nps question`}},
		{"condition unknown key", doc(`{"id": "c", "type": "yesno", "text": {"fr": "?"}}`, `{"id": "a", "type": "text", "text": {"fr": "?"}, "condition": {"question": "c", "op": "is", "value": "maybe"}}`),
			[]string{`pages[0].questions[1].condition.value: "maybe" is not a choice of "c"; use one of its keys (yes or no)`}},
		{"condition any_of without values", doc(`{"id": "c", "type": "yesno", "text": {"fr": "?"}}`, `{"id": "a", "type": "text", "text": {"fr": "?"}, "condition": {"question": "c", "op": "any_of", "value": "yes"}}`),
			[]string{"pages[0].questions[1].condition.values: missing", "pages[0].questions[1].condition.value: any_of compares with a list in values"}},
		{"condition any_of key twice", doc(`{"id": "c", "type": "yesno", "text": {"fr": "?"}}`, `{"id": "a", "type": "text", "text": {"fr": "?"}, "condition": {"question": "c", "op": "any_of", "values": ["yes", "yes"]}}`),
			[]string{`pages[0].questions[1].condition.values[1]: "yes" is listed twice`}},
		{"condition answered with value", doc(npsQ, `{"id": "a", "type": "text", "text": {"fr": "?"}, "condition": {"question": "nps", "op": "answered", "value": 3}}`),
			[]string{"pages[0].questions[1].condition: answered takes no value"}},
		{"several problems at once", doc(`{"id": "A", "type": "nps", "text": {"en": "?"}}`, `{"id": "b", "type": "nope", "text": {"fr": "?"}}`),
			[]string{`pages[0].questions[0].id: "A" is not a valid id`, "pages[0].questions[0].text.fr: missing", `pages[0].questions[1].type: "nope" is not a question type`}},
		{"decode and rule problems together", doc(`{"id": "A", "type": "nps", "text": {"fr": "?"}}`, `{"id": "b", "type": 3, "text": {"fr": "?"}}`),
			[]string{`pages[0].questions[0].id: "A" is not a valid id`, "pages[0].questions[1].type: is a number"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := survey.Parse([]byte(c.in))
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", d)
			}
			var ve survey.ValidationErrors
			if !errors.As(err, &ve) {
				t.Fatalf("error is %T, want ValidationErrors: %v", err, err)
			}
			for _, w := range c.want {
				found := false
				for _, e := range ve {
					if strings.HasPrefix(e.Error(), w) {
						found = true
					}
				}
				if !found {
					t.Errorf("no problem starts with %q; got:\n%v", w, err)
				}
			}
		})
	}
}

func TestParseReportsEachProblemOnce(t *testing.T) {
	_, err := survey.Parse([]byte(doc(`{"id": "b", "type": 3, "text": {"fr": "?"}}`)))
	if n := strings.Count(err.Error(), "questions[0].type"); n != 1 {
		t.Fatalf("type reported %d times:\n%v", n, err)
	}
}

func TestParseLimits(t *testing.T) {
	big := doc(`{"id": "a", "type": "text", "text": {"fr": "` + strings.Repeat("x", survey.MaxDocument) + `"}}`)
	_, err := survey.Parse([]byte(big))
	if err == nil || !strings.Contains(err.Error(), "a survey is at most 1048576 bytes (1 MiB)") {
		t.Fatalf("oversized document: %v", err)
	}
	// The message never quotes a huge value back.
	_, err = survey.Parse([]byte(doc(`{"id": "` + strings.Repeat("y", 5000) + `", "type": "nps", "text": {"fr": "?"}}`)))
	if err == nil || len(err.Error()) > 300 {
		t.Fatalf("long id: error of %d bytes", len(err.Error()))
	}
	// At most 100 problems, then a count.
	qs := make([]string, 100)
	for i := range qs {
		qs[i] = `{"id": "Bad Id", "type": "x", "text": {}}`
	}
	_, err = survey.Parse([]byte(doc(qs...)))
	var ve survey.ValidationErrors
	if !errors.As(err, &ve) || len(ve) != 101 || !strings.Contains(ve[100].Error(), "more problems") {
		t.Fatalf("got %d problems, last %v", len(ve), ve[len(ve)-1])
	}
}

func TestParseNullIsAbsentAndLanguagesDefault(t *testing.T) {
	d, err := survey.Parse([]byte(`{"avis_survey": 1, "name": "T", "default_language": "de", "pages": [{"questions": [
		{"id": "a", "type": "yesno", "text": {"de": "Ja?"}, "help": null, "condition": null}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Languages, []string{"de"}) || d.Pages[0].Questions[0].Help != nil || d.Pages[0].Questions[0].Condition != nil {
		t.Fatalf("got %+v", d)
	}
}

func TestValidateGoDefinition(t *testing.T) {
	d := &survey.Definition{Name: "T", DefaultLanguage: "fr", Languages: []string{"fr"}, Pages: []survey.Page{{Questions: []survey.Question{
		{ID: "nps", Type: survey.TypeNPS, Text: survey.Texts{"fr": "?"}},
		{ID: "why", Type: survey.TypeText, Text: survey.Texts{"fr": "?"}, Condition: &survey.Condition{Question: "nps", Op: survey.OpLT, Value: 7}},
	}}}}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	d.Pages[0].Questions[1].Condition.Question = "why"
	if err := d.Validate(); err == nil || !strings.Contains(err.Error(), "cannot depend on itself") {
		t.Fatalf("self reference: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(readExample(f))
	f.Add([]byte(doc(npsQ)))
	f.Add([]byte(doc(npsQ, `{"id": "a", "type": "multi", "min_select": 1, "text": {"fr": "?"}, "choices": [{"key": "x", "text": {"fr": "X"}}, {"key": "y", "text": {"fr": "Y", "en": "Y"}}], "condition": {"question": "nps", "op": "any_of", "values": ["x"]}}`)))
	f.Add([]byte(doc(`{"id": "r", "type": "rating", "min": 0, "max": 3, "text": {"fr": "?"}}`, `{"id": "a", "type": "text", "text": {"fr": "?"}, "condition": {"question": "r", "op": "eq", "value": 0}}`)))
	f.Add([]byte(`{"avis_survey": 1, "name": null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := survey.Parse(b)
		if err != nil {
			var ve survey.ValidationErrors
			if !errors.As(err, &ve) || len(ve) == 0 {
				t.Fatalf("error is not ValidationErrors: %T %v", err, err)
			}
			return
		}
		out, err := survey.Export(d)
		if err != nil {
			t.Fatalf("Export: %v", err)
		}
		d2, err := survey.Parse(out)
		if err != nil {
			t.Fatalf("Parse(Export(d)): %v\n%s", err, out)
		}
		if !reflect.DeepEqual(d, d2) {
			t.Fatalf("round trip changed the definition:\n%+v\n%+v", d, d2)
		}
		out2, _ := survey.Export(d2)
		if !bytes.Equal(out, out2) {
			t.Fatalf("Export not stable")
		}
		// Answers never panic the evaluator on an accepted definition.
		n := 3
		a := survey.Answers{}
		for _, p := range d.Pages {
			for _, q := range p.Questions {
				a[q.ID] = survey.Answer{Number: &n, Choices: []string{"yes"}}
			}
		}
		_ = survey.Validate(d, a)
		_, _ = survey.NextPage(d, -1, a)
		_ = survey.Scores(d, a)
	})
}
