package placeholder

import (
	"fmt"
	"strings"
)

// Error is one problem in a template's source, placed so the UI can show it
// next to the field. Line and Col are 1-based (Col counts characters, not
// bytes); Line 0 means the whole text, for example when it is too long.
//
// Msg is the message in English. Format and Args are what made it
// (fmt.Sprintf(Format, Args...) == Msg), so that a caller can translate
// Format, which is always a literal of this package, and format the
// translation with the same Args: placeholder names, quoted words, numbers,
// never English words.
type Error struct {
	Line, Col int
	Msg       string
	Format    string
	Args      []any
}

// errorf makes an Error at line and col (0 for the whole text).
func errorf(line, col int, format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Error{Line: line, Col: col, Msg: msg, Format: format, Args: args}
}

// Error returns "line L, column C: message".
func (e *Error) Error() string {
	switch {
	case e.Line == 0:
		return e.Msg
	case e.Col == 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	default:
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Col, e.Msg)
	}
}

// Errors is what Compile returns when a source does not compile: one or
// more *Error in source order.
type Errors []*Error

// Error returns the messages, one a line.
func (l Errors) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap returns the errors, so errors.As finds the first *Error.
func (l Errors) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}
