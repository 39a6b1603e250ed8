package response_test

import (
	"context"
	"reflect"
	"testing"

	"avis/internal/response"
	"avis/internal/survey"
)

// TestPullMatchesGet: a pulled response carries the same answers and
// scores as the response read on its own, for every kind of answer (score,
// comment, several choices, yes and no, an unanswered question), the
// comment only when asked for.
func TestPullMatchesGet(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	pages := []struct {
		p1, p2 []string
	}{
		{[]string{"q_nps", "3", "q_why", "Livré en retard,\ncolis abîmé"}, []string{"q_delivery", "5", "q_topics", "price", "q_topics", "speed", "q_again", "yes"}},
		{[]string{"q_nps", "10"}, []string{"q_delivery", "1", "q_again", "no"}},
		{[]string{"q_nps", "0"}, nil}, // stopped after page 1, no comment
	}
	var ids []string
	for i, pg := range pages {
		cid, inv := e.invitation([]string{"a@example.org", "b@example.org", "c@example.org"}[i])
		st := e.start(cid, inv)
		out := e.submit(response.Submission{Start: st, Page: 0, Answers: parse(t, e.def, 0, form(pg.p1...))})
		if pg.p2 != nil {
			out = e.submit(response.Submission{Start: st, Page: 1, Answers: parse(t, e.def, 1, form(pg.p2...))})
		}
		ids = append(ids, out.Response.ID)
	}
	for _, comments := range []bool{false, true} {
		got, err := e.s.Pull(ctx, e.tenant, response.PullOptions{Limit: 10, Comments: comments})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ids) {
			t.Fatalf("comments %v: %d responses pulled, want %d", comments, len(got), len(ids))
		}
		for i, p := range got {
			want, err := e.s.Get(ctx, e.tenant, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if p.ID != ids[i] || p.Status != want.Status || p.ContactID != want.ContactID || p.StepID != want.StepID ||
				!p.CompletedAt.Equal(want.CompletedAt) || p.TenantID != e.tenant {
				t.Errorf("comments %v, response %d: %+v, want %+v", comments, i, p.Response, want)
			}
			wantAnswers := survey.Answers{}
			for q, a := range want.Answers {
				if a.Text == "" || comments {
					wantAnswers[q] = a
				}
			}
			if !reflect.DeepEqual(p.Answers, wantAnswers) {
				t.Errorf("comments %v, response %d: answers %+v, want %+v", comments, i, p.Answers, wantAnswers)
			}
			if !reflect.DeepEqual(p.Scores, want.Scores) {
				t.Errorf("comments %v, response %d: scores %+v, want %+v", comments, i, p.Scores, want.Scores)
			}
		}
		if c := got[0].Answers["why"].Text; comments != (c == "Livré en retard,\ncolis abîmé") {
			t.Errorf("comments %v: the comment pulled is %q", comments, c)
		}
	}
}
