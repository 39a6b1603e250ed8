package crmsync

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"avis/internal/contact"
	"avis/internal/db"
	"avis/internal/dispatch"
	"avis/internal/feed"
	"avis/internal/journey"
	"avis/internal/privacy"
	"avis/internal/response"
	"avis/internal/vault"
)

// StoreData builds payloads from avis's stores (the DataSource of
// `avis serve`). Least data by default: ids, the contact's external id,
// survey, step, scores, choices, categories and times; free-text answers
// and the contact's name, email and phone only for an endpoint that has
// them switched on.
type StoreData struct {
	Responses   *response.Store
	Invitations *dispatch.Store
	Contacts    *contact.Store
	Journeys    *journey.Store
	DB          *db.DB
}

// ResponseData is the data of response.created and response.completed.
type ResponseData struct {
	ResponseID    string                `json:"response_id"`
	ExternalID    string                `json:"external_id,omitempty"`
	SurveyID      string                `json:"survey_id"`
	SurveyVersion int                   `json:"survey_version"`
	StepID        string                `json:"step_id,omitempty"`
	StepName      string                `json:"step_name,omitempty"`
	InvitationID  string                `json:"invitation_id,omitempty"`
	Status        string                `json:"status"`
	Language      string                `json:"language,omitempty"`
	Scores        []ScoreData           `json:"scores"`
	Answers       map[string]AnswerData `json:"answers"`
	StartedAt     time.Time             `json:"started_at"`
	CompletedAt   *time.Time            `json:"completed_at,omitempty"`
	// Contact is personal data: only for endpoints that switched it on.
	Contact *ContactData `json:"contact,omitempty"`
}

// ScoreData is one scored answer (NPS, CSAT, CES, rating).
type ScoreData struct {
	QuestionID string `json:"question_id"`
	Type       string `json:"type"`
	Value      int    `json:"value"`
	Category   string `json:"category,omitempty"`
}

// AnswerData is one answer: a number, choices, yes/no, or (personal data,
// only when switched on) a free text.
type AnswerData struct {
	Number  *int     `json:"number,omitempty"`
	Choices []string `json:"choices,omitempty"`
	Bool    *bool    `json:"bool,omitempty"`
	Text    string   `json:"text,omitempty"`
}

// ContactData is the contact's personal data, sent only to endpoints that
// switched it on.
type ContactData struct {
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Email     string `json:"email,omitempty"`
	Phone     string `json:"phone,omitempty"`
}

// InvitationData is the data of invitation.bounced.
type InvitationData struct {
	InvitationID string       `json:"invitation_id"`
	ExternalID   string       `json:"external_id,omitempty"`
	SurveyID     string       `json:"survey_id"`
	StepID       string       `json:"step_id,omitempty"`
	Channel      string       `json:"channel"`
	Status       string       `json:"status"`
	Reason       string       `json:"reason,omitempty"`
	Contact      *ContactData `json:"contact,omitempty"`
}

// UnsubscribedData is the data of contact.unsubscribed: the channels the
// person is now opted out of.
type UnsubscribedData struct {
	ExternalID string       `json:"external_id,omitempty"`
	Channels   []string     `json:"channels"`
	Contact    *ContactData `json:"contact,omitempty"`
}

// EventData implements DataSource.
func (s StoreData) EventData(ctx context.Context, tenantID string, ev feed.Event, personal bool) (any, error) {
	switch ev.Type {
	case feed.ResponseCreated, feed.ResponseCompleted:
		return s.response(ctx, tenantID, ev, personal)
	case feed.InvitationBounced:
		inv, err := s.Invitations.Invitation(ctx, tenantID, ev.ObjectID)
		if errors.Is(err, db.ErrNotFound) {
			return nil, ErrObjectGone
		}
		if err != nil {
			return nil, err
		}
		ext, c, err := s.contact(ctx, tenantID, inv.ContactID, ev.ExternalID, personal)
		if err != nil {
			return nil, err
		}
		return InvitationData{InvitationID: inv.ID, ExternalID: ext, SurveyID: inv.SurveyID, StepID: inv.StepID, Channel: inv.Channel,
			Status: inv.Status, Reason: inv.Reason, Contact: c}, nil
	case feed.ContactUnsubscribed:
		ext, c, err := s.contact(ctx, tenantID, ev.ObjectID, ev.ExternalID, personal)
		if err != nil {
			return nil, err
		}
		chans, err := s.optedOut(ctx, tenantID, ev.ObjectID)
		if err != nil {
			return nil, err
		}
		return UnsubscribedData{ExternalID: ext, Channels: chans, Contact: c}, nil
	}
	return map[string]string{"id": ev.ObjectID}, nil
}

