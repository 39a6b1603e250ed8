package survey

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Texts holds one text in each of several languages, keyed by language code.
type Texts map[string]string

// Definition is a survey's content: its name, languages and pages of
// questions. It is plain data; Validate checks it, Export and Parse carry it
// in the JSON format.
type Definition struct {
	// Name is what the tenant calls the survey (not shown to respondents).
	Name string
	// DefaultLanguage is the language every text must exist in, and the one
	// shown when a text is missing in the respondent's language.
	DefaultLanguage string
	// Languages are the languages the survey offers, DefaultLanguage
	// among them.
	Languages []string
	// Pages are shown one after the other.
	Pages []Page
}

// Page is one screen of questions.
type Page struct {
	Questions []Question
}

// Question is one question of a survey.
type Question struct {
	// ID is a stable slug ([a-z0-9_]{1,40}), unique in the survey; answers,
	// conditions and scores name the question by it.
	ID string
	// Type says what kind of answer the question takes.
	Type Type
	// Required questions must be answered when they are shown.
	Required bool
	// Text is the question, per language.
	Text Texts
	// Help is an optional hint shown under the question, per language.
	Help Texts
	// LowLabel and HighLabel optionally name the two ends of a scale
	// (nps, csat, ces, rating), per language.
	LowLabel, HighLabel Texts
	// Min and Max are the bounds of a rating question's scale, within
	// RatingMin..RatingMax, Min < Max. Zero for other types.
	Min, Max int
	// Choices are the options of a single or multi question.
	Choices []Choice
	// MinSelect and MaxSelect bound how many choices a multi question's
	// answer selects; 0 means no bound.
	MinSelect, MaxSelect int
	// Condition, when set, shows the question only when it holds.
	Condition *Condition
}

// Choice is one option of a single or multi question.
type Choice struct {
	// Key is a stable slug ([a-z0-9_]{1,40}), unique in the question;
	// answers name the choice by it.
	Key string
	// Text is the option's label, per language.
	Text Texts
}

// Op is the operator of a condition.
type Op string

// Condition operators.
const (
	// OpLT to OpGT compare a numeric answer (nps, csat, ces, rating) with
	// Condition.Value.
	OpLT Op = "lt"
	OpLE Op = "le"
	OpEQ Op = "eq"
	OpNE Op = "ne"
	OpGE Op = "ge"
	OpGT Op = "gt"
	// OpIs holds when a single question's answer is the key, a multi
	// question's answer includes it, or a yesno question's answer is it
	// (Yes or No).
	OpIs Op = "is"
	// OpIsNot holds when the question was answered and OpIs does not hold.
	OpIsNot Op = "is_not"
	// OpAnyOf holds when OpIs holds for one of the keys.
	OpAnyOf Op = "any_of"
	// OpAnswered holds when the question was shown and answered.
	OpAnswered Op = "answered"
	// OpNotAnswered holds when the question was hidden or left unanswered.
	OpNotAnswered Op = "not_answered"
)

// Ops lists every condition operator.
var Ops = []Op{OpLT, OpLE, OpEQ, OpNE, OpGE, OpGT, OpIs, OpIsNot, OpAnyOf, OpAnswered, OpNotAnswered}

// Numeric reports whether op compares numbers.
func (op Op) Numeric() bool {
	switch op {
	case OpLT, OpLE, OpEQ, OpNE, OpGE, OpGT:
		return true
	}
	return false
}

// Keyed reports whether op compares choice keys.
func (op Op) Keyed() bool { return op == OpIs || op == OpIsNot || op == OpAnyOf }

// Condition shows a question only when an earlier question's answer meets
// it. Every operator but OpNotAnswered is false when the earlier question is
// hidden or unanswered.
type Condition struct {
	// Question is the id of a question strictly earlier in the survey.
	Question string
	// Op is the comparison.
	Op Op
	// Value is the number numeric operators compare with.
	Value int
	// Keys are the choice keys (Yes or No for a yesno question) that OpIs
	// and OpIsNot (one key) and OpAnyOf (one or more) compare with.
	Keys []string
}

