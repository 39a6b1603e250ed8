package placeholder

import (
	"fmt"
	"html"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Compile parses src against the allowed placeholder names and returns the
// template, ready to render many times. On failure the error is an Errors
// list (at most limits.MaxErrors, in source order) of *Error values that say
// where the problem is and what to do; errors.As finds the first *Error.
func Compile(src string, allowed []string, limits Limits) (*Template, error) {
	lim := limits.withDefaults()
	if len(src) > lim.MaxBytes {
		return nil, Errors{errorf(0, 0, "the text is %d bytes long; shorten it to %d bytes at most", len(src), lim.MaxBytes)}
	}
	if !utf8.ValidString(src) {
		i := 0
		for i < len(src) {
			r, n := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		line, col := position(src, i)
		return nil, Errors{errorf(line, col, "the text contains bytes that are not UTF-8; paste it again as plain text")}
	}
	if strings.IndexByte(src, '\r') >= 0 {
		src = strings.ReplaceAll(src, "\r\n", "\n")
		src = strings.ReplaceAll(src, "\r", "\n")
	}
	p := &parser{src: src, lim: lim, allowed: allowed, slots: map[string]int{}}
	p.allowSet = make(map[string]bool, len(allowed))
	for _, a := range allowed {
		p.allowSet[a] = true
	}
	if lim.SingleLine {
		if i := strings.IndexByte(src, '\n'); i >= 0 {
			p.errorAt(i, "this text must be one line; remove the line break")
		}
	}
	p.parse()
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool {
			a, b := p.errs[i], p.errs[j]
			return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
		})
		if len(p.errs) > lim.MaxErrors {
			p.errs = p.errs[:lim.MaxErrors]
		}
		return nil, p.errs
	}
	t := &Template{ops: p.ops, names: p.names, uses: make([]int, len(p.names))}
	t.htmlSize = len("<p></p>")
	for i := range t.ops {
		o := &t.ops[i]
		t.textSize += len(o.text)
		t.htmlSize += len(o.html)
		for _, pc := range o.pieces {
			t.htmlSize += len(pc.s)
			if pc.nl > 0 {
				t.htmlSize += len("</p>\n<p>") // each run of line breaks makes one break at most
			}
		}
		if o.kind == opValue {
			t.uses[o.slot]++
		}
	}
	return t, nil
}

type parser struct {
	src      string
	lim      Limits
	allowed  []string
	allowSet map[string]bool
	errs     Errors
	ops      []op
	slots    map[string]int
	names    []string
	stack    []frame
	lit      strings.Builder
}

// frame is an open condition.
type frame struct {
	pos     int // offset of its "{{"
	ifOp    int // index of its opIf
	jumpOp  int // index of the opJump before its else branch
	hasElse bool
}

func (p *parser) full() bool { return len(p.errs) >= p.lim.MaxErrors }

func (p *parser) errorAt(off int, format string, args ...any) {
	line, col := position(p.src, off)
	p.errs = append(p.errs, errorf(line, col, format, args...))
}

func (p *parser) parse() {
	src := p.src
	i := 0
	for i < len(src) && !p.full() {
		j := strings.Index(src[i:], "{{")
		if j < 0 {
			p.lit.WriteString(src[i:])
			i = len(src)
			break
		}
		p.lit.WriteString(src[i : i+j])
		i += j
		if strings.HasPrefix(src[i:], "{{{{") {
			p.lit.WriteString("{{")
			i += 4
			continue
		}
		p.flush()
		i = p.tag(i)
	}
	p.flush()
	if i < len(src) || p.full() {
		return // stopped early: whether the conditions close is unknown
	}
	for _, f := range p.stack {
		p.errorAt(f.pos, `"if" is never closed; add {{ end }}`)
	}
}

// flush turns the pending literal text into an op.
func (p *parser) flush() {
	if p.lit.Len() == 0 {
		return
	}
	s := p.lit.String()
	p.lit.Reset()
	p.ops = append(p.ops, op{kind: opText, text: s, pieces: htmlPieces(s)})
}

