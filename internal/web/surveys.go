package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"avis/internal/account"
	"avis/internal/db"
	"avis/internal/i18n"
	"avis/internal/survey"
)

// surveyRoutes registers the survey editor and /api/v1/surveys.
func (s *Server) surveyRoutes(mux *recordingMux) {
	read := authOpts{perm: account.PermResultsRead}
	manage := authOpts{perm: account.PermSurveysManage}
	mux.Handle("GET /surveys", s.authed(s.surveysPage, read))
	mux.Handle("POST /surveys", s.authed(s.surveyCreate, manage))
	mux.Handle("POST /surveys/import", s.authed(s.surveyImport, manage))
	mux.Handle("GET /surveys/{id}", s.authed(s.surveyPage, read))
	mux.Handle("GET /surveys/{id}/export.json", s.authed(s.surveyExport, read))
	mux.Handle("POST /surveys/{id}/status", s.authed(s.surveyStatus, manage))
	mux.Handle("POST /surveys/{id}/settings", s.authed(s.surveySettings, manage))
	mux.Handle("POST /surveys/{id}/questions", s.authed(s.surveyAddQuestion, manage))
	mux.Handle("GET /surveys/{id}/questions/{qid}", s.authed(s.surveyQuestionPage, manage))
	mux.Handle("POST /surveys/{id}/questions/{qid}", s.authed(s.surveyQuestionSave, manage))
	mux.Handle("POST /surveys/{id}/questions/{qid}/move", s.authed(s.surveyQuestionMove, manage))
	mux.Handle("POST /surveys/{id}/questions/{qid}/delete", s.authed(s.surveyQuestionDelete, manage))

	mux.Handle("GET /api/v1/surveys", s.api(s.apiSurveys, "surveys:read"))
	mux.Handle("POST /api/v1/surveys", s.api(s.apiSurveyCreate, "surveys:write"))
	mux.Handle("GET /api/v1/surveys/{id}", s.api(s.apiSurvey, "surveys:read"))
	mux.Handle("PUT /api/v1/surveys/{id}", s.api(s.apiSurveyUpdate, "surveys:write"))
	mux.Handle("GET /api/v1/surveys/{id}/versions", s.api(s.apiSurveyVersions, "surveys:read"))
	mux.Handle("GET /api/v1/surveys/{id}/versions/{version}", s.api(s.apiSurveyVersion, "surveys:read"))
}

// ---- Shared pieces --------------------------------------------------------

// formErrors holds the problems of a form by the id of the field they
// belong to; "" holds the problems of the form as a whole.
type formErrors map[string][]string

func (f formErrors) add(field, msg string) {
	f[field] = append(f[field], msg)
}

// For returns the problems of a field.
func (f formErrors) For(field string) []string { return f[field] }

// Has reports whether a field has a problem.
func (f formErrors) Has(field string) bool { return len(f[field]) > 0 }

// Describe returns the ids that describe a field (its help, then its
// error message), for aria-describedby; "" when there are none.
func (f formErrors) Describe(field, help string) string {
	var ids []string
	if help != "" {
		ids = append(ids, help)
	}
	if f.Has(field) {
		ids = append(ids, field+"-err")
	}
	return strings.Join(ids, " ")
}

// Count returns the number of problems.
func (f formErrors) Count() int {
	n := 0
	for _, m := range f {
		n += len(m)
	}
	return n
}

// surveyLang is a language a survey may offer, for forms.
type surveyLang struct {
	Code, Name string
	Checked    bool
}

func surveyLangs(checked []string) []surveyLang {
	out := make([]surveyLang, 0, len(survey.Languages))
	for _, l := range survey.Languages {
		out = append(out, surveyLang{Code: l, Name: i18n.Names[l], Checked: slices.Contains(checked, l)})
	}
	return out
}

// surveyMessages are the notices shown after a change, by the code the
// redirect carries (never the text itself).
func (s *Server) surveyNotice(rc *reqCtx, code string) string {
	switch code {
	case "created":
		return rc.t(s, "Survey created with a first question: change it and add others.")
	case "imported":
		return rc.t(s, "Survey imported.")
	case "saved":
		return rc.t(s, "Saved: this is a new version of the survey.")
	case "unchanged":
		return rc.t(s, "Nothing changed.")
	case "added":
		return rc.t(s, "Question added.")
	case "deleted":
		return rc.t(s, "Question deleted.")
	case "moved":
		return rc.t(s, "Question moved.")
	case "status":
		return rc.t(s, "Status saved.")
	}
	return ""
}

// typeName names a question type in the page's language.
func (s *Server) typeName(lang string, t survey.Type) string {
	switch t {
	case survey.TypeNPS:
		return s.cat.T(lang, "Recommendation, NPS (0 to 10)")
	case survey.TypeCSAT:
		return s.cat.T(lang, "Satisfaction, CSAT (1 to 5)")
	case survey.TypeCES:
		return s.cat.T(lang, "Effort, CES (1 to 7)")
	case survey.TypeRating:
		return s.cat.T(lang, "Rating scale")
	case survey.TypeSingle:
		return s.cat.T(lang, "One choice")
	case survey.TypeMulti:
		return s.cat.T(lang, "Several choices")
	case survey.TypeYesNo:
		return s.cat.T(lang, "Yes or no")
	case survey.TypeText:
		return s.cat.T(lang, "Short text")
	case survey.TypeLongText:
		return s.cat.T(lang, "Long text (comment)")
	}
	return string(t)
}

func (s *Server) opName(lang string, op survey.Op) string {
	switch op {
	case survey.OpLT:
		return s.cat.T(lang, "is less than")
	case survey.OpLE:
		return s.cat.T(lang, "is at most")
	case survey.OpEQ:
		return s.cat.T(lang, "is equal to")
	case survey.OpNE:
		return s.cat.T(lang, "is not equal to")
	case survey.OpGE:
		return s.cat.T(lang, "is at least")
	case survey.OpGT:
		return s.cat.T(lang, "is more than")
	case survey.OpIs:
		return s.cat.T(lang, "is (choice)")
	case survey.OpIsNot:
		return s.cat.T(lang, "is not (choice)")
	case survey.OpAnyOf:
		return s.cat.T(lang, "is one of (choices)")
	case survey.OpAnswered:
		return s.cat.T(lang, "was answered")
	case survey.OpNotAnswered:
		return s.cat.T(lang, "was not answered")
	}
	return string(op)
}

func (s *Server) statusName(lang string, st survey.Status) string {
	switch st {
	case survey.StatusDraft:
		return s.cat.T(lang, "Draft")
	case survey.StatusActive:
		return s.cat.T(lang, "Active")
	case survey.StatusArchived:
		return s.cat.T(lang, "Archived")
	}
	return string(st)
}

// choiceWords names a choice key of a question the way a reader knows it:
// its text in the survey's default language, or yes and no.
func (s *Server) choiceWords(lang string, d *survey.Definition, q *survey.Question, key string) string {
	if q != nil && q.Type == survey.TypeYesNo {
		switch key {
		case survey.Yes:
			return s.cat.T(lang, "yes (answer)")
		case survey.No:
			return s.cat.T(lang, "no (answer)")
		}
	}
	if q != nil {
		for _, c := range q.Choices {
			if c.Key == key {
				if t := d.Text(c.Text, d.DefaultLanguage); t != "" {
					return t
				}
			}
		}
	}
	return key
}

