package web

import (
	"strings"
	"testing"
	"unicode/utf8"

	"avis/internal/contact"
)

// FuzzParseAddress: whatever a person types in the access-link form, the
// parser does not panic and either names a problem or gives a normalised
// email (unchanged by normalising again) or an E.164 phone number.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"", "jeanne@example.org", " Jeanne.Martin@Example.ORG ", "06 39 98 00 42", "+33 6 39 98 00 42",
		"0033639980042", "jeanne@", "@", "12", strings.Repeat("a", 300), "a@b@c.d", "été@exämple.fr", "+1 555 0100", "\x00@x.y"} {
		f.Add(s, "FR")
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		field, norm, problem := parseAddress(raw, region)
		if problem != "" {
			if field != "" || norm != "" {
				t.Fatalf("%q: a problem and a value %q %q", raw, field, norm)
			}
			return
		}
		switch field {
		case contact.FieldEmail:
			if again, err := contact.NormaliseEmail(norm); err != nil || again != norm || !utf8.ValidString(norm) {
				t.Fatalf("%q: email %q not stable (%q, %v)", raw, norm, again, err)
			}
		case contact.FieldPhone:
			if !strings.HasPrefix(norm, "+") || len(norm) > 16 {
				t.Fatalf("%q: phone %q is not E.164", raw, norm)
			}
		default:
			t.Fatalf("%q: field %q", raw, field)
		}
		if len(norm) > meAddressMaxLen {
			t.Fatalf("%q: %d bytes", raw, len(norm))
		}
	})
}
