package response

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"avis/internal/db"
	"avis/internal/dispatch"
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

// answerRow is one stored answer as read.
type answerRow struct {
	qid, kind, choices, category string
	number                       *int64
	sealed                       []byte
}

// answers reads a response's answers through q (a transaction's when inTx),
// opens its free texts, and fills r.Answers, r.Scores and r.TextErased. It
// returns the answers.
func (s *Store) answers(ctx context.Context, q db.Querier, inTx bool, r *Response) (survey.Answers, error) {
	rows, err := q.QueryContext(ctx, qAnswers, r.TenantID, r.ID)
	if err != nil {
		return nil, fmt.Errorf("answers: %w", err)
	}
	defer rows.Close()
	var raw []answerRow
	for rows.Next() {
		var a answerRow
		if err := rows.Scan(&a.qid, &a.kind, &a.number, &a.choices, &a.sealed, &a.category); err != nil {
			return nil, fmt.Errorf("answers: %w", err)
		}
		raw = append(raw, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("answers: %w", err)
	}
	rows.Close()
	return s.fill(ctx, q, inTx, true, r, raw)
}

// joinedCols are responseCols and the columns of an answer, for a query of
// a response (r) joined with its answers (a): see collectJoined. The
// response's columns read as zero values when a LEFT JOIN finds no
// response (see ByToken).
const joinedCols = `COALESCE(r.id, ''), COALESCE(r.tenant_id, ''), COALESCE(r.survey_id, ''), COALESCE(r.survey_version, 0),
	COALESCE(r.invitation_id, ''), COALESCE(r.contact_id, ''), COALESCE(r.step_id, ''), COALESCE(r.source, ''),
	COALESCE(r.language, ''), COALESCE(r.notice_id, ''), COALESCE(r.notice_hash, ''), COALESCE(r.status, ''),
	COALESCE(r.page, 0), COALESCE(r.started_at, 0), COALESCE(r.updated_at, 0), COALESCE(r.completed_at, 0),
	a.question_id, a.kind, a.number, a.choices, a.text_sealed, a.category`

// answersJoin joins a response (r) with its answers (a).
const answersJoin = ` LEFT JOIN response_answers a ON a.tenant_id = r.tenant_id AND a.response_id = r.id`

// readJoined reads one response and its answers with one query of
// joinedCols (one round trip instead of two), through q (a transaction's
// when inTx), and fills them in as answers does (free texts opened only
// when texts). No row is db.ErrNotFound.
func (s *Store) readJoined(ctx context.Context, q db.Querier, inTx, texts bool, query string, args ...any) (Response, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return Response{}, db.Translate(err)
	}
	defer rows.Close()
	r, raw, err := collectJoined(rows, rows.Scan)
	if err != nil {
		return Response{}, err
	}
	if r.ID == "" {
		return Response{}, db.ErrNotFound
	}
	if _, err := s.fill(ctx, q, inTx, texts, &r, raw); err != nil {
		return Response{}, err
	}
	return r, nil
}

// collectJoined reads the rows of a query that ends with joinedCols: the
// response (zero when there is none) and its stored answers. scan reads a
// row into the columns before joinedCols, if any, then into the
// destinations it is given.
func collectJoined(rows *sql.Rows, scan func(dest ...any) error) (Response, []answerRow, error) {
	var r Response
	var raw []answerRow
	for rows.Next() {
		var qid, kind, choices, category *string
		var a answerRow
		rr, err := scanResponse(scanWith(func(dest ...any) error {
			return scan(append(dest, &qid, &kind, &a.number, &choices, &a.sealed, &category)...)
		}))
		if err != nil {
			return Response{}, nil, err
		}
		r = rr
		if qid == nil {
			continue // a response without answers, or no response
		}
		a.qid, a.kind = *qid, deref(kind)
		a.choices, a.category = deref(choices), deref(category)
		raw = append(raw, a)
	}
	if err := rows.Err(); err != nil {
		return Response{}, nil, db.Translate(err)
	}
	return r, raw, nil
}

