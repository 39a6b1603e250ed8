package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"avis/internal/db"
	"avis/internal/privacy"
	"avis/internal/survey"
)

// meAnswers lists the person's responses, question by question in the
// survey's order, in lang (the survey's default language when it lacks
// lang).
func (s *Server) meAnswers(ctx context.Context, sub meSubject, lang string) ([]meResponse, error) {
	if s.Responses == nil {
		return nil, nil
	}
	rs, err := s.Responses.ForContact(ctx, sub.TenantID, sub.ContactID)
	if err != nil {
		return nil, err
	}
	defs := map[string]*survey.Definition{}
	var out []meResponse
	for _, r := range rs {
		key := r.SurveyID + "@" + strconv.Itoa(r.SurveyVersion)
		def, ok := defs[key]
		if !ok {
			v, err := s.Surveys.Version(ctx, sub.TenantID, r.SurveyID, r.SurveyVersion)
			if err != nil && !errors.Is(err, db.ErrNotFound) {
				return nil, err
			}
			def = v.Definition
			defs[key] = def
		}
		mr := meResponse{ID: r.ID, SurveyID: r.SurveyID, SurveyVersion: r.SurveyVersion, Status: string(r.Status), Language: r.Language,
			StartedAt: r.StartedAt, CompletedAt: r.CompletedAt, TextErased: r.TextErased}
		mr.Items = s.answerItems(def, lang, r.Answers)
		out = append(out, mr)
	}
	return out, nil
}

// answerItems writes each answer as text, with its question, in survey
// order (in question-id order when the survey version is gone).
func (s *Server) answerItems(def *survey.Definition, lang string, answers survey.Answers) []meAnswer {
	var out []meAnswer
	seen := map[string]bool{}
	if def != nil {
		l := def.Lang(lang)
		for _, p := range def.Pages {
			for i := range p.Questions {
				q := &p.Questions[i]
				a, ok := answers[q.ID]
				if !ok {
					continue
				}
				seen[q.ID] = true
				out = append(out, meAnswer{QuestionID: q.ID, Question: def.Text(q.Text, l), Answer: s.answerText(def, q, l, a)})
			}
		}
	}
	for _, id := range sortedKeys(answers) {
		if !seen[id] {
			out = append(out, meAnswer{QuestionID: id, Question: id, Answer: s.answerText(nil, nil, lang, answers[id])})
		}
	}
	return out
}

// answerText writes one answer: a number, the labels of the choices, the
// text, or yes/no.
func (s *Server) answerText(def *survey.Definition, q *survey.Question, lang string, a survey.Answer) string {
	switch {
	case a.Number != nil:
		if q != nil {
			if lo, hi, ok := q.Scale(); ok {
				return fmt.Sprintf("%d (%d–%d)", *a.Number, lo, hi)
			}
		}
		return strconv.Itoa(*a.Number)
	case a.Bool != nil:
		if *a.Bool {
			return s.cat.T(lang, "Yes")
		}
		return s.cat.T(lang, "No")
	case len(a.Choices) > 0:
		labels := make([]string, 0, len(a.Choices))
		for _, k := range a.Choices {
			label := k
			switch {
			case k == survey.Yes && (q == nil || q.Type == survey.TypeYesNo):
				label = s.cat.T(lang, "Yes")
			case k == survey.No && (q == nil || q.Type == survey.TypeYesNo):
				label = s.cat.T(lang, "No")
			case q != nil && def != nil:
				for _, c := range q.Choices {
					if c.Key == k {
						label = def.Text(c.Text, lang)
					}
				}
			}
			labels = append(labels, label)
		}
		return strings.Join(labels, ", ")
	}
	return a.Text
}

// meConsents lists the person's consent receipts.
func (s *Server) meConsents(ctx context.Context, sub meSubject) ([]meConsent, error) {
	if s.Consents == nil {
		return nil, nil
	}
	rs, err := s.Consents.ForSubject(ctx, sub.TenantID, sub.ContactID)
	if err != nil {
		return nil, err
	}
	out := make([]meConsent, 0, len(rs))
	for _, c := range rs {
		out = append(out, meConsent{ID: c.ID, Purpose: c.Purpose, Wording: c.Wording, Language: c.Language, Channel: c.Channel,
			Method: c.Method, ResponseID: c.ResponseID, NoticeID: c.NoticeID, GivenAt: c.GivenAt, WithdrawnAt: c.WithdrawnAt, Standing: c.Valid()})
	}
	return out, nil
}

// meWithdraw withdraws one of the person's consents.
func (s *Server) meWithdraw(w http.ResponseWriter, r *http.Request, sub meSubject) {
	id := r.PostFormValue("receipt")
	if s.Consents == nil || !db.ValidID(id) {
		s.publicPage(w, r, http.StatusNotFound, "public_me_state", publicOpts{Title: "This link is not valid"}, map[string]any{"Unknown": true})
		return
	}
	c, err := s.Consents.Get(r.Context(), sub.TenantID, id)
	if errors.Is(err, db.ErrNotFound) || (err == nil && c.SubjectID != sub.ContactID) {
		s.publicPage(w, r, http.StatusNotFound, "public_me_state", publicOpts{Title: "This link is not valid"}, map[string]any{"Unknown": true})
		return
	}
	if err != nil {
		s.meState(w, r, sub, err)
		return
	}
	outcome := privacy.OutcomeNoChange
	if c.Valid() {
		if err := s.Consents.Withdraw(r.Context(), sub.TenantID, id, time.Now()); err != nil {
			s.meState(w, r, sub, err)
			return
		}
		outcome = privacy.OutcomeDone
	}
	if _, err := s.meLog(r.Context(), sub, privacy.RequestWithdrawal, outcome); err != nil {
		s.meState(w, r, sub, err)
		return
	}
	s.meAfter(w, r, sub, http.StatusOK, func(d *meView) {
		d.Done = s.cat.T(d.lang, "Your consent is withdrawn. It no longer allows anything from now on.")
	})
}
