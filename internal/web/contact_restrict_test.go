package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/i18n"
)

// TestContactRestriction: an owner restricts a contact's processing from
// its page (GDPR Art. 18), the page says so, the audit log records it, and
// lifting it puts the page back.
func TestContactRestriction(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tn, owner := e.tenant("shop", account.RoleOwner)
	c, err := e.contacts.Create(ctx, audit.System("test"), tn.ID, contact.Input{Email: "held@example.org", FirstName: "Hélène"})
	if err != nil {
		t.Fatal(err)
	}
	b := e.loggedIn(owner.Email)
	cat := i18n.MustLoad()
	page := "/contacts/" + c.ID
	if r := b.get(page); r.status != http.StatusOK || !strings.Contains(r.body, `name="restrict" value="1"`) {
		t.Fatalf("contact page: %d, no restrict button", r.status)
	}
	r := b.post(page+"/restrict", url.Values{"csrf": {b.csrf(page)}, "restrict": {"1"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("restrict: %d", r.status)
	}
	r = b.get(r.header.Get("Location"))
	if r.status != http.StatusOK || strings.Contains(r.body, `name="restrict" value="1"`) ||
		!strings.Contains(r.body, cat.T("fr", "Lift the restriction")) {
		t.Fatalf("after restricting: %d\n%s", r.status, r.body)
	}
	if at, err := e.contacts.Restriction(ctx, tn.ID, c.ID); err != nil || at.IsZero() {
		t.Fatalf("restriction = %v, %v", at, err)
	}
	if r := b.post(page+"/restrict", url.Values{"csrf": {b.csrf(page)}}); r.status != http.StatusSeeOther {
		t.Fatalf("lift: %d", r.status)
	}
	if at, _ := e.contacts.Restriction(ctx, tn.ID, c.ID); !at.IsZero() {
		t.Fatalf("still restricted since %v", at)
	}
	entries, err := e.audit.List(ctx, tn.ID, audit.Filter{ObjectID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, en := range entries {
		if en.Action == "contact.restrict" || en.Action == "contact.unrestrict" {
			seen = append(seen, en.Action)
		}
	}
	if len(seen) != 2 {
		t.Errorf("audit entries for the restriction: %v", seen)
	}
}