// htmlPieces prepares a literal for HTML: at most a run of spaces (whether
// it shows depends on what came before), line breaks, one piece of escaped
// text that holds every line with text and the <br> and paragraph breaks
// between them, and the line breaks after it. Lines of only spaces never
// show and are dropped here.
func htmlPieces(s string) []piece {
	var out []piece
	var text strings.Builder
	nl, started := 0, false
	for k, line := range strings.Split(s, "\n") {
		if k > 0 {
			nl++
		}
		if strings.Trim(line, " \t") == "" {
			if k == 0 && line != "" {
				out = append(out, piece{s: line, blank: true})
			}
			continue
		}
		switch {
		case !started && nl > 0:
			out = append(out, piece{nl: nl})
		case started && nl >= 2:
			text.WriteString("</p>\n<p>")
		case started:
			text.WriteString("<br>\n")
		}
		started, nl = true, 0
		text.WriteString(html.EscapeString(line))
	}
	if started {
		out = append(out, piece{s: text.String()})
	}
	if nl > 0 {
		out = append(out, piece{nl: nl})
	}
	return out
}

type tokKind uint8

const (
	tokEOF    tokKind = iota
	tokWord           // a run of anything but spaces, braces and quotes
	tokString         // a double-quoted string, s is its value
	tokClose          // "}}"
	tokOpen           // "{{" inside a tag: the tag was never closed
	tokQuote          // a quote that is not a straight double quote
	tokBad            // a lone brace, or a string that is not well formed; bad says which
)

type token struct {
	kind tokKind
	bad  badKind
	s    string
	pos  int
	end  int
}

// badKind says what is wrong with a tokBad token.
type badKind int

const (
	badBrace          badKind = iota + 1 // a lone "{" or "}"; s is the brace
	badStringLine                        // a string not closed before the end of the line
	badStringUnclosed                    // a string never closed
	badStringBrace                       // a brace in a string
	badBackslash                         // a backslash followed by neither " nor \
)

// next reads the token at or after offset i, inside a tag.
func (p *parser) next(i int) token {
	src := p.src
	for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n') {
		i++
	}
	if i >= len(src) {
		return token{kind: tokEOF, pos: i, end: i}
	}
	switch {
	case strings.HasPrefix(src[i:], "}}"):
		return token{kind: tokClose, pos: i, end: i + 2}
	case strings.HasPrefix(src[i:], "{{"):
		return token{kind: tokOpen, pos: i, end: i}
	case src[i] == '{' || src[i] == '}':
		return token{kind: tokBad, bad: badBrace, pos: i, end: i + 1, s: src[i : i+1]}
	case src[i] == '"':
		return p.str(i)
	}
	r, n := utf8.DecodeRuneInString(src[i:])
	if isQuote(r) {
		return token{kind: tokQuote, pos: i, end: i + n, s: string(r)}
	}
	j := i
	for j < len(src) {
		r, n := utf8.DecodeRuneInString(src[j:])
		if r == ' ' || r == '\t' || r == '\n' || r == '{' || r == '}' || r == '"' || isQuote(r) {
			break
		}
		j += n
	}
	return token{kind: tokWord, pos: i, end: j, s: src[i:j]}
}

func isQuote(r rune) bool {
	switch r {
	case '\'', '‘', '’', '“', '”', '«', '»', '„', '`':
		return true
	}
	return false
}

// str reads a double-quoted string starting at offset i.
func (p *parser) str(i int) token {
	src := p.src
	var b strings.Builder
	for j := i + 1; j < len(src); j++ {
		switch c := src[j]; c {
		case '"':
			return token{kind: tokString, pos: i, end: j + 1, s: b.String()}
		case '\n':
			return token{kind: tokBad, bad: badStringLine, pos: i, end: j}
		case '{', '}':
			if strings.HasPrefix(src[j:], "}}") {
				return token{kind: tokBad, bad: badStringUnclosed, pos: i, end: j}
			}
			return token{kind: tokBad, bad: badStringBrace, pos: j, end: j + 1}
		case '\\':
			if j+1 < len(src) && (src[j+1] == '"' || src[j+1] == '\\') {
				j++
				b.WriteByte(src[j])
				continue
			}
			return token{kind: tokBad, bad: badBackslash, pos: j, end: j + 1}
		default:
			b.WriteByte(c)
		}
	}
	return token{kind: tokBad, bad: badStringUnclosed, pos: i, end: len(src)}
}

