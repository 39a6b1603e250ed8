package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"time"

	"avis/internal/contact"
	"avis/internal/dispatch"
	"avis/internal/privacy"
)

// meView is everything the person's page shows.
type meView struct {
	lang      string
	Token     string
	FormToken string
	TenantID  string
	Company   string
	// Via is "invitation" or "link"; ExpiresAt is when a link stops.
	Via       string
	ExpiresAt time.Time

	Contact     contact.Contact
	Attributes  []meAttribute
	Bases       []contact.Basis
	Invitations []meInvitation
	Answers     []meResponse
	Consents    []meConsent
	Requests    []privacy.Request

	// Suppression state per channel.
	HasEmail, HasPhone             bool
	EmailSuppressed, SMSSuppressed bool
	EmailReason, SMSReason         string
	RestrictedAt                   time.Time

	// Links to the information notice, the publication terms and the
	// company's own policy.
	NoticeURL, PublicationURL, PrivacyURL string

	// After an action: what was done, or the form's errors by field with
	// what was typed.
	Done   string
	Errors map[string]string
	Form   meForm
}

// meForm is the correction form as typed.
type meForm struct{ FirstName, LastName, Email string }

// meAttribute is one segment attribute of the person.
type meAttribute struct {
	Name     string `json:"name"`
	Label    string `json:"label"`
	Value    string `json:"value"`
	Personal bool   `json:"personal"`
}

// meInvitation is one invitation with its step's name.
type meInvitation struct {
	dispatch.Invitation
	Step string
}

// meResponse is one response of the person, question by question.
type meResponse struct {
	ID, SurveyID, Status, Language string
	SurveyVersion                  int
	StartedAt, CompletedAt         time.Time
	Items                          []meAnswer
	// TextErased says free texts exist but can no longer be read.
	TextErased bool
}

// meAnswer is one answered question.
type meAnswer struct {
	QuestionID, Question, Answer string
}

// meConsent is one consent receipt of the person.
type meConsent struct {
	ID, Purpose, Wording, Language, Channel, Method, ResponseID, NoticeID string
	GivenAt, WithdrawnAt                                                  time.Time
	Standing                                                              bool
}

// meData reads everything the tenant holds on the person.
func (s *Server) meData(ctx context.Context, sub meSubject) (*meView, error) {
	rc, err := s.Contacts.Recipient(ctx, nil, sub.TenantID, sub.ContactID)
	if err != nil {
		if isGone(err) {
			return nil, errMeErased
		}
		return nil, err
	}
	d := &meView{lang: sub.Lang, Token: sub.Token, FormToken: meFormToken(sub), TenantID: sub.TenantID, Via: sub.Via, ExpiresAt: sub.ExpiresAt,
		Contact: rc.Contact, HasEmail: rc.Reach.HasEmail, HasPhone: rc.Reach.HasPhone}
	if d.lang == "" {
		d.lang = rc.Language
	}
	d.Form = meForm{FirstName: rc.FirstName, LastName: rc.LastName, Email: rc.Email}
	if b := s.brandFor(ctx, sub.TenantID); b != nil {
		d.Company = b.Name
	}
	decl, err := s.Contacts.Attributes(ctx, sub.TenantID)
	if err != nil {
		return nil, err
	}
	for _, name := range sortedKeys(rc.Attributes) {
		a := meAttribute{Name: name, Label: name, Value: rc.Attributes[name]}
		if dc, ok := decl[name]; ok {
			a.Label, a.Personal = dc.Label, dc.Personal
		}
		d.Attributes = append(d.Attributes, a)
	}
	if d.Bases, err = s.Contacts.Bases(ctx, sub.TenantID, sub.ContactID); err != nil {
		return nil, err
	}
	invs, err := s.Dispatch.InvitationsOf(ctx, sub.TenantID, sub.ContactID)
	if err != nil {
		return nil, err
	}
	steps := map[string]string{}
	if len(invs) > 0 {
		js, err := s.Journeys.Journeys(ctx, sub.TenantID)
		if err != nil {
			return nil, err
		}
		for _, j := range js {
			for _, st := range j.Steps {
				steps[st.ID] = st.Name
			}
		}
	}
	for _, inv := range invs {
		d.Invitations = append(d.Invitations, meInvitation{Invitation: inv, Step: steps[inv.StepID]})
	}
	if d.Answers, err = s.meAnswers(ctx, sub, d.lang); err != nil {
		return nil, err
	}
	if d.Consents, err = s.meConsents(ctx, sub); err != nil {
		return nil, err
	}
	if d.HasEmail {
		if d.EmailSuppressed, d.EmailReason, err = privacy.Suppressed(ctx, s.DB.R, sub.TenantID, rc.Reach.EmailIndex); err != nil {
			return nil, err
		}
	}
	if d.HasPhone {
		if d.SMSSuppressed, d.SMSReason, err = privacy.Suppressed(ctx, s.DB.R, sub.TenantID, rc.Reach.PhoneIndex); err != nil {
			return nil, err
		}
	}
	if d.RestrictedAt, err = s.Contacts.Restriction(ctx, sub.TenantID, sub.ContactID); err != nil {
		return nil, err
	}
	if d.Requests, err = s.Requests.List(ctx, sub.TenantID, privacy.RequestFilter{SubjectID: sub.ContactID, Limit: 100}); err != nil {
		return nil, err
	}
	d.NoticeURL = "/legal/" + sub.TenantID + "/notice"
	d.PublicationURL = "/legal/" + sub.TenantID + "/publication"
	if p, err := s.Notices.Profile(ctx, sub.TenantID); err == nil {
		d.PrivacyURL = p.PolicyURL
	} else {
		return nil, err
	}
	return d, nil
}

