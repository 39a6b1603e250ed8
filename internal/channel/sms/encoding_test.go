package sms

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestGSMTables(t *testing.T) {
	t.Parallel()
	if n := utf8.RuneCountInString(gsmBasic); n != 127 {
		t.Fatalf("basic table has %d characters, want 127 (128 less the escape)", n)
	}
	if n := utf8.RuneCountInString(gsmExtension); n != 10 {
		t.Fatalf("extension table has %d characters, want 10", n)
	}
	for _, r := range gsmExtension {
		if strings.ContainsRune(gsmBasic, r) {
			t.Errorf("%q is in both tables", r)
		}
	}
}

func TestAnalyse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		text     string
		encoding string
		chars    int
		units    int
		segments int
	}{
		{"empty", "", EncodingGSM7, 0, 0, 0},
		{"plain", "Hello", EncodingGSM7, 5, 5, 1},
		{"é is GSM", "Donnez votre avis sur votre séjour", EncodingGSM7, 34, 34, 1},
		{"è à ù ì ò É Ç are GSM", "èàùìòÉÇ", EncodingGSM7, 7, 7, 1},
		{"ê is not GSM", "Votre fenêtre", EncodingUCS2, 13, 13, 1},
		{"lower-case ç is not GSM", "reçu", EncodingUCS2, 4, 4, 1},
		{"€ counts two", "Prix 5€", EncodingGSM7, 7, 8, 1},
		{"every extension character counts two", "^{}\\[~]|€", EncodingGSM7, 9, 18, 1},
		{"exactly 160", strings.Repeat("a", 160), EncodingGSM7, 160, 160, 1},
		{"161 is two parts", strings.Repeat("a", 161), EncodingGSM7, 161, 161, 2},
		{"159 plus € is 161 septets", strings.Repeat("a", 159) + "€", EncodingGSM7, 160, 161, 2},
		{"306 is two parts of 153", strings.Repeat("a", 306), EncodingGSM7, 306, 306, 2},
		{"307 is three", strings.Repeat("a", 307), EncodingGSM7, 307, 307, 3},
		// 152 septets then €: the escape pair does not fit in part one,
		// so part one holds 152 and part two holds € + 152 = 154 > 153.
		{"escape pair is not split", strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152), EncodingGSM7, 305, 306, 3},
		{"emoji forces UCS-2, surrogate pair counts two", "Merci 🙂", EncodingUCS2, 7, 8, 1},
		{"exactly 70 UCS-2", strings.Repeat("ê", 70), EncodingUCS2, 70, 70, 1},
		{"71 UCS-2 is two parts", strings.Repeat("ê", 71), EncodingUCS2, 71, 71, 2},
		{"134 UCS-2 is two parts of 67", strings.Repeat("ê", 134), EncodingUCS2, 134, 134, 2},
		{"135 UCS-2 is three", strings.Repeat("ê", 135), EncodingUCS2, 135, 135, 3},
		// 66 units then an emoji (2 units) does not fit in part one.
		{"surrogate pair is not split", strings.Repeat("ê", 66) + "🙂" + strings.Repeat("ê", 66), EncodingUCS2, 133, 134, 3},
		{"curly apostrophe is not GSM", "l’avis", EncodingUCS2, 6, 6, 1},
		{"newline and CR are GSM", "a\r\nb", EncodingGSM7, 4, 4, 1},
		{"tab is not GSM", "a\tb", EncodingUCS2, 3, 3, 1},
		{"invalid UTF-8 is UCS-2", "a\xffb", EncodingUCS2, 3, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Analyse(tt.text)
			want := Info{tt.encoding, tt.chars, tt.units, tt.segments}
			if got != want {
				t.Errorf("Analyse = %+v, want %+v", got, want)
			}
		})
	}
}

func TestNormalise(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"already GSM", "Bonjour, donnez votre avis", "Bonjour, donnez votre avis"},
		{"curly apostrophe", "Donnez l’avis d’un client", "Donnez l'avis d'un client"},
		{"guillemets with non-breaking spaces", "Répondez «\u00a0oui\u00a0»", "Répondez \"oui\""},
		{"guillemets with narrow spaces", "«\u202fSuper\u202f» séjour", "\"Super\" séjour"},
		{"guillemets without spaces", "«oui»", "\"oui\""},
		{"dashes and ellipsis", "Merci – à bientôt…", "Merci – à bientôt…"}, // ô: stays UCS-2, unchanged
		{"dashes and ellipsis in GSM", "Merci — à demain…", "Merci - à demain..."},
		{"non-breaking space before ?", "Satisfait\u00a0?", "Satisfait ?"},
		{"zero-width and soft hyphen removed", "avis\u200b\u00adclient", "avisclient"},
		{"emoji keeps typography", "Merci ’ 🙂", "Merci ’ 🙂"},
		{"ê keeps typography", "Êtes-vous “satisfait” ?", "Êtes-vous “satisfait” ?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Normalise(tt.in)
			if got != tt.want {
				t.Errorf("Normalise(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	// The point: a 150-character French message with a curly apostrophe
	// is one GSM-7 SMS after Normalise, three UCS-2 ones before.
	msg := "Bonjour, merci pour votre visite d’hier. Donnez-nous votre avis en deux minutes : https://avis.example/s/abcdef. Répondez STOP pour ne plus recevoir."
	if Analyse(msg).Segments != 3 || Analyse(Normalise(msg)).Segments != 1 {
		t.Errorf("segments before %d, after %d", Analyse(msg).Segments, Analyse(Normalise(msg)).Segments)
	}
}

func TestEstimate(t *testing.T) {
	t.Parallel()
	prices := PriceTable{"FR": 0.045, "BE": 0.07, "*": 0.1}
	tests := []struct {
		name     string
		segments int
		country  string
		want     Cost
	}{
		{"listed", 1, "FR", Cost{"FR", 1, 0.045, 0.045, true}},
		{"lower case", 3, "be", Cost{"BE", 3, 0.07, 0.21, true}},
		{"wildcard", 2, "DE", Cost{"DE", 2, 0.1, 0.2, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Estimate(Info{Segments: tt.segments}, prices, tt.country)
			if got != tt.want {
				t.Errorf("Estimate = %+v, want %+v", got, tt.want)
			}
		})
	}
	if c := Estimate(Info{Segments: 2}, ExamplePrices(), "JP"); c.Known || c.Total != 0 {
		t.Errorf("unknown country: %+v", c)
	}
	if err := ExamplePrices().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []PriceTable{{"fr": 1}, {"FRA": 1}, {"FR": -1}} {
		if bad.Validate() == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
