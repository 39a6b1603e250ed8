package survey

// The JSON exchange format of a survey definition, version 1:
//
//	{
//	  "avis_survey": 1,
//	  "name": "After delivery",
//	  "default_language": "fr",
//	  "languages": ["fr", "en"],
//	  "pages": [
//	    {"questions": [
//	      {"id": "nps", "type": "nps", "required": true,
//	       "text": {"fr": "Recommanderiez-vous…", "en": "Would you recommend…"},
//	       "low_label": {"fr": "Pas du tout"}, "high_label": {"fr": "Certainement"}},
//	      {"id": "what_went_wrong", "type": "longtext",
//	       "text": {"fr": "Qu'est-ce qui n'a pas été ?"},
//	       "condition": {"question": "nps", "op": "le", "value": 6}}
//	    ]},
//	    {"questions": [
//	      {"id": "topics", "type": "multi", "max_select": 2,
//	       "text": {"fr": "Qu'avez-vous apprécié ?"},
//	       "choices": [{"key": "price", "text": {"fr": "Le prix"}},
//	                   {"key": "speed", "text": {"fr": "La rapidité"}}]}
//	    ]}
//	  ]
//	}
//
// Fields of a question:
//
//   - id (required): 1 to 40 lower-case letters, digits and '_', unique in
//     the survey.
//   - type (required): nps (0–10), csat (1–5), ces (1–7), rating, single,
//     multi, yesno, text (answers up to 500 characters), longtext (up to
//     5,000).
//   - required: true when the question must be answered when shown.
//   - text (required), help: an object of texts by language; each needs the
//     default language, and every language must be among languages.
//     Languages without a text show the default language's.
//   - low_label, high_label: scale questions only (nps, csat, ces, rating).
//   - min, max (rating only, required): the scale, within 0 to 10, min < max.
//   - choices (single and multi only): 2 to 50 objects {"key", "text"}.
//   - min_select, max_select (multi only): how many choices an answer
//     selects; 0 or absent for no bound.
//   - condition: show the question only when an earlier question's answer
//     meets it: {"question": ID, "op": OP, ...}. OP is lt, le, eq, ne, ge or
//     gt with "value": a number on the scale (scale questions); is or is_not
//     with "value": a choice key, or "yes"/"no" for a yesno question; any_of
//     with "values": [keys]; answered or not_answered without value.
//
// Limits: the document is at most 1 MiB, 20 pages, 100 questions, texts at
// most 2,000 characters; unknown fields are refused, so that a misspelt
// field is never silently ignored. A null value counts as absent.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// FormatVersion is the version of the JSON format Export writes and Parse
// reads, in the field avis_survey.
const FormatVersion = 1

