package response

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"avis/internal/db"
	"avis/internal/survey"
	"avis/internal/vault"
)

// Pulled is one response as the pull API hands it to the tenant's CRM:
// least data, ids instead of people. Pull leaves the notice (NoticeID,
// NoticeHash) and Page unset: the API does not hand them out.
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
// (sync_seq, then id), after the cursor, with their answers, in one query
// (and one more for the comments when asked for). Responses are ordered by
// the change feed's sequence, which becomes visible as a prefix in commit
// order, so a client paging with the last item's (Seq, ID) never misses a
// response committed later; a response that changes again moves to the end
// and is read again.
func (s *Store) Pull(ctx context.Context, tenantID string, o PullOptions) ([]Pulled, error) {
	// The page and its comments are read in one read-only transaction: the
	// same snapshot, so the comments are those of the rows of the page even
	// when a response changes meanwhile.
	tx, done, err := s.snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("pull responses: %w", db.Translate(err))
	}
	defer done()
	var out []Pulled
	texts, err := s.pull(ctx, tx, tenantID, o, func(p *Pulled) error {
		out = append(out, *p)
		return nil
	})
	if err != nil || !o.Comments || !texts {
		return out, err
	}
	if err := s.pullComments(ctx, tx, tenantID, out); err != nil {
		return nil, err
	}
	return out, nil
}

// PullEach calls each with the responses Pull returns without comments, in
// order, as they are read: a caller can write one while the database
// reads the next. It stops at the first error each returns.
func (s *Store) PullEach(ctx context.Context, tenantID string, o PullOptions, each func(*Pulled) error) error {
	tx, done, err := s.snapshot(ctx)
	if err != nil {
		return fmt.Errorf("pull responses: %w", db.Translate(err))
	}
	defer done()
	o.Comments = false
	_, err = s.pull(ctx, tx, tenantID, o, each)
	return err
}

// pull reads the page o names in tx and calls each with its responses; it
// reports whether any has a free-text answer.
func (s *Store) pull(ctx context.Context, tx *sql.Tx, tenantID string, o PullOptions, each func(*Pulled) error) (texts bool, err error) {
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
	// The steps' keys: a tenant has a few steps, read once rather than
	// looked up for each of a thousand responses.
	steps, err := pullStepKeys(ctx, tx, tenantID)
	if err != nil {
		return false, err
	}
	// The answers come with their response, as one aggregated text of
	// fields (question ids and choice keys are slugs: no control
	// characters), rather than a second query with a row per answer.
	sep, agg := "char(31)", "group_concat(%s, char(30))"
	num := "ifnull(a.number, '')"
	if d == db.Postgres {
		sep, agg, num = "chr(31)", "string_agg(%s, chr(30))", "coalesce(a.number::text, '')"
	}
	fields := "a.question_id || " + sep + " || a.kind || " + sep + " || " + num + " || " + sep + " || a.choices || " + sep + " || a.category"
	q := `/* response.Store.Pull */ SELECT r.sync_seq, r.id, r.survey_id, r.survey_version, COALESCE(r.invitation_id, ''),
		r.contact_id, r.step_id, r.source, r.language, r.status, r.started_at, r.updated_at, r.completed_at,
		COALESCE(c.external_id, ''), COALESCE((SELECT ` + fmt.Sprintf(agg, fields) + ` FROM response_answers a WHERE a.tenant_id = r.tenant_id AND a.response_id = r.id), '')
		FROM responses r
		LEFT JOIN contacts c ON c.tenant_id = r.tenant_id AND c.id = r.contact_id
		WHERE r.tenant_id = ` + d.Arg(1) + ` AND ` + where + `
		ORDER BY r.sync_seq, r.id LIMIT ` + d.Arg(len(args))
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return false, fmt.Errorf("pull responses: %w", db.Translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		var p Pulled
		var status, answers string
		var started, updated, completed int64
		if err := rows.Scan(&p.Seq, &p.ID, &p.SurveyID, &p.SurveyVersion, &p.InvitationID, &p.ContactID, &p.StepID,
			&p.Source, &p.Language, &status, &started, &updated, &completed, &p.ExternalID, &answers); err != nil {
			return false, fmt.Errorf("pull responses: %w", err)
		}
		p.TenantID = tenantID
		p.Status = Status(status)
		p.StartedAt, p.UpdatedAt, p.CompletedAt = db.Time(started), db.Time(updated), db.Time(completed)
		p.StepKey = steps[p.StepID]
		if p.setAnswers(answers) {
			texts = true
		}
		if err := each(&p); err != nil {
			return false, err
		}
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("pull responses: %w", err)
	}
	return texts, nil
}

