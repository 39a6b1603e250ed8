package contact

// Cell normalisation for imports: phone numbers to E.164, dates, languages,
// countries, time zones, free text; and NeutraliseCell for every CSV or XLSX
// avis writes. All functions are pure. A blank input (empty or only spaces)
// is "no value": the string normalisers return "" and a nil error, ParseDate
// returns the zero time.Time and a nil error; the caller decides whether the
// value was required.

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/unicode/norm"
)

// ErrInvalidPhone, ErrInvalidDate, ErrUnknownLanguage, ErrUnknownCountry,
// ErrUnknownTimeZone and ErrTextTooLong are wrapped by the errors the
// normalisers return; the message itself is in plain words for a report.
var (
	ErrInvalidPhone    = errors.New("invalid phone number")
	ErrInvalidDate     = errors.New("invalid date")
	ErrUnknownLanguage = errors.New("unknown language")
	ErrUnknownCountry  = errors.New("unknown country")
	ErrUnknownTimeZone = errors.New("unknown time zone")
	ErrInvalidText     = errors.New("invalid text")
)

// normError is an error whose message is written for a person and which
// still matches its sentinel with errors.Is.
type normError struct {
	kind error
	msg  Text
}

func (e *normError) Error() string { return e.msg.String() }
func (e *normError) Unwrap() error { return e.kind }
func (e *normError) text() Text    { return e.msg }

// NormalisePhone parses a phone number written in any usual way ("06 12 34
// 56 78", "+33 (0)6…", "0033…", "06.12…") and returns it in E.164 form
// ("+33612345678"). A number without a country code is read as a number of
// defaultRegion (ISO 3166-1 alpha-2, e.g. "FR"). Spreadsheets that stored a
// phone as a number lose its leading zero ("612345678"): that still parses.
//
// Decision: the number must pass phonenumbers.IsValidNumber (a real range of
// its country), not only IsPossibleNumber (the right length), so that typing
// mistakes are caught at import rather than when an SMS bounces. The ranges
// that regulators reserve for fiction are accepted too, so demos and tests
// can use numbers that belong to nobody: France +33 1 99 00 xx xx (valid
// anyway) and +33 6 39 98 xx xx, the UK +44 7700 900 xxx, North America
// +1 NXX 555 01xx.
func NormalisePhone(raw, defaultRegion string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", nil
	}
	region := strings.ToUpper(strings.TrimSpace(defaultRegion))
	msg := textf("not a valid phone number")
	if region != "" && !strings.HasPrefix(s, "+") && !strings.HasPrefix(s, "00") {
		msg = textf("not a valid phone number for %s", region)
	}
	bad := func() error { return &normError{ErrInvalidPhone, msg} }
	if len(s) > 64 {
		return "", bad()
	}
	if region == "" {
		region = "ZZ"
	}
	n, err := phonenumbers.Parse(s, region)
	if err != nil {
		return "", bad()
	}
	e164 := phonenumbers.Format(n, phonenumbers.E164)
	if phonenumbers.IsValidNumber(n) || fictionNumber(e164) {
		return e164, nil
	}
	return "", bad()
}

// fictionNumber reports whether an E.164 number lies in a range reserved for
// fiction (films, books, examples) by its regulator.
func fictionNumber(e string) bool {
	digitsAfter := func(prefix string, n int) bool {
		if !strings.HasPrefix(e, prefix) || len(e) != len(prefix)+n {
			return false
		}
		for _, c := range e[len(prefix):] {
			if c < '0' || c > '9' {
				return false
			}
		}
		return true
	}
	switch {
	case digitsAfter("+3363998", 4): // ARCEP: 06 39 98 xx xx
		return true
	case digitsAfter("+447700900", 3): // Ofcom: 07700 900xxx
		return true
	case len(e) == 12 && strings.HasPrefix(e, "+1") && e[5:10] == "55501" && e[2] >= '2':
		return digitsAfter("+1", 10) // NANP: NXX-555-0100 to 0199
	}
	return false
}

