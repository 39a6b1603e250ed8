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

// The reference of the hand-written JSON: the API's response as
// encoding/json writes it.

// apiScore is one scored answer.
type apiScore struct {
	Question string `json:"question"`
	Type     string `json:"type"`
	Value    int    `json:"value"`
	Category string `json:"category,omitempty"`
}

// apiAnswer is one answer: a number on a scale, choice keys, yes/no, or a
// free text (only with include=comments).
type apiAnswer struct {
	Number  *int     `json:"number,omitempty"`
	Choices []string `json:"choices,omitempty"`
	Yes     *bool    `json:"yes,omitempty"`
	Text    *string  `json:"text,omitempty"`
}

// apiResponse is a response as the API hands it out: least data.
type apiResponse struct {
	ID                string               `json:"id"`
	SurveyID          string               `json:"survey_id"`
	SurveyVersion     int                  `json:"survey_version"`
	Source            string               `json:"source"`
	InvitationID      string               `json:"invitation_id,omitempty"`
	ContactID         string               `json:"contact_id,omitempty"`
	ContactExternalID string               `json:"contact_external_id,omitempty"`
	Step              string               `json:"step,omitempty"`
	Status            string               `json:"status"`
	Language          string               `json:"language"`
	StartedAt         time.Time            `json:"started_at"`
	UpdatedAt         time.Time            `json:"updated_at"`
	CompletedAt       *time.Time           `json:"completed_at,omitempty"`
	Scores            []apiScore           `json:"scores"`
	Answers           map[string]apiAnswer `json:"answers"`
	// CommentsErased is set, with include=comments, when the person's
	// comments were erased.
	CommentsErased bool `json:"comments_erased,omitempty"`
}

func toAPIResponse(p response.Pulled, comments bool) apiResponse {
	out := apiResponse{ID: p.ID, SurveyID: p.SurveyID, SurveyVersion: p.SurveyVersion, Source: p.Source, InvitationID: p.InvitationID,
		ContactID: p.ContactID, ContactExternalID: p.ExternalID, Step: p.StepKey, Status: string(p.Status), Language: p.Language,
		StartedAt: p.StartedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC(), CompletedAt: optTime(p.CompletedAt),
		Scores: []apiScore{}, Answers: map[string]apiAnswer{}, CommentsErased: comments && p.TextErased}
	for _, sc := range p.Scores {
		out.Scores = append(out.Scores, apiScore{sc.QuestionID, string(sc.Type), sc.Value, string(sc.Category)})
	}
	for qid, a := range p.Answers {
		switch {
		case a.Number != nil:
			out.Answers[qid] = apiAnswer{Number: a.Number}
		case a.Bool != nil:
			out.Answers[qid] = apiAnswer{Yes: a.Bool}
		case len(a.Choices) > 0:
			out.Answers[qid] = apiAnswer{Choices: a.Choices}
		case a.Text != "" && comments:
			t := a.Text
			out.Answers[qid] = apiAnswer{Text: &t}
		}
	}
	return out
}

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
