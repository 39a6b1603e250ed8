package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/i18n"
	"avis/internal/privacy"
)

// TestBrowserPrivacyPages runs axe-core on the privacy profile page (empty,
// with errors, saved) and on the public notice and publication terms (in
// light and dark mode, with the tenant's colour and logo, and on a
// 320px-wide screen), and fails on any violation. The profile form is then
// used with JavaScript off.
func TestBrowserPrivacyPages(t *testing.T) {
	axe := axeSource(t)
	ctx := context.Background()
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	owner := "shop-owner@example.com"
	chrome := newChrome(t)
	base := e.srv.URL
	cat := i18n.MustLoad()

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
	heading := func(name, want string) {
		t.Helper()
		if h1 := eval[string](t, chrome, `(document.querySelector("h1") || {}).textContent || ""`); !strings.Contains(h1, want) {
			t.Errorf("%s: heading %q, want %q", name, h1, want)
		}
	}

	// The public pages, before any profile: the default notice.
	for _, lang := range []string{"en", "fr"} {
		open("/legal/"+tn.ID+"/notice?lang="+lang, http.StatusOK)
		heading("notice "+lang, cat.T(lang, "Information notice"))
		check("notice " + lang)
		open("/legal/"+tn.ID+"/publication?lang="+lang, http.StatusOK)
		heading("publication "+lang, cat.T(lang, "How reviews are published"))
		check("publication " + lang)
	}
	open("/legal/"+tn.ID+"/notice?v=00000000000000000000000000", http.StatusNotFound)
	check("unknown version")

	// The settings page: empty, then with errors next to the fields.
	open("/login", http.StatusOK)
	loginByKeyboard(t, chrome, owner)
	for _, lang := range []string{"en", "fr"} {
		setLangCookie(t, chrome, base, lang)
		open("/settings/privacy", http.StatusOK)
		heading("settings "+lang, cat.T(lang, "Privacy and branding"))
		check("settings " + lang)
	}
	setLangCookie(t, chrome, base, "en")
	open("/settings/privacy", http.StatusOK)
	do(t, chrome, "fill the form badly",
		chromedp.SetValue(chromedp.ID("p-dpo_email"), "not an address"),
		chromedp.SetValue(chromedp.ID("p-brand_color"), "#7fb2e5"),
		chromedp.SetValue(chromedp.ID("p-retention_months"), "3"))
	// The browser's own checks (type=email, min) would stop the form
	// before the server sees it: turn them off to see the server's answer.
	do(t, chrome, "skip the browser's validation", chromedp.Evaluate[chromedp.Void](`document.querySelector("main form").noValidate = true`))
	if st := load(t, chrome, "save the bad form", chromedp.Click(chromedp.CSS(`button[value=save]`))); st != http.StatusUnprocessableEntity {
		t.Fatalf("bad form: status %d", st)
	}
	if n := eval[int](t, chrome, `document.querySelectorAll(".field-error").length`); n != 3 {
		t.Errorf("%d field errors shown, want 3", n)
	}
	check("settings with errors")
	screenshot(t, chrome, "privacy-settings-errors")

	// A saved profile with a brand colour and a logo.
	p := privacy.DefaultProfile(tn.ID)
	p.LegalName, p.Address, p.DPOEmail = "Boutique Lumière SARL", "12 place du Marché\n69002 Lyon", "dpo@boutique.example"
	p.PolicyURL, p.BrandColor, p.Logo = "https://boutique.example/privacy", "#8a1538", pngLogo(t, 120, 40)
	if _, err := e.notices.SaveProfile(ctx, audit.System("test"), p); err != nil {
		t.Fatal(err)
	}
	open("/settings/privacy?preview=de", http.StatusOK)
	check("settings saved, German preview")
	screenshot(t, chrome, "privacy-settings")
	for _, dark := range []bool{false, true} {
		media := emulation.SetEmulatedMediaParams{}
		if dark {
			media.Features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}
		}
		if _, err := chromedp.Call(chrome, emulation.SetEmulatedMedia, media); err != nil {
			t.Fatal(err)
		}
		for _, page := range []string{"notice", "publication"} {
			open("/legal/"+tn.ID+"/"+page+"?lang=fr", http.StatusOK)
			if brand := eval[string](t, chrome, `getComputedStyle(document.documentElement).getPropertyValue("--brand").trim()`); brand != "#8a1538" {
				t.Errorf("%s: --brand is %q: the brand stylesheet did not apply", page, brand)
			}
			if w := eval[int](t, chrome, `(document.querySelector("img.logo") || {}).naturalWidth || 0`); w != 120 {
				t.Errorf("%s: the logo did not load (width %d)", page, w)
			}
			name := page + " branded"
			if dark {
				name += " dark"
			}
			check(name)
			screenshot(t, chrome, strings.ReplaceAll(name, " ", "-"))
		}
	}
	if _, err := chromedp.Call(chrome, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
		t.Fatal(err)
	}
	do(t, chrome, "emulate a 320px-wide phone", chromedp.EmulateViewport(320, 640))
	for _, path := range []string{"/legal/" + tn.ID + "/notice", "/legal/" + tn.ID + "/publication", "/settings/privacy"} {
		open(path, http.StatusOK)
		if out := eval[[]string](t, chrome, overflowJS); len(out) > 0 {
			t.Errorf("%s at 320px scrolls sideways:\n  %s", path, strings.Join(out, "\n  "))
		}
		check(path + " at 320px")
	}
	do(t, chrome, "back to a desktop screen", chromedp.EmulateViewport(1280, 900))

	// Without JavaScript the form saves, and the preview language changes.
	if _, err := chromedp.Call(chrome, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	open("/settings/privacy", http.StatusOK)
	do(t, chrome, "change the retention", chromedp.SetValue(chromedp.ID("p-retention_months"), "48"))
	if st := load(t, chrome, "save", chromedp.Click(chromedp.CSS(`button[value=save]`))); st != http.StatusOK {
		t.Fatalf("save without JavaScript: status %d", st)
	}
	if got, _ := e.notices.Profile(ctx, tn.ID); got.RetentionMonths != 48 || string(got.Logo) != string(p.Logo) {
		t.Errorf("without JavaScript: retention %d, logo %d bytes", got.RetentionMonths, len(got.Logo))
	}
	do(t, chrome, "choose Spanish", chromedp.SetValue(chromedp.ID("preview-lang"), "es"))
	if st := load(t, chrome, "show the preview", chromedp.Click(chromedp.CSS(`form[method=get] button`))); st != http.StatusOK {
		t.Fatalf("preview: status %d", st)
	}
	if txt := eval[string](t, chrome, `document.querySelector(".notice-text").textContent`); !strings.Contains(txt, "48 meses") {
		t.Errorf("the Spanish preview does not say 48 meses:\n%s", txt)
	}
}