// dateLayouts are tried in order. Only day-first forms are read, never
// month-first (mm/dd/yyyy), because "01/02/2024" is 1 February in Europe.
// A time without a zone is read as UTC.
var dateLayouts = []string{
	"2006-01-02",
	"02/01/2006", "2/1/2006",
	"02.01.2006", "2.1.2006",
	"02-01-2006", "2-1-2006",
	"2006/01/02",
	time.RFC3339, // also accepts fractional seconds
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"02/01/2006 15:04:05", "02/01/2006 15:04", "2/1/2006 15:04:05", "2/1/2006 15:04",
	"02.01.2006 15:04:05", "02.01.2006 15:04",
	"20060102T150405Z0700", // ISO 8601 basic format
}

// ParseDate reads a date or a date and time as CRMs and spreadsheets write
// them: dd/mm/yyyy, dd.mm.yyyy, dd-mm-yyyy (one-digit day and month
// allowed), yyyy-mm-dd, yyyy/mm/dd, RFC 3339 / ISO 8601 with a time and a
// zone (a time without a zone is UTC), dd/mm/yyyy hh:mm[:ss]; and an Excel
// serial date number ("45292" is 2024-01-01; "45292.5" is noon; from 10000,
// i.e. 1927), which is what XLSX cells formatted as dates hold. A date that has the right shape
// but does not exist ("31/02/2024") is an error "31/02/2024 is not a date".
// Two-digit years and month-first US dates are not read (ambiguous).
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if len(s) > 64 || !utf8.ValidString(s) {
		return time.Time{}, &normError{ErrInvalidDate, textf("not a date in a known format (dd/mm/yyyy, yyyy-mm-dd or ISO 8601)")}
	}
	if t, ok := excelSerialDate(s); ok {
		return t, nil
	}
	var rangeErr bool
	for _, layout := range dateLayouts {
		t, err := time.Parse(layout, s)
		if err == nil {
			if t.Year() < 1 {
				rangeErr = true
				continue
			}
			return t, nil
		}
		var pe *time.ParseError
		if errors.As(err, &pe) && strings.Contains(pe.Message, "out of range") {
			rangeErr = true
		}
	}
	if rangeErr {
		return time.Time{}, &normError{ErrInvalidDate, textf("%s is not a date", s)}
	}
	return time.Time{}, &normError{ErrInvalidDate, textf("%q is not a date in a known format (dd/mm/yyyy, yyyy-mm-dd or ISO 8601)", s)}
}

// excelSerialDate reads an Excel serial date (1900 date system: days since
// 1899-12-30): digits with an optional fraction for the time of day, from
// 10000 (1927-05-18) to 2958465 (9999-12-31). Smaller numbers are not taken
// for dates, so that a bare year such as "2024" is refused instead of
// becoming 16 July 1905.
func excelSerialDate(s string) (time.Time, bool) {
	intPart, frac, hasFrac := strings.Cut(s, ".")
	if len(intPart) < 5 || len(intPart) > 7 || (hasFrac && (frac == "" || len(frac) > 17)) {
		return time.Time{}, false
	}
	for _, c := range intPart + frac {
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 10000 || v >= 2958466 {
		return time.Time{}, false
	}
	days := math.Floor(v)
	t := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(days))
	if secs := math.Round((v - days) * 86400); secs > 0 {
		t = t.Add(time.Duration(secs) * time.Second)
	}
	return t, true
}

