package survey

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Answer is a respondent's answer to one question. Exactly one field is set,
// the one of the question's type: Number for nps, csat, ces and rating;
// Choices for single (one key) and multi; Bool for yesno; Text for text and
// longtext.
type Answer struct {
	Number  *int     `json:"number,omitempty"`
	Choices []string `json:"choices,omitempty"`
	Text    string   `json:"text,omitempty"`
	Bool    *bool    `json:"bool,omitempty"`
}

// Answers are a respondent's answers, keyed by question id.
type Answers map[string]Answer

// Int returns an Answer holding the number n.
func Int(n int) Answer { return Answer{Number: &n} }

// YesNo returns an Answer holding b.
func YesNo(b bool) Answer { return Answer{Bool: &b} }

// given reports whether a answers a question of type t (an empty text or an
// empty choice list is no answer).
func (a Answer) given(t Type) bool {
	switch {
	case t.Scale():
		return a.Number != nil
	case t == TypeSingle || t == TypeMulti:
		return len(a.Choices) > 0
	case t == TypeYesNo:
		return a.Bool != nil
	case t.FreeText():
		return strings.TrimSpace(a.Text) != ""
	}
	return false
}

// foreign reports whether a sets a field that a question of type t does not
// take.
func (a Answer) foreign(t Type) bool {
	return (a.Number != nil && !t.Scale()) ||
		(len(a.Choices) > 0 && t != TypeSingle && t != TypeMulti) ||
		(a.Bool != nil && t != TypeYesNo) ||
		(a.Text != "" && !t.FreeText())
}

// keys returns the choice keys an answer selects; a yesno answer selects
// Yes or No.
func (a Answer) keys(t Type) []string {
	if t == TypeYesNo {
		if a.Bool == nil {
			return nil
		}
		if *a.Bool {
			return []string{Yes}
		}
		return []string{No}
	}
	return a.Choices
}

// Codes of answer errors, stable for the web layer and the API.
const (
	CodeRequired        = "required"
	CodeOutOfRange      = "out_of_range"
	CodeUnknownChoice   = "unknown_choice"
	CodeOneChoice       = "one_choice"
	CodeDuplicateChoice = "duplicate_choice"
	CodeTooFewChoices   = "too_few_choices"
	CodeTooManyChoices  = "too_many_choices"
	CodeTooLong         = "too_long"
	CodeInvalidText     = "invalid_text"
	CodeWrongKind       = "wrong_kind"
)

// Messages of answer errors: plain English sentences for the respondent,
// keys of the i18n catalogues. Those with verbs take the AnswerError's Args.
const (
	MsgRequired        = "Please answer this question."
	MsgOutOfRange      = "Choose a value from %d to %d."
	MsgUnknownChoice   = "Choose among the options shown."
	MsgOneChoice       = "Choose only one option."
	MsgDuplicateChoice = "Choose each option only once."
	MsgTooFewChoices   = "Choose at least %d of the options."
	MsgTooManyChoices  = "Choose at most %d of the options."
	MsgTooLong         = "Shorten your answer to at most %d characters."
	MsgInvalidText     = "Your answer holds characters that cannot be saved. Remove them and try again."
	MsgWrongKind       = "This answer does not fit the question. Reload the page and answer again."
)

// Messages lists every answer error message, for the i18n catalogues.
var Messages = []string{MsgRequired, MsgOutOfRange, MsgUnknownChoice, MsgOneChoice, MsgDuplicateChoice,
	MsgTooFewChoices, MsgTooManyChoices, MsgTooLong, MsgInvalidText, MsgWrongKind}

// AnswerError says what is wrong with an answer: a stable Code, and a
// Message (one of the Msg constants) to translate and then format with Args.
// It never holds the answer itself.
type AnswerError struct {
	Code    string
	Message string
	Args    []any
}

// Error returns the English message, formatted with Args.
func (e *AnswerError) Error() string {
	if len(e.Args) > 0 {
		return fmt.Sprintf(e.Message, e.Args...)
	}
	return e.Message
}

