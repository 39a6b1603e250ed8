package crmsync

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"avis/internal/db"
	"avis/internal/feed"
	"avis/internal/response"
)

// exportRow is one row of an export file, with its place in the feed.
type exportRow struct {
	seq   int64
	id    string
	cells []string
	obj   any
}

// exportKind reads one kind of rows for a run.
type exportKind struct {
	name string
	// columns are the CSV header, personal columns last when switched on.
	columns func(personal bool) []string
	// end is the current end of this kind's feed for the tenant.
	end func(ctx context.Context, s *ExportStore, tenantID string) (int64, error)
	// page returns the rows after the row (after, afterID) — after every
	// row of sequence after when afterID is "" — and up to sequence upTo,
	// at most limit, in feed order: by sequence, then id, since the rows of
	// one grouped commit share a sequence number and a page may end among
	// them.
	page func(ctx context.Context, s *ExportStore, sc Schedule, after int64, afterID string, upTo int64, limit int) ([]exportRow, error)
	// mark is the schedule's watermark column of this kind.
	mark string
}

// exportKinds are the kinds by name.
var exportKinds = map[string]exportKind{
	KindResponses: {name: KindResponses, columns: responseColumns, end: responsesEnd, page: responsesPage, mark: "response_seq"},
	KindInvitations: {name: KindInvitations, columns: invitationColumns, end: invitationsEnd, page: invitationsPage,
		mark: "invitation_seq"},
	KindUnsubscribes: {name: KindUnsubscribes, columns: unsubscribeColumns, end: unsubscribesEnd, page: unsubscribesPage,
		mark: "event_seq"},
}

// watermark returns the schedule's watermark of a kind.
func (sc Schedule) watermark(kind string) int64 {
	switch kind {
	case KindResponses:
		return sc.ResponseSeq
	case KindInvitations:
		return sc.InvitationSeq
	default:
		return sc.EventSeq
	}
}

// personalColumns are the columns added when a schedule exports personal
// data.
var personalColumns = []string{"email", "phone", "first_name", "last_name"}

