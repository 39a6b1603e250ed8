package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"avis/internal/audit"
	"avis/internal/crmsync"
	"avis/internal/crmsync/sftptest"
)

// TestCRMDoneWhen is the "done when" of flow 4: an owner adds a webhook
// and an SFTP export in the UI; a customer answers a survey; the signed
// webhook arrives with the response; the next export puts its row in a
// CSV file on the CRM's server (written whole: no .part left); and a CRM
// script pulling with the cursor gets every response exactly once, then
// nothing more.
func TestCRMDoneWhen(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	shop := newAnswerShop(t, e, "shop", fiveQuestions)
	rcv := newHookReceiver(t)
	drop, err := sftptest.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drop.Close() })
	if err := os.Mkdir(filepath.Join(drop.Dir, "out"), 0o700); err != nil {
		t.Fatal(err)
	}
	b := e.loggedIn("shop-owner@example.com").english()

	// The webhook, in the UI.
	r := b.post("/webhooks", url.Values{"csrf": {b.csrf("/webhooks")}, "url": {rcv.srv.URL + "/crm"}, "description": {"CRM"},
		"enabled": {"1"}, "events": {"response.completed"}})
	m := secretRe.FindStringSubmatch(html.UnescapeString(r.body))
	if r.status != http.StatusCreated || m == nil {
		t.Fatalf("add the webhook: %d\n%s", r.status, r.body)
	}
	rcv.mu.Lock()
	rcv.secret = m[1]
	rcv.mu.Unlock()

	// The export, in the UI.
	r = b.post("/exports", url.Values{"csrf": {b.csrf("/exports")}, "name": {"CRM nightly"}, "kinds": {"responses"}, "protocol": {"sftp"},
		"host": {"127.0.0.1"}, "port": {strconv.Itoa(drop.Port)}, "username": {drop.User}, "auth": {"password"},
		"password": {drop.Password}, "fingerprint": {drop.Fingerprint()}, "folder": {"out"}, "format": {crmsync.FormatCSV},
		"pattern": {""}, "cron": {"0 2 * * *"}, "time_zone": {"Europe/Paris"}, "enabled": {"1"}, "from_now": {"1"}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "Export saved.") {
		t.Fatalf("add the export: %d\n%s", r.status, r.body)
	}
	list, err := e.exports.List(ctx, shop.tenant.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("export schedules: %v %v", list, err)
	}

	// A customer answers.
	token, _ := shop.inviteExternal(t, "lea@example.org", "CRM-42")
	answerFive(t, e, token, "9", "")

	// The signed webhook.
	hit := rcv.waitHits(1)[0]
	var data struct {
		ResponseID string `json:"response_id"`
		ExternalID string `json:"external_id"`
		Status     string `json:"status"`
	}
	if err := json.Unmarshal(hit.Data, &data); err != nil {
		t.Fatal(err)
	}
	if hit.Type != "response.completed" || !hit.verified || data.ExternalID != "CRM-42" || data.Status != "complete" || data.ResponseID == "" {
		t.Fatalf("webhook: %s verified=%v %s", hit.Type, hit.verified, hit.Data)
	}

	// The person's own data export names the CRM that received their
	// answers (its host only).
	// (The delivery log records a batch once it is sent.)
	want := `"recipient": "` + strings.TrimPrefix(rcv.srv.URL, "http://") + `"`
	for deadline := time.Now().Add(30 * time.Second); ; {
		r := e.respondent().get("/me/" + token + "/export.json")
		if r.status == http.StatusOK && strings.Contains(r.body, want) && strings.Contains(r.body, `"response.completed"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the person's export does not name the webhook's recipient: %d\n%s", r.status, r.body)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The next export: its row in a whole file.
	if r := b.post("/exports/"+list[0].ID+"/run", url.Values{"csrf": {b.csrf("/exports")}}); r.status != http.StatusOK {
		t.Fatalf("run now: %d\n%s", r.status, r.body)
	}
	var rows [][]string
	deadline := time.Now().Add(30 * time.Second) // a safety net for a hung job, not a speed check
	for rows == nil {
		if time.Now().After(deadline) {
			runs, _ := e.exports.Runs(ctx, shop.tenant.ID, list[0].ID, 5)
			t.Fatalf("no export file; runs: %+v", runs)
		}
		files, _ := filepath.Glob(filepath.Join(drop.Dir, "out", "*.csv"))
		if len(files) == 1 {
			f, err := os.Open(files[0])
			if err != nil {
				t.Fatal(err)
			}
			rows, err = csv.NewReader(f).ReadAll()
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if parts, _ := filepath.Glob(filepath.Join(drop.Dir, "out", "*.part")); len(parts) != 0 {
		t.Errorf("a half-written file is left: %v", parts)
	}
	if len(rows) != 2 || !strings.Contains(strings.Join(rows[1], ","), data.ResponseID) || !strings.Contains(strings.Join(rows[1], ","), "CRM-42") {
		t.Fatalf("export file: %v", rows)
	}

	// A CRM script pulls every response with the cursor, one at a time.
	key, _, err := e.accounts.CreateAPIKey(ctx, audit.System("test"), shop.tenant.ID, "crm", []string{"responses:read"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	cursor := ""
	for {
		path := "/api/v1/responses?limit=1"
		if cursor != "" {
			path += "&after=" + url.QueryEscape(cursor)
		}
		st, _, page := apiDo(t, e, "GET", path, key, nil)
		if st != http.StatusOK {
			t.Fatalf("pull: %d %v", st, page)
		}
		for _, it := range page["data"].([]any) {
			got = append(got, it.(map[string]any)["id"].(string))
		}
		cursor = page["next_cursor"].(string)
		if page["has_more"] != true {
			break
		}
	}
	if len(got) != 1 || got[0] != data.ResponseID {
		t.Fatalf("pulled %v, want [%s]", got, data.ResponseID)
	}
	if st, _, page := apiDo(t, e, "GET", "/api/v1/responses?after="+url.QueryEscape(cursor), key, nil); st != http.StatusOK || len(page["data"].([]any)) != 0 {
		t.Errorf("pulling again from the last cursor: %d %v", st, page)
	}
}