// normKey folds a name for comparison: lower case, accents and other marks
// removed, ß→ss, æ→ae, œ→oe, ø→o, ł→l, and every character that is not a
// letter or a digit dropped ("Adresse e-mail" → "adresseemail").
func normKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'ß':
			b.WriteString("ss")
		case r == 'æ' || r == 'Æ':
			b.WriteString("ae")
		case r == 'œ' || r == 'Œ':
			b.WriteString("oe")
		case r == 'ø' || r == 'Ø':
			b.WriteByte('o')
		case r == 'ł' || r == 'Ł':
			b.WriteByte('l')
		case r == 'đ' || r == 'Đ':
			b.WriteByte('d')
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// languageNames maps ISO 639-1 codes to the names a spreadsheet may use:
// the language's own name, its English and French names, and its ISO 639-2
// codes. Keys are compared after normKey.
var languageNames = map[string][]string{
	"bg": {"български", "bulgarian", "bulgare", "bul"},
	"ca": {"català", "catalan", "cat"},
	"cs": {"čeština", "česky", "czech", "tchèque", "ces", "cze"},
	"cy": {"cymraeg", "welsh", "gallois", "cym", "wel"},
	"da": {"dansk", "danish", "danois", "dan"},
	"de": {"deutsch", "german", "allemand", "deu", "ger"},
	"el": {"ελληνικά", "greek", "grec", "ell", "gre"},
	"en": {"english", "anglais", "eng"},
	"es": {"español", "castellano", "spanish", "espagnol", "spa"},
	"et": {"eesti", "estonian", "estonien", "est"},
	"eu": {"euskara", "basque", "eus", "baq"},
	"fi": {"suomi", "finnish", "finnois", "fin"},
	"fr": {"français", "french", "fra", "fre"},
	"ga": {"gaeilge", "irish", "irlandais", "gle"},
	"gl": {"galego", "galician", "galicien", "glg"},
	"hr": {"hrvatski", "croatian", "croate", "hrv"},
	"hu": {"magyar", "hungarian", "hongrois", "hun"},
	"is": {"íslenska", "icelandic", "islandais", "isl", "ice"},
	"it": {"italiano", "italian", "italien", "ita"},
	"lb": {"lëtzebuergesch", "luxembourgish", "luxembourgeois", "ltz"},
	"lt": {"lietuvių", "lithuanian", "lituanien", "lit"},
	"lv": {"latviešu", "latvian", "letton", "lav"},
	"mt": {"malti", "maltese", "maltais", "mlt"},
	"nb": {"norsk bokmål", "bokmål", "norwegian bokmål", "nob"},
	"nl": {"nederlands", "vlaams", "dutch", "flemish", "néerlandais", "flamand", "nld", "dut"},
	"nn": {"nynorsk", "norsk nynorsk", "nno"},
	"no": {"norsk", "norwegian", "norvégien", "nor"},
	"pl": {"polski", "polish", "polonais", "pol"},
	"pt": {"português", "portuguese", "portugais", "por"},
	"ro": {"română", "romanian", "roumain", "ron", "rum"},
	"sk": {"slovenčina", "slovak", "slovaque", "slk", "slo"},
	"sl": {"slovenščina", "slovenian", "slovene", "slovène", "slv"},
	"sq": {"shqip", "albanian", "albanais", "sqi", "alb"},
	"sr": {"српски", "srpski", "serbian", "serbe", "srp"},
	"sv": {"svenska", "swedish", "suédois", "swe"},
	"tr": {"türkçe", "turkish", "turc", "tur"},
	"uk": {"українська", "ukrainian", "ukrainien", "ukr"},
	"ru": {"русский", "russian", "russe", "rus"},
	"ar": {"العربية", "arabic", "arabe", "ara"},
	"zh": {"中文", "chinese", "chinois", "zho", "chi"},
	"ja": {"日本語", "japanese", "japonais", "jpn"},
}

var languageIndex = func() map[string]string {
	m := make(map[string]string)
	for code, names := range languageNames {
		m[code] = code
		for _, n := range names {
			m[normKey(n)] = code
		}
	}
	return m
}()

// NormaliseLanguage returns the ISO 639-1 code, lower case, of a language
// given as a code ("fr", "FR"), a locale ("fr-FR", "fr_CA"), an ISO 639-2
// code ("fra", "ger") or a name in the language itself, in English or in
// French ("Français", "French", "Deutsch", "allemand"). The EU/EEA
// languages and a few others widely spoken in Europe are known.
func NormaliseLanguage(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) <= 64 {
		base := s
		if i := strings.IndexAny(base, "-_"); i == 2 || i == 3 {
			base = base[:i] // a locale: fr-FR, fr_CA, fra-FR
		}
		if code, ok := languageIndex[normKey(base)]; ok {
			return code, nil
		}
		if code, ok := languageIndex[normKey(s)]; ok {
			return code, nil
		}
	}
	return "", &normError{ErrUnknownLanguage, textf("not a known language (write a code such as fr, de, en)")}
}

