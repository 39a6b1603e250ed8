package survey_test

import (
	"math"
	"reflect"
	"testing"

	"avis/internal/survey"
)

func TestCategories(t *testing.T) {
	nps := []struct {
		v    int
		want survey.Category
	}{{0, survey.Detractor}, {6, survey.Detractor}, {7, survey.Passive}, {8, survey.Passive}, {9, survey.Promoter}, {10, survey.Promoter}}
	for _, c := range nps {
		if got := survey.NPSCategory(c.v); got != c.want {
			t.Errorf("NPSCategory(%d) = %s, want %s", c.v, got, c.want)
		}
	}
	csat := []struct {
		v    int
		want bool
	}{{1, false}, {3, false}, {4, true}, {5, true}}
	for _, c := range csat {
		if got := survey.CSATSatisfied(c.v); got != c.want {
			t.Errorf("CSATSatisfied(%d) = %v", c.v, got)
		}
	}
	ces := []struct {
		v    int
		want survey.Category
	}{{1, survey.HighEffort}, {3, survey.HighEffort}, {4, survey.NeutralEffort}, {5, survey.LowEffort}, {7, survey.LowEffort}}
	for _, c := range ces {
		if got := survey.CESEffort(c.v); got != c.want {
			t.Errorf("CESEffort(%d) = %s, want %s", c.v, got, c.want)
		}
	}
}

func TestScores(t *testing.T) {
	d := example(t)
	cases := []struct {
		name    string
		answers survey.Answers
		want    []survey.Score
	}{
		{"none", survey.Answers{}, nil},
		{"all scales", survey.Answers{"nps": survey.Int(9), "satisfaction": survey.Int(3), "effort": survey.Int(6), "packaging": survey.Int(0), "channel": choices("web")},
			[]survey.Score{
				{QuestionID: "nps", Type: survey.TypeNPS, Value: 9, Category: survey.Promoter},
				{QuestionID: "satisfaction", Type: survey.TypeCSAT, Value: 3, Category: survey.NotSatisfied},
				{QuestionID: "effort", Type: survey.TypeCES, Value: 6, Category: survey.LowEffort},
				{QuestionID: "packaging", Type: survey.TypeRating, Value: 0},
			}},
		{"off the scale left out", survey.Answers{"nps": survey.Int(12), "satisfaction": survey.Int(5)},
			[]survey.Score{{QuestionID: "satisfaction", Type: survey.TypeCSAT, Value: 5, Category: survey.Satisfied}}},
		{"detractor", survey.Answers{"nps": survey.Int(0)}, []survey.Score{{QuestionID: "nps", Type: survey.TypeNPS, Value: 0, Category: survey.Detractor}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := survey.Scores(d, c.answers); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Scores = %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestScoresSkipHiddenQuestions(t *testing.T) {
	d := opsDef(t, `{"question": "y", "op": "is", "value": "yes"}`)
	d.Pages[0].Questions[5].Type = survey.TypeNPS // x: an NPS shown only after "yes"
	if got := survey.Scores(d, survey.Answers{"y": survey.YesNo(false), "x": survey.Int(10)}); got != nil {
		t.Fatalf("hidden question scored: %+v", got)
	}
	if got := survey.Scores(d, survey.Answers{"y": survey.YesNo(true), "x": survey.Int(10)}); len(got) != 1 || got[0].Category != survey.Promoter {
		t.Fatalf("visible question not scored: %+v", got)
	}
}

func TestAggregates(t *testing.T) {
	cases := []struct {
		name     string
		p, pa, d int
		want     float64
	}{
		{"none", 0, 0, 0, 0},
		{"all promoters", 5, 0, 0, 100},
		{"all detractors", 0, 0, 3, -100},
		{"mixed", 50, 30, 20, 30},
		{"thirds", 1, 1, 1, 0},
		{"rounding left to the caller", 2, 0, 1, 100.0 / 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := survey.NPS(c.p, c.pa, c.d); math.Abs(got-c.want) > 1e-9 {
				t.Errorf("NPS = %v, want %v", got, c.want)
			}
		})
	}
	if survey.CSAT(0, 0) != 0 || survey.CSAT(3, 4) != 75 {
		t.Errorf("CSAT = %v, %v", survey.CSAT(0, 0), survey.CSAT(3, 4))
	}
}
