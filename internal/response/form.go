package response

import (
	"net/url"
	"strconv"
	"strings"

	"avis/internal/survey"
)

// FieldName is the name of a question's form field.
func FieldName(questionID string) string { return "q_" + questionID }

// maxValues bounds the values read for one field (a multi question has at
// most survey.MaxChoices choices).
const maxValues = survey.MaxChoices + 1

// ParseForm reads the answers to one page's questions from a submitted
// form. Fields of other questions are ignored; an empty field is no
// answer. A value that cannot be read at all (a score that is not a
// number, a yes/no that is neither) is reported by question id, as an
// *survey.AnswerError; everything else (ranges, known choices, lengths,
// valid text) is for survey.ValidatePage to check. Line breaks are
// normalised to "\n".
func ParseForm(def *survey.Definition, page int, form url.Values) (survey.Answers, map[string]error) {
	answers := survey.Answers{}
	var errs map[string]error
	bad := func(id string, err error) {
		if errs == nil {
			errs = map[string]error{}
		}
		errs[id] = err
	}
	if page < 0 || page >= len(def.Pages) {
		return answers, nil
	}
	for i := range def.Pages[page].Questions {
		q := &def.Pages[page].Questions[i]
		vals := form[FieldName(q.ID)]
		if len(vals) > maxValues {
			vals = vals[:maxValues]
		}
		var given []string
		for _, v := range vals {
			if strings.TrimSpace(v) != "" {
				given = append(given, v)
			}
		}
		if len(given) == 0 {
			continue
		}
		switch {
		case q.Type.Scale():
			lo, hi, _ := q.Scale()
			if len(given) > 1 {
				bad(q.ID, survey.ErrOneChoice)
				continue
			}
			n, err := strconv.Atoi(strings.TrimSpace(given[0]))
			if err != nil {
				bad(q.ID, &survey.AnswerError{Code: survey.CodeOutOfRange, Message: survey.MsgOutOfRange, Args: []any{lo, hi}})
				continue
			}
			answers[q.ID] = survey.Int(n)
		case q.Type == survey.TypeYesNo:
			switch {
			case len(given) > 1:
				bad(q.ID, survey.ErrOneChoice)
			case given[0] == survey.Yes:
				answers[q.ID] = survey.YesNo(true)
			case given[0] == survey.No:
				answers[q.ID] = survey.YesNo(false)
			default:
				bad(q.ID, survey.ErrUnknownChoice)
			}
		case q.Type.FreeText():
			if len(given) > 1 {
				bad(q.ID, survey.ErrWrongKind)
				continue
			}
			answers[q.ID] = survey.Answer{Text: strings.ReplaceAll(given[0], "\r\n", "\n")}
		default:
			answers[q.ID] = survey.Answer{Choices: given}
		}
	}
	return answers, errs
}
