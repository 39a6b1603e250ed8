package dispatch

import (
	"errors"
	"fmt"

	"avis/internal/placeholder"
)

// Problem is one reason a rule or a send window cannot be used, kept as an
// English message format and its arguments so that a page can show it in
// its own language (see Translate). Format is always a literal of this
// package. An argument that is a *Problem is a nested message, such as a
// window's problem inside "email send window: %s" or a template's error
// inside its line and column; the other arguments are values shown as they
// are: language codes, placeholder names, hours, numbers.
//
// A rule's problem wraps ErrInvalidRule, a window's ErrInvalidWindow.
type Problem struct {
	Format string
	Args   []any
	kind   error
}

// problem makes a rule's problem.
func problem(format string, args ...any) *Problem {
	return &Problem{Format: format, Args: args, kind: ErrInvalidRule}
}

// windowProblem makes a send window's problem.
func windowProblem(format string, args ...any) *Problem {
	return &Problem{Format: format, Args: args, kind: ErrInvalidWindow}
}

// Error returns the message in English after what it wraps, such as
// "invalid rule: the link lives 1 to 365 days".
func (p *Problem) Error() string { return p.Unwrap().Error() + ": " + p.English() }

// Unwrap returns ErrInvalidRule or ErrInvalidWindow.
func (p *Problem) Unwrap() error {
	if p.kind == nil {
		return ErrInvalidRule
	}
	return p.kind
}

// English returns the message in English, without what it wraps.
func (p *Problem) English() string {
	return p.Translate(func(format string, args ...any) string {
		if len(args) == 0 {
			return format
		}
		return fmt.Sprintf(format, args...)
	})
}

// Translate returns the message as t makes it: t gets an English format and
// the arguments, translates the format and formats it with them (the i18n
// catalogue's T does just that). Nested problems are translated first and
// passed as strings.
func (p *Problem) Translate(t func(format string, args ...any) string) string {
	args := make([]any, len(p.Args))
	for i, a := range p.Args {
		if n, ok := a.(*Problem); ok {
			a = n.Translate(t)
		}
		args[i] = a
	}
	return t(p.Format, args...)
}

// Problems returns the problems in err, in order, looking through joined
// and wrapped errors; none when err holds no *Problem.
func Problems(err error) []*Problem {
	var out []*Problem
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *Problem:
			out = append(out, e)
		case interface{ Unwrap() []error }:
			for _, c := range e.Unwrap() {
				walk(c)
			}
		default:
			walk(errors.Unwrap(err))
		}
	}
	walk(err)
	return out
}

// textProblems turns a template's compile errors into problems of the
// texts in lang; part says which text: "subject", "email text" or
// "SMS text".
func textProblems(lang, part string, err error) []*Problem {
	var list placeholder.Errors
	if !errors.As(err, &list) {
		return []*Problem{textProblem(lang, part, &Problem{Format: err.Error(), kind: ErrInvalidRule})}
	}
	out := make([]*Problem, 0, len(list))
	for _, e := range list {
		msg := problem(e.Format, e.Args...)
		switch {
		case e.Line == 0:
		case e.Col == 0:
			msg = problem("line %d: %s", e.Line, msg)
		default:
			msg = problem("line %d, column %d: %s", e.Line, e.Col, msg)
		}
		out = append(out, textProblem(lang, part, msg))
	}
	return out
}

// textProblem frames a problem of one of the texts in lang.
func textProblem(lang, part string, p *Problem) *Problem {
	switch part {
	case "subject":
		return problem("texts in %s: subject: %s", lang, p)
	case "email text":
		return problem("texts in %s: email text: %s", lang, p)
	default:
		return problem("texts in %s: SMS text: %s", lang, p)
	}
}
