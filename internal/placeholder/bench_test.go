package placeholder_test

import (
	"strings"
	"testing"

	"avis/internal/placeholder"
)

// bigTemplate is a long invitation body, about 8 KB, with a placeholder or a
// condition every few lines.
func bigTemplate() string {
	var b strings.Builder
	b.WriteString(greeting + "\n\n")
	for b.Len() < 8*1024 {
		b.WriteString("Merci d'avoir choisi {{ company }} pour votre achat de {{ product or \"nos produits\" }}.\n")
		b.WriteString("{{ if store }}Votre avis sur le magasin {{ store }} nous aide à progresser.{{ else }}Votre avis nous aide.{{ end }}\n")
		b.WriteString("Cela ne prend que deux minutes : {{ survey_link }}\n\n")
		b.WriteString("Nous lisons chaque réponse & nous y donnons suite, le {{ date }} au plus tard.\n\n")
	}
	b.WriteString("Pour ne plus recevoir nos messages : {{ unsubscribe_link }}")
	return b.String()
}

var benchValues = map[string]string{
	"first_name":       "Léa",
	"last_name":        "Roux",
	"company":          "Dupont & Fils",
	"product":          "vélo électrique",
	"store":            "Lyon Part-Dieu",
	"date":             "15 mars 2026",
	"survey_link":      "https://avis.example/s/8Jd02kLx",
	"unsubscribe_link": "https://avis.example/u/8Jd02kLx",
}

func BenchmarkRenderHTML(b *testing.B) {
	src := bigTemplate()
	tpl, err := placeholder.Compile(src, names, placeholder.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		tpl.HTML(benchValues)
	}
}

func BenchmarkRenderText(b *testing.B) {
	src := bigTemplate()
	tpl, err := placeholder.Compile(src, names, placeholder.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		tpl.Text(benchValues)
	}
}

func BenchmarkCompile(b *testing.B) {
	src := bigTemplate()
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := placeholder.Compile(src, names, placeholder.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
