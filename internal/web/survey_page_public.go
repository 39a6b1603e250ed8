package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"avis/internal/db"
	"avis/internal/response"
)

// Abuse limits of public links: new responses per address and window.
const (
	publicPerIP  = 20
	publicWindow = 10 * time.Minute
)

// fromPublicLink reads what the page of a survey's public link needs: the
// survey (its link must be on) and, with the resume token ?r=, the
// response so far. ok is false when a page was written.
func (s *Server) fromPublicLink(w http.ResponseWriter, r *http.Request) (*answering, bool) {
	ctx := r.Context()
	surveyID := r.PathValue("survey")
	tenantID, err := s.Responses.PublicSurvey(ctx, surveyID)
	if errors.Is(err, db.ErrNotFound) {
		s.linkState(w, r, http.StatusNotFound, stateUnknown, "", nil)
		return nil, false
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	a := &answering{tenantID: tenantID, brand: s.brandFor(ctx, tenantID), surveyID: surveyID, path: "/s/p/" + surveyID, public: true}
	a.start = response.Start{TenantID: tenantID, SurveyID: surveyID}
	if token := r.URL.Query().Get("r"); token != "" {
		resp, err := s.Responses.ByResume(ctx, tenantID, surveyID, token)
		if errors.Is(err, db.ErrNotFound) {
			s.linkState(w, r, http.StatusNotFound, stateUnknown, "", a.brand)
			return nil, false
		}
		if err != nil {
			s.fail(w, r, err)
			return nil, false
		}
		a.resp, a.pick, a.start.ResumeToken = &resp, resp.Language, token
		if resp.Complete() {
			s.thanks(w, r, a)
			return nil, false
		}
	}
	a.sigToken = "p:" + surveyID + ":" + a.start.ResumeToken
	return a, true
}

func (s *Server) publicSurveyGet(w http.ResponseWriter, r *http.Request) {
	a, ok := s.fromPublicLink(w, r)
	if !ok {
		return
	}
	s.showCurrent(w, r, a)
}

// publicSurveyPost takes a page of a public link. A filled honeypot gets
// the thank-you page and nothing is stored; a new response counts against
// the address's limit (kept in memory only).
func (s *Server) publicSurveyPost(w http.ResponseWriter, r *http.Request, lim *ipLimiter) {
	a, ok := s.fromPublicLink(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.linkState(w, r, http.StatusRequestEntityTooLarge, stateTooLong, a.pick, a.brand)
		return
	}
	if r.PostForm.Get("website") != "" {
		s.thanks(w, r, a)
		return
	}
	if a.resp == nil {
		if ok, wait := lim.allow(s.clientIP(r), time.Now()); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+1)))
			s.linkState(w, r, http.StatusTooManyRequests, stateBusy, "", a.brand)
			return
		}
		a.start.ResumeToken = response.NewResumeToken()
	}
	s.submit(w, r, a)
}
