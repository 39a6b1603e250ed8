package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"avis/internal/account"
	"avis/internal/crmsync"
	"avis/internal/db"
	"avis/internal/feed"
)

// webhookRoutes registers the webhook pages and the /api/v1/webhooks
// resource. Webhooks are integration credentials, like API keys.
func (s *Server) webhookRoutes(mux *recordingMux) {
	p := authOpts{perm: account.PermAPIKeysManage}
	mux.Handle("GET /webhooks", s.authed(s.webhooksPage, p))
	mux.Handle("POST /webhooks", s.authed(s.webhookCreate, p))
	mux.Handle("GET /webhooks/{id}", s.authed(s.webhookPage, p))
	mux.Handle("POST /webhooks/{id}", s.authed(s.webhookUpdate, p))
	mux.Handle("POST /webhooks/{id}/test", s.authed(s.webhookTest, p))
	mux.Handle("POST /webhooks/{id}/rotate", s.authed(s.webhookRotate, p))
	mux.Handle("POST /webhooks/{id}/delete", s.authed(s.webhookDelete, p))
	mux.Handle("POST /webhooks/{id}/replay", s.authed(s.webhookReplayRange, p))
	mux.Handle("POST /webhooks/{id}/deliveries/{did}/replay", s.authed(s.webhookReplay, p))
	s.apiWebhookRoutes(mux)
}

// webhookForm is the endpoint form as typed.
type webhookForm struct {
	URL, Description string
	Events           []string
	Personal         bool
	Enabled          bool
}

// Has reports whether the form lists an event.
func (f webhookForm) Has(ev string) bool { return slices.Contains(f.Events, ev) }

func webhookFormFrom(r *http.Request) webhookForm {
	f := webhookForm{URL: strings.TrimSpace(r.PostFormValue("url")), Description: strings.TrimSpace(r.PostFormValue("description")),
		Personal: r.PostFormValue("personal") == "1", Enabled: r.PostFormValue("enabled") == "1"}
	for _, e := range r.PostForm["events"] {
		if len(f.Events) <= len(feed.Types) {
			f.Events = append(f.Events, e)
		}
	}
	return f
}

func (f webhookForm) input() crmsync.EndpointInput {
	return crmsync.EndpointInput{URL: f.URL, Description: f.Description, Events: f.Events, IncludePersonal: f.Personal, Enabled: f.Enabled}
}

func webhookFormOf(e crmsync.Endpoint) webhookForm {
	return webhookForm{URL: e.URL, Description: e.Description, Events: e.Events, Personal: e.IncludePersonal, Enabled: e.Enabled}
}

type webhooksData struct {
	Endpoints []crmsync.Endpoint
	// Endpoint is the one shown ("" ID on the list page).
	Endpoint crmsync.Endpoint
	Form     webhookForm
	// Errs are the form's problems by field, translated.
	Errs map[string]string
	// Secret is a new signing secret, shown once.
	Secret string
	// Tested is the result of a test ping just sent.
	Tested *crmsync.Delivery
	// Deliveries is the endpoint's log; Older the cursor of the next page.
	Deliveries []crmsync.Delivery
	Older      string
	// From and To are the time-range replay form (UTC).
	From, To  string
	Events    []string
	AllowHTTP bool
	// typed says Form holds what was posted (shown back with its
	// problems) rather than the stored settings.
	typed bool
}

// webhookProblem turns a store error into the form's problems; false when
// it is not the tenant's to fix.
func (s *Server) webhookProblem(rc *reqCtx, err error, errs map[string]string) bool {
	var fes crmsync.FieldErrors
	var fe *crmsync.FieldError
	switch {
	case errors.As(err, &fes):
	case errors.As(err, &fe):
		fes = crmsync.FieldErrors{fe}
	default:
		return false
	}
	for _, fe := range fes {
		if errs[fe.Field] == "" {
			errs[fe.Field] = rc.t(s, fe.Message, fe.Args...)
		}
	}
	return true
}

