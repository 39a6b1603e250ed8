package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"avis/internal/audit"
)

// TestHostileAnswers sends what a careless or hostile client sends to the
// survey page and the person's page: a megabyte in a comment, invalid
// UTF-8, forms without their anti-forgery field, and a replay after the
// survey is complete. Each gets a clear page and status in the person's
// language, nothing is stored twice, and the server keeps serving.
func TestHostileAnswers(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	shop := newAnswerShop(t, e, "shop", xssSurvey)
	token, contactID := shop.invite(t, "hostile@example.org", "en")
	p := e.respondent()
	page := p.get("/s/" + token)
	if page.status != http.StatusOK {
		t.Fatalf("survey page: %d", page.status)
	}
	stored := func() int {
		return e.count(`SELECT COUNT(*) FROM response_answers WHERE tenant_id = $1`, shop.tenant.ID)
	}

	for _, c := range []struct {
		name    string
		comment string
		status  int
		want    []string
	}{
		// A megabyte is more than a form may send: refused before it is
		// read, saying the limit of a written answer.
		{"1 MB", strings.Repeat("a", 1<<20), http.StatusRequestEntityTooLarge, []string{"Your answer is too long", "at most 5000 characters", `class="public"`}},
		{"1 MB of markup", strings.Repeat("<script>alert(1)</script>", 1<<20/25+1), http.StatusRequestEntityTooLarge, []string{"at most 5000 characters", `class="public"`}},
		// Under the form's limit but over the field's: said next to the field.
		{"100 KB", strings.Repeat("é", 50_000), http.StatusUnprocessableEntity, []string{`id="q-comment-err"`, "Shorten your answer to at most 5000 characters."}},
		{"invalid UTF-8", "caf\xe9 cr\xe8me", http.StatusUnprocessableEntity, []string{`id="q-comment-err"`, "Your answer holds characters that cannot be saved."}},
		{"NUL", "a\x00b", http.StatusUnprocessableEntity, []string{`id="q-comment-err"`, "Your answer holds characters that cannot be saved."}},
	} {
		t.Run(c.name, func(t *testing.T) {
			post, _ := p.send(page, answers("q_nps", "5", "q_comment", c.comment))
			if post.status != c.status {
				t.Fatalf("status %d, want %d\n%.2000s", post.status, c.status, post.body)
			}
			mustContain(t, c.name, post.body, append(c.want, `<html lang="en">`)...)
			assertSafePage(t, c.name, post)
			if len(post.body) > 200_000 {
				t.Errorf("the answer page is %d bytes: it echoes the megabyte", len(post.body))
			}
			if n := stored(); n != 0 {
				t.Fatalf("%d answers stored from a refused page", n)
			}
			if r := p.get("/s/" + token); r.status != http.StatusOK {
				t.Fatalf("the survey page after %s: %d", c.name, r.status)
			}
		})
	}

	// Forms without their anti-forgery field change nothing.
	t.Run("no anti-forgery field", func(t *testing.T) {
		form := url.Values{}
		for _, m := range hiddenRe.FindAllStringSubmatch(page.body, -1) {
			form.Set(m[1], m[2])
		}
		form.Del("sig")
		form.Set("q_nps", "9")
		if r := p.do("POST", "/s/"+token, form); r.status != http.StatusForbidden || !strings.Contains(r.body, "This form could not be accepted") {
			t.Errorf("survey page: %d", r.status)
		}
		if r := p.do("POST", "/me/"+token+"/correct", url.Values{"first_name": {"Mallory"}, "email": {"mallory@example.org"}}); r.status != http.StatusForbidden {
			t.Errorf("my page's correction: %d", r.status)
		}
		if r := p.do("POST", "/me/"+token+"/erase", url.Values{"confirm": {"yes"}}); r.status != http.StatusForbidden {
			t.Errorf("my page's erasure: %d", r.status)
		}
		owner := e.loggedIn("shop-owner@example.com")
		for path, form := range map[string]url.Values{
			"/journeys":                              {"name": {"Forged"}, "key_0": {"forged"}, "step_0": {"Forged"}},
			"/messaging":                             {"from_name": {"Forged"}},
			"/surveys":                               {"name": {"Forged"}, "default_language": {"fr"}},
			"/contacts/" + contactID + "/erase":      {},
			"/surveys/" + shop.survey.ID + "/public": {"enabled": {"1"}},
		} {
			if r := owner.do("POST", path, form); r.status != http.StatusForbidden {
				t.Errorf("admin %s without its CSRF field: %d", path, r.status)
			}
		}
		if n := stored(); n != 0 {
			t.Fatalf("%d answers stored from forged forms", n)
		}
		if c, err := e.contacts.Get(ctx, audit.System("test"), shop.tenant.ID, contactID); err != nil || c.FirstName != "Jeanne" || c.Email != "hostile@example.org" {
			t.Fatalf("a forged form changed the contact: %+v %v", c, err)
		}
		if n := e.count(`SELECT COUNT(*) FROM journeys WHERE tenant_id = $1`, shop.tenant.ID); n != 1 {
			t.Errorf("%d journeys after a forged form, want 1", n)
		}
	})

	// The survey completed, then its last page replayed: the thank-you
	// page, the first answers kept, one response.
	t.Run("replay after completion", func(t *testing.T) {
		post, thanks := p.send(page, answers("q_nps", "8", "q_comment", "First and only"))
		if post.status != http.StatusSeeOther || !strings.Contains(thanks.body, "Thank you") {
			t.Fatalf("complete: %d", post.status)
		}
		for range 3 {
			r, next := p.send(page, answers("q_nps", "1", "q_comment", "Replayed"))
			if r.status == http.StatusSeeOther {
				r = next
			}
			if r.status != http.StatusOK || !strings.Contains(r.body, "Thank you") || !strings.Contains(r.body, "/me/"+token) {
				t.Fatalf("replay: %d\n%s", r.status, r.body)
			}
		}
		if r := p.get("/s/" + token); !strings.Contains(r.body, "Thank you") {
			t.Fatalf("the link after completion: %d", r.status)
		}
		if n := e.count(`SELECT COUNT(*) FROM responses WHERE tenant_id = $1`, shop.tenant.ID); n != 1 {
			t.Fatalf("%d responses, want 1", n)
		}
		r := storedResponse(t, e, token)
		if *r.Answers["nps"].Number != 8 || r.Answers["comment"].Text != "First and only" {
			t.Fatalf("a replay changed the answers: %+v", r.Answers)
		}
	})
}