// tag parses the tag whose "{{" is at offset start and returns the offset to
// go on from.
func (p *parser) tag(start int) int {
	t1 := p.next(start + 2)
	if t1.kind != tokWord {
		return p.syntax(start, t1, "")
	}
	switch strings.ToLower(t1.s) {
	case "if":
		t2 := p.next(t1.end)
		if t2.kind != tokWord || isKeyword(t2.s) {
			switch t2.kind {
			case tokClose, tokWord, tokString, tokQuote:
				p.errorAt(t1.pos, `"if" needs a placeholder name, e.g. {{ if first_name }}`)
				p.pushIf(start, 0, false)
				return p.recover(t2.pos)
			}
			return p.syntax(start, t2, "if")
		}
		t3 := p.next(t2.end)
		if t3.kind != tokClose {
			if t3.kind == tokWord && strings.EqualFold(t3.s, "or") {
				p.errorAt(t3.pos, `a condition tests one placeholder; write {{ if %s }} without "or"`, t2.s)
				p.pushIf(start, 0, false)
				return p.recover(t3.pos)
			}
			if t3.kind != tokEOF && t3.kind != tokOpen {
				p.pushIf(start, 0, false)
			}
			return p.syntax(start, t3, t2.s)
		}
		slot, ok := p.name(t2)
		p.pushIf(start, slot, ok)
		return t3.end
	case "else":
		t2 := p.next(t1.end)
		if t2.kind == tokWord && strings.EqualFold(t2.s, "if") {
			p.errorAt(t2.pos, `there is no "else if"; put a new {{ if … }} … {{ end }} inside the {{ else }} part`)
			return p.recover(t2.pos)
		}
		if t2.kind != tokClose {
			return p.syntax(start, t2, "else")
		}
		if len(p.stack) == 0 {
			p.errorAt(start, "unexpected {{ else }}; it belongs between {{ if … }} and {{ end }}")
			return t2.end
		}
		f := &p.stack[len(p.stack)-1]
		if f.hasElse {
			p.errorAt(start, `this "if" already has an {{ else }}; remove one`)
			return t2.end
		}
		f.hasElse = true
		f.jumpOp = len(p.ops)
		p.ops = append(p.ops, op{kind: opJump})
		p.ops[f.ifOp].jump = len(p.ops)
		return t2.end
	case "end":
		t2 := p.next(t1.end)
		if t2.kind != tokClose {
			return p.syntax(start, t2, "end")
		}
		if len(p.stack) == 0 {
			p.errorAt(start, "unexpected {{ end }}; there is no open {{ if … }} to close")
			return t2.end
		}
		f := p.stack[len(p.stack)-1]
		p.stack = p.stack[:len(p.stack)-1]
		if f.hasElse {
			p.ops[f.jumpOp].jump = len(p.ops)
		} else {
			p.ops[f.ifOp].jump = len(p.ops)
		}
		return t2.end
	case "or":
		p.errorAt(t1.pos, `"or" comes after a name, e.g. {{ first_name or "cher client" }}`)
		return p.recover(t1.pos)
	}
	if hint, ok := wordHints[strings.ToLower(t1.s)]; ok && !p.allowSet[t1.s] {
		p.hintAt(t1.pos, t1.s, hint)
		return p.recover(t1.pos)
	}
	t2 := p.next(t1.end)
	fallback := ""
	end := t2.end
	switch {
	case t2.kind == tokClose:
	case t2.kind == tokWord && strings.EqualFold(t2.s, "or"):
		t3 := p.next(t2.end)
		switch t3.kind {
		case tokString:
		case tokQuote:
			p.errorAt(t3.pos, `write the fallback between straight double quotes, like {{ %s or "cher client" }}`, t1.s)
			return p.recover(t3.pos)
		case tokWord, tokClose:
			p.errorAt(t3.pos, `"or" must be followed by a text in double quotes, like {{ %s or "cher client" }}`, t1.s)
			return p.recover(t3.pos)
		default:
			return p.syntax(start, t3, "or")
		}
		t4 := p.next(t3.end)
		if t4.kind != tokClose {
			return p.syntax(start, t4, "the fallback")
		}
		fallback, end = t3.s, t4.end
	default:
		return p.syntax(start, t2, t1.s)
	}
	slot, ok := p.name(t1)
	if ok {
		blank := strings.Trim(fallback, " \t") == ""
		p.ops = append(p.ops, op{kind: opValue, slot: slot, text: fallback, html: html.EscapeString(fallback), blank: blank})
	}
	return end
}

// pushIf opens a condition. A broken one (ok false) is still opened, so
// that its {{ end }} does not read as unexpected.
func (p *parser) pushIf(start, slot int, ok bool) {
	if len(p.stack) == p.lim.MaxDepth {
		p.errorAt(start, "conditions are nested more than %d deep; close one with {{ end }} before opening another", p.lim.MaxDepth)
		ok = false
	}
	p.stack = append(p.stack, frame{pos: start, ifOp: len(p.ops), jumpOp: -1})
	if ok {
		p.ops = append(p.ops, op{kind: opIf, slot: slot})
	} else {
		p.ops = append(p.ops, op{kind: opJump}) // never run: the template has errors
	}
}

