package web_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"avis/internal/account"
	"avis/internal/feed"
)

// TestExportsPage: a bad schedule comes back with each problem next to its
// field (in the user's language) and without the password; a good one is
// listed with its next run; the connection test and a run now report a
// server that offers no SFTP in plain words, in the page and in the export
// log; another tenant cannot see it.
func TestExportsPage(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	e.tenant("other", account.RoleOwner)
	srv := startSSH(t)
	fp := ssh.FingerprintSHA256(srv.HostKey.PublicKey())
	b := e.loggedIn("shop-owner@example.com").english()
	if r := b.get("/exports"); r.status != http.StatusOK || !strings.Contains(r.body, "No export yet.") {
		t.Fatalf("/exports: %d", r.status)
	}
	tok := b.csrf("/exports")
	form := url.Values{"csrf": {tok}, "name": {"CRM nightly"}, "kinds": {"responses", "unsubscribes"}, "protocol": {"sftp"},
		"host": {"127.0.0.1"}, "port": {strconv.Itoa(srv.Port)}, "username": {"crm"}, "auth": {"password"},
		"password": {"s3cret-Passw0rd!"}, "folder": {"out"}, "format": {"csv-excel"}, "pattern": {""},
		"cron": {"every night"}, "time_zone": {"Europe/Paris"}, "enabled": {"1"}, "from_now": {"1"}}

	r := b.post("/exports", form)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="x-cron-err"`) || !strings.Contains(r.body, "not valid cron syntax") ||
		!strings.Contains(r.body, `id="x-fp-err"`) || !strings.Contains(r.body, "fingerprint is missing") {
		t.Fatalf("bad cron and no fingerprint: %d\n%s", r.status, r.body)
	}
	if strings.Contains(r.body, "s3cret-Passw0rd!") || !strings.Contains(r.body, `value="CRM nightly"`) {
		t.Fatal("the refused form echoes the password, or loses what was typed")
	}
	// The same problems in French for a French user.
	fr := e.loggedIn("shop-owner@example.com")
	if r := fr.post("/exports", url.Values{"csrf": {fr.csrf("/exports")}, "name": {"x"}, "cron": {"* * * * *"}}); !strings.Contains(r.body, "toutes les 5 minutes") {
		t.Errorf("the French page does not translate the schedule's problem:\n%s", r.body)
	}
	if list, _ := e.exports.List(ctx, tn.ID); len(list) != 0 {
		t.Fatalf("a bad export was saved: %+v", list)
	}

	form.Set("cron", "0 2 * * *")
	form.Set("fingerprint", fp)
	r = b.post("/exports", form)
	if r.status != http.StatusOK || !strings.Contains(r.body, "Export saved.") || strings.Contains(r.body, "s3cret-Passw0rd!") {
		t.Fatalf("create: %d\n%s", r.status, r.body)
	}
	list, err := e.exports.List(ctx, tn.ID)
	if err != nil || len(list) != 1 || list[0].FilePattern != "avis-{what}-{date}-{time}.csv" || list[0].NextRunAt.IsZero() || list[0].Personal {
		t.Fatalf("schedules = %+v, %v", list, err)
	}
	id := list[0].ID
	if !strings.Contains(r.body, "/exports/"+id) || !strings.Contains(r.body, "0 2 * * *") {
		t.Errorf("the list does not show the export with its schedule")
	}

	// Test the connection: the server lets avis in but offers no SFTP.
	r = b.post("/exports/"+id+"/test", url.Values{"csrf": {tok}})
	if r.status != http.StatusBadGateway || !strings.Contains(r.body, "The connection test failed:") || !strings.Contains(r.body, "does not offer SFTP") {
		t.Fatalf("test: %d\n%s", r.status, r.body)
	}
	// Run now, with an unsubscribe to export: the job fails, the export
	// log in the page says why.
	err = e.db.Tx(ctx, func(tx *sql.Tx) error {
		return e.feed.Emit(ctx, tx, tn.ID, feed.Event{Type: feed.ContactUnsubscribed, ObjectID: "c1", ContactID: "c1", ExternalID: "CRM-1"})
	})
	if err != nil {
		t.Fatal(err)
	}
	r = b.post("/exports/"+id+"/run", url.Values{"csrf": {tok}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "An export is queued") {
		t.Fatalf("run now: %d\n%s", r.status, r.body)
	}
	for {
		runs, err := e.exports.Runs(ctx, tn.ID, id, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) > 0 && runs[0].Outcome != "running" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	page := b.get("/exports/" + id)
	if page.status != http.StatusOK || !strings.Contains(page.body, "Export log") || !strings.Contains(page.body, "Failed") ||
		!strings.Contains(page.body, "does not offer SFTP") || !strings.Contains(page.body, "run by hand") {
		t.Fatalf("export page after a failed run: %d\n%s", page.status, page.body)
	}
	if list := b.get("/exports"); !strings.Contains(list.body, "does not offer SFTP") {
		t.Error("the list does not show the last error")
	}

	// Another tenant sees nothing of it.
	o := e.loggedIn("other-owner@example.com").english()
	if r := o.get("/exports/" + id); r.status != http.StatusNotFound {
		t.Errorf("another tenant's GET: %d, want 404", r.status)
	}
	if r := o.post("/exports/"+id+"/run", url.Values{"csrf": {o.csrf("/exports")}}); r.status != http.StatusNotFound {
		t.Errorf("another tenant's run: %d, want 404", r.status)
	}

	r = b.post("/exports/"+id+"/delete", url.Values{"csrf": {tok}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "Export deleted") {
		t.Fatalf("delete: %d", r.status)
	}
}