// conditionWords says a display condition in a sentence.
func (s *Server) conditionWords(lang string, d *survey.Definition, c *survey.Condition) string {
	if c == nil {
		return ""
	}
	ref, _, _ := d.Question(c.Question)
	key := func(i int) string {
		if i < len(c.Keys) {
			return s.choiceWords(lang, d, ref, c.Keys[i])
		}
		return ""
	}
	q := c.Question
	switch c.Op {
	case survey.OpLT:
		return s.cat.T(lang, "Shown only if the answer to “%s” is less than %d.", q, c.Value)
	case survey.OpLE:
		return s.cat.T(lang, "Shown only if the answer to “%s” is at most %d.", q, c.Value)
	case survey.OpEQ:
		return s.cat.T(lang, "Shown only if the answer to “%s” is %d.", q, c.Value)
	case survey.OpNE:
		return s.cat.T(lang, "Shown only if the answer to “%s” is not %d.", q, c.Value)
	case survey.OpGE:
		return s.cat.T(lang, "Shown only if the answer to “%s” is at least %d.", q, c.Value)
	case survey.OpGT:
		return s.cat.T(lang, "Shown only if the answer to “%s” is more than %d.", q, c.Value)
	case survey.OpIs:
		if ref != nil && ref.Type == survey.TypeMulti {
			return s.cat.T(lang, "Shown only if the answers to “%s” include “%s”.", q, key(0))
		}
		return s.cat.T(lang, "Shown only if the answer to “%s” is “%s”.", q, key(0))
	case survey.OpIsNot:
		if ref != nil && ref.Type == survey.TypeMulti {
			return s.cat.T(lang, "Shown only if the answers to “%s” do not include “%s”.", q, key(0))
		}
		return s.cat.T(lang, "Shown only if the answer to “%s” is not “%s”.", q, key(0))
	case survey.OpAnyOf:
		words := make([]string, len(c.Keys))
		for i := range c.Keys {
			words[i] = "“" + key(i) + "”"
		}
		return s.cat.T(lang, "Shown only if the answer to “%s” is one of %s.", q, strings.Join(words, ", "))
	case survey.OpAnswered:
		return s.cat.T(lang, "Shown only if “%s” was answered.", q)
	case survey.OpNotAnswered:
		return s.cat.T(lang, "Shown only if “%s” was not answered.", q)
	}
	return string(c.Op)
}

// problemPatterns translate the problems of survey.ValidationErrors that
// carry values; args are the groups passed to the message, in order.
var problemPatterns = []struct {
	re   *regexp.Regexp
	msg  string
	args []int
}{
	{regexp.MustCompile(`^missing; every question needs a text in the default language \((\w+)\)$`), "Missing: every question needs a text in the default language (%s).", []int{1}},
	{regexp.MustCompile(`^missing; every choice needs a text in the default language \((\w+)\)$`), "Missing: every choice needs a text in the default language (%s).", []int{1}},
	{regexp.MustCompile(`^missing; (?:the help text|the label) is given in other languages, so give it in the default language \((\w+)\) too, or remove it$`), "Missing: this text is given in other languages, so give it in the default language (%s) too, or remove it.", []int{1}},
	{regexp.MustCompile(`^"(.*)" is not a valid id; use 1 to 40 lower-case letters, digits and '_'$`), "“%s” is not a valid id: use 1 to 40 lower-case letters, digits and '_'.", []int{1}},
	{regexp.MustCompile(`^"(.*)" is already the id of an earlier question; give each question its own id$`), "“%s” is already the id of an earlier question: give each question its own id.", []int{1}},
	{regexp.MustCompile(`^"(.*)" is not a valid key; use 1 to 40 lower-case letters, digits and '_'$`), "“%s” is not a valid key: use 1 to 40 lower-case letters, digits and '_'.", []int{1}},
	{regexp.MustCompile(`^"(.*)" is already the key of another choice; give each choice its own key$`), "“%s” is already the key of another choice: give each choice its own key.", []int{1}},
	{regexp.MustCompile(`^(\d+) characters; at most (\d+), shorten it$`), "%s characters: at most %s, shorten it.", []int{1, 2}},
	{regexp.MustCompile(`^(\d+) choices; a \w+ question needs at least (\d+)$`), "%s choices: this question needs at least %s.", []int{1, 2}},
	{regexp.MustCompile(`^(\d+) choices; a question has at most (\d+), remove some$`), "%s choices: a question has at most %s, remove some.", []int{1, 2}},
	{regexp.MustCompile(`^must be greater than min \((-?\d+)\); a scale needs at least two values$`), "Must be greater than the lowest value (%s): a scale needs at least two values.", []int{1}},
	{regexp.MustCompile(`^(-?\d+) is out of bounds; a rating scale (?:starts|ends) between (\d+) and (\d+)$`), "%s is out of bounds: give a number from %s to %s.", []int{1, 2, 3}},
	{regexp.MustCompile(`^(-?\d+) is out of bounds; give 0 \(no (?:minimum|maximum)\) to the number of choices \((\d+)\)$`), "%s is out of bounds: give 0 (no limit) up to the number of choices (%s).", []int{1, 2}},
	{regexp.MustCompile(`^is less than min_select \((\d+)\); raise it or lower min_select$`), "Less than the least number of choices (%s): raise it or lower the other.", []int{1}},
	{regexp.MustCompile(`^"(.*)" comes later in the survey; a condition can only use an earlier question, move one of them$`), "“%s” comes later in the survey: a condition can only use an earlier question; move one of them.", []int{1}},
	{regexp.MustCompile(`^no question has the id "(.*)"; check the spelling$`), "No question has the id “%s”.", []int{1}},
	{regexp.MustCompile(`^(-?\d+) is outside the scale of "(.*)" \((-?\d+) to (-?\d+)\); give a value on the scale$`), "%s is outside the scale of “%s” (%s to %s): give a value on the scale.", []int{1, 2, 3, 4}},
	{regexp.MustCompile(`^"(.*)" is not a choice of "(.*)"; use one of its keys(?: \(yes or no\))?$`), "“%s” is not a choice of “%s”: use one of its keys.", []int{1, 2}},
	{regexp.MustCompile(`^\w+ compares numbers but "(.*)" is a \w+ question; .*$`), "This comparison takes a number, but the answer to “%s” is not a number: choose another comparison.", []int{1}},
	{regexp.MustCompile(`^\w+ compares choices but "(.*)" is a \w+ question; .*$`), "This comparison takes choices, but “%s” has none: choose another comparison.", []int{1}},
	{regexp.MustCompile(`^missing; give the key of a choice of "(.*)"(?: \(yes or no\))?$`), "Missing: give the key of a choice of “%s”.", []int{1}},
	{regexp.MustCompile(`^\w+ takes one key; use any_of for several$`), "This comparison takes one key: choose “is one of” for several.", nil},
	{regexp.MustCompile(`^"(.*)" is listed twice; list each key once$`), "“%s” is listed twice: give each key once.", []int{1}},
	{regexp.MustCompile(`^\w+ takes no value; remove value and values$`), "This comparison takes no value: leave the value empty.", nil},
	{regexp.MustCompile(`^\w+ is listed twice; list each language once$`), "A language is listed twice: list each language once.", nil},
	{regexp.MustCompile(`^does not include the default language \((\w+)\); add it$`), "The languages offered do not include the default language (%s): add it.", []int{1}},
	{regexp.MustCompile(`^empty; list the languages the survey offers, the default language \(\w*\) among them$`), "Choose the languages the survey offers, the default language among them.", nil},
	{regexp.MustCompile(`^missing; give the language every text exists in, one of .*$`), "Choose the default language.", nil},
	{regexp.MustCompile(`^(\d+) pages; a survey has at most (\d+), merge some$`), "%s pages: a survey has at most %s, merge some.", []int{1, 2}},
	{regexp.MustCompile(`^(\d+) questions; a survey has at most (\d+), remove some$`), "%s questions: a survey has at most %s, remove some.", []int{1, 2}},
}

