package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/db"
	"avis/internal/demo"
	"avis/internal/privacy"
)

// TestRespondentJourney is the "done when" of issue 5, end to end: the demo
// flow (as `make run` seeds it) puts an invitation in the outbox; a person
// reads its link and, in headless Chromium on a phone-sized screen with
// JavaScript off, answers the survey with a comment and the consent to
// publish, sees the thank-you page, opens their own page, downloads their
// data (the JSON holds the comment and their email), stops the emails and
// erases themselves (confirmation, receipt). axe-core finds nothing on any
// of those pages, and afterwards no table, job or log line holds their
// email, name or comment in clear: the raw SQLite files (WAL included) or a
// pg_dump of the PostgreSQL database, the job table and the server log.
func TestRespondentJourney(t *testing.T) {
	axe := axeSource(t)
	ctx := context.Background()
	e := newEnv(t)
	tn, _ := e.tenant("demo", account.RoleOwner)
	flow, err := demo.SeedFlow(ctx, e.journeys, e.surveys, e.dispatch, tn.ID, demo.FlowOptions{AnyHour: true, Reminders: 1})
	if err != nil {
		t.Fatal(err)
	}

	// A new person, with values found nowhere else.
	marker := db.NewID()
	email := "zoe." + marker + "@example.org"
	lastName := "Quennec" + strings.ToUpper(marker[:6])
	commentMarker := db.NewID()
	comment := "Colis arrivé intact " + commentMarker + ", merci au livreur"
	c, err := e.contacts.Create(ctx, audit.System("test"), tn.ID, contact.Input{Email: email, FirstName: "Zoé", LastName: lastName, Language: "fr"})
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.Events(ctx, e.db, e.journeys, e.dispatch, tn.ID, flow.StepKey, []string{c.ID}, time.Now()); err != nil {
		t.Fatal(err)
	}
	token := journeyInvitationToken(t, e, tn.ID, c.ID)

	// The browser: a phone, JavaScript off, downloads into a directory.
	chrome := newChrome(t)
	base := e.srv.URL
	if _, err := chromedp.Call(chrome, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("turn JavaScript off: %v", err)
	}
	do(t, chrome, "open a page with a script",
		chromedp.Navigate(`data:text/html,<p id="js">off</p><script>document.getElementById("js").textContent="on"</script>`))
	if s, err := chromedp.Run(chrome, chromedp.Text(chromedp.ID("js"))); err != nil || s != "off" {
		t.Fatalf("a page script ran (text %q, err %v): JavaScript is not turned off", s, err)
	}
	do(t, chrome, "emulate a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile))
	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(chrome, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	reqs := recordRequests(t, chrome)

	// axe-core runs in a second tab, with JavaScript, over the exact page
	// the phone shows (some are answers to a POST and cannot be opened
	// again): its HTML written into a document of the same origin.
	axeTab, closeAxe := chromedp.NewContext(chrome)
	defer closeAxe()
	// The tab opens with its own context: one with a deadline would close
	// it when the deadline's context ends.
	if err := chromedp.Do(axeTab); err != nil {
		t.Fatalf("open a second tab: %v", err)
	}
	do(t, axeTab, "open the axe tab", chromedp.Navigate(base+"/healthz"), chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile))
	tree, err := chromedp.Call(axeTab, cdppage.GetFrameTree, cdp.Empty{})
	if err != nil {
		t.Fatalf("the axe tab's frame: %v", err)
	}
	axeFrame := tree.FrameTree.Frame.ID
	checked := 0
	check := func(name string, wantStatus, status int64) {
		t.Helper()
		if status != wantStatus {
			t.Fatalf("%s: status %d, want %d", name, status, wantStatus)
		}
		if c := eval[string](t, chrome, `document.cookie`); c != "" {
			t.Errorf("%s: the page set a cookie %q", name, c)
		}
		page := eval[string](t, chrome, `document.documentElement.outerHTML`)
		lang := eval[string](t, chrome, `document.documentElement.lang`)
		if _, err := chromedp.Call(axeTab, cdppage.SetDocumentContent, cdppage.SetDocumentContentParams{FrameID: axeFrame, HTML: "<!doctype html>" + page}); err != nil {
			t.Fatalf("%s: copy the page: %v", name, err)
		}
		for i := 0; !eval[bool](t, axeTab, stylesLoadedJS); i++ {
			if i == 500 {
				t.Fatalf("%s: the copy's stylesheets never loaded", name)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if got := eval[string](t, axeTab, `document.documentElement.lang`); got != lang {
			t.Fatalf("%s: the copy's language is %q, want %q", name, got, lang)
		}
		r := runAxe(t, axeTab, axe)
		if r.Passes == 0 {
			t.Fatalf("%s: axe-core passed no rule: it did not run", name)
		}
		for _, v := range r.Violations {
			t.Errorf("%s: %s", name, v)
		}
		if out := eval[[]string](t, chrome, overflowJS); len(out) > 0 {
			t.Errorf("%s: the page scrolls sideways on the phone:\n  %s", name, strings.Join(out, "\n  "))
		}
		checked++
		screenshot(t, chrome, "journey-"+name)
	}
	text := func() string { return eval[string](t, chrome, `document.body.innerText`) }

	// The survey, page by page.
	st := load(t, chrome, "open the invitation's link", chromedp.Navigate(base+"/s/"+token))
	check("survey page 1", http.StatusOK, st)
	if !strings.Contains(text(), "Recommanderiez-vous notre boutique à un proche ?") {
		t.Fatalf("page 1:\n%s", text())
	}
	do(t, chrome, "tap 9", chromedp.Click(chromedp.CSS(`#q-nps-9 + span`)))
	st = load(t, chrome, "tap Suivant", chromedp.Click(chromedp.CSS(`button[value=next]`)))
	check("survey page 2", http.StatusOK, st)
	do(t, chrome, "tap 5", chromedp.Click(chromedp.CSS(`#q-delivery-4 + span`)))
	do(t, chrome, "type the comment", chromedp.SendKeys(chromedp.ID("q-comment"), comment))
	do(t, chrome, "tick the consent to publish", chromedp.Click(chromedp.CSS(`input[name=consent]`)))
	st = load(t, chrome, "tap Envoyer", chromedp.Click(chromedp.CSS(`button[value=next]`)))
	check("thank-you page", http.StatusOK, st)
	if h := eval[string](t, chrome, `document.querySelector("h1").textContent`); h != "Merci" {
		t.Fatalf("after sending: heading %q", h)
	}
	r := storedResponse(t, e, token)
	if !r.Complete() || *r.Answers["nps"].Number != 9 || r.Answers["comment"].Text != comment {
		t.Fatalf("stored: %+v", r)
	}
	if ok, _ := e.consents.MayPublish(ctx, tn.ID, r.ID); !ok {
		t.Fatal("the consent ticked on the phone was not recorded")
	}

	// Their own page, from the thank-you page.
	st = load(t, chrome, "follow the link to my data", chromedp.Click(chromedp.CSS(`main a[href^="/me/"]`)))
	check("my data", http.StatusOK, st)
	for _, want := range []string{email, lastName, comment, "Livraison"} {
		if !strings.Contains(text(), want) {
			t.Errorf("my data does not show %q", want)
		}
	}

	// The download.
	do(t, chrome, "download my data", chromedp.Click(chromedp.CSS(`a[href*="/export.json"]`)))
	export := waitDownload(t, downloads)
	var x struct {
		Contact map[string]any   `json:"contact"`
		Answers []map[string]any `json:"answers"`
	}
	if err := json.Unmarshal(export, &x); err != nil {
		t.Fatalf("the download is not JSON: %v\n%s", err, export)
	}
	if x.Contact["email"] != email || !bytes.Contains(export, []byte(comment)) || len(x.Answers) == 0 {
		t.Fatalf("the download lacks the email or the comment:\n%s", export)
	}

	// Stop the emails.
	st = load(t, chrome, "stop the emails", chromedp.Click(chromedp.CSS(`form[action*="/unsubscribe"] input[value=email] ~ button`)))
	check("emails stopped", http.StatusOK, st)
	if !strings.Contains(text(), "Vous ne recevrez plus") && !strings.Contains(text(), "ne recevez plus") {
		t.Errorf("the page does not say the emails stopped:\n%s", text())
	}
	reach, err := e.contacts.Reachability(ctx, nil, tn.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}

	// Erase everything: the confirmation, then the receipt.
	st = load(t, chrome, "open the erasure", chromedp.Click(chromedp.CSS(`a[href*="/erase"]`)))
	check("erase confirmation", http.StatusOK, st)
	st = load(t, chrome, "confirm the erasure", chromedp.Click(chromedp.CSS(`button.danger`)))
	check("erasure receipt", http.StatusOK, st)
	if h := eval[string](t, chrome, `document.querySelector("h1").textContent`); !strings.Contains(h, "effacées") {
		t.Errorf("receipt heading %q", h)
	}
	if strings.Contains(text(), email) || strings.Contains(text(), lastName) {
		t.Error("the receipt shows personal data")
	}
	st = load(t, chrome, "open my page again", chromedp.Navigate(base+"/me/"+token))
	check("my data after erasure", http.StatusGone, st)
	if checked < 8 {
		t.Fatalf("only %d pages checked", checked)
	}
	if bad := foreign(reqs.all(), base); len(bad) > 0 {
		t.Errorf("the pages made requests elsewhere than %s:\n%s", base, strings.Join(bad, "\n"))
	}
	if _, err := e.contacts.Exists(ctx, tn.ID, c.ID); err == nil {
		t.Fatal("the contact is still there")
	}
	if sup, _, _ := privacy.Suppressed(ctx, e.db.R, tn.ID, reach.EmailIndex); !sup {
		t.Error("the unsubscribed address is no longer suppressed after erasure")
	}

	// Nothing in clear anywhere. A value stored in clear (the survey's
	// name) proves the search reads the data.
	secrets := map[string]string{"email": email, "last name": lastName, "comment": commentMarker}
	raw := rawDatabase(t, e)
	if !bytes.Contains(raw, []byte("Après la livraison")) {
		t.Fatalf("the raw database does not hold the survey's name: the search would find nothing (%d bytes)", len(raw))
	}
	jobs := jobTable(t, e)
	if !strings.Contains(jobs, tn.ID) {
		t.Fatalf("the job table holds no job of the tenant: the search would find nothing:\n%.500s", jobs)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "/s/{token}") {
		t.Fatal("the server log holds no request of the survey page: the search would find nothing")
	}
	for what, v := range secrets {
		if bytes.Contains(bytes.ToLower(raw), bytes.ToLower([]byte(v))) {
			t.Errorf("the raw database holds the person's %s in clear", what)
		}
		if strings.Contains(strings.ToLower(jobs), strings.ToLower(v)) {
			t.Errorf("the job table holds the person's %s", what)
		}
		if strings.Contains(strings.ToLower(logs), strings.ToLower(v)) {
			t.Errorf("the server log holds the person's %s", what)
		}
	}
}

// journeyInvitationToken runs the dispatcher until the contact's invitation
// is in the outbox and returns the token of its survey link.
func journeyInvitationToken(t *testing.T, e *env, tenantID, contactID string) string {
	t.Helper()
	ctx := context.Background()
	for range 1000 {
		if _, err := e.dispatch.RunDue(ctx, tenantID); err != nil {
			t.Fatal(err)
		}
		box, err := e.dispatch.Outbox(ctx, tenantID, "", 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range box {
			if m.ContactID != contactID {
				continue
			}
			msg, err := e.dispatch.OutboxMessage(ctx, audit.System("test"), tenantID, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			l := surveyLinkRe.FindStringSubmatch(decodeQP(string(msg.Raw)))
			if l == nil {
				t.Fatalf("no survey link in the invitation:\n%s", msg.Raw)
			}
			return l[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the invitation never reached the outbox")
	return ""
}

// waitDownload waits for the browser to finish a download into dir and
// returns the file.
func waitDownload(t *testing.T, dir string) []byte {
	t.Helper()
	for range 500 {
		entries, _ := os.ReadDir(dir)
		for _, en := range entries {
			if strings.HasSuffix(en.Name(), ".json") {
				b, err := os.ReadFile(filepath.Join(dir, en.Name()))
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	entries, _ := os.ReadDir(dir)
	t.Fatalf("no JSON file was downloaded (directory: %v)", entries)
	return nil
}

// stylesLoadedJS is true once every stylesheet of the page is loaded.
const stylesLoadedJS = `document.readyState === "complete" &&
	document.styleSheets.length === document.querySelectorAll("link[rel=stylesheet]").length`

// rawDatabase returns the database as stored: on SQLite the main file and
// its write-ahead log after a checkpoint (deleted rows stay in free pages
// and old WAL frames: they count); on PostgreSQL a pg_dump of the test's
// database.
func rawDatabase(t *testing.T, e *env) []byte {
	t.Helper()
	ctx := context.Background()
	if e.db.Dialect == db.SQLite {
		if _, err := e.db.W.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
			t.Fatal(err)
		}
		var all []byte
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			b, err := os.ReadFile(e.db.Path + suffix)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		if len(all) == 0 {
			t.Fatalf("no database file at %s", e.db.Path)
		}
		return all
	}
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump")
	if len(bins) == 0 {
		t.Fatal("no pg_dump next to the PostgreSQL server (/usr/lib/postgresql/*/bin)")
	}
	sort.Strings(bins)
	var name string
	if err := e.db.R.QueryRowContext(ctx, `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(os.Getenv("AVIS_TEST_POSTGRES_URL"))
	if err != nil {
		t.Fatalf("AVIS_TEST_POSTGRES_URL: %v", err)
	}
	u.Path = "/" + name
	var out, stderr bytes.Buffer
	cmd := exec.Command(bins[len(bins)-1], "--no-owner", "--dbname", u.String())
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, stderr.String())
	}
	return out.Bytes()
}

// jobTable returns every job of the queue as text: kind, arguments,
// metadata and errors.
func jobTable(t *testing.T, e *env) string {
	t.Helper()
	q := `SELECT kind || ' ' || json(args) || ' ' || json(metadata) || ' ' || COALESCE(json(errors), '') FROM river_job`
	if e.db.Dialect == db.Postgres {
		q = `SELECT row_to_json(j)::text FROM river_job j`
	}
	rows, err := e.db.R.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		b.WriteString(s)
		b.WriteByte('\n')
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
