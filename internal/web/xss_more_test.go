package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/contact"
)

// TestXSSTenantFileSMS takes the hostile corpus (testdata/xss) to the
// places TestXSSCorpus leaves: a tenant's name (the admin header and
// tenant picker, the public notice and my-data request pages), a contact
// file's header and cells (the upload's preview, the import's report),
// and SMS texts (the rule page and its preview for a contact named with a
// payload). No page may turn any of it into markup, and each page shows
// the value it holds.
func TestXSSTenantFileSMS(t *testing.T) {
	ctx := context.Background()
	payloads := loadPayloads(t)
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	owner := e.loggedIn("shop-owner@example.com")

	t.Run("tenant names", func(t *testing.T) {
		anon := e.browser()
		made := 0
		var ids []string
		first := ""
		for i, p := range payloads {
			tag := xssTag(i)
			other, err := e.accounts.CreateTenant(ctx, audit.System("test"), "x"+strconv.Itoa(i), tag+"T "+p)
			if err != nil {
				continue // refused (control characters, too long): never shown
			}
			made++
			ids = append(ids, other.ID)
			if first == "" {
				first = tag + "T "
			}
			if _, err := e.accounts.CreateUser(ctx, audit.System("test"), other.ID, "shop-owner@example.com", "", "", account.RoleOwner); err != nil {
				t.Fatal(err)
			}
			assertSafePage(t, fmt.Sprintf("notice of tenant %d", i), anon.get("/legal/"+other.ID+"/notice"), tag+"T ")
			assertSafePage(t, fmt.Sprintf("my-data request page of tenant %d", i), anon.get("/me/request/"+other.ID), tag+"T ")
		}
		if made < len(payloads)/2 {
			t.Fatalf("only %d of %d tenant names were accepted", made, len(payloads))
		}
		// The picker lists them all; each one's admin pages name it.
		assertSafePage(t, "tenant picker", owner.get("/tenants"), first)
		for i, id := range ids {
			if i%7 != 0 {
				continue
			}
			if r := owner.post("/tenants/switch", map[string][]string{"tenant": {id}}); r.status != http.StatusSeeOther {
				t.Fatalf("switch to tenant %s: %d", id, r.status)
			}
			assertSafePage(t, "home of a hostile-named tenant", owner.get("/contacts"), "T ")
		}
		if r := owner.post("/tenants/switch", map[string][]string{"tenant": {tn.ID}}); r.status != http.StatusSeeOther {
			t.Fatalf("switch back: %d", r.status)
		}
	})

	t.Run("contact file", func(t *testing.T) {
		// A header of payloads, and rows whose names, emails and a
		// segment column are payloads.
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Comma = ';'
		w.Write([]string{"email", "prenom", "nom", xssTag(0) + "H " + payloads[1]})
		for i, p := range payloads {
			if !textual(p) {
				continue // a file with control characters is refused whole (TestImportRefusesBinary)
			}
			tag := xssTag(i)
			w.Write([]string{fmt.Sprintf("file%d@example.org", i), tag + "F " + p, tag + "L", tag + "A " + p})
			w.Write([]string{tag + "E " + p, "Bad", "Row", ""}) // an email that is no address: a reject that names it
		}
		w.Flush()
		owner.english() // the import's counts are read by their English labels
		up := owner.upload("hostile.csv", buf.Bytes())
		loc := up.header.Get("Location")
		if up.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/uploads/") {
			t.Fatalf("upload: %d %q\n%s", up.status, loc, up.body)
		}
		pv := owner.get(loc)
		if pv.status != http.StatusOK {
			t.Fatalf("preview: %d\n%s", pv.status, shownText(pv.body))
		}
		assertSafePage(t, "upload preview", pv, xssTag(0)+"H ", xssTag(0)+"F ")
		form := hiddenFields(pv.body)
		for i, f := range []string{"email", "first_name", "last_name", "new"} {
			form.Set("field_"+strconv.Itoa(i), f)
		}
		form.Set("attr_3", "segment")
		form.Set("region", "FR")
		id := strings.TrimPrefix(strings.SplitN(loc, "?", 2)[0], "/uploads/")
		run := owner.do("POST", "/uploads/"+id+"/run", form)
		if run.status != http.StatusSeeOther {
			t.Fatalf("run: %d\n%s", run.status, run.body)
		}
		body, counts := waitImport(t, owner, run.header.Get("Location"))
		if counts["Created"] < len(payloads)/2 || counts["Rejected"] < len(payloads)/2 {
			t.Errorf("import counts %v", counts)
		}
		assertSafePage(t, "import report", resp{http.StatusOK, body, owner.get(run.header.Get("Location")).header})
		list := xssAllPages(t, owner, "/contacts")
		assertSafePage(t, "contacts after the import", list, xssTag(1)+"F ")
		page, err := e.contacts.List(ctx, audit.System("test"), tn.ID, "", 5)
		if err != nil || len(page.Contacts) == 0 {
			t.Fatalf("contacts: %v", err)
		}
		for _, c := range page.Contacts {
			assertSafePage(t, "contact page", owner.get("/contacts/"+c.ID))
		}
	})

	t.Run("SMS texts", func(t *testing.T) {
		r := owner.post("/journeys", map[string][]string{"name": {"Commande"}, "key_0": {"sms"}, "step_0": {"Livraison"}})
		m := stepRuleRe.FindStringSubmatch(r.body)
		if m == nil {
			js, _ := e.journeys.Journeys(ctx, tn.ID)
			t.Fatalf("no rule link (%d journeys):\n%.300s", len(js), r.body)
		}
		step := m[1]
		sm := surveyIDRe.FindStringSubmatch(owner.post("/surveys", map[string][]string{"name": {"S"}, "default_language": {"fr"}}).header.Get("Location"))
		if sm == nil {
			t.Fatal("no survey")
		}
		c, err := e.contacts.Create(ctx, audit.System("test"), tn.ID, contact.Input{Phone: "+33612345678", FirstName: xssTag(2) + "P " + payloads[2], Language: "fr"})
		if err != nil {
			t.Fatal(err)
		}
		shown := 0
		for i, p := range payloads {
			tag := xssTag(i)
			f := ruleForm(sm[1])
			f.Set("channels", "sms")
			f.Set("sms_fr", tag+"S "+p+" {{first_name}} {{survey_link}}")
			f.Set("contact", c.ID)
			r := owner.post("/steps/"+step+"/rule/preview", f)
			if r.status != http.StatusOK && r.status != http.StatusUnprocessableEntity {
				t.Errorf("payload %d: status %d", i, r.status)
			}
			assertSafePage(t, fmt.Sprintf("rule preview, SMS payload %d", i), r, tag+"S ")
			if i == 0 && r.status != http.StatusOK {
				t.Logf("payload 0: %s", shownText(r.body))
			}
			if r.status == http.StatusOK {
				shown++
				if !strings.Contains(shownText(r.body), xssTag(2)+"P ") {
					t.Errorf("payload %d: the preview does not show the contact's name", i)
				}
			}
		}
		if shown < len(payloads)/2 {
			t.Errorf("only %d of %d SMS texts previewed", shown, len(payloads))
		}
	})
}

// textual reports whether s is valid UTF-8 without control characters
// other than tab, line feed and carriage return: what a text file holds.
func textual(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f {
			return false
		}
	}
	return true
}