// fixedProblems are problems of survey.ValidationErrors without values:
// the catalogues translate them as they are.
var fixedProblems = []string{
	"only scale questions (nps, csat, ces, rating) have labels; remove it",
	"only rating questions have min and max; remove it",
	"only single and multi questions have choices; remove it",
	"only multi questions have min_select; remove it",
	"only multi questions have max_select; remove it",
	"missing; give the choice a short key of lower-case letters, digits and '_' (at most 40)",
	`missing; give the question a short id of lower-case letters, digits and '_' (at most 40), e.g. "nps" or "what_went_wrong"`,
	"missing; give the id of an earlier question",
	"a question cannot depend on itself; name an earlier question",
	"empty; write the text or remove it",
	"not valid UTF-8 text; save the file as UTF-8",
	"holds a control character; remove it (line breaks and tabs are fine)",
	"the survey does not offer this language; add it to languages or remove this text",
	"missing; give the survey a name",
	"empty; every page needs at least one question, add one or remove the page",
	"empty; a survey needs at least one page with a question",
}

// problemText translates a problem of a survey definition when the
// catalogues know it; other problems stay in English.
func (s *Server) problemText(lang, problem string) string {
	if slices.Contains(fixedProblems, problem) {
		return s.cat.T(lang, problem)
	}
	for _, p := range problemPatterns {
		m := p.re.FindStringSubmatch(problem)
		if m == nil {
			continue
		}
		args := make([]any, len(p.args))
		for i, g := range p.args {
			args[i] = m[g]
		}
		return s.cat.T(lang, p.msg, args...)
	}
	return problem
}

var questionPath = regexp.MustCompile(`^pages\[(\d+)\]\.questions\[(\d+)\](.*)$`)

// splitQuestionPath cuts a path such as pages[0].questions[2].text.fr into
// the question's place and the rest (".text.fr"); ok is false for paths
// outside questions.
func splitQuestionPath(path string) (page, index int, rest string, ok bool) {
	m := questionPath.FindStringSubmatch(path)
	if m == nil {
		return 0, 0, "", false
	}
	page, _ = strconv.Atoi(m[1])
	index, _ = strconv.Atoi(m[2])
	return page, index, m[3], true
}

var choicePath = regexp.MustCompile(`^\.choices\[(\d+)\](?:\.(key|text)(?:\.(\w+))?)?`)

// questionField maps the rest of a question's path to the name of the
// form field that holds it (text-fr, choices-fr, cond-value, …) and, for
// a problem of one choice, that choice's number from 1.
func questionField(rest, defLang string) (field string, choice int) {
	if m := choicePath.FindStringSubmatch(rest); m != nil {
		n, _ := strconv.Atoi(m[1])
		lang := defLang
		if m[2] == "text" && m[3] != "" {
			lang = m[3]
		}
		return "choices-" + lang, n + 1
	}
	head, tail, _ := strings.Cut(strings.TrimPrefix(rest, "."), ".")
	switch head {
	case "id", "type", "min", "max":
		return head, 0
	case "min_select":
		return "minsel", 0
	case "max_select":
		return "maxsel", 0
	case "choices":
		return "choices-" + defLang, 0
	case "text", "help":
		if tail == "" {
			tail = defLang
		}
		return head + "-" + tail, 0
	case "low_label", "high_label":
		if tail == "" {
			tail = defLang
		}
		return strings.TrimSuffix(head, "_label") + "-" + tail, 0
	case "condition":
		switch {
		case tail == "op":
			return "cond-op", 0
		case strings.HasPrefix(tail, "value"):
			return "cond-value", 0
		}
		return "cond-question", 0
	}
	return "", 0
}

// questionAt returns the id of the question at a place of d, or "".
func questionAt(d *survey.Definition, page, index int) string {
	if page < len(d.Pages) && index < len(d.Pages[page].Questions) {
		return d.Pages[page].Questions[index].ID
	}
	return ""
}

// pathWords says where a problem is, for a problem shown away from its
// field: "Question “nps”, text.fr" or the path itself.
func (s *Server) pathWords(lang string, d *survey.Definition, path string) string {
	if p, i, rest, ok := splitQuestionPath(path); ok {
		if id := questionAt(d, p, i); id != "" {
			if rest = strings.TrimPrefix(rest, "."); rest != "" {
				return s.cat.T(lang, "Question “%s”, %s", id, rest)
			}
			return s.cat.T(lang, "Question “%s”", id)
		}
	}
	if path == "" {
		return ""
	}
	return path
}

func (s *Server) generalProblem(lang string, d *survey.Definition, fe survey.FieldError) string {
	msg := s.problemText(lang, fe.Problem)
	if where := s.pathWords(lang, d, fe.Path); where != "" {
		return where + ": " + msg
	}
	return msg
}

// loadSurvey reads the survey named in the path, or answers 404.
func (s *Server) loadSurvey(w http.ResponseWriter, r *http.Request, rc *reqCtx) (survey.Survey, bool) {
	id := r.PathValue("id")
	if !db.ValidID(id) {
		s.fail(w, r, errNotFound)
		return survey.Survey{}, false
	}
	sv, err := s.Surveys.Get(r.Context(), rc.tenant.ID, id)
	if err != nil {
		s.fail(w, r, err)
		return survey.Survey{}, false
	}
	return sv, true
}

// stale reports whether the form was filled in on an older version of the
// survey than the current one (another change came in between).
func stale(r *http.Request, sv survey.Survey) bool {
	v := r.PostFormValue("version")
	return v != "" && v != strconv.Itoa(sv.CurrentVersion)
}

// ---- The list, creation and import ---------------------------------------

type surveyRow struct {
	survey.Survey
	Questions int
}

type newSurveyForm struct {
	Name, Default string
	Langs         []surveyLang
}

type surveysData struct {
	Surveys    []surveyRow
	New        newSurveyForm
	NewErrs    formErrors
	ImportText string
	ImportErrs []string
}

func (s *Server) surveysPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.renderSurveys(w, r, rc, http.StatusOK, "", "", surveysData{})
}

// surveyRows lists the tenant's surveys with their number of questions.
func (s *Server) surveyRows(r *http.Request, tenantID string) ([]surveyRow, error) {
	list, err := s.Surveys.List(r.Context(), tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]surveyRow, 0, len(list))
	for _, sv := range list {
		full, err := s.Surveys.Get(r.Context(), tenantID, sv.ID)
		if errors.Is(err, db.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, surveyRow{Survey: full, Questions: full.Definition.QuestionCount()})
	}
	return out, nil
}

