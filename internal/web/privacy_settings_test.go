package web_test

import (
	"bytes"
	"context"
	"html"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/privacy"
)

// pngLogo is a small valid PNG.
func pngLogo(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, h/2, color.NRGBA{0x0b, 0x5c, 0xad, 0xff})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// privacyFields is a valid profile form.
func privacyFields() map[string]string {
	return map[string]string{"legal_name": "Boutique Lumière SARL", "address": "12 place du Marché\n69002 Lyon",
		"dpo_name": "Camille Martin", "dpo_email": "dpo@boutique.example", "policy_url": "https://boutique.example/privacy",
		"retention_months": "24", "authority": privacy.DefaultAuthority, "brand_color": "#0b5cad", "action": "save"}
}

// postPrivacy submits the profile form as a browser does: multipart, with
// the page's CSRF token and an optional logo file.
func (b *browser) postPrivacy(fields map[string]string, logoName string, logo []byte) resp {
	b.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", b.csrf("/settings/privacy"))
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if logoName != "" {
		fw, err := mw.CreateFormFile("logo", logoName)
		if err != nil {
			b.e.t.Fatal(err)
		}
		fw.Write(logo)
	}
	mw.Close()
	req, err := http.NewRequest("POST", b.e.srv.URL+"/settings/privacy", &body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept-Language", "en")
	r, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer r.Body.Close()
	all, _ := io.ReadAll(r.Body)
	return resp{r.StatusCode, string(all), r.Header}
}

// fieldError returns the message shown next to a field of the profile form.
func fieldError(body, field string) string {
	m := regexp.MustCompile(`<p class="bad field-error" id="p-` + field + `-err">([^<]*)</p>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(strings.TrimSpace(m[1]))
}

// TestPrivacySettingsRefuses posts bad profiles: each is refused with a
// plain message next to its field, and nothing is saved.
func TestPrivacySettingsRefuses(t *testing.T) {
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	b := e.loggedIn("shop-owner@example.com")
	svg := []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	big := append(pngLogo(t, 32, 32), bytes.Repeat([]byte{0}, 200_000)...)
	cases := []struct {
		name, field, want string
		change            func(map[string]string)
		logoName          string
		logo              []byte
	}{
		{name: "low contrast colour", field: "brand_color", want: "too light", change: func(f map[string]string) { f["brand_color"] = "#7fb2e5" }},
		{name: "colour not hexadecimal", field: "brand_color", want: "six hexadecimal digits", change: func(f map[string]string) { f["brand_color"] = "blue" }},
		{name: "svg logo", field: "logo", want: "SVG is not accepted", logoName: "logo.svg", logo: svg},
		{name: "200 KB logo", field: "logo", want: "at most 100 KB", logoName: "big.png", logo: big},
		{name: "not an image", field: "logo", want: "PNG, JPEG or WebP", logoName: "logo.png", logo: []byte("GIF89a not really")},
		{name: "bad email", field: "dpo_email", want: "not an email address", change: func(f map[string]string) { f["dpo_email"] = "dpo at boutique" }},
		{name: "no email", field: "dpo_email", want: "Give the address", change: func(f map[string]string) { f["dpo_email"] = "" }},
		{name: "retention too long", field: "retention_months", want: "from 6 to 120", change: func(f map[string]string) { f["retention_months"] = "500" }},
		{name: "retention not a number", field: "retention_months", want: "whole number", change: func(f map[string]string) { f["retention_months"] = "3 ans" }},
		{name: "policy not a web address", field: "policy_url", want: "https://", change: func(f map[string]string) { f["policy_url"] = "javascript:alert(1)" }},
		{name: "name too long", field: "legal_name", want: "at most 200", change: func(f map[string]string) { f["legal_name"] = strings.Repeat("x", 201) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := privacyFields()
			if c.change != nil {
				c.change(f)
			}
			r := b.postPrivacy(f, c.logoName, c.logo)
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", r.status)
			}
			msg := fieldError(r.body, c.field)
			if !strings.Contains(msg, c.want) {
				t.Errorf("message next to %s: %q, want it to say %q", c.field, msg, c.want)
			}
			if !strings.Contains(r.body, `id="p-`+c.field+`" `) || !regexp.MustCompile(`id="p-`+c.field+`"[^>]*aria-invalid="true"`).MatchString(r.body) {
				t.Errorf("field %s is not marked invalid", c.field)
			}
			if c.field != "logo" && c.change != nil {
				// The typed value is kept for correction.
				if v := f[c.field]; v != "" && !strings.Contains(r.body, html.EscapeString(v)) && c.field != "address" {
					t.Errorf("the form lost the typed %s %q", c.field, v)
				}
			}
		})
	}
	// The low contrast message suggests a shade that passes.
	f := privacyFields()
	f["brand_color"] = "#7fb2e5"
	msg := fieldError(b.postPrivacy(f, "", nil).body, "brand_color")
	shade := regexp.MustCompile(`#[0-9a-f]{6}`).FindString(strings.ReplaceAll(msg, "#7fb2e5", ""))
	if shade == "" || privacy.ContrastWithWhite(shade) < 4.5 {
		t.Errorf("suggested shade %q (in %q) does not reach 4.5:1", shade, msg)
	}
	// Nothing was saved.
	p, err := e.notices.Profile(context.Background(), tn.ID)
	if err != nil || !p.UpdatedAt.IsZero() {
		t.Errorf("a refused form saved a profile: %+v, %v", p, err)
	}
}

// TestPrivacySettingsSave saves a profile with a logo, audits it, previews
// without saving, and lets only owners in.
func TestPrivacySettingsSave(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	b := e.loggedIn("shop-owner@example.com")

	page := b.get("/settings/privacy")
	if page.status != http.StatusOK || !strings.Contains(page.body, `id="p-incomplete"`) {
		t.Fatalf("first visit: status %d, want the incomplete-notice warning", page.status)
	}
	logo := pngLogo(t, 40, 20)
	r := b.postPrivacy(privacyFields(), "logo.png", logo)
	if r.status != http.StatusOK || !strings.Contains(r.body, `class="flash"`) {
		t.Fatalf("save: status %d\n%s", r.status, r.body)
	}
	p, err := e.notices.Profile(ctx, tn.ID)
	if err != nil || p.LegalName != "Boutique Lumière SARL" || p.Address != "12 place du Marché\n69002 Lyon" || p.RetentionMonths != 24 ||
		p.LogoType != "image/png" || !bytes.Equal(p.Logo, logo) || p.BrandColor != "#0b5cad" {
		t.Fatalf("saved profile: %+v, %v", p, err)
	}
	if strings.Contains(r.body, `id="p-incomplete"`) {
		t.Error("the warning stays after the contact was given")
	}
	recs, err := e.audit.List(ctx, tn.ID, audit.Filter{Action: "privacy.profile"})
	if err != nil || len(recs) != 1 || !strings.Contains(recs[0].Detail["changed"], "logo") {
		t.Errorf("audit: %+v, %v", recs, err)
	}

	// Saving again without a file keeps the logo.
	f := privacyFields()
	f["retention_months"] = "30"
	if r := b.postPrivacy(f, "", nil); r.status != http.StatusOK {
		t.Fatalf("second save: %d", r.status)
	}
	if p, _ := e.notices.Profile(ctx, tn.ID); !bytes.Equal(p.Logo, logo) || p.RetentionMonths != 30 {
		t.Errorf("the second save lost the logo or the retention: %d bytes, %d months", len(p.Logo), p.RetentionMonths)
	}

	// Preview shows the draft in the notice without saving it.
	f["legal_name"] = "Lumière Nouvelle SAS"
	f["action"] = "preview"
	f["preview_lang"] = "de"
	r = b.postPrivacy(f, "", nil)
	if r.status != http.StatusOK || !strings.Contains(r.body, "Lumière Nouvelle SAS") || !strings.Contains(r.body, "Ihre Rechte") {
		t.Errorf("preview: status %d, want the draft name in a German notice", r.status)
	}
	if p, _ := e.notices.Profile(ctx, tn.ID); p.LegalName != "Boutique Lumière SARL" {
		t.Errorf("preview saved the profile: %q", p.LegalName)
	}
	// The page lists the notice's versions, each linked to its public page.
	if _, err := e.notices.Current(ctx, tn.ID, privacy.KindInformation, "en"); err != nil {
		t.Fatal(err)
	}
	vs, _ := e.notices.Versions(ctx, tn.ID, privacy.KindInformation, "en", 10)
	if r := b.do("GET", "/settings/privacy?preview=en", nil, "Accept-Language", "en"); len(vs) != 1 ||
		!strings.Contains(r.body, `href="/legal/`+tn.ID+`/notice?v=`+vs[0].ID+`">Version 1 of `) {
		t.Errorf("the versions list does not link version 1 (%d versions)", len(vs))
	}
	// The preview language is chosen with a plain GET form.
	if r := b.get("/settings/privacy?preview=it"); !strings.Contains(r.body, "I suoi diritti") {
		t.Error("preview in Italian does not show the Italian notice")
	}
	// Removing the logo.
	f = privacyFields()
	f["logo_remove"] = "1"
	b.postPrivacy(f, "", nil)
	if p, _ := e.notices.Profile(ctx, tn.ID); len(p.Logo) != 0 {
		t.Error("the logo was not removed")
	}

	// Without the form's token, nothing is saved.
	f = privacyFields()
	f["legal_name"] = "Forged SA"
	req, _ := http.NewRequest("POST", e.srv.URL+"/settings/privacy", strings.NewReader("legal_name=Forged+SA&dpo_email=a%40b.fr"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := b.c.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST without CSRF: %v %v", resp.StatusCode, err)
	}
	if p, _ := e.notices.Profile(ctx, tn.ID); p.LegalName == "Forged SA" {
		t.Error("a forged POST was saved")
	}

	// An analyst may neither see nor change the profile.
	if _, err := e.accounts.CreateUser(ctx, audit.System("test"), tn.ID, "analyst@example.com", "Ana", testPassword, account.RoleAnalyst); err != nil {
		t.Fatal(err)
	}
	a := e.loggedIn("analyst@example.com")
	if r := a.get("/settings/privacy"); r.status != http.StatusForbidden {
		t.Errorf("analyst GET: %d", r.status)
	}
	if r := a.postPrivacy(privacyFields(), "", nil); r.status != http.StatusForbidden {
		t.Errorf("analyst POST: %d", r.status)
	}
}

var versionRe = regexp.MustCompile(`id="notice-version">([^<]*)<`)

// TestLegalPages shows the notice and the publication terms to anyone,
// without a cookie, in the reader's language, with the version; a past
// version comes back exactly as it was; profile values are escaped.
func TestLegalPages(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	other, _ := e.tenant("other", account.RoleOwner)
	pub := e.browser()

	r := pub.do("GET", "/legal/"+tn.ID+"/notice", nil, "Accept-Language", "de-DE,de;q=0.9")
	if r.status != http.StatusOK || r.header.Get("Set-Cookie") != "" {
		t.Fatalf("notice: status %d, Set-Cookie %q", r.status, r.header.Get("Set-Cookie"))
	}
	if !strings.Contains(r.body, `<html lang="de">`) || !strings.Contains(r.body, "Datenschutzinformation") || !strings.Contains(r.body, "Ihre Rechte") {
		t.Errorf("the notice is not in German:\n%s", r.body)
	}
	if m := versionRe.FindStringSubmatch(r.body); m == nil || !strings.Contains(m[1], "Fassung 1 vom ") {
		t.Errorf("version line: %v", m)
	}
	first, err := e.notices.Current(ctx, tn.ID, privacy.KindInformation, "fr")
	if err != nil {
		t.Fatal(err)
	}

	// A new profile, with markup in the name, makes version 2.
	p := privacy.DefaultProfile(tn.ID)
	p.LegalName, p.DPOEmail = "Shop <script>alert(1)</script>", "dpo@shop.example"
	if _, err := e.notices.SaveProfile(ctx, audit.System("test"), p); err != nil {
		t.Fatal(err)
	}
	r = pub.get("/legal/" + tn.ID + "/notice?lang=fr")
	if strings.Contains(r.body, "<script>alert") || !strings.Contains(r.body, "Shop &lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the legal name is not escaped")
	}
	if m := versionRe.FindStringSubmatch(r.body); m == nil || !strings.Contains(m[1], "Version 2 du ") {
		t.Errorf("after a change, version line: %v", m)
	}
	if !strings.Contains(r.body, `<a href="mailto:dpo@shop.example">dpo@shop.example</a>`) {
		t.Error("the contact address is not a link")
	}

	// The first version, exactly as it was, in its own language.
	r = pub.get("/legal/" + tn.ID + "/notice?v=" + first.ID)
	if r.status != http.StatusOK || r.header.Get("Set-Cookie") != "" || !strings.Contains(r.body, "Version 1 du ") ||
		!strings.Contains(r.body, "une version antérieure") || strings.Contains(r.body, "dpo@shop.example") {
		t.Errorf("past version: status %d\n%s", r.status, r.body)
	}
	for _, b := range first.Blocks() {
		if b.Kind == "p" && !strings.Contains(r.body, html.EscapeString(b.Segments[0].Text)) {
			t.Errorf("past version lacks %q", b.Segments[0].Text)
		}
	}

	// Publication terms.
	r = pub.get("/legal/" + tn.ID + "/publication?lang=en")
	if r.status != http.StatusOK || r.header.Get("Set-Cookie") != "" || !strings.Contains(r.body, "How reviews are published") ||
		!strings.Contains(r.body, "No payment") || !strings.Contains(r.body, "Version 1 of ") {
		t.Errorf("publication terms: status %d\n%s", r.status, r.body)
	}

	// Unknown tenants and versions, another tenant's version, the wrong kind.
	pubTerms, _ := e.notices.Current(ctx, tn.ID, privacy.KindPublication, "en")
	otherNotice, _ := e.notices.Current(ctx, other.ID, privacy.KindInformation, "fr")
	for _, path := range []string{"/legal/nope/notice", "/legal/" + strings.Repeat("0", 26) + "/notice",
		"/legal/" + tn.ID + "/notice?v=nope", "/legal/" + tn.ID + "/notice?v=" + otherNotice.ID,
		"/legal/" + tn.ID + "/notice?v=" + pubTerms.ID} {
		if r := pub.get(path); r.status != http.StatusNotFound || r.header.Get("Set-Cookie") != "" || !strings.Contains(r.body, "<h1>") {
			t.Errorf("%s: status %d, Set-Cookie %q", path, r.status, r.header.Get("Set-Cookie"))
		}
	}
}

// TestBrandAssets serves a tenant's logo and colour to its public pages,
// from avis's own origin, without a cookie.
func TestBrandAssets(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	pub := e.browser()

	// Without a profile: no logo, no style, the name alone.
	if r := pub.get("/brand/" + tn.ID + "/logo"); r.status != http.StatusNotFound {
		t.Errorf("logo before any: %d", r.status)
	}
	r := pub.get("/legal/" + tn.ID + "/notice")
	if strings.Contains(r.body, "/brand/") || !strings.Contains(r.body, "Company shop") {
		t.Errorf("page without a brand refers to brand files or lacks the name")
	}

	logo := pngLogo(t, 40, 20)
	p := privacy.DefaultProfile(tn.ID)
	p.DPOEmail, p.BrandColor, p.Logo = "dpo@shop.example", "#0b5cad", logo
	if _, err := e.notices.SaveProfile(ctx, audit.System("test"), p); err != nil {
		t.Fatal(err)
	}
	r = pub.get("/brand/" + tn.ID + "/logo")
	if r.status != http.StatusOK || r.body != string(logo) || r.header.Get("Content-Type") != "image/png" ||
		r.header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(r.header.Get("Cache-Control"), "public") ||
		r.header.Get("Set-Cookie") != "" {
		t.Errorf("logo: status %d, %d bytes, headers %v", r.status, len(r.body), r.header)
	}
	if r2 := pub.do("GET", "/brand/"+tn.ID+"/logo", nil, "If-None-Match", r.header.Get("ETag")); r2.status != http.StatusNotModified {
		t.Errorf("logo with its ETag: %d", r2.status)
	}
	r = pub.get("/brand/" + tn.ID + "/style.css")
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/css") ||
		!strings.Contains(r.body, "--brand: #0b5cad;") || !strings.Contains(r.body, "--brand-ink: #ffffff;") {
		t.Errorf("style: status %d %q\n%s", r.status, r.header.Get("Content-Type"), r.body)
	}

	// The public pages link both, same origin, no inline style.
	r = pub.get("/legal/" + tn.ID + "/notice")
	if !regexp.MustCompile(`<link rel="stylesheet" href="/brand/`+tn.ID+`/style\.css\?v=[0-9a-z]+">`).MatchString(r.body) ||
		!regexp.MustCompile(`<img class="logo" src="/brand/`+tn.ID+`/logo\?v=[0-9a-z]+" alt="Company shop">`).MatchString(r.body) {
		t.Errorf("the notice page does not use the brand:\n%s", r.body)
	}
	if strings.Contains(r.body, "style=") || strings.Contains(r.body, "<style") {
		t.Error("a public page has inline style, which the CSP refuses")
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	for _, path := range []string{"/brand/nope/logo", "/brand/nope/style.css", "/brand/" + strings.Repeat("0", 26) + "/style.css"} {
		if r := pub.get(path); r.status != http.StatusNotFound {
			t.Errorf("%s: %d", path, r.status)
		}
	}
}