var slugPattern = regexp.MustCompile(`^[a-z0-9_]{1,40}$`)

// Text returns t in lang, or in the default language when t has no text in
// lang.
func (d *Definition) Text(t Texts, lang string) string {
	if s, ok := t[lang]; ok && s != "" {
		return s
	}
	return t[d.DefaultLanguage]
}

// Lang returns lang when the survey offers it, else the default language.
func (d *Definition) Lang(lang string) string {
	if slices.Contains(d.Languages, lang) {
		return lang
	}
	return d.DefaultLanguage
}

// Question returns the question with the given id and the index of its
// page; ok is false when the survey has no such question.
func (d *Definition) Question(id string) (q *Question, page int, ok bool) {
	for p := range d.Pages {
		for i := range d.Pages[p].Questions {
			if d.Pages[p].Questions[i].ID == id {
				return &d.Pages[p].Questions[i], p, true
			}
		}
	}
	return nil, 0, false
}

// QuestionCount returns the number of questions on all pages.
func (d *Definition) QuestionCount() int {
	n := 0
	for _, p := range d.Pages {
		n += len(p.Questions)
	}
	return n
}

// Scale returns the bounds of a scale question's answers; ok is false for
// other types.
func (q *Question) Scale() (lo, hi int, ok bool) {
	if q.Type == TypeRating {
		return q.Min, q.Max, true
	}
	return q.Type.FixedScale()
}

// HasChoice reports whether key is one of the question's choices (Yes or No
// for a yesno question).
func (q *Question) HasChoice(key string) bool {
	if q.Type == TypeYesNo {
		return key == Yes || key == No
	}
	for _, c := range q.Choices {
		if c.Key == key {
			return true
		}
	}
	return false
}

// FieldError is one problem of a definition: where (a path in the JSON
// format, such as pages[0].questions[2].text.fr; indexes count from 0) and
// what is wrong and what to do.
type FieldError struct {
	Path    string
	Problem string
}

// Error returns "path: problem", or the problem alone for the whole
// document.
func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Problem
	}
	return e.Path + ": " + e.Problem
}

// ValidationErrors lists every problem found in a definition. Parse and
// Validate return it (as an error) when there is at least one.
type ValidationErrors []FieldError

// maxErrors bounds the problems reported at once.
const maxErrors = 100

