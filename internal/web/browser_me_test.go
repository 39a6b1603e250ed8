package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserMyData runs axe-core on the person's pages, in French and
// English and on a 320px-wide phone: their data page (with answers and a
// consent), the correction form with an error, the erase confirmation and
// the receipt, the access-link form, its error and its answer, the state
// of an unknown link, and the unsubscribe page in its three states (the
// button, done, an unknown link). It fails on any violation.
func TestBrowserMyData(t *testing.T) {
	axe := axeSource(t)
	f := newMeFixture(t)
	f.answer(t)
	chrome := newChrome(t)
	base := f.e.srv.URL

	check := func(name string) {
		t.Helper()
		r := runAxe(t, chrome, axe)
		if r.Passes == 0 {
			t.Fatalf("%s: axe-core passed no rule: it did not run", name)
		}
		for _, v := range r.Violations {
			t.Errorf("%s: %s", name, v)
		}
	}
	open := func(path string, want int) {
		t.Helper()
		if st := load(t, chrome, "open "+path, chromedp.Navigate(base+path)); st != int64(want) {
			t.Fatalf("%s: status %d, want %d", path, st, want)
		}
	}
	submit := func(what, css string, want int) {
		t.Helper()
		if st := load(t, chrome, what, chromedp.Click(chromedp.CSS(css))); st != int64(want) {
			t.Fatalf("%s: status %d, want %d", what, st, want)
		}
	}
	noCookie := func(name string) {
		t.Helper()
		if c := eval[string](t, chrome, `document.cookie`); c != "" {
			t.Errorf("%s: the page left a cookie %q", name, c)
		}
	}

	for _, lang := range []string{"fr", "en"} {
		open("/me/"+f.token+"?lang="+lang, http.StatusOK)
		check("my data " + lang)
		noCookie("my data " + lang)
		open("/me/request/"+f.tn.ID+"?lang="+lang, http.StatusOK)
		check("access-link form " + lang)
	}
	// The correction form with an error next to the field.
	open("/me/"+f.token+"?lang=en", http.StatusOK)
	do(t, chrome, "type a bad email", chromedp.SetValue(chromedp.ID("email"), "jeanne@"))
	submit("save the correction", `form[action*="/correct"] button`, http.StatusUnprocessableEntity)
	if n := eval[int](t, chrome, `document.querySelectorAll("[aria-invalid=true]").length`); n != 1 {
		t.Errorf("%d fields marked invalid, want 1", n)
	}
	check("correction with an error")

	// The access-link form: an error, then the answer.
	open("/me/request/"+f.tn.ID+"?lang=en", http.StatusOK)
	submit("send an empty address", `main form button`, http.StatusUnprocessableEntity)
	check("access-link form with an error")
	do(t, chrome, "type an address", chromedp.SetValue(chromedp.ID("address"), "someone@example.org"))
	submit("ask for a link", `main form button`, http.StatusOK)
	check("access-link answer")
	open("/me/"+strings.Repeat("A", 43)+"?lang=en", http.StatusNotFound)
	check("unknown link")

	// The unsubscribe page: the button, done, an unknown link.
	open("/u/"+f.token+"?lang=fr", http.StatusOK)
	check("unsubscribe")
	submit("unsubscribe", `main form button`, http.StatusOK)
	check("unsubscribed")
	open("/u/"+strings.Repeat("B", 22), http.StatusNotFound)
	check("unsubscribe, unknown link")

	// On a phone: the page, then the erase confirmation and the receipt.
	do(t, chrome, "emulate a 320px-wide phone", chromedp.EmulateViewport(320, 640))
	open("/me/"+f.token+"?lang=fr", http.StatusOK)
	if out := eval[[]string](t, chrome, overflowJS); len(out) > 0 {
		t.Errorf("my data at 320px scrolls sideways:\n  %s", strings.Join(out, "\n  "))
	}
	check("my data at 320px")
	open("/me/"+f.token+"/erase?lang=fr", http.StatusOK)
	check("erase confirmation")
	do(t, chrome, "keep me out", chromedp.Click(chromedp.CSS(`input[name=keep_out]`)))
	submit("erase", `button.danger`, http.StatusOK)
	if h1 := eval[string](t, chrome, `document.querySelector("h1").textContent`); !strings.Contains(h1, "effacées") {
		t.Errorf("receipt heading %q", h1)
	}
	check("erasure receipt")
	noCookie("erasure receipt")
	open("/me/"+f.token+"?lang=fr", http.StatusGone)
	check("erased")
}