// scanWith is a Scan function as a scanner.
type scanWith func(dest ...any) error

func (f scanWith) Scan(dest ...any) error { return f(dest...) }

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// fill turns a response's stored answers into r.Answers, r.Scores,
// r.TextErased and r.rows, opening the free texts (their key looked up
// through q when inTx) unless !texts, which leaves them out. It returns
// the answers.
func (s *Store) fill(ctx context.Context, q db.Querier, inTx, texts bool, r *Response, raw []answerRow) (survey.Answers, error) {
	out := survey.Answers{}
	r.Scores = nil
	type sealedText struct {
		qid    string
		sealed []byte
	}
	var sealedTexts []sealedText
	r.rows = map[string]bool{}
	for _, a := range raw {
		qid, number := a.qid, a.number
		r.rows[qid] = true
		t := survey.Type(a.kind)
		switch {
		case t.Scale():
			if number == nil {
				continue
			}
			out[qid] = survey.Int(int(*number))
			r.Scores = append(r.Scores, survey.Score{QuestionID: qid, Type: t, Value: int(*number), Category: survey.Category(a.category)})
		case t == survey.TypeYesNo:
			out[qid] = survey.YesNo(a.choices == survey.Yes)
		case t.FreeText():
			if len(a.sealed) > 0 && texts {
				sealedTexts = append(sealedTexts, sealedText{qid, a.sealed})
			}
		case a.choices != "":
			out[qid] = survey.Answer{Choices: strings.Split(a.choices, ",")}
		}
	}
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
	r, err := s.readJoined(ctx, s.rq, false, texts, qGet, tenantID, id)
	if err != nil {
		return Response{}, fmt.Errorf("response %s: %w", id, err)
	}
	return r, nil
}

// ByInvitation returns the response to an invitation with its answers, or
// db.ErrNotFound when the person has not answered yet.
func (s *Store) ByInvitation(ctx context.Context, tenantID, invitationID string) (Response, error) {
	r, err := s.readJoined(ctx, s.rq, false, true, qByInvitation, tenantID, invitationID)
	if err != nil {
		return Response{}, fmt.Errorf("response of invitation: %w", err)
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

// ByToken returns, in one query, the invitation an invitation link's
// token names, its tenant, and the response to it with its answers (free
// texts opened), or nil when the person has not started answering. An
// unknown token is db.ErrNotFound. The survey page reads both on every
// request: one round trip instead of two.
func (s *Store) ByToken(ctx context.Context, token string) (tenantID string, inv dispatch.Invitation, resp *Response, err error) {
	if len(token) != dispatch.TokenLen {
		return "", inv, nil, fmt.Errorf("invitation by token: %w", db.ErrNotFound)
	}
	rows, err := s.rq.QueryContext(ctx, qByToken, dispatch.TokenHash(token))
	if err != nil {
		return "", inv, nil, fmt.Errorf("invitation by token: %w", db.Translate(err))
	}
	defer rows.Close()
	found := false
	r, raw, err := collectJoined(rows, func(dest ...any) error {
		var err error
		inv, err = dispatch.ScanInvitation(scanWith(func(invDest ...any) error {
			return rows.Scan(append(append([]any{&tenantID}, invDest...), dest...)...)
		}))
		found = found || err == nil
		return err
	})
	if err != nil {
		return "", dispatch.Invitation{}, nil, fmt.Errorf("invitation by token: %w", err)
	}
	if !found {
		return "", dispatch.Invitation{}, nil, fmt.Errorf("invitation by token: %w", db.ErrNotFound)
	}
	if r.ID == "" {
		return tenantID, inv, nil, nil // no response yet
	}
	if _, err := s.fill(ctx, s.rq, false, true, &r, raw); err != nil {
		return "", dispatch.Invitation{}, nil, fmt.Errorf("response %s: %w", r.ID, err)
	}
	return tenantID, inv, &r, nil
}
