package web

import (
	"errors"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"avis/internal/account"
	"avis/internal/db"
	"avis/internal/dispatch"
	"avis/internal/i18n"
	"avis/internal/privacy"
	"avis/internal/response"
	"avis/internal/survey"
)

// surveyPageRoutes registers the survey page /s/{token}, public links /s/p/{survey} and the thank-you page.
func (s *Server) surveyPageRoutes(mux *recordingMux) {
	// Kept in memory only: addresses are never stored.
	lim := newIPLimiter(publicPerIP, publicWindow)
	slots := newPageSlots(8 * runtime.GOMAXPROCS(0))
	mux.HandleFunc("GET /s/{token}", slots.bound(s.surveyGet))
	mux.HandleFunc("POST /s/{token}", slots.bound(s.surveyPost))
	mux.HandleFunc("GET /s/p/{survey}", slots.bound(s.publicSurveyGet))
	mux.HandleFunc("POST /s/p/{survey}", slots.bound(func(w http.ResponseWriter, r *http.Request) { s.publicSurveyPost(w, r, lim) }))
	manage := authOpts{perm: account.PermSurveysManage}
	mux.Handle("GET /surveys/{id}/public", s.authed(s.surveyPublicPage, manage))
	mux.Handle("POST /surveys/{id}/public", s.authed(s.surveyPublicSet, manage))
}

// pageSlots bounds how many survey page requests run at once; the others
// wait their turn, not runnable. When people's answers take all the CPU,
// hundreds of runnable page handlers made the server's other work (the
// webhook delivery of an endpoint, one request at a time in feed order)
// wait so long for each turn that it fell seconds behind: on SQLite at
// 770 responses/s through the pages, webhook delay p99 3.7 s with every
// request running at once, 0.3 s with 16 at a time (2 cores), for the
// same throughput (6 at a time lowered it by an eighth: the group commit
// gathers fewer submissions).
type pageSlots chan struct{}

func newPageSlots(n int) pageSlots { return make(pageSlots, n) }

// bound runs h when a slot is free, or gives up when the request is gone.
func (p pageSlots) bound(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case p <- struct{}{}:
		case <-r.Context().Done():
			return
		}
		defer func() { <-p }()
		h(w, r)
	}
}

// consentWording is the checkbox of the consent to publish, exactly as
// shown and recorded (translated into the page's language).
const consentWording = "I agree that my review may be published with my first name and the initial of my last name"

// answering is one person answering one survey: what the page and its
// form need, from an invitation or a public link.
type answering struct {
	tenantID string
	brand    *publicBrand
	surveyID string
	// resp is the response so far; nil before the first page is sent.
	resp *response.Response
	// start makes the response on the first page sent.
	start response.Start
	// sigToken is what the form's signature binds besides page and
	// version: the invitation token, or the public link and resume token.
	sigToken string
	// path is the page's address, without the language.
	path string
	// pick is the language to show when nothing more explicit is asked.
	pick string
	// invitation answers may give the consent to publish; meToken opens
	// the person's own page.
	invitation bool
	meToken    string
	public     bool
}

// link state pages: why a link opens no survey.
type linkState struct {
	Kind string
	// Max is the longest written answer, for the "too long" state.
	Max int
}

// Link states and their pages.
const (
	stateUnknown   = "unknown"   // 404: forged, mistyped or never sent
	stateExpired   = "expired"   // 410: the invitation's link expired
	stateClosed    = "closed"    // 410: the survey is gone or its public link off
	stateErased    = "erased"    // 410: the person's data was erased
	stateForbidden = "forbidden" // 403: a form this server did not make
	stateBusy      = "busy"      // 429: too many new responses from one address
	stateTooLong   = "too_long"  // 413: a page sent more than a form may hold
)