// name checks a placeholder name against the allow-list and returns its
// slot.
func (p *parser) name(t token) (int, bool) {
	if !p.allowSet[t.s] || isKeyword(t.s) {
		p.unknownAt(t.pos, t.s)
		return 0, false
	}
	slot, ok := p.slots[t.s]
	if !ok {
		slot = len(p.names)
		p.slots[t.s] = slot
		p.names = append(p.names, t.s)
	}
	return slot, true
}

// syntax reports an unexpected token in the tag opened at start, after
// "after" (a name or keyword, or "" at the start of the tag).
func (p *parser) syntax(start int, t token, after string) int {
	switch t.kind {
	case tokEOF, tokOpen:
		p.errorAt(start, `"{{" is never closed; add "}}" after the placeholder, or write "{{{{" for a literal "{{"`)
		return t.pos
	case tokClose:
		if after == "" {
			p.errorAt(start, "empty placeholder; put a name between the braces, e.g. {{ first_name }}")
		} else {
			p.errorAt(t.pos, `the placeholder ends too early after %s; write {{ name }}, {{ name or "text" }}, {{ if name }}, {{ else }} or {{ end }}`, quoteWord(after))
		}
		return t.end
	case tokBad:
		switch t.bad {
		case badBrace:
			p.errorAt(t.pos, `unexpected %q in a placeholder; write {{ name }}, {{ name or "text" }}, {{ if name }}, {{ else }} or {{ end }}`, t.s[0])
		case badStringLine:
			p.errorAt(t.pos, `this text in quotes is not closed before the end of the line; add a closing "`)
		case badStringUnclosed:
			p.errorAt(t.pos, `this text in quotes is never closed; add a closing "`)
		case badStringBrace:
			p.errorAt(t.pos, `text in quotes cannot contain "{" or "}"`)
		case badBackslash:
			p.errorAt(t.pos, `a backslash in quotes must be followed by " or \; write \\ for a backslash`)
		}
	case tokQuote:
		p.errorAt(t.pos, "unexpected %s; text in a placeholder goes in straight double quotes after \"or\", e.g. {{ first_name or \"cher client\" }}", t.s)
	case tokString:
		if after == "" {
			p.errorAt(t.pos, `unexpected text in quotes; a placeholder starts with a name, e.g. {{ first_name or "cher client" }}`)
		} else {
			p.errorAt(t.pos, `unexpected text in quotes after %s; write "or" before it, e.g. {{ first_name or "cher client" }}`, quoteWord(after))
		}
	case tokWord:
		if after == "" {
			p.errorAt(t.pos, `unexpected %s; write {{ name }}, {{ name or "text" }}, {{ if name }}, {{ else }} or {{ end }}`, quoteWord(t.s))
		} else {
			p.errorAt(t.pos, `expected "}}" after %s, found %s; close the placeholder with "}}"`, quoteWord(after), quoteWord(t.s))
		}
	}
	return p.recover(t.pos)
}

// recover skips a broken tag: it goes on after the next "}}", or at the next
// "{{" if that comes first.
func (p *parser) recover(i int) int {
	rest := p.src[i:]
	c := strings.Index(rest, "}}")
	o := strings.Index(rest, "{{")
	switch {
	case c < 0 && o < 0:
		return len(p.src)
	case c >= 0 && (o < 0 || c < o):
		return i + c + 2
	default:
		return i + o
	}
}

func isKeyword(s string) bool {
	switch strings.ToLower(s) {
	case "if", "else", "end", "or":
		return true
	}
	return false
}

// wordHint is the advice for a word tenants try from other template
// languages or in French.
type wordHint int

const (
	hintEnd wordHint = iota + 1
	hintElseIf
	hintElse
	hintIf
	hintUnless
	hintLoop
)

// wordHints answers words tenants try from other template languages or in
// French.
var wordHints = map[string]wordHint{
	"endif":   hintEnd,
	"end_if":  hintEnd,
	"end-if":  hintEnd,
	"/if":     hintEnd,
	"fi":      hintEnd,
	"fin":     hintEnd,
	"finsi":   hintEnd,
	"elif":    hintElseIf,
	"elsif":   hintElseIf,
	"elseif":  hintElseIf,
	"else_if": hintElseIf,
	"sinon":   hintElse,
	"si":      hintIf,
	"#if":     hintIf,
	"unless":  hintUnless,
	"for":     hintLoop,
	"range":   hintLoop,
	"each":    hintLoop,
	"#each":   hintLoop,
}

