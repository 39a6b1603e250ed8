package response_test

import (
	"net/url"
	"testing"

	"avis/internal/response"
	"avis/internal/survey"
)

// everyType is a one-page survey with a question of every type.
const everyType = `{"avis_survey": 1, "name": "All", "default_language": "en", "languages": ["en"],
 "pages": [{"questions": [
  {"id": "nps", "type": "nps", "required": true, "text": {"en": "NPS"}},
  {"id": "csat", "type": "csat", "text": {"en": "CSAT"}},
  {"id": "ces", "type": "ces", "text": {"en": "CES"}},
  {"id": "rating", "type": "rating", "min": 1, "max": 4, "text": {"en": "Rating"}},
  {"id": "single", "type": "single", "text": {"en": "One"}, "choices": [{"key": "a", "text": {"en": "A"}}, {"key": "b", "text": {"en": "B"}}]},
  {"id": "multi", "type": "multi", "max_select": 2, "text": {"en": "Some"},
   "choices": [{"key": "a", "text": {"en": "A"}}, {"key": "b", "text": {"en": "B"}}, {"key": "c", "text": {"en": "C"}}]},
  {"id": "yn", "type": "yesno", "text": {"en": "Yes?"}},
  {"id": "short", "type": "text", "text": {"en": "Short"}},
  {"id": "long", "type": "longtext", "text": {"en": "Long"}, "condition": {"question": "nps", "op": "le", "value": 6}}
 ]}]}`

// FuzzParseForm feeds arbitrary form bodies to ParseForm and then to
// ValidatePage: nothing panics, each answer holds exactly the kind of value
// its question takes, and what passes validation is within the limits.
func FuzzParseForm(f *testing.F) {
	def, err := survey.Parse([]byte(everyType))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		"q_nps=3&q_long=bad",
		"q_nps=10&q_csat=5&q_ces=7&q_rating=4&q_single=a&q_multi=a&q_multi=b&q_yn=yes&q_short=hello",
		"q_nps=-1&q_csat=x&q_single=a&q_single=b&q_multi=z&q_yn=maybe",
		"q_nps=%00&q_short=%ff%fe&q_long=%3Cscript%3Ealert(1)%3C/script%3E",
		"q_nps=99999999999999999999999&q_rating=0",
		"q_short=a&q_short=b&q_nps=1&q_nps=2",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		answers, perrs := response.ParseForm(def, 0, form)
		for id := range perrs {
			if _, ok := answers[id]; ok {
				t.Fatalf("%s has both an answer and a parse error", id)
			}
		}
		for id, a := range answers {
			q, _, ok := def.Question(id)
			if !ok {
				t.Fatalf("answer to unknown question %q", id)
			}
			set := 0
			if a.Number != nil {
				set++
			}
			if a.Choices != nil {
				set++
			}
			if a.Bool != nil {
				set++
			}
			if a.Text != "" {
				set++
			}
			if set != 1 {
				t.Fatalf("%s: answer %+v sets %d fields", id, a, set)
			}
			if (a.Number != nil) != q.Type.Scale() || (a.Bool != nil) != (q.Type == survey.TypeYesNo) || (a.Text != "") != q.Type.FreeText() {
				t.Fatalf("%s (%s): answer of the wrong kind %+v", id, q.Type, a)
			}
		}
		errs := survey.ValidatePage(def, 0, answers)
		for id, a := range answers {
			if errs[id] != nil {
				continue
			}
			q, _, _ := def.Question(id)
			if lo, hi, ok := q.Scale(); ok && (*a.Number < lo || *a.Number > hi) {
				t.Fatalf("%s: %d passed validation outside %d..%d", id, *a.Number, lo, hi)
			}
		}
	})
}
