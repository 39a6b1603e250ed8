package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/dispatch"
	"avis/internal/response"
)

// These tests drive headless Chromium over the survey page as the people
// who answer see it: axe-core on every page, the keyboard alone, and
// JavaScript turned off on a phone-sized screen.

// surveyBrowserEnv is a shop with the two-page survey, its public link on.
func surveyBrowserEnv(t *testing.T) (*env, *answerShop) {
	t.Helper()
	e := newEnv(t)
	shop := newAnswerShop(t, e, "shop", answerSurvey)
	if err := e.responses.SetPublicLink(context.Background(), audit.System("test"), shop.tenant.ID, shop.survey.ID, true); err != nil {
		t.Fatal(err)
	}
	return e, shop
}

// storedResponse returns the one response of an invitation token.
func storedResponse(t *testing.T, e *env, token string) response.Response {
	t.Helper()
	ctx := context.Background()
	tid, inv, err := e.dispatch.ByToken(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.responses.ByInvitation(ctx, tid, inv.ID)
	if err != nil {
		t.Fatalf("no response stored: %v", err)
	}
	return r
}

// TestBrowserSurveyAccessibility runs axe-core on every page a person
// meets: both pages of the survey (with and without errors), the comment
// revealed, the thank-you page, the public link, and the pages of an
// unknown, an expired and a forged link; in light and dark mode, and
// checks that nothing scrolls sideways on a 320px screen. Any violation
// fails.
func TestBrowserSurveyAccessibility(t *testing.T) {
	axe := axeSource(t)
	e, shop := surveyBrowserEnv(t)
	expired, _ := shop.invite(t, "late@example.org", "en")
	if _, err := e.db.W.Exec(`UPDATE invitations SET expires_at = $1 WHERE token_hash = $2`, db.Stamp(time.Now().Add(-time.Hour)), dispatch.TokenHash(expired)); err != nil {
		t.Fatal(err)
	}
	ctx := newChrome(t)
	reqs := recordRequests(t, ctx)
	base := e.srv.URL
	checked := 0
	check := func(name string, wantStatus, status int64) {
		t.Helper()
		if status != wantStatus {
			t.Fatalf("%s: status %d, want %d", name, status, wantStatus)
		}
		r := runAxe(t, ctx, axe)
		if r.Passes == 0 {
			t.Fatalf("%s: axe-core passed no rule: it did not run", name)
		}
		for _, v := range r.Violations {
			t.Errorf("%s: %s", name, v)
		}
		if out := eval[[]string](t, ctx, overflowJS); len(out) > 0 {
			t.Errorf("%s: the page scrolls sideways; these stick out:\n  %s", name, strings.Join(out, "\n  "))
		}
		checked++
		screenshot(t, ctx, "survey-"+name)
	}
	walk := func(mode string) {
		t.Helper()
		token, _ := shop.invite(t, mode+"@example.org", "fr")
		st := load(t, ctx, "open the survey", chromedp.Navigate(base+"/s/"+token))
		check(mode+" page 1", 200, st)
		st = load(t, ctx, "send page 1 empty", chromedp.Click(chromedp.CSS(`button[value=next]`)))
		check(mode+" page 1 with an error", 422, st)
		if n := eval[int](t, ctx, `document.querySelectorAll("[role=alert] a[href='#q-nps-0']").length`); n != 1 {
			t.Fatal("no error summary linking to the NPS question")
		}
		do(t, ctx, "choose 3", chromedp.Click(chromedp.CSS(`#q-nps-3 + span`)))
		st = load(t, ctx, "send page 1", chromedp.Click(chromedp.CSS(`button[value=next]`)))
		check(mode+" page 1 with the comment", 200, st)
		do(t, ctx, "type a comment", chromedp.SendKeys(chromedp.ID("q-why"), "Colis abîmé"))
		st = load(t, ctx, "send page 1 again", chromedp.Click(chromedp.CSS(`button[value=next]`)))
		check(mode+" page 2", 200, st)
		st = load(t, ctx, "send page 2 empty", chromedp.Click(chromedp.CSS(`button[value=next]`)))
		check(mode+" page 2 with an error", 422, st)
		do(t, ctx, "open the notice", chromedp.Click(chromedp.CSS(`details.notice-text summary`)))
		check(mode+" page 2 with the notice open", 422, 422)
		do(t, ctx, "choose 4", chromedp.Click(chromedp.CSS(`#q-delivery-3 + span`)))
		st = load(t, ctx, "send page 2", chromedp.Click(chromedp.CSS(`button[value=next]`)))
		check(mode+" thank-you page", 200, st)
		st = load(t, ctx, "open an unknown link", chromedp.Navigate(base+"/s/"+strings.Repeat("Q", 22)))
		check(mode+" unknown link", 404, st)
		st = load(t, ctx, "open an expired link", chromedp.Navigate(base+"/s/"+expired))
		check(mode+" expired link", 410, st)
		st = load(t, ctx, "open the public link", chromedp.Navigate(base+"/s/p/"+shop.survey.ID))
		check(mode+" public link", 200, st)
		// A forged form: the page's signature changed before sending.
		do(t, ctx, "forge the form", chromedp.SetAttributeValue(chromedp.CSS(`input[name=sig]`), "value", "forged"))
		st = load(t, ctx, "send the forged form", chromedp.Click(chromedp.CSS(`button[value=next]`)))
		check(mode+" forged form", 403, st)
	}
	do(t, ctx, "emulate a 320px-wide phone", chromedp.EmulateViewport(320, 640))
	walk("light")
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatalf("emulate dark mode: %v", err)
	}
	walk("dark")
	if checked < 20 {
		t.Fatalf("only %d pages checked", checked)
	}
	if bad := foreign(reqs.all(), base); len(bad) > 0 {
		t.Errorf("the survey pages made requests elsewhere than %s:\n%s", base, strings.Join(bad, "\n"))
	}
}

