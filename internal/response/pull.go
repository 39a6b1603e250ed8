package response

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"avis/internal/db"
	"avis/internal/survey"
	"avis/internal/vault"
)

// Pulled is one response as the pull API hands it to the tenant's CRM:
// least data, ids instead of people.
type Pulled struct {
	Response
	// Seq is the response's place in the tenant's feed (sync_seq).
	Seq int64
	// ExternalID is the CRM's id of the contact, when it has one (empty
	// after erasure).
	ExternalID string
	// StepKey is the key of the journey step the invitation was for.
	StepKey string
}

// PullOptions choose what Pull reads.
type PullOptions struct {
	// AfterSeq and AfterID are the cursor: the page starts after the
	// response at (AfterSeq, AfterID) in (sync_seq, id) order.
	AfterSeq int64
	AfterID  string
	// Limit is the most responses returned.
	Limit int
	// Comments opens free-text answers (personal data); otherwise they are
	// left out.
	Comments bool
	// ID, when set, reads that one response only (cursor ignored).
	ID string
}

// Pull returns the tenant's responses in the order they last changed
// (sync_seq, then id), after the cursor, with their answers: one query for
// the page and one for all its answers. Responses are ordered by the
// change feed's sequence, which becomes visible as a prefix in commit
// order, so a client paging with the last item's (Seq, ID) never misses a
// response committed later; a response that changes again moves to the end
// and is read again.
func (s *Store) Pull(ctx context.Context, tenantID string, o PullOptions) ([]Pulled, error) {
	d := s.db.Dialect
	args := []any{tenantID}
	var where string
	if o.ID != "" {
		args = append(args, o.ID)
		where = "r.id = " + d.Arg(2)
		o.Limit = 1
	} else {
		args = append(args, o.AfterSeq, o.AfterSeq, o.AfterID)
		where = "r.sync_seq >= " + d.Arg(2) + " AND (r.sync_seq > " + d.Arg(3) + " OR r.id > " + d.Arg(4) + ")"
	}
	if o.Limit < 1 {
		o.Limit = 1
	}
	args = append(args, o.Limit)
	q := `/* response.Store.Pull */ SELECT r.sync_seq, r.id, r.tenant_id, r.survey_id, r.survey_version, COALESCE(r.invitation_id, ''),
		r.contact_id, r.step_id, r.source, r.language, r.notice_id, r.notice_hash, r.status, r.page, r.started_at, r.updated_at,
		r.completed_at, COALESCE(c.external_id, '')
		FROM responses r
		LEFT JOIN contacts c ON c.tenant_id = r.tenant_id AND c.id = r.contact_id
		WHERE r.tenant_id = ` + d.Arg(1) + ` AND ` + where + `
		ORDER BY r.sync_seq, r.id LIMIT ` + d.Arg(len(args))
	// The page and its answers are read in one read-only transaction: the
	// same snapshot, so the answers are those of the rows of the page even
	// when a response changes meanwhile.
	tx, done, err := s.snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("pull responses: %w", db.Translate(err))
	}
	defer done()
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("pull responses: %w", db.Translate(err))
	}
	var out []Pulled
	for rows.Next() {
		var p Pulled
		var status string
		var started, updated, completed int64
		if err := rows.Scan(&p.Seq, &p.ID, &p.TenantID, &p.SurveyID, &p.SurveyVersion, &p.InvitationID, &p.ContactID, &p.StepID,
			&p.Source, &p.Language, &p.NoticeID, &p.NoticeHash, &status, &p.Page, &started, &updated, &completed,
			&p.ExternalID); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pull responses: %w", err)
		}
		p.Status = Status(status)
		p.StartedAt, p.UpdatedAt, p.CompletedAt = db.Time(started), db.Time(updated), db.Time(completed)
		p.Answers = survey.Answers{}
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pull responses: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	// The steps' keys: a tenant has a few steps, read once rather than
	// looked up for each of a thousand responses.
	if err := pullStepKeys(ctx, tx, tenantID, out); err != nil {
		return nil, err
	}
	// The answers of the same page: the page's selection again as a
	// subquery (cheaper than a list of its ids, and no sort).
	page := `SELECT r.tenant_id, r.id FROM responses r WHERE r.tenant_id = ` + d.Arg(1) + ` AND ` + where + ` ORDER BY r.sync_seq, r.id LIMIT ` + d.Arg(len(args))
	if err := s.pullAnswers(ctx, tx, tenantID, out, page, args, o.Comments); err != nil {
		return nil, err
	}
	return out, nil
}

