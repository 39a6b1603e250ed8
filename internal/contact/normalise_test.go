package contact

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestNormalisePhone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw, region, want, err string
	}{
		{"0612345678", "FR", "+33612345678", ""},
		{"06 12 34 56 78", "FR", "+33612345678", ""},
		{"06.12.34.56.78", "fr", "+33612345678", ""},
		{"+33 (0)6 12 34 56 78", "FR", "+33612345678", ""},
		{"0033 6 12 34 56 78", "FR", "+33612345678", ""},
		{"612345678", "FR", "+33612345678", ""}, // a spreadsheet ate the leading zero
		{"+49 30 123456", "FR", "+4930123456", ""},
		{"+49 30 123456", "", "+4930123456", ""},
		{"030 123456", "DE", "+4930123456", ""},
		{"+33 1 99 00 12 34", "FR", "+33199001234", ""}, // the demo's fiction range
		{"01 99 00 12 34", "FR", "+33199001234", ""},
		{"06 39 98 12 34", "FR", "+33639981234", ""}, // ARCEP fiction mobile range
		{"07700 900123", "GB", "+447700900123", ""},  // Ofcom drama range
		{"(202) 555-0123", "US", "+12025550123", ""},
		{"+1 212 555 0142", "FR", "+12125550142", ""}, // NANP fiction 555-01xx
		{"  ", "FR", "", ""},
		{"0612", "FR", "", "not a valid phone number for FR"},
		{"0612", "", "", "not a valid phone number"},
		{"06 12 34 56 78 90", "FR", "", "not a valid phone number for FR"},
		{"+33 0 00 00 00 00", "FR", "", "not a valid phone number"},
		{"+1 555 0100", "FR", "", "not a valid phone number"},
		{"06 39 98 12 3", "FR", "", "not a valid phone number for FR"},
		{"abc", "FR", "", "not a valid phone number for FR"},
		{"=1+2", "FR", "", "not a valid phone number for FR"},
		{"0612345678", "", "", "not a valid phone number"}, // no region: a national number cannot be read
		{strings.Repeat("1", 100), "FR", "", "not a valid phone number for FR"},
	}
	for _, tt := range tests {
		got, err := NormalisePhone(tt.raw, tt.region)
		if got != tt.want || errString(err) != tt.err {
			t.Errorf("NormalisePhone(%q, %q) = %q, %v; want %q, %q", tt.raw, tt.region, got, err, tt.want, tt.err)
		}
		if err != nil && !errors.Is(err, ErrInvalidPhone) {
			t.Errorf("NormalisePhone(%q) error does not match ErrInvalidPhone", tt.raw)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	paris := time.FixedZone("", 3600)
	tests := []struct {
		in   string
		want time.Time
		err  string
	}{
		{"15/01/2024", time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC), ""},
		{"5/1/2024", time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC), ""},
		{"15.01.2024", time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC), ""},
		{"15-01-2024", time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC), ""},
		{"2024-01-15", time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC), ""},
		{"2024/01/15", time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC), ""},
		{"29/02/2024", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), ""},
		{" 01/02/2024 ", time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), ""}, // day first
		{"2024-01-15T10:30:00+01:00", time.Date(2024, 1, 15, 10, 30, 0, 0, paris), ""},
		{"2024-01-15T09:30:00Z", time.Date(2024, 1, 15, 9, 30, 0, 0, time.UTC), ""},
		{"2024-01-15T09:30:00.250Z", time.Date(2024, 1, 15, 9, 30, 0, 250e6, time.UTC), ""},
		{"2024-01-15T09:30:00", time.Date(2024, 1, 15, 9, 30, 0, 0, time.UTC), ""},
		{"2024-01-15 09:30", time.Date(2024, 1, 15, 9, 30, 0, 0, time.UTC), ""},
		{"15/01/2024 09:30", time.Date(2024, 1, 15, 9, 30, 0, 0, time.UTC), ""},
		{"20240115T093000Z", time.Date(2024, 1, 15, 9, 30, 0, 0, time.UTC), ""},
		{"45292", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), ""},    // Excel serial
		{"45292.5", time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC), ""}, // with a time
		{"45306.395833333336", time.Date(2024, 1, 15, 9, 30, 0, 0, time.UTC), ""},
		{"", time.Time{}, ""},
		{"31/02/2024", time.Time{}, "31/02/2024 is not a date"},
		{"29/02/2023", time.Time{}, "29/02/2023 is not a date"},
		{"2024-13-01", time.Time{}, "2024-13-01 is not a date"},
		{"32.01.2024", time.Time{}, "32.01.2024 is not a date"},
		{"2024", time.Time{}, `"2024" is not a date in a known format (dd/mm/yyyy, yyyy-mm-dd or ISO 8601)`},
		{"15/01/24", time.Time{}, `"15/01/24" is not a date in a known format (dd/mm/yyyy, yyyy-mm-dd or ISO 8601)`},
		{"January 15, 2024", time.Time{}, `"January 15, 2024" is not a date in a known format (dd/mm/yyyy, yyyy-mm-dd or ISO 8601)`},
		{"=TODAY()", time.Time{}, `"=TODAY()" is not a date in a known format (dd/mm/yyyy, yyyy-mm-dd or ISO 8601)`},
		{"9999999", time.Time{}, "9999999 is not a date"},
		{"-45292", time.Time{}, `"-45292" is not a date in a known format (dd/mm/yyyy, yyyy-mm-dd or ISO 8601)`},
	}
	for _, tt := range tests {
		got, err := ParseDate(tt.in)
		if !got.Equal(tt.want) || errString(err) != tt.err {
			t.Errorf("ParseDate(%q) = %v, %v; want %v, %q", tt.in, got, err, tt.want, tt.err)
		}
		if err != nil && !errors.Is(err, ErrInvalidDate) {
			t.Errorf("ParseDate(%q) error does not match ErrInvalidDate", tt.in)
		}
	}
}

