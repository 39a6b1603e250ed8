package placeholder_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"avis/internal/placeholder"
)

var names = []string{"first_name", "last_name", "store", "product", "step", "date", "company", "survey_link", "unsubscribe_link"}

func compile(t *testing.T, src string) *placeholder.Template {
	t.Helper()
	tpl, err := placeholder.Compile(src, names, placeholder.Limits{})
	if err != nil {
		t.Fatalf("Compile(%q): %v", src, err)
	}
	return tpl
}

func TestCompileValid(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		src  string
		used []string
	}{
		{"plain text", "Merci de votre visite.", nil},
		{"empty", "", nil},
		{"spaces optional", "{{first_name}} {{ last_name }} {{  store\t}}", []string{"first_name", "last_name", "store"}},
		{"fallback", `Bonjour {{ first_name or "cher client" }}`, []string{"first_name"}},
		{"fallback with escapes", `{{ first_name or "le \"client\" \\ fidèle" }}`, []string{"first_name"}},
		{"empty fallback", `{{ first_name or "" }}`, []string{"first_name"}},
		{"condition", "{{ if first_name }}Bonjour {{ first_name }},{{ else }}Bonjour,{{ end }}", []string{"first_name"}},
		{"condition without else", "{{ if store }}à {{ store }}{{ end }}", []string{"store"}},
		{"keywords in any case", "{{ IF store }}x{{ Else }}y{{ END }}{{ store OR \"z\" }}", []string{"store"}},
		{"nested to depth 5", strings.Repeat("{{ if step }}", 5) + "x" + strings.Repeat("{{ end }}", 5), []string{"step"}},
		{"tag across lines", "{{\n  first_name\n}}", []string{"first_name"}},
		{"escape", "Écrivez {{{{ first_name }} pour votre prénom", nil},
		{"stray closing braces", "a }} b", nil},
		{"order of first use", "{{ if date }}{{ store }}{{ end }}{{ date }}{{ store }}", []string{"date", "store"}},
		{"CRLF", "Bonjour,\r\n{{ first_name }}", []string{"first_name"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tpl := compile(t, c.src)
			if got := tpl.Placeholders(); !reflect.DeepEqual(got, c.used) && !(len(got) == 0 && len(c.used) == 0) {
				t.Errorf("Placeholders() = %q, want %q", got, c.used)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		src  string
		want []string // each error's text, in order
	}{
		{"unknown name", "Bonjour,\n\nMerci {{ prenom }}",
			[]string{`line 3, column 10: unknown placeholder "prenom"; did you mean first_name?`}},
		{"unknown name far from any", "{{ xyz }}",
			[]string{`line 1, column 4: unknown placeholder "xyz"; use one of: first_name, last_name, store, product, step, date, company, survey_link, unsubscribe_link`}},
		{"typo", "{{ fist_name }}",
			[]string{`line 1, column 4: unknown placeholder "fist_name"; did you mean first_name?`}},
		{"other case", "{{ First_Name }}",
			[]string{`line 1, column 4: unknown placeholder "First_Name"; did you mean first_name?`}},
		{"hyphen", "{{ first-name }}",
			[]string{`line 1, column 4: unknown placeholder "first-name"; did you mean first_name?`}},
		{"filter", "{{ first_name|upper }}",
			[]string{`line 1, column 4: unknown placeholder "first_name|upper"; did you mean first_name?`}},
		{"columns count characters", "Élève {{ prénom }}",
			[]string{`line 1, column 10: unknown placeholder "prénom"; did you mean first_name?`}},
		{"unclosed if", "Bonjour\n{{ if first_name }}{{ first_name }}",
			[]string{`line 2, column 1: "if" is never closed; add {{ end }}`}},
		{"unexpected end", "a\nb\nc\n  {{ end }}",
			[]string{`line 4, column 3: unexpected {{ end }}; there is no open {{ if … }} to close`}},
		{"unexpected else", "{{ else }}",
			[]string{`line 1, column 1: unexpected {{ else }}; it belongs between {{ if … }} and {{ end }}`}},
		{"two elses", "{{ if store }}a{{ else }}b{{ else }}c{{ end }}",
			[]string{`line 1, column 27: this "if" already has an {{ else }}; remove one`}},
		{"else if", "{{ if store }}a{{ else if date }}b{{ end }}",
			[]string{`line 1, column 24: there is no "else if"; put a new {{ if … }} … {{ end }} inside the {{ else }} part`}},
		{"endif", "{{ if store }}a{{ endif }}",
			[]string{
				`line 1, column 1: "if" is never closed; add {{ end }}`,
				`line 1, column 19: unknown placeholder "endif"; close a condition with {{ end }}`,
			}},
		{"too deep", strings.Repeat("{{ if step }}", 6) + strings.Repeat("{{ end }}", 6),
			[]string{`line 1, column 66: conditions are nested more than 5 deep; close one with {{ end }} before opening another`}},
		{"if without name", "{{ if }}x{{ end }}",
			[]string{`line 1, column 4: "if" needs a placeholder name, e.g. {{ if first_name }}`}},
		{"if with or", `{{ if store or "x" }}{{ end }}`,
			[]string{`line 1, column 13: a condition tests one placeholder; write {{ if store }} without "or"`}},
		{"unterminated at end", "Bonjour {{ first_name",
			[]string{`line 1, column 9: "{{" is never closed; add "}}" after the placeholder, or write "{{{{" for a literal "{{"`}},
		{"unterminated before next tag", "{{ first_name merci {{ store }}",
			[]string{`line 1, column 15: expected "}}" after "first_name", found "merci"; close the placeholder with "}}"`}},
		{"unterminated then tag", "{{ first_name {{ store }}",
			[]string{`line 1, column 1: "{{" is never closed; add "}}" after the placeholder, or write "{{{{" for a literal "{{"`}},
		{"empty tag", "a {{ }} b",
			[]string{`line 1, column 3: empty placeholder; put a name between the braces, e.g. {{ first_name }}`}},
		{"unclosed string", `{{ first_name or "cher client }}`,
			[]string{`line 1, column 18: this text in quotes is never closed; add a closing "`}},
		{"brace in string", `{{ first_name or "a{b" }}`,
			[]string{`line 1, column 20: text in quotes cannot contain "{" or "}"`}},
		{"string to end of line", "{{ first_name or \"cher\nclient\" }}",
			[]string{`line 1, column 18: this text in quotes is not closed before the end of the line; add a closing "`}},
		{"string to end of text", `{{ first_name or "cher`,
			[]string{`line 1, column 18: this text in quotes is never closed; add a closing "`}},
		{"bad escape", `{{ first_name or "a\nb" }}`,
			[]string{`line 1, column 20: a backslash in quotes must be followed by " or \; write \\ for a backslash`}},
		{"curly quotes", `{{ first_name or “cher client” }}`,
			[]string{`line 1, column 18: write the fallback between straight double quotes, like {{ first_name or "cher client" }}`}},
		{"or without string", `{{ first_name or cher }}`,
			[]string{`line 1, column 18: "or" must be followed by a text in double quotes, like {{ first_name or "cher client" }}`}},
		{"string without or", `{{ first_name "cher" }}`,
			[]string{`line 1, column 15: unexpected text in quotes after "first_name"; write "or" before it, e.g. {{ first_name or "cher client" }}`}},
		{"triple braces", "{{{ first_name }}}",
			[]string{`line 1, column 3: unexpected '{' in a placeholder; write {{ name }}, {{ name or "text" }}, {{ if name }}, {{ else }} or {{ end }}`}},
		{"handlebars if", "{{#if store}}x{{/if}}",
			[]string{
				`line 1, column 3: unknown placeholder "#if"; a condition is written {{ if name }}`,
				`line 1, column 17: unknown placeholder "/if"; close a condition with {{ end }}`,
			}},
		{"single line", "Votre avis\n{{ store }}",
			[]string{`line 1, column 11: this text must be one line; remove the line break`}},
		{"several errors in order", "{{ a }}\n{{ end }}\n{{ if b }}",
			[]string{
				`line 1, column 4: unknown placeholder "a"; use one of: first_name, last_name, store, product, step, date, company, survey_link, unsubscribe_link`,
				`line 2, column 1: unexpected {{ end }}; there is no open {{ if … }} to close`,
				`line 3, column 1: "if" is never closed; add {{ end }}`,
				`line 3, column 7: unknown placeholder "b"; use one of: first_name, last_name, store, product, step, date, company, survey_link, unsubscribe_link`,
			}},
		{"invalid UTF-8", "ab\n c\xff",
			[]string{`line 2, column 3: the text contains bytes that are not UTF-8; paste it again as plain text`}},
		{"too long", strings.Repeat("x", 20_001),
			[]string{`the text is 20001 bytes long; shorten it to 20000 bytes at most`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			lim := placeholder.Limits{SingleLine: c.name == "single line"}
			tpl, err := placeholder.Compile(c.src, names, lim)
			if err == nil {
				t.Fatalf("Compile(%q) = %v, want errors %q", c.src, tpl, c.want)
			}
			var list placeholder.Errors
			if !errors.As(err, &list) {
				t.Fatalf("error %T is not Errors", err)
			}
			var got []string
			for _, e := range list {
				got = append(got, e.Error())
				if fmt.Sprintf(e.Format, e.Args...) != e.Msg {
					t.Errorf("format %q with %v does not make the message %q", e.Format, e.Args, e.Msg)
				}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Compile(%q) errors:\n%s\nwant:\n%s", c.src, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			var first *placeholder.Error
			if !errors.As(err, &first) || first != list[0] {
				t.Errorf("errors.As does not find the first *Error")
			}
		})
	}
}

func TestCompileErrorLimit(t *testing.T) {
	t.Parallel()
	src := strings.Repeat("{{ nope }}\n", 50) + "{{ if store }}"
	_, err := placeholder.Compile(src, names, placeholder.Limits{})
	var list placeholder.Errors
	if !errors.As(err, &list) || len(list) != 10 {
		t.Fatalf("got %d errors, want 10: %v", len(list), err)
	}
	if list[9].Line != 10 {
		t.Errorf("tenth error on line %d, want 10", list[9].Line)
	}
	_, err = placeholder.Compile(src, names, placeholder.Limits{MaxErrors: 3})
	if !errors.As(err, &list) || len(list) != 3 {
		t.Fatalf("got %d errors with MaxErrors 3, want 3", len(list))
	}
}

func TestCompileNoPlaceholdersAllowed(t *testing.T) {
	t.Parallel()
	_, err := placeholder.Compile("{{ first_name }}", nil, placeholder.Limits{})
	if err == nil || err.Error() != `line 1, column 4: unknown placeholder "first_name"; this text cannot use placeholders` {
		t.Fatalf("got %v", err)
	}
}

func TestCompileLimits(t *testing.T) {
	t.Parallel()
	if _, err := placeholder.Compile(strings.Repeat("x", 20_000), names, placeholder.Limits{}); err != nil {
		t.Errorf("20,000 bytes refused: %v", err)
	}
	if _, err := placeholder.Compile(strings.Repeat("x", 161), names, placeholder.Limits{MaxBytes: 160}); err == nil {
		t.Errorf("161 bytes accepted with MaxBytes 160")
	}
	deep := strings.Repeat("{{ if step }}", 2) + strings.Repeat("{{ end }}", 2)
	if _, err := placeholder.Compile(deep, names, placeholder.Limits{MaxDepth: 1}); err == nil {
		t.Errorf("depth 2 accepted with MaxDepth 1")
	}
}
