package web

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"avis/internal/response"
	"avis/internal/survey"
)

// pulledSamples are responses as the pull reads them, with every kind of
// answer and string that needs escaping.
func pulledSamples() []response.Pulled {
	at := time.Date(2026, 3, 1, 12, 30, 15, 123456000, time.FixedZone("CET", 3600))
	full := response.Pulled{Seq: 7, ExternalID: "CRM-\"42\"\n\t<b>&", StepKey: "livraison"}
	full.ID, full.SurveyID, full.SurveyVersion, full.Source = "01jnv3k6q5x8zc4r7t2w9y0b1d", "s1", 3, "invitation"
	full.InvitationID, full.ContactID, full.Status, full.Language = "i1", "c1", response.StatusComplete, "fr"
	full.StartedAt, full.UpdatedAt, full.CompletedAt = at, at.Add(time.Second), at.Add(2*time.Second)
	full.Scores = []survey.Score{{QuestionID: "nps", Type: survey.TypeNPS, Value: 9, Category: "promoter"}, {QuestionID: "csat", Type: survey.TypeCSAT, Value: 4}}
	full.Answers = survey.Answers{"nps": survey.Int(9), "csat": survey.Int(4), "again": survey.YesNo(true),
		"what": {Choices: []string{"price", "speed\\"}}, "why": {Text: "Livré en retard \u2028 \x01 \xff é 😀"}}
	partial := response.Pulled{Seq: 8}
	partial.ID, partial.SurveyID, partial.Source, partial.Status, partial.Language = "r2", "s1", "public", response.StatusPartial, "en"
	partial.StartedAt, partial.UpdatedAt = at, at
	partial.Answers = survey.Answers{}
	erased := full
	erased.TextErased = true
	erased.Answers = survey.Answers{"nps": survey.Int(0)}
	return []response.Pulled{full, partial, erased}
}

// TestResponsesPageJSON: the hand-written page is, once decoded, exactly
// what encoding/json makes of the same responses, with and without
// comments.
func TestResponsesPageJSON(t *testing.T) {
	for _, comments := range []bool{false, true} {
		for i, p := range pulledSamples() {
			checkPulledJSON(t, p, comments, i)
		}
	}
}

func checkPulledJSON(t *testing.T, p response.Pulled, comments bool, i int) {
	t.Helper()
	got := appendPulled(nil, p, comments)
	want, err := json.Marshal(toAPIResponse(p, comments))
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("sample %d (comments %v): not JSON: %v\n%s", i, comments, err, got)
	}
	json.Unmarshal(want, &w)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("sample %d (comments %v):\n got %s\nwant %s", i, comments, got, want)
	}
}

// FuzzResponsesPageJSON: whatever the strings of a response, the page
// decodes to what encoding/json writes.
func FuzzResponsesPageJSON(f *testing.F) {
	f.Add("CRM-1", "Livré en retard", "price", "nps", 9)
	f.Add("\xff\x00\"\\", "\u2028\u2029<>&", "\t", "q\n", -3)
	f.Fuzz(func(t *testing.T, ext, text, choice, qid string, n int) {
		if !utf8.ValidString(qid) { // map keys: encoding/json replaces them too, but sorts before
			t.Skip()
		}
		p := pulledSamples()[0]
		p.ExternalID, p.StepKey = ext, choice
		p.Answers = survey.Answers{qid: {Text: text}, "z" + qid: {Choices: []string{choice, text}}, "n": survey.Int(n)}
		for _, comments := range []bool{false, true} {
			checkPulledJSON(t, p, comments, 0)
		}
	})
}
