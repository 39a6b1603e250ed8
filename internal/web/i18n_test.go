package web

import (
	"avis/internal/dispatch"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"testing"

	"avis/internal/crmsync"
	"avis/internal/i18n"
	"avis/internal/survey"
)

// messages collects every translatable message of the web layer: the
// templates' .T calls, the handlers' rc.t and cat.T calls, the menu labels,
// the role names, the error pages' messages and titles.
func messages(t *testing.T) []string {
	t.Helper()
	set := map[string]bool{}
	add := func(files []string, res ...*regexp.Regexp) {
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, re := range res {
				for _, m := range re.FindAllSubmatch(b, -1) {
					set[string(m[1])] = true
				}
			}
		}
	}
	tmpl, _ := filepath.Glob("templates/*.html")
	add(tmpl, regexp.MustCompile(`\.T "([^"]+)"`))
	gofiles, _ := filepath.Glob("*.go")
	var src []string
	for _, f := range gofiles {
		if !regexp.MustCompile(`_test\.go$`).MatchString(f) {
			src = append(src, f)
		}
	}
	add(src,
		regexp.MustCompile(`rc\.t\(s, "([^"]+)"`),
		regexp.MustCompile(`cat\.T\([a-zA-Z.]+, "([^"]+)"`),
		regexp.MustCompile(`\{"/[a-z]*", "([^"]+)", account`),
		regexp.MustCompile(`v\.T\("([^"]+)"`),
		regexp.MustCompile(`publicOpts\{Title: "([^"]+)"`),
		regexp.MustCompile(`\{string\(contact\.Field[A-Za-z]+\), "([^"]+)"`),
	)
	// The rule page translates the problems of package dispatch's rule and
	// window validation, with the compile errors of package placeholder
	// nested in them: every format they are made with.
	literal := `("(?:[^"\\\n]|\\.)*"|` + "`[^`]*`" + `)`
	for _, src := range []struct {
		files []string
		re    *regexp.Regexp
	}{
		{[]string{"../dispatch/rule.go", "../dispatch/window.go", "../dispatch/problem.go"},
			regexp.MustCompile(`\b(?:bad|problem|windowProblem)\(` + literal)},
		{[]string{"../crmsync/export_check.go", "../crmsync/export_schedule.go"}, regexp.MustCompile(`\bbad\("[a-z_]+", ` + literal)},
		{[]string{"../placeholder/compile.go"},
			regexp.MustCompile(`\b(?:errorAt|errorf)\([^"\x60\n()]*?, ` + literal)},
		// The import pages and report say the contact import's file errors,
		// row problems and reject reasons (package contact's Texts).
		{contactImportFiles(t), regexp.MustCompile(`\b(?:fileErr\(Err[A-Za-z]+, |textf\()` + literal)},
	} {
		n := 0
		for _, f := range src.files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range src.re.FindAllSubmatch(b, -1) {
				msg, err := strconv.Unquote(string(m[1]))
				if err != nil {
					t.Fatalf("%s: %s: %v", f, m[1], err)
				}
				set[msg] = true
				n++
			}
		}
		if n < 15 {
			t.Fatalf("found only %d messages in %v: the extraction is broken", n, src.files)
		}
	}
	for _, r := range passwordReasons {
		set[r] = true
	}
	for _, m := range []string{addressMissing, addressTooLong, addressBadEmail, addressBadPhone} {
		set[m] = true
	}
	for _, n := range roleNames {
		set[n] = true
	}
	// Invitation statuses, weekdays and send windows are translated from
	// values, not literals.
	for _, st := range dispatch.Statuses {
		set[st] = true
	}
	// The survey page translates the answer errors of package survey.
	for _, m := range survey.Messages {
		set[m] = true
	}
	for _, m := range append(crmsync.WebhookMessages, crmsync.ProblemMessages...) { // the webhook form's and deliveries' problems
		set[m] = true
	}
	for _, d := range []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Email send window", "SMS send window"} {
		set[d] = true
	}
	for _, pe := range []*PublicError{errNotFound, errCSRF, errForbidden, errTooLarge, publicError(nil)} {
		set[pe.Message] = true
	}
	for _, s := range []string{"Not Found", "Forbidden", "Unauthorized", "Request Entity Too Large", "Internal Server Error", "Too Many Requests"} {
		set[s] = true
	}
	var out []string
	for m := range set {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// contactImportFiles are the files of package contact that make the import's
// messages.
func contactImportFiles(t *testing.T) []string {
	files, _ := filepath.Glob("../contact/import*.go")
	var out []string
	for _, f := range files {
		if !regexp.MustCompile(`_test\.go$`).MatchString(f) {
			out = append(out, f)
		}
	}
	if len(out) < 5 {
		t.Fatalf("found only %v in package contact", out)
	}
	return append(out, "../contact/normalise.go")
}

// TestCataloguesComplete fails when a page shows a message that a
// catalogue does not translate.
func TestCataloguesComplete(t *testing.T) {
	cat := i18n.MustLoad()
	msgs := messages(t)
	if len(msgs) < 80 {
		t.Fatalf("found only %d messages: the extraction is broken", len(msgs))
	}
	for _, lang := range i18n.Languages {
		missing := 0
		for _, m := range msgs {
			if !cat.Has(lang, m) {
				missing++
				t.Errorf("%s: no translation for %q", lang, m)
			}
		}
		if missing > 0 {
			t.Logf("%s: %d of %d messages missing", lang, missing, len(msgs))
		}
	}
}
