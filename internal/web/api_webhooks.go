package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"avis/internal/account"
	"avis/internal/crmsync"
	"avis/internal/db"
)

// maxWebhookBody bounds the JSON body of a webhook endpoint.
const maxWebhookBody = 16 << 10

// webhookScope is the scope of /api/v1/webhooks.
const webhookScope = "webhooks:write"

func (s *Server) apiWebhookRoutes(mux *recordingMux) {
	mux.Handle("GET /api/v1/webhooks", s.api(s.apiWebhooks, webhookScope))
	mux.Handle("POST /api/v1/webhooks", s.api(s.apiWebhookCreate, webhookScope))
	mux.Handle("GET /api/v1/webhooks/{id}", s.api(s.apiWebhook, webhookScope))
	mux.Handle("PATCH /api/v1/webhooks/{id}", s.api(s.apiWebhookUpdate, webhookScope))
	mux.Handle("DELETE /api/v1/webhooks/{id}", s.api(s.apiWebhookDelete, webhookScope))
	mux.Handle("POST /api/v1/webhooks/{id}/rotate", s.api(s.apiWebhookRotate, webhookScope))
}

// apiEndpoint is a webhook endpoint as the API shows it; Secret only in
// the answer that creates it or rotates it.
type apiEndpoint struct {
	ID                  string     `json:"id"`
	URL                 string     `json:"url"`
	Description         string     `json:"description"`
	Events              []string   `json:"events"`
	IncludePersonal     bool       `json:"include_personal"`
	Enabled             bool       `json:"enabled"`
	DisabledReason      string     `json:"disabled_reason,omitempty"`
	FailingSince        *time.Time `json:"failing_since,omitempty"`
	PreviousSecretUntil *time.Time `json:"previous_secret_until,omitempty"`
	Secret              string     `json:"secret,omitempty"`
	CreatedAt           time.Time  `json:"created_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
}

func toAPIEndpoint(e crmsync.Endpoint) apiEndpoint {
	return apiEndpoint{ID: e.ID, URL: e.URL, Description: e.Description, Events: e.Events, IncludePersonal: e.IncludePersonal,
		Enabled: e.Enabled, DisabledReason: e.DisabledReason, FailingSince: optTime(e.FailingSince),
		PreviousSecretUntil: optTime(e.PreviousSecretUntil), CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC()}
}

// apiEndpointBody is what POST and PATCH read; PATCH changes only the
// fields given.
type apiEndpointBody struct {
	URL             *string   `json:"url"`
	Description     *string   `json:"description"`
	Events          *[]string `json:"events"`
	IncludePersonal *bool     `json:"include_personal"`
	Enabled         *bool     `json:"enabled"`
}

// readEndpointBody reads and decodes a body; on failure it has answered.
func readEndpointBody(w http.ResponseWriter, r *http.Request) (apiEndpointBody, bool) {
	var body apiEndpointBody
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		problem(w, &PublicError{http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("A webhook endpoint is at most %d bytes of JSON.", maxWebhookBody)})
		return body, false
	}
	if err != nil {
		problem(w, &PublicError{http.StatusBadRequest, "bad_body", "The body was cut short: send it again."})
		return body, false
	}
	err = strictJSON(b, &body)
	var ufe unknownFieldError
	switch {
	case errors.As(err, &ufe):
		problemErrors(w, &PublicError{http.StatusBadRequest, "unknown_field",
			"The body has a field avis does not know: errors names it. An endpoint's fields are url, description, events, include_personal and enabled."},
			[]apiFieldError{fieldError(ufe.name, "is not a field of a webhook endpoint")})
		return body, false
	case err != nil:
		problem(w, &PublicError{http.StatusBadRequest, "bad_json", "The body is not a JSON object of a webhook endpoint: " + err.Error()})
		return body, false
	}
	return body, true
}

// endpointProblem answers a store error: field problems as 422 with the
// field named, a missing endpoint as 404.
func (s *Server) endpointProblem(w http.ResponseWriter, err error) {
	var fes crmsync.FieldErrors
	var fe *crmsync.FieldError
	if !errors.As(err, &fes) && errors.As(err, &fe) {
		fes = crmsync.FieldErrors{fe}
	}
	switch {
	case len(fes) > 0:
		var list []apiFieldError
		for _, fe := range fes {
			list = append(list, fieldError(fe.Field, fe.Error()))
		}
		problemErrors(w, &PublicError{http.StatusUnprocessableEntity, "bad_field", "The endpoint was not saved: errors says what to change."}, list)
	case errors.Is(err, db.ErrNotFound):
		problem(w, errNotFound)
	default:
		s.Log.Error("api: webhooks", "err", err)
		problem(w, publicError(err))
	}
}

func (s *Server) apiWebhooks(w http.ResponseWriter, r *http.Request, k account.APIKey) {
	list, err := s.Webhooks.List(r.Context(), k.TenantID)
	if err != nil {
		s.endpointProblem(w, err)
		return
	}
	out := struct {
		Data []apiEndpoint `json:"data"`
	}{Data: []apiEndpoint{}}
	for _, e := range list {
		out.Data = append(out.Data, toAPIEndpoint(e))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiWebhookCreate(w http.ResponseWriter, r *http.Request, k account.APIKey) {
	body, ok := readEndpointBody(w, r)
	if !ok {
		return
	}
	in := crmsync.EndpointInput{Enabled: true}
	if body.URL != nil {
		in.URL = *body.URL
	}
	if body.Description != nil {
		in.Description = *body.Description
	}
	if body.Events != nil {
		in.Events = *body.Events
	}
	if body.IncludePersonal != nil {
		in.IncludePersonal = *body.IncludePersonal
	}
	if body.Enabled != nil {
		in.Enabled = *body.Enabled
	}
	ep, secret, err := s.Webhooks.Create(r.Context(), keyActor(k), k.TenantID, in)
	if err != nil {
		s.endpointProblem(w, err)
		return
	}
	out := toAPIEndpoint(ep)
	out.Secret = secret
	w.Header().Set("Location", "/api/v1/webhooks/"+ep.ID)
	writeJSON(w, http.StatusCreated, out)
}

// apiEndpointOf reads the endpoint of the path; on failure it has
// answered.
func (s *Server) apiEndpointOf(w http.ResponseWriter, r *http.Request, k account.APIKey) (crmsync.Endpoint, bool) {
	id := r.PathValue("id")
	if !db.ValidID(id) {
		problem(w, errNotFound)
		return crmsync.Endpoint{}, false
	}
	ep, err := s.Webhooks.Get(r.Context(), k.TenantID, id)
	if err != nil {
		s.endpointProblem(w, err)
		return crmsync.Endpoint{}, false
	}
	return ep, true
}

func (s *Server) apiWebhook(w http.ResponseWriter, r *http.Request, k account.APIKey) {
	if ep, ok := s.apiEndpointOf(w, r, k); ok {
		writeJSON(w, http.StatusOK, toAPIEndpoint(ep))
	}
}

func (s *Server) apiWebhookUpdate(w http.ResponseWriter, r *http.Request, k account.APIKey) {
	ep, ok := s.apiEndpointOf(w, r, k)
	if !ok {
		return
	}
	body, ok := readEndpointBody(w, r)
	if !ok {
		return
	}
	in := crmsync.EndpointInput{URL: ep.URL, Description: ep.Description, Events: ep.Events, IncludePersonal: ep.IncludePersonal, Enabled: ep.Enabled}
	if body.URL != nil {
		in.URL = *body.URL
	}
	if body.Description != nil {
		in.Description = *body.Description
	}
	if body.Events != nil {
		in.Events = *body.Events
	}
	if body.IncludePersonal != nil {
		in.IncludePersonal = *body.IncludePersonal
	}
	if body.Enabled != nil {
		in.Enabled = *body.Enabled
	}
	ep, err := s.Webhooks.Update(r.Context(), keyActor(k), k.TenantID, ep.ID, in)
	if err != nil {
		s.endpointProblem(w, err)
		return
	}
	writeJSON(w, http.StatusOK, toAPIEndpoint(ep))
}

func (s *Server) apiWebhookDelete(w http.ResponseWriter, r *http.Request, k account.APIKey) {
	ep, ok := s.apiEndpointOf(w, r, k)
	if !ok {
		return
	}
	if err := s.Webhooks.Delete(r.Context(), keyActor(k), k.TenantID, ep.ID); err != nil {
		s.endpointProblem(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiWebhookRotate(w http.ResponseWriter, r *http.Request, k account.APIKey) {
	ep, ok := s.apiEndpointOf(w, r, k)
	if !ok {
		return
	}
	secret, err := s.Webhooks.Rotate(r.Context(), keyActor(k), k.TenantID, ep.ID)
	if err != nil {
		s.endpointProblem(w, err)
		return
	}
	if ep, err = s.Webhooks.Get(r.Context(), k.TenantID, ep.ID); err != nil {
		s.endpointProblem(w, err)
		return
	}
	out := toAPIEndpoint(ep)
	out.Secret = secret
	writeJSON(w, http.StatusOK, out)
}
