package web

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"avis/internal/account"
	"avis/internal/contact"
	"avis/internal/journey"
)

// maxAPIBatch is the most items one JSON request may carry.
const maxAPIBatch = 1000

// apiRecord is one contact as the API receives it.
type apiRecord map[string]any

// decodeContacts reads a JSON array of contact objects (at most
// maxAPIBatch) into flat records: "attributes": {"store": "Lyon"} becomes
// "attributes.store". Values must be strings, numbers or booleans.
func decodeContacts(r io.Reader) ([]map[string]string, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var raw []apiRecord
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("the body is not a JSON array of contact objects: %s", jsonProblem(err))
	}
	if dec.More() {
		return nil, errors.New("the body holds more than one JSON value: send one array")
	}
	if len(raw) > maxAPIBatch {
		return nil, errTooManyItems
	}
	out := make([]map[string]string, len(raw))
	for i, rec := range raw {
		flat, err := flatten(rec)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i+1, err)
		}
		out[i] = flat
	}
	return out, nil
}

var errTooManyItems = fmt.Errorf("at most %d items per request: split the batch, or send JSON Lines (Content-Type: application/x-ndjson)", maxAPIBatch)

func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "syntax error at byte " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		return "a value of the wrong type at byte " + strconv.FormatInt(te.Offset, 10)
	case errors.Is(err, io.EOF):
		return "the body is empty"
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return "the body is too large"
	}
	return "it cannot be read"
}

func flatten(rec apiRecord) (map[string]string, error) {
	flat := map[string]string{}
	for k, v := range rec {
		if k == "attributes" {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, errors.New(`"attributes" must be an object of names to values`)
			}
			for ak, av := range m {
				s, err := scalar(av)
				if err != nil {
					return nil, fmt.Errorf("attribute %q: %w", ak, err)
				}
				flat["attributes."+ak] = s
			}
			continue
		}
		s, err := scalar(v)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", k, err)
		}
		flat[k] = s
	}
	return flat, nil
}

func scalar(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", errors.New("must be a string, a number or a boolean")
}

