package web

import (
	"net/http"
	"time"

	"avis/internal/privacy"
)

// requestRow is one entry of the request log as the admin page shows it.
type requestRow struct {
	privacy.Request
	KindLabel, OutcomeLabel string
	Overdue                 bool
}

// requestsPage lists the tenant's data-subject requests, newest first,
// with a filter by kind and a marker on those open past their deadline.
func (s *Server) requestsPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
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
			Overdue: q.Overdue(now)})
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
	s.render(w, r, rc, http.StatusOK, "requests", &view{Title: rc.t(s, "Data requests"), Data: map[string]any{
		"Rows": rows, "Kinds": kinds, "Filter": f, "Overdue": overdue, "Next": next}})
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