// setAnswers sets the answers and scores of p from their aggregated text
// (fields separated by 0x1f, answers by 0x1e: question id, kind, number,
// choices, category), leaving free texts out. It reports whether p has a
// free-text answer.
func (p *Pulled) setAnswers(agg string) (texts bool) {
	p.Answers = make(survey.Answers, 4)
	p.Scores = make([]survey.Score, 0, 4)
	for agg != "" {
		var a string
		a, agg, _ = strings.Cut(agg, "\x1e")
		qid, rest, _ := strings.Cut(a, "\x1f")
		kind, rest, _ := strings.Cut(rest, "\x1f")
		number, rest, _ := strings.Cut(rest, "\x1f")
		choices, category, _ := strings.Cut(rest, "\x1f")
		t := survey.Type(kind)
		switch {
		case t.Scale():
			n, err := strconv.Atoi(number)
			if err != nil {
				continue
			}
			p.Answers[qid] = survey.Int(n)
			p.Scores = append(p.Scores, survey.Score{QuestionID: qid, Type: t, Value: n, Category: survey.Category(category)})
		case t == survey.TypeYesNo:
			p.Answers[qid] = survey.YesNo(choices == survey.Yes)
		case t.FreeText():
			texts = true
		case choices != "":
			p.Answers[qid] = survey.Answer{Choices: strings.Split(choices, ",")}
		}
	}
	// In question order, whatever order the answers came in.
	slices.SortFunc(p.Scores, func(a, b survey.Score) int { return strings.Compare(a.QuestionID, b.QuestionID) })
	return texts
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

// pullComments opens the free-text answers of a page of responses, read
// by batches of ids, with one vault lookup for all the people of the page.
func (s *Store) pullComments(ctx context.Context, tx *sql.Tx, tenantID string, page []Pulled) error {
	byID := make(map[string]*Pulled, len(page))
	ids := make([]any, 0, len(page))
	for i := range page {
		byID[page[i].ID] = &page[i]
		ids = append(ids, page[i].ID)
	}
	type sealedText struct {
		p        *Pulled
		qid      string
		sealed   []byte
		subjects string
	}
	var texts []sealedText
	for start := 0; start < len(ids); start += 500 {
		in, args := db.InList(s.db.Dialect, []any{tenantID}, ids[start:min(start+500, len(ids))])
		rows, err := tx.QueryContext(ctx, `/* response.Store.pullComments */ SELECT response_id, question_id, text_sealed
			FROM response_answers WHERE tenant_id = $1 AND text_sealed IS NOT NULL AND response_id IN `+in, args...)
		if err != nil {
			return fmt.Errorf("pull comments: %w", db.Translate(err))
		}
		for rows.Next() {
			var rid, qid string
			var sealed []byte
			if err := rows.Scan(&rid, &qid, &sealed); err != nil {
				rows.Close()
				return fmt.Errorf("pull comments: %w", err)
			}
			if p := byID[rid]; p != nil && len(sealed) > 0 {
				texts = append(texts, sealedText{p, qid, sealed, Subject(p.ContactID, p.ID)})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("pull comments: %w", err)
		}
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
		return fmt.Errorf("pull comments: %w", err)
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
			return fmt.Errorf("pull comments: %w", err)
		}
		t.p.Answers[t.qid] = survey.Answer{Text: v}
	}
	return nil
}

// pullStepKeys returns the keys of the tenant's journey steps by id.
func pullStepKeys(ctx context.Context, tx *sql.Tx, tenantID string) (map[string]string, error) {
	rows, err := tx.QueryContext(ctx, `/* response.Store.Pull */ SELECT id, key FROM journey_steps WHERE tenant_id = $1`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("pull responses: steps: %w", db.Translate(err))
	}
	defer rows.Close()
	keys := map[string]string{}
	for rows.Next() {
		var id, key string
		if err := rows.Scan(&id, &key); err != nil {
			return nil, fmt.Errorf("pull responses: steps: %w", err)
		}
		keys[id] = key
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pull responses: steps: %w", err)
	}
	return keys, nil
}
