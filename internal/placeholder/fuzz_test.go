package placeholder_test

import (
	"errors"
	"fmt"
	stdhtml "html"
	"slices"
	"strings"
	"testing"

	"avis/internal/placeholder"
)

// FuzzCompile: any source either compiles or yields placed errors, never a
// panic; a compiled template rendered with no values prints "{{" only where
// the source wrote "{{{{", and its HTML holds no markup but ours.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"",
		greeting,
		`Bonjour {{ first_name or "cher client" }},\n\n{{ if store }}{{ store }}{{ else }}x{{ end }}`,
		"{{{{ first_name }}",
		"{{{{{ first_name }}",
		"{{{{{{ first_name }}",
		"{{ if store }}{{ if date }}{{ end }}",
		`{{ first_name or "a\"b\\c" }}`,
		"{{ x {{ y }}",
		"{{",
		"}}{{}}{{ }}",
		"{{ else }}{{ end }}",
		"a\r\n\r\nb {{ step }}\n",
		"{{ first_name or “x” }}",
		"{{#if store}}{{/if}}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := placeholder.Compile(src, names, placeholder.Limits{})
		if err != nil {
			var list placeholder.Errors
			if !errors.As(err, &list) || len(list) == 0 || len(list) > placeholder.DefaultMaxErrors {
				t.Fatalf("Compile(%q) error %v (%T)", src, err, err)
			}
			for _, e := range list {
				if e.Msg == "" || e.Line < 0 || e.Col < 0 || (e.Line > 0 && e.Col == 0) {
					t.Fatalf("Compile(%q) gave a badly placed error %+v", src, e)
				}
				if e.Format == "" || fmt.Sprintf(e.Format, e.Args...) != e.Msg {
					t.Fatalf("Compile(%q) gave an error whose format %q and arguments %v do not make its message %q", src, e.Format, e.Args, e.Msg)
				}
			}
			return
		}
		text := tpl.Text(nil)
		html := tpl.HTML(nil)
		// Every "{{" in the output must come from a "{{{{" escape: with the
		// escapes made into two other characters, none is left.
		if strings.Contains(src, "\x01") {
			return
		}
		marked := strings.ReplaceAll(src, "{{{{", "\x01\x01")
		tpl2, err := placeholder.Compile(marked, names, placeholder.Limits{})
		if err != nil {
			t.Fatalf("Compile(%q) succeeded but the same source with its escapes marked fails: %v", src, err)
		}
		text2 := tpl2.Text(nil)
		if strings.Contains(text2, "{{") {
			t.Fatalf("Text of %q = %q contains {{ not from an escape", src, text)
		}
		if strings.ReplaceAll(text2, "\x01", "{") != text {
			t.Fatalf("Text of %q = %q, with escapes marked %q", src, text, text2)
		}
		// The HTML holds only our tags: removing them leaves no "<", and
		// the words are those of the text.
		bare := strings.NewReplacer("<p>", " ", "</p>", " ", "<br>", " ").Replace(html)
		if strings.ContainsAny(bare, "<>") {
			t.Fatalf("HTML of %q = %q has markup of its own", src, html)
		}
		if a, b := strings.Fields(stdhtml.UnescapeString(bare)), strings.Fields(text); !slices.Equal(a, b) {
			t.Fatalf("HTML of %q = %q does not say what Text %q says", src, html, text)
		}
		values := map[string]string{}
		for _, n := range tpl.Placeholders() {
			values[n] = "<V&\n>"
		}
		text, html = tpl.Text(values), tpl.HTML(values)
		bare = strings.NewReplacer("<p>", " ", "</p>", " ", "<br>", " ").Replace(html)
		if strings.Contains(bare, "<V") {
			t.Fatalf("HTML of %q = %q prints a value unescaped", src, html)
		}
		if a, b := strings.Fields(stdhtml.UnescapeString(bare)), strings.Fields(text); !slices.Equal(a, b) {
			t.Fatalf("HTML of %q = %q does not say what Text %q says", src, html, text)
		}
	})
}
