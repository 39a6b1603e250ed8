package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"avis/internal/privacy"
	"avis/internal/response"
	"avis/internal/survey"
)

// surveyPageData is one page of a survey as the person sees it.
type surveyPageData struct {
	// Action is where the form goes; Page, Version, Sig and Shown are its
	// hidden fields.
	Action             string
	Page, Version      int
	Sig, Shown         string
	PageNum, PageCount int
	Questions          []questionView
	// Errors is the summary at the top: one link per question with a
	// problem.
	Errors      []errorLink
	First, Last bool
	// Consent offers the consent to publish (the last page of an
	// invitation's survey), with the publication terms at TermsURL.
	Consent  bool
	TermsURL string
	// Honeypot adds the field that only robots fill (public links).
	Honeypot bool
	// ContentLang is set when the survey's own texts are in another
	// language than the page.
	ContentLang string
	// Notice is the information notice (rendered by noticeHTML), with its
	// full text at NoticeURL.
	Notice    template.HTML
	NoticeURL string
}

// renderedNotices keeps the information notices as the survey page shows
// them, by notice id: a notice version never changes, and it is more than
// half of every page (4 KB of 7) and of the time spent rendering it.
var renderedNotices struct {
	mu sync.Mutex
	m  map[string]template.HTML
}

// noticeHTML returns a notice's blocks rendered by the survey page's
// "nblock" template, rendering them once per notice version.
func (s *Server) noticeHTML(n privacy.Notice) (template.HTML, error) {
	renderedNotices.mu.Lock()
	h, ok := renderedNotices.m[n.ID]
	renderedNotices.mu.Unlock()
	if ok {
		return h, nil
	}
	var buf bytes.Buffer
	for _, b := range n.Blocks() {
		if err := s.pages.byName["public_survey"].ExecuteTemplate(&buf, "nblock", b); err != nil {
			return "", fmt.Errorf("notice %s: %w", n.ID, err)
		}
	}
	h = template.HTML(buf.String())
	renderedNotices.mu.Lock()
	if renderedNotices.m == nil || len(renderedNotices.m) >= 1000 {
		renderedNotices.m = map[string]template.HTML{}
	}
	renderedNotices.m[n.ID] = h
	renderedNotices.mu.Unlock()
	return h, nil
}

// questionView is one question on the page.
type questionView struct {
	ID, Field  string
	Text, Help string
	Required   bool
	// Group questions (scales, choices, yes/no) are a fieldset of options;
	// the others a text field (Long: a textarea).
	Group, Scale, Multi, Long bool
	Options                   []optionView
	Low, High                 string
	Value                     string
	MaxLen                    int
	Err                       string
	// Describe lists the ids that describe the field (help, scale ends,
	// error), for aria-describedby.
	Describe string
	// First is the id of the first control, where the error summary links.
	First string
}

type optionView struct {
	ID, Value, Label string
	Checked          bool
}

type errorLink struct {
	Href, Text string
}

// errText translates an answer error for the person.
func (s *Server) errText(lang string, err error) string {
	var ae *survey.AnswerError
	if errors.As(err, &ae) {
		return s.cat.T(lang, ae.Message, ae.Args...)
	}
	return s.cat.T(lang, survey.MsgWrongKind)
}

