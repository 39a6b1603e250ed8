package contact

// What the import says about a file or a row, kept as an English format and
// its arguments: the CLI, the API and the logs print the English text, the
// admin pages say it in the reader's language, and the database keeps both
// so that a stored report can be read in any language later.

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Text is a message for a person: an English format in plain words and its
// arguments (file names, counts, byte sizes, nested Texts). String gives the
// English text; In gives it through a translator.
type Text struct {
	Format string
	Args   []any
}

// textf makes a Text. Every message of the import goes through textf or
// fileErr with a literal format, so that the catalogue test finds them all.
func textf(format string, args ...any) Text { return Text{Format: format, Args: args} }

// IsZero reports whether t says nothing.
func (t Text) IsZero() bool { return t.Format == "" }

// String returns the English text.
func (t Text) String() string { return t.In(english) }

// In returns the text as tr says it: tr translates a format and formats it
// with its arguments, as i18n.Catalogs.T does (no formatting without
// arguments). Nested Texts and byte sizes are said through tr first; other
// arguments (names, numbers) are passed as they are.
func (t Text) In(tr func(format string, args ...any) string) string {
	if len(t.Args) == 0 {
		return tr(t.Format)
	}
	args := make([]any, len(t.Args))
	for i, a := range t.Args {
		switch a := a.(type) {
		case Text:
			args[i] = a.In(tr)
		case ByteSize:
			args[i] = a.Text().In(tr)
		default:
			args[i] = a
		}
	}
	return tr(t.Format, args...)
}

// english is the translator of String: the format as it is.
func english(format string, args ...any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

// TextOf returns the Text an error carries (a FileError, a normaliser's
// error, a mapping error, a failed import's reason), or the error's own
// message as a Text without arguments.
func TextOf(err error) Text {
	if t, ok := ErrorText(err); ok {
		return t
	}
	return Text{Format: err.Error()}
}

// ErrorText returns the Text an error of the import carries, and whether it
// carries one: an error that does not (a read error of the disk or the
// network) has only its English message.
func ErrorText(err error) (Text, bool) {
	var c interface{ text() Text }
	if errors.As(err, &c) {
		return c.text(), true
	}
	return Text{}, false
}

// ByteSize is a size in bytes as a message argument, said in whole MiB or
// KiB when it is one ("1 MiB").
type ByteSize int

// Text says the size.
func (b ByteSize) Text() Text {
	n := int(b)
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return textf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return textf("%d KiB", n>>10)
	case n == 1:
		return textf("1 byte")
	}
	return textf("%d bytes", n)
}

// String says the size in English.
func (b ByteSize) String() string { return b.Text().String() }

// textJSON is how a Text is stored: {"f": format, "a": [arg…]}, each
// argument {"s": string}, {"n": integer}, {"b": byte size} or {"t": Text}.
type textJSON struct {
	F string    `json:"f"`
	A []argJSON `json:"a,omitempty"`
}

type argJSON struct {
	S *string   `json:"s,omitempty"`
	N *int64    `json:"n,omitempty"`
	B *int64    `json:"b,omitempty"`
	T *textJSON `json:"t,omitempty"`
}

func (t Text) toJSON() textJSON {
	out := textJSON{F: t.Format}
	for _, a := range t.Args {
		var j argJSON
		switch a := a.(type) {
		case string:
			j.S = &a
		case int:
			n := int64(a)
			j.N = &n
		case int64:
			j.N = &a
		case int32: // a rune, said with %q
			n := int64(a)
			j.N = &n
		case ByteSize:
			n := int64(a)
			j.B = &n
		case Text:
			tj := a.toJSON()
			j.T = &tj
		default:
			s := fmt.Sprint(a)
			j.S = &s
		}
		out.A = append(out.A, j)
	}
	return out
}

func (j textJSON) text() Text {
	t := Text{Format: j.F}
	for _, a := range j.A {
		switch {
		case a.S != nil:
			t.Args = append(t.Args, *a.S)
		case a.N != nil:
			t.Args = append(t.Args, int(*a.N))
		case a.B != nil:
			t.Args = append(t.Args, ByteSize(*a.B))
		case a.T != nil:
			t.Args = append(t.Args, a.T.text())
		default:
			t.Args = append(t.Args, "")
		}
	}
	return t
}

// encodeText is t as stored in a TEXT column; "" for a zero Text.
func encodeText(t Text) string {
	if t.IsZero() {
		return ""
	}
	b, err := json.Marshal(t.toJSON())
	if err != nil {
		return ""
	}
	return string(b)
}

// maxStoredText bounds a stored Text, as the English text beside it is
// bounded: a longer one (a long file or sheet name) is not kept, and the
// English text is shown instead.
const maxStoredText = 2000

// storedText is t as stored, or "" when it is too long to keep.
func storedText(t Text) string {
	s := encodeText(t)
	if len(s) > maxStoredText {
		return ""
	}
	return s
}

// decodeText reads a stored Text; a row written before Texts were stored
// (stored == "") or one that cannot be read is the English text alone.
func decodeText(stored, english string) Text {
	if stored != "" {
		var j textJSON
		if json.Unmarshal([]byte(stored), &j) == nil && j.F != "" {
			return j.text()
		}
	}
	return Text{Format: english}
}