// contact returns the contact's external id (fresh, so that a correction
// travels) and, when personal, its decrypted details. An erased contact
// is ErrObjectGone.
func (s StoreData) contact(ctx context.Context, tenantID, contactID, known string, personal bool) (string, *ContactData, error) {
	if contactID == "" {
		return "", nil, nil
	}
	ext, err := s.Contacts.ExternalID(ctx, tenantID, contactID)
	if errors.Is(err, db.ErrNotFound) {
		return "", nil, ErrObjectGone
	}
	if err != nil {
		return known, nil, err
	}
	if !personal {
		return ext, nil, nil
	}
	r, err := s.Contacts.Recipient(ctx, nil, tenantID, contactID)
	if errors.Is(err, db.ErrNotFound) || errors.Is(err, vault.ErrErased) {
		return "", nil, ErrObjectGone
	}
	if err != nil {
		return "", nil, err
	}
	return ext, &ContactData{FirstName: r.FirstName, LastName: r.LastName, Email: r.Email, Phone: r.Phone}, nil
}

// optedOut lists the channels the contact's addresses are suppressed on.
func (s StoreData) optedOut(ctx context.Context, tenantID, contactID string) ([]string, error) {
	reach, err := s.Contacts.Reachability(ctx, nil, tenantID, contactID)
	if errors.Is(err, db.ErrNotFound) {
		return nil, ErrObjectGone
	}
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, c := range []struct {
		name string
		ix   []byte
	}{{dispatch.Email, reach.EmailIndex}, {dispatch.SMS, reach.PhoneIndex}} {
		if len(c.ix) == 0 {
			continue
		}
		on, _, err := privacy.Suppressed(ctx, s.DB.R, tenantID, c.ix)
		if err != nil {
			return nil, fmt.Errorf("opt-outs: %w", err)
		}
		if on {
			out = append(out, c.name)
		}
	}
	return out, nil
}

func (s StoreData) response(ctx context.Context, tenantID string, ev feed.Event, personal bool) (any, error) {
	get := s.Responses.GetWithoutTexts
	if personal {
		get = s.Responses.Get
	}
	r, err := get(ctx, tenantID, ev.ObjectID)
	if errors.Is(err, db.ErrNotFound) {
		return nil, ErrObjectGone
	}
	if err != nil {
		return nil, err
	}
	if ev.ContactID != "" && r.ContactID == "" {
		return nil, ErrObjectGone // the person was erased since
	}
	out := ResponseData{ResponseID: r.ID, SurveyID: r.SurveyID, SurveyVersion: r.SurveyVersion, StepID: r.StepID,
		InvitationID: r.InvitationID, Status: string(r.Status), Language: r.Language, Scores: []ScoreData{},
		Answers: map[string]AnswerData{}, StartedAt: r.StartedAt.UTC()}
	if !r.CompletedAt.IsZero() {
		t := r.CompletedAt.UTC()
		out.CompletedAt = &t
	}
	if r.StepID != "" && s.Journeys != nil {
		if out.StepName, err = s.Journeys.StepName(ctx, tenantID, r.StepID); err != nil && !errors.Is(err, db.ErrNotFound) {
			return nil, err
		}
	}
	if out.ExternalID, out.Contact, err = s.contact(ctx, tenantID, r.ContactID, ev.ExternalID, personal); err != nil {
		return nil, err
	}
	for _, sc := range r.Scores {
		out.Scores = append(out.Scores, ScoreData{QuestionID: sc.QuestionID, Type: string(sc.Type), Value: sc.Value, Category: string(sc.Category)})
	}
	sort.Slice(out.Scores, func(i, j int) bool { return out.Scores[i].QuestionID < out.Scores[j].QuestionID })
	for qid, a := range r.Answers {
		d := AnswerData{Number: a.Number, Choices: a.Choices, Bool: a.Bool}
		if a.Text != "" {
			if !personal {
				continue
			}
			d.Text = a.Text
		}
		out.Answers[qid] = d
	}
	return out, nil
}