func (s *Server) linkState(w http.ResponseWriter, r *http.Request, status int, kind, lang string, brand *publicBrand) {
	switch status {
	case http.StatusRequestEntityTooLarge:
		s.publicPage(w, r, status, "public_link_state", publicOpts{Title: "Your answer is too long", Lang: lang, Brand: brand},
			linkState{Kind: kind, Max: survey.MaxLongText})
	case http.StatusNotFound:
		s.publicPage(w, r, status, "public_link_state", publicOpts{Title: "This link is not valid", Lang: lang, Brand: brand}, linkState{Kind: kind})
	case http.StatusForbidden:
		s.publicPage(w, r, status, "public_link_state", publicOpts{Title: "This form could not be accepted", Lang: lang, Brand: brand}, linkState{Kind: kind})
	case http.StatusTooManyRequests:
		s.publicPage(w, r, status, "public_link_state", publicOpts{Title: "Too many answers at once", Lang: lang, Brand: brand}, linkState{Kind: kind})
	default:
		s.publicPage(w, r, status, "public_link_state", publicOpts{Title: "This survey is closed", Lang: lang, Brand: brand}, linkState{Kind: kind})
	}
}

// thanksData is the thank-you page.
type thanksData struct {
	// MeURL opens the person's own page (invitations only).
	MeURL string
}

func (s *Server) thanks(w http.ResponseWriter, r *http.Request, a *answering) {
	d := thanksData{}
	if a.meToken != "" {
		d.MeURL = "/me/" + a.meToken
	}
	s.publicPage(w, r, http.StatusOK, "public_thanks", publicOpts{Title: "Thank you", Lang: a.pick, Brand: a.brand}, d)
}

