package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"avis/internal/account"
	"avis/internal/audit"
)

// TestJourneysPage creates a journey with its steps, adds one, and shows
// the errors a user can fix in plain words.
func TestJourneysPage(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	b := e.loggedIn("shop-owner@example.com").english()
	if r := b.get("/journeys"); r.status != http.StatusOK || !strings.Contains(r.body, "No journey yet.") {
		t.Fatalf("/journeys: %d", r.status)
	}
	tok := b.csrf("/journeys")
	r := b.post("/journeys", url.Values{"csrf": {tok}, "name": {"Commande en ligne"},
		"key_0": {"order"}, "step_0": {"Commande"}, "key_1": {""}, "step_1": {""}, "key_2": {"delivery"}, "step_2": {"Livraison"}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "Journey created.") {
		t.Fatalf("create: %d\n%s", r.status, r.body)
	}
	js, err := e.journeys.Journeys(ctx, tn.ID)
	if err != nil || len(js) != 1 || len(js[0].Steps) != 2 || js[0].Steps[1].Key != "delivery" {
		t.Fatalf("journeys = %+v, %v; want one with the steps order and delivery (the empty row ignored)", js, err)
	}
	for _, want := range []string{"Commande en ligne", "<code>order</code>", "<code>delivery</code>", "Livraison"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}

	// A key used already, and a key that is not one.
	r = b.post("/journeys", url.Values{"csrf": {tok}, "name": {"Après-vente"}, "key_0": {"delivery"}, "step_0": {"Livraison"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "The step key &#34;delivery&#34; is already used") ||
		!strings.Contains(r.body, `value="Après-vente"`) {
		t.Fatalf("duplicate key: %d\n%s", r.status, r.body)
	}
	r = b.post("/journeys", url.Values{"csrf": {tok}, "name": {"Après-vente"}, "key_0": {"Appel SAV"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "A step key is 1 to 64 lower-case letters") {
		t.Fatalf("invalid key: %d\n%s", r.status, r.body)
	}
	r = b.post("/journeys", url.Values{"csrf": {tok}, "name": {""}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Give a name of 1 to 100 characters.") {
		t.Fatalf("no name: %d\n%s", r.status, r.body)
	}
	if js, _ := e.journeys.Journeys(ctx, tn.ID); len(js) != 1 {
		t.Fatalf("%d journeys after refused creations, want 1", len(js))
	}

	// Add a step; then a duplicate one.
	r = b.post("/journeys/"+js[0].ID+"/steps", url.Values{"csrf": {tok}, "key": {"support-call"}, "name": {"Appel au support"}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "Step added.") || !strings.Contains(r.body, "<code>support-call</code>") {
		t.Fatalf("add step: %d\n%s", r.status, r.body)
	}
	r = b.post("/journeys/"+js[0].ID+"/steps", url.Values{"csrf": {tok}, "key": {"order"}, "name": {"Encore"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "is already used") {
		t.Fatalf("add a duplicate step: %d\n%s", r.status, r.body)
	}
	if js, _ := e.journeys.Journeys(ctx, tn.ID); len(js[0].Steps) != 3 {
		t.Fatalf("%d steps, want 3", len(js[0].Steps))
	}

	// An analyst reads journeys but cannot change them; a viewer cannot
	// read them.
	for _, u := range []struct {
		email string
		role  account.Role
	}{{"analyst@example.com", account.RoleAnalyst}, {"viewer@example.com", account.RoleViewer}} {
		if _, err := e.accounts.CreateUser(ctx, audit.System("test"), tn.ID, u.email, "", testPassword, u.role); err != nil {
			t.Fatal(err)
		}
	}
	an := e.loggedIn("analyst@example.com").english()
	page := an.get("/journeys")
	canRead := page.status == http.StatusOK
	if canRead && strings.Contains(page.body, `action="/journeys"`) {
		t.Error("the page offers an analyst a form to create journeys")
	}
	if r := an.post("/journeys", url.Values{"csrf": {an.csrf("/")}, "name": {"Nope"}}); r.status != http.StatusForbidden {
		t.Errorf("analyst POST /journeys = %d, want 403", r.status)
	}
	if r := e.loggedIn("viewer@example.com").get("/journeys"); r.status != http.StatusForbidden {
		t.Errorf("viewer GET /journeys = %d, want 403", r.status)
	}
}