// showPage renders one page of the survey with the answers given so far
// and the problems found.
func (s *Server) showPage(w http.ResponseWriter, r *http.Request, a *answering, def *survey.Definition, version, page int,
	answers survey.Answers, errs map[string]error, status int) {
	ctx := r.Context()
	lang := pageLang(r, def, a.pick)
	content := def.Lang(lang)
	sig, err := s.Responses.FormSig(ctx, a.tenantID, a.sigToken, page, version)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	action := a.path
	if a.public && a.resp != nil {
		action = a.path + "?r=" + a.start.ResumeToken
	}
	d := surveyPageData{Action: withLang(r, action), Page: page, Version: version, Sig: sig,
		PageNum: page + 1, PageCount: len(def.Pages), Honeypot: a.public}
	if content != lang {
		d.ContentLang = content
	}
	_, more := survey.NextPage(def, page, answers)
	d.Last = !more
	d.First = prevVisible(def, page, answers) < 0
	if d.Last && a.invitation {
		d.Consent = true
		d.TermsURL = "/legal/" + a.tenantID + "/publication?lang=" + lang
	}
	if n, ok := s.notice(r, a.tenantID, lang); ok {
		h, err := s.noticeHTML(n)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d.Notice, d.NoticeURL = h, noticeURL(n)
	}
	var shown []string
	for i := range def.Pages[page].Questions {
		q := &def.Pages[page].Questions[i]
		if !survey.Visible(def, answers, q.ID) {
			continue
		}
		shown = append(shown, q.ID)
		qv := s.questionView(lang, content, def, q, answers[q.ID])
		if e := errs[q.ID]; e != nil {
			qv.Err = s.errText(lang, e)
			d.Errors = append(d.Errors, errorLink{Href: "#" + qv.First, Text: qv.Text + " — " + qv.Err})
		}
		var desc []string
		if qv.Help != "" {
			desc = append(desc, "q-"+q.ID+"-help")
		}
		if qv.Low != "" || qv.High != "" {
			desc = append(desc, "q-"+q.ID+"-ends")
		}
		if qv.Err != "" {
			desc = append(desc, "q-"+q.ID+"-err")
		}
		qv.Describe = strings.Join(desc, " ")
		d.Questions = append(d.Questions, qv)
	}
	d.Shown = strings.Join(shown, ",")
	s.publicPage(w, r, status, "public_survey", publicOpts{Title: "Your opinion", Lang: lang, Brand: a.brand}, d)
}

// prevVisible returns the page before current with a visible question, or
// -1.
func prevVisible(def *survey.Definition, current int, answers survey.Answers) int {
	for p := current - 1; p >= 0; p-- {
		if pageHasVisible(def, p, answers) {
			return p
		}
	}
	return -1
}

// questionView prepares one question: its texts in the survey's language,
// its options, and the answer given.
func (s *Server) questionView(lang, content string, def *survey.Definition, q *survey.Question, a survey.Answer) questionView {
	qv := questionView{ID: q.ID, Field: response.FieldName(q.ID), Text: def.Text(q.Text, content), Help: def.Text(q.Help, content),
		Required: q.Required, First: "q-" + q.ID}
	opt := func(i int, value, label string, checked bool) {
		qv.Options = append(qv.Options, optionView{ID: "q-" + q.ID + "-" + strconv.Itoa(i), Value: value, Label: label, Checked: checked})
	}
	switch {
	case q.Type.Scale():
		qv.Group, qv.Scale = true, true
		lo, hi, _ := q.Scale()
		for n := lo; n <= hi; n++ {
			opt(n-lo, strconv.Itoa(n), strconv.Itoa(n), a.Number != nil && *a.Number == n)
		}
		qv.Low, qv.High = def.Text(q.LowLabel, content), def.Text(q.HighLabel, content)
	case q.Type == survey.TypeYesNo:
		qv.Group = true
		opt(0, survey.Yes, s.cat.T(lang, "Yes"), a.Bool != nil && *a.Bool)
		opt(1, survey.No, s.cat.T(lang, "No"), a.Bool != nil && !*a.Bool)
	case q.Type == survey.TypeSingle || q.Type == survey.TypeMulti:
		qv.Group, qv.Multi = true, q.Type == survey.TypeMulti
		for i, c := range q.Choices {
			checked := false
			for _, k := range a.Choices {
				checked = checked || k == c.Key
			}
			opt(i, c.Key, def.Text(c.Text, content), checked)
		}
	default:
		qv.Value = a.Text
		qv.MaxLen = survey.MaxShortText
		if q.Type == survey.TypeLongText {
			qv.Long, qv.MaxLen = true, survey.MaxLongText
		}
	}
	if qv.Group && len(qv.Options) > 0 {
		qv.First = qv.Options[0].ID
	}
	return qv
}