func (s *Server) webhooksPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.renderWebhooks(w, r, rc, http.StatusOK, "", webhooksData{Form: webhookForm{Events: []string{feed.ResponseCompleted, feed.SubjectErased}, Enabled: true}})
}

func (s *Server) renderWebhooks(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, flash string, d webhooksData) {
	list, err := s.Webhooks.List(r.Context(), rc.tenant.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Endpoints, d.Events, d.AllowHTTP = list, feed.Types, s.Webhooks.AllowHTTP()
	errMsg := ""
	if d.Errs[""] != "" {
		errMsg = d.Errs[""]
	} else if len(d.Errs) > 0 {
		errMsg = rc.t(s, "The endpoint was not saved: see the problems next to the fields.")
	}
	s.render(w, r, rc, status, "webhooks", &view{Title: rc.t(s, "Webhooks"), Flash: flash, Error: errMsg, Data: d})
}

func (s *Server) webhookCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	f := webhookFormFrom(r)
	ep, secret, err := s.Webhooks.Create(r.Context(), rc.actor(), rc.tenant.ID, f.input())
	errs := map[string]string{}
	if err != nil {
		if s.webhookProblem(rc, err, errs) {
			s.renderWebhooks(w, r, rc, http.StatusUnprocessableEntity, "", webhooksData{Form: f, Errs: errs})
			return
		}
		s.fail(w, r, err)
		return
	}
	s.renderWebhook(w, r, rc, http.StatusCreated, ep.ID, rc.t(s, "Endpoint added."), webhooksData{Secret: secret})
}

// endpointID reads the {id} of the path; false (and a 404) when it is not
// an id.
func (s *Server) endpointID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if !db.ValidID(id) {
		s.fail(w, r, errNotFound)
		return "", false
	}
	return id, true
}

func (s *Server) webhookPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, ok := s.endpointID(w, r)
	if !ok {
		return
	}
	s.renderWebhook(w, r, rc, http.StatusOK, id, "", webhooksData{})
}

