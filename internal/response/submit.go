package response

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"avis/internal/db"
	"avis/internal/dispatch"
	"avis/internal/feed"
	"avis/internal/survey"
	"avis/internal/vault"
)

// Start is what a new response is made of.
type Start struct {
	TenantID, SurveyID string
	SurveyVersion      int
	// InvitationID, ContactID and StepID come from the invitation; empty
	// for a public-link response.
	InvitationID, ContactID, StepID string
	Language                        string
	NoticeID, NoticeHash            string
	// ResumeToken is the public link's resume token (only its hash is
	// stored); empty for an invitation.
	ResumeToken string
}

// Consent is a consent the person gave with the last page: the exact
// wording of the checkbox they ticked, in the language shown.
type Consent struct {
	Purpose  string
	Wording  string
	Language string
}

// Submission is one page of answers sent by the person.
type Submission struct {
	// ResponseID continues a response; empty to find the invitation's
	// response (Start.InvitationID) or to start a public-link one.
	ResponseID string
	// Start makes the response when there is none yet.
	Start Start
	// Def is the survey version the response answers.
	Def *survey.Definition
	// Page is the page answered (from 0).
	Page int
	// Answers are the answers given on the page; answers to questions of
	// other pages are ignored.
	Answers survey.Answers
	// Back asks for the previous page: the valid answers of this page are
	// kept, problems are not reported.
	Back bool
	// Consent, when the person ticked it, is recorded if this submission
	// completes the response.
	Consent *Consent
	// Shown lists the questions of the page the person saw, when known
	// (nil: those visible with the stored answers). A question revealed by
	// an answer on its own page (a comment asked of detractors, say) is not
	// reported missing: the page is shown again with it, without
	// JavaScript.
	Shown []string
}

// Outcome is what a submission did.
type Outcome struct {
	// Response is the response after the submission, answers included.
	Response Response
	// Errors are the problems of the page by question id; when set nothing
	// was stored and Response.Page is the page to show again.
	Errors map[string]error
	// Completed is true when this submission completed the response.
	Completed bool
	// AlreadyComplete is true when the response was complete before: the
	// submission changed nothing (a double click, a refresh, a replay).
	AlreadyComplete bool
	// ConsentID is the receipt of the consent recorded, if any.
	ConsentID string
	// Revealed lists the questions of the page that the answers just given
	// revealed: the page is to be shown again with them.
	Revealed []string
}

// errNothing rolls back a submission that stores nothing.
var errNothing = errors.New("nothing to store")

