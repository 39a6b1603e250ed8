package contact

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestTextStoredRoundTrip: a Text keeps its format and the type of each
// argument through the database's JSON, so that it formats the same after.
func TestTextStoredRoundTrip(t *testing.T) {
	cases := []Text{
		textf("not a valid email address"),
		textf("not a valid phone number for %s", "FR"),
		textf("the row has %d fields, the header %d", 9, 8),
		textf("the row is longer than %s: it was skipped", ByteSize(1<<20)),
		textf("the delimiter %q is not supported: choose , ; tab or |", '#'),
		textf("the file cannot be read further: %s", textf("line %d of %s is longer than %s", 3, textf("the file"), ByteSize(1500))),
		textf("column %q: %s", "Nom; \"x\" 100%", textf("an attribute name is 1 to 40 lower-case letters, digits or underscores, starting with a letter")),
	}
	for _, c := range cases {
		stored := encodeText(c)
		got := decodeText(stored, "unused")
		if got.String() != c.String() || got.Format != c.Format {
			t.Errorf("%q stored as %s reads back as %q", c.String(), stored, got.String())
		}
		if strings.Contains(got.String(), "%!") {
			t.Errorf("%q reads back badly formatted: %q", c.String(), got.String())
		}
	}
	// Old rows, and rows whose Text could not be kept, say the English text.
	for _, stored := range []string{"", "{", `{"f":""}`} {
		if got := decodeText(stored, "100% refused"); !reflect.DeepEqual(got, Text{Format: "100% refused"}) || got.String() != "100% refused" {
			t.Errorf("decodeText(%q) = %#v", stored, got)
		}
	}
	long := textf("%s has no sheet", strings.Repeat("x", 3000))
	if storedText(long) != "" {
		t.Error("a Text longer than the column's bound is stored")
	}
}

// TestTextIn: a translator sees every format, nested ones and byte sizes
// included, and never a name or a number.
func TestTextIn(t *testing.T) {
	var seen []string
	tr := func(format string, args ...any) string {
		seen = append(seen, format)
		return "<" + english(format, args...) + ">"
	}
	got := textf("the file cannot be read further: %s", textf("line %d of %s is longer than %s", 3, textf("the file"), ByteSize(2048))).In(tr)
	want := "<the file cannot be read further: <line 3 of <the file> is longer than <2 KiB>>>"
	if got != want {
		t.Errorf("In = %q, want %q", got, want)
	}
	if fmt.Sprint(seen) != "[the file %d KiB line %d of %s is longer than %s the file cannot be read further: %s]" {
		t.Errorf("translated formats: %q", seen)
	}
	for n, want := range map[ByteSize]string{1: "1 byte", 1000: "1000 bytes", 1 << 10: "1 KiB", 3 << 20: "3 MiB", 1<<20 + 1: "1048577 bytes"} {
		if n.String() != want {
			t.Errorf("ByteSize(%d) = %q, want %q", int(n), n.String(), want)
		}
	}
}

// FuzzDecodeText: whatever a stored Text holds (a damaged row, a row from a
// later version), reading and saying it never panics.
func FuzzDecodeText(f *testing.F) {
	f.Add(encodeText(textf("line %d of %s is longer than %s", 3, textf("the file"), ByteSize(1500))))
	f.Add(`{"f":"%d %s %q","a":[{"s":"x"},{"n":7},{"b":-1},{"t":{"f":"%s"}}]}`)
	f.Add(`{"f":"%[3]*.[2]*[1]f","a":[{}]}`)
	f.Fuzz(func(t *testing.T, stored string) {
		got := decodeText(stored, "english")
		_ = got.String()
		_ = got.In(func(format string, args ...any) string { return fmt.Sprintf(format, args...) })
		_ = storedText(got)
	})
}
