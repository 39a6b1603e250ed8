package web_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	nethtml "golang.org/x/net/html"
)

// The hostile-input corpus and the checks that no page turns it into
// markup. See xss_test.go for where the corpus goes and which pages are read.

// loadPayloads reads testdata/xss/payloads.txt: one payload a line, "#"
// starts a comment, "go:" a Go-quoted string.
func loadPayloads(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "xss", "payloads.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "go:"):
			s, err := strconv.Unquote(strings.TrimPrefix(line, "go:"))
			if err != nil {
				t.Fatalf("payloads.txt line %d: %v", n, err)
			}
			line = s
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 40 {
		t.Fatalf("only %d payloads in the corpus", len(out))
	}
	return out
}

// xssTag is a marker put before payload i, so that a page can be shown to
// display the value (a check that cannot fail is no check).
func xssTag(i int) string { return fmt.Sprintf("Ztag%03d", i) }

// urlAttrs are the attributes whose value a browser follows or runs.
var urlAttrs = map[string]bool{"href": true, "src": true, "action": true, "formaction": true, "data": true, "poster": true,
	"background": true, "cite": true, "xlink:href": true, "srcset": true, "ping": true, "codebase": true, "manifest": true}

// deniedElements never appear on an avis page: none of its templates has
// them, so one can only come from data.
var deniedElements = map[string]bool{"script": true, "iframe": true, "frame": true, "frameset": true, "object": true, "embed": true,
	"applet": true, "base": true, "svg": true, "math": true, "noscript": true, "template": true, "portal": true, "isindex": true}