func (s *Server) renderSurveys(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, flash, errMsg string, d surveysData) {
	rows, err := s.surveyRows(r, rc.tenant.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Surveys = rows
	if d.New.Default == "" {
		d.New.Default = rc.lang
		if !survey.KnownLanguage(d.New.Default) {
			d.New.Default = i18n.Default
		}
	}
	if d.New.Langs == nil {
		d.New.Langs = surveyLangs([]string{d.New.Default})
	}
	if d.NewErrs == nil {
		d.NewErrs = formErrors{}
	}
	s.render(w, r, rc, status, "surveys", &view{Title: rc.t(s, "Surveys"), Flash: flash, Error: errMsg, Data: d})
}

// starterQuestion is the question a new survey starts with: the
// recommendation question, in every language the survey offers.
func (s *Server) starterQuestion(langs []string) survey.Question {
	q := survey.Question{ID: "nps", Type: survey.TypeNPS, Required: true, Text: survey.Texts{}, LowLabel: survey.Texts{}, HighLabel: survey.Texts{}}
	for _, l := range langs {
		q.Text[l] = s.cat.T(l, "How likely are you to recommend us to a friend or colleague?")
		q.LowLabel[l] = s.cat.T(l, "Not at all likely")
		q.HighLabel[l] = s.cat.T(l, "Extremely likely")
	}
	return q
}

// offered reads the languages ticked in a form, the default first and
// always among them.
func offered(r *http.Request, def string) []string {
	langs := []string{}
	if survey.KnownLanguage(def) {
		langs = append(langs, def)
	}
	for _, l := range survey.Languages {
		if l != def && slices.Contains(r.PostForm["languages"], l) {
			langs = append(langs, l)
		}
	}
	return langs
}

// settingsField maps a survey-level path to its field in the forms of
// name and languages.
func settingsField(path string) (string, bool) {
	switch {
	case path == "name":
		return "name", true
	case path == "default_language":
		return "default", true
	case strings.HasPrefix(path, "languages"):
		return "languages", true
	}
	return "", false
}

func (s *Server) surveyCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	def := r.PostFormValue("default_language")
	langs := offered(r, def)
	d := &survey.Definition{Name: name, DefaultLanguage: def, Languages: langs,
		Pages: []survey.Page{{Questions: []survey.Question{s.starterQuestion(langs)}}}}
	sv, err := s.Surveys.Create(r.Context(), rc.actor(), rc.tenant.ID, d)
	var ve survey.ValidationErrors
	if errors.As(err, &ve) {
		errs := formErrors{}
		for _, fe := range ve {
			if f, ok := settingsField(fe.Path); ok {
				errs.add("new-"+f, s.problemText(rc.lang, fe.Problem))
			} else {
				errs.add("", s.generalProblem(rc.lang, d, fe))
			}
		}
		s.renderSurveys(w, r, rc, http.StatusUnprocessableEntity, "", rc.t(s, "The survey was not created: correct the fields marked below."),
			surveysData{New: newSurveyForm{Name: name, Default: def, Langs: surveyLangs(langs)}, NewErrs: errs})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/surveys/"+sv.ID+"?m=created", http.StatusSeeOther)
}

// surveyImport creates a survey from the JSON format, pasted or uploaded.
// The whole request is bounded to 1 MiB by the server; the form is small
// enough to read at once.
func (s *Server) surveyImport(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	text := r.PostFormValue("json")
	doc := []byte(text)
	if f, _, err := r.FormFile("file"); err == nil {
		b, err := io.ReadAll(io.LimitReader(f, survey.MaxDocument+1))
		f.Close()
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if len(b) > 0 {
			doc, text = b, ""
		}
	}
	again := func(status int, msg string, problems []string) {
		if len(text) > 64<<10 {
			text = "" // not worth sending back
		}
		s.renderSurveys(w, r, rc, status, "", msg, surveysData{ImportText: text, ImportErrs: problems})
	}
	if len(strings.TrimSpace(string(doc))) == 0 {
		again(http.StatusUnprocessableEntity, rc.t(s, "Paste a survey in the JSON format, or choose a file."), nil)
		return
	}
	d, err := survey.Parse(doc)
	if err == nil {
		var sv survey.Survey
		sv, err = s.Surveys.Create(r.Context(), rc.actor(), rc.tenant.ID, d)
		if err == nil {
			http.Redirect(w, r, "/surveys/"+sv.ID+"?m=imported", http.StatusSeeOther)
			return
		}
	}
	var ve survey.ValidationErrors
	if !errors.As(err, &ve) {
		s.fail(w, r, err)
		return
	}
	var problems []string
	for _, fe := range ve {
		msg := s.problemText(rc.lang, fe.Problem)
		if fe.Path != "" {
			msg = fe.Path + ": " + msg
		}
		problems = append(problems, msg)
	}
	again(http.StatusUnprocessableEntity, rc.t(s, "The survey was not imported: correct the problems listed with the import form."), problems)
}

// ---- The editor -----------------------------------------------------------

type surveyQuestionRow struct {
	survey.Question
	Text      string
	TypeName  string
	Condition string
	First     bool
	Last      bool
	Errors    []string
}

type surveyPageRow struct {
	Number    int
	Questions []surveyQuestionRow
	Errors    []string
}

type previewChoice struct{ Key, Text string }

type previewQuestion struct {
	ID, Text, Help, Low, High, Condition string
	Required                             bool
	Type                                 survey.Type
	Scale                                []int
	Choices                              []previewChoice
	MinSelect, MaxSelect                 int
}

type previewPage struct {
	Number    int
	Questions []previewQuestion
}

type surveyEditData struct {
	Survey     survey.Survey
	StatusName string
	Statuses   []surveyOption
	LangNames  string
	// DefaultName is the name of the survey's default language.
	DefaultName string
	Pages       []surveyPageRow
	// Errors are the problems that belong to no question.
	Errors []string
	// Settings is the name and languages form, with its problems.
	Settings     newSurveyForm
	SettingsErrs formErrors
	// Add is the add-a-question form, with its problems.
	Add      addForm
	AddErrs  formErrors
	Types    []surveyOption
	PageOpts []surveyOption
	// Preview is the survey as a respondent sees it, in PreviewLang.
	Preview     []previewPage
	PreviewLang string
	PreviewOpts []surveyOption
	// questionErrors are problems by question id, shown on their rows.
	questionErrors map[string][]string
}

type surveyOption struct {
	Value, Label string
	Selected     bool
}

type addForm struct {
	Page, Type, ID, Text, Choices string
	Required                      bool
}

func (s *Server) surveyPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	sv, ok := s.loadSurvey(w, r, rc)
	if !ok {
		return
	}
	s.renderSurvey(w, r, rc, http.StatusOK, sv, s.surveyNotice(rc, r.URL.Query().Get("m")), "", surveyEditData{})
}

func (s *Server) typeOptions(lang string, sel survey.Type) []surveyOption {
	out := make([]surveyOption, 0, len(survey.Types))
	for _, t := range survey.Types {
		out = append(out, surveyOption{Value: string(t), Label: s.typeName(lang, t), Selected: t == sel})
	}
	return out
}

func (s *Server) renderSurvey(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, sv survey.Survey, flash, errMsg string, d surveyEditData) {
	def := sv.Definition
	lang := rc.lang
	d.Survey = sv
	d.StatusName = s.statusName(lang, sv.Status)
	for _, st := range []survey.Status{survey.StatusDraft, survey.StatusActive, survey.StatusArchived} {
		d.Statuses = append(d.Statuses, surveyOption{Value: string(st), Label: s.statusName(lang, st), Selected: st == sv.Status})
	}
	names := make([]string, len(def.Languages))
	for i, l := range def.Languages {
		names[i] = i18n.Names[l]
		if names[i] == "" {
			names[i] = l
		}
	}
	d.LangNames = strings.Join(names, ", ")
	d.DefaultName = i18n.Names[def.DefaultLanguage]
	// Problems by question id, for the rows.
	byQuestion := map[string][]string{}
	if d.Errors == nil {
		d.Errors = []string{}
	}
	total := def.QuestionCount()
	pos := 0
	for p, page := range def.Pages {
		row := surveyPageRow{Number: p + 1}
		for _, q := range page.Questions {
			row.Questions = append(row.Questions, surveyQuestionRow{Question: q, Text: def.Text(q.Text, def.DefaultLanguage),
				TypeName: s.typeName(lang, q.Type), Condition: s.conditionWords(lang, def, q.Condition),
				First: pos == 0, Last: pos == total-1})
			pos++
		}
		d.Pages = append(d.Pages, row)
	}
	for id, msgs := range d.questionErrors {
		byQuestion[id] = msgs
	}
	for pi := range d.Pages {
		for qi := range d.Pages[pi].Questions {
			d.Pages[pi].Questions[qi].Errors = byQuestion[d.Pages[pi].Questions[qi].ID]
		}
	}
	if d.Settings.Langs == nil {
		d.Settings = newSurveyForm{Name: def.Name, Default: def.DefaultLanguage, Langs: surveyLangs(def.Languages)}
	}
	if d.SettingsErrs == nil {
		d.SettingsErrs = formErrors{}
	}
	if d.AddErrs == nil {
		d.AddErrs = formErrors{}
	}
	if d.Add.Type == "" {
		d.Add.Type = string(survey.TypeSingle)
		d.Add.Page = strconv.Itoa(len(def.Pages))
	}
	d.Types = s.typeOptions(lang, survey.Type(d.Add.Type))
	for p := range def.Pages {
		v := strconv.Itoa(p + 1)
		d.PageOpts = append(d.PageOpts, surveyOption{Value: v, Label: s.cat.T(lang, "Page %d", p+1), Selected: d.Add.Page == v})
	}
	if len(def.Pages) < survey.MaxPages {
		d.PageOpts = append(d.PageOpts, surveyOption{Value: "new", Label: s.cat.T(lang, "A new page at the end"), Selected: d.Add.Page == "new"})
	}
	// The preview: in the language asked for, else the page's when the
	// survey offers it, else the survey's default.
	pl := r.URL.Query().Get("preview")
	if !slices.Contains(def.Languages, pl) {
		pl = def.Lang(lang)
	}
	d.PreviewLang = pl
	for _, l := range def.Languages {
		d.PreviewOpts = append(d.PreviewOpts, surveyOption{Value: l, Label: i18n.Names[l], Selected: l == pl})
	}
	d.Preview = s.preview(lang, def, pl)
	s.render(w, r, rc, status, "survey", &view{Title: sv.Name, Flash: flash, Error: errMsg, Data: d})
}

