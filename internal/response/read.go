package response

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"avis/internal/db"
	"avis/internal/survey"
	"avis/internal/vault"
)

const responseCols = `id, tenant_id, survey_id, survey_version, COALESCE(invitation_id, ''), contact_id, step_id, source, language,
	notice_id, notice_hash, status, page, started_at, updated_at, completed_at`

func scanResponse(sc interface{ Scan(...any) error }) (Response, error) {
	var r Response
	var status string
	var started, updated, completed int64
	err := sc.Scan(&r.ID, &r.TenantID, &r.SurveyID, &r.SurveyVersion, &r.InvitationID, &r.ContactID, &r.StepID, &r.Source,
		&r.Language, &r.NoticeID, &r.NoticeHash, &status, &r.Page, &started, &updated, &completed)
	if err != nil {
		return Response{}, db.Translate(err)
	}
	r.Status = Status(status)
	r.StartedAt, r.UpdatedAt, r.CompletedAt = db.Time(started), db.Time(updated), db.Time(completed)
	return r, nil
}

// answers reads a response's answers through q (a transaction's when inTx),
// opens its free texts, and fills r.Answers, r.Scores and r.TextErased. It
// returns the answers.
func (s *Store) answers(ctx context.Context, q db.Querier, inTx bool, r *Response) (survey.Answers, error) {
	return s.readAnswers(ctx, q, inTx, true, r)
}

// readAnswers is answers, leaving the free texts out (sealed, unread) unless
// texts.
func (s *Store) readAnswers(ctx context.Context, q db.Querier, inTx, texts bool, r *Response) (survey.Answers, error) {
	rows, err := q.QueryContext(ctx, qAnswers, r.TenantID, r.ID)
	if err != nil {
		return nil, fmt.Errorf("answers: %w", err)
	}
	defer rows.Close()
	out := survey.Answers{}
	r.Scores = nil
	type sealedText struct {
		qid    string
		sealed []byte
	}
	var sealedTexts []sealedText
	r.rows = map[string]bool{}
	for rows.Next() {
		var qid, kind, choices, category string
		var number *int64
		var sealed []byte
		if err := rows.Scan(&qid, &kind, &number, &choices, &sealed, &category); err != nil {
			return nil, fmt.Errorf("answers: %w", err)
		}
		r.rows[qid] = true
		t := survey.Type(kind)
		switch {
		case t.Scale():
			if number == nil {
				continue
			}
			out[qid] = survey.Int(int(*number))
			r.Scores = append(r.Scores, survey.Score{QuestionID: qid, Type: t, Value: int(*number), Category: survey.Category(category)})
		case t == survey.TypeYesNo:
			out[qid] = survey.YesNo(choices == survey.Yes)
		case t.FreeText():
			if len(sealed) > 0 && texts {
				sealedTexts = append(sealedTexts, sealedText{qid, sealed})
			}
		case choices != "":
			out[qid] = survey.Answer{Choices: strings.Split(choices, ",")}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("answers: %w", err)
	}
	rows.Close()
	r.TextErased = false
	if len(sealedTexts) > 0 {
		key, err := s.vault.Lookup(ctx, r.TenantID, Subject(r.ContactID, r.ID))
		if inTx && errors.Is(err, db.ErrNotFound) {
			// A key made earlier in this transaction is not visible to
			// Lookup (read pool): ask through the transaction.
			key, err = s.vault.Subject(ctx, q, r.TenantID, Subject(r.ContactID, r.ID))
		}
		switch {
		case errors.Is(err, vault.ErrErased) || errors.Is(err, db.ErrNotFound):
			r.TextErased = true
		case err != nil:
			return nil, fmt.Errorf("answers: %w", err)
		default:
			for _, st := range sealedTexts {
				text, err := key.OpenString(TextField(r.ID, st.qid), st.sealed)
				if err != nil {
					return nil, fmt.Errorf("answers: %w", err)
				}
				out[st.qid] = survey.Answer{Text: text}
			}
		}
	}
	r.Answers = out
	return out, nil
}

// Get returns one response of the tenant with its answers, or
// db.ErrNotFound.
func (s *Store) Get(ctx context.Context, tenantID, id string) (Response, error) {
	return s.get(ctx, tenantID, id, true)
}

// GetWithoutTexts is Get for a reader that may not see the free-text
// answers (personal data): they are left out of Answers, and neither
// decrypted nor their key looked up.
func (s *Store) GetWithoutTexts(ctx context.Context, tenantID, id string) (Response, error) {
	return s.get(ctx, tenantID, id, false)
}

func (s *Store) get(ctx context.Context, tenantID, id string, texts bool) (Response, error) {
	r, err := scanResponse(s.rq.QueryRowContext(ctx, qGet, tenantID, id))
	if err != nil {
		return Response{}, fmt.Errorf("response: %w", err)
	}
	if _, err := s.readAnswers(ctx, s.rq, false, texts, &r); err != nil {
		return Response{}, fmt.Errorf("response %s: %w", id, err)
	}
	return r, nil
}

// ByInvitation returns the response to an invitation with its answers, or
// db.ErrNotFound when the person has not answered yet.
func (s *Store) ByInvitation(ctx context.Context, tenantID, invitationID string) (Response, error) {
	r, err := scanResponse(s.rq.QueryRowContext(ctx, qByInvitation, tenantID, invitationID))
	if err != nil {
		return Response{}, fmt.Errorf("response of invitation: %w", err)
	}
	if _, err := s.answers(ctx, s.rq, false, &r); err != nil {
		return Response{}, fmt.Errorf("response %s: %w", r.ID, err)
	}
	return r, nil
}

// ByResume returns the public-link response of a survey that a resume
// token names, with its answers, or db.ErrNotFound.
func (s *Store) ByResume(ctx context.Context, tenantID, surveyID, token string) (Response, error) {
	if token == "" || len(token) > 64 {
		return Response{}, fmt.Errorf("response by resume token: %w", db.ErrNotFound)
	}
	r, err := scanResponse(s.db.R.QueryRowContext(ctx, `/* response.Store.ByResume */ SELECT `+responseCols+` FROM responses
		WHERE resume_hash = $1`, ResumeHash(token)))
	if err == nil && (r.TenantID != tenantID || r.SurveyID != surveyID) {
		err = db.ErrNotFound
	}
	if err != nil {
		return Response{}, fmt.Errorf("response by resume token: %w", err)
	}
	if _, err := s.answers(ctx, s.db.R, false, &r); err != nil {
		return Response{}, fmt.Errorf("response %s: %w", r.ID, err)
	}
	return r, nil
}

// ForContact lists a person's responses, oldest first, with their answers
// (free texts opened; TextErased when they no longer can be).
func (s *Store) ForContact(ctx context.Context, tenantID, contactID string) ([]Response, error) {
	if contactID == "" {
		return nil, nil
	}
	rows, err := s.db.R.QueryContext(ctx, `/* response.Store.ForContact */ SELECT `+responseCols+` FROM responses
		WHERE tenant_id = $1 AND contact_id = $2 ORDER BY started_at, id`, tenantID, contactID)
	if err != nil {
		return nil, fmt.Errorf("responses of contact: %w", err)
	}
	var out []Response
	for rows.Next() {
		r, err := scanResponse(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("responses of contact: %w", err)
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("responses of contact: %w", err)
	}
	for i := range out {
		if _, err := s.answers(ctx, s.db.R, false, &out[i]); err != nil {
			return nil, fmt.Errorf("responses of contact: %w", err)
		}
	}
	return out, nil
}