// Parse reads a definition in the JSON format and checks it (see Validate).
// Its errors are ValidationErrors, each naming the path of the problem in
// the document and saying what to do.
func Parse(b []byte) (*Definition, error) {
	d, err := decode(b)
	if err != nil {
		return nil, err
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// decode reads the JSON format without checking the rules of Validate
// (stored versions are read with it, so that a rule made stricter later
// never makes an old version unreadable). Errors are ValidationErrors.
func decode(b []byte) (*Definition, error) {
	if len(b) > MaxDocument {
		return nil, ValidationErrors{{Problem: fmt.Sprintf("the document is %d bytes; a survey is at most %d bytes (1 MiB), shorten its texts or split it", len(b), MaxDocument)}}
	}
	if err := syntaxCheck(b); err != nil {
		return nil, ValidationErrors{{Problem: err.Error()}}
	}
	dec := &decoder{}
	d := dec.definition(b)
	if len(dec.c.errs) > 0 {
		// Add what Validate finds outside the parts already reported, so
		// that one round of fixes goes as far as possible.
		var vc collector
		d.validate(&vc)
		for _, e := range vc.errs {
			if !dec.covers(e.Path) {
				dec.c.add(e.Path, "%s", e.Problem)
			}
		}
		return nil, dec.c.err()
	}
	return d, nil
}

// syntaxCheck reports where a document is not JSON, by line and column.
func syntaxCheck(b []byte) error {
	if json.Valid(b) {
		return nil
	}
	var v any
	err := json.Unmarshal(b, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := lineCol(b, int(se.Offset))
		return fmt.Errorf("not valid JSON at line %d, column %d (%s); check for a missing comma, quote or bracket", line, col, se.Error())
	}
	if err == nil {
		err = errors.New("unexpected content")
	}
	return fmt.Errorf("not valid JSON (%s); check that the file holds one survey and was saved as UTF-8", err.Error())
}

func lineCol(b []byte, off int) (line, col int) {
	off = min(max(off, 0), len(b))
	line = 1 + bytes.Count(b[:off], []byte{'\n'})
	col = off - bytes.LastIndexByte(b[:off], '\n')
	return line, col
}

// decoder reads the JSON format field by field, so that each problem is
// reported with its path.
type decoder struct {
	c collector
	// bad lists the paths already reported, so that Validate does not
	// report them again.
	bad []string
}

func (dec *decoder) add(path, format string, args ...any) {
	dec.bad = append(dec.bad, path)
	dec.c.add(path, format, args...)
}

// covers reports whether a problem at path lies inside a part already
// reported.
func (dec *decoder) covers(path string) bool {
	for _, b := range dec.bad {
		if b == "" || path == b || strings.HasPrefix(path, b+".") || strings.HasPrefix(path, b+"[") || strings.HasPrefix(b, path+".") || strings.HasPrefix(b, path+"[") {
			return true
		}
	}
	return false
}

type field struct {
	key string
	raw json.RawMessage
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func kind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "true or false"
	case 'n':
		return "null"
	}
	return "a number"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// object reads a JSON object in order, refusing duplicate fields and fields
// not in known (when known is not nil). Null values are left out. ok is false
// when raw is not an object.
func (dec *decoder) object(path string, raw json.RawMessage, what string, known []string) (fields []field, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		dec.add(path, "is %s; %s is an object {…}", kind(raw), what)
		return nil, false
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	if _, err := d.Token(); err != nil { // {
		dec.add(path, "cannot be read; %s is an object {…}", what)
		return nil, false
	}
	seen := map[string]bool{}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			dec.add(path, "cannot be read; %s is an object {…}", what)
			return nil, false
		}
		key, _ := t.(string)
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			dec.add(join(path, clipText(key)), "cannot be read")
			return nil, false
		}
		p := join(path, clipText(key))
		switch {
		case seen[key]:
			dec.add(p, "given twice; keep one")
			continue
		case known != nil && !slices.Contains(known, key):
			dec.add(p, "unknown field; remove it or check its spelling (known fields: %s)", strings.Join(known, ", "))
			continue
		}
		seen[key] = true
		if isNull(v) {
			continue
		}
		fields = append(fields, field{key, v})
	}
	return fields, true
}

func (dec *decoder) list(path string, raw json.RawMessage, what string) ([]json.RawMessage, bool) {
	var out []json.RawMessage
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		dec.add(path, "is %s; %s is a list […]", kind(raw), what)
		return nil, false
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		dec.add(path, "cannot be read; %s is a list […]", what)
		return nil, false
	}
	return out, true
}

func (dec *decoder) str(path string, raw json.RawMessage, what string) (string, bool) {
	raw = bytes.TrimSpace(raw)
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		dec.add(path, "is %s; %s is a string \"…\"", kind(raw), what)
		return "", false
	}
	return s, true
}

func (dec *decoder) integer(path string, raw json.RawMessage, what string) (int, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		dec.add(path, "is %s; %s is a whole number", kind(raw), what)
		return 0, false
	}
	n, err := strconv.ParseInt(string(raw), 10, 32)
	if err != nil {
		dec.add(path, "%s is not a whole number in range; %s is a whole number such as 5", clipText(string(raw)), what)
		return 0, false
	}
	return int(n), true
}

