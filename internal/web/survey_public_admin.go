package web

import (
	"net/http"
	"strings"
)

// surveyPublicData is the page of a survey's public link.
type surveyPublicData struct {
	SurveyID, Name string
	On             bool
	// URL is the link to give out, on the tenant's link domain when it set
	// one.
	URL string
}

// publicLinkURL is the address of a survey's public link.
func (s *Server) publicLinkURL(r *http.Request, tenantID, surveyID string) string {
	base := s.Config.BaseURL
	if st, err := s.Dispatch.Settings(r.Context(), tenantID); err == nil && st.LinkBaseURL != "" {
		base = st.LinkBaseURL
	}
	return strings.TrimRight(base, "/") + "/s/p/" + surveyID
}

// surveyPublicPage shows whether a survey's public link is on, and its
// address.
func (s *Server) surveyPublicPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	sv, ok := s.loadSurvey(w, r, rc)
	if !ok {
		return
	}
	on, err := s.Responses.PublicLink(r.Context(), rc.tenant.ID, sv.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	flash := ""
	if r.URL.Query().Get("m") == "saved" {
		flash = rc.t(s, "Saved.")
	}
	s.render(w, r, rc, http.StatusOK, "survey_public", &view{Title: rc.t(s, "Public link"), Flash: flash,
		Data: surveyPublicData{SurveyID: sv.ID, Name: sv.Name, On: on, URL: s.publicLinkURL(r, rc.tenant.ID, sv.ID)}})
}

// surveyPublicSet switches a survey's public link on or off.
func (s *Server) surveyPublicSet(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	sv, ok := s.loadSurvey(w, r, rc)
	if !ok {
		return
	}
	on := r.PostFormValue("enabled") == "1"
	if err := s.Responses.SetPublicLink(r.Context(), rc.actor(), rc.tenant.ID, sv.ID, on); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/surveys/"+sv.ID+"/public?m=saved", http.StatusSeeOther)
}