// fromInvitation reads the invitation of a personal link and what its
// page needs; ok is false when a page was already written (a link state or
// the thank-you page).
func (s *Server) fromInvitation(w http.ResponseWriter, r *http.Request) (*answering, bool) {
	ctx := r.Context()
	token := r.PathValue("token")
	// The invitation and its response, if any, in one query.
	tenantID, inv, resp, err := s.Responses.ByToken(ctx, token)
	if errors.Is(err, db.ErrNotFound) {
		s.linkState(w, r, http.StatusNotFound, stateUnknown, "", nil)
		return nil, false
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	a := &answering{tenantID: tenantID, brand: s.brandFor(ctx, tenantID), surveyID: inv.SurveyID, sigToken: token,
		path: "/s/" + token, pick: inv.Language, invitation: true, meToken: token}
	if resp != nil {
		a.resp = resp
		a.pick = resp.Language
	}
	if inv.Status == dispatch.StatusAnswered || (a.resp != nil && a.resp.Complete()) {
		s.thanks(w, r, a)
		return nil, false
	}
	now := time.Now()
	if dispatch.Expired(inv, now) {
		s.linkState(w, r, http.StatusGone, stateExpired, a.pick, a.brand)
		return nil, false
	}
	if inv.Status == dispatch.StatusSuppressed && inv.Reason == dispatch.ReasonErased {
		s.linkState(w, r, http.StatusGone, stateErased, a.pick, a.brand)
		return nil, false
	}
	if !dispatch.Answerable(inv, now) {
		s.linkState(w, r, http.StatusNotFound, stateUnknown, a.pick, a.brand)
		return nil, false
	}
	a.start = response.Start{TenantID: tenantID, SurveyID: inv.SurveyID, InvitationID: inv.ID, ContactID: inv.ContactID, StepID: inv.StepID}
	return a, true
}

func (s *Server) surveyGet(w http.ResponseWriter, r *http.Request) {
	a, ok := s.fromInvitation(w, r)
	if !ok {
		return
	}
	s.showCurrent(w, r, a)
}

func (s *Server) surveyPost(w http.ResponseWriter, r *http.Request) {
	a, ok := s.fromInvitation(w, r)
	if !ok {
		return
	}
	s.submit(w, r, a)
}

// definition returns the survey version a response answers (the current
// one before it starts); ok is false when a page was written. The
// definition is shared (survey.Store.Definition): read it only.
func (s *Server) definition(w http.ResponseWriter, r *http.Request, a *answering, version int) (*survey.Definition, int, bool) {
	ctx := r.Context()
	if a.resp != nil {
		version = a.resp.SurveyVersion
	}
	var err error
	if version == 0 {
		version, err = s.Surveys.CurrentVersion(ctx, a.tenantID, a.surveyID)
	}
	var def *survey.Definition
	if err == nil {
		def, err = s.Surveys.Definition(ctx, a.tenantID, a.surveyID, version)
	}
	if errors.Is(err, db.ErrNotFound) {
		s.linkState(w, r, http.StatusGone, stateClosed, a.pick, a.brand)
		return nil, 0, false
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, 0, false
	}
	return def, version, true
}

// pageLang is the language of the page: an explicit ?lang=, else the
// response's or invitation's language when the survey offers it, else the
// browser's when the survey offers it, else the survey's default language.
func pageLang(r *http.Request, def *survey.Definition, pick string) string {
	if l := r.URL.Query().Get("lang"); i18n.Supported(l) {
		return l
	}
	if i18n.Supported(pick) && def.Lang(pick) == pick {
		return pick
	}
	if l := i18n.Match(r.Header.Get("Accept-Language")); def.Lang(l) == l && i18n.Supported(l) {
		return l
	}
	if i18n.Supported(def.DefaultLanguage) {
		return def.DefaultLanguage
	}
	return i18n.Default
}

// withLang adds the explicit ?lang= of the request to a path of the
// survey, so that the language chosen in the menu stays.
func withLang(r *http.Request, path string) string {
	if l := r.URL.Query().Get("lang"); i18n.Supported(l) {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		return path + sep + "lang=" + l
	}
	return path
}

// showCurrent shows the page the response is at.
func (s *Server) showCurrent(w http.ResponseWriter, r *http.Request, a *answering) {
	def, version, ok := s.definition(w, r, a, 0)
	if !ok {
		return
	}
	answers := survey.Answers{}
	page := 0
	if a.resp != nil {
		answers, page = a.resp.Answers, a.resp.Page
	}
	if page >= len(def.Pages) || !pageHasVisible(def, page, answers) {
		next, more := survey.NextPage(def, page-1, answers)
		if !more {
			next, _ = survey.NextPage(def, -1, answers)
		}
		page = min(next, len(def.Pages)-1)
	}
	s.showPage(w, r, a, def, version, page, answers, nil, http.StatusOK)
}

func pageHasVisible(def *survey.Definition, page int, answers survey.Answers) bool {
	for _, q := range def.Pages[page].Questions {
		if survey.Visible(def, answers, q.ID) {
			return true
		}
	}
	return false
}

// submit handles one page sent by the person.
func (s *Server) submit(w http.ResponseWriter, r *http.Request, a *answering) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		s.linkState(w, r, http.StatusRequestEntityTooLarge, stateTooLong, a.pick, a.brand)
		return
	}
	if !sameOrigin(r) {
		s.linkState(w, r, http.StatusForbidden, stateForbidden, a.pick, a.brand)
		return
	}
	page, err1 := strconv.Atoi(r.PostForm.Get("page"))
	version, err2 := strconv.Atoi(r.PostForm.Get("v"))
	if err1 != nil || err2 != nil || page < 0 || version < 1 {
		s.linkState(w, r, http.StatusForbidden, stateForbidden, a.pick, a.brand)
		return
	}
	if ok, err := s.Responses.CheckFormSig(ctx, a.tenantID, a.sigToken, page, version, r.PostForm.Get("sig")); err != nil {
		s.fail(w, r, err)
		return
	} else if !ok {
		s.linkState(w, r, http.StatusForbidden, stateForbidden, a.pick, a.brand)
		return
	}
	if a.resp != nil && a.resp.Complete() {
		s.thanks(w, r, a)
		return
	}
	if a.resp != nil && a.resp.SurveyVersion != version {
		// A form of another version of the survey: show the current page.
		http.Redirect(w, r, withLang(r, a.path), http.StatusSeeOther)
		return
	}
	def, version, ok := s.definition(w, r, a, version)
	if !ok {
		return
	}
	if page >= len(def.Pages) {
		s.linkState(w, r, http.StatusForbidden, stateForbidden, a.pick, a.brand)
		return
	}
	lang := pageLang(r, def, a.pick)
	given, parseErrs := response.ParseForm(def, page, r.PostForm)
	back := r.PostForm.Get("action") == "back"
	var shown []string // nil: the questions visible with the stored answers
	if v := r.PostForm.Get("shown"); v != "" {
		shown = strings.Split(v, ",")
	}
	if len(parseErrs) > 0 && !back {
		// Unreadable values: show them with the page's other problems,
		// storing nothing.
		merged := survey.Answers{}
		if a.resp != nil {
			for k, v := range a.resp.Answers {
				merged[k] = v
			}
		}
		for k, v := range given {
			merged[k] = v
		}
		errs := survey.ValidatePage(def, page, merged)
		if errs == nil {
			errs = map[string]error{}
		}
		for k, v := range parseErrs {
			errs[k] = v
		}
		s.showPage(w, r, a, def, version, page, formAnswers(def, page, a.resp, r.PostForm), errs, http.StatusUnprocessableEntity)
		return
	}
	start := a.start
	start.SurveyVersion, start.Language = version, def.Lang(lang)
	if n, ok := s.notice(r, a.tenantID, lang); ok {
		start.NoticeID, start.NoticeHash = n.ID, n.Hash
	}
	sub := response.Submission{Start: start, Def: def, Page: page, Answers: given, Back: back, Shown: shown}
	if a.resp != nil {
		sub.ResponseID = a.resp.ID
	}
	if a.invitation && r.PostForm.Get("consent") == "1" {
		sub.Consent = &response.Consent{Purpose: privacy.PurposePublishReview, Wording: s.cat.T(lang, consentWording), Language: lang}
	}
	out, err := s.Responses.Submit(ctx, sub)
	if errors.Is(err, response.ErrErased) {
		s.linkState(w, r, http.StatusGone, stateErased, a.pick, a.brand)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// From the first page sent on, a public-link response is carried by
	// the resume token in the address.
	here := a.path
	if a.public {
		here += "?r=" + url.QueryEscape(start.ResumeToken)
	}
	switch {
	case out.AlreadyComplete || out.Completed:
		// Committed: the thank-you page is the next GET.
		http.Redirect(w, r, withLang(r, here), http.StatusSeeOther)
	case out.Errors != nil:
		answers := out.Response.Answers
		if page == out.Response.Page {
			answers = formAnswers(def, page, a.resp, r.PostForm)
		}
		s.showPage(w, r, a, def, version, out.Response.Page, answers, out.Errors, http.StatusUnprocessableEntity)
	default:
		http.Redirect(w, r, withLang(r, here), http.StatusSeeOther)
	}
}

