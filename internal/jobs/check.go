package jobs

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"avis/internal/db"
)

// ErrPersonalData is returned (wrapped) when job args look like they carry
// personal data. Job args must carry ids only.
var ErrPersonalData = errors.New("job args must carry ids only, not personal data")

// phoneDigits is the length of a run of digits taken for a phone number.
const phoneDigits = 7

// CheckArgs refuses job args that look like they carry personal data: args
// are marshalled to JSON as River stores them, and every string (key or
// value) and number in it is checked. A value containing '@' is taken for an
// email address; a run of 7 or more digits for a phone number (single spaces,
// dashes, dots, slashes or parentheses between digits do not break the run,
// so "+1 555-123-4567" counts as 11 digits). Exempt from the digit rule are
// avis identifiers (db.NewID), UUIDs, and timestamps and dates as time.Time
// marshals them (RFC 3339); a Unix time or a time.Duration stored as a number
// is refused, so carry times as time.Time. The returned error wraps
// ErrPersonalData, names the kind and the field, and never quotes the value.
func CheckArgs(args river.JobArgs) error {
	if args == nil {
		return errors.New("no job args")
	}
	b, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("encode args of %s: %w", args.Kind(), err)
	}
	return checkEncoded(args.Kind(), b)
}

// checkEncoded is CheckArgs for args already encoded as JSON.
func checkEncoded(kind string, encoded []byte) error {
	dec := json.NewDecoder(bytes.NewReader(encoded))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("decode args of %s: %w", kind, err)
	}
	if why, path := inspect(v, ""); why != "" {
		path = cmp.Or(path, "the args")
		return fmt.Errorf("%w: %s in args of %s at %s", ErrPersonalData, why, kind, path)
	}
	return nil
}

// inspect walks a decoded JSON value and returns why it looks like personal
// data and where, or "" when it does not.
func inspect(v any, path string) (why, at string) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			p := path + "." + k
			if path == "" {
				p = k
			}
			if why := inspectString(k); why != "" {
				return why, "a key of " + cmp.Or(path, "the args")
			}
			if why, at := inspect(e, p); why != "" {
				return why, at
			}
		}
	case []any:
		for i, e := range v {
			if why, at := inspect(e, path+"["+strconv.Itoa(i)+"]"); why != "" {
				return why, at
			}
		}
	case string:
		if why := inspectString(v); why != "" {
			return why, path
		}
	case json.Number:
		if digitRun(string(v)) >= phoneDigits {
			return "a number of 7 or more digits (a phone number?)", path
		}
	}
	return "", ""
}

// inspectString returns why s looks like an email address or a phone number,
// or "".
func inspectString(s string) string {
	if strings.ContainsRune(s, '@') {
		return "an '@' (an email address?)"
	}
	if digitRun(s) < phoneDigits || exempt(s) {
		return ""
	}
	return "a run of 7 or more digits (a phone number?)"
}

// exempt reports whether s is an identifier or a timestamp, whose digits are
// not a phone number.
func exempt(s string) bool {
	if db.ValidID(s) {
		return true
	}
	if len(s) == 36 {
		if _, err := uuid.Parse(s); err == nil {
			return true
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return true
	}
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// digitRun returns the length of the longest run of digits in s, where up to
// two separator characters between two digits do not end the run.
func digitRun(s string) int {
	best, run, seps := 0, 0, 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			run++
			seps = 0
			best = max(best, run)
		case run > 0 && seps < 2 && strings.ContainsRune(" -./()", r):
			seps++
		default:
			run, seps = 0, 0
		}
	}
	return best
}

// argsGuard is River insert middleware that applies the CheckArgs rule to
// every job River inserts, including periodic jobs and inserts made through
// Queue.Client directly, so that personal data never reaches the job table.
type argsGuard struct {
	river.MiddlewareDefaults
}

// InsertMany implements rivertype.JobInsertMiddleware.
func (*argsGuard) InsertMany(ctx context.Context, many []*rivertype.JobInsertParams, doInner func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	for _, p := range many {
		if err := checkEncoded(p.Kind, p.EncodedArgs); err != nil {
			return nil, err
		}
	}
	return doInner(ctx)
}