type apiReject struct {
	Item   int    `json:"item"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

type apiImportReport struct {
	ImportID  string      `json:"import_id"`
	Status    string      `json:"status"`
	Items     int         `json:"items"`
	Created   int         `json:"created"`
	Updated   int         `json:"updated"`
	Unchanged int         `json:"unchanged"`
	Rejected  int         `json:"rejected"`
	Rejects   []apiReject `json:"rejects"`
	Error     string      `json:"error,omitempty"`
}

func toAPIReport(r contact.Report) apiImportReport {
	out := apiImportReport{ImportID: r.ImportID, Status: r.Status, Items: r.Rows, Created: r.Created, Updated: r.Updated,
		Unchanged: r.Unchanged, Rejected: r.Rejected, Rejects: []apiReject{}, Error: r.Error}
	for _, rj := range r.Rejects {
		out.Rejects = append(out.Rejects, apiReject{Item: rj.Row, Field: rj.Column, Reason: rj.Reason})
	}
	return out
}

func isJSONLines(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-ndjson" || mt == "application/jsonl" || mt == "application/x-jsonlines"
}

// apiContactsCreate imports contacts: a JSON array of at most 1,000
// objects, or a JSON Lines stream of any length.
func (s *Server) apiContactsCreate(w http.ResponseWriter, r *http.Request, k account.APIKey) {
	var src contact.Source
	format := "json"
	if isJSONLines(r) {
		format = "jsonl"
		var err error
		src, err = contact.OpenSource(r.Body, "api.jsonl", contact.FileOptions{Format: "jsonl"})
		if err != nil {
			problem(w, &PublicError{http.StatusUnprocessableEntity, "bad_body", err.Error()})
			return
		}
	} else {
		recs, err := decodeContacts(r.Body)
		if errors.Is(err, errTooManyItems) {
			problem(w, &PublicError{http.StatusRequestEntityTooLarge, "too_many_items", err.Error()})
			return
		}
		if err != nil {
			problem(w, &PublicError{http.StatusBadRequest, "bad_body", err.Error()})
			return
		}
		if len(recs) == 0 {
			problem(w, &PublicError{http.StatusBadRequest, "bad_body", "the array is empty: send at least one contact"})
			return
		}
		src = contact.RecordsSource(recs)
	}
	defer src.Close()
	if unknown := unknownContactFields(src.Header()); len(unknown) > 0 {
		problemErrors(w, errUnknownField, unknown)
		return
	}
	mapping, err := contact.APIMapping(src.Header())
	if err != nil {
		problem(w, &PublicError{http.StatusUnprocessableEntity, "bad_field", err.Error()})
		return
	}
	rep, err := s.Contacts.Import(r.Context(), keyActor(k), k.TenantID, src, contact.ImportOptions{
		Source: contact.SourceRef{Kind: "api", ID: k.ID}, Format: format, Mapping: mapping})
	if errors.Is(err, contact.ErrMapping) {
		problem(w, &PublicError{http.StatusUnprocessableEntity, "bad_field", err.Error()})
		return
	}
	if err != nil {
		s.Log.Error("api: import contacts", "err", err)
		problem(w, publicError(err))
		return
	}
	status := http.StatusOK
	if rep.Status == contact.StatusFailed {
		status = http.StatusUnprocessableEntity
	}
	writeJSON(w, status, toAPIReport(rep))
}

var errUnknownField = &PublicError{http.StatusBadRequest, "unknown_field",
	"The body has a field avis does not know: errors names it. A contact's fields are external_id, email, phone, first_name, last_name, language, country, time_zone and attributes (an object of names to values)."}

// unknownContactFields lists the fields of contact items that are not
// contact fields (flattened names: attributes.NAME is fine).
func unknownContactFields(header []string) []apiFieldError {
	var out []apiFieldError
	for _, h := range header {
		if _, err := contact.APIMapping([]string{h}); err != nil {
			out = append(out, apiFieldError{Path: h, Message: "is not a contact field (in one or more items)"})
		}
	}
	return out
}

// apiEvent is one journey event as the API receives it.
type apiEvent struct {
	Contact        apiRecord         `json:"contact"`
	Step           string            `json:"step"`
	OccurredAt     string            `json:"occurred_at"`
	Attributes     map[string]string `json:"attributes"`
	IdempotencyKey string            `json:"idempotency_key"`
}

type apiEventResult struct {
	Item         int    `json:"item"`
	Status       string `json:"status"` // created, duplicate, rejected
	TouchpointID string `json:"touchpoint_id,omitempty"`
	ContactID    string `json:"contact_id,omitempty"`
	Reason       string `json:"reason,omitempty"`
	// Invitation is what the step's rule did with the event, when it has
	// one: the invitation's id and status (scheduled, capped, …).
	InvitationID     string `json:"invitation_id,omitempty"`
	InvitationStatus string `json:"invitation_status,omitempty"`
}

// decodeEvents reads one event object or an array of at most maxAPIBatch.
func decodeEvents(r io.Reader) ([]apiEvent, error) {
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("the body cannot be read: %s", jsonProblem(err))
	}
	body = bytes.TrimSpace(body)
	var evs []apiEvent
	if len(body) > 0 && body[0] == '{' {
		var one apiEvent
		err = strictJSON(body, &one)
		evs = []apiEvent{one}
	} else {
		err = strictJSON(body, &evs)
	}
	if err != nil {
		return nil, fmt.Errorf("the body is not an event object or an array of them: %w", err)
	}
	if len(evs) > maxAPIBatch {
		return nil, errTooManyItems
	}
	if len(evs) == 0 {
		return nil, errors.New("no event in the body")
	}
	return evs, nil
}

// unknownFieldError names a field of a JSON body that the operation does
// not know.
type unknownFieldError struct{ name string }

func (e unknownFieldError) Error() string { return "unknown field " + strconv.Quote(e.name) }

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return unknownFieldError{strings.Trim(name, `"`)}
		}
		return errors.New(jsonProblem(err))
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

