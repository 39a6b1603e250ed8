package placeholder_test

import (
	"strings"
	"testing"
)

const greeting = "{{ if first_name }}Bonjour {{ first_name }},{{ else }}Bonjour,{{ end }}"

func TestText(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		src    string
		values map[string]string
		want   string
	}{
		{"value", "Merci {{ first_name }} !", map[string]string{"first_name": "Léa"}, "Merci Léa !"},
		{"missing value", "Merci {{ first_name }} !", nil, "Merci  !"},
		{"fallback used", `Bonjour {{ first_name or "cher client" }}`, map[string]string{"first_name": ""}, "Bonjour cher client"},
		{"fallback for spaces only", `Bonjour {{ first_name or "cher client" }}`, map[string]string{"first_name": "  "}, "Bonjour cher client"},
		{"fallback not used", `Bonjour {{ first_name or "cher client" }}`, map[string]string{"first_name": "Léa"}, "Bonjour Léa"},
		{"fallback escapes", `{{ first_name or "le \"client\" \\o/" }}`, nil, `le "client" \o/`},
		{"if true", greeting, map[string]string{"first_name": "Léa"}, "Bonjour Léa,"},
		{"if false", greeting, nil, "Bonjour,"},
		{"if without else, false", "a{{ if store }}b{{ end }}c", nil, "ac"},
		{"nested", "{{ if store }}S{{ if product }}P{{ else }}-{{ end }}{{ else }}none{{ end }}.",
			map[string]string{"store": "x"}, "S-."},
		{"nested both", "{{ if store }}S{{ if product }}P{{ else }}-{{ end }}{{ else }}none{{ end }}.",
			map[string]string{"store": "x", "product": "y"}, "SP."},
		{"nested outer false", "{{ if store }}S{{ if product }}P{{ else }}-{{ end }}{{ else }}none{{ end }}.",
			map[string]string{"product": "y"}, "none."},
		{"escape", "Tapez {{{{ first_name }} ici", map[string]string{"first_name": "Léa"}, "Tapez {{ first_name }} ici"},
		{"value trimmed", "[{{ store }}]", map[string]string{"store": "  Lyon \t"}, "[Lyon]"},
		{"CRLF in source", "a\r\nb\rc", nil, "a\nb\nc"},
		{"unused values ignored", "x", map[string]string{"nope": "y"}, "x"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := compile(t, c.src).Text(c.values); got != c.want {
				t.Errorf("Text = %q, want %q", got, c.want)
			}
		})
	}
}

func TestHTML(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		src    string
		values map[string]string
		want   string
	}{
		{"one line", "Merci {{ first_name }} !", map[string]string{"first_name": "Léa"}, "<p>Merci Léa !</p>"},
		{"empty", "", nil, ""},
		{"only spaces and breaks", "  \n\n \t", nil, ""},
		{"paragraphs and breaks", greeting + "\n\nMerci pour votre achat.\nL'équipe {{ company }}",
			map[string]string{"first_name": "Léa", "company": "Dupont & Fils"},
			"<p>Bonjour Léa,</p>\n<p>Merci pour votre achat.<br>\nL&#39;équipe Dupont &amp; Fils</p>"},
		{"blank line with spaces", "a\n   \nb", nil, "<p>a</p>\n<p>b</p>"},
		{"many blank lines", "a\n\n\n\nb", nil, "<p>a</p>\n<p>b</p>"},
		{"leading and trailing breaks", "\n\na\n\n", nil, "<p>a</p>"},
		{"literal escaped", `1 < 2 & "x" > 'y'`, nil, "<p>1 &lt; 2 &amp; &#34;x&#34; &gt; &#39;y&#39;</p>"},
		{"fallback escaped", `{{ store or "<b>&</b>" }}`, nil, "<p>&lt;b&gt;&amp;&lt;/b&gt;</p>"},
		{"links are text", "Votre avis : {{ survey_link }}\nSe désinscrire : {{ unsubscribe_link }}",
			map[string]string{"survey_link": "https://avis.example/s/abc?x=1&y=2", "unsubscribe_link": "https://avis.example/u/def"},
			"<p>Votre avis : https://avis.example/s/abc?x=1&amp;y=2<br>\nSe désinscrire : https://avis.example/u/def</p>"},
		{"space between values", "{{ first_name }} {{ last_name }}", map[string]string{"first_name": "Léa", "last_name": "Roux"}, "<p>Léa Roux</p>"},
		{"empty first value drops the space", "{{ first_name }} {{ last_name }}", map[string]string{"last_name": "Roux"}, "<p>Roux</p>"},
		{"break across a condition", "a\n{{ if store }}\n{{ store }}{{ end }}\nb", map[string]string{"store": "S"}, "<p>a</p>\n<p>S<br>\nb</p>"},
		{"condition false keeps one break", "a\n{{ if store }}\n{{ store }}{{ end }}\nb", nil, "<p>a</p>\n<p>b</p>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := compile(t, c.src).HTML(c.values); got != c.want {
				t.Errorf("HTML = %q, want %q", got, c.want)
			}
		})
	}
}