// countryNames maps ISO 3166-1 alpha-2 codes to their alpha-3 code and to
// names in the country's own language(s), in English and in French: the
// EU and EEA members, the United Kingdom, Switzerland, the United States and
// Europe's small states and close neighbours.
var countryNames = map[string][]string{
	"AD": {"AND", "Andorra", "Andorre"},
	"AL": {"ALB", "Shqipëria", "Albania", "Albanie"},
	"AT": {"AUT", "Österreich", "Austria", "Autriche"},
	"BA": {"BIH", "Bosna i Hercegovina", "Bosnia and Herzegovina", "Bosnie-Herzégovine"},
	"BE": {"BEL", "Belgique", "België", "Belgien", "Belgium"},
	"BG": {"BGR", "България", "Bulgaria", "Bulgarie"},
	"CA": {"CAN", "Canada"},
	"CH": {"CHE", "Schweiz", "Suisse", "Svizzera", "Svizra", "Switzerland", "Confoederatio Helvetica"},
	"CY": {"CYP", "Κύπρος", "Kıbrıs", "Cyprus", "Chypre"},
	"CZ": {"CZE", "Česko", "Česká republika", "Czechia", "Czech Republic", "Tchéquie", "République tchèque"},
	"DE": {"DEU", "Deutschland", "Germany", "Allemagne", "Bundesrepublik Deutschland"},
	"DK": {"DNK", "Danmark", "Denmark", "Danemark"},
	"DZ": {"DZA", "الجزائر", "Algeria", "Algérie"},
	"EE": {"EST", "Eesti", "Estonia", "Estonie"},
	"ES": {"ESP", "España", "Spain", "Espagne"},
	"FI": {"FIN", "Suomi", "Finland", "Finlande"},
	"FR": {"FRA", "France", "Frankreich", "Francia", "França", "Frankrijk", "République française"},
	"GB": {"GBR", "UK", "United Kingdom", "Great Britain", "Britain", "England", "Scotland", "Wales", "Northern Ireland", "Royaume-Uni", "Grande-Bretagne", "Angleterre", "Écosse", "Pays de Galles", "Irlande du Nord"},
	"GR": {"GRC", "EL", "Ελλάδα", "Ellada", "Greece", "Grèce"},
	"HR": {"HRV", "Hrvatska", "Croatia", "Croatie"},
	"HU": {"HUN", "Magyarország", "Hungary", "Hongrie"},
	"IE": {"IRL", "Éire", "Ireland", "Irlande"},
	"IS": {"ISL", "Ísland", "Iceland", "Islande"},
	"IT": {"ITA", "Italia", "Italy", "Italie"},
	"LI": {"LIE", "Liechtenstein"},
	"LT": {"LTU", "Lietuva", "Lithuania", "Lituanie"},
	"LU": {"LUX", "Lëtzebuerg", "Luxembourg", "Luxemburg"},
	"LV": {"LVA", "Latvija", "Latvia", "Lettonie"},
	"MA": {"MAR", "المغرب", "Maroc", "Morocco"},
	"MC": {"MCO", "Monaco"},
	"MD": {"MDA", "Moldova", "Moldavie"},
	"ME": {"MNE", "Crna Gora", "Montenegro", "Monténégro"},
	"MK": {"MKD", "Северна Македонија", "North Macedonia", "Macédoine du Nord"},
	"MT": {"MLT", "Malta", "Malte"},
	"NL": {"NLD", "Nederland", "Netherlands", "The Netherlands", "Holland", "Pays-Bas", "Niederlande"},
	"NO": {"NOR", "Norge", "Noreg", "Norway", "Norvège"},
	"PL": {"POL", "Polska", "Poland", "Pologne"},
	"PT": {"PRT", "Portugal"},
	"RO": {"ROU", "România", "Romania", "Roumanie"},
	"RS": {"SRB", "Србија", "Srbija", "Serbia", "Serbie"},
	"SE": {"SWE", "Sverige", "Sweden", "Suède"},
	"SI": {"SVN", "Slovenija", "Slovenia", "Slovénie"},
	"SK": {"SVK", "Slovensko", "Slovakia", "Slovaquie"},
	"SM": {"SMR", "San Marino", "Saint-Marin"},
	"TN": {"TUN", "تونس", "Tunisia", "Tunisie"},
	"TR": {"TUR", "Türkiye", "Turkey", "Turquie"},
	"UA": {"UKR", "Україна", "Ukraine"},
	"US": {"USA", "United States", "United States of America", "America", "États-Unis", "Etats-Unis d'Amérique", "Vereinigte Staaten", "Estados Unidos", "Stati Uniti"},
	"VA": {"VAT", "Città del Vaticano", "Vatican", "Holy See", "Saint-Siège"},
}