func (dec *decoder) boolean(path string, raw json.RawMessage, what string) (bool, bool) {
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	dec.add(path, "is %s; %s is true or false", kind(raw), what)
	return false, false
}

func (dec *decoder) texts(path string, raw json.RawMessage) Texts {
	fields, ok := dec.object(path, raw, "a text by language, such as {\"fr\": \"…\", \"en\": \"…\"},", nil)
	if !ok {
		return nil
	}
	t := Texts{}
	for _, f := range fields {
		if s, ok := dec.str(join(path, clipText(f.key)), f.raw, "a text"); ok {
			t[f.key] = s
		}
	}
	return t
}

var (
	docFields       = []string{"avis_survey", "name", "default_language", "languages", "pages"}
	pageFields      = []string{"questions"}
	questionFields  = []string{"id", "type", "required", "text", "help", "low_label", "high_label", "min", "max", "choices", "min_select", "max_select", "condition"}
	choiceFields    = []string{"key", "text"}
	conditionFields = []string{"question", "op", "value", "values"}
)

func (dec *decoder) definition(b []byte) *Definition {
	d := &Definition{}
	fields, ok := dec.object("", b, "a survey", docFields)
	if !ok {
		return d
	}
	version := false
	for _, f := range fields {
		switch f.key {
		case "avis_survey":
			if v, ok := dec.integer(f.key, f.raw, "the format version"); ok {
				version = true
				if v != FormatVersion {
					dec.add(f.key, "version %d is not supported; this avis reads version %d, export the survey again from a matching avis", v, FormatVersion)
				}
			} else {
				version = true
			}
		case "name":
			d.Name, _ = dec.str(f.key, f.raw, "the name")
		case "default_language":
			d.DefaultLanguage, _ = dec.str(f.key, f.raw, "the default language")
		case "languages":
			items, _ := dec.list(f.key, f.raw, "languages")
			d.Languages = []string{}
			for i, it := range items {
				if s, ok := dec.str(idx("", "languages", i), it, "a language"); ok {
					d.Languages = append(d.Languages, s)
				}
			}
		case "pages":
			items, _ := dec.list(f.key, f.raw, "pages")
			if len(items) > MaxPages {
				dec.add("pages", "%d pages; a survey has at most %d, merge some", len(items), MaxPages)
				return d
			}
			for i, it := range items {
				d.Pages = append(d.Pages, dec.page(idx("", "pages", i), it))
			}
		}
	}
	if !version {
		dec.add("avis_survey", "missing; a survey document starts with \"avis_survey\": %d", FormatVersion)
	}
	if d.Languages == nil && d.DefaultLanguage != "" {
		d.Languages = []string{d.DefaultLanguage}
	}
	return d
}

func (dec *decoder) page(path string, raw json.RawMessage) Page {
	var p Page
	fields, ok := dec.object(path, raw, "a page", pageFields)
	if !ok {
		return p
	}
	for _, f := range fields {
		items, _ := dec.list(join(path, "questions"), f.raw, "questions")
		if len(items) > MaxQuestions {
			dec.add(join(path, "questions"), "%d questions; a survey has at most %d, remove some", len(items), MaxQuestions)
			return p
		}
		for i, it := range items {
			p.Questions = append(p.Questions, dec.question(idx(path+".", "questions", i), it))
		}
	}
	return p
}