func (s *Server) preview(uiLang string, def *survey.Definition, lang string) []previewPage {
	var out []previewPage
	for p, page := range def.Pages {
		pp := previewPage{Number: p + 1}
		for _, q := range page.Questions {
			pq := previewQuestion{ID: q.ID, Type: q.Type, Required: q.Required, Text: def.Text(q.Text, lang),
				Help: def.Text(q.Help, lang), Low: def.Text(q.LowLabel, lang), High: def.Text(q.HighLabel, lang),
				Condition: s.conditionWords(uiLang, def, q.Condition), MinSelect: q.MinSelect, MaxSelect: q.MaxSelect}
			if lo, hi, ok := q.Scale(); ok && lo < hi && hi-lo <= 10 {
				for v := lo; v <= hi; v++ {
					pq.Scale = append(pq.Scale, v)
				}
			}
			for _, c := range q.Choices {
				pq.Choices = append(pq.Choices, previewChoice{Key: c.Key, Text: def.Text(c.Text, lang)})
			}
			if q.Type == survey.TypeYesNo {
				// The respondent's page says yes and no in the survey's
				// language, not the admin's.
				pq.Choices = []previewChoice{{survey.Yes, s.cat.T(lang, "yes (answer)")}, {survey.No, s.cat.T(lang, "no (answer)")}}
			}
			pp.Questions = append(pp.Questions, pq)
		}
		out = append(out, pp)
	}
	return out
}

