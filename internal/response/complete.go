package response

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"avis/internal/db"
	"avis/internal/feed"
	"avis/internal/privacy"
	"avis/internal/survey"
)

// complete validates the whole response, scores it, marks it complete
// and its invitation answered, and records the consent given, in the
// caller's transaction. A problem left on an earlier page (possible only
// when the survey changed between pages) sends the person back to it.
func (s *Store) complete(ctx context.Context, tx *sql.Tx, r *Response, def *survey.Definition, merged survey.Answers,
	consent *Consent, now time.Time, out *Outcome) error {
	before := make(map[string]bool, len(merged))
	for id := range merged {
		before[id] = true
	}
	if errs := survey.Validate(def, merged); len(errs) > 0 {
		page := len(def.Pages)
		for id := range errs {
			if _, p, ok := def.Question(id); ok && p < page {
				page = p
			}
		}
		r.Page = page
		if err := s.moveTo(ctx, tx, r, merged, now, out, true); err != nil {
			return err
		}
		out.Errors = map[string]error{}
		for id, e := range errs {
			if _, p, _ := def.Question(id); p == page {
				out.Errors[id] = e
			}
		}
		return nil
	}
	// Validate dropped the answers to questions now hidden: drop them from
	// storage too.
	for id := range before {
		if _, ok := merged[id]; !ok {
			if _, err := s.in(tx).ExecContext(ctx, qDeleteAnswer, r.TenantID, r.ID, id); err != nil {
				return db.Translate(err)
			}
		}
	}
	r.Scores = survey.Scores(def, merged)
	if err := s.categorise(ctx, tx, r); err != nil {
		return err
	}
	stamp := db.Stamp(now)
	if _, err := s.in(tx).ExecContext(ctx, qComplete, r.TenantID, r.ID, len(def.Pages), stamp); err != nil {
		return db.Translate(err)
	}
	p, err := s.pending(ctx, tx, r.TenantID)
	if err != nil {
		return err
	}
	p.moved = append(p.moved, r.ID)
	p.events = append(p.events, feed.Event{Type: feed.ResponseCompleted, ObjectID: r.ID, ContactID: r.ContactID, At: now})
	if r.InvitationID != "" {
		p.answered = append(p.answered, r.InvitationID)
		if now.After(p.at) {
			p.at = now
		}
	}
	if consent != nil && r.ContactID != "" {
		rec, err := s.consents.Record(ctx, tx, privacy.Receipt{TenantID: r.TenantID, SubjectID: r.ContactID, Purpose: consent.Purpose,
			ResponseID: r.ID, NoticeID: r.NoticeID, NoticeHash: r.NoticeHash, Wording: consent.Wording, Language: consent.Language,
			Channel: privacy.ChannelWeb, Method: privacy.MethodCheckbox, GivenAt: now})
		if err != nil {
			return fmt.Errorf("consent: %w", err)
		}
		out.ConsentID = rec.ID
	}
	r.Status, r.Page, r.CompletedAt, r.UpdatedAt = StatusComplete, len(def.Pages), db.Time(stamp), db.Time(stamp)
	r.Answers = merged
	out.Response, out.Completed = *r, true
	return nil
}

// categorise stores the category of each scored answer (NPS, CSAT, CES),
// all in one statement.
func (s *Store) categorise(ctx context.Context, tx *sql.Tx, r *Response) error {
	var when strings.Builder
	var args []any
	var ids []string
	a := s.db.Dialect.Arg
	for _, sc := range r.Scores {
		if sc.Category == "" {
			continue
		}
		fmt.Fprintf(&when, " WHEN %s THEN %s", a(len(args)+1), a(len(args)+2))
		args = append(args, sc.QuestionID, string(sc.Category))
		ids = append(ids, sc.QuestionID)
	}
	if len(ids) == 0 {
		return nil
	}
	args = append(args, r.TenantID, r.ID)
	where := fmt.Sprintf(" END WHERE tenant_id = %s AND response_id = %s AND question_id IN ", a(len(args)-1), a(len(args)))
	in, args := db.InList(s.db.Dialect, args, ids)
	// The text depends only on the number of scored questions: few texts,
	// each kept prepared.
	_, err := s.in(tx).ExecContext(ctx, `/* response.Store.complete */ UPDATE response_answers SET category = CASE question_id`+
		when.String()+where+in, args...)
	return db.Translate(err)
}