// hintAt reports a word from another template language at off, with the
// advice for it.
func (p *parser) hintAt(off int, word string, h wordHint) {
	q := quoteWord(word)
	switch h {
	case hintEnd:
		p.errorAt(off, "unknown placeholder %s; close a condition with {{ end }}", q)
	case hintElseIf:
		p.errorAt(off, `unknown placeholder %s; there is no "else if"; put a new {{ if … }} … {{ end }} inside the {{ else }} part`, q)
	case hintElse:
		p.errorAt(off, "unknown placeholder %s; write {{ else }}", q)
	case hintIf:
		p.errorAt(off, "unknown placeholder %s; a condition is written {{ if name }}", q)
	case hintUnless:
		p.errorAt(off, "unknown placeholder %s; a condition is written {{ if name }}, with the text for the empty case after {{ else }}", q)
	case hintLoop:
		p.errorAt(off, "unknown placeholder %s; there are no loops; a template only prints values", q)
	}
}

// unknownAt reports an unknown name at off: the closest allowed name when
// it is near, otherwise the whole list.
func (p *parser) unknownAt(off int, word string) {
	switch s := suggest(word, p.allowed); {
	case len(p.allowed) == 0:
		p.errorAt(off, "unknown placeholder %s; this text cannot use placeholders", quoteWord(word))
	case s != "":
		p.errorAt(off, "unknown placeholder %s; did you mean %s?", quoteWord(word), s)
	default:
		p.errorAt(off, "unknown placeholder %s; use one of: %s", quoteWord(word), strings.Join(p.allowed, ", "))
	}
}

// frenchNames maps French words tenants write to the usual English names.
var frenchNames = map[string]string{
	"prenom":         "first_name",
	"prénom":         "first_name",
	"nom":            "last_name",
	"nom_de_famille": "last_name",
	"magasin":        "store",
	"boutique":       "store",
	"agence":         "store",
	"produit":        "product",
	"etape":          "step",
	"étape":          "step",
	"entreprise":     "company",
	"societe":        "company",
	"société":        "company",
	"lien":           "survey_link",
	"lien_enquete":   "survey_link",
	"lien_enquête":   "survey_link",
	"desinscription": "unsubscribe_link",
	"désinscription": "unsubscribe_link",
	"desabonnement":  "unsubscribe_link",
	"désabonnement":  "unsubscribe_link",
}

// suggest returns the allowed name closest to word when it is close enough:
// a French word for it, the same name in another case or with "-" for "_",
// a name the word starts with (first_name|upper), or one within a small edit
// distance.
func suggest(word string, allowed []string) string {
	if utf8.RuneCountInString(word) > 64 {
		return ""
	}
	lower := strings.ToLower(word)
	in := func(s string) bool {
		for _, a := range allowed {
			if a == s {
				return true
			}
		}
		return false
	}
	if s, ok := frenchNames[lower]; ok && in(s) {
		return s
	}
	norm := strings.NewReplacer("-", "_", " ", "_").Replace(lower)
	best, bestD := "", 1<<30
	for _, a := range allowed {
		al := strings.ToLower(a)
		if al == norm {
			return a
		}
		if strings.HasPrefix(lower, al) && len(lower) > len(al) && !isNameRune(rune(lower[len(al)])) {
			return a
		}
		if d := distance(norm, al); d < bestD {
			best, bestD = a, d
		}
	}
	n := utf8.RuneCountInString(norm)
	if bestD <= 2 && bestD*3 <= n {
		return best
	}
	return ""
}

func isNameRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// distance is the Levenshtein distance between a and b, in runes.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// quoteWord quotes a word for a message, cut to 40 characters.
func quoteWord(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		r := []rune(s)
		s = string(r[:40]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

// position turns a byte offset into a 1-based line and column; the column
// counts characters, not bytes.
func position(src string, off int) (line, col int) {
	if off > len(src) {
		off = len(src)
	}
	before := src[:off]
	line = 1 + strings.Count(before, "\n")
	if k := strings.LastIndexByte(before, '\n'); k >= 0 {
		before = before[k+1:]
	}
	return line, 1 + utf8.RuneCountInString(before)
}