// formAnswers are the answers to show on a page sent back with problems:
// the stored answers, with the page's own replaced by what was sent, read
// leniently (a number that is no number is shown as sent).
func formAnswers(def *survey.Definition, page int, resp *response.Response, form url.Values) survey.Answers {
	out := survey.Answers{}
	if resp != nil {
		for k, v := range resp.Answers {
			out[k] = v
		}
	}
	given, _ := response.ParseForm(def, page, form)
	for _, q := range def.Pages[page].Questions {
		delete(out, q.ID)
		if a, ok := given[q.ID]; ok {
			out[q.ID] = a
		}
	}
	return out
}

// sameOrigin checks the Origin header when the browser sends one: a form
// posted from another site is refused. Browsers send "null" when the
// page's referrer policy is no-referrer (as avis's is): the form's
// signature then proves where it came from.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// notice returns the tenant's information notice in a language; ok is
// false when there is none (it is then not shown nor recorded).
func (s *Server) notice(r *http.Request, tenantID, lang string) (privacy.Notice, bool) {
	if s.Notices == nil {
		return privacy.Notice{}, false
	}
	n, err := s.noticeFor(r.Context(), tenantID, lang)
	if err != nil {
		s.Log.Warn("web: information notice", "tenant", tenantID, "err", err)
		return privacy.Notice{}, false
	}
	return n, true
}
