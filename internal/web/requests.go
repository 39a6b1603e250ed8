package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"avis/internal/db"
	"avis/internal/privacy"
)

// requestRow is one entry of the request log as the admin page shows it.
type requestRow struct {
	privacy.Request
	KindLabel, OutcomeLabel, ChannelLabel string
	Overdue                               bool
}

// requestForm is the form that records a request received by email or
// post, with its problems by field id.
type requestForm struct {
	Kind, Person, Channel, Received string
	Errs                            formErrors
}

// newRequestForm is the empty recording form: received by email, today.
func newRequestForm() requestForm {
	return requestForm{Channel: privacy.ChannelEmail, Received: time.Now().Format(time.DateOnly)}
}

// manualKinds are the kinds of request the tenant records by hand.
var manualKinds = []string{privacy.RequestAccess, privacy.RequestExport, privacy.RequestRectification, privacy.RequestWithdrawal,
	privacy.RequestUnsubscribe, privacy.RequestErasure}

// requestsPage lists the tenant's data-subject requests, newest first,
// with a filter by kind and a marker on those open past their deadline.
func (s *Server) requestsPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.renderRequests(w, r, rc, http.StatusOK, "", "", newRequestForm())
}

// renderRequests shows the request log with a message and the recording
// form as given.
func (s *Server) renderRequests(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, flash, problem string, form requestForm) {
	if form.Errs == nil {
		form.Errs = formErrors{}
	}
	q := r.URL.Query()
	f := privacy.RequestFilter{Kind: q.Get("kind"), OpenOnly: q.Get("open") == "1", Before: q.Get("before"), Limit: 100}
	known := f.Kind == ""
	for _, k := range privacy.RequestKinds {
		known = known || k == f.Kind
	}
	if !known {
		f.Kind = ""
	}
	list, err := s.Requests.List(r.Context(), rc.tenant.ID, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := time.Now()
	overdue, err := s.Requests.CountOverdue(r.Context(), rc.tenant.ID, now)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows := make([]requestRow, 0, len(list))
	for _, q := range list {
		rows = append(rows, requestRow{Request: q, KindLabel: requestKindLabel(s, rc, q.Kind), OutcomeLabel: requestOutcomeLabel(s, rc, q.Outcome),
			ChannelLabel: requestChannelLabel(s, rc, q.Channel), Overdue: q.Overdue(now)})
	}
	type kindOpt struct {
		Value, Label string
		Current      bool
	}
	kinds := []kindOpt{{"", rc.t(s, "All kinds"), f.Kind == ""}}
	for _, k := range privacy.RequestKinds {
		kinds = append(kinds, kindOpt{k, requestKindLabel(s, rc, k), k == f.Kind})
	}
	next := ""
	if len(list) == f.Limit {
		next = list[len(list)-1].ID
	}
	manual := make([]kindOpt, 0, len(manualKinds))
	for _, k := range manualKinds {
		manual = append(manual, kindOpt{k, requestKindLabel(s, rc, k), k == form.Kind})
	}
	s.render(w, r, rc, status, "requests", &view{Title: rc.t(s, "Data requests"), Flash: flash, Error: problem, Data: map[string]any{
		"Rows": rows, "Kinds": kinds, "Filter": f, "Overdue": overdue, "Next": next, "Form": form, "Manual": manual,
		"ExtendComplex": privacy.ExtendComplex, "ExtendNumber": privacy.ExtendNumber, "Now": now}})
}

// requestRecord records a request the tenant received by email or post:
// the person is found by an address on file or by their contact id, and
// the request stays open, with its one-month deadline, until answered.
func (s *Server) requestRecord(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	ctx := r.Context()
	f := requestForm{Kind: r.PostFormValue("kind"), Person: strings.TrimSpace(r.PostFormValue("person")),
		Channel: r.PostFormValue("channel"), Received: strings.TrimSpace(r.PostFormValue("received")), Errs: formErrors{}}
	if !slices.Contains(manualKinds, f.Kind) {
		f.Errs.add("rq-kind", rc.t(s, "Choose what the person asked for."))
	}
	if f.Channel != privacy.ChannelEmail && f.Channel != privacy.ChannelPost {
		f.Errs.add("rq-channel", rc.t(s, "Choose how the request reached you: by email or by post."))
	}
	now := time.Now()
	received, err := time.ParseInLocation(time.DateOnly, f.Received, time.Local)
	switch {
	case err != nil:
		f.Errs.add("rq-received", rc.t(s, "Give the date you received the request, as on a calendar (e.g. 2026-03-31)."))
	case received.After(now):
		f.Errs.add("rq-received", rc.t(s, "The date is in the future: give the day you received the request."))
	case received.Before(now.AddDate(-1, 0, 0)):
		f.Errs.add("rq-received", rc.t(s, "The date is more than a year ago: give the day you received the request."))
	}
	if received.Year() == now.Year() && received.YearDay() == now.YearDay() {
		received = now // today: the deadline runs from now
	}
	subject := ""
	switch {
	case f.Person == "":
		f.Errs.add("rq-person", rc.t(s, "Give the person's email address or phone number on file, or their contact id."))
	case db.ValidID(strings.ToLower(f.Person)):
		id := strings.ToLower(f.Person)
		_, err := s.Contacts.Exists(ctx, rc.tenant.ID, id)
		switch {
		case errors.Is(err, db.ErrNotFound):
			f.Errs.add("rq-person", rc.t(s, "No contact has this id."))
		case err != nil:
			s.fail(w, r, err)
			return
		default:
			subject = id
		}
	default:
		region, err := s.Contacts.DefaultRegion(ctx, rc.tenant.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		field, norm, problem := parseAddress(f.Person, region)
		if problem != "" {
			f.Errs.add("rq-person", rc.t(s, problem))
			break
		}
		id, err := s.Contacts.FindByAddress(ctx, rc.tenant.ID, field, norm)
		switch {
		case errors.Is(err, db.ErrNotFound):
			f.Errs.add("rq-person", rc.t(s, "No contact has this address: you hold no data about this person to give, correct or erase. Tell them so."))
		case err != nil:
			s.fail(w, r, err)
			return
		default:
			subject = id
		}
	}
	if f.Errs.Count() > 0 {
		s.renderRequests(w, r, rc, http.StatusUnprocessableEntity, "", rc.t(s, "The request was not recorded: see the fields marked below."), f)
		return
	}
	if _, err := s.Requests.Record(ctx, nil, rc.actor(), rc.tenant.ID, privacy.Request{Kind: f.Kind, SubjectID: subject,
		Channel: f.Channel, ReceivedAt: received}); err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderRequests(w, r, rc, http.StatusOK, rc.t(s, "Request recorded. Answer it before its deadline, then mark it answered."), "",
		requestForm{Channel: f.Channel, Received: now.Format(time.DateOnly)})
}

// requestExtend moves an open request's deadline by two further months.
func (s *Server) requestExtend(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id := r.PathValue("id")
	if !db.ValidID(id) {
		s.fail(w, r, errNotFound)
		return
	}
	_, err := s.Requests.Extend(r.Context(), rc.actor(), rc.tenant.ID, id, r.PostFormValue("reason"))
	blank := newRequestForm()
	switch {
	case errors.Is(err, db.ErrNotFound):
		s.fail(w, r, errNotFound)
	case errors.Is(err, privacy.ErrExtendReason):
		s.renderRequests(w, r, rc, http.StatusUnprocessableEntity, "", rc.t(s, "Choose why the answer needs more time: the request is complex, or there are many requests."), blank)
	case errors.Is(err, privacy.ErrAlreadyExtended):
		s.renderRequests(w, r, rc, http.StatusConflict, "", rc.t(s, "This deadline was already extended: the law allows it once, by two months."), blank)
	case errors.Is(err, privacy.ErrExtendTooLate):
		s.renderRequests(w, r, rc, http.StatusConflict, "", rc.t(s, "The first month is over: a deadline can only be extended within one month of receiving the request."), blank)
	case errors.Is(err, privacy.ErrRequestClosed):
		s.renderRequests(w, r, rc, http.StatusConflict, "", rc.t(s, "This request is already answered."), blank)
	case err != nil:
		s.fail(w, r, err)
	default:
		s.renderRequests(w, r, rc, http.StatusOK, rc.t(s, "Deadline extended by two months. Tell the person now, with the reason."), "", blank)
	}
}

// requestComplete marks an open request answered with its outcome.
func (s *Server) requestComplete(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id := r.PathValue("id")
	outcome := r.PostFormValue("outcome")
	if !db.ValidID(id) {
		s.fail(w, r, errNotFound)
		return
	}
	blank := newRequestForm()
	if outcome != privacy.OutcomeDone && outcome != privacy.OutcomeNoChange && outcome != privacy.OutcomeRefused {
		s.renderRequests(w, r, rc, http.StatusUnprocessableEntity, "", rc.t(s, "Choose how the request was answered."), blank)
		return
	}
	if _, err := s.Requests.Get(r.Context(), rc.tenant.ID, id); err != nil {
		if errors.Is(err, db.ErrNotFound) {
			err = errNotFound
		}
		s.fail(w, r, err)
		return
	}
	if err := s.Requests.Complete(r.Context(), rc.actor(), rc.tenant.ID, id, outcome); err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderRequests(w, r, rc, http.StatusOK, rc.t(s, "Request marked answered."), "", blank)
}

// requestKindLabel names a kind of request in the page's language.
func requestKindLabel(s *Server, rc *reqCtx, kind string) string {
	switch kind {
	case privacy.RequestAccess:
		return rc.t(s, "Access (read their page)")
	case privacy.RequestExport:
		return rc.t(s, "Portability (download)")
	case privacy.RequestRectification:
		return rc.t(s, "Rectification")
	case privacy.RequestWithdrawal:
		return rc.t(s, "Withdrawal of consent")
	case privacy.RequestUnsubscribe:
		return rc.t(s, "Objection to messages (unsubscribe)")
	case privacy.RequestErasure:
		return rc.t(s, "Erasure")
	case privacy.RequestAccessLink:
		return rc.t(s, "Access link sent")
	}
	return kind
}

// requestOutcomeLabel names an outcome in the page's language.
func requestOutcomeLabel(s *Server, rc *reqCtx, outcome string) string {
	switch outcome {
	case privacy.OutcomeDone:
		return rc.t(s, "Done")
	case privacy.OutcomeNoChange:
		return rc.t(s, "Nothing to change")
	case privacy.OutcomeLinkSent:
		return rc.t(s, "Link sent to the address on file")
	case privacy.OutcomeRefused:
		return rc.t(s, "Refused")
	case "":
		return rc.t(s, "Open")
	}
	return outcome
}

// requestChannelLabel names how a request arrived in the page's language.
func requestChannelLabel(s *Server, rc *reqCtx, channel string) string {
	switch channel {
	case privacy.ChannelSelfService:
		return rc.t(s, "Their own page")
	case privacy.ChannelEmail:
		return rc.t(s, "Email")
	case privacy.ChannelPost:
		return rc.t(s, "Post")
	case privacy.ChannelAPI:
		return rc.t(s, "Your CRM (API)")
	}
	return channel
}