// exportContact is a contact's personal fields in a JSON line.
type exportContact struct {
	Email     string `json:"email"`
	Phone     string `json:"phone"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

func (c *exportContact) cells() []string {
	if c == nil {
		return []string{"", "", "", ""}
	}
	return []string{c.Email, c.Phone, c.FirstName, c.LastName}
}

// stamp writes a stored time as RFC 3339 in UTC, to the second; "" for 0.
func stamp(us int64) string {
	if us == 0 {
		return ""
	}
	return db.Time(us).Format(time.RFC3339)
}

// contactsOf opens the personal fields of the given contacts (erased ones
// are absent from the map), when the schedule exports personal data.
func (s *ExportStore) contactsOf(ctx context.Context, sc Schedule, ids []string) (map[string]*exportContact, error) {
	if !sc.Personal || s.contacts == nil {
		return nil, nil
	}
	uniq := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	if len(uniq) == 0 {
		return nil, nil
	}
	rs, err := s.contacts.Recipients(ctx, nil, sc.TenantID, uniq)
	if err != nil {
		return nil, fmt.Errorf("read the contacts' details: %w", err)
	}
	out := make(map[string]*exportContact, len(rs))
	for id, r := range rs {
		out[id] = &exportContact{Email: r.Email, Phone: r.Phone, FirstName: r.FirstName, LastName: r.LastName}
	}
	return out, nil
}

// Responses.

func responseColumns(personal bool) []string {
	cols := []string{"response_id", "contact_external_id", "survey_id", "survey_version", "step_id", "source", "status",
		"language", "started_at", "completed_at", "updated_at", "nps", "nps_category", "csat", "csat_category", "ces",
		"ces_category", "scores", "choices"}
	if personal {
		cols = append(append(cols, "comments"), personalColumns...)
	}
	return cols
}

// exportScore is one scored answer.
type exportScore struct {
	QuestionID string `json:"question_id"`
	Type       string `json:"type"`
	Value      int64  `json:"value"`
	Category   string `json:"category,omitempty"`
}

// responseLine is a response as a JSON line.
type responseLine struct {
	ResponseID        string              `json:"response_id"`
	ContactExternalID string              `json:"contact_external_id"`
	SurveyID          string              `json:"survey_id"`
	SurveyVersion     int64               `json:"survey_version"`
	StepID            string              `json:"step_id"`
	Source            string              `json:"source"`
	Status            string              `json:"status"`
	Language          string              `json:"language"`
	StartedAt         string              `json:"started_at"`
	CompletedAt       string              `json:"completed_at,omitempty"`
	UpdatedAt         string              `json:"updated_at"`
	Scores            []exportScore       `json:"scores"`
	Choices           map[string][]string `json:"choices"`
	Comments          map[string]string   `json:"comments,omitempty"`
	Contact           *exportContact      `json:"contact,omitempty"`
}

func responsesEnd(ctx context.Context, s *ExportStore, tenantID string) (int64, error) {
	var n int64
	err := s.d.R.QueryRowContext(ctx, `/* crmsync.responsesEnd */ SELECT COALESCE(MAX(sync_seq), 0) FROM responses
		WHERE tenant_id = $1`, tenantID).Scan(&n)
	return n, err
}

// scaleKinds are the answer kinds that are scores.
var scaleKinds = map[string]bool{"nps": true, "csat": true, "ces": true, "rating": true}

func responsesPage(ctx context.Context, s *ExportStore, sc Schedule, after int64, afterID string, upTo int64, limit int) ([]exportRow, error) {
	rows, err := s.d.R.QueryContext(ctx, `/* crmsync.responsesPage */ SELECT r.sync_seq, r.id, COALESCE(c.external_id, ''),
		r.contact_id, r.survey_id, r.survey_version, r.step_id, r.source, r.status, r.language, r.started_at,
		r.completed_at, r.updated_at
		FROM responses r LEFT JOIN contacts c ON c.tenant_id = r.tenant_id AND c.id = r.contact_id
		WHERE r.tenant_id = $1 AND r.sync_seq >= $2 AND (r.sync_seq > $2 OR $3 <> '' AND r.id > $3) AND r.sync_seq <= $4
		ORDER BY r.sync_seq, r.id LIMIT $5`,
		sc.TenantID, after, afterID, upTo, limit)
	if err != nil {
		return nil, fmt.Errorf("read responses: %w", err)
	}
	var lines []*responseLine
	var seqs []int64
	var contactIDs []string
	byID := map[string]*responseLine{}
	for rows.Next() {
		l := &responseLine{Choices: map[string][]string{}, Scores: []exportScore{}}
		var seq, started, completed, updated int64
		var contactID string
		if err := rows.Scan(&seq, &l.ResponseID, &l.ContactExternalID, &contactID, &l.SurveyID, &l.SurveyVersion, &l.StepID,
			&l.Source, &l.Status, &l.Language, &started, &completed, &updated); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read responses: %w", err)
		}
		l.StartedAt, l.CompletedAt, l.UpdatedAt = stamp(started), stamp(completed), stamp(updated)
		lines = append(lines, l)
		seqs = append(seqs, seq)
		contactIDs = append(contactIDs, contactID)
		byID[l.ResponseID] = l
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read responses: %w", err)
	}
	if len(lines) == 0 {
		return nil, nil
	}
	texts, err := s.answersOf(ctx, sc, lines, byID)
	if err != nil {
		return nil, err
	}
	if sc.Personal {
		if err := s.openComments(ctx, sc, lines, contactIDs, texts); err != nil {
			return nil, err
		}
	}
	people, err := s.contactsOf(ctx, sc, contactIDs)
	if err != nil {
		return nil, err
	}
	out := make([]exportRow, len(lines))
	for i, l := range lines {
		if sc.Personal {
			l.Contact = people[contactIDs[i]]
			if l.Comments == nil {
				l.Comments = map[string]string{}
			}
		}
		out[i] = exportRow{seq: seqs[i], id: l.ResponseID, cells: l.cells(sc.Personal), obj: l}
	}
	return out, nil
}

// sealedText is a free-text answer still sealed.
type sealedText struct {
	responseID, questionID string
	sealed                 []byte
}

// answersOf reads the answers of a page of responses into their lines, and
// returns the sealed free texts when the schedule exports them.
func (s *ExportStore) answersOf(ctx context.Context, sc Schedule, lines []*responseLine, byID map[string]*responseLine) ([]sealedText, error) {
	text := "NULL"
	if sc.Personal {
		text = "text_sealed"
	}
	var texts []sealedText
	d := s.d.Dialect
	for start := 0; start < len(lines); start += 500 {
		ids := make([]string, 0, 500)
		for _, l := range lines[start:min(start+500, len(lines))] {
			ids = append(ids, l.ResponseID)
		}
		in, args := db.InList(d, []any{sc.TenantID}, ids)
		rows, err := s.d.R.QueryContext(ctx, `/* crmsync.answersOf */ SELECT response_id, question_id, kind, number, choices, `+text+`,
			category FROM response_answers WHERE tenant_id = `+d.Arg(1)+` AND response_id IN `+in+`
			ORDER BY response_id, question_id`, args...)
		if err != nil {
			return nil, fmt.Errorf("read answers: %w", err)
		}
		for rows.Next() {
			var rid, qid, kind, choices, category string
			var number *int64
			var sealed []byte
			if err := rows.Scan(&rid, &qid, &kind, &number, &choices, &sealed, &category); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read answers: %w", err)
			}
			l := byID[rid]
			switch {
			case l == nil:
			case scaleKinds[kind] && number != nil:
				l.Scores = append(l.Scores, exportScore{QuestionID: qid, Type: kind, Value: *number, Category: category})
			case len(sealed) > 0:
				texts = append(texts, sealedText{rid, qid, sealed})
			case choices != "":
				l.Choices[qid] = strings.Split(choices, ",")
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read answers: %w", err)
		}
	}
	return texts, nil
}

// openComments opens the free-text answers with the key of each response's
// person (of the response itself when anonymous), as internal/response
// seals them. Texts whose key was shredded (erased people) are left out.
func (s *ExportStore) openComments(ctx context.Context, sc Schedule, lines []*responseLine, contactIDs []string, texts []sealedText) error {
	if len(texts) == 0 {
		return nil
	}
	subjectOf := make(map[string]string, len(lines))
	var subjects []string
	seen := map[string]bool{}
	for i, l := range lines {
		subj := response.Subject(contactIDs[i], l.ResponseID)
		subjectOf[l.ResponseID] = subj
		if !seen[subj] {
			seen[subj] = true
			subjects = append(subjects, subj)
		}
	}
	keys, err := s.vault.Subjects(ctx, nil, sc.TenantID, subjects)
	if err != nil {
		return fmt.Errorf("open comments: %w", err)
	}
	byID := make(map[string]*responseLine, len(lines))
	for _, l := range lines {
		byID[l.ResponseID] = l
	}
	for _, t := range texts {
		k := keys[subjectOf[t.responseID]]
		if k == nil {
			continue // erased
		}
		v, err := k.OpenString(response.TextField(t.responseID, t.questionID), t.sealed)
		if err != nil {
			return fmt.Errorf("open a comment of response %s: %w", t.responseID, err)
		}
		l := byID[t.responseID]
		if l.Comments == nil {
			l.Comments = map[string]string{}
		}
		l.Comments[t.questionID] = v
	}
	return nil
}

// cells lays a response out in responseColumns order.
func (l *responseLine) cells(personal bool) []string {
	first := map[string]exportScore{}
	for _, sc := range l.Scores {
		if _, ok := first[sc.Type]; !ok {
			first[sc.Type] = sc
		}
	}
	score := func(t string) (string, string) {
		sc, ok := first[t]
		if !ok {
			return "", ""
		}
		return strconv.FormatInt(sc.Value, 10), sc.Category
	}
	nps, npsCat := score("nps")
	csat, csatCat := score("csat")
	ces, cesCat := score("ces")
	out := []string{l.ResponseID, l.ContactExternalID, l.SurveyID, strconv.FormatInt(l.SurveyVersion, 10), l.StepID, l.Source,
		l.Status, l.Language, l.StartedAt, l.CompletedAt, l.UpdatedAt, nps, npsCat, csat, csatCat, ces, cesCat,
		jsonCell(l.Scores), jsonCell(l.Choices)}
	if personal {
		comments := ""
		if len(l.Comments) > 0 {
			comments = jsonCell(l.Comments)
		}
		out = append(append(out, comments), l.Contact.cells()...)
	}
	return out
}

// jsonCell writes v as compact JSON for a CSV cell.
func jsonCell(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// Invitations.

func invitationColumns(personal bool) []string {
	cols := []string{"invitation_id", "contact_external_id", "survey_id", "step_id", "channel", "status", "reason",
		"due_at", "sent_at", "delivered_at", "answered_at", "expires_at", "updated_at"}
	if personal {
		cols = append(cols, personalColumns...)
	}
	return cols
}

// invitationLine is an invitation as a JSON line.
type invitationLine struct {
	InvitationID      string         `json:"invitation_id"`
	ContactExternalID string         `json:"contact_external_id"`
	SurveyID          string         `json:"survey_id"`
	StepID            string         `json:"step_id"`
	Channel           string         `json:"channel"`
	Status            string         `json:"status"`
	Reason            string         `json:"reason,omitempty"`
	DueAt             string         `json:"due_at,omitempty"`
	SentAt            string         `json:"sent_at,omitempty"`
	DeliveredAt       string         `json:"delivered_at,omitempty"`
	AnsweredAt        string         `json:"answered_at,omitempty"`
	ExpiresAt         string         `json:"expires_at,omitempty"`
	UpdatedAt         string         `json:"updated_at"`
	Contact           *exportContact `json:"contact,omitempty"`
}

func invitationsEnd(ctx context.Context, s *ExportStore, tenantID string) (int64, error) {
	var n int64
	err := s.d.R.QueryRowContext(ctx, `/* crmsync.invitationsEnd */ SELECT COALESCE(MAX(sync_seq), 0) FROM invitations
		WHERE tenant_id = $1`, tenantID).Scan(&n)
	return n, err
}

func invitationsPage(ctx context.Context, s *ExportStore, sc Schedule, after int64, afterID string, upTo int64, limit int) ([]exportRow, error) {
	rows, err := s.d.R.QueryContext(ctx, `/* crmsync.invitationsPage */ SELECT i.sync_seq, i.id, COALESCE(c.external_id, ''),
		i.contact_id, i.survey_id, i.step_id, i.channel, i.status, i.reason, i.due_at, i.sent_at, i.delivered_at,
		i.answered_at, i.expires_at, i.updated_at
		FROM invitations i LEFT JOIN contacts c ON c.tenant_id = i.tenant_id AND c.id = i.contact_id
		WHERE i.tenant_id = $1 AND i.sync_seq >= $2 AND (i.sync_seq > $2 OR $3 <> '' AND i.id > $3) AND i.sync_seq <= $4
		ORDER BY i.sync_seq, i.id LIMIT $5`,
		sc.TenantID, after, afterID, upTo, limit)
	if err != nil {
		return nil, fmt.Errorf("read invitations: %w", err)
	}
	var out []exportRow
	var contactIDs []string
	for rows.Next() {
		l := &invitationLine{}
		var seq, due, sent, delivered, answered, expires, updated int64
		var contactID string
		if err := rows.Scan(&seq, &l.InvitationID, &l.ContactExternalID, &contactID, &l.SurveyID, &l.StepID, &l.Channel,
			&l.Status, &l.Reason, &due, &sent, &delivered, &answered, &expires, &updated); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read invitations: %w", err)
		}
		l.DueAt, l.SentAt, l.DeliveredAt, l.AnsweredAt = stamp(due), stamp(sent), stamp(delivered), stamp(answered)
		l.ExpiresAt, l.UpdatedAt = stamp(expires), stamp(updated)
		out = append(out, exportRow{seq: seq, id: l.InvitationID, obj: l})
		contactIDs = append(contactIDs, contactID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read invitations: %w", err)
	}
	people, err := s.contactsOf(ctx, sc, contactIDs)
	if err != nil {
		return nil, err
	}
	for i := range out {
		l := out[i].obj.(*invitationLine)
		cells := []string{l.InvitationID, l.ContactExternalID, l.SurveyID, l.StepID, l.Channel, l.Status, l.Reason,
			l.DueAt, l.SentAt, l.DeliveredAt, l.AnsweredAt, l.ExpiresAt, l.UpdatedAt}
		if sc.Personal {
			l.Contact = people[contactIDs[i]]
			cells = append(cells, l.Contact.cells()...)
		}
		out[i].cells = cells
	}
	return out, nil
}

// Unsubscribes.

func unsubscribeColumns(personal bool) []string {
	cols := []string{"event_id", "contact_external_id", "unsubscribed_at"}
	if personal {
		cols = append(cols, personalColumns...)
	}
	return cols
}

// unsubscribeLine is an unsubscribe as a JSON line.
type unsubscribeLine struct {
	EventID           string         `json:"event_id"`
	ContactExternalID string         `json:"contact_external_id"`
	UnsubscribedAt    string         `json:"unsubscribed_at"`
	Contact           *exportContact `json:"contact,omitempty"`
}

func unsubscribesEnd(ctx context.Context, s *ExportStore, tenantID string) (int64, error) {
	var n int64
	err := s.d.R.QueryRowContext(ctx, `/* crmsync.unsubscribesEnd */ SELECT COALESCE(MAX(seq), 0) FROM feed_events
		WHERE tenant_id = $1`, tenantID).Scan(&n)
	return n, err
}

// unsubscribesPage pages by sequence alone: an event's is its own.
func unsubscribesPage(ctx context.Context, s *ExportStore, sc Schedule, after int64, _ string, upTo int64, limit int) ([]exportRow, error) {
	rows, err := s.d.R.QueryContext(ctx, `/* crmsync.unsubscribesPage */ SELECT seq, id, contact_id, external_id, occurred_at
		FROM feed_events WHERE tenant_id = $1 AND seq > $2 AND seq <= $3 AND type = $4 ORDER BY seq LIMIT $5`,
		sc.TenantID, after, upTo, feed.ContactUnsubscribed, limit)
	if err != nil {
		return nil, fmt.Errorf("read unsubscribes: %w", err)
	}
	var out []exportRow
	var contactIDs []string
	for rows.Next() {
		l := &unsubscribeLine{}
		var seq, at int64
		var contactID string
		if err := rows.Scan(&seq, &l.EventID, &contactID, &l.ContactExternalID, &at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read unsubscribes: %w", err)
		}
		l.UnsubscribedAt = stamp(at)
		out = append(out, exportRow{seq: seq, obj: l})
		contactIDs = append(contactIDs, contactID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read unsubscribes: %w", err)
	}
	people, err := s.contactsOf(ctx, sc, contactIDs)
	if err != nil {
		return nil, err
	}
	for i := range out {
		l := out[i].obj.(*unsubscribeLine)
		cells := []string{l.EventID, l.ContactExternalID, l.UnsubscribedAt}
		if sc.Personal {
			l.Contact = people[contactIDs[i]]
			cells = append(cells, l.Contact.cells()...)
		}
		out[i].cells = cells
	}
	return out, nil
}
