package web_test

import (
	"context"
	"net/http"
	"testing"

	"avis/internal/audit"
	"avis/internal/privacy"
)

// TestSurveyPageNotice: the survey page carries the information notice in
// the page's language, with its contacts linked and a link to its full
// text, and shows the new version as soon as the company changes its
// privacy profile (the page keeps each notice version rendered).
func TestSurveyPageNotice(t *testing.T) {
	e := newEnv(t)
	shop := newAnswerShop(t, e, "shop", answerSurvey)
	token, _ := shop.invite(t, "jeanne@example.org", "fr")
	p := e.respondent()
	path := "/s/" + token

	for range 2 { // rendered, then from the cache
		page := p.get(path)
		if page.status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, page.status)
		}
		mustContain(t, "French notice", page.body, `<details class="notice-text"><summary>Qui vous interroge et pourquoi</summary>`,
			"Company shop", `<a href="mailto:dpo@avis.example">dpo@avis.example</a>`, "autorité de contrôle",
			`/legal/`+shop.tenant.ID+`/notice?v=`)
		mustNotContain(t, "French notice", page.body, "supervisory authority", "dpo@shop.example")
	}
	page := p.get(path + "?lang=en")
	mustContain(t, "English notice", page.body, "<summary>Who asks and why</summary>", "supervisory authority", "Company shop")
	mustNotContain(t, "English notice", page.body, "autorité de contrôle")

	// The company names its own data-protection contact: the next page
	// shows the new notice.
	if _, err := e.notices.SaveProfile(context.Background(), audit.System("test"), privacy.Profile{TenantID: shop.tenant.ID,
		LegalName: "Boutique Lumière SARL", Address: "12 place du Marché\n69002 Lyon", DPOEmail: "dpo@shop.example",
		RetentionMonths: 24, Authority: privacy.DefaultAuthority}); err != nil {
		t.Fatal(err)
	}
	page = p.get(path)
	mustContain(t, "new notice", page.body, "Boutique Lumière SARL", `<a href="mailto:dpo@shop.example">dpo@shop.example</a>`, "autorité de contrôle")
}
