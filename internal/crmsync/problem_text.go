package crmsync

import (
	"fmt"
	"regexp"
	"strings"
)

// What crmsync stores when something goes wrong (a webhook delivery's
// problem, an export run's or an SFTP fetch's error) is English text made
// from a format of ProblemMessages (%s verbs only) filled in with its
// arguments. A page finds the format back with TranslateProblem and writes
// it in its own language: no migration, and rows stored before a
// translation existed are translated too.

// ProblemMessages lists the formats of the problems crmsync stores: the
// webhook deliveries' (webhook_problem_text.go) and the exports' and SFTP
// fetches' (transfer_problem_text.go), for the catalogue test. Order
// matters: a stored text is matched against them in this order, so a
// format that another one's text would also match comes first.
var ProblemMessages = append(append([]string(nil), webhookProblems...), transferProblems...)

// problemPatterns match a stored problem back to its format and
// arguments.
var problemPatterns = func() []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(ProblemMessages))
	for i, f := range ProblemMessages {
		parts := strings.Split(f, "%s")
		for j := range parts {
			parts[j] = regexp.QuoteMeta(parts[j])
		}
		out[i] = regexp.MustCompile("^" + strings.Join(parts, "(.*?)") + "$")
	}
	return out
}()

// TranslateProblem writes a stored problem with t, the page's translation
// of a format (called with the format's arguments as the stored text holds
// them); a problem avis does not know is returned as it is. An argument
// that is itself a known problem (the last attempt of a webhook's give-up,
// the cause of a failed connection such as "context deadline exceeded") is
// translated too, and so is each line of problems joined by errors.Join.
func TranslateProblem(stored string, t func(format string, args ...any) string) string {
	if strings.Contains(stored, "\n") {
		// Problems joined by errors.Join, one a line.
		lines := strings.Split(stored, "\n")
		for i, l := range lines {
			lines[i] = TranslateProblem(l, t)
		}
		return strings.Join(lines, "\n")
	}
	for i, re := range problemPatterns {
		m := re.FindStringSubmatch(stored)
		if m == nil {
			continue
		}
		args := make([]any, 0, len(m)-1)
		for _, a := range m[1:] {
			// Each argument is shorter than stored (every format has
			// text of its own), so this ends.
			args = append(args, TranslateProblem(a, t))
		}
		return t(ProblemMessages[i], args...)
	}
	return stored
}

// problemError is an error whose text is a format of ProblemMessages
// filled in, so that a page can translate it; it wraps its cause and the
// errors among its arguments.
type problemError struct {
	msg  string
	errs []error
}

func (e *problemError) Error() string   { return e.msg }
func (e *problemError) Unwrap() []error { return e.errs }

// failf makes the error of a problem format (one of ProblemMessages, %s
// verbs only) with args: strings, errors (their text is written, and they
// are wrapped) or Stringers. cause, when not nil, is wrapped without being
// written (the format says it in its own words).
func failf(cause error, format string, args ...any) error {
	e := &problemError{msg: fmt.Sprintf(format, args...)}
	if cause != nil {
		e.errs = append(e.errs, cause)
	}
	for _, a := range args {
		if err, ok := a.(error); ok {
			e.errs = append(e.errs, err)
		}
	}
	return e
}