func (dec *decoder) question(path string, raw json.RawMessage) Question {
	var q Question
	fields, ok := dec.object(path, raw, "a question", questionFields)
	if !ok {
		return q
	}
	var hasMin, hasMax bool
	for _, f := range fields {
		p := join(path, f.key)
		switch f.key {
		case "id":
			q.ID, _ = dec.str(p, f.raw, "the id")
		case "type":
			var s string
			s, _ = dec.str(p, f.raw, "the type")
			q.Type = Type(s)
		case "required":
			q.Required, _ = dec.boolean(p, f.raw, "required")
		case "text":
			q.Text = dec.texts(p, f.raw)
		case "help":
			q.Help = dec.texts(p, f.raw)
		case "low_label":
			q.LowLabel = dec.texts(p, f.raw)
		case "high_label":
			q.HighLabel = dec.texts(p, f.raw)
		case "min":
			q.Min, _ = dec.integer(p, f.raw, "min")
			hasMin = true
		case "max":
			q.Max, _ = dec.integer(p, f.raw, "max")
			hasMax = true
		case "min_select":
			q.MinSelect, _ = dec.integer(p, f.raw, "min_select")
		case "max_select":
			q.MaxSelect, _ = dec.integer(p, f.raw, "max_select")
		case "choices":
			items, _ := dec.list(p, f.raw, "choices")
			if len(items) > MaxChoices {
				dec.add(p, "%d choices; a question has at most %d, remove some", len(items), MaxChoices)
				continue
			}
			q.Choices = []Choice{}
			for i, it := range items {
				q.Choices = append(q.Choices, dec.choice(idx(path+".", "choices", i), it))
			}
		case "condition":
			q.Condition = dec.condition(p, f.raw)
		}
	}
	if q.Type == TypeRating {
		if !hasMin {
			dec.add(join(path, "min"), "missing; a rating question needs min and max, within %d to %d", RatingMin, RatingMax)
		}
		if !hasMax {
			dec.add(join(path, "max"), "missing; a rating question needs min and max, within %d to %d", RatingMin, RatingMax)
		}
	}
	return q
}

func (dec *decoder) choice(path string, raw json.RawMessage) Choice {
	var c Choice
	fields, ok := dec.object(path, raw, "a choice", choiceFields)
	if !ok {
		return c
	}
	for _, f := range fields {
		p := join(path, f.key)
		switch f.key {
		case "key":
			c.Key, _ = dec.str(p, f.raw, "the key")
		case "text":
			c.Text = dec.texts(p, f.raw)
		}
	}
	return c
}

func (dec *decoder) condition(path string, raw json.RawMessage) *Condition {
	c := &Condition{}
	fields, ok := dec.object(path, raw, "a condition", conditionFields)
	if !ok {
		return c
	}
	var value, values json.RawMessage
	for _, f := range fields {
		p := join(path, f.key)
		switch f.key {
		case "question":
			c.Question, _ = dec.str(p, f.raw, "the question")
		case "op":
			var s string
			s, _ = dec.str(p, f.raw, "the operator")
			c.Op = Op(s)
		case "value":
			value = f.raw
		case "values":
			values = f.raw
		}
	}
	vp, vsp := join(path, "value"), join(path, "values")
	switch {
	case c.Op.Numeric():
		if value == nil {
			dec.add(vp, "missing; %s compares with a number, give it in value", c.Op)
		} else {
			c.Value, _ = dec.integer(vp, value, "the value "+string(c.Op)+" compares with")
		}
		if values != nil {
			dec.add(vsp, "%s compares with one number in value; remove values", c.Op)
		}
	case c.Op == OpIs || c.Op == OpIsNot:
		if value == nil {
			dec.add(vp, "missing; %s compares with a choice key (or yes or no), give it in value", c.Op)
		} else if s, ok := dec.str(vp, value, "the choice key"); ok {
			c.Keys = []string{s}
		}
		if values != nil {
			dec.add(vsp, "%s compares with one key in value; use any_of for several", c.Op)
		}
	case c.Op == OpAnyOf:
		if values == nil {
			dec.add(vsp, "missing; any_of compares with a list of choice keys, give it in values")
		} else if items, ok := dec.list(vsp, values, "values"); ok {
			c.Keys = []string{}
			for i, it := range items {
				if s, ok := dec.str(idx(path+".", "values", i), it, "a choice key"); ok {
					c.Keys = append(c.Keys, s)
				}
			}
		}
		if value != nil {
			dec.add(vp, "any_of compares with a list in values; remove value")
		}
	case c.Op == OpAnswered || c.Op == OpNotAnswered:
		if value != nil || values != nil {
			dec.add(path, "%s takes no value; remove value and values", c.Op)
		}
	}
	return c
}

