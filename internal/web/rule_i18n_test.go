package web_test

import (
	"html"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"avis/internal/account"
	"avis/internal/i18n"
)

var (
	ruleProblemsRe = regexp.MustCompile(`(?s)<div class="error" role="alert" id="rule-problems">.*?<ul>(.*?)</ul>`)
	listItemRe     = regexp.MustCompile(`(?s)<li>(.*?)</li>`)
)

// TestRuleProblemsTranslated: the problems of an invitation rule are listed
// in the page's language — the form's own (a delay that is not a number),
// the rule's (a send window that closes before it opens) and its texts'
// (an unknown placeholder in the French subject, with its line, column and
// the suggested name) — and none is left in English. Argument values (the
// language code, the placeholder's names, the hours) stay as they are.
func TestRuleProblemsTranslated(t *testing.T) {
	e := newEnv(t)
	e.tenant("rules", account.RoleOwner)
	b := e.loggedIn("rules-owner@example.com")
	if r := b.post("/journeys", url.Values{"name": {"Commande"}, "key_0": {"delivery"}, "step_0": {"Livraison"}}); r.status >= 400 {
		t.Fatalf("create journey: %d\n%s", r.status, r.body)
	}
	m := stepRuleRe.FindStringSubmatch(b.get("/journeys").body)
	if m == nil {
		t.Fatal("the journeys page links no invitation rule")
	}
	step := m[1]
	r := b.post("/surveys", url.Values{"name": {"Livraison"}, "default_language": {"fr"}})
	sm := surveyIDRe.FindStringSubmatch(r.header.Get("Location"))
	if r.status != http.StatusSeeOther || sm == nil {
		t.Fatalf("create survey: %d %s", r.status, r.header.Get("Location"))
	}
	bad := ruleForm(sm[1])
	bad.Set("delay_hours", "deux jours")
	bad.Set("subject_fr", "Votre avis sur {{ magasin }}")
	bad.Set("email_from", "20:00")
	bad.Set("email_to", "08:00")

	cat := i18n.MustLoad()
	// want lists the problems as the page must show them in lang, made
	// from the catalogue's messages.
	want := func(lang string) []string {
		return []string{
			cat.T(lang, "%s: give a whole number from %d to %d.", cat.T(lang, "Delay after the event (hours)"), 0, 2160),
			cat.T(lang, "email send window: %s", cat.T(lang, "the window must open (%s) before it closes (%s)", "20:00", "08:00")),
			cat.T(lang, "texts in %s: subject: %s", "fr", cat.T(lang, "line %d, column %d: %s", 1, 19,
				cat.T(lang, "unknown placeholder %s; did you mean %s?", `"magasin"`, "store"))),
		}
	}
	english := want("en")
	for _, lang := range []string{"fr", "de"} {
		t.Run(lang, func(t *testing.T) {
			u, _ := url.Parse(e.srv.URL)
			b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "avis_lang", Value: lang, Path: "/"}})
			r := b.post("/steps/"+step+"/rule", bad)
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("invalid rule saved: %d\n%s", r.status, r.body)
			}
			if !strings.Contains(r.body, `<html lang="`+lang+`">`) {
				t.Fatalf("the page is not in %s", lang)
			}
			block := ruleProblemsRe.FindStringSubmatch(r.body)
			if block == nil {
				t.Fatalf("no list of problems on the page:\n%s", r.body)
			}
			var got []string
			for _, li := range listItemRe.FindAllStringSubmatch(block[1], -1) {
				got = append(got, html.UnescapeString(li[1]))
			}
			w := want(lang)
			if !reflect.DeepEqual(got, w) {
				t.Errorf("problems shown in %s:\n%s\nwant:\n%s", lang, strings.Join(got, "\n"), strings.Join(w, "\n"))
			}
			for i, en := range english {
				if w[i] == en {
					t.Errorf("%s: the catalogue does not translate %q", lang, en)
				}
			}
			shown := strings.Join(got, "\n")
			for _, en := range []string{"give a whole number", "send window", "window must open", "texts in", "subject", "line 1", "column", "unknown placeholder", "did you mean"} {
				if strings.Contains(shown, en) {
					t.Errorf("%s: the problems still show English %q:\n%s", lang, en, shown)
				}
			}
			// The values stay as written.
			for _, v := range []string{"20:00", "08:00", `"magasin"`, "store", "fr"} {
				if !strings.Contains(shown, v) {
					t.Errorf("%s: the problems lost the value %s:\n%s", lang, v, shown)
				}
			}
		})
	}
}
