package web_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/crmsync"
	"avis/internal/db"
	"avis/internal/dispatch"
	"avis/internal/i18n"
	"avis/internal/journey"
	"avis/internal/privacy"
)

// These tests drive a real browser (headless Chromium) over the admin UI:
// keyboard use, accessibility (axe-core), pages without JavaScript, no
// request to a third party, and screenshots. See browser_helpers_test.go for
// the environment they need; `make test` provides it.

const shopOwner = "shop-owner@example.com"

// browserEnv is a server with one owner and something on every page: a
// contact with accents in the name, a second user, an API key.
func browserEnv(t *testing.T) (*env, string) {
	t.Helper()
	ctx := context.Background()
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	c, err := e.contacts.Create(ctx, audit.System("test"), tn.ID, contact.Input{
		Email: "eloise.lefevre@example.org", Phone: "+33612345678", FirstName: "Éloïse", LastName: "Lefèvre",
		Language: "fr", Country: "FR", ExternalID: "crm-0042",
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.accounts.CreateUser(ctx, audit.System("test"), tn.ID, "analyste@example.com", "Anaïs Analyste", testPassword, account.RoleAnalyst); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.accounts.CreateAPIKey(ctx, audit.System("test"), tn.ID, "Synchronisation CRM", []string{"contacts:read"}); err != nil {
		t.Fatal(err)
	}
	return e, c.ID
}

// adminPage is a page an owner reaches, with the heading it must show.
type adminPage struct {
	name, path string
	heading    string // a catalogue message, translated into the page's language
	literal    bool   // heading is data, shown as it is
}

func ownerPages(contactID string) []adminPage {
	return []adminPage{
		{"home", "/", "Company shop", true},
		{"contacts", "/contacts", "Contacts", false},
		{"contact", "/contacts/" + contactID, "Éloïse Lefèvre", true},
		{"users", "/users", "Users and roles", false},
		{"apikeys", "/apikeys", "API keys", false},
		{"audit", "/audit", "Audit log", false},
		{"settings", "/settings", "Account settings", false},
		{"mfa", "/account/mfa", "Set up a second factor", false},
	}
}

var loginPage = adminPage{"login", "/login", "Sign in", false}

// flowPages are the pages of flow 1 (contacts in), with something on each:
// a finished import with a rejected row, an upload waiting for its preview,
// a journey and an SFTP drop.
func flowPages(t *testing.T, e *env) []adminPage {
	t.Helper()
	ctx := context.Background()
	tn, err := e.accounts.TenantBySlug(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	rep, _, err := e.contacts.ImportFile(ctx, audit.System("test"), tn.ID, contact.SourceRef{Kind: "cli", Name: "clients.csv"},
		strings.NewReader("Courriel;Prénom;Magasin\nzoe@example.org;Zoé;Lyon\njean@@example.fr;Jean;Nantes\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	up, _, err := e.uploads.Save(ctx, tn.ID, strings.NewReader("Réf client;Nom;Prénom;Courriel;Magasin\nC-1;Lefèvre;Éloïse;eloise@example.org;Lyon\n"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	j, err := e.journeys.CreateJourney(ctx, audit.System("test"), tn.ID, "Commande en ligne",
		[]journey.StepInput{{Key: "order", Name: "Commande"}, {Key: "delivery", Name: "Livraison"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sftp.Create(ctx, audit.System("test"), tn.ID, crmsync.SourceInput{Name: "Export CRM", Host: "sftp.example.com",
		Username: "crm", AuthKind: crmsync.AuthPassword, Secret: "secret", Folder: "exports", Enabled: true,
		HostKeyFingerprint: "SHA256:" + strings.Repeat("A", 43)}); err != nil {
		t.Fatal(err)
	}
	sv, err := e.surveys.Create(ctx, audit.System("test"), tn.ID, surveyFixture("Après livraison"))
	if err != nil {
		t.Fatal(err)
	}
	// The delivery step's invitation rule, and a test message in the outbox.
	rule := dispatch.DefaultRule(j.Steps[1].ID, sv.ID)
	if _, err := e.dispatch.SaveRule(ctx, audit.System("test"), tn.ID, rule); err != nil {
		t.Fatal(err)
	}
	if _, err := e.dispatch.TestSend(ctx, audit.System("test"), tn.ID, rule, "moi@example.org"); err != nil {
		t.Fatal(err)
	}
	// An open request received by post, so that the request log shows
	// its actions.
	if _, err := e.requests.Record(ctx, nil, audit.System("test"), tn.ID, privacy.Request{Kind: privacy.RequestAccess, SubjectID: db.NewID(),
		Channel: privacy.ChannelPost}); err != nil {
		t.Fatal(err)
	}
	return []adminPage{
		{"rule", "/steps/" + j.Steps[1].ID + "/rule", "Livraison", true},
		{"messaging", "/messaging", "Messaging", false},
		{"invitations", "/invitations", "Invitations", false},
		{"outbox", "/outbox", "Outbox", false},
		{"surveys", "/surveys", "Surveys", false},
		{"survey", "/surveys/" + sv.ID, "Après livraison", true},
		{"survey-question", "/surveys/" + sv.ID + "/questions/topics", "topics", true},
		{"imports", "/imports", "Imports", false},
		{"import", "/imports/" + rep.ImportID, "clients.csv", true},
		{"preview", "/uploads/" + up + "?name=clients.csv", "Check the columns", false},
		{"journeys", "/journeys", "Journeys", false},
		{"sftp", "/sftp", "SFTP drops", false},
		{"exports", "/exports", "Exports", false},
		{"webhooks", "/webhooks", "Webhooks", false}, {"webhook", "/webhooks/" + webhookFixture(t, e, tn.ID), "Webhook endpoint", false},
		{"requests", "/requests", "Data requests", false},
	}
}

// checkPage asserts the browser shows page p in language lang.
func checkPage(t *testing.T, ctx context.Context, cat *i18n.Catalogs, base, lang string, p adminPage) {
	t.Helper()
	type shown struct {
		Path, Lang, H1, Title string
	}
	s := eval[shown](t, ctx, `({Path: location.pathname, Lang: document.documentElement.lang,
		H1: (document.querySelector("h1") || {}).textContent || "", Title: document.title})`)
	if want, _, _ := strings.Cut(p.path, "?"); s.Path != want {
		t.Fatalf("%s: browser is at %s, want %s", p.name, s.Path, want)
	}
	if s.Lang != lang {
		t.Errorf("%s: <html lang=%q>, want %q", p.name, s.Lang, lang)
	}
	want := p.heading
	if !p.literal {
		want = cat.T(lang, p.heading)
	}
	if !strings.Contains(s.H1, want) {
		t.Errorf("%s (%s): heading %q, want it to contain %q", p.name, lang, s.H1, want)
	}
}

// loginByKeyboard signs in as a keyboard user: focus, type, Tab, type, Enter.
func loginByKeyboard(t *testing.T, ctx context.Context, email string) {
	t.Helper()
	do(t, ctx, "focus the email field", chromedp.Focus(chromedp.ID("email")))
	if a := focused(t, ctx); a.ID != "email" {
		t.Fatalf("focus is on <%s id=%q>, want the email field", a.Tag, a.ID)
	}
	do(t, ctx, "type the email", chromedp.KeyEvent(email))
	do(t, ctx, "press Tab", chromedp.KeyEvent(kb.Tab))
	if a := focused(t, ctx); a.ID != "password" {
		t.Fatalf("Tab from the email field went to <%s id=%q>, want the password field", a.Tag, a.ID)
	}
	do(t, ctx, "type the password", chromedp.KeyEvent(testPassword))
	if st := load(t, ctx, "press Enter to sign in", chromedp.KeyEvent(kb.Enter)); st != http.StatusOK {
		t.Fatalf("sign in: status %d", st)
	}
	if p := eval[string](t, ctx, `location.pathname`); p != "/" {
		t.Fatalf("after signing in the browser is at %s, want the home page", p)
	}
}

// TestBrowserKeyboardNavigation signs in and goes through every page an
// owner reaches with the keyboard only, in English and then in French
// (switched with the language menu), and checks that no request left for a
// third party on the way.
func TestBrowserKeyboardNavigation(t *testing.T) {
	e, contactID := browserEnv(t)
	ctx := newChrome(t)
	reqs := recordRequests(t, ctx)
	base := e.srv.URL
	cat := i18n.MustLoad()
	pages := ownerPages(contactID)

	shot := 0
	snap := func(lang, name string) {
		shot++
		screenshot(t, ctx, fmt.Sprintf("%02d-%s-%s", shot, lang, name))
	}
	follow := func(lang string, p adminPage) {
		t.Helper()
		tabUntil(t, ctx, lang+": link to "+p.path, func(a activeElement) bool { return a.Tag == "a" && a.Href == p.path })
		if st := load(t, ctx, "press Enter on the link to "+p.path, chromedp.KeyEvent(kb.Enter)); st != http.StatusOK {
			t.Fatalf("%s: status %d", p.path, st)
		}
		checkPage(t, ctx, cat, base, lang, p)
		snap(lang, p.name)
	}

	for _, lang := range []string{"en", "fr"} {
		if lang == "en" {
			if st := load(t, ctx, "open the login page", chromedp.Navigate(base+"/login")); st != http.StatusOK {
				t.Fatalf("/login: status %d", st)
			}
		} else {
			// We are on the login page after signing out: switch to French
			// with the language menu, by keyboard.
			tabUntil(t, ctx, "language menu", func(a activeElement) bool { return a.ID == "lang-select" })
			do(t, ctx, "choose Français", chromedp.KeyEvent("F"))
			if v := eval[string](t, ctx, `document.getElementById("lang-select").value`); v != "fr" {
				t.Fatalf("typing F in the language menu chose %q, want fr", v)
			}
			tabUntil(t, ctx, "language button", func(a activeElement) bool { return a.Tag == "button" && a.Text == cat.T("en", "Change") })
			load(t, ctx, "press Enter on the language button", chromedp.KeyEvent(kb.Enter))
		}
		checkPage(t, ctx, cat, base, lang, loginPage)
		snap(lang, "login")

		loginByKeyboard(t, ctx, shopOwner)
		checkPage(t, ctx, cat, base, lang, pages[0])
		snap(lang, "home")

		for _, p := range pages[1:] {
			if p.name == "mfa" {
				// The skip link is the first stop of the Tab key, shows when
				// focused and takes the focus into the content.
				a := tabUntil(t, ctx, "skip link", func(activeElement) bool { return true })
				if a.Tag != "a" || a.Href != "#main" || a.Text != cat.T(lang, "Skip to content") {
					t.Fatalf("first Tab stop is <%s href=%q>%s, want the skip link", a.Tag, a.Href, a.Text)
				}
				do(t, ctx, "press Enter on the skip link", chromedp.KeyEvent(kb.Enter))
				if a := focused(t, ctx); a.ID != "main" {
					t.Fatalf("the skip link moved the focus to <%s id=%q>, want <main>", a.Tag, a.ID)
				}
				// The next stop is in the content, not in the menu.
				if a := tabUntil(t, ctx, "first control of the content", func(activeElement) bool { return true }); a.Tag != "input" {
					t.Fatalf("Tab after the skip link went to <%s href=%q>, want the form of the content", a.Tag, a.Href)
				}
			}
			follow(lang, p)
		}

		tabUntil(t, ctx, "sign-out button", func(a activeElement) bool { return a.Tag == "button" && a.Text == cat.T(lang, "Sign out") })
		load(t, ctx, "press Enter on the sign-out button", chromedp.KeyEvent(kb.Enter))
		if p := eval[string](t, ctx, `location.pathname`); p != "/login" {
			t.Fatalf("after signing out the browser is at %s, want /login", p)
		}
	}

	// No third party: every request of the walk went to the test server.
	urls := reqs.all()
	for _, want := range []string{base + "/login", base + "/static/avis.css", base + "/contacts/" + contactID, base + "/account/mfa"} {
		if !slices.Contains(urls, want) {
			t.Fatalf("the request log misses %s: the recording is broken; it has:\n%s", want, strings.Join(urls, "\n"))
		}
	}
	if bad := foreign(urls, base); len(bad) > 0 {
		t.Errorf("the admin pages made %d requests to somewhere other than %s:\n%s", len(bad), base, strings.Join(bad, "\n"))
	}
	t.Logf("%d requests, all to %s", len(urls), base)
}

// TestBrowserAccessibility runs axe-core on every page an owner reaches, in
// English and in French, and on the pages that show an error or a notice.
// A violation of impact "serious" or "critical" fails the test.
func TestBrowserAccessibility(t *testing.T) {
	axe := axeSource(t)
	e, contactID := browserEnv(t)
	ctx := newChrome(t)
	base := e.srv.URL
	cat := i18n.MustLoad()
	flow := flowPages(t, e)

	failed := 0
	check := func(lang, name string) {
		t.Helper()
		r := runAxe(t, ctx, axe)
		if r.Passes == 0 {
			t.Fatalf("%s %s: axe-core passed no rule: it did not run", lang, name)
		}
		var minor []string
		for _, v := range r.Violations {
			if v.Impact == "serious" || v.Impact == "critical" {
				failed++
				t.Errorf("%s %s: %s", lang, name, v)
			} else {
				minor = append(minor, v.Impact+" "+v.ID)
			}
		}
		if len(minor) > 0 {
			t.Logf("%s %s: minor findings: %s", lang, name, strings.Join(minor, ", "))
		}
	}
	visit := func(lang string, p adminPage) {
		t.Helper()
		if st := load(t, ctx, "open "+p.path, chromedp.Navigate(base+p.path)); st != http.StatusOK {
			t.Fatalf("%s: status %d", p.path, st)
		}
		checkPage(t, ctx, cat, base, strings.Fields(lang)[0], p)
		check(lang, p.name)
	}

	// The check can fail: axe-core finds the faults of a bad page.
	do(t, ctx, "open a bad page", chromedp.Navigate(`data:text/html,<html><body><p style="color:%23bbb;background:%23fff">pale</p><form><input name=q></form></body></html>`))
	var ids []string
	for _, v := range runAxe(t, ctx, axe).Violations {
		ids = append(ids, v.Impact+" "+v.ID)
	}
	for _, want := range []string{"serious color-contrast", "critical label", "serious html-has-lang"} {
		if !slices.Contains(ids, want) {
			t.Fatalf("axe-core did not report %q on a page made to fail it; it reported %v", want, ids)
		}
	}

	for _, lang := range []string{"en", "fr"} {
		setLangCookie(t, ctx, base, lang)
		visit(lang, loginPage)
		if lang == "en" {
			// A failed sign-in shows an error message.
			do(t, ctx, "type a wrong password",
				chromedp.SendKeys(chromedp.ID("email"), shopOwner),
				chromedp.SendKeys(chromedp.ID("password"), "not the password"))
			load(t, ctx, "submit the login form", chromedp.KeyEvent(kb.Enter))
			check(lang, "login with an error")
			do(t, ctx, "clear the form", chromedp.Clear(chromedp.ID("email")), chromedp.Clear(chromedp.ID("password")))
			loginByKeyboard(t, ctx, shopOwner)
		}
		for _, p := range ownerPages(contactID) {
			visit(lang, p)
		}
		for _, p := range flow {
			visit(lang, p)
			screenshot(t, ctx, lang+"-"+p.name)
		}
		// The new key notice, and an error message.
		load(t, ctx, "open /apikeys", chromedp.Navigate(base+"/apikeys"))
		do(t, ctx, "fill the key form",
			chromedp.SendKeys(chromedp.ID("key-name"), "Clé "+lang),
			chromedp.Click(chromedp.CSS(`input[name=scope][value="contacts:read"]`)))
		load(t, ctx, "create a key", chromedp.Submit(chromedp.ID("key-name")))
		if eval[int](t, ctx, `document.querySelectorAll("#new-key").length`) != 1 {
			t.Fatal("no new key shown after creating one")
		}
		check(lang, "apikeys with a new key")
		do(t, ctx, "fill the key form without scope", chromedp.SendKeys(chromedp.ID("key-name"), "Sans portée"))
		load(t, ctx, "create a key without scope", chromedp.Submit(chromedp.ID("key-name")))
		if eval[int](t, ctx, `document.querySelectorAll("[role=alert]").length`) != 1 {
			t.Fatal("no error shown after creating a key without scope")
		}
		check(lang, "apikeys with an error")
	}

	// Dark mode has its own colours: check their contrast too.
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatalf("emulate dark mode: %v", err)
	}
	setLangCookie(t, ctx, base, "en")
	for _, p := range append(append(ownerPages(contactID), flow...), loginPage) {
		visit("en dark", p)
		screenshot(t, ctx, "dark-"+p.name)
	}
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
		t.Fatal(err)
	}

	// Reflow (WCAG 1.4.10): on a 320px-wide screen no page scrolls sideways;
	// a wide table scrolls inside its own box.
	do(t, ctx, "emulate a 320px-wide phone", chromedp.EmulateViewport(320, 640))
	for _, p := range append(append(ownerPages(contactID), flow...), loginPage) {
		visit("en 320px", p)
		screenshot(t, ctx, "narrow-"+p.name)
		if out := eval[[]string](t, ctx, overflowJS); len(out) > 0 {
			t.Errorf("%s at 320px: the page scrolls sideways; these stick out:\n  %s", p.name, strings.Join(out, "\n  "))
		}
	}
	if failed > 0 {
		t.Logf("%d serious or critical accessibility violations", failed)
	}
}

// overflowJS lists the elements that make the page wider than the screen
// (none when the page does not scroll sideways).
const overflowJS = `document.documentElement.scrollWidth <= innerWidth ? [] :
	["page " + document.documentElement.scrollWidth + "px wide for a " + innerWidth + "px screen"].concat(
	[...document.querySelectorAll("body *")]
		.filter(e => e.getBoundingClientRect().right > innerWidth + 1 && !e.closest(".table-wrap"))
		.slice(0, 10).map(e => e.outerHTML.slice(0, 120)))`

var apiKeyRe = regexp.MustCompile(`^\S{20,}$`)

// TestBrowserNoJavaScript uses the admin UI with JavaScript turned off: sign
// in, create an API key with a scope, and read the key, shown once.
func TestBrowserNoJavaScript(t *testing.T) {
	e, _ := browserEnv(t)
	ctx := newChrome(t)
	base := e.srv.URL

	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("turn JavaScript off: %v", err)
	}
	// JavaScript is really off: a page script does not run.
	do(t, ctx, "open a page with a script",
		chromedp.Navigate(`data:text/html,<p id="js">off</p><script>document.getElementById("js").textContent="on"</script>`))
	if s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("js"))); err != nil || s != "off" {
		t.Fatalf("a page script ran (text %q, err %v): JavaScript is not turned off", s, err)
	}

	if st := load(t, ctx, "open the login page", chromedp.Navigate(base+"/login")); st != http.StatusOK {
		t.Fatalf("/login: status %d", st)
	}
	do(t, ctx, "fill the login form",
		chromedp.SendKeys(chromedp.ID("email"), shopOwner),
		chromedp.SendKeys(chromedp.ID("password"), testPassword))
	if st := load(t, ctx, "click Sign in", chromedp.Click(chromedp.CSS(`main form[action="/login"] button[type=submit]`))); st != http.StatusOK {
		t.Fatalf("sign in: status %d", st)
	}
	if p, _ := chromedp.Run(ctx, chromedp.Location()); p != base+"/" {
		t.Fatalf("after signing in the browser is at %s, want %s/", p, base)
	}

	if st := load(t, ctx, "open /apikeys", chromedp.Navigate(base+"/apikeys")); st != http.StatusOK {
		t.Fatalf("/apikeys: status %d", st)
	}
	do(t, ctx, "fill the key form",
		chromedp.SendKeys(chromedp.ID("key-name"), "Export sans JS"),
		chromedp.Click(chromedp.CSS(`input[name=scope][value="contacts:write"]`)))
	if st := load(t, ctx, "click Create", chromedp.Click(chromedp.CSS(`main form[action="/apikeys"] button[type=submit]`))); st != http.StatusOK {
		t.Fatalf("create a key: status %d", st)
	}
	key, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("new-key")))
	if err != nil {
		t.Fatalf("the new key is not on the page: %v", err)
	}
	key = strings.TrimSpace(key)
	if !apiKeyRe.MatchString(key) {
		t.Fatalf("the page shows %q as the new key", key)
	}

	// The key shown is the real one, with the scope ticked in the form.
	keys, err := e.accounts.APIKeys(context.Background(), mustTenant(t, e, "shop"))
	if err != nil {
		t.Fatal(err)
	}
	var created *account.APIKey
	for i := range keys {
		if keys[i].Name == "Export sans JS" {
			created = &keys[i]
		}
	}
	if created == nil || !slices.Equal(created.Scopes, []string{"contacts:write"}) {
		t.Fatalf("created key = %+v, want one named \"Export sans JS\" with scope contacts:write", created)
	}
	api := e.browser()
	if r := api.do("GET", "/api/v1/me", nil, "Authorization", "Bearer "+key); r.status != http.StatusOK || !strings.Contains(r.body, "Export sans JS") {
		t.Fatalf("the key shown does not open the API: %d %s", r.status, r.body)
	}

	// Shown once: the next visit does not show it.
	load(t, ctx, "open /apikeys again", chromedp.Navigate(base+"/apikeys"))
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, key) || !strings.Contains(html, "Export sans JS") {
		t.Fatal("the key list shows the key again, or does not list it")
	}
}
