// Package response keeps the answers people give to surveys: one response
// per invitation (or per visit of a survey's public link), saved page by
// page so that the same link resumes where the person stopped, completed
// once, whatever is submitted twice.
//
// Scores and choices are stored in clear: they are not personal and stay as
// anonymous statistics after the person is erased. Free-text answers are
// personal data, sealed with the vault under the contact's key (erasing the
// contact shreds them), or under a key of the response itself for an
// anonymous response.
package response

import (
	"errors"
	"log/slog"
	"time"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/feed"
	"avis/internal/privacy"
	"avis/internal/survey"
	"avis/internal/vault"
)

// Status is where a response is.
type Status string

// Response statuses.
const (
	// StatusPartial responses have answers to some pages.
	StatusPartial Status = "partial"
	// StatusComplete responses were validated as a whole and scored; they
	// never change again (but for erasure).
	StatusComplete Status = "complete"
)

// Sources of a response.
const (
	// SourceInvitation is a response through a personal invitation link.
	SourceInvitation = "invitation"
	// SourcePublic is an anonymous response through a survey's public link.
	SourcePublic = "public"
)

// ErrErased says the person's data was erased: their answers can no longer
// be stored or read.
var ErrErased = errors.New("the person's data was erased")

// Response is one person's answers to one version of a survey.
type Response struct {
	ID, TenantID, SurveyID string
	// SurveyVersion is the version of the survey answered.
	SurveyVersion int
	// InvitationID, ContactID and StepID are empty for a public-link
	// response, and after the person was erased.
	InvitationID, ContactID, StepID string
	// Source is SourceInvitation or SourcePublic.
	Source string
	// Language is the language the survey was shown in.
	Language string
	// NoticeID and NoticeHash name the information notice shown.
	NoticeID, NoticeHash string
	Status               Status
	// Page is the page to show next (from 0); the number of pages once
	// complete.
	Page                              int
	StartedAt, UpdatedAt, CompletedAt time.Time
	// Answers are the answers by question id, free texts opened.
	Answers survey.Answers
	// Scores are the scored answers (nps, csat, ces, rating), in question
	// order of storage; their categories are set once complete.
	Scores []survey.Score
	// TextErased is set when free-text answers exist but can no longer be
	// opened (the person's key was shredded).
	TextErased bool
	// rows lists the questions with a stored answer row, as read with the
	// answers (so that a page sent deletes only rows that exist).
	rows map[string]bool
}

// Complete reports whether the response is complete.
func (r Response) Complete() bool { return r.Status == StatusComplete }

// Store reads and writes responses.
type Store struct {
	db       *db.DB
	vault    *vault.Vault
	audit    *audit.Log
	consents *privacy.Consents
	log      *slog.Logger
	now      func() time.Time
	feed     *feed.Feed
	// group commits concurrent submissions together.
	group *db.GroupCommit
	// rq and wq keep the answer path's queries prepared (read pool and
	// writer).
	rq, wq *db.Stmts
	// qClaim and qClaimInvitation are the claims in the dialect (see
	// claimQueries).
	qClaim, qClaimInvitation string
}

// Options tune a Store.
type Options struct {
	// Now replaces the clock in tests.
	Now func() time.Time
	// Feed receives the response.created and response.completed events;
	// nil for a feed without hooks.
	Feed *feed.Feed
}

// NewStore returns a Store. Consents given with a response are written to
// the ledger c.
func NewStore(d *db.DB, v *vault.Vault, a *audit.Log, c *privacy.Consents, log *slog.Logger, o Options) *Store {
	s := &Store{db: d, vault: v, audit: a, consents: c, log: log, now: o.Now, feed: o.Feed, rq: db.NewStmts(d.R), wq: db.NewStmts(d.W)}
	s.qClaim, s.qClaimInvitation = claimQueries(d.Dialect)
	if s.feed == nil {
		s.feed = feed.New(d)
	}
	// A page with problems returns errNothing having written nothing: it
	// is that submission's outcome and the others' commit goes on.
	s.group = db.NewGroupCommit(d, func(err error) bool { return errors.Is(err, errNothing) })
	if d.Dialect == db.Postgres {
		// Submissions of different people need not wait for each other:
		// several groups at once, meeting only at the end of their
		// transactions, where each takes the tenant's feed counter.
		s.group.Parallel(4)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Subject is the vault subject whose key seals a response's free texts:
// the contact, or the response itself when anonymous.
func Subject(contactID, responseID string) string {
	if contactID != "" {
		return contactID
	}
	return responseID
}

// TextField is the vault field of one free-text answer: the additional
// data binds the ciphertext to its response and question. Whoever opens
// a stored answer (exports, webhooks) names it with this.
func TextField(responseID, questionID string) string {
	return "answer:" + responseID + ":" + questionID
}
