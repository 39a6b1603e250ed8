package web_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/crmsync"
	"avis/internal/crmsync/sftptest"
	"avis/internal/feed"
)

// noImport is an import engine that must not be reached: the fetches of
// these tests fail before any file is read.
type noImport struct{ t *testing.T }

func (n noImport) ImportFile(context.Context, string, string, string, io.Reader) (crmsync.ImportResult, error) {
	n.t.Error("a file was imported")
	return crmsync.ImportResult{}, nil
}

// TestTransferProblemsTranslated: an export run and an SFTP drop's fetch
// that fail for a known reason (a wrong host key, a missing folder, nothing
// listening at the port) show why in the page's language — on /exports in
// the list, the export log and the connection test, on /sftp in the list
// and the host-key check — with the host, the fingerprints and the folder
// kept; in English, the words avis stored. A private key that cannot be
// read is said in French on the export form too.
func TestTransferProblemsTranslated(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	drop, err := sftptest.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drop.Close() })
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	other, right := ssh.FingerprintSHA256(otherKey), drop.Fingerprint()
	fr := e.loggedIn("shop-owner@example.com")
	en := e.loggedIn("shop-owner@example.com").english()
	page := func(b *browser, path string) string {
		t.Helper()
		r := b.get(path)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, r.status)
		}
		return html.UnescapeString(r.body)
	}

	tests := []struct {
		name, fingerprint, folder string
		port                      int
		// en is what avis stores, fr what a French page says.
		en, fr string
	}{
		{"wrong host key", other, "out", drop.Port,
			"the SFTP server's host key is " + right + ", not the " + other + " you configured: check with the server's administrator",
			"la clé d'hôte du serveur SFTP est " + right + ", et non " + other + " que vous avez configurée : vérifiez auprès de l'administrateur du serveur"},
		{"missing folder", right, "nowhere/in/particular", drop.Port,
			"the folder nowhere/in/particular does not exist on the SFTP server: create it, or correct the folder",
			"le dossier nowhere/in/particular n'existe pas sur le serveur SFTP : créez-le, ou corrigez le dossier"},
		{"nothing listening", right, "out", 1,
			"cannot reach the SFTP server at 127.0.0.1:1: dial tcp 127.0.0.1:1: connect: connection refused (check the host and port",
			"impossible de joindre le serveur SFTP 127.0.0.1:1 : 127.0.0.1:1 refuse la connexion (rien n'écoute à cette adresse et ce port) (vérifiez l'hôte et le port"},
	}
	for _, tc := range tests {
		t.Run("export, "+tc.name, func(t *testing.T) {
			sc, err := e.exports.Create(ctx, audit.System("test"), tn.ID, crmsync.ExportInput{Name: tc.name,
				Kinds: []string{crmsync.KindUnsubscribes}, Protocol: crmsync.ProtocolSFTP, Host: "127.0.0.1", Port: tc.port,
				Username: drop.User, AuthKind: crmsync.AuthPassword, Secret: drop.Password, HostKeyFingerprint: tc.fingerprint,
				Folder: tc.folder}, false)
			if err != nil {
				t.Fatal(err)
			}
			// Something to export, so that the run connects.
			err = e.db.Tx(ctx, func(tx *sql.Tx) error {
				return e.feed.Emit(ctx, tx, tn.ID, feed.Event{Type: feed.ContactUnsubscribed, ObjectID: "c1", ContactID: "c1", ExternalID: "CRM-1"})
			})
			if err != nil {
				t.Fatal(err)
			}
			run, err := e.exports.Run(ctx, tn.ID, sc.ID, crmsync.CauseManual)
			if err == nil || !strings.Contains(run.Error, tc.en) {
				t.Fatalf("run: %v, stored %q: want a failure saying %q", err, run.Error, tc.en)
			}
			for _, path := range []string{"/exports", "/exports/" + sc.ID} {
				if p := page(fr, path); !strings.Contains(p, tc.fr) || strings.Contains(p, tc.en) {
					t.Errorf("French %s does not say %q (or still says it in English):\n%s", path, tc.fr, p)
				}
				if p := page(en, path); !strings.Contains(p, tc.en) {
					t.Errorf("English %s does not say %q", path, tc.en)
				}
			}
			// The connection test says the same, within the request.
			r := fr.post("/exports/"+sc.ID+"/test", url.Values{"csrf": {fr.csrf("/exports")}})
			if got := html.UnescapeString(r.body); r.status != http.StatusBadGateway || !strings.Contains(got, "Le test de connexion a échoué : "+tc.fr) {
				t.Errorf("French connection test: %d, want %q\n%s", r.status, tc.fr, got)
			}
			r = en.post("/exports/"+sc.ID+"/test", url.Values{"csrf": {en.csrf("/exports")}})
			if got := html.UnescapeString(r.body); r.status != http.StatusBadGateway || !strings.Contains(got, "The connection test failed: "+tc.en) {
				t.Errorf("English connection test: %d, want %q", r.status, tc.en)
			}
		})
		t.Run("SFTP drop, "+tc.name, func(t *testing.T) {
			src, err := e.sftp.Create(ctx, audit.System("test"), tn.ID, crmsync.SourceInput{Name: tc.name, Host: "127.0.0.1",
				Port: tc.port, Username: drop.User, AuthKind: crmsync.AuthPassword, Secret: drop.Password,
				HostKeyFingerprint: tc.fingerprint, Folder: tc.folder})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.sftp.Fetch(ctx, tn.ID, src.ID, noImport{t}); err == nil || !strings.Contains(err.Error(), tc.en) {
				t.Fatalf("fetch: %v, want a failure saying %q", err, tc.en)
			}
			if p := page(fr, "/sftp"); !strings.Contains(p, tc.fr) || strings.Contains(p, tc.en) {
				t.Errorf("French /sftp does not say %q (or still says it in English):\n%s", tc.fr, p)
			}
			if p := page(en, "/sftp"); !strings.Contains(p, tc.en) {
				t.Errorf("English /sftp does not say %q", tc.en)
			}
		})
	}

	// A private key that is not one, on the export form.
	r := fr.post("/exports", url.Values{"csrf": {fr.csrf("/exports")}, "name": {"key"}, "auth": {"key"}, "private_key": {"not a key"}})
	if got := html.UnescapeString(r.body); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(got, "la clé privée est illisible (ssh: no key found) : collez tout le fichier de la clé privée") {
		t.Errorf("French export form with a bad key: %d\n%s", r.status, got)
	}

	// Reading the host key of a port where nothing listens.
	closed := url.Values{"csrf": {fr.csrf("/sftp")}, "host": {"127.0.0.1"}, "port": {"1"}}
	r = fr.post("/sftp/hostkey", closed)
	if got := html.UnescapeString(r.body); r.status != http.StatusBadGateway ||
		!strings.Contains(got, "lecture de la clé d'hôte de 127.0.0.1:1 : impossible de joindre le serveur SFTP 127.0.0.1:1 : 127.0.0.1:1 refuse la connexion") {
		t.Errorf("French host-key check of a closed port: %d\n%s", r.status, got)
	}
}