// snapshot opens a read transaction on the read pool, in which every
// query sees the same state of the database, and returns what ends it.
func (s *Store) snapshot(ctx context.Context) (*sql.Tx, func(), error) {
	var o *sql.TxOptions // SQLite: a deferred transaction, a snapshot from its first read in WAL mode
	if s.db.Dialect == db.Postgres {
		o = &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	tx, err := s.db.R.BeginTx(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	return tx, func() { tx.Rollback() }, nil
}

// pullAnswers reads the answers of a page of responses in one query and,
// when comments are asked for, opens the free texts with one vault lookup
// for all the people of the page.
func (s *Store) pullAnswers(ctx context.Context, tx *sql.Tx, tenantID string, page []Pulled, pageSQL string, args []any, comments bool) error {
	byID := make(map[string]*Pulled, len(page))
	for i := range page {
		byID[page[i].ID] = &page[i]
	}
	text := "NULL"
	if comments {
		text = "a.text_sealed"
	}
	rows, err := tx.QueryContext(ctx, `/* response.Store.pullAnswers */ SELECT a.response_id, a.question_id, a.kind, a.number, a.choices, `+text+`,
		a.category FROM (`+pageSQL+`) p JOIN response_answers a ON a.tenant_id = p.tenant_id AND a.response_id = p.id`, args...)
	if err != nil {
		return fmt.Errorf("pull answers: %w", db.Translate(err))
	}
	type sealedText struct {
		p        *Pulled
		qid      string
		sealed   []byte
		subjects string
	}
	var texts []sealedText
	for rows.Next() {
		var rid, qid, kind, choices, category string
		var number *int64
		var sealed []byte
		if err := rows.Scan(&rid, &qid, &kind, &number, &choices, &sealed, &category); err != nil {
			rows.Close()
			return fmt.Errorf("pull answers: %w", err)
		}
		p := byID[rid]
		if p == nil {
			continue
		}
		t := survey.Type(kind)
		switch {
		case t.Scale():
			if number == nil {
				continue
			}
			p.Answers[qid] = survey.Int(int(*number))
			p.Scores = append(p.Scores, survey.Score{QuestionID: qid, Type: t, Value: int(*number), Category: survey.Category(category)})
		case t == survey.TypeYesNo:
			p.Answers[qid] = survey.YesNo(choices == survey.Yes)
		case t.FreeText():
			if len(sealed) > 0 {
				texts = append(texts, sealedText{p, qid, sealed, Subject(p.ContactID, p.ID)})
			}
		case choices != "":
			p.Answers[qid] = survey.Answer{Choices: strings.Split(choices, ",")}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("pull answers: %w", err)
	}
	for i := range page { // in question order, whatever order the rows came in
		slices.SortFunc(page[i].Scores, func(a, b survey.Score) int { return strings.Compare(a.QuestionID, b.QuestionID) })
	}
	if len(texts) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var subjects []string
	for _, t := range texts {
		if !seen[t.subjects] {
			seen[t.subjects] = true
			subjects = append(subjects, t.subjects)
		}
	}
	keys, err := s.vault.Subjects(ctx, nil, tenantID, subjects)
	if err != nil {
		return fmt.Errorf("pull answers: %w", err)
	}
	for _, t := range texts {
		k := keys[t.subjects]
		if k == nil {
			t.p.TextErased = true
			continue
		}
		v, err := k.OpenString(TextField(t.p.ID, t.qid), t.sealed)
		if errors.Is(err, vault.ErrErased) {
			t.p.TextErased = true
			continue
		}
		if err != nil {
			return fmt.Errorf("pull answers: %w", err)
		}
		t.p.Answers[t.qid] = survey.Answer{Text: v}
	}
	return nil
}

// pullStepKeys sets the key of each response's journey step.
func pullStepKeys(ctx context.Context, tx *sql.Tx, tenantID string, page []Pulled) error {
	rows, err := tx.QueryContext(ctx, `/* response.Store.Pull */ SELECT id, key FROM journey_steps WHERE tenant_id = $1`, tenantID)
	if err != nil {
		return fmt.Errorf("pull responses: steps: %w", db.Translate(err))
	}
	keys := map[string]string{}
	for rows.Next() {
		var id, key string
		if err := rows.Scan(&id, &key); err != nil {
			rows.Close()
			return fmt.Errorf("pull responses: steps: %w", err)
		}
		keys[id] = key
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("pull responses: steps: %w", err)
	}
	for i := range page {
		page[i].StepKey = keys[page[i].StepID]
	}
	return nil
}