// renderWebhook shows one endpoint: its settings (d.Form when given, else
// as stored), its buttons and its delivery log.
func (s *Server) renderWebhook(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, id, flash string, d webhooksData) {
	ctx := r.Context()
	ep, err := s.Webhooks.Get(ctx, rc.tenant.ID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Endpoint, d.Events, d.AllowHTTP = ep, feed.Types, s.Webhooks.AllowHTTP()
	if !d.typed {
		d.Form = webhookFormOf(ep)
	}
	before := r.URL.Query().Get("before")
	if before != "" && !db.ValidID(before) {
		before = ""
	}
	if d.Deliveries, err = s.Webhooks.Deliveries(ctx, rc.tenant.ID, id, before, 50); err != nil {
		s.fail(w, r, err)
		return
	}
	if len(d.Deliveries) == 50 {
		d.Older = d.Deliveries[49].ID
	}
	if d.From == "" {
		now := time.Now().UTC()
		d.From, d.To = now.Add(-24*time.Hour).Format(rangeLayout), now.Add(time.Minute).Format(rangeLayout)
	}
	errMsg := d.Errs[""]
	if errMsg == "" && len(d.Errs) > 0 {
		errMsg = rc.t(s, "The endpoint was not saved: see the problems next to the fields.")
	}
	s.render(w, r, rc, status, "webhooks", &view{Title: rc.t(s, "Webhook: %s", ep.URL), Flash: flash, Error: errMsg, Data: d})
}

func (s *Server) webhookUpdate(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, ok := s.endpointID(w, r)
	if !ok {
		return
	}
	f := webhookFormFrom(r)
	_, err := s.Webhooks.Update(r.Context(), rc.actor(), rc.tenant.ID, id, f.input())
	errs := map[string]string{}
	switch {
	case err == nil:
		s.renderWebhook(w, r, rc, http.StatusOK, id, rc.t(s, "Endpoint saved."), webhooksData{})
	case s.webhookProblem(rc, err, errs):
		s.renderWebhook(w, r, rc, http.StatusUnprocessableEntity, id, "", webhooksData{Form: f, Errs: errs, typed: true})
	default:
		s.fail(w, r, err)
	}
}

func (s *Server) webhookTest(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, ok := s.endpointID(w, r)
	if !ok {
		return
	}
	d, err := s.Webhooks.TestSend(r.Context(), rc.actor(), rc.tenant.ID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderWebhook(w, r, rc, http.StatusOK, id, "", webhooksData{Tested: &d})
}

func (s *Server) webhookRotate(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, ok := s.endpointID(w, r)
	if !ok {
		return
	}
	secret, err := s.Webhooks.Rotate(r.Context(), rc.actor(), rc.tenant.ID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderWebhook(w, r, rc, http.StatusOK, id, rc.t(s, "New secret made. The previous one still signs every delivery for 24 hours, beside the new one."),
		webhooksData{Secret: secret})
}

func (s *Server) webhookDelete(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, ok := s.endpointID(w, r)
	if !ok {
		return
	}
	if err := s.Webhooks.Delete(r.Context(), rc.actor(), rc.tenant.ID, id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderWebhooks(w, r, rc, http.StatusOK, rc.t(s, "Endpoint deleted; its secret is destroyed. Its delivery log is kept 30 days."),
		webhooksData{Form: webhookForm{Events: []string{feed.ResponseCompleted, feed.SubjectErased}, Enabled: true}})
}

func (s *Server) webhookReplay(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, ok := s.endpointID(w, r)
	if !ok {
		return
	}
	did := r.PathValue("did")
	if !db.ValidID(did) {
		s.fail(w, r, errNotFound)
		return
	}
	err := s.Webhooks.Replay(r.Context(), rc.actor(), rc.tenant.ID, id, did)
	errs := map[string]string{}
	switch {
	case err == nil:
		s.renderWebhook(w, r, rc, http.StatusOK, id, rc.t(s, "The delivery is queued again, with the same webhook-id."), webhooksData{})
	case s.webhookProblem(rc, err, errs):
		s.renderWebhook(w, r, rc, http.StatusUnprocessableEntity, id, "", webhooksData{Errs: errs})
	default:
		s.fail(w, r, err)
	}
}

// rangeLayout is how the replay form writes times (datetime-local, UTC).
const rangeLayout = "2006-01-02T15:04"

func (s *Server) webhookReplayRange(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, ok := s.endpointID(w, r)
	if !ok {
		return
	}
	d := webhooksData{From: strings.TrimSpace(r.PostFormValue("from")), To: strings.TrimSpace(r.PostFormValue("to")), Errs: map[string]string{}}
	from, errFrom := time.Parse(rangeLayout, d.From)
	to, errTo := time.Parse(rangeLayout, d.To)
	if errFrom != nil {
		d.Errs["from"] = rc.t(s, "Give a date and time, such as 2026-03-01T09:00 (UTC).")
	}
	if errTo != nil {
		d.Errs["to"] = rc.t(s, "Give a date and time, such as 2026-03-01T09:00 (UTC).")
	}
	if len(d.Errs) > 0 {
		d.Errs[""] = rc.t(s, "Nothing was replayed: see the problems next to the fields.")
		s.renderWebhook(w, r, rc, http.StatusUnprocessableEntity, id, "", d)
		return
	}
	n, err := s.Webhooks.ReplayRange(r.Context(), rc.actor(), rc.tenant.ID, id, from, to)
	switch {
	case err == nil:
		s.renderWebhook(w, r, rc, http.StatusOK, id, rc.t(s, "%d deliveries queued again, in their order.", n), d)
	case s.webhookProblem(rc, err, d.Errs):
		s.renderWebhook(w, r, rc, http.StatusUnprocessableEntity, id, "", d)
	default:
		s.fail(w, r, err)
	}
}

// Problem writes a stored crmsync problem (a webhook delivery's, an export
// run's, an SFTP fetch's) in the page's language.
func (v *view) Problem(stored string) string {
	return crmsync.TranslateProblem(stored, v.T)
}

// Ms writes a duration in whole milliseconds.
func (v *view) Ms(d time.Duration) int64 { return d.Milliseconds() }