// TestInjection feeds hostile values: they come out as inert text in both
// modes, are never read as template syntax and never break a line.
func TestInjection(t *testing.T) {
	t.Parallel()
	tpl := compile(t, "Bonjour {{ first_name }}, merci.\n\n{{ if store }}{{ store }}{{ end }}")
	cases := []struct {
		name      string
		value     string
		wantText  string
		wantHTML  string
		forbidden []string // must not appear in the HTML
	}{
		{"script", "<script>alert(1)</script>",
			"Bonjour <script>alert(1)</script>, merci.\n\nS",
			"<p>Bonjour &lt;script&gt;alert(1)&lt;/script&gt;, merci.</p>\n<p>S</p>",
			[]string{"<script"}},
		{"attribute break", `"><img src=x onerror=alert(1)>`,
			"Bonjour \"><img src=x onerror=alert(1)>, merci.\n\nS",
			"<p>Bonjour &#34;&gt;&lt;img src=x onerror=alert(1)&gt;, merci.</p>\n<p>S</p>",
			[]string{"<img"}},
		{"template syntax", `{{ store }}{{ if store }}{{{{`,
			"Bonjour {{ store }}{{ if store }}{{{{, merci.\n\nS",
			"<p>Bonjour {{ store }}{{ if store }}{{{{, merci.</p>\n<p>S</p>",
			nil},
		{"CRLF header injection", "Léa\r\nBcc: victim@example.com\r\n\r\nbody",
			"Bonjour Léa  Bcc: victim@example.com    body, merci.\n\nS",
			"<p>Bonjour Léa  Bcc: victim@example.com    body, merci.</p>\n<p>S</p>",
			[]string{"<br>\nBcc"}},
		{"line separator and NUL", "Léa\u2028x\x00y\u0085z",
			"Bonjour Léa x y z, merci.\n\nS",
			"<p>Bonjour Léa x y z, merci.</p>\n<p>S</p>",
			nil},
		{"invalid UTF-8", "L\xffa",
			"Bonjour L\uFFFDa, merci.\n\nS",
			"<p>Bonjour L\uFFFDa, merci.</p>\n<p>S</p>",
			nil},
		{"entity", "&lt;b&gt;",
			"Bonjour &lt;b&gt;, merci.\n\nS",
			"<p>Bonjour &amp;lt;b&amp;gt;, merci.</p>\n<p>S</p>",
			nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			values := map[string]string{"first_name": c.value, "store": "S"}
			if got := tpl.Text(values); got != c.wantText {
				t.Errorf("Text = %q, want %q", got, c.wantText)
			}
			got := tpl.HTML(values)
			if got != c.wantHTML {
				t.Errorf("HTML = %q, want %q", got, c.wantHTML)
			}
			for _, f := range c.forbidden {
				if strings.Contains(got, f) {
					t.Errorf("HTML %q contains %q", got, f)
				}
			}
		})
	}
}

func TestSubjectStaysOneLine(t *testing.T) {
	t.Parallel()
	tpl := compile(t, "{{ first_name }}, votre avis sur {{ product }}")
	got := tpl.Text(map[string]string{"first_name": "Léa\nSubject: x", "product": "a\rb"})
	if strings.ContainsAny(got, "\r\n") {
		t.Fatalf("subject %q has a line break", got)
	}
}

func TestConcurrentRender(t *testing.T) {
	t.Parallel()
	tpl := compile(t, greeting+"\n\n{{ store or \"notre magasin\" }}")
	done := make(chan string, 8)
	for i := range 8 {
		go func() {
			v := map[string]string{}
			if i%2 == 0 {
				v["first_name"] = "Léa"
			}
			done <- tpl.HTML(v) + tpl.Text(v)
		}()
	}
	for range 8 {
		if s := <-done; !strings.Contains(s, "notre magasin") {
			t.Errorf("render %q", s)
		}
	}
}
