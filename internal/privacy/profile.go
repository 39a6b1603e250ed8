package privacy

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg" // logos may be JPEG
	_ "image/png"  // or PNG
	"math"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Profile is what a tenant says about itself as a controller of its
// customers' data, and how its public pages look. It is one row per tenant;
// a tenant that never saved one gets DefaultProfile.
type Profile struct {
	TenantID string
	// LegalName is the company's legal name; empty shows the tenant's name.
	LegalName string
	// Address is the company's postal address (several lines allowed).
	Address string
	// DPOName is the data-protection officer's name (optional); DPOEmail
	// the data-protection contact address, required to save a profile.
	DPOName, DPOEmail string
	// PolicyURL is the company's own, fuller privacy policy (optional).
	PolicyURL string
	// RetentionMonths is how long answers are kept (and reviews stay
	// online), from MinRetentionMonths to MaxRetentionMonths.
	RetentionMonths int
	// Authority is the supervisory authority a person may complain to.
	Authority string
	// BrandColor is "#rrggbb" or empty for avis's blue.
	BrandColor string
	// Logo holds the image bytes (PNG, JPEG or WebP) and LogoType their
	// media type; both are empty without a logo.
	Logo     []byte
	LogoType string
	// UpdatedAt is when the profile was last saved; zero for a default.
	UpdatedAt time.Time
}

// Limits of the profile's fields.
const (
	DefaultRetentionMonths = 36
	MinRetentionMonths     = 6
	MaxRetentionMonths     = 120
	MaxLogoBytes           = 100 * 1000
	MaxLogoSide            = 4096
	maxName                = 200
	maxAddress             = 500
	maxEmail               = 254
	maxURL                 = 2000
	maxAuthority           = 300
	// MinContrast is the WCAG AA ratio for normal text that the brand
	// colour must reach against white.
	MinContrast = 4.5
)

// DefaultAuthority is the supervisory authority of a tenant that names
// none: the French CNIL.
const DefaultAuthority = "Commission nationale de l'informatique et des libertés (CNIL), 3 place de Fontenoy, TSA 80715, 75334 Paris Cedex 07, www.cnil.fr"

// DefaultProfile is the profile of a tenant that never saved one.
func DefaultProfile(tenantID string) Profile {
	return Profile{TenantID: tenantID, RetentionMonths: DefaultRetentionMonths, Authority: DefaultAuthority}
}

// Complete reports whether the profile names a data-protection contact,
// without which the notice falls back to the operator's contact.
func (p Profile) Complete() bool { return p.DPOEmail != "" }

// FieldError is one problem with one field of a profile. Msg is an English
// catalogue message, formatted with Args once translated.
type FieldError struct {
	Field string
	Msg   string
	Args  []any
}

// ProfileErrors lists the problems of a profile that cannot be saved.
type ProfileErrors []FieldError

func (e ProfileErrors) Error() string {
	var parts []string
	for _, f := range e {
		parts = append(parts, f.Field+": "+fmt.Sprintf(f.Msg, f.Args...))
	}
	return "privacy profile: " + strings.Join(parts, "; ")
}

// For returns the problem with a field, if any.
func (e ProfileErrors) For(field string) (FieldError, bool) {
	for _, f := range e {
		if f.Field == field {
			return f, true
		}
	}
	return FieldError{}, false
}

// The messages of profile validation, English catalogue keys.
const (
	msgTooLong      = "Too long: at most %d characters."
	msgControl      = "Remove the control characters."
	msgStart        = "Start with a letter or a digit."
	msgEmailNeeded  = "Give the address where people can write about their data: it appears in the notice."
	msgEmailBad     = "This is not an email address; write it like dpo@example.com."
	msgURLBad       = "Give a full web address starting with https://."
	msgRetention    = "Give a whole number of months from %d to %d."
	msgColorBad     = "Write the colour as # and six hexadecimal digits, such as #0b5cad."
	msgContrast     = "This colour is too light: its contrast against white is %s:1, below the 4.5:1 that text needs to be readable. A darker shade such as %s works."
	msgLogoSize     = "The logo is too large: at most 100 KB."
	msgLogoSVG      = "SVG is not accepted because it can carry scripts; use PNG, JPEG or WebP."
	msgLogoFormat   = "Use a PNG, JPEG or WebP image."
	msgLogoSide     = "The image is too large: at most 4096 pixels on each side."
	msgAuthorityReq = "Name the supervisory authority people can complain to."
)

// ProfileMessages lists the validation messages, so that a test can check
// that every catalogue translates them.
var ProfileMessages = []string{msgTooLong, msgControl, msgStart, msgEmailNeeded, msgEmailBad, msgURLBad, msgRetention,
	msgColorBad, msgContrast, msgLogoSize, msgLogoSVG, msgLogoFormat, msgLogoSide, msgAuthorityReq}

