// Package placeholder is the small, safe template language tenants write
// invitation texts in (email subject, email body, SMS text).
//
// A template is literal text with placeholders:
//
//	Bonjour {{ first_name or "cher client" }},
//	{{ if store }}merci de votre visite à {{ store }}.{{ else }}merci de votre visite.{{ end }}
//	Donnez-nous votre avis : {{ survey_link }}
//
// The grammar, in full:
//
//	template := ( text | "{{{{" | tag )*
//	tag      := "{{" ws* body ws* "}}"
//	body     := name ( ws+ "or" ws+ string )?
//	          | "if" ws+ name
//	          | "else"
//	          | "end"
//	string   := '"' ( any character but '"', '\', '{', '}' or a line break | '\"' | '\\' )* '"'
//
// "{{{{" writes a literal "{{". Names come from an allow-list the caller gives
// to Compile; the keywords if, else, end and or are matched without regard to
// case and are never names. Conditions nest up to Limits.MaxDepth. There is
// nothing else: no function, no loop, no expression, so a template can only
// print values, and a value is never read as template syntax.
package placeholder

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Default limits, used where a Limits field is zero.
const (
	DefaultMaxBytes  = 20_000
	DefaultMaxDepth  = 5
	DefaultMaxErrors = 10
)

// Limits bounds what Compile accepts. A zero field takes its default.
type Limits struct {
	// MaxBytes is the largest source, in bytes (default 20,000).
	MaxBytes int
	// MaxDepth is how many conditions may be open inside one another
	// (default 5).
	MaxDepth int
	// MaxErrors is how many errors Compile collects before it stops
	// (default 10).
	MaxErrors int
	// SingleLine refuses a line break anywhere in the source, for texts
	// that must be one line, such as an email subject.
	SingleLine bool
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxErrors <= 0 {
		l.MaxErrors = DefaultMaxErrors
	}
	return l
}

// Template is a compiled template. It is immutable and safe for concurrent
// use.
type Template struct {
	ops      []op
	names    []string // used names, in order of first use; a value op's slot indexes it
	uses     []int    // how many value ops print each slot
	textSize int      // bytes of all literal text and fallbacks: with uses, an upper bound of the output
	htmlSize int      // the same, escaped and with the paragraph tags
}

// size bounds the output for these values, so that it is allocated once.
func (t *Template) size(base int, vals []string) int {
	for i, v := range vals {
		base += t.uses[i] * len(v)
	}
	return base
}

type opKind uint8

const (
	opText  opKind = iota // literal text
	opValue               // a value, or its fallback when empty
	opIf                  // jump to op.jump when the value is empty
	opJump                // jump to op.jump
)

type op struct {
	kind   opKind
	blank  bool    // opValue: the fallback is only spaces
	slot   int     // opValue, opIf: index into Template.names
	jump   int     // opIf, opJump: index of the next op to run
	text   string  // opText: the literal; opValue: the fallback
	html   string  // opValue: the fallback, HTML-escaped
	pieces []piece // opText: the literal, cut for HTML rendering
}

// piece is part of a literal, prepared for HTML rendering: escaped text
// within a line, only spaces within a line, or line breaks.
type piece struct {
	s     string // escaped text, or the spaces
	blank bool   // s is only spaces or tabs
	nl    int    // > 0: that many line breaks, and s is empty
}

// Placeholders returns the names the template uses, in order of first use.
func (t *Template) Placeholders() []string {
	return append([]string(nil), t.names...)
}