// Export writes the definition in the JSON format (indented, fields in a
// fixed order, so that the same definition always gives the same bytes).
func Export(d *Definition) ([]byte, error) {
	var buf bytes.Buffer
	if err := exportTo(&buf, d, "  "); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// canonical is the compact export that the store compares and stores.
func canonical(d *Definition) ([]byte, error) {
	var buf bytes.Buffer
	if err := exportTo(&buf, d, ""); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

type wireDoc struct {
	AvisSurvey      int        `json:"avis_survey"`
	Name            string     `json:"name"`
	DefaultLanguage string     `json:"default_language"`
	Languages       []string   `json:"languages"`
	Pages           []wirePage `json:"pages"`
}

type wirePage struct {
	Questions []wireQuestion `json:"questions"`
}

type wireQuestion struct {
	ID        string         `json:"id"`
	Type      Type           `json:"type"`
	Required  bool           `json:"required,omitempty"`
	Text      Texts          `json:"text"`
	Help      Texts          `json:"help,omitempty"`
	LowLabel  Texts          `json:"low_label,omitempty"`
	HighLabel Texts          `json:"high_label,omitempty"`
	Min       *int           `json:"min,omitempty"`
	Max       *int           `json:"max,omitempty"`
	Choices   []wireChoice   `json:"choices,omitempty"`
	MinSelect int            `json:"min_select,omitempty"`
	MaxSelect int            `json:"max_select,omitempty"`
	Condition *wireCondition `json:"condition,omitempty"`
}

type wireChoice struct {
	Key  string `json:"key"`
	Text Texts  `json:"text"`
}

type wireCondition struct {
	Question string   `json:"question"`
	Op       Op       `json:"op"`
	Value    any      `json:"value,omitempty"`
	Values   []string `json:"values,omitempty"`
}

func exportTo(w io.Writer, d *Definition, indent string) error {
	doc := wireDoc{AvisSurvey: FormatVersion, Name: d.Name, DefaultLanguage: d.DefaultLanguage, Languages: d.Languages, Pages: []wirePage{}}
	if doc.Languages == nil {
		doc.Languages = []string{}
	}
	for _, p := range d.Pages {
		wp := wirePage{Questions: []wireQuestion{}}
		for _, q := range p.Questions {
			wq := wireQuestion{ID: q.ID, Type: q.Type, Required: q.Required, Text: q.Text, Help: q.Help,
				LowLabel: q.LowLabel, HighLabel: q.HighLabel, MinSelect: q.MinSelect, MaxSelect: q.MaxSelect}
			if wq.Text == nil {
				wq.Text = Texts{}
			}
			if q.Type == TypeRating || q.Min != 0 || q.Max != 0 {
				lo, hi := q.Min, q.Max
				wq.Min, wq.Max = &lo, &hi
			}
			for _, c := range q.Choices {
				t := c.Text
				if t == nil {
					t = Texts{}
				}
				wq.Choices = append(wq.Choices, wireChoice{Key: c.Key, Text: t})
			}
			if c := q.Condition; c != nil {
				wc := &wireCondition{Question: c.Question, Op: c.Op}
				switch {
				case c.Op.Numeric():
					wc.Value = c.Value
				case c.Op == OpAnyOf:
					wc.Values = c.Keys
				case len(c.Keys) > 0:
					wc.Value = c.Keys[0]
				}
				wq.Condition = wc
			}
			wp.Questions = append(wp.Questions, wq)
		}
		doc.Pages = append(doc.Pages, wp)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("export survey: %w", err)
	}
	return nil
}