func TestNormaliseLanguage(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"fr", "fr"}, {"FR", "fr"}, {"fr-FR", "fr"}, {"fr_CA", "fr"}, {"Français", "fr"}, {"francais", "fr"},
		{"French", "fr"}, {"fra", "fr"}, {"Deutsch", "de"}, {"allemand", "de"}, {"de-AT", "de"}, {"ger", "de"},
		{"Español", "es"}, {"castellano", "es"}, {"Italiano", "it"}, {"Português", "pt"}, {"pt-BR", "pt"},
		{"Nederlands", "nl"}, {"Vlaams", "nl"}, {"polski", "pl"}, {"Svenska", "sv"}, {"ελληνικά", "el"},
		{"Română", "ro"}, {"magyar", "hu"}, {"English", "en"}, {"anglais", "en"}, {"en-GB", "en"},
		{"zh-Hant-TW", "zh"}, {"  ", ""},
	}
	for _, tt := range tests {
		if got, err := NormaliseLanguage(tt.in); got != tt.want || err != nil {
			t.Errorf("NormaliseLanguage(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"xx", "Klingon", "f", "français de France", strings.Repeat("a", 100)} {
		if got, err := NormaliseLanguage(bad); err == nil || !errors.Is(err, ErrUnknownLanguage) {
			t.Errorf("NormaliseLanguage(%q) = %q, %v; want an error", bad, got, err)
		}
	}
}

func TestNormaliseCountry(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"FR", "FR"}, {"fr", "FR"}, {"France", "FR"}, {"FRA", "FR"}, {"Frankreich", "FR"},
		{"Deutschland", "DE"}, {"Allemagne", "DE"}, {"Germany", "DE"},
		{"España", "ES"}, {"Espagne", "ES"}, {"Spain", "ES"}, {"espana", "ES"},
		{"Italia", "IT"}, {"Portugal", "PT"}, {"België", "BE"}, {"Belgique", "BE"},
		{"Nederland", "NL"}, {"Pays-Bas", "NL"}, {"Österreich", "AT"}, {"Autriche", "AT"},
		{"Schweiz", "CH"}, {"Suisse", "CH"}, {"Svizzera", "CH"}, {"Switzerland", "CH"},
		{"United Kingdom", "GB"}, {"UK", "GB"}, {"Royaume-Uni", "GB"},
		{"United States", "US"}, {"USA", "US"}, {"États-Unis", "US"},
		{"Polska", "PL"}, {"Česko", "CZ"}, {"Magyarország", "HU"}, {"Ελλάδα", "GR"}, {"EL", "GR"}, {"Grèce", "GR"},
		{"Danmark", "DK"}, {"Suomi", "FI"}, {"Sverige", "SE"}, {"Norge", "NO"}, {"Ísland", "IS"},
		{"Liechtenstein", "LI"}, {"Lëtzebuerg", "LU"}, {"Éire", "IE"}, {"Malta", "MT"}, {"Κύπρος", "CY"},
		{"Eesti", "EE"}, {"Latvija", "LV"}, {"Lietuva", "LT"}, {"Slovensko", "SK"}, {"Slovenija", "SI"},
		{"Hrvatska", "HR"}, {"România", "RO"}, {"България", "BG"},
		{"JP", "JP"}, {"br", "BR"}, {"", ""},
	}
	for _, tt := range tests {
		if got, err := NormaliseCountry(tt.in); got != tt.want || err != nil {
			t.Errorf("NormaliseCountry(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"XX", "Atlantis", "F", "Europe", "ZZZ"} {
		if got, err := NormaliseCountry(bad); err == nil || !errors.Is(err, ErrUnknownCountry) {
			t.Errorf("NormaliseCountry(%q) = %q, %v; want an error", bad, got, err)
		}
	}
}

// Every name of the tables leads to one code only.
func TestLanguageCountryTablesConsistent(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for code, names := range languageNames {
		for _, n := range names {
			k := normKey(n)
			if c, ok := seen[k]; ok && c != code {
				t.Errorf("language %q means %s and %s", n, c, code)
			}
			if len(k) == 2 && k != code {
				t.Errorf("language name %q looks like a code", n)
			}
			seen[k] = code
		}
	}
	seen = map[string]string{}
	codes := map[string]bool{}
	for _, c := range strings.Fields(iso3166Alpha2) {
		codes[c] = true
	}
	for code, names := range countryNames {
		if !codes[code] {
			t.Errorf("%s is not an ISO 3166-1 code", code)
		}
		for _, n := range names {
			k := normKey(n)
			if c, ok := seen[k]; ok && c != code {
				t.Errorf("country %q means %s and %s", n, c, code)
			}
			if len(k) == 2 && codes[strings.ToUpper(k)] {
				t.Errorf("country name %q is the code of another country", n)
			}
			seen[k] = code
		}
	}
}

func TestValidTimeZone(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"Europe/Paris", " Europe/Berlin ", "UTC", "America/New_York", ""} {
		if got, err := ValidTimeZone(ok); err != nil || got != strings.TrimSpace(ok) {
			t.Errorf("ValidTimeZone(%q) = %q, %v", ok, got, err)
		}
	}
	for _, bad := range []string{"Local", "Europe/Atlantis", "Paris", "../../etc/passwd", "/etc/localtime", "+01:00"} {
		if got, err := ValidTimeZone(bad); err == nil || !errors.Is(err, ErrUnknownTimeZone) {
			t.Errorf("ValidTimeZone(%q) = %q, %v; want an error", bad, got, err)
		}
	}
}

