package audit

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxValueLen is the longest id or detail value Record accepts, in bytes.
const maxValueLen = 200

// errInvalid says an entry cannot be stored at all (as opposed to
// ErrPersonalData, which says it must not be).
var errInvalid = errors.New("audit: invalid entry")

// checkEntry returns ErrPersonalData, wrapped with the name of the field (never
// its value), when a field of e looks like personal data, and errInvalid when
// e cannot be stored.
func checkEntry(e *Entry) error {
	switch e.Actor.Kind {
	case ActorUser, ActorAPIKey, ActorSystem, ActorPublic:
	default:
		return fmt.Errorf("%w: unknown actor kind %q", errInvalid, clip(e.Actor.Kind))
	}
	if e.Action == "" {
		return fmt.Errorf("%w: action is empty", errInvalid)
	}
	fields := []struct{ name, value string }{
		{"tenant id", e.TenantID},
		{"actor id", e.Actor.ID},
		{"action", e.Action},
		{"object kind", e.ObjectKind},
		{"object id", e.ObjectID},
		{"subject id", e.SubjectID},
	}
	for _, f := range fields {
		if err := checkValue(f.value); err != nil {
			return fmt.Errorf("audit: %s: %w", f.name, err)
		}
	}
	for k, v := range e.Detail {
		if err := checkValue(k); err != nil {
			return fmt.Errorf("audit: a detail key: %w", err)
		}
		if err := checkValue(v); err != nil {
			// The key is checked above and written by code, so it is safe to
			// name; the value is not.
			return fmt.Errorf("audit: detail %q: %w", k, err)
		}
	}
	return nil
}

// clip shortens s for an error message about a field that is not personal
// data by nature (an actor kind).
func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}

// checkValue returns ErrPersonalData when s looks like personal data and
// errInvalid when it is not valid UTF-8 or holds a NUL byte (PostgreSQL would
// refuse it).
func checkValue(s string) error {
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w: not valid UTF-8 text", errInvalid)
	}
	if len(s) > maxValueLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrPersonalData, maxValueLen)
	}
	if strings.IndexByte(s, '@') >= 0 {
		return fmt.Errorf("%w: contains '@'", ErrPersonalData)
	}
	if looksLikePhone(s) {
		return fmt.Errorf("%w: holds a phone-like run of digits", ErrPersonalData)
	}
	return nil
}

// looksLikePhone reports whether s holds a run of 7 to 15 digits (the length
// of phone numbers, E.164 included), possibly broken by spaces, dots, dashes
// or parentheses ("06 12 34 56 78", "+33 6 12-34-56-78", "(555) 123-4567"),
// that touches no letter on either side.
//
// Not phone-like, so that ids, tokens, counts and times pass:
//   - a run against a letter: base32 ids and hex tokens ("01jq1234567abc");
//   - a value that is only a plain count of at most 8 digits ("1200000");
//   - an ISO date ("2026-01-31"), and 16 digits or more (Unix microseconds).
func looksLikePhone(s string) bool {
	if isCount(s) {
		return false
	}
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		start, digits, end := i, 0, i
		for j := i; j < len(s); {
			if isDigit(s[j]) {
				digits++
				j++
				end = j
				continue
			}
			// Up to two separators between digits continue the run.
			k := j
			for k < len(s) && k-j < 2 && isSeparator(s[k]) {
				k++
			}
			if k == j || k >= len(s) || !isDigit(s[k]) {
				break
			}
			j = k
		}
		i = end
		if digits < 7 || digits > 15 {
			continue
		}
		if (start > 0 && isLetter(s[start-1])) || (end < len(s) && isLetter(s[end])) {
			continue
		}
		if isISODate(s[start:end]) {
			continue
		}
		return true
	}
	return false
}

// isCount reports whether s is a plain non-negative integer of at most 8
// digits without a leading zero.
func isCount(s string) bool {
	if len(s) == 0 || len(s) > 8 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// isISODate reports whether s has the shape YYYY-MM-DD.
func isISODate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i != 4 && i != 7 && !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isLetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

func isSeparator(c byte) bool {
	return c == ' ' || c == '.' || c == '-' || c == '(' || c == ')'
}