// Error lists the problems, one a line.
func (v ValidationErrors) Error() string {
	var b strings.Builder
	for i, e := range v {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// collector gathers field errors up to maxErrors.
type collector struct {
	errs    ValidationErrors
	dropped int
}

func (c *collector) add(path, format string, args ...any) {
	if len(c.errs) >= maxErrors {
		c.dropped++
		return
	}
	c.errs = append(c.errs, FieldError{Path: path, Problem: fmt.Sprintf(format, args...)})
}

func (c *collector) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	out := c.errs
	if c.dropped > 0 {
		out = append(out, FieldError{Problem: fmt.Sprintf("and %d more problems; fix these first", c.dropped)})
	}
	return out
}

func idx(path, field string, i int) string { return path + field + "[" + strconv.Itoa(i) + "]" }

// Validate checks the definition against every rule of the format: limits,
// languages, unique ids, texts in the default language, per-type settings
// and conditions on earlier questions. It returns ValidationErrors listing
// each problem, or nil.
func (d *Definition) Validate() error {
	var c collector
	d.validate(&c)
	return c.err()
}

func (d *Definition) validate(c *collector) {
	checkPlain(c, "name", d.Name, MaxNameLen, "give the survey a name")
	def := d.DefaultLanguage
	switch {
	case def == "":
		c.add("default_language", "missing; give the language every text exists in, one of %s", strings.Join(Languages, ", "))
	case !KnownLanguage(def):
		c.add("default_language", "%q is not a language avis offers; use one of %s", clipText(def), strings.Join(Languages, ", "))
	}
	if len(d.Languages) == 0 {
		c.add("languages", "empty; list the languages the survey offers, the default language (%s) among them", def)
	}
	for i, l := range d.Languages {
		switch {
		case !KnownLanguage(l):
			c.add(idx("", "languages", i), "%q is not a language avis offers; use one of %s", clipText(l), strings.Join(Languages, ", "))
		case slices.Index(d.Languages, l) != i:
			c.add(idx("", "languages", i), "%s is listed twice; list each language once", l)
		}
	}
	if len(d.Languages) > 0 && KnownLanguage(def) && !slices.Contains(d.Languages, def) {
		c.add("languages", "does not include the default language (%s); add it", def)
	}
	switch {
	case len(d.Pages) == 0:
		c.add("pages", "empty; a survey needs at least one page with a question")
	case len(d.Pages) > MaxPages:
		c.add("pages", "%d pages; a survey has at most %d, merge some", len(d.Pages), MaxPages)
	}
	if n := d.QuestionCount(); n > MaxQuestions {
		c.add("pages", "%d questions; a survey has at most %d, remove some", n, MaxQuestions)
	}
	seen := map[string]int{} // question id → position in survey order
	pos := 0
	for p, page := range d.Pages {
		pp := idx("", "pages", p)
		if len(page.Questions) == 0 {
			c.add(pp+".questions", "empty; every page needs at least one question, add one or remove the page")
		}
		for i := range page.Questions {
			q := &page.Questions[i]
			qp := idx(pp+".", "questions", i)
			d.validateQuestion(c, qp, q, seen)
			if q.Condition != nil {
				d.validateCondition(c, qp+".condition", q, seen)
			}
			if slugPattern.MatchString(q.ID) {
				if _, dup := seen[q.ID]; !dup {
					seen[q.ID] = pos
				}
			}
			pos++
		}
	}
}

func (d *Definition) validateQuestion(c *collector, qp string, q *Question, seen map[string]int) {
	switch {
	case q.ID == "":
		c.add(qp+".id", "missing; give the question a short id of lower-case letters, digits and '_' (at most 40), e.g. \"nps\" or \"what_went_wrong\"")
	case !slugPattern.MatchString(q.ID):
		c.add(qp+".id", "%q is not a valid id; use 1 to 40 lower-case letters, digits and '_'", clipText(q.ID))
	default:
		if _, dup := seen[q.ID]; dup {
			c.add(qp+".id", "%q is already the id of an earlier question; give each question its own id", q.ID)
		}
	}
	if !q.Type.Known() {
		if q.Type == "" {
			c.add(qp+".type", "missing; give one of %s", typeList())
		} else {
			c.add(qp+".type", "%q is not a question type; use one of %s", clipText(string(q.Type)), typeList())
		}
		return
	}
	d.checkTexts(c, qp+".text", q.Text, true, "every question needs a text")
	d.checkTexts(c, qp+".help", q.Help, false, "the help text")
	if q.Type.Scale() {
		d.checkTexts(c, qp+".low_label", q.LowLabel, false, "the label")
		d.checkTexts(c, qp+".high_label", q.HighLabel, false, "the label")
	} else {
		if q.LowLabel != nil {
			c.add(qp+".low_label", "only scale questions (nps, csat, ces, rating) have labels; remove it")
		}
		if q.HighLabel != nil {
			c.add(qp+".high_label", "only scale questions (nps, csat, ces, rating) have labels; remove it")
		}
	}
	if q.Type == TypeRating {
		if q.Min < RatingMin || q.Min > RatingMax {
			c.add(qp+".min", "%d is out of bounds; a rating scale starts between %d and %d", q.Min, RatingMin, RatingMax)
		}
		if q.Max < RatingMin || q.Max > RatingMax {
			c.add(qp+".max", "%d is out of bounds; a rating scale ends between %d and %d", q.Max, RatingMin, RatingMax)
		}
		if q.Min >= q.Max {
			c.add(qp+".max", "must be greater than min (%d); a scale needs at least two values", q.Min)
		}
	} else {
		if q.Min != 0 {
			c.add(qp+".min", "only rating questions have min and max; remove it")
		}
		if q.Max != 0 {
			c.add(qp+".max", "only rating questions have min and max; remove it")
		}
	}
	if q.Type == TypeSingle || q.Type == TypeMulti {
		d.validateChoices(c, qp, q)
	} else if q.Choices != nil {
		c.add(qp+".choices", "only single and multi questions have choices; remove it")
	}
	if q.Type == TypeMulti {
		n := len(q.Choices)
		if q.MinSelect < 0 || q.MinSelect > n {
			c.add(qp+".min_select", "%d is out of bounds; give 0 (no minimum) to the number of choices (%d)", q.MinSelect, n)
		}
		if q.MaxSelect < 0 || q.MaxSelect > n {
			c.add(qp+".max_select", "%d is out of bounds; give 0 (no maximum) to the number of choices (%d)", q.MaxSelect, n)
		}
		if q.MaxSelect > 0 && q.MinSelect > q.MaxSelect {
			c.add(qp+".max_select", "is less than min_select (%d); raise it or lower min_select", q.MinSelect)
		}
	} else {
		if q.MinSelect != 0 {
			c.add(qp+".min_select", "only multi questions have min_select; remove it")
		}
		if q.MaxSelect != 0 {
			c.add(qp+".max_select", "only multi questions have max_select; remove it")
		}
	}
}

func (d *Definition) validateChoices(c *collector, qp string, q *Question) {
	switch n := len(q.Choices); {
	case n < MinChoices:
		c.add(qp+".choices", "%d choices; a %s question needs at least %d", n, q.Type, MinChoices)
	case n > MaxChoices:
		c.add(qp+".choices", "%d choices; a question has at most %d, remove some", n, MaxChoices)
	}
	keys := map[string]bool{}
	for i, ch := range q.Choices {
		cp := idx(qp+".", "choices", i)
		switch {
		case ch.Key == "":
			c.add(cp+".key", "missing; give the choice a short key of lower-case letters, digits and '_' (at most 40)")
		case !slugPattern.MatchString(ch.Key):
			c.add(cp+".key", "%q is not a valid key; use 1 to 40 lower-case letters, digits and '_'", clipText(ch.Key))
		case keys[ch.Key]:
			c.add(cp+".key", "%q is already the key of another choice; give each choice its own key", ch.Key)
		}
		keys[ch.Key] = true
		d.checkTexts(c, cp+".text", ch.Text, true, "every choice needs a text")
	}
}

func (d *Definition) validateCondition(c *collector, cp string, q *Question, seen map[string]int) {
	cond := q.Condition
	if cond.Question == "" {
		c.add(cp+".question", "missing; give the id of an earlier question")
		return
	}
	if cond.Question == q.ID {
		c.add(cp+".question", "a question cannot depend on itself; name an earlier question")
		return
	}
	if _, ok := seen[cond.Question]; !ok {
		if _, _, later := d.Question(cond.Question); later {
			c.add(cp+".question", "%q comes later in the survey; a condition can only use an earlier question, move one of them", cond.Question)
		} else {
			c.add(cp+".question", "no question has the id %q; check the spelling", clipText(cond.Question))
		}
		return
	}
	ref, _, _ := d.Question(cond.Question)
	switch {
	case cond.Op == "":
		c.add(cp+".op", "missing; give one of %s", opList())
	case !slices.Contains(Ops, cond.Op):
		c.add(cp+".op", "%q is not an operator; use one of %s", clipText(string(cond.Op)), opList())
	case cond.Op.Numeric():
		if !ref.Type.Scale() {
			c.add(cp+".op", "%s compares numbers but %q is a %s question; use is, is_not, any_of, answered or not_answered", cond.Op, ref.ID, ref.Type)
			return
		}
		if lo, hi, _ := ref.Scale(); cond.Value < lo || cond.Value > hi {
			c.add(cp+".value", "%d is outside the scale of %q (%d to %d); give a value on the scale", cond.Value, ref.ID, lo, hi)
		}
		if cond.Keys != nil {
			c.add(cp+".values", "%s compares with a number in value; remove values", cond.Op)
		}
	case cond.Op.Keyed():
		if !ref.Type.Choice() {
			c.add(cp+".op", "%s compares choices but %q is a %s question; use %s", cond.Op, ref.ID, ref.Type, opsFor(ref.Type))
			return
		}
		if cond.Value != 0 {
			c.add(cp+".value", "%s compares with choice keys, not a number; remove the number", cond.Op)
		}
		field := cp + ".value"
		if cond.Op == OpAnyOf {
			field = cp + ".values"
		}
		switch {
		case len(cond.Keys) == 0:
			c.add(field, "missing; give the key of a choice of %q%s", ref.ID, yesNoHint(ref))
		case cond.Op != OpAnyOf && len(cond.Keys) > 1:
			c.add(field, "%s takes one key; use any_of for several", cond.Op)
		}
		for i, k := range cond.Keys {
			p := field
			if cond.Op == OpAnyOf {
				p = idx(cp+".", "values", i)
			}
			switch {
			case !ref.HasChoice(k):
				c.add(p, "%q is not a choice of %q; use one of its keys%s", clipText(k), ref.ID, yesNoHint(ref))
			case slices.Index(cond.Keys, k) != i:
				c.add(p, "%q is listed twice; list each key once", k)
			}
		}
	default: // answered, not_answered
		if cond.Value != 0 || cond.Keys != nil {
			c.add(cp, "%s takes no value; remove value and values", cond.Op)
		}
	}
}

func yesNoHint(q *Question) string {
	if q.Type == TypeYesNo {
		return " (yes or no)"
	}
	return ""
}

func opsFor(t Type) string {
	switch {
	case t.Scale():
		return "lt, le, eq, ne, ge, gt, answered or not_answered"
	case t.Choice():
		return "is, is_not, any_of, answered or not_answered"
	}
	return "answered or not_answered"
}

func typeList() string {
	s := make([]string, len(Types))
	for i, t := range Types {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

func opList() string {
	s := make([]string, len(Ops))
	for i, o := range Ops {
		s[i] = string(o)
	}
	return strings.Join(s, ", ")
}

// checkTexts checks a text in several languages: every language offered,
// no empty or overlong text, and a text in the default language when
// required or when any text is given. what is the sentence that says a text
// is needed (required) or names the text (optional).
func (d *Definition) checkTexts(c *collector, path string, t Texts, required bool, what string) {
	if t == nil && !required {
		return
	}
	def := d.DefaultLanguage
	if _, ok := t[def]; !ok && def != "" {
		if required {
			c.add(path+"."+def, "missing; %s in the default language (%s)", what, def)
		} else {
			c.add(path+"."+def, "missing; %s is given in other languages, so give it in the default language (%s) too, or remove it", what, def)
		}
	}
	for _, lang := range sortedKeys(t) {
		p := path + "." + clipText(lang)
		if !slices.Contains(d.Languages, lang) {
			c.add(p, "the survey does not offer this language; add it to languages or remove this text")
			continue
		}
		checkText(c, p, t[lang], MaxTextLen)
	}
}

// checkPlain checks a required single-line-or-not text.
func checkPlain(c *collector, path, s string, max int, what string) {
	if strings.TrimSpace(s) == "" {
		c.add(path, "missing; %s", what)
		return
	}
	checkText(c, path, s, max)
}

func checkText(c *collector, path, s string, max int) {
	switch {
	case strings.TrimSpace(s) == "":
		c.add(path, "empty; write the text or remove it")
	case !utf8.ValidString(s):
		c.add(path, "not valid UTF-8 text; save the file as UTF-8")
	case utf8.RuneCountInString(s) > max:
		c.add(path, "%d characters; at most %d, shorten it", utf8.RuneCountInString(s), max)
	case hasControl(s):
		c.add(path, "holds a control character; remove it (line breaks and tabs are fine)")
	}
}

func hasControl(s string) bool {
	for _, r := range s {
		if (r < 0x20 && r != '\n' && r != '\t' && r != '\r') || r == 0x7f {
			return true
		}
	}
	return false
}

// clipText shortens a value quoted in an error.
func clipText(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return s
	}
	r := []rune(s)
	return string(r[:40]) + "…"
}

func sortedKeys(t Texts) []string {
	out := make([]string, 0, len(t))
	for k := range t {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