func TestNeutraliseCell(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"=1+2", "'=1+2"},
		{"+33612345678", "'+33612345678"},
		{"-3", "'-3"},
		{"@SUM(A1:A2)", "'@SUM(A1:A2)"},
		{"\t=cmd", "'\t=cmd"},
		{"\r=cmd", "'\r=cmd"},
		{"＝1+2", "'＝1+2"},
		{`=HYPERLINK("http://example.com","x")`, `'=HYPERLINK("http://example.com","x")`},
		{"Dupont", "Dupont"},
		{"a=b", "a=b"},
		{" =1", " =1"},
		{"'already", "'already"},
		{"", ""},
		{"Hélène", "Hélène"},
	}
	for _, tt := range tests {
		if got := NeutraliseCell(tt.in); got != tt.want {
			t.Errorf("NeutraliseCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCleanText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		max  int
		want string
		err  string
	}{
		{"  Hélène  ", 10, "Hélène", ""},
		{"a\x00b\x07c", 0, "abc", ""},
		{"line 1\r\nline 2\n", 0, "line 1\nline 2", ""},
		{"a\tb", 0, "a b", ""},
		{"\ufeffNom", 0, "Nom", ""},
		{"evil\u202egnp.exe", 0, "evilgnp.exe", ""},
		{"a\u0085b", 0, "ab", ""},
		{"=1+2", 0, "=1+2", ""}, // stored as it is; neutralised on export
		{"Zoé", 3, "Zoé", ""},   // runes, not bytes
		{"Zoée", 3, "", "the text is 4 characters long; at most 3 are accepted"},
		{"bad \xff byte", 0, "", "the text is not valid UTF-8"},
		{"", 5, "", ""},
	}
	for _, tt := range tests {
		got, err := CleanText(tt.in, tt.max)
		if got != tt.want || errString(err) != tt.err {
			t.Errorf("CleanText(%q, %d) = %q, %v; want %q, %q", tt.in, tt.max, got, err, tt.want, tt.err)
		}
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"15/01/2024", "31/02/2024", "2024-01-15T10:30:00+01:00", "45292.5", "20240115T093000Z", "0/0/0000", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			if !d.IsZero() {
				t.Fatalf("ParseDate(%q) returned %v with error %v", s, d, err)
			}
			if !errors.Is(err, ErrInvalidDate) {
				t.Fatalf("ParseDate(%q) error %v is not ErrInvalidDate", s, err)
			}
			return
		}
		if strings.TrimSpace(s) != "" && (d.IsZero() || d.Year() < 1 || d.Year() > 9999) {
			t.Fatalf("ParseDate(%q) = %v", s, d)
		}
	})
}