// meExport is the portable copy of the person's data (GDPR 15, 20).
type meExport struct {
	Format      string             `json:"format"`
	GeneratedAt time.Time          `json:"generated_at"`
	Controller  meExportCompany    `json:"controller"`
	Contact     meExportContact    `json:"contact"`
	Attributes  []meAttribute      `json:"attributes"`
	Sources     []meExportSource   `json:"sources"`
	Invitations []meExportInv      `json:"invitations"`
	Answers     []meExportResponse `json:"answers"`
	Consents    []meExportConsent  `json:"consents"`
	// Reviews are the published reviews; none exist yet.
	Reviews      []any                         `json:"reviews"`
	Suppressions map[string]meExportSuppressed `json:"suppressions"`
	Restriction  *time.Time                    `json:"restricted_since"`
	Processing   []meExportProcessing          `json:"processing"`
	Recipients   []string                      `json:"recipients"`
	// Transfers are the company's systems (webhook endpoints) that were
	// sent data about the person, as the delivery log shows them.
	Transfers []meExportTransfer `json:"transfers"`
	Requests  []meExportRequest  `json:"requests"`
}

// meExportTransfer is one recipient system that received the person's
// data: its host, what it was told, and when.
type meExportTransfer struct {
	Recipient string    `json:"recipient"`
	Events    []string  `json:"events"`
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
}

type meExportCompany struct {
	Name              string `json:"name"`
	InformationNotice string `json:"information_notice"`
	PublicationTerms  string `json:"publication_terms"`
	PrivacyPolicy     string `json:"privacy_policy,omitempty"`
}

