package sms

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Encodings an SMS can be sent in.
const (
	EncodingGSM7 = "GSM-7"
	EncodingUCS2 = "UCS-2"
)

// Segment sizes, in septets for GSM-7 and in UTF-16 code units for UCS-2:
// a single SMS holds 160 (70); a part of a concatenated SMS holds 153 (67)
// because the user data header takes the rest.
const (
	gsmSingle  = 160
	gsmPart    = 153
	ucs2Single = 70
	ucs2Part   = 67
)

// gsmBasic is the GSM 03.38 default alphabet (3GPP TS 23.038 §6.2.1), less
// the escape code 0x1B. Each character is one septet.
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅå" +
	"Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ" +
	" !\"#¤%&'()*+,-./" +
	"0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§" +
	"¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtension is the GSM 03.38 extension table: each character is sent as
// the escape code then a septet, so it counts two.
const gsmExtension = "\f^{}\\[~]|€"

var gsmSeptets = func() map[rune]int {
	m := make(map[rune]int, 140)
	for _, r := range gsmBasic {
		m[r] = 1
	}
	for _, r := range gsmExtension {
		m[r] = 2
	}
	return m
}()

// GSMSeptets returns how many septets r takes in GSM-7: 1 for the basic
// table, 2 for the extension table, 0 when r cannot be sent in GSM-7.
func GSMSeptets(r rune) int { return gsmSeptets[r] }

// IsGSM7 reports whether every character of text is in the GSM 03.38 basic
// or extension table. Note that é, è, à, ù, ì, ò, É and Ç are, but ê, â, î,
// ô, û, ë, ï, ç (lower case), œ and typographic quotes are not.
func IsGSM7(text string) bool {
	for _, r := range text {
		if gsmSeptets[r] == 0 {
			return false
		}
	}
	return true
}

// Info describes how a text is sent.
type Info struct {
	// Encoding is EncodingGSM7 or EncodingUCS2.
	Encoding string
	// Chars is the number of Unicode code points.
	Chars int
	// Units is the length in septets (GSM-7; extension characters count
	// two) or in UTF-16 code units (UCS-2; characters outside the Basic
	// Multilingual Plane, such as most emoji, count two).
	Units int
	// Segments is the number of SMS the text is split into: 1 up to 160
	// septets or 70 units, then parts of 153 septets or 67 units. A
	// character is never split between two parts, so a part may hold one
	// unit less. An empty text has 0 segments.
	Segments int
}

// Analyse returns the encoding, length and segment count of text. Invalid
// UTF-8 is read as U+FFFD, which forces UCS-2.
func Analyse(text string) Info {
	info := Info{Encoding: EncodingGSM7, Chars: utf8.RuneCountInString(text)}
	if !IsGSM7(text) {
		info.Encoding = EncodingUCS2
	}
	unit := func(r rune) int {
		if info.Encoding == EncodingGSM7 {
			return gsmSeptets[r]
		}
		if n := utf16.RuneLen(r); n > 0 {
			return n
		}
		return 1 // invalid rune: sent as U+FFFD
	}
	for _, r := range text {
		info.Units += unit(r)
	}
	single, part := gsmSingle, gsmPart
	if info.Encoding == EncodingUCS2 {
		single, part = ucs2Single, ucs2Part
	}
	switch {
	case info.Units == 0:
		info.Segments = 0
	case info.Units <= single:
		info.Segments = 1
	default:
		// Fill parts greedily; an escape pair or a surrogate pair that
		// does not fit starts the next part.
		info.Segments = 1
		used := 0
		for _, r := range text {
			u := unit(r)
			if used+u > part {
				info.Segments++
				used = 0
			}
			used += u
		}
	}
	return info
}