// Is makes errors.Is match answer errors by code, so that
// errors.Is(err, ErrTooLong) holds whatever the limit.
func (e *AnswerError) Is(target error) bool {
	t, ok := target.(*AnswerError)
	return ok && t.Code == e.Code
}

// Answer errors without arguments, and a value of each code for errors.Is.
var (
	ErrRequired        = &AnswerError{Code: CodeRequired, Message: MsgRequired}
	ErrOutOfRange      = &AnswerError{Code: CodeOutOfRange, Message: MsgOutOfRange}
	ErrUnknownChoice   = &AnswerError{Code: CodeUnknownChoice, Message: MsgUnknownChoice}
	ErrOneChoice       = &AnswerError{Code: CodeOneChoice, Message: MsgOneChoice}
	ErrDuplicateChoice = &AnswerError{Code: CodeDuplicateChoice, Message: MsgDuplicateChoice}
	ErrTooFewChoices   = &AnswerError{Code: CodeTooFewChoices, Message: MsgTooFewChoices}
	ErrTooManyChoices  = &AnswerError{Code: CodeTooManyChoices, Message: MsgTooManyChoices}
	ErrTooLong         = &AnswerError{Code: CodeTooLong, Message: MsgTooLong}
	ErrInvalidText     = &AnswerError{Code: CodeInvalidText, Message: MsgInvalidText}
	ErrWrongKind       = &AnswerError{Code: CodeWrongKind, Message: MsgWrongKind}
)

// evaluator follows the conditions of one definition over one set of
// answers. Conditions that do not point strictly backwards (possible only in
// a definition that was never validated) hide their question.
type evaluator struct {
	def     *Definition
	answers Answers
	pos     map[string]int
	qs      []*Question
	memo    map[string]bool
}

func newEvaluator(def *Definition, answers Answers) *evaluator {
	e := &evaluator{def: def, answers: answers, pos: map[string]int{}, memo: map[string]bool{}}
	for p := range def.Pages {
		for i := range def.Pages[p].Questions {
			q := &def.Pages[p].Questions[i]
			if _, dup := e.pos[q.ID]; !dup {
				e.pos[q.ID] = len(e.qs)
			}
			e.qs = append(e.qs, q)
		}
	}
	return e
}

// answer returns the answer to q when q is visible and answered, else nil.
func (e *evaluator) answer(q *Question) *Answer {
	if !e.visible(q) {
		return nil
	}
	a, ok := e.answers[q.ID]
	if !ok || !a.given(q.Type) {
		return nil
	}
	return &a
}

func (e *evaluator) visible(q *Question) bool {
	c := q.Condition
	if c == nil {
		return true
	}
	if v, ok := e.memo[q.ID]; ok {
		return v
	}
	v := false
	if rp, ok := e.pos[c.Question]; ok && rp < e.pos[q.ID] {
		ref := e.qs[rp]
		v = holds(c, ref, e.answer(ref))
	}
	e.memo[q.ID] = v
	return v
}

// holds evaluates a condition on the answer a to ref (nil: hidden or
// unanswered).
func holds(c *Condition, ref *Question, a *Answer) bool {
	switch c.Op {
	case OpAnswered:
		return a != nil
	case OpNotAnswered:
		return a == nil
	}
	if a == nil {
		return false
	}
	if c.Op.Numeric() {
		if a.Number == nil {
			return false
		}
		n := *a.Number
		switch c.Op {
		case OpLT:
			return n < c.Value
		case OpLE:
			return n <= c.Value
		case OpEQ:
			return n == c.Value
		case OpNE:
			return n != c.Value
		case OpGE:
			return n >= c.Value
		default:
			return n > c.Value
		}
	}
	selected := a.keys(ref.Type)
	hit := false
	for _, k := range c.Keys {
		if slices.Contains(selected, k) {
			hit = true
			break
		}
	}
	switch c.Op {
	case OpIs, OpAnyOf:
		return hit
	case OpIsNot:
		return !hit
	}
	return false
}

// Visible reports whether the question is shown, given the answers so far:
// it has no condition, or its condition holds. A condition on a question
// that is itself hidden sees no answer. Unknown questions are not visible.
func Visible(def *Definition, answers Answers, questionID string) bool {
	e := newEvaluator(def, answers)
	p, ok := e.pos[questionID]
	return ok && e.visible(e.qs[p])
}