// iso3166Alpha2 lists every officially assigned ISO 3166-1 alpha-2 code, so
// that any country given as a code is accepted, named above or not.
const iso3166Alpha2 = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
	"NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW " +
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ " +
	"UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"

var countryIndex = func() map[string]string {
	m := make(map[string]string)
	for _, code := range strings.Fields(iso3166Alpha2) {
		m[strings.ToLower(code)] = code
	}
	for code, names := range countryNames {
		for _, n := range names {
			m[normKey(n)] = code
		}
	}
	return m
}()

// NormaliseCountry returns the ISO 3166-1 alpha-2 code, upper case, of a
// country given as a code ("FR", "fr", "FRA", "UK" and "EL" as the EU writes
// them) or by name in its own language, in English or in French ("France",
// "Deutschland", "España", "Allemagne", "Royaume-Uni"). Every alpha-2 code is
// known; names are known for the EU/EEA, the UK, Switzerland, the US and
// Europe's small states and neighbours.
func NormaliseCountry(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) <= 64 {
		if code, ok := countryIndex[normKey(s)]; ok {
			return code, nil
		}
	}
	return "", &normError{ErrUnknownCountry, textf("not a known country (write a code such as FR, DE, BE)")}
}

// ValidTimeZone checks an IANA time zone name ("Europe/Paris") with
// time.LoadLocation and returns it trimmed; "" is allowed (no time zone).
// "Local" is refused: it means the server's zone, not the customer's.
// The binary must carry the zone database (import time/tzdata in main) to
// give the same answers on a host without /usr/share/zoneinfo.
func ValidTimeZone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	bad := &normError{ErrUnknownTimeZone, textf("not a known time zone (write a name such as Europe/Paris)")}
	if s == "Local" || len(s) > 64 || strings.Contains(s, "..") || strings.HasPrefix(s, "/") {
		return "", bad
	}
	if _, err := time.LoadLocation(s); err != nil {
		return "", bad
	}
	return s, nil
}

// NeutraliseCell makes a value safe to put in a CSV or XLSX cell that a
// spreadsheet will open (OWASP "CSV injection"): a value beginning with =,
// +, -, @, a tab or a carriage return — or their full-width forms, which
// some spreadsheets also read as formulas — gets a leading apostrophe, so
// the spreadsheet shows it as text instead of running it as a formula.
// Every CSV and XLSX avis writes passes its cells through it. Values are
// stored as they came; only exports are neutralised. Note that phone
// numbers in E.164 form ("+33…") and negative numbers are neutralised too:
// that is the price of never guessing which "+" is harmless.
func NeutraliseCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	r, _ := utf8.DecodeRuneInString(s)
	switch r {
	case '＝', '＋', '－', '＠':
		return "'" + s
	}
	return s
}

// CleanText trims a text, removes control characters except the newline
// (a tab becomes a space, CRLF becomes LF), removes the byte-order mark and
// the invisible bidirectional-override characters that can disguise a text,
// and refuses a text that is not valid UTF-8 or is longer than max
// characters (runes) once cleaned; max <= 0 means no limit.
func CleanText(s string, max int) (string, error) {
	if !utf8.ValidString(s) {
		return "", &normError{ErrInvalidText, textf("the text is not valid UTF-8")}
	}
	clean := true
	for _, r := range s {
		if textDrop(r) || r == '\t' {
			clean = false
			break
		}
	}
	if !clean {
		var b strings.Builder
		b.Grow(len(s))
		for _, r := range s {
			switch {
			case r == '\t':
				b.WriteByte(' ')
			case textDrop(r):
			default:
				b.WriteRune(r)
			}
		}
		s = b.String()
	}
	s = strings.TrimSpace(s)
	if max > 0 {
		if n := utf8.RuneCountInString(s); n > max {
			return "", &normError{ErrInvalidText, textf("the text is %d characters long; at most %d are accepted", n, max)}
		}
	}
	return s, nil
}

// textDrop reports whether CleanText removes r.
func textDrop(r rune) bool {
	switch {
	case r == '\n':
		return false
	case r < 0x20 || (r >= 0x7f && r < 0xa0):
		return true
	case r == '\ufeff' || r == '\u200e' || r == '\u200f' || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069'):
		return true
	}
	return false
}