// Text renders the template as plain text, for an SMS or an email subject or
// text part. Nothing is escaped. A value is trimmed, its control characters
// (CR and LF included) become spaces and invalid UTF-8 becomes U+FFFD, so a
// value can neither break a line nor inject a header; a value that is empty
// after that counts as missing. Line breaks in the literal text are "\n".
func (t *Template) Text(values map[string]string) string {
	var buf [16]string
	vals := t.resolve(buf[:0], values, false)
	var b strings.Builder
	b.Grow(t.size(t.textSize, vals))
	for pc := 0; pc < len(t.ops); {
		o := &t.ops[pc]
		switch o.kind {
		case opText:
			b.WriteString(o.text)
		case opValue:
			if v := vals[o.slot]; v != "" {
				b.WriteString(v)
			} else {
				b.WriteString(o.text)
			}
		case opIf:
			if vals[o.slot] == "" {
				pc = o.jump
				continue
			}
		case opJump:
			pc = o.jump
			continue
		}
		pc++
	}
	return b.String()
}

// HTML renders the template as an HTML fragment for the body of an email.
// The literal text and the values are escaped; blocks of text separated by a
// blank line become <p> paragraphs and a single line break becomes <br>.
// Values are cleaned as for Text and always printed as escaped text: a
// survey_link or unsubscribe_link is not made a link here, the email layout
// makes the buttons.
func (t *Template) HTML(values map[string]string) string {
	var buf [16]string
	vals := t.resolve(buf[:0], values, true)
	w := htmlWriter{}
	w.b.Grow(t.size(t.htmlSize, vals))
	for pc := 0; pc < len(t.ops); {
		o := &t.ops[pc]
		switch o.kind {
		case opText:
			for i := range o.pieces {
				p := &o.pieces[i]
				switch {
				case p.nl > 0:
					w.newlines(p.nl)
				case p.blank:
					w.blank(p.s)
				default:
					w.content(p.s)
				}
			}
		case opValue:
			switch v := vals[o.slot]; {
			case v != "":
				w.content(v)
			case o.blank:
				w.blank(o.html)
			case o.html != "":
				w.content(o.html)
			}
		case opIf:
			if vals[o.slot] == "" {
				pc = o.jump
				continue
			}
		case opJump:
			pc = o.jump
			continue
		}
		pc++
	}
	return w.close()
}

// htmlWriter turns line breaks into paragraphs and <br>. Breaks before the
// first text and spaces at the start of a line are dropped; a paragraph opens
// only when there is text to put in it.
type htmlWriter struct {
	b    strings.Builder
	open bool
	nl   int
}

func (w *htmlWriter) content(s string) {
	switch {
	case !w.open:
		w.b.WriteString("<p>")
		w.open = true
	case w.nl >= 2:
		w.b.WriteString("</p>\n<p>")
	case w.nl == 1:
		w.b.WriteString("<br>\n")
	}
	w.nl = 0
	w.b.WriteString(s)
}

func (w *htmlWriter) blank(s string) {
	if w.open && w.nl == 0 {
		w.b.WriteString(s)
	}
}

func (w *htmlWriter) newlines(n int) {
	if w.open {
		w.nl += n
	}
}

func (w *htmlWriter) close() string {
	if w.open {
		w.b.WriteString("</p>")
	}
	return w.b.String()
}

// resolve looks up each used name once, cleans the value and, for HTML,
// escapes it.
func (t *Template) resolve(vals []string, values map[string]string, escape bool) []string {
	for _, name := range t.names {
		v := cleanValue(values[name])
		if escape && strings.ContainsAny(v, `&<>"'`) {
			v = html.EscapeString(v)
		}
		vals = append(vals, v)
	}
	return vals
}

// cleanValue makes a value one line of valid UTF-8 without surrounding
// spaces. The common case, plain printable ASCII, costs one scan and no
// allocation.
func cleanValue(v string) string {
	plain := true
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c >= 0x7f {
			plain = false
			break
		}
	}
	if !plain {
		if !utf8.ValidString(v) {
			v = strings.ToValidUTF8(v, "\uFFFD")
		}
		if strings.IndexFunc(v, isBreaking) >= 0 {
			v = strings.Map(func(r rune) rune {
				if isBreaking(r) {
					return ' '
				}
				return r
			}, v)
		}
	}
	return strings.TrimSpace(v)
}

// isBreaking reports whether r is a control character or a line or
// paragraph separator, which a value must not carry into the output.
func isBreaking(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}