// ResumeHash is what the responses table keeps of a public link's resume
// token.
func ResumeHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Submit stores one page of answers, durably, and moves the response to
// the next page with a visible question; after the last page it validates
// the whole response, scores it, marks the invitation answered and records
// the consent given, all in one transaction. A page with problems stores
// nothing and returns them. A complete response is never changed: its
// submissions return AlreadyComplete.
//
// Concurrent submissions share transactions (group commit, see
// db.GroupCommit): Submit returns only once the transaction holding its
// page committed, and a submission that fails fails alone.
func (s *Store) Submit(ctx context.Context, sub Submission) (Outcome, error) {
	def := sub.Def
	if def == nil || sub.Page < 0 || sub.Page >= len(def.Pages) {
		return Outcome{}, errors.New("submit answers: no such page")
	}
	if err := ctx.Err(); err != nil {
		return Outcome{}, fmt.Errorf("submit answers: %w", err)
	}
	// The work runs in a transaction shared with other callers: the end of
	// this caller's request must not cancel it halfway (and fail the
	// others' work with it).
	ctx = context.WithoutCancel(ctx)
	s.prepare(ctx)
	var out Outcome
	err := s.group.Do(func(tx *sql.Tx) (err error) {
		defer func() {
			// A panic would end the goroutine that commits for everyone.
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		for range 3 {
			out = Outcome{}
			if err = s.submitTx(ctx, tx, sub, &out); !errors.Is(err, errRaced) {
				return err
			}
		}
		return err
	})
	if err != nil && !errors.Is(err, errNothing) {
		return Outcome{}, fmt.Errorf("submit answers: %w", err)
	}
	return out, nil
}

// errRaced says that another transaction made the response that a
// submission was about to make: the submission runs again and continues it.
var errRaced = errors.New("the response was made meanwhile")

// submitTx is Submit's work in the transaction tx. When it returns
// errNothing it wrote nothing.
func (s *Store) submitTx(ctx context.Context, tx *sql.Tx, sub Submission, out *Outcome) error {
	def := sub.Def
	r, fresh, err := s.claim(ctx, tx, sub)
	if err != nil {
		return err
	}
	if r.Complete() {
		out.Response, out.AlreadyComplete = r, true
		return nil
	}
	stored := r.Answers // read by the claim
	if stored == nil {
		stored = survey.Answers{}
	}
	shown := sub.Shown
	if shown == nil {
		for _, q := range def.Pages[sub.Page].Questions {
			if survey.Visible(def, stored, q.ID) {
				shown = append(shown, q.ID)
			}
		}
	}
	merged, onPage := mergePage(def, sub.Page, stored, sub.Answers)
	errs := survey.ValidatePage(def, sub.Page, merged)
	var revealed []string
	for _, q := range def.Pages[sub.Page].Questions {
		if _, answered := merged[q.ID]; !answered && !slices.Contains(shown, q.ID) && survey.Visible(def, merged, q.ID) {
			revealed = append(revealed, q.ID)
			if errors.Is(errs[q.ID], survey.ErrRequired) {
				delete(errs, q.ID)
			}
		}
	}
	if len(errs) > 0 && !sub.Back {
		out.Response, out.Errors = r, errs
		out.Response.Page = sub.Page
		out.Response.Answers = merged
		return errNothing
	}
	for id := range errs {
		delete(merged, id) // going back keeps only the valid answers
	}
	// Where the person goes next does not depend on what is written: a new
	// response is created on that page (one statement less than moving it).
	next, done := sub.Page, false
	switch {
	case sub.Back:
		next = prevPage(def, sub.Page, merged)
	case len(revealed) > 0:
		out.Revealed = revealed
	default:
		var more bool
		if next, more = survey.NextPage(def, sub.Page, merged); !more {
			next, done = 0, true
		}
	}
	now := s.now()
	if fresh {
		r.Page = next
		if err := s.create(ctx, tx, &r, sub.Start); err != nil {
			return err
		}
		p, err := s.pending(ctx, tx, r.TenantID)
		if err != nil {
			return err
		}
		p.events = append(p.events, feed.Event{Type: feed.ResponseCreated, ObjectID: r.ID, ContactID: r.ContactID, At: now})
	}
	if err := s.writePage(ctx, tx, &r, def, onPage, merged, now); err != nil {
		return err
	}
	if done {
		return s.complete(ctx, tx, &r, def, merged, sub.Consent, now, out)
	}
	r.Page = next
	return s.moveTo(ctx, tx, &r, merged, now, out, !fresh)
}

// claim finds the response a submission continues, with its answers, and
// takes its write lock (a row lock on PostgreSQL; SQLite has a single
// writer) so that concurrent submissions of one response run one after the other. When
// there is none yet, it returns a new response, not stored (fresh): create
// stores it once the page is known to be valid, so that a page with
// problems writes nothing.
func (s *Store) claim(ctx context.Context, tx *sql.Tx, sub Submission) (r Response, fresh bool, err error) {
	st := sub.Start
	// One statement takes the lock and reads the row and its answers (a
	// round trip to PostgreSQL each, in a transaction that others share).
	switch {
	case sub.ResponseID != "":
		r, err = s.readJoined(ctx, s.in(tx), true, true, s.qClaim, st.TenantID, sub.ResponseID)
		return r, false, err
	case st.InvitationID != "":
		r, err = s.readJoined(ctx, s.in(tx), true, true, s.qClaimInvitation, st.TenantID, st.InvitationID)
		if !errors.Is(err, db.ErrNotFound) {
			return r, false, err
		}
	case st.ResumeToken == "":
		return Response{}, false, errors.New("a public-link response needs a resume token")
	}
	source := SourcePublic
	if st.InvitationID != "" {
		source = SourceInvitation
	}
	now := db.Time(db.Stamp(s.now()))
	return Response{ID: db.NewID(), TenantID: st.TenantID, SurveyID: st.SurveyID, SurveyVersion: st.SurveyVersion,
		InvitationID: st.InvitationID, ContactID: st.ContactID, StepID: st.StepID, Source: source, Language: st.Language,
		NoticeID: st.NoticeID, NoticeHash: st.NoticeHash, Status: StatusPartial, StartedAt: now, UpdatedAt: now}, true, nil
}

// create stores a response that claim made fresh. It returns errRaced
// when another transaction made the invitation's response meanwhile.
func (s *Store) create(ctx context.Context, tx *sql.Tx, r *Response, st Start) error {
	var inv, resume any
	if r.InvitationID != "" {
		inv = r.InvitationID
	} else {
		resume = ResumeHash(st.ResumeToken)
	}
	res, err := s.in(tx).ExecContext(ctx, qCreate,
		r.TenantID, r.ID, r.SurveyID, r.SurveyVersion, inv, r.ContactID, r.StepID, r.Source, r.Language,
		r.NoticeID, r.NoticeHash, resume, db.Stamp(r.StartedAt), r.Page)
	if err != nil {
		return db.Translate(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return errRaced
	}
	return nil
}

// mergePage returns the stored answers with those of one page replaced by
// the answers given, and the ids of the page's questions.
func mergePage(def *survey.Definition, page int, stored, given survey.Answers) (survey.Answers, []string) {
	merged := survey.Answers{}
	for id, a := range stored {
		merged[id] = a
	}
	var onPage []string
	for _, q := range def.Pages[page].Questions {
		onPage = append(onPage, q.ID)
		delete(merged, q.ID)
		if a, ok := given[q.ID]; ok {
			merged[q.ID] = a
		}
	}
	return merged, onPage
}

// prevPage returns the page before current with a visible question, or
// current when there is none.
func prevPage(def *survey.Definition, current int, answers survey.Answers) int {
	for p := current - 1; p >= 0; p-- {
		for _, q := range def.Pages[p].Questions {
			if survey.Visible(def, answers, q.ID) {
				return p
			}
		}
	}
	return current
}

// writePage replaces the stored answers to the page's questions with
// those in merged (ValidatePage removed the hidden and empty ones).
func (s *Store) writePage(ctx context.Context, tx *sql.Tx, r *Response, def *survey.Definition, onPage []string, merged survey.Answers, now time.Time) error {
	var key *vault.SubjectKey
	var rows [][]any
	for _, qid := range onPage {
		a, ok := merged[qid]
		if !ok && !r.rows[qid] {
			continue // nothing stored to delete (a new response has no rows)
		}
		if !ok {
			if _, err := s.in(tx).ExecContext(ctx, qDeleteAnswer, r.TenantID, r.ID, qid); err != nil {
				return db.Translate(err)
			}
			continue
		}
		q, _, _ := def.Question(qid)
		var number any
		var choices string
		var sealed []byte
		switch {
		case q.Type.Scale():
			number = int64(*a.Number)
		case q.Type == survey.TypeYesNo:
			choices = survey.No
			if *a.Bool {
				choices = survey.Yes
			}
		case q.Type.FreeText():
			if key == nil {
				k, err := s.vault.Subject(ctx, tx, r.TenantID, Subject(r.ContactID, r.ID))
				if errors.Is(err, vault.ErrErased) {
					return ErrErased
				}
				if err != nil {
					return err
				}
				key = k
			}
			sealed = key.SealString(TextField(r.ID, qid), a.Text)
		default:
			choices = strings.Join(a.Choices, ",")
		}
		rows = append(rows, []any{r.TenantID, r.ID, qid, string(q.Type), number, choices, sealed, "", now.UnixMicro()})
	}
	return s.writeAnswers(ctx, tx, rows)
}

// writeAnswers upserts answer rows (the arguments of qWriteAnswer): on
// PostgreSQL all in one statement (one round trip in a transaction that
// others share), on SQLite one prepared statement each.
func (s *Store) writeAnswers(ctx context.Context, tx *sql.Tx, rows [][]any) error {
	if s.db.Dialect != db.Postgres || len(rows) < 2 {
		for _, args := range rows {
			if _, err := s.in(tx).ExecContext(ctx, qWriteAnswer, args...); err != nil {
				return db.Translate(err)
			}
		}
		return nil
	}
	// The text depends only on the number of answers on a page: few
	// texts, each kept prepared.
	ins := db.NewInserter(db.Postgres, s.in(tx), qWriteAnswersHead, 9).WithTail(qWriteAnswersTail)
	for _, args := range rows {
		if err := ins.Add(ctx, args...); err != nil {
			return db.Translate(err)
		}
	}
	return db.Translate(ins.Close(ctx))
}

// moveTo records the page to show next (write: a response created in
// this submission was stored on it already).
func (s *Store) moveTo(ctx context.Context, tx *sql.Tx, r *Response, merged survey.Answers, now time.Time, out *Outcome, write bool) error {
	if write {
		if _, err := s.in(tx).ExecContext(ctx, qMoveTo, r.TenantID, r.ID, r.Page, now.UnixMicro()); err != nil {
			return db.Translate(err)
		}
	}
	p, err := s.pending(ctx, tx, r.TenantID)
	if err != nil {
		return err
	}
	p.moved = append(p.moved, r.ID)
	r.Answers = merged
	out.Response = *r
	return nil
}

// pending is what the submissions of a transaction leave, for one
// tenant, to the end of the transaction: what takes the tenant's feed
// counter, which stays locked until the commit. Groups of submissions
// running side by side on PostgreSQL (GroupCommit.Parallel) thus wait for
// each other only for that end, and the counter is taken twice per
// transaction rather than a few times per submission.
type pending struct {
	moved    []any        // responses changed: they move to the end of the feed
	answered []string     // invitations whose response was completed
	at       time.Time    // when the last of them was completed
	events   []feed.Event // response.created and response.completed, in order
}

// pending returns what tx leaves to its end for the tenant, arranging the
// first time for it to be done there (see finish).
func (s *Store) pending(ctx context.Context, tx *sql.Tx, tenantID string) (*pending, error) {
	v, err := s.group.Once(tx, "pending:"+tenantID, func() (any, error) {
		p := &pending{}
		s.group.Later(tx, func() error { return s.finish(ctx, tx, tenantID, p) })
		return p, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*pending), nil
}

// finish places the responses and invitations that tx changed at one new
// sequence number of the tenant's feed (the rows of a grouped commit share
// it; readers order them by id) and appends the events.
func (s *Store) finish(ctx context.Context, tx *sql.Tx, tenantID string, p *pending) error {
	// One number for the rows, then one per event: taken at once.
	seq, err := feed.Reserve(ctx, s.in(tx), tenantID, 1+len(p.events))
	if err != nil {
		return err
	}
	if len(p.moved) > 0 {
		in, args := db.InList(s.db.Dialect, []any{tenantID, seq}, p.moved)
		if _, err := tx.ExecContext(ctx, `/* response.Store.finish */ UPDATE responses SET sync_seq = $2
			WHERE tenant_id = $1 AND id IN `+in, args...); err != nil {
			return fmt.Errorf("place in the feed: %w", db.Translate(err))
		}
	}
	if len(p.answered) > 0 {
		if _, err := dispatch.MarkAnsweredAt(ctx, tx, tenantID, p.answered, p.at, seq); err != nil {
			return err
		}
	}
	return s.feed.EmitReserved(ctx, tx, tenantID, seq+1, p.events...)
}