// apiEventsCreate records journey events. Each names a contact by id, or
// carries the contact inline (external_id, email or phone, and any other
// field), which is created or updated first, like an import.
func (s *Server) apiEventsCreate(w http.ResponseWriter, r *http.Request, k account.APIKey) {
	ctx := r.Context()
	evs, err := decodeEvents(r.Body)
	var ufe unknownFieldError
	if errors.As(err, &ufe) {
		problemErrors(w, &PublicError{http.StatusBadRequest, "unknown_field",
			"The body has a field avis does not know: errors names it. An event's fields are contact, step, occurred_at, attributes and idempotency_key."},
			[]apiFieldError{{Path: ufe.name, Message: "is not a field of an event"}})
		return
	}
	if errors.Is(err, errTooManyItems) {
		problem(w, &PublicError{http.StatusRequestEntityTooLarge, "too_many_items", err.Error()})
		return
	}
	if err != nil {
		problem(w, &PublicError{http.StatusBadRequest, "bad_body", err.Error()})
		return
	}
	results := make([]apiEventResult, len(evs))
	when := make([]time.Time, len(evs))
	// Inline contacts are imported together; row i+1 is event i.
	var inline []map[string]string
	var inlineItem []int
	for i, ev := range evs {
		results[i].Item = i + 1
		if ev.Step == "" {
			results[i].Status, results[i].Reason = "rejected", "give the step key"
			continue
		}
		if ev.OccurredAt != "" {
			t, err := time.Parse(time.RFC3339, ev.OccurredAt)
			if err != nil {
				results[i].Status, results[i].Reason = "rejected", "occurred_at is not an RFC 3339 time such as 2026-11-29T10:00:00+01:00"
				continue
			}
			when[i] = t
		}
		if err := journey.CheckAttributes(ev.Attributes); err != nil {
			results[i].Status, results[i].Reason = "rejected", err.Error()
			continue
		}
		flat, err := flatten(ev.Contact)
		if err != nil || len(flat) == 0 {
			results[i].Status, results[i].Reason = "rejected", "give the contact: its id, or external_id, email or phone"
			continue
		}
		if id := flat["id"]; id != "" {
			if _, err := s.Contacts.Exists(ctx, k.TenantID, id); err != nil {
				results[i].Status, results[i].Reason = "rejected", "no contact has this id"
				continue
			}
			results[i].ContactID = id
			continue
		}
		delete(flat, "id")
		inline = append(inline, flat)
		inlineItem = append(inlineItem, i)
	}
	if len(inline) > 0 {
		src := contact.RecordsSource(inline)
		mapping, err := contact.APIMapping(src.Header())
		if err != nil {
			problem(w, &PublicError{http.StatusUnprocessableEntity, "bad_field", err.Error()})
			return
		}
		rep, err := s.Contacts.Import(ctx, keyActor(k), k.TenantID, src, contact.ImportOptions{
			Source: contact.SourceRef{Kind: "api", ID: k.ID}, Format: "json", Mapping: mapping, RowIDs: true})
		if err != nil && !errors.Is(err, contact.ErrMapping) {
			s.Log.Error("api: events: contacts", "err", err)
			problem(w, publicError(err))
			return
		}
		reasons := map[int]string{}
		for _, rj := range rep.Rejects {
			if reasons[rj.Row] == "" {
				reasons[rj.Row] = strings.TrimSpace(rj.Column + " " + rj.Reason)
			}
		}
		for j, i := range inlineItem {
			if id := rep.RowIDs[j+1]; id != "" {
				results[i].ContactID = id
			} else {
				results[i].Status = "rejected"
				results[i].Reason = "contact: " + reasons[j+1]
				if err != nil {
					results[i].Reason = err.Error()
				}
			}
		}
	}
	var fresh []journey.Touchpoint
	var freshItem []int
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		fresh, freshItem = fresh[:0], freshItem[:0]
		for i, ev := range evs {
			if results[i].Status == "rejected" {
				continue
			}
			tp, created, err := s.Journeys.Record(ctx, tx, k.TenantID, journey.Event{ContactID: results[i].ContactID, StepKey: ev.Step,
				OccurredAt: when[i], Attributes: ev.Attributes, IdempotencyKey: ev.IdempotencyKey, SourceKind: "api", SourceID: k.ID})
			switch {
			case errors.Is(err, journey.ErrUnknownStep), errors.Is(err, journey.ErrInvalidAttribute):
				results[i].Status, results[i].Reason = "rejected", err.Error()
				continue
			case err != nil:
				return err
			}
			results[i].TouchpointID = tp.ID
			results[i].Status = "created"
			if !created {
				results[i].Status = "duplicate"
				continue
			}
			fresh = append(fresh, tp)
			freshItem = append(freshItem, i)
		}
		if len(fresh) == 0 || s.Dispatch == nil {
			return nil
		}
		sched, err := s.Dispatch.Schedule(ctx, tx, k.TenantID, fresh)
		if err != nil {
			return err
		}
		for j, sc := range sched {
			results[freshItem[j]].InvitationID, results[freshItem[j]].InvitationStatus = sc.InvitationID, sc.Status
		}
		return nil
	})
	if err != nil {
		s.Log.Error("api: record events", "err", err)
		problem(w, publicError(err))
		return
	}
	status := http.StatusOK
	rejected := 0
	for _, res := range results {
		if res.Status == "rejected" {
			rejected++
		}
	}
	if rejected == len(results) {
		status = http.StatusUnprocessableEntity
	}
	writeJSON(w, status, map[string]any{"results": results, "rejected": rejected})
}
