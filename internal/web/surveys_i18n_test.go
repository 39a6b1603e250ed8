package web

import (
	"errors"
	"testing"

	"avis/internal/i18n"
	"avis/internal/survey"
)

// TestSurveyProblemsTranslated keeps the translations of survey
// validation problems complete, and checks that the patterns still match
// what the survey package says: a broken definition's problems come out
// in French.
func TestSurveyProblemsTranslated(t *testing.T) {
	cat := i18n.MustLoad()
	var msgs []string
	msgs = append(msgs, fixedProblems...)
	for _, p := range problemPatterns {
		msgs = append(msgs, p.msg)
	}
	for _, lang := range i18n.Languages {
		for _, m := range msgs {
			if !cat.Has(lang, m) {
				t.Errorf("%s: no translation for %q", lang, m)
			}
		}
	}

	s := &Server{cat: cat}
	d := &survey.Definition{Name: "", DefaultLanguage: "fr", Languages: []string{"fr", "fr"}, Pages: []survey.Page{
		{Questions: []survey.Question{
			{ID: "nps", Type: survey.TypeNPS, Text: survey.Texts{"fr": " "}},
			{ID: "Bad id", Type: survey.TypeSingle, Choices: []survey.Choice{{Key: "a", Text: survey.Texts{"fr": "A"}}}},
			{ID: "nps", Type: survey.TypeRating, Min: 5, Max: 5, Text: survey.Texts{"fr": "x"},
				Condition: &survey.Condition{Question: "nps", Op: survey.OpLE, Value: 11}},
			{ID: "c", Type: survey.TypeText, Text: survey.Texts{"fr": "x"}, Condition: &survey.Condition{Question: "later", Op: survey.OpAnswered}},
			{ID: "later", Type: survey.TypeText, Text: survey.Texts{"fr": "x"}},
		}},
		{},
	}}
	var ve survey.ValidationErrors
	if !errors.As(d.Validate(), &ve) || len(ve) < 8 {
		t.Fatalf("want many problems, got %v", ve)
	}
	for _, fe := range ve {
		if got := s.problemText("fr", fe.Problem); got == fe.Problem {
			t.Errorf("%s: %q is not translated into French", fe.Path, fe.Problem)
		}
	}
}