// typographic maps characters that word processors and CRMs put into texts
// to their plain GSM-7 equivalents. "" deletes the character.
var typographic = map[rune]string{
	'\u2018': "'", '\u2019': "'", '\u201A': "'", '\u201B': "'", '\u2032': "'", '\u02BC': "'",
	'\u201C': "\"", '\u201D': "\"", '\u201E': "\"", '\u201F': "\"", '\u2033': "\"",
	'\u2010': "-", '\u2011': "-", '\u2012': "-", '\u2013': "-", '\u2014': "-", '\u2015': "-", '\u2212': "-",
	'\u2026': "...",
	'\u00A0': " ", '\u202F': " ", '\u2007': " ", '\u2009': " ", '\u200A': " ",
	'\u2002': " ", '\u2003': " ", '\u2004': " ", '\u2005': " ", '\u2006': " ", '\u2008': " ",
	'\u200B': "", '\u2060': "", '\uFEFF': "", '\u00AD': "",
	'\t': " ",
}

// Normalise replaces typographic punctuation (curly quotes and apostrophes,
// French guillemets « », dashes, the ellipsis, non-breaking and thin
// spaces, zero-width characters) with GSM-7 equivalents, but only when the
// result is then entirely GSM-7: a French message written in a word
// processor stays one 160-character SMS instead of a 70-character UCS-2
// one. When the text would need UCS-2 anyway (an ê, an emoji), it is
// returned unchanged, since UCS-2 carries the typography at no extra cost.
// Letters are never changed.
func Normalise(text string) string {
	if IsGSM7(text) {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	runes := []rune(text)
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		switch r {
		case '«':
			b.WriteByte('"')
			// « followed by a (non-breaking) space: drop the space.
			if i+1 < len(runes) && isSpaceLike(runes[i+1]) {
				i++
			}
			continue
		case '»':
			// A space before » was already written: take it back.
			s := b.String()
			if strings.HasSuffix(s, " ") {
				b.Reset()
				b.WriteString(s[:len(s)-1])
			}
			b.WriteByte('"')
			continue
		}
		if rep, ok := typographic[r]; ok {
			b.WriteString(rep)
			continue
		}
		b.WriteRune(r)
	}
	out := b.String()
	if !IsGSM7(out) {
		return text
	}
	return out
}

func isSpaceLike(r rune) bool {
	return r == ' ' || typographic[r] == " "
}

// PriceTable gives the price of one SMS segment, in euros, per destination
// country (ISO 3166-1 alpha-2, upper case). The key "*" prices every country
// not listed.
type PriceTable map[string]float64

// ExamplePrices returns an EXAMPLE price table for a few EU countries. The
// figures are illustrative orders of magnitude, not any provider's tariff:
// configure your own from your provider's price list.
func ExamplePrices() PriceTable {
	return PriceTable{
		"FR": 0.045,
		"BE": 0.070,
		"DE": 0.075,
		"ES": 0.050,
		"IT": 0.060,
		"NL": 0.080,
		"PT": 0.035,
	}
}

// Validate checks that every key is an upper-case ISO country code or "*"
// and every price is a finite, non-negative number.
func (t PriceTable) Validate() error {
	for k, v := range t {
		if k != "*" && !isCountryCode(k) {
			return errorf("price table: %q is not an ISO 3166-1 alpha-2 country code (e.g. FR) or *", k)
		}
		if v < 0 || v != v || v > 1e6 {
			return errorf("price table: the price for %s must be a non-negative number of euros per segment", k)
		}
	}
	return nil
}

// Cost is an estimated price.
type Cost struct {
	// Country is the destination the price was looked up for.
	Country string
	// Segments is the number of SMS segments priced.
	Segments int
	// PerSegment is the price of one segment in euros.
	PerSegment float64
	// Total is Segments × PerSegment, in euros.
	Total float64
	// Known is false when the table has no price for Country and no "*":
	// Total is then 0 and means "unknown", not "free".
	Known bool
}

// Estimate prices info.Segments segments to country (ISO 3166-1 alpha-2,
// any case) from prices.
func Estimate(info Info, prices PriceTable, country string) Cost {
	c := Cost{Country: strings.ToUpper(strings.TrimSpace(country)), Segments: info.Segments}
	p, ok := prices[c.Country]
	if !ok {
		p, ok = prices["*"]
	}
	if !ok {
		return c
	}
	c.Known = true
	c.PerSegment = p
	// Round to a millionth of a euro so that 3 × 0.07 prints as 0.21.
	c.Total = float64(int64(p*float64(info.Segments)*1e6+0.5)) / 1e6
	return c
}

func isCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}