// TestBrowserSurveyKeyboard answers the survey with the keyboard alone:
// Tab to move, Space to choose, arrows along a scale, Enter to send.
func TestBrowserSurveyKeyboard(t *testing.T) {
	e, shop := surveyBrowserEnv(t)
	token, _ := shop.invite(t, "clavier@example.org", "en")
	ctx := newChrome(t)
	base := e.srv.URL
	if st := load(t, ctx, "open the survey", chromedp.Navigate(base+"/s/"+token)); st != http.StatusOK {
		t.Fatalf("status %d", st)
	}
	// The skip link comes first and takes the focus to the content.
	if a := tabUntil(t, ctx, "skip link", func(activeElement) bool { return true }); a.Href != "#main" {
		t.Fatalf("first Tab stop is <%s href=%q>, want the skip link", a.Tag, a.Href)
	}
	do(t, ctx, "press Enter on the skip link", chromedp.KeyEvent(kb.Enter))
	// The NPS scale: Tab into it, Space chooses 0, arrows move to 9.
	tabUntil(t, ctx, "the NPS scale", func(a activeElement) bool { return a.ID == "q-nps-0" })
	do(t, ctx, "choose 0", chromedp.KeyEvent(" "))
	for range 9 {
		do(t, ctx, "arrow right", chromedp.KeyEvent(kb.ArrowRight))
	}
	if a := focused(t, ctx); a.ID != "q-nps-9" {
		t.Fatalf("after nine arrows the focus is on %q, want q-nps-9", a.ID)
	}
	tabUntil(t, ctx, "the Next button", func(a activeElement) bool { return a.Tag == "button" && a.Text == "Next" })
	if st := load(t, ctx, "press Enter on Next", chromedp.KeyEvent(kb.Enter)); st != http.StatusOK {
		t.Fatalf("page 1 sent: status %d", st)
	}
	if s := eval[string](t, ctx, `document.getElementById("progress-label").textContent`); s != "Page 2 of 2" {
		t.Fatalf("after page 1: %q", s)
	}
	tabUntil(t, ctx, "the CSAT scale", func(a activeElement) bool { return a.ID == "q-delivery-0" })
	do(t, ctx, "choose 1", chromedp.KeyEvent(" "))
	for range 3 {
		do(t, ctx, "arrow right", chromedp.KeyEvent(kb.ArrowRight))
	}
	tabUntil(t, ctx, "the first choice", func(a activeElement) bool { return a.ID == "q-liked-0" })
	do(t, ctx, "tick the price", chromedp.KeyEvent(" "))
	tabUntil(t, ctx, "yes", func(a activeElement) bool { return a.ID == "q-again-0" })
	do(t, ctx, "choose yes", chromedp.KeyEvent(" "))
	tabUntil(t, ctx, "the consent box", func(a activeElement) bool { return a.Tag == "input" && a.ID == "" })
	do(t, ctx, "tick the consent", chromedp.KeyEvent(" "))
	tabUntil(t, ctx, "the Send button", func(a activeElement) bool { return a.Tag == "button" && a.Text == "Send my answers" })
	if st := load(t, ctx, "press Enter on Send", chromedp.KeyEvent(kb.Enter)); st != http.StatusOK {
		t.Fatalf("page 2 sent: status %d", st)
	}
	if h := eval[string](t, ctx, `document.querySelector("h1").textContent`); h != "Thank you" {
		t.Fatalf("after sending: heading %q", h)
	}
	r := storedResponse(t, e, token)
	if !r.Complete() || *r.Answers["nps"].Number != 9 || *r.Answers["delivery"].Number != 4 || len(r.Answers["liked"].Choices) != 1 ||
		r.Answers["liked"].Choices[0] != "price" || !*r.Answers["again"].Bool {
		t.Fatalf("stored by keyboard: %+v", r)
	}
	if ok, _ := e.consents.MayPublish(context.Background(), shop.tenant.ID, r.ID); !ok {
		t.Fatal("the consent ticked with Space was not recorded")
	}
}