// ValidatePage checks the answers to the questions of one page (from 0):
// every visible required question answered, numbers on the scale, choice
// keys known, multi bounds, text lengths. It deletes from answers the
// answers to the page's hidden questions and empty answers, so that what
// remains can be stored as is. It returns the problems by question id, nil
// when there are none; each is an *AnswerError.
func ValidatePage(def *Definition, page int, answers Answers) map[string]error {
	if page < 0 || page >= len(def.Pages) {
		return nil
	}
	return validatePage(newEvaluator(def, answers), page, nil)
}

func validatePage(e *evaluator, page int, errs map[string]error) map[string]error {
	for i := range e.def.Pages[page].Questions {
		q := &e.def.Pages[page].Questions[i]
		if !e.visible(q) {
			delete(e.answers, q.ID)
			continue
		}
		a, ok := e.answers[q.ID]
		var err error
		switch {
		case ok && a.foreign(q.Type):
			err = ErrWrongKind
		case !ok || !a.given(q.Type):
			delete(e.answers, q.ID)
			if q.Required {
				err = ErrRequired
			}
		default:
			err = checkAnswer(q, a)
		}
		if err != nil {
			if errs == nil {
				errs = map[string]error{}
			}
			errs[q.ID] = err
		}
	}
	return errs
}

// Validate checks the answers to the whole survey as ValidatePage checks
// each page, and also deletes answers to questions the survey does not
// have.
func Validate(def *Definition, answers Answers) map[string]error {
	e := newEvaluator(def, answers)
	for id := range answers {
		if _, ok := e.pos[id]; !ok {
			delete(answers, id)
		}
	}
	var errs map[string]error
	for p := range def.Pages {
		errs = validatePage(e, p, errs)
	}
	return errs
}

// checkAnswer checks a given answer of the right kind against its question.
func checkAnswer(q *Question, a Answer) error {
	switch {
	case q.Type.Scale():
		lo, hi, _ := q.Scale()
		if *a.Number < lo || *a.Number > hi {
			return &AnswerError{Code: CodeOutOfRange, Message: MsgOutOfRange, Args: []any{lo, hi}}
		}
	case q.Type == TypeSingle || q.Type == TypeMulti:
		for i, k := range a.Choices {
			if !q.HasChoice(k) {
				return ErrUnknownChoice
			}
			if slices.Index(a.Choices, k) != i {
				return ErrDuplicateChoice
			}
		}
		n := len(a.Choices)
		switch {
		case q.Type == TypeSingle && n > 1:
			return ErrOneChoice
		case q.Type == TypeMulti && q.MinSelect > 0 && n < q.MinSelect:
			return &AnswerError{Code: CodeTooFewChoices, Message: MsgTooFewChoices, Args: []any{q.MinSelect}}
		case q.Type == TypeMulti && q.MaxSelect > 0 && n > q.MaxSelect:
			return &AnswerError{Code: CodeTooManyChoices, Message: MsgTooManyChoices, Args: []any{q.MaxSelect}}
		}
	case q.Type.FreeText():
		limit := MaxShortText
		if q.Type == TypeLongText {
			limit = MaxLongText
		}
		if !utf8.ValidString(a.Text) || hasControl(a.Text) {
			return ErrInvalidText
		}
		if utf8.RuneCountInString(a.Text) > limit {
			return &AnswerError{Code: CodeTooLong, Message: MsgTooLong, Args: []any{limit}}
		}
	}
	return nil
}

// NextPage returns the page to show after current (give -1 for the first
// page): the next page with at least one visible question. ok is false when
// no page is left: the survey is complete.
func NextPage(def *Definition, current int, answers Answers) (page int, ok bool) {
	e := newEvaluator(def, answers)
	for p := max(current+1, 0); p < len(def.Pages); p++ {
		for i := range def.Pages[p].Questions {
			if e.visible(&def.Pages[p].Questions[i]) {
				return p, true
			}
		}
	}
	return len(def.Pages), false
}