// injections parses a page as a browser would and lists every element or
// attribute that can only have come from data: script and other active
// elements, SVG and MathML, event handlers, javascript: and data: URLs,
// attributes whose names come from a payload, a refresh or a base. A
// sandboxed iframe of /outbox/ (the outbox message page's frame) is the
// only frame allowed.
func injections(body string) []string {
	doc, err := nethtml.Parse(strings.NewReader(body))
	if err != nil {
		return []string{"unparsable HTML: " + err.Error()}
	}
	var bad []string
	var walk func(n *nethtml.Node)
	walk = func(n *nethtml.Node) {
		if n.Type == nethtml.ElementNode {
			name := strings.ToLower(n.Data)
			attrs := map[string]string{}
			for _, a := range n.Attr {
				k := strings.ToLower(a.Key)
				if a.Namespace != "" {
					k = a.Namespace + ":" + k
				}
				attrs[k] = a.Val
			}
			switch {
			case n.Namespace != "":
				bad = append(bad, fmt.Sprintf("<%s:%s> element", n.Namespace, name))
			case name == "iframe" && strings.HasPrefix(attrs["src"], "/outbox/") && hasAttr(n, "sandbox") && attrs["sandbox"] == "":
			case deniedElements[name]:
				bad = append(bad, fmt.Sprintf("<%s> element", name))
			case strings.Contains(name, "xss") || strings.Contains(name, "scr"):
				bad = append(bad, fmt.Sprintf("<%s> element", name))
			case name == "meta" && strings.EqualFold(attrs["http-equiv"], "refresh") && strings.Contains(strings.ToLower(attrs["content"]), "url"):
				bad = append(bad, "<meta> refresh to a URL")
			case name == "img" && !strings.HasPrefix(attrs["src"], "/") && !strings.HasPrefix(attrs["src"], "data:image/") &&
				!strings.HasPrefix(attrs["src"], "cid:"):
				bad = append(bad, fmt.Sprintf("<img src=%q>", attrs["src"]))
			}
			for k, v := range attrs {
				lv := strings.ToLower(v)
				switch {
				case strings.HasPrefix(k, "on"):
					bad = append(bad, fmt.Sprintf("<%s %s=%q> event handler", name, k, v))
				case strings.Contains(k, "xss") || strings.ContainsAny(k, `"'<>/=`+"`"):
					bad = append(bad, fmt.Sprintf("<%s> attribute %q from data", name, k))
				case k == "srcdoc" || k == "autofocus" && name != "input" && name != "textarea" && name != "select":
					bad = append(bad, fmt.Sprintf("<%s %s>", name, k))
				case k == "style" && (strings.Contains(lv, "url(") || strings.Contains(lv, "expression") || strings.Contains(lv, "javascript")):
					bad = append(bad, fmt.Sprintf("<%s style=%q>", name, v))
				case urlAttrs[k] && activeURL(v):
					bad = append(bad, fmt.Sprintf("<%s %s=%q> active URL", name, k, v))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return bad
}

func hasAttr(n *nethtml.Node, key string) bool {
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, key) {
			return true
		}
	}
	return false
}

// activeURL reports whether a URL runs something or leaves for a host given
// in data: browsers drop spaces and control characters before the scheme.
func activeURL(v string) bool {
	var b strings.Builder
	for _, r := range v {
		if r > ' ' && r != 0x7f {
			b.WriteRune(r)
		}
	}
	s := strings.ToLower(b.String())
	return strings.HasPrefix(s, "javascript:") || strings.HasPrefix(s, "vbscript:") || strings.HasPrefix(s, "data:text") ||
		strings.HasPrefix(s, "//") || strings.HasPrefix(s, `\\`) || strings.HasPrefix(s, `/\`)
}

// shownText is every text and attribute value of a page, decoded: what a
// person sees or a form sends back.
func shownText(body string) string {
	doc, err := nethtml.Parse(strings.NewReader(body))
	if err != nil {
		return ""
	}
	var b strings.Builder
	var walk func(n *nethtml.Node)
	walk = func(n *nethtml.Node) {
		switch n.Type {
		case nethtml.TextNode:
			b.WriteString(n.Data)
			b.WriteByte('\n')
		case nethtml.ElementNode:
			for _, a := range n.Attr {
				b.WriteString(a.Val)
				b.WriteByte('\n')
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return b.String()
}

// assertSafePage fails when a page carries markup from data, or lacks one
// of the markers it must show (proof that the data reached the page).
func assertSafePage(t *testing.T, where string, r resp, want ...string) {
	t.Helper()
	if r.status >= 500 {
		t.Errorf("%s: status %d", where, r.status)
		return
	}
	ct := r.header.Get("Content-Type")
	if !strings.HasPrefix(ct, "text/html") {
		t.Errorf("%s: Content-Type %q, want text/html", where, ct)
	}
	if r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: no X-Content-Type-Options: nosniff", where)
	}
	if strings.Contains(strings.ToLower(r.body), "<script") {
		t.Errorf("%s: the page holds a <script tag", where)
	}
	for _, b := range injections(r.body) {
		t.Errorf("%s: %s", where, b)
	}
	if len(want) > 0 {
		shown := shownText(r.body)
		for _, w := range want {
			if !strings.Contains(shown, w) {
				t.Errorf("%s: the page does not show %q (status %d)", where, w, r.status)
			}
		}
	}
}

// assertJSONDownload fails when a download is not JSON served as JSON, or
// lacks one of the values it must hold.
func assertJSONDownload(t *testing.T, where string, r resp, want ...string) {
	t.Helper()
	if r.status != 200 {
		t.Errorf("%s: status %d", where, r.status)
		return
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want application/json", where, ct)
	}
	if r.header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("%s: served without nosniff or not as an attachment: %v", where, r.header)
	}
	var v any
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Errorf("%s: not JSON: %v", where, err)
		return
	}
	var strs []string
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case string:
			strs = append(strs, x)
		case []any:
			for _, y := range x {
				walk(y)
			}
		case map[string]any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(v)
	all := strings.Join(strs, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("%s: the JSON does not hold %q", where, w)
		}
	}
}

// TestInjectionsDetector: the checker finds each kind of injection in a
// page and passes the markup avis itself writes.
func TestInjectionsDetector(t *testing.T) {
	for _, c := range []struct {
		html string
		bad  bool
	}{
		{`<p>Bonjour &lt;script&gt;alert(1)&lt;/script&gt;</p>`, false},
		{`<input value="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;">`, false},
		{`<a href="/me/abc?lang=fr">x</a><img src="/brand/t/logo" alt="">`, false},
		{`<iframe class="mail" sandbox src="/outbox/abc/html"></iframe>`, false},
		{`<textarea>&lt;/textarea&gt;&lt;script&gt;</textarea>`, false},
		{`<p><script>alert(1)</script></p>`, true},
		{`<p><img src=x onerror=alert(1)></p>`, true},
		{`<input value="" autofocus onfocus="alert(1)" x="">`, true},
		{`<input value="" xss="1">`, true},
		{`<a href=" jav&#x09;ascript:alert(1)">x</a>`, true},
		{`<p><svg><a>x</a></svg></p>`, true},
		{`<math><mtext>x</mtext></math>`, true},
		{`<iframe src="javascript:alert(1)"></iframe>`, true},
		{`<base href="//evil.example/">`, true},
		{`<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`, true},
		{`<div style="background:url(javascript:alert(1))">x</div>`, true},
		{`<xss onmouseover=alert(1)>x</xss>`, true},
		{`<details open ontoggle=alert(1)>`, true},
	} {
		if got := len(injections(c.html)) > 0; got != c.bad {
			t.Errorf("%s: found %v, want %v (%v)", c.html, got, c.bad, injections(c.html))
		}
	}
	if !strings.Contains(shownText(`<p>a&lt;b</p><input value="Ztag001 &#34;x">`), `Ztag001 "x`) {
		t.Error("shownText does not decode attribute values")
	}
}
