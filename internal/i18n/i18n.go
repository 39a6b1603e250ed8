// Package i18n holds the message catalogues of the admin and public pages
// and picks a language for a request. Messages are keyed by their English
// text; a catalogue maps that text to the translation. A message missing in a
// catalogue falls back to English, and a test keeps French and English
// complete.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed catalog/*.json
var catalogFS embed.FS

// Languages are the languages avis speaks, French and English first.
var Languages = []string{"fr", "en", "de", "es", "it", "pt"}

// Names are the languages' own names, for a language menu.
var Names = map[string]string{"fr": "Français", "en": "English", "de": "Deutsch", "es": "Español", "it": "Italiano", "pt": "Português"}

// Default is the language used when nothing better is known.
const Default = "fr"

// Catalog maps English messages to one language's translations.
type Catalog map[string]string

// Catalogs holds every language's catalogue, loaded once at start.
type Catalogs struct {
	byLang map[string]Catalog
}

// Load reads the embedded catalogues.
func Load() (*Catalogs, error) {
	c := &Catalogs{byLang: map[string]Catalog{}}
	for _, l := range Languages {
		if l == "en" {
			c.byLang[l] = Catalog{}
			continue
		}
		// A language's catalogue is catalog/<lang>.json plus any
		// catalog/<lang>.<area>.json, so that areas of the UI keep their
		// own files. A message in two files must have the same translation.
		files, err := fs.Glob(catalogFS, "catalog/"+l+".*json")
		if err != nil || len(files) == 0 {
			return nil, fmt.Errorf("i18n: catalogue %s: no file", l)
		}
		cat := Catalog{}
		for _, f := range files {
			b, err := catalogFS.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("i18n: catalogue %s: %w", f, err)
			}
			part := Catalog{}
			if err := json.Unmarshal(b, &part); err != nil {
				return nil, fmt.Errorf("i18n: catalogue %s: %w", f, err)
			}
			for k, v := range part {
				if prev, dup := cat[k]; dup && prev != v {
					return nil, fmt.Errorf("i18n: catalogue %s: %q is translated differently in another file of %s", f, k, l)
				}
				cat[k] = v
			}
		}
		c.byLang[l] = cat
	}
	return c, nil
}

// MustLoad is Load for program start and tests: the catalogues are embedded,
// so an error is a build defect.
func MustLoad() *Catalogs {
	c, err := Load()
	if err != nil {
		panic(err)
	}
	return c
}

// T translates msg into lang and, when args are given, formats it with
// fmt.Sprintf. Unknown languages and missing messages fall back to English.
func (c *Catalogs) T(lang, msg string, args ...any) string {
	out := msg
	if cat, ok := c.byLang[lang]; ok {
		if tr, ok := cat[msg]; ok && tr != "" {
			out = tr
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(out, args...)
	}
	return out
}

// Has reports whether lang's catalogue translates msg (always true for
// English).
func (c *Catalogs) Has(lang, msg string) bool {
	if lang == "en" {
		return true
	}
	_, ok := c.byLang[lang][msg]
	return ok
}

// Keys returns the messages a catalogue translates, sorted.
func (c *Catalogs) Keys(lang string) []string {
	var out []string
	for k := range c.byLang[lang] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Supported reports whether avis speaks lang.
func Supported(lang string) bool {
	for _, l := range Languages {
		if l == lang {
			return true
		}
	}
	return false
}

// Match picks the best supported language for an Accept-Language header,
// honouring q-values; it returns Default when nothing matches.
func Match(acceptLanguage string) string {
	best, bestQ := Default, 0.0
	if len(acceptLanguage) > 1024 {
		acceptLanguage = acceptLanguage[:1024]
	}
	for i, part := range strings.Split(acceptLanguage, ",") {
		if i > 32 {
			break
		}
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 {
				continue
			}
			q = f
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if Supported(base) && q > bestQ {
			best, bestQ = base, q
		}
	}
	return best
}