func FuzzNormalisePhone(f *testing.F) {
	for _, s := range []string{"0612345678", "+49 30 123456", "0612", "+33 1 99 00 12 34", "(202) 555-0123", "++33", "0033612345678 ext. 12"} {
		f.Add(s, "FR")
	}
	f.Add("030 123456", "DE")
	f.Add("1", "")
	f.Fuzz(func(t *testing.T, raw, region string) {
		got, err := NormalisePhone(raw, region)
		if err != nil {
			if got != "" || !errors.Is(err, ErrInvalidPhone) {
				t.Fatalf("NormalisePhone(%q, %q) = %q, %v", raw, region, got, err)
			}
			return
		}
		if got == "" {
			if strings.TrimSpace(raw) != "" {
				t.Fatalf("NormalisePhone(%q) = \"\" without error", raw)
			}
			return
		}
		if got[0] != '+' || len(got) < 4 || len(got) > 16 || !utf8.ValidString(got) {
			t.Fatalf("NormalisePhone(%q, %q) = %q: not E.164", raw, region, got)
		}
		for _, c := range got[1:] {
			if c < '0' || c > '9' {
				t.Fatalf("NormalisePhone(%q, %q) = %q: not E.164", raw, region, got)
			}
		}
		// Normalising a normalised number gives it back.
		if again, err := NormalisePhone(got, region); err != nil || again != got {
			t.Fatalf("NormalisePhone(%q) = %q, %v; not idempotent", got, again, err)
		}
	})
}

func BenchmarkNormalisePhone(b *testing.B) {
	for b.Loop() {
		if _, err := NormalisePhone("01 99 00 12 34", "FR"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseDate(b *testing.B) {
	for b.Loop() {
		if _, err := ParseDate("15/01/2024"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNormaliseCountry(b *testing.B) {
	for b.Loop() {
		if _, err := NormaliseCountry("Deutschland"); err != nil {
			b.Fatal(err)
		}
	}
}
