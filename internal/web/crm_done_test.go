package web_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/csv"
	"encoding/json"
	"errors"
	"html"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"avis/internal/audit"
	"avis/internal/crmsync"
)

// sftpd is an SFTP server on loopback (pkg/sftp over x/crypto/ssh) that
// keeps files under dir: the CRM's drop for exports.
type sftpd struct {
	port                             int
	dir, password, fingerprint, user string
}

func startSFTPd(t *testing.T) *sftpd {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	s := &sftpd{dir: t.TempDir(), user: "crm", password: "s3cret-Passw0rd!", fingerprint: ssh.FingerprintSHA256(signer.PublicKey())}
	cfg := &ssh.ServerConfig{PasswordCallback: func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
		if c.User() == s.user && string(pw) == s.password {
			return nil, nil
		}
		return nil, errors.New("wrong password")
	}}
	cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s.port = ln.Addr().(*net.TCPAddr).Port
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c, cfg)
		}
	}()
	return s
}

func (s *sftpd) serve(c net.Conn, cfg *ssh.ServerConfig) {
	defer c.Close()
	sconn, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	defer sconn.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go func() {
			for req := range creqs {
				ok := req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:]) == "sftp"
				req.Reply(ok, nil)
				if !ok {
					continue
				}
				srv, err := sftp.NewServer(ch, sftp.WithServerWorkingDirectory(s.dir))
				if err != nil {
					ch.Close()
					continue
				}
				go func() {
					_ = srv.Serve()
					srv.Close()
				}()
			}
		}()
	}
}

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
	drop := startSFTPd(t)
	if err := os.Mkdir(filepath.Join(drop.dir, "out"), 0o700); err != nil {
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
		"host": {"127.0.0.1"}, "port": {strconv.Itoa(drop.port)}, "username": {drop.user}, "auth": {"password"},
		"password": {drop.password}, "fingerprint": {drop.fingerprint}, "folder": {"out"}, "format": {crmsync.FormatCSV},
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
		files, _ := filepath.Glob(filepath.Join(drop.dir, "out", "*.csv"))
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
	if parts, _ := filepath.Glob(filepath.Join(drop.dir, "out", "*.part")); len(parts) != 0 {
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