// saveDefinition stores a changed definition and sends the browser back to
// the editor; a definition that breaks a rule comes back with its problems
// next to the questions they concern.
func (s *Server) saveDefinition(w http.ResponseWriter, r *http.Request, rc *reqCtx, sv survey.Survey, d *survey.Definition, notice, anchor string) {
	before := sv.CurrentVersion
	v, err := s.Surveys.Update(r.Context(), rc.actor(), rc.tenant.ID, sv.ID, d)
	var ve survey.ValidationErrors
	if errors.As(err, &ve) {
		s.renderSurvey(w, r, rc, http.StatusUnprocessableEntity, sv, "", rc.t(s, "Not saved: correct the problems marked below."),
			s.placeErrors(rc.lang, d, ve))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if v == before {
		notice = "unchanged"
	}
	http.Redirect(w, r, "/surveys/"+sv.ID+"?m="+notice+anchor, http.StatusSeeOther)
}

// placeErrors puts the problems of a changed definition next to the
// questions they concern (by id, so that they land on the right row of the
// survey as stored), the others above.
func (s *Server) placeErrors(lang string, d *survey.Definition, ve survey.ValidationErrors) surveyEditData {
	out := surveyEditData{questionErrors: map[string][]string{}}
	for _, fe := range ve {
		if p, i, rest, ok := splitQuestionPath(fe.Path); ok {
			if id := questionAt(d, p, i); id != "" {
				msg := s.problemText(lang, fe.Problem)
				if rest = strings.TrimPrefix(rest, "."); rest != "" {
					msg = rest + ": " + msg
				}
				out.questionErrors[id] = append(out.questionErrors[id], msg)
				continue
			}
		}
		out.Errors = append(out.Errors, s.generalProblem(lang, d, fe))
	}
	return out
}

func (s *Server) surveyStatus(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	sv, ok := s.loadSurvey(w, r, rc)
	if !ok {
		return
	}
	err := s.Surveys.SetStatus(r.Context(), rc.actor(), rc.tenant.ID, sv.ID, survey.Status(r.PostFormValue("status")))
	if errors.Is(err, survey.ErrInvalidStatus) {
		s.renderSurvey(w, r, rc, http.StatusUnprocessableEntity, sv, "", rc.t(s, "Choose draft, active or archived."), surveyEditData{})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/surveys/"+sv.ID+"?m=status", http.StatusSeeOther)
}

// conflict answers a form filled in on an older version of the survey.
func (s *Server) surveyConflict(w http.ResponseWriter, r *http.Request, rc *reqCtx, sv survey.Survey) {
	s.renderSurvey(w, r, rc, http.StatusConflict, sv, "", rc.t(s, "This survey changed since you opened the page. It is shown below as it is now: make your change again."), surveyEditData{})
}

// surveySettings changes the name and the languages. Texts in a language
// the survey no longer offers are dropped with it.
func (s *Server) surveySettings(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	sv, ok := s.loadSurvey(w, r, rc)
	if !ok {
		return
	}
	if stale(r, sv) {
		s.surveyConflict(w, r, rc, sv)
		return
	}
	d := sv.Definition
	d.Name = strings.TrimSpace(r.PostFormValue("name"))
	d.DefaultLanguage = r.PostFormValue("default_language")
	d.Languages = offered(r, d.DefaultLanguage)
	keep := func(t survey.Texts) survey.Texts {
		if t == nil {
			return nil
		}
		for l := range t {
			if !slices.Contains(d.Languages, l) {
				delete(t, l)
			}
		}
		return t
	}
	for p := range d.Pages {
		for i := range d.Pages[p].Questions {
			q := &d.Pages[p].Questions[i]
			q.Text, q.Help, q.LowLabel, q.HighLabel = keep(q.Text), keep(q.Help), keep(q.LowLabel), keep(q.HighLabel)
			if len(q.Help) == 0 {
				q.Help = nil
			}
			if len(q.LowLabel) == 0 {
				q.LowLabel = nil
			}
			if len(q.HighLabel) == 0 {
				q.HighLabel = nil
			}
			for c := range q.Choices {
				q.Choices[c].Text = keep(q.Choices[c].Text)
			}
		}
	}
	before := sv.CurrentVersion
	v, err := s.Surveys.Update(r.Context(), rc.actor(), rc.tenant.ID, sv.ID, d)
	var ve survey.ValidationErrors
	if errors.As(err, &ve) {
		fresh, gerr := s.Surveys.Get(r.Context(), rc.tenant.ID, sv.ID)
		if gerr != nil {
			s.fail(w, r, gerr)
			return
		}
		data := surveyEditData{SettingsErrs: formErrors{}, questionErrors: map[string][]string{},
			Settings: newSurveyForm{Name: d.Name, Default: d.DefaultLanguage, Langs: surveyLangs(d.Languages)}}
		for _, fe := range ve {
			if f, ok := settingsField(fe.Path); ok {
				data.SettingsErrs.add("set-"+f, s.problemText(rc.lang, fe.Problem))
			} else {
				data.SettingsErrs.add("", s.generalProblem(rc.lang, d, fe))
			}
		}
		s.renderSurvey(w, r, rc, http.StatusUnprocessableEntity, fresh, "", rc.t(s, "Not saved: correct the problems marked below."), data)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	m := "saved"
	if v == before {
		m = "unchanged"
	}
	http.Redirect(w, r, "/surveys/"+sv.ID+"?m="+m+"#settings", http.StatusSeeOther)
}

// newQuestionID makes an id for a question added without one: the type's
// name for the standard scores, else q and a number.
func newQuestionID(d *survey.Definition, t survey.Type) string {
	free := func(id string) bool { _, _, used := d.Question(id); return !used }
	if (t == survey.TypeNPS || t == survey.TypeCSAT || t == survey.TypeCES) && free(string(t)) {
		return string(t)
	}
	for n := d.QuestionCount() + 1; ; n++ {
		if id := "q" + strconv.Itoa(n); free(id) {
			return id
		}
	}
}

func (s *Server) surveyAddQuestion(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	sv, ok := s.loadSurvey(w, r, rc)
	if !ok {
		return
	}
	if stale(r, sv) {
		s.surveyConflict(w, r, rc, sv)
		return
	}
	d := sv.Definition
	f := addForm{Page: r.PostFormValue("page"), Type: r.PostFormValue("type"), ID: strings.TrimSpace(r.PostFormValue("id")),
		Text: strings.TrimSpace(r.PostFormValue("text")), Choices: r.PostFormValue("choices"), Required: r.PostFormValue("required") != ""}
	errs := formErrors{}
	back := func() {
		fresh, err := s.Surveys.Get(r.Context(), rc.tenant.ID, sv.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.renderSurvey(w, r, rc, http.StatusUnprocessableEntity, fresh, "", rc.t(s, "The question was not added: correct the fields marked below."),
			surveyEditData{Add: f, AddErrs: errs})
	}
	page := len(d.Pages)
	if f.Page != "new" {
		n, err := strconv.Atoi(f.Page)
		if err != nil || n < 1 || n > len(d.Pages) {
			errs.add("add-page", rc.t(s, "Choose a page of the list."))
			back()
			return
		}
		page = n - 1
	}
	q := survey.Question{ID: f.ID, Type: survey.Type(f.Type), Required: f.Required, Text: survey.Texts{}}
	if q.ID == "" {
		q.ID = newQuestionID(d, q.Type)
	}
	if f.Text != "" {
		q.Text[d.DefaultLanguage] = f.Text
	}
	switch q.Type {
	case survey.TypeRating:
		q.Min, q.Max = 1, 5
	case survey.TypeSingle, survey.TypeMulti:
		choices, lineErrs := parseChoices(f.Choices, d.DefaultLanguage, nil)
		for _, e := range lineErrs {
			errs.add("add-choices", s.lineProblem(rc, e))
		}
		q.Choices = choices
	}
	if page == len(d.Pages) {
		d.Pages = append(d.Pages, survey.Page{})
	}
	d.Pages[page].Questions = append(d.Pages[page].Questions, q)
	if errs.Count() == 0 {
		if err := d.Validate(); err != nil {
			var ve survey.ValidationErrors
			if !errors.As(err, &ve) {
				s.fail(w, r, err)
				return
			}
			at := len(d.Pages[page].Questions) - 1
			for _, fe := range ve {
				p, i, rest, ok := splitQuestionPath(fe.Path)
				if !ok || p != page || i != at {
					errs.add("", s.generalProblem(rc.lang, d, fe))
					continue
				}
				field, choice := questionField(rest, d.DefaultLanguage)
				msg := s.problemText(rc.lang, fe.Problem)
				if choice > 0 {
					msg = rc.t(s, "Choice %d: %s", choice, msg)
				}
				switch {
				case field == "id" || field == "type":
					errs.add("add-"+field, msg)
				case field == "text-"+d.DefaultLanguage:
					errs.add("add-text", msg)
				case strings.HasPrefix(field, "choices-"):
					errs.add("add-choices", msg)
				default:
					errs.add("", msg)
				}
			}
		}
	}
	if errs.Count() > 0 {
		back()
		return
	}
	s.saveDefinition(w, r, rc, sv, d, "added", "#q-"+q.ID)
}

// choiceLineError is a problem of one line of a choices field.
type choiceLineError struct {
	line    int
	unknown bool // a key that is not one of the choices; else one line too many
}

func (s *Server) lineProblem(rc *reqCtx, e choiceLineError) string {
	if e.unknown {
		return rc.t(s, "Line %d: this key is not the key of a choice in the default language.", e.line)
	}
	return rc.t(s, "Line %d: there are more lines than choices in the default language.", e.line)
}

// parseChoices reads a choices field: one choice a line, "key | text" or
// just the text (a key is then made from it). With base nil the lines
// define the choices; with base set they translate base's choices, by key
// or, for lines without a key, in order.
func parseChoices(field, lang string, base []survey.Choice) ([]survey.Choice, []choiceLineError) {
	var out []survey.Choice
	var errs []choiceLineError
	used := map[string]bool{}
	n := 0
	for i, line := range strings.Split(strings.ReplaceAll(field, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		key, text, hasKey := strings.Cut(line, "|")
		key, text = strings.TrimSpace(key), strings.TrimSpace(text)
		if !hasKey {
			key, text = "", line
		}
		if base != nil {
			at := -1
			if hasKey {
				at = slices.IndexFunc(base, func(c survey.Choice) bool { return c.Key == key })
				if at < 0 {
					errs = append(errs, choiceLineError{i + 1, true})
					continue
				}
			} else if n < len(base) {
				at = n
			}
			n++
			if at < 0 {
				errs = append(errs, choiceLineError{i + 1, false})
				continue
			}
			if text != "" {
				base[at].Text[lang] = text
			}
			continue
		}
		if key == "" {
			key = autoKey(text, used, len(out)+1)
		}
		used[key] = true
		c := survey.Choice{Key: key, Text: survey.Texts{}}
		if text != "" {
			c.Text[lang] = text
		}
		out = append(out, c)
	}
	return out, errs
}

var foldLetters = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'æ': "ae", 'ç': "c",
	'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ì': "i", 'í': "i", 'î': "i", 'ï': "i",
	'ñ': "n", 'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o", 'ö': "o", 'ø': "o", 'œ': "oe",
	'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ý': "y", 'ÿ': "y", 'ß': "ss",
}

// autoKey makes a choice key from its text: lower-case ASCII letters,
// digits and '_', at most 40, unique among used.
func autoKey(text string, used map[string]bool, n int) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(text) {
		if b.Len() >= 30 {
			break
		}
		if f, ok := foldLetters[r]; ok {
			b.WriteString(f)
			sep = false
			continue
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			sep = false
			continue
		}
		if b.Len() > 0 && !sep {
			b.WriteByte('_')
			sep = true
		}
	}
	key := strings.Trim(b.String(), "_")
	if key == "" {
		key = "choice_" + strconv.Itoa(n)
	}
	base := key
	for i := 2; used[key]; i++ {
		key = base + "_" + strconv.Itoa(i)
	}
	return key
}

// moveQuestion moves the question with the given id one place up or down
// in survey order: past the edge of its page it goes to the next page.
// Pages left empty are removed.
func moveQuestion(d *survey.Definition, id string, up bool) bool {
	q, p, ok := d.Question(id)
	if !ok {
		return false
	}
	moved := *q
	i := slices.IndexFunc(d.Pages[p].Questions, func(x survey.Question) bool { return x.ID == id })
	qs := d.Pages[p].Questions
	switch {
	case up && i > 0:
		qs[i-1], qs[i] = qs[i], qs[i-1]
	case !up && i < len(qs)-1:
		qs[i+1], qs[i] = qs[i], qs[i+1]
	case up && p > 0:
		d.Pages[p].Questions = slices.Delete(qs, i, i+1)
		d.Pages[p-1].Questions = append(d.Pages[p-1].Questions, moved)
	case !up && p < len(d.Pages)-1:
		d.Pages[p].Questions = slices.Delete(qs, i, i+1)
		d.Pages[p+1].Questions = slices.Insert(d.Pages[p+1].Questions, 0, moved)
	default:
		return false
	}
	dropEmptyPages(d)
	return true
}

func dropEmptyPages(d *survey.Definition) {
	d.Pages = slices.DeleteFunc(d.Pages, func(p survey.Page) bool { return len(p.Questions) == 0 })
}

func (s *Server) surveyQuestionMove(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	sv, ok := s.loadSurvey(w, r, rc)
	if !ok {
		return
	}
	id := r.PathValue("qid")
	if _, _, ok := sv.Definition.Question(id); !ok {
		s.fail(w, r, errNotFound)
		return
	}
	if stale(r, sv) {
		s.surveyConflict(w, r, rc, sv)
		return
	}
	if !moveQuestion(sv.Definition, id, r.PostFormValue("direction") == "up") {
		http.Redirect(w, r, "/surveys/"+sv.ID+"?m=unchanged#q-"+id, http.StatusSeeOther)
		return
	}
	s.saveDefinition(w, r, rc, sv, sv.Definition, "moved", "#q-"+id)
}

func (s *Server) surveyQuestionDelete(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	sv, ok := s.loadSurvey(w, r, rc)
	if !ok {
		return
	}
	d := sv.Definition
	id := r.PathValue("qid")
	_, p, ok := d.Question(id)
	if !ok {
		s.fail(w, r, errNotFound)
		return
	}
	if stale(r, sv) {
		s.surveyConflict(w, r, rc, sv)
		return
	}
	// A question that another one's condition uses cannot go: say which.
	for _, page := range d.Pages {
		for _, q := range page.Questions {
			if q.Condition != nil && q.Condition.Question == id {
				s.renderSurvey(w, r, rc, http.StatusUnprocessableEntity, sv, "",
					rc.t(s, "“%s” was not deleted: the condition of “%s” uses it. Change or remove that condition first.", id, q.ID),
					surveyEditData{questionErrors: map[string][]string{q.ID: {rc.t(s, "This condition uses “%s”.", id)}}})
				return
			}
		}
	}
	d.Pages[p].Questions = slices.DeleteFunc(d.Pages[p].Questions, func(q survey.Question) bool { return q.ID == id })
	dropEmptyPages(d)
	if len(d.Pages) == 0 {
		s.renderSurvey(w, r, rc, http.StatusUnprocessableEntity, sv, "", rc.t(s, "This is the last question: a survey needs at least one. Add another question before you delete this one."), surveyEditData{})
		return
	}
	s.saveDefinition(w, r, rc, sv, d, "deleted", "")
}

func (s *Server) surveyExport(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	sv, ok := s.loadSurvey(w, r, rc)
	if !ok {
		return
	}
	b, err := survey.Export(sv.Definition)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := autoKey(sv.Name, map[string]bool{}, 0)
	if name == "choice_0" {
		name = "survey"
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-v%d.json"`, name, sv.CurrentVersion))
	h.Set("Cache-Control", "no-store")
	w.Write(b)
}

// ---- One question's page --------------------------------------------------

type questionLangFields struct {
	Code, Name                     string
	Text, Help, Low, High, Choices string
	Default                        bool
}

type surveyQuestionData struct {
	Survey     survey.Survey
	QID        string // the id in the URL
	Version    int
	Form       questionForm
	Errs       formErrors
	Types      []surveyOption
	Ops        []surveyOption
	CondQs     []surveyOption
	Scale      bool
	Choice     bool
	Multi      bool
	Rating     bool
	CondWords  string
	Keys       []conditionKeys
	PageNumber int
}

// conditionKeys lists what a condition on an earlier question compares
// with, as a hint next to the condition's value.
type conditionKeys struct {
	ID, What string
}

type questionForm struct {
	ID, Type                        string
	Required                        bool
	Langs                           []questionLangFields
	Min, Max, MinSel, MaxSel        string
	CondQuestion, CondOp, CondValue string
}

func (s *Server) surveyQuestionPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	sv, ok := s.loadSurvey(w, r, rc)
	if !ok {
		return
	}
	q, _, ok := sv.Definition.Question(r.PathValue("qid"))
	if !ok {
		s.fail(w, r, errNotFound)
		return
	}
	s.renderQuestion(w, r, rc, http.StatusOK, sv, "", questionFormFrom(sv.Definition, q), formErrors{})
}

func questionFormFrom(d *survey.Definition, q *survey.Question) questionForm {
	f := questionForm{ID: q.ID, Type: string(q.Type), Required: q.Required, Min: "1", Max: "5", MinSel: "0", MaxSel: "0"}
	if q.Type == survey.TypeRating {
		f.Min, f.Max = strconv.Itoa(q.Min), strconv.Itoa(q.Max)
	}
	if q.Type == survey.TypeMulti {
		f.MinSel, f.MaxSel = strconv.Itoa(q.MinSelect), strconv.Itoa(q.MaxSelect)
	}
	for _, l := range d.Languages {
		lf := questionLangFields{Code: l, Name: i18n.Names[l], Text: q.Text[l], Help: q.Help[l], Low: q.LowLabel[l], High: q.HighLabel[l], Default: l == d.DefaultLanguage}
		var lines []string
		for _, c := range q.Choices {
			if t, ok := c.Text[l]; ok {
				lines = append(lines, c.Key+" | "+t)
			}
		}
		lf.Choices = strings.Join(lines, "\n")
		f.Langs = append(f.Langs, lf)
	}
	if c := q.Condition; c != nil {
		f.CondQuestion, f.CondOp = c.Question, string(c.Op)
		switch {
		case c.Op.Numeric():
			f.CondValue = strconv.Itoa(c.Value)
		default:
			f.CondValue = strings.Join(c.Keys, ", ")
		}
	}
	return f
}

func (s *Server) renderQuestion(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, sv survey.Survey, errMsg string, f questionForm, errs formErrors) {
	d := sv.Definition
	lang := rc.lang
	qid := r.PathValue("qid")
	data := surveyQuestionData{Survey: sv, QID: qid, Version: sv.CurrentVersion, Form: f, Errs: errs,
		Types: s.typeOptions(lang, survey.Type(f.Type))}
	t := survey.Type(f.Type)
	data.Scale, data.Choice, data.Multi, data.Rating = t.Scale(), t == survey.TypeSingle || t == survey.TypeMulti, t == survey.TypeMulti, t == survey.TypeRating
	data.CondQs = []surveyOption{{Value: "", Label: rc.t(s, "No condition: always shown"), Selected: f.CondQuestion == ""}}
	// The questions before this one, which a condition may use.
	for _, page := range d.Pages {
		done := false
		for _, q := range page.Questions {
			if q.ID == qid {
				done = true
				break
			}
			data.CondQs = append(data.CondQs, surveyOption{Value: q.ID, Label: q.ID + " — " + clip(d.Text(q.Text, d.DefaultLanguage), 60), Selected: q.ID == f.CondQuestion})
			k := conditionKeys{ID: q.ID}
			switch {
			case q.Type.Scale():
				lo, hi, _ := q.Scale()
				k.What = rc.t(s, "a number from %d to %d", lo, hi)
			case q.Type == survey.TypeYesNo:
				k.What = "yes, no"
			case q.Type.Choice():
				keys := make([]string, len(q.Choices))
				for i, c := range q.Choices {
					keys[i] = c.Key
				}
				k.What = strings.Join(keys, ", ")
			default:
				k.What = rc.t(s, "answered or not only")
			}
			data.Keys = append(data.Keys, k)
		}
		if done {
			break
		}
	}
	if _, p, ok := d.Question(qid); ok {
		data.PageNumber = p + 1
	}
	data.Ops = []surveyOption{{Value: "", Label: rc.t(s, "Choose a comparison"), Selected: f.CondOp == ""}}
	for _, op := range survey.Ops {
		data.Ops = append(data.Ops, surveyOption{Value: string(op), Label: s.opName(lang, op), Selected: string(op) == f.CondOp})
	}
	if q, _, ok := d.Question(qid); ok {
		data.CondWords = s.conditionWords(lang, d, q.Condition)
	}
	s.render(w, r, rc, status, "survey_question", &view{Title: rc.t(s, "Question “%s”", qid) + " · " + sv.Name, Error: errMsg, Data: data})
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// readQuestionForm reads the question form into f and q; problems of
// fields that are not numbers go into errs.
func (s *Server) readQuestionForm(r *http.Request, rc *reqCtx, d *survey.Definition, errs formErrors) (questionForm, survey.Question) {
	f := questionForm{ID: strings.TrimSpace(r.PostFormValue("id")), Type: r.PostFormValue("type"), Required: r.PostFormValue("required") != "",
		Min: strings.TrimSpace(r.PostFormValue("min")), Max: strings.TrimSpace(r.PostFormValue("max")),
		MinSel: strings.TrimSpace(r.PostFormValue("min_select")), MaxSel: strings.TrimSpace(r.PostFormValue("max_select")),
		CondQuestion: r.PostFormValue("cond_question"), CondOp: r.PostFormValue("cond_op"), CondValue: strings.TrimSpace(r.PostFormValue("cond_value"))}
	q := survey.Question{ID: f.ID, Type: survey.Type(f.Type), Required: f.Required, Text: survey.Texts{}}
	texts := func(field string) survey.Texts {
		t := survey.Texts{}
		for _, l := range d.Languages {
			if v := strings.TrimSpace(r.PostFormValue(field + "_" + l)); v != "" {
				t[l] = v
			}
		}
		if len(t) == 0 {
			return nil
		}
		return t
	}
	for _, l := range d.Languages {
		f.Langs = append(f.Langs, questionLangFields{Code: l, Name: i18n.Names[l], Default: l == d.DefaultLanguage,
			Text: r.PostFormValue("text_" + l), Help: r.PostFormValue("help_" + l), Low: r.PostFormValue("low_" + l),
			High: r.PostFormValue("high_" + l), Choices: r.PostFormValue("choices_" + l)})
	}
	if t := texts("text"); t != nil {
		q.Text = t
	}
	q.Help = texts("help")
	number := func(field, v string) int {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs.add(field, rc.t(s, "Give a whole number."))
		}
		return n
	}
	if q.Type.Scale() {
		q.LowLabel, q.HighLabel = texts("low"), texts("high")
	}
	if q.Type == survey.TypeRating {
		if f.Min == "" && f.Max == "" {
			f.Min, f.Max = "1", "5" // a question that just became a rating
		}
		q.Min, q.Max = number("q-min", f.Min), number("q-max", f.Max)
	}
	if q.Type == survey.TypeSingle || q.Type == survey.TypeMulti {
		choices, lineErrs := parseChoices(f.Langs[slices.IndexFunc(f.Langs, func(l questionLangFields) bool { return l.Default })].Choices, d.DefaultLanguage, nil)
		for _, e := range lineErrs {
			errs.add("q-choices-"+d.DefaultLanguage, s.lineProblem(rc, e))
		}
		for _, lf := range f.Langs {
			if lf.Default {
				continue
			}
			_, lineErrs := parseChoices(lf.Choices, lf.Code, choices)
			for _, e := range lineErrs {
				errs.add("q-choices-"+lf.Code, s.lineProblem(rc, e))
			}
		}
		q.Choices = choices
		if q.Choices == nil {
			q.Choices = []survey.Choice{}
		}
	}
	if q.Type == survey.TypeMulti {
		if f.MinSel != "" {
			q.MinSelect = number("q-minsel", f.MinSel)
		}
		if f.MaxSel != "" {
			q.MaxSelect = number("q-maxsel", f.MaxSel)
		}
	}
	if f.CondQuestion != "" {
		c := &survey.Condition{Question: f.CondQuestion, Op: survey.Op(f.CondOp)}
		switch {
		case c.Op == "":
			errs.add("q-cond-op", rc.t(s, "Choose a comparison."))
		case c.Op.Numeric():
			c.Value = number("q-cond-value", f.CondValue)
		case c.Op.Keyed():
			c.Keys = append(c.Keys, strings.FieldsFunc(f.CondValue, func(r rune) bool { return r == ',' || r == ' ' || r == ';' })...)
		}
		q.Condition = c
	}
	return f, q
}

func (s *Server) surveyQuestionSave(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	sv, ok := s.loadSurvey(w, r, rc)
	if !ok {
		return
	}
	d := sv.Definition
	qid := r.PathValue("qid")
	old, page, ok := d.Question(qid)
	if !ok {
		s.fail(w, r, errNotFound)
		return
	}
	errs := formErrors{}
	f, q := s.readQuestionForm(r, rc, d, errs)
	if stale(r, sv) {
		s.renderQuestion(w, r, rc, http.StatusConflict, sv, rc.t(s, "This survey changed since you opened the page: check the question against the survey as it is now, then save again."), f, errs)
		return
	}
	if errs.Count() > 0 {
		s.renderQuestion(w, r, rc, http.StatusUnprocessableEntity, sv, rc.t(s, "Not saved: correct the problems marked below."), f, errs)
		return
	}
	index := slices.IndexFunc(d.Pages[page].Questions, func(x survey.Question) bool { return x.ID == qid })
	*old = q
	// A new id: conditions that used the old one follow it.
	if q.ID != qid {
		for p := range d.Pages {
			for i := range d.Pages[p].Questions {
				if c := d.Pages[p].Questions[i].Condition; c != nil && c.Question == qid {
					c.Question = q.ID
				}
			}
		}
	}
	before := sv.CurrentVersion
	v, err := s.Surveys.Update(r.Context(), rc.actor(), rc.tenant.ID, sv.ID, d)
	var ve survey.ValidationErrors
	if errors.As(err, &ve) {
		for _, fe := range ve {
			p, i, rest, ok := splitQuestionPath(fe.Path)
			if ok && p == page && i == index {
				field, choice := questionField(rest, d.DefaultLanguage)
				msg := s.problemText(rc.lang, fe.Problem)
				if choice > 0 {
					msg = rc.t(s, "Choice %d: %s", choice, msg)
				}
				if field != "" {
					errs.add("q-"+field, msg)
				} else {
					errs.add("", msg)
				}
				continue
			}
			errs.add("", s.generalProblem(rc.lang, d, fe))
		}
		fresh, gerr := s.Surveys.Get(r.Context(), rc.tenant.ID, sv.ID)
		if gerr != nil {
			s.fail(w, r, gerr)
			return
		}
		s.renderQuestion(w, r, rc, http.StatusUnprocessableEntity, fresh, rc.t(s, "Not saved: correct the problems marked below."), f, errs)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	m := "saved"
	if v == before {
		m = "unchanged"
	}
	http.Redirect(w, r, "/surveys/"+sv.ID+"?m="+m+"#q-"+q.ID, http.StatusSeeOther)
}

// SurveyStatus names a survey status in the page's language.
func (v *view) SurveyStatus(st survey.Status) string {
	switch st {
	case survey.StatusDraft:
		return v.T("Draft")
	case survey.StatusActive:
		return v.T("Active")
	case survey.StatusArchived:
		return v.T("Archived")
	}
	return string(st)
}