// Normalize trims the text fields and lower-cases the colour.
func (p *Profile) Normalize() {
	for _, f := range []*string{&p.LegalName, &p.DPOName, &p.DPOEmail, &p.PolicyURL, &p.Authority, &p.BrandColor} {
		*f = strings.TrimSpace(*f)
	}
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(p.Address, "\r\n", "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	p.Address = strings.Join(lines, "\n")
	p.BrandColor = strings.ToLower(p.BrandColor)
}

// Validate checks a normalised profile; the logo is checked by CheckLogo
// when it is uploaded.
func (p Profile) Validate() error {
	var errs ProfileErrors
	add := func(field, msg string, args ...any) { errs = append(errs, FieldError{field, msg, args}) }
	text := func(field, v string, max int, multiline, start bool) {
		switch {
		case !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) && !(multiline && r == '\n') }):
			add(field, msgControl)
		case utf8.RuneCountInString(v) > max:
			add(field, msgTooLong, max)
		case start && v != "" && !startsWell(v):
			add(field, msgStart)
		}
	}
	text("legal_name", p.LegalName, maxName, false, true)
	text("address", p.Address, maxAddress, true, true)
	text("dpo_name", p.DPOName, maxName, false, true)
	text("authority", p.Authority, maxAuthority, false, true)
	switch {
	case p.DPOEmail == "":
		add("dpo_email", msgEmailNeeded)
	case len(p.DPOEmail) > maxEmail || !validEmail(p.DPOEmail):
		add("dpo_email", msgEmailBad)
	}
	if p.PolicyURL != "" && !validURL(p.PolicyURL) {
		add("policy_url", msgURLBad)
	}
	if p.RetentionMonths < MinRetentionMonths || p.RetentionMonths > MaxRetentionMonths {
		add("retention_months", msgRetention, MinRetentionMonths, MaxRetentionMonths)
	}
	if p.Authority == "" {
		add("authority", msgAuthorityReq)
	}
	if p.BrandColor != "" {
		if _, err := ParseColor(p.BrandColor); err != nil {
			add("brand_color", msgColorBad)
		} else if c := ContrastWithWhite(p.BrandColor); c < MinContrast {
			add("brand_color", msgContrast, strconv.FormatFloat(math.Floor(c*100)/100, 'f', 2, 64), DarkerShade(p.BrandColor))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func startsWell(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".")
}

func validURL(s string) bool {
	if len(s) > maxURL {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}

// ParseColor reads "#rrggbb" into its three channels.
func ParseColor(s string) ([3]uint8, error) {
	var c [3]uint8
	if len(s) != 7 || s[0] != '#' {
		return c, fmt.Errorf("colour %q: want #rrggbb", s)
	}
	for i := range 3 {
		v, err := strconv.ParseUint(s[1+2*i:3+2*i], 16, 8)
		if err != nil {
			return c, fmt.Errorf("colour %q: want #rrggbb", s)
		}
		c[i] = uint8(v)
	}
	return c, nil
}

// luminance is the WCAG 2.1 relative luminance of a colour.
func luminance(c [3]uint8) float64 {
	var l [3]float64
	for i, v := range c {
		s := float64(v) / 255
		if s <= 0.04045 {
			l[i] = s / 12.92
		} else {
			l[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}

// Contrast is the WCAG 2.1 contrast ratio of two colours, from 1 to 21.
func Contrast(a, b [3]uint8) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

var white = [3]uint8{255, 255, 255}

// ContrastWithWhite is the contrast ratio of "#rrggbb" against white; 0
// for a malformed colour.
func ContrastWithWhite(hex string) float64 {
	c, err := ParseColor(hex)
	if err != nil {
		return 0
	}
	return Contrast(c, white)
}

// DarkerShade returns the lightest shade of the same hue, darkened step by
// step, whose contrast against white reaches MinContrast.
func DarkerShade(hex string) string {
	c, err := ParseColor(hex)
	if err != nil {
		return "#000000"
	}
	for f := 1.0; f > 0; f -= 0.01 {
		d := [3]uint8{uint8(float64(c[0]) * f), uint8(float64(c[1]) * f), uint8(float64(c[2]) * f)}
		if Contrast(d, white) >= MinContrast {
			return fmt.Sprintf("#%02x%02x%02x", d[0], d[1], d[2])
		}
	}
	return "#000000"
}

// InkOn returns the text colour to write on a background: white or near
// black, whichever contrasts more.
func InkOn(hex string) string {
	c, err := ParseColor(hex)
	if err != nil {
		return "#ffffff"
	}
	if Contrast(c, white) >= Contrast(c, [3]uint8{0x1b, 0x1f, 0x24}) {
		return "#ffffff"
	}
	return "#1b1f24"
}

// CheckLogo reads an uploaded logo's header and returns its media type, or
// a FieldError that says what is wrong. SVG is refused: it can carry
// scripts.
func CheckLogo(b []byte) (string, *FieldError) {
	bad := func(msg string, args ...any) (string, *FieldError) {
		return "", &FieldError{Field: "logo", Msg: msg, Args: args}
	}
	if len(b) > MaxLogoBytes {
		return bad(msgLogoSize)
	}
	head := bytes.TrimLeft(b[:min(len(b), 512)], "\xef\xbb\xbf \t\r\n")
	if bytes.HasPrefix(head, []byte("<")) || bytes.Contains(bytes.ToLower(head), []byte("<svg")) {
		return bad(msgLogoSVG)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return bad(msgLogoFormat)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > MaxLogoSide || cfg.Height > MaxLogoSide {
		return bad(msgLogoSide)
	}
	switch format {
	case "png":
		return "image/png", nil
	case "jpeg":
		return "image/jpeg", nil
	case "webp":
		return "image/webp", nil
	}
	return bad(msgLogoFormat)
}
