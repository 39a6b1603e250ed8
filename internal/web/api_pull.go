package web

import (
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"sort"
	"strconv"
	"time"

	"avis/internal/account"
	"avis/internal/db"
	"avis/internal/dispatch"
	"avis/internal/response"
)

// Pull pages: 100 items unless limit says otherwise, at most 1,000.
const (
	pullDefault = 100
	pullMax     = 1000
)

// A pull cursor is opaque to clients: base64url (no padding) of a version
// byte, the kind of resource, the sequence number in the tenant's feed and
// the id of the last item read (empty at the start).
const cursorVersion = 1

// Kinds of cursor, so that one resource's cursor is refused by another.
const (
	cursorResponses   = 'r'
	cursorInvitations = 'i'
	cursorEvents      = 'e'
)

type cursor struct {
	seq int64
	id  string
}

func encodeCursor(kind byte, c cursor) string {
	b := make([]byte, 10, 10+len(c.id))
	b[0], b[1] = cursorVersion, kind
	binary.BigEndian.PutUint64(b[2:], uint64(c.seq))
	b = append(b, c.id...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(kind byte, s string) (cursor, bool) {
	if s == "" {
		return cursor{}, true
	}
	if len(s) > 64 {
		return cursor{}, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) < 10 || b[0] != cursorVersion || b[1] != kind {
		return cursor{}, false
	}
	c := cursor{seq: int64(binary.BigEndian.Uint64(b[2:10])), id: string(b[10:])}
	if c.seq < 0 || (c.id != "" && !db.ValidID(c.id)) {
		return cursor{}, false
	}
	return c, true
}

var errBadPullCursor = &PublicError{http.StatusBadRequest, "bad_cursor",
	"The cursor is not one avis gave for this list: start without 'after', then pass the next_cursor of the previous page as it is."}

// pullParams reads after, limit and include; on failure it has answered.
func pullParams(w http.ResponseWriter, r *http.Request, kind byte, includes ...string) (c cursor, limit int, include map[string]bool, ok bool) {
	q := r.URL.Query()
	var errs []apiFieldError
	for name := range q {
		switch name {
		case "after", "limit":
		case "include":
			if len(includes) > 0 {
				continue
			}
			fallthrough
		default:
			errs = append(errs, apiFieldError{Parameter: name, Message: "is not a parameter of this list: use after and limit" + includeHint(includes)})
		}
	}
	limit = pullDefault
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > pullMax {
			errs = append(errs, apiFieldError{Parameter: "limit", Message: "is a whole number from 1 to 1000 (100 when left out)"})
		}
		limit = n
	}
	include = map[string]bool{}
	for _, v := range q["include"] {
		if !contains(includes, v) {
			errs = append(errs, apiFieldError{Parameter: "include", Message: "can only be" + includeHint(includes)})
		}
		include[v] = true
	}
	if len(errs) > 0 {
		sort.Slice(errs, func(i, j int) bool { return errs[i].Parameter < errs[j].Parameter })
		problemErrors(w, &PublicError{http.StatusBadRequest, "bad_parameter", "A query parameter is wrong: errors names it and says what it takes."}, errs)
		return cursor{}, 0, nil, false
	}
	c, ok = decodeCursor(kind, q.Get("after"))
	if !ok {
		problem(w, errBadPullCursor)
		return cursor{}, 0, nil, false
	}
	return c, limit, include, true
}

func includeHint(includes []string) string {
	if len(includes) == 0 {
		return ""
	}
	s := ""
	for i, v := range includes {
		if i > 0 {
			s += ", "
		}
		s += v
	}
	return " (include: " + s + ")"
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// pullPage is the answer to a pull: the items, the cursor to pass next
// (also when the page is empty, so that a client can poll with it) and
// whether more items are already there.
type pullPage[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor"`
	HasMore    bool   `json:"has_more"`
}

// optTime is a time that is left out of the JSON when zero.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// apiResponses pages the tenant's responses in the order they last
// changed.
func (s *Server) apiResponses(w http.ResponseWriter, r *http.Request, k account.APIKey) {
	c, limit, include, ok := pullParams(w, r, cursorResponses, "comments")
	if !ok {
		return
	}
	if !include["comments"] {
		s.streamResponses(w, r, k, c, limit)
		return
	}
	items, err := s.Responses.Pull(r.Context(), k.TenantID, response.PullOptions{AfterSeq: c.seq, AfterID: c.id, Limit: limit + 1, Comments: true})
	if err != nil {
		s.Log.Error("api: pull responses", "err", err)
		problem(w, publicError(err))
		return
	}
	next, hasMore := encodeCursor(cursorResponses, c), false
	if len(items) > limit {
		items, hasMore = items[:limit], true
	}
	if n := len(items); n > 0 {
		next = encodeCursor(cursorResponses, cursor{items[n-1].Seq, items[n-1].ID})
	}
	writeResponsesPage(w, items, true, next, hasMore)
}

// streamResponses writes a page of responses without comments as the
// database reads it, so that the client reads the first responses while
// avis encodes the next and the database reads further. An error before
// the first bytes are sent is answered as a problem; after, the connection
// is cut, so that the client sees a broken answer, never a short page.
func (s *Server) streamResponses(w http.ResponseWriter, r *http.Request, k account.APIKey, c cursor, limit int) {
	pw := &pageWriter{w: w}
	n, hasMore, last := 0, false, c
	err := s.Responses.PullEach(r.Context(), k.TenantID, response.PullOptions{AfterSeq: c.seq, AfterID: c.id, Limit: limit + 1},
		func(p *response.Pulled) error {
			if n == limit {
				hasMore = true
				return nil
			}
			n++
			last = cursor{p.Seq, p.ID}
			return pw.item(p, false)
		})
	if err != nil {
		s.Log.Error("api: pull responses", "err", err)
		if !pw.sent {
			problem(w, publicError(err))
			return
		}
		panic(http.ErrAbortHandler)
	}
	pw.end(encodeCursor(cursorResponses, last), hasMore)
}

// apiResponse answers one response.
func (s *Server) apiResponseOne(w http.ResponseWriter, r *http.Request, k account.APIKey) {
	id := r.PathValue("id")
	q := r.URL.Query()
	for name := range q {
		if name != "include" {
			problemErrors(w, &PublicError{http.StatusBadRequest, "bad_parameter", "A query parameter is wrong: errors names it and says what it takes."},
				[]apiFieldError{{Parameter: name, Message: "is not a parameter of this operation: use include=comments"}})
			return
		}
	}
	comments := false
	for _, v := range q["include"] {
		if v != "comments" {
			problemErrors(w, &PublicError{http.StatusBadRequest, "bad_parameter", "A query parameter is wrong: errors names it and says what it takes."},
				[]apiFieldError{{Parameter: "include", Message: "can only be comments"}})
			return
		}
		comments = true
	}
	if !db.ValidID(id) {
		problem(w, errNotFound)
		return
	}
	items, err := s.Responses.Pull(r.Context(), k.TenantID, response.PullOptions{ID: id, Comments: comments})
	if err != nil {
		problem(w, publicError(err))
		return
	}
	if len(items) == 0 {
		problem(w, errNotFound)
		return
	}
	writeResponse(w, items[0], comments)
}

// apiInvitation is an invitation's status as the API hands it out.
type apiInvitation struct {
	ID                string     `json:"id"`
	SurveyID          string     `json:"survey_id"`
	Step              string     `json:"step,omitempty"`
	ContactID         string     `json:"contact_id,omitempty"`
	ContactExternalID string     `json:"contact_external_id,omitempty"`
	TouchpointID      string     `json:"event_id,omitempty"`
	Channel           string     `json:"channel"`
	Status            string     `json:"status"`
	Reason            string     `json:"reason,omitempty"`
	Language          string     `json:"language,omitempty"`
	DueAt             time.Time  `json:"due_at"`
	SentAt            *time.Time `json:"sent_at,omitempty"`
	DeliveredAt       *time.Time `json:"delivered_at,omitempty"`
	AnsweredAt        *time.Time `json:"answered_at,omitempty"`
	ExpiresAt         *time.Time `json:"expires_at,omitempty"`
	RemindersSent     int        `json:"reminders_sent"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
}

func toAPIInvitation(p dispatch.PulledInvitation) apiInvitation {
	return apiInvitation{ID: p.ID, SurveyID: p.SurveyID, Step: p.StepKey, ContactID: p.ContactID, ContactExternalID: p.ExternalID,
		TouchpointID: p.TouchpointID, Channel: p.Channel, Status: p.Status, Reason: p.Reason, Language: p.Language, DueAt: p.DueAt.UTC(),
		SentAt: optTime(p.SentAt), DeliveredAt: optTime(p.DeliveredAt), AnsweredAt: optTime(p.AnsweredAt), ExpiresAt: optTime(p.ExpiresAt),
		RemindersSent: p.RemindersSent, CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC()}
}

// apiInvitations pages the tenant's invitations in the order their status
// last changed.
func (s *Server) apiInvitations(w http.ResponseWriter, r *http.Request, k account.APIKey) {
	c, limit, _, ok := pullParams(w, r, cursorInvitations)
	if !ok {
		return
	}
	items, err := s.Dispatch.PullInvitations(r.Context(), k.TenantID, c.seq, c.id, "", limit+1)
	if err != nil {
		s.Log.Error("api: pull invitations", "err", err)
		problem(w, publicError(err))
		return
	}
	out := pullPage[apiInvitation]{Data: []apiInvitation{}, NextCursor: encodeCursor(cursorInvitations, c)}
	if len(items) > limit {
		items, out.HasMore = items[:limit], true
	}
	for _, p := range items {
		out.Data = append(out.Data, toAPIInvitation(p))
	}
	if n := len(items); n > 0 {
		out.NextCursor = encodeCursor(cursorInvitations, cursor{items[n-1].Seq, items[n-1].ID})
	}
	writeJSON(w, http.StatusOK, out)
}

// apiInvitationOne answers one invitation.
func (s *Server) apiInvitationOne(w http.ResponseWriter, r *http.Request, k account.APIKey) {
	id := r.PathValue("id")
	if !db.ValidID(id) {
		problem(w, errNotFound)
		return
	}
	items, err := s.Dispatch.PullInvitations(r.Context(), k.TenantID, 0, "", id, 1)
	if err != nil {
		problem(w, publicError(err))
		return
	}
	if len(items) == 0 {
		problem(w, errNotFound)
		return
	}
	writeJSON(w, http.StatusOK, toAPIInvitation(items[0]))
}

// apiEventOut is a journey event as the API hands it out.
type apiEventOut struct {
	ID                string            `json:"id"`
	Step              string            `json:"step"`
	ContactID         string            `json:"contact_id,omitempty"`
	ContactExternalID string            `json:"contact_external_id,omitempty"`
	OccurredAt        time.Time         `json:"occurred_at"`
	RecordedAt        time.Time         `json:"recorded_at"`
	Source            string            `json:"source"`
	Attributes        map[string]string `json:"attributes"`
}

// apiEventsPull pages the tenant's journey events in the order they were
// recorded.
func (s *Server) apiEventsPull(w http.ResponseWriter, r *http.Request, k account.APIKey) {
	c, limit, _, ok := pullParams(w, r, cursorEvents)
	if !ok {
		return
	}
	items, err := s.Journeys.PullTouchpoints(r.Context(), k.TenantID, c.seq, c.id, limit+1)
	if err != nil {
		s.Log.Error("api: pull events", "err", err)
		problem(w, publicError(err))
		return
	}
	out := pullPage[apiEventOut]{Data: []apiEventOut{}, NextCursor: encodeCursor(cursorEvents, c)}
	if len(items) > limit {
		items, out.HasMore = items[:limit], true
	}
	for _, p := range items {
		attrs := p.Attributes
		if attrs == nil {
			attrs = map[string]string{}
		}
		out.Data = append(out.Data, apiEventOut{ID: p.ID, Step: p.StepKey, ContactID: p.ContactID, ContactExternalID: p.ExternalID,
			OccurredAt: p.OccurredAt.UTC(), RecordedAt: p.CreatedAt.UTC(), Source: p.SourceKind, Attributes: attrs})
	}
	if n := len(items); n > 0 {
		out.NextCursor = encodeCursor(cursorEvents, cursor{items[n-1].Seq, items[n-1].ID})
	}
	writeJSON(w, http.StatusOK, out)
}

// pullRoutes registers the pull API.
func (s *Server) pullRoutes(mux *recordingMux) {
	mux.Handle("GET /api/v1/responses", s.api(s.apiResponses, "responses:read"))
	mux.Handle("GET /api/v1/responses/{id}", s.api(s.apiResponseOne, "responses:read"))
	mux.Handle("GET /api/v1/invitations", s.api(s.apiInvitations, "responses:read"))
	mux.Handle("GET /api/v1/invitations/{id}", s.api(s.apiInvitationOne, "responses:read"))
	mux.Handle("GET /api/v1/events", s.api(s.apiEventsPull, "responses:read"))
}
