package web

import (
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"avis/internal/response"
)

// A page of the pull is a thousand responses: written by hand instead of
// through encoding/json's reflection (a fifth of the CPU of a page). The
// tests compare it with encoding/json's output of the same response
// (toAPIResponse in api_pull_json_test.go), and every API test checks it
// against the OpenAPI document.

// writeResponsesPage answers a page of responses.
func writeResponsesPage(w http.ResponseWriter, items []response.Pulled, comments bool, next string, hasMore bool) {
	pw := &pageWriter{w: w, b: make([]byte, 0, 32<<10+1024)}
	for i := range items {
		if pw.item(&items[i], comments) != nil {
			return // the client left
		}
	}
	pw.end(next, hasMore)
}

// pageWriter writes a page of responses and sends it by pieces of about
// 32 KB: a page read as it is written (see streamResponses) reaches the
// client while the rest is read.
type pageWriter struct {
	w    http.ResponseWriter
	b    []byte
	open bool // the page's beginning is written
	sent bool // the headers are sent
	err  error
}

// flush sends what is buffered, the headers first.
func (pw *pageWriter) flush() error {
	if pw.err != nil {
		return pw.err
	}
	if !pw.sent {
		pw.sent = true
		pw.w.Header().Set("Content-Type", "application/json")
		pw.w.Header().Set("Cache-Control", "no-store")
		pw.w.WriteHeader(http.StatusOK)
	}
	_, pw.err = pw.w.Write(pw.b)
	pw.b = pw.b[:0]
	return pw.err
}

// item adds a response to the page, sending the page's beginning once it
// is large enough.
func (pw *pageWriter) item(p *response.Pulled, comments bool) error {
	if !pw.open {
		pw.open = true
		pw.b = append(pw.b, `{"data":[`...)
	} else {
		pw.b = append(pw.b, ',')
	}
	pw.b = appendPulled(pw.b, *p, comments)
	if len(pw.b) < 32<<10 {
		return nil
	}
	return pw.flush()
}

// end closes the page with its cursor and sends the rest.
func (pw *pageWriter) end(next string, hasMore bool) error {
	if !pw.open {
		pw.b = append(pw.b, `{"data":[`...)
	}
	pw.b = append(pw.b, `],"next_cursor":`...)
	pw.b = appendJSONString(pw.b, next)
	pw.b = append(pw.b, `,"has_more":`...)
	pw.b = strconv.AppendBool(pw.b, hasMore)
	pw.b = append(pw.b, "}\n"...)
	return pw.flush()
}

// writeResponse answers one response.
func writeResponse(w http.ResponseWriter, p response.Pulled, comments bool) {
	b := appendPulled(make([]byte, 0, 1024), p, comments)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(append(b, '\n'))
}

// appendPulled appends the JSON of a response as the API hands it out:
// least data, comments only when asked for.
func appendPulled(b []byte, p response.Pulled, comments bool) []byte {
	field := func(name string) { b = append(b, ',', '"'); b = append(b, name...); b = append(b, '"', ':') }
	str := func(name, v string) { field(name); b = appendJSONString(b, v) }
	optStr := func(name, v string) {
		if v != "" {
			str(name, v)
		}
	}
	b = append(b, `{"id":`...)
	b = appendJSONString(b, p.ID)
	str("survey_id", p.SurveyID)
	field("survey_version")
	b = strconv.AppendInt(b, int64(p.SurveyVersion), 10)
	str("source", p.Source)
	optStr("invitation_id", p.InvitationID)
	optStr("contact_id", p.ContactID)
	optStr("contact_external_id", p.ExternalID)
	optStr("step", p.StepKey)
	str("status", string(p.Status))
	str("language", p.Language)
	field("started_at")
	b = appendJSONTime(b, p.StartedAt)
	field("updated_at")
	b = appendJSONTime(b, p.UpdatedAt)
	if !p.CompletedAt.IsZero() {
		field("completed_at")
		b = appendJSONTime(b, p.CompletedAt)
	}
	field("scores")
	b = append(b, '[')
	for i, sc := range p.Scores {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"question":`...)
		b = appendJSONString(b, sc.QuestionID)
		str("type", string(sc.Type))
		field("value")
		b = strconv.AppendInt(b, int64(sc.Value), 10)
		optStr("category", string(sc.Category))
		b = append(b, '}')
	}
	b = append(b, ']')
	field("answers")
	b = append(b, '{')
	qids := make([]string, 0, len(p.Answers))
	for qid, a := range p.Answers {
		if a.Number != nil || a.Bool != nil || len(a.Choices) > 0 || a.Text != "" && comments {
			qids = append(qids, qid)
		}
	}
	slices.Sort(qids) // encoding/json's order of map keys
	for i, qid := range qids {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, qid)
		b = append(b, ':')
		a := p.Answers[qid]
		switch {
		case a.Number != nil:
			b = append(b, `{"number":`...)
			b = strconv.AppendInt(b, int64(*a.Number), 10)
		case a.Bool != nil:
			b = append(b, `{"yes":`...)
			b = strconv.AppendBool(b, *a.Bool)
		case len(a.Choices) > 0:
			b = append(b, `{"choices":[`...)
			for j, c := range a.Choices {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, c)
			}
			b = append(b, ']')
		default:
			b = append(b, `{"text":`...)
			b = appendJSONString(b, a.Text)
		}
		b = append(b, '}')
	}
	b = append(b, '}')
	if comments && p.TextErased {
		b = append(b, `,"comments_erased":true`...)
	}
	return append(b, '}')
}

// appendJSONTime appends t in UTC as encoding/json writes a time.Time.
func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string the way encoding/json does
// without HTML escaping: quotes, backslashes and control characters
// escaped, invalid UTF-8 replaced by U+FFFD, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