// TestBrowserSurveyNoJavaScript answers the survey on a phone-sized
// screen with JavaScript turned off: the comment question appears after
// the score is sent, Previous keeps the answers, and the response is
// stored.
func TestBrowserSurveyNoJavaScript(t *testing.T) {
	e, shop := surveyBrowserEnv(t)
	token, _ := shop.invite(t, "sansjs@example.org", "fr")
	ctx := newChrome(t)
	base := e.srv.URL
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("turn JavaScript off: %v", err)
	}
	do(t, ctx, "open a page with a script",
		chromedp.Navigate(`data:text/html,<p id="js">off</p><script>document.getElementById("js").textContent="on"</script>`))
	if s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("js"))); err != nil || s != "off" {
		t.Fatalf("a page script ran (text %q, err %v): JavaScript is not turned off", s, err)
	}
	do(t, ctx, "emulate a phone", chromedp.EmulateViewport(375, 667))

	if st := load(t, ctx, "open the survey", chromedp.Navigate(base+"/s/"+token)); st != http.StatusOK {
		t.Fatalf("status %d", st)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#q-why").length`); n != 0 {
		t.Fatal("the comment question shows before the score")
	}
	do(t, ctx, "tap 2", chromedp.Click(chromedp.CSS(`#q-nps-2 + span`)))
	load(t, ctx, "tap Suivant", chromedp.Click(chromedp.CSS(`button[value=next]`)))
	do(t, ctx, "type the comment", chromedp.SendKeys(chromedp.ID("q-why"), "Livraison en retard"))
	load(t, ctx, "tap Suivant", chromedp.Click(chromedp.CSS(`button[value=next]`)))
	do(t, ctx, "tap 5", chromedp.Click(chromedp.CSS(`#q-delivery-4 + span`)))
	load(t, ctx, "tap Précédent", chromedp.Click(chromedp.CSS(`button[value=back]`)))
	if v := eval[string](t, ctx, `document.getElementById("q-why").value`); v != "Livraison en retard" {
		t.Fatalf("back on page 1 the comment is %q", v)
	}
	load(t, ctx, "tap Suivant", chromedp.Click(chromedp.CSS(`button[value=next]`)))
	if !eval[bool](t, ctx, `document.getElementById("q-delivery-4").checked`) {
		t.Fatal("the answer of page 2 was lost going back")
	}
	if st := load(t, ctx, "tap Envoyer", chromedp.Click(chromedp.CSS(`button[value=next]`))); st != http.StatusOK {
		t.Fatalf("send: status %d", st)
	}
	if h := eval[string](t, ctx, `document.querySelector("h1").textContent`); h != "Merci" {
		t.Fatalf("after sending: heading %q", h)
	}
	r := storedResponse(t, e, token)
	if !r.Complete() || *r.Answers["nps"].Number != 2 || r.Answers["why"].Text != "Livraison en retard" || *r.Answers["delivery"].Number != 5 {
		t.Fatalf("stored without JavaScript: %+v", r)
	}
	if ok, _ := e.consents.MayPublish(context.Background(), shop.tenant.ID, r.ID); ok {
		t.Fatal("a consent was recorded without the box ticked")
	}
}
