package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"avis/internal/account"
	"avis/internal/db"
	"avis/internal/survey"
)

var (
	errSurveyTooLarge = &PublicError{http.StatusRequestEntityTooLarge, "too_large", "A survey document is at most 1 MiB: shorten its texts or split it."}
	errSurveyInvalid  = &PublicError{http.StatusUnprocessableEntity, "invalid_survey", "The survey breaks the rules of the format: each error names the field (path) and says what to do."}
	errSurveyJSON     = &PublicError{http.StatusBadRequest, "bad_json", "The body is not a JSON document: see errors for where."}
	errSurveyVersion  = &PublicError{http.StatusConflict, "version_conflict", "The survey changed since the version given: read it again, apply your change and send it with the current version."}
)

type apiSurveySummary struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	Version   int       `json:"version"`
	Questions int       `json:"questions"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (s *Server) apiSurveys(w http.ResponseWriter, r *http.Request, k account.APIKey) {
	rows, err := s.surveyRows(r, k.TenantID)
	if err != nil {
		problem(w, publicError(err))
		return
	}
	out := struct {
		Data []apiSurveySummary `json:"data"`
	}{Data: []apiSurveySummary{}}
	for _, sv := range rows {
		out.Data = append(out.Data, apiSurveySummary{sv.ID, sv.Name, string(sv.Status), sv.CurrentVersion, sv.Questions, sv.CreatedAt, sv.UpdatedAt})
	}
	writeJSON(w, http.StatusOK, out)
}

// withMeta writes a definition in the export format with fields of its
// own first (id, status, version, …), as one JSON object.
func withMeta(w http.ResponseWriter, status int, meta []metaField, d *survey.Definition) {
	doc, err := survey.Export(d)
	if err != nil {
		problem(w, publicError(err))
		return
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, doc); err != nil {
		problem(w, publicError(err))
		return
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for _, f := range meta {
		k, _ := json.Marshal(f.key)
		v, _ := json.Marshal(f.value)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
		b.WriteByte(',')
	}
	b.Write(compact.Bytes()[1:])
	b.WriteByte('\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

type metaField struct {
	key   string
	value any
}

func surveyMeta(sv survey.Survey) []metaField {
	return []metaField{{"id", sv.ID}, {"status", string(sv.Status)}, {"version", sv.CurrentVersion},
		{"created_at", sv.CreatedAt}, {"updated_at", sv.UpdatedAt}}
}

func (s *Server) apiSurvey(w http.ResponseWriter, r *http.Request, k account.APIKey) {
	id := r.PathValue("id")
	if !db.ValidID(id) {
		problem(w, errNotFound)
		return
	}
	sv, err := s.Surveys.Get(r.Context(), k.TenantID, id)
	if err != nil {
		problem(w, publicError(err))
		return
	}
	withMeta(w, http.StatusOK, surveyMeta(sv), sv.Definition)
}

func (s *Server) apiSurveyVersions(w http.ResponseWriter, r *http.Request, k account.APIKey) {
	id := r.PathValue("id")
	if !db.ValidID(id) {
		problem(w, errNotFound)
		return
	}
	sv, err := s.Surveys.Get(r.Context(), k.TenantID, id)
	if err != nil {
		problem(w, publicError(err))
		return
	}
	vs, err := s.Surveys.Versions(r.Context(), k.TenantID, id)
	if err != nil {
		problem(w, publicError(err))
		return
	}
	type item struct {
		Version   int       `json:"version"`
		CreatedAt time.Time `json:"created_at"`
		CreatedBy string    `json:"created_by"`
	}
	out := struct {
		CurrentVersion int    `json:"current_version"`
		Data           []item `json:"data"`
	}{CurrentVersion: sv.CurrentVersion, Data: []item{}}
	for _, v := range vs {
		out.Data = append(out.Data, item{v.Version, v.CreatedAt, v.CreatedBy})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiSurveyVersion(w http.ResponseWriter, r *http.Request, k account.APIKey) {
	id := r.PathValue("id")
	n, err := strconv.Atoi(r.PathValue("version"))
	if !db.ValidID(id) || err != nil || n < 1 {
		problem(w, errNotFound)
		return
	}
	v, err := s.Surveys.Version(r.Context(), k.TenantID, id, n)
	if err != nil {
		problem(w, publicError(err))
		return
	}
	withMeta(w, http.StatusOK, []metaField{{"id", id}, {"version", v.Version}, {"created_at", v.CreatedAt}, {"created_by", v.CreatedBy}}, v.Definition)
}

// surveyBody is a survey document sent to the API: the definition in the
// export format, and the fields a GET adds to it.
type surveyBody struct {
	def *survey.Definition
	// status, when given, is the status to set.
	status survey.Status
	// version, when given, must be the current version (PUT).
	version int
	// id, when given, must be the survey's (PUT).
	id string
}

// metaKeys are the fields of a GET answer that are not part of the
// format: a client may send a document it read back as it is.
var metaKeys = map[string]bool{"id": true, "status": true, "version": true, "created_at": true, "updated_at": true, "created_by": true}

// readSurveyBody reads and checks a survey document; on failure it has
// answered.
func readSurveyBody(w http.ResponseWriter, r *http.Request) (surveyBody, bool) {
	b, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || len(b) > survey.MaxDocument {
		problem(w, errSurveyTooLarge)
		return surveyBody{}, false
	}
	if err != nil {
		problem(w, &PublicError{http.StatusBadRequest, "bad_body", "The body was cut short: send it again."})
		return surveyBody{}, false
	}
	var out surveyBody
	doc, meta := splitMeta(b)
	var fieldErrs []apiFieldError
	if raw, ok := meta["status"]; ok {
		var st string
		if json.Unmarshal(raw, &st) != nil || !survey.Status(st).Valid() {
			fieldErrs = append(fieldErrs, fieldError("status", "is draft, active or archived"))
		}
		out.status = survey.Status(st)
	}
	if raw, ok := meta["version"]; ok {
		if json.Unmarshal(raw, &out.version) != nil || out.version < 1 {
			fieldErrs = append(fieldErrs, fieldError("version", "is the number of the version the change is based on, from 1"))
		}
	}
	if raw, ok := meta["id"]; ok {
		_ = json.Unmarshal(raw, &out.id)
	}
	d, err := survey.Parse(doc)
	var ve survey.ValidationErrors
	switch {
	case err == nil:
		out.def = d
	case errors.As(err, &ve):
		for _, fe := range ve {
			fieldErrs = append(fieldErrs, fieldError(fe.Path, fe.Problem))
		}
		if !json.Valid(b) {
			problemErrors(w, errSurveyJSON, fieldErrs)
			return surveyBody{}, false
		}
	default:
		problem(w, publicError(err))
		return surveyBody{}, false
	}
	if len(fieldErrs) > 0 {
		problemErrors(w, errSurveyInvalid, fieldErrs)
		return surveyBody{}, false
	}
	return out, true
}

// splitMeta takes the fields of metaKeys out of a JSON object, keeping the
// others as they were written (in order, duplicates too, so that the
// format's checks still see them). A body that is not an object comes
// back unchanged.
func splitMeta(b []byte) ([]byte, map[string]json.RawMessage) {
	meta := map[string]json.RawMessage{}
	if !json.Valid(b) {
		return b, meta
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return b, meta
	}
	var out bytes.Buffer
	out.WriteByte('{')
	first := true
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return b, map[string]json.RawMessage{}
		}
		key, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return b, map[string]json.RawMessage{}
		}
		if metaKeys[key] {
			meta[key] = v
			continue
		}
		if !first {
			out.WriteByte(',')
		}
		first = false
		k, _ := json.Marshal(key)
		out.Write(k)
		out.WriteByte(':')
		out.Write(v)
	}
	out.WriteByte('}')
	return out.Bytes(), meta
}

func (s *Server) apiSurveyCreate(w http.ResponseWriter, r *http.Request, k account.APIKey) {
	body, ok := readSurveyBody(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	sv, err := s.Surveys.Create(ctx, keyActor(k), k.TenantID, body.def)
	if err != nil {
		problem(w, publicError(err))
		return
	}
	if body.status != "" && body.status != sv.Status {
		if err := s.Surveys.SetStatus(ctx, keyActor(k), k.TenantID, sv.ID, body.status); err != nil {
			problem(w, publicError(err))
			return
		}
	}
	if sv, err = s.Surveys.Get(ctx, k.TenantID, sv.ID); err != nil {
		problem(w, publicError(err))
		return
	}
	w.Header().Set("Location", "/api/v1/surveys/"+sv.ID)
	withMeta(w, http.StatusCreated, surveyMeta(sv), sv.Definition)
}

func (s *Server) apiSurveyUpdate(w http.ResponseWriter, r *http.Request, k account.APIKey) {
	ctx := r.Context()
	id := r.PathValue("id")
	if !db.ValidID(id) {
		problem(w, errNotFound)
		return
	}
	sv, err := s.Surveys.Get(ctx, k.TenantID, id)
	if err != nil {
		problem(w, publicError(err))
		return
	}
	body, ok := readSurveyBody(w, r)
	if !ok {
		return
	}
	if body.id != "" && body.id != id {
		problemErrors(w, errSurveyInvalid, []apiFieldError{fieldError("id", "is not the id of the survey in the URL; leave it out or give the same")})
		return
	}
	if body.version != 0 && body.version != sv.CurrentVersion {
		problem(w, errSurveyVersion)
		return
	}
	if _, err := s.Surveys.Update(ctx, keyActor(k), k.TenantID, id, body.def); err != nil {
		problem(w, publicError(err))
		return
	}
	if body.status != "" {
		if err := s.Surveys.SetStatus(ctx, keyActor(k), k.TenantID, id, body.status); err != nil {
			problem(w, publicError(err))
			return
		}
	}
	if sv, err = s.Surveys.Get(ctx, k.TenantID, id); err != nil {
		problem(w, publicError(err))
		return
	}
	withMeta(w, http.StatusOK, surveyMeta(sv), sv.Definition)
}