type meExportContact struct {
	ID         string    `json:"id"`
	ExternalID string    `json:"external_id"`
	FirstName  string    `json:"first_name"`
	LastName   string    `json:"last_name"`
	Email      string    `json:"email"`
	Phone      string    `json:"phone"`
	Language   string    `json:"language"`
	Country    string    `json:"country"`
	TimeZone   string    `json:"time_zone"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

type meExportSource struct {
	Basis      string    `json:"basis"`
	Purpose    string    `json:"purpose"`
	SourceKind string    `json:"source_kind"`
	SourceID   string    `json:"source_id"`
	RecordedAt time.Time `json:"recorded_at"`
}

type meExportInv struct {
	ID            string     `json:"id"`
	Step          string     `json:"step"`
	SurveyID      string     `json:"survey_id"`
	Channel       string     `json:"channel"`
	Status        string     `json:"status"`
	Reason        string     `json:"reason,omitempty"`
	Language      string     `json:"language"`
	CreatedAt     time.Time  `json:"created_at"`
	DueAt         *time.Time `json:"due_at"`
	SentAt        *time.Time `json:"sent_at"`
	DeliveredAt   *time.Time `json:"delivered_at"`
	AnsweredAt    *time.Time `json:"answered_at"`
	ExpiresAt     *time.Time `json:"expires_at"`
	RemindersSent int        `json:"reminders_sent"`
}

type meExportResponse struct {
	ID            string           `json:"id"`
	SurveyID      string           `json:"survey_id"`
	SurveyVersion int              `json:"survey_version"`
	Status        string           `json:"status"`
	Language      string           `json:"language"`
	StartedAt     time.Time        `json:"started_at"`
	CompletedAt   *time.Time       `json:"completed_at"`
	Answers       []meExportAnswer `json:"answers"`
	TextErased    bool             `json:"written_answers_erased"`
}

type meExportAnswer struct {
	QuestionID string `json:"question_id"`
	Question   string `json:"question"`
	Answer     string `json:"answer"`
}

type meExportConsent struct {
	ID          string     `json:"receipt_id"`
	Purpose     string     `json:"purpose"`
	Wording     string     `json:"wording"`
	Language    string     `json:"language"`
	Channel     string     `json:"channel"`
	Method      string     `json:"method"`
	ResponseID  string     `json:"response_id,omitempty"`
	NoticeID    string     `json:"notice_id,omitempty"`
	GivenAt     time.Time  `json:"given_at"`
	WithdrawnAt *time.Time `json:"withdrawn_at"`
	Standing    bool       `json:"standing"`
}

type meExportSuppressed struct {
	Suppressed bool   `json:"suppressed"`
	Reason     string `json:"reason,omitempty"`
}

type meExportProcessing struct {
	Data       string   `json:"data"`
	Categories []string `json:"categories"`
	Purposes   []string `json:"purposes"`
	Basis      string   `json:"legal_basis"`
	Retention  string   `json:"retention"`
}

type meExportRequest struct {
	ID          string     `json:"id"`
	Kind        string     `json:"kind"`
	Channel     string     `json:"channel"`
	ReceivedAt  time.Time  `json:"received_at"`
	DueAt       time.Time  `json:"due_at"`
	CompletedAt *time.Time `json:"completed_at"`
	Outcome     string     `json:"outcome"`
}

// meTables are the tables that hold something about a person, in the
// order of the export, with what the export calls them.
var meTables = []struct{ table, name string }{
	{"contacts", "contact"},
	{"contact_bases", "sources"},
	{"invitations", "invitations"},
	{"outbox_messages", "messages"},
	{"responses", "answers"},
	{"response_answers", "answers"},
	{"consents", "consents"},
	{"suppressions", "suppressions"},
	{"subject_requests", "requests"},
}

// meProcessing describes, from the data map, what is kept about a person,
// why, on which basis and for how long.
func meProcessing() []meExportProcessing {
	var out []meExportProcessing
	for _, t := range meTables {
		p := meExportProcessing{Data: t.name + " (" + t.table + ")"}
		cats, purposes := map[string]bool{}, map[string]bool{}
		for _, f := range privacy.Map {
			if f.Table != t.table {
				continue
			}
			if f.Category != privacy.Secret {
				cats[string(f.Category)] = true
			}
			purposes[f.Purpose] = true
			p.Basis, p.Retention = string(f.Basis), privacy.Retentions[f.Retention]
		}
		if len(purposes) == 0 {
			continue
		}
		p.Categories, p.Purposes = sortedKeys(cats), sortedKeys(purposes)
		out = append(out, p)
	}
	return out
}

// nonNil makes an empty list show as [] in JSON, not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// meExport serves the download of the person's data.
func (s *Server) meExport(w http.ResponseWriter, r *http.Request, sub meSubject, d *meView) {
	x := meExport{Format: "avis.me.v1", GeneratedAt: time.Now().UTC().Truncate(time.Second),
		Controller: meExportCompany{Name: d.Company, InformationNotice: s.absURL(r, d.NoticeURL), PublicationTerms: s.absURL(r, d.PublicationURL),
			PrivacyPolicy: d.PrivacyURL},
		Contact: meExportContact{ID: d.Contact.ID, ExternalID: d.Contact.ExternalID, FirstName: d.Contact.FirstName, LastName: d.Contact.LastName,
			Email: d.Contact.Email, Phone: d.Contact.Phone, Language: d.Contact.Language, Country: d.Contact.Country, TimeZone: d.Contact.TimeZone,
			CreatedAt: d.Contact.CreatedAt, UpdatedAt: d.Contact.UpdatedAt},
		Attributes: nonNil(d.Attributes), Answers: []meExportResponse{}, Consents: []meExportConsent{}, Reviews: []any{},
		Sources: []meExportSource{}, Invitations: []meExportInv{},
		Suppressions: map[string]meExportSuppressed{}, Restriction: timePtr(d.RestrictedAt), Processing: meProcessing(),
		Recipients: []string{
			d.Company + " (controller): its staff who read results, and its customer-relationship software that receives them",
			"the operator of this avis server (joint controller), which stores and processes the data for " + d.Company,
			"the email relay and SMS provider that carry messages to you (processors)",
		}, Transfers: []meExportTransfer{}}
	if s.Webhooks != nil {
		rs, err := s.Webhooks.RecipientsOf(r.Context(), sub.TenantID, sub.ContactID)
		if err != nil {
			s.meState(w, r, sub, err)
			return
		}
		for _, rc := range rs {
			host := rc.URL
			if u, err := url.Parse(rc.URL); err == nil && u.Host != "" {
				host = u.Host // the system, not the path or a token in it
			}
			x.Transfers = append(x.Transfers, meExportTransfer{Recipient: host, Events: rc.Events, First: rc.First.UTC(), Last: rc.Last.UTC()})
		}
	}
	for _, a := range d.Answers {
		xr := meExportResponse{ID: a.ID, SurveyID: a.SurveyID, SurveyVersion: a.SurveyVersion, Status: a.Status, Language: a.Language,
			StartedAt: a.StartedAt, CompletedAt: timePtr(a.CompletedAt), Answers: []meExportAnswer{}, TextErased: a.TextErased}
		for _, it := range a.Items {
			xr.Answers = append(xr.Answers, meExportAnswer(it))
		}
		x.Answers = append(x.Answers, xr)
	}
	for _, c := range d.Consents {
		x.Consents = append(x.Consents, meExportConsent{ID: c.ID, Purpose: c.Purpose, Wording: c.Wording, Language: c.Language, Channel: c.Channel,
			Method: c.Method, ResponseID: c.ResponseID, NoticeID: c.NoticeID, GivenAt: c.GivenAt, WithdrawnAt: timePtr(c.WithdrawnAt), Standing: c.Standing})
	}
	for _, b := range d.Bases {
		x.Sources = append(x.Sources, meExportSource{Basis: b.Basis, Purpose: b.Purpose, SourceKind: b.SourceKind, SourceID: b.SourceID, RecordedAt: b.RecordedAt})
	}
	for _, inv := range d.Invitations {
		x.Invitations = append(x.Invitations, meExportInv{ID: inv.ID, Step: inv.Step, SurveyID: inv.SurveyID, Channel: inv.Channel, Status: inv.Status,
			Reason: inv.Reason, Language: inv.Language, CreatedAt: inv.CreatedAt, DueAt: timePtr(inv.DueAt), SentAt: timePtr(inv.SentAt),
			DeliveredAt: timePtr(inv.DeliveredAt), AnsweredAt: timePtr(inv.AnsweredAt), ExpiresAt: timePtr(inv.ExpiresAt), RemindersSent: inv.RemindersSent})
	}
	if d.HasEmail {
		x.Suppressions["email"] = meExportSuppressed{d.EmailSuppressed, d.EmailReason}
	}
	if d.HasPhone {
		x.Suppressions["sms"] = meExportSuppressed{d.SMSSuppressed, d.SMSReason}
	}
	req, err := s.meLog(r.Context(), sub, privacy.RequestExport, privacy.OutcomeDone)
	if err != nil {
		s.meState(w, r, sub, err)
		return
	}
	for _, q := range append([]privacy.Request{req}, d.Requests...) {
		x.Requests = append(x.Requests, meExportRequest{ID: q.ID, Kind: q.Kind, Channel: q.Channel, ReceivedAt: q.ReceivedAt, DueAt: q.DueAt,
			CompletedAt: timePtr(q.CompletedAt), Outcome: q.Outcome})
	}
	sort.SliceStable(x.Requests, func(i, j int) bool { return x.Requests[i].ID < x.Requests[j].ID })
	b, err := json.MarshalIndent(x, "", "  ")
	if err != nil {
		s.meState(w, r, sub, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="my-data-%s.json"`, time.Now().UTC().Format("2006-01-02")))
	h.Set("Cache-Control", "no-store")
	w.Write(append(b, '\n'))
}

// absURL makes a path absolute with avis's public URL (or the request's
// host when none is configured).
func (s *Server) absURL(r *http.Request, path string) string {
	if base := s.Config.BaseURL; base != "" {
		return trimSlash(base) + path
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}
