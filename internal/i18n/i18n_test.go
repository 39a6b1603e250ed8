package i18n_test

import (
	"strings"
	"testing"

	"avis/internal/i18n"
)

func TestMatch(t *testing.T) {
	cases := []struct{ header, want string }{
		{"", "fr"},
		{"en-US,en;q=0.9", "en"},
		{"de-CH, fr;q=0.5", "de"},
		{"ja, pt-PT;q=0.2, it;q=0.3", "it"},
		{"xx, yy", "fr"},
		{"en;q=abc, es;q=0.1", "es"},
		{"EN-gb", "en"},
	}
	for _, c := range cases {
		t.Run(c.header, func(t *testing.T) {
			if got := i18n.Match(c.header); got != c.want {
				t.Fatalf("Match(%q) = %q, want %q", c.header, got, c.want)
			}
		})
	}
}

func TestTranslate(t *testing.T) {
	cat := i18n.MustLoad()
	if got := cat.T("fr", "Sign in"); got != "Se connecter" {
		t.Fatalf("fr Sign in = %q", got)
	}
	if got := cat.T("fr", "Too many failed attempts. Wait %d minutes and try again.", 15); !strings.Contains(got, "15 minutes") {
		t.Fatalf("formatted = %q", got)
	}
	if got := cat.T("xx", "Sign in"); got != "Sign in" {
		t.Fatalf("unknown language = %q", got)
	}
}

// FuzzMatch: any Accept-Language header gives a supported language.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{"", "fr-FR,fr;q=0.9,en;q=0.8", "*;q=0", "de;q=1.5", strings.Repeat("en,", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if l := i18n.Match(h); !i18n.Supported(l) {
			t.Fatalf("Match(%q) = %q, not supported", h, l)
		}
	})
}
