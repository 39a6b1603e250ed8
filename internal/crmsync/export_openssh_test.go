package crmsync

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"avis/internal/contact"
	"avis/internal/db"
)

// TestOpenSSHExport exports to OpenSSH's sftp-server under the throwaway
// sshd of scripts/sshd.sh (see TestOpenSSH for its environment): the file
// lands under its final name with every row; the wrong host key is refused
// before anything is written.
func TestOpenSSHExport(t *testing.T) {
	addr := os.Getenv("AVIS_TEST_SSHD_ADDR")
	if addr == "" {
		if os.Getenv("AVIS_TEST_REQUIRE_SSHD") == "1" {
			t.Fatal(`AVIS_TEST_SSHD_ADDR is not set but AVIS_TEST_REQUIRE_SSHD=1: start OpenSSH with eval "$(scripts/sshd.sh)", or run 'make test'`)
		}
		t.Skip(`OpenSSH sshd not available: start one with eval "$(scripts/sshd.sh)" (or run 'make test') to test exports against it`)
	}
	t.Parallel()
	ctx := context.Background()
	keyPEM, err := os.ReadFile(os.Getenv("AVIS_TEST_SSHD_KEY"))
	if err != nil {
		t.Fatalf("AVIS_TEST_SSHD_KEY: %v", err)
	}
	host, portText, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portText)
	dir := filepath.Join(os.Getenv("AVIS_TEST_SSHD_DIR"), "export-"+db.NewID())
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	e := newExportEnv(t)
	c := e.contact(t, contact.Input{ExternalID: "CRM-9", Email: "openssh@example.com"})
	var ids []string
	for i := range 60 {
		ids = append(ids, e.seedResponse(t, c, i%11, ""))
	}
	inv := e.seedInvitation(t, c, "bounced")
	e.x.chunk = 25
	in := ExportInput{Name: "OpenSSH", Kinds: []string{KindResponses, KindInvitations}, Protocol: ProtocolSFTP,
		Host: host, Port: port, Username: os.Getenv("AVIS_TEST_SSHD_USER"), AuthKind: AuthKey, Secret: string(keyPEM),
		HostKeyFingerprint: os.Getenv("AVIS_TEST_SSHD_FINGERPRINT"), Folder: dir, Format: FormatJSONL, Enabled: true}
	sc := e.schedule(t, in)
	if err := e.x.Test(ctx, e.tenant, sc.ID); err != nil {
		t.Fatalf("Test: %v", err)
	}
	run, err := e.x.Run(ctx, e.tenant, sc.ID, CauseManual)
	if err != nil || run.Rows != 61 || len(run.Files) != 2 {
		t.Fatalf("run = %+v, %v", run, err)
	}
	es, _ := os.ReadDir(dir)
	if len(es) != 2 {
		t.Fatalf("the folder holds %v", es)
	}
	b, _ := os.ReadFile(filepath.Join(dir, run.Files[0]))
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 60 {
		t.Fatalf("%d lines, want 60", len(lines))
	}
	for _, id := range ids {
		if !strings.Contains(string(b), `"response_id":"`+id+`"`) {
			t.Fatalf("response %s missing from the file", id)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, run.Files[1])); !strings.Contains(string(b), inv) || !strings.Contains(string(b), `"status":"bounced"`) {
		t.Errorf("invitations file: %s", b)
	}

	other, _ := newSigner(t)
	in.Name, in.HostKeyFingerprint = "wrong key", ssh.FingerprintSHA256(other.PublicKey())
	e.seedResponse(t, c, 1, "")
	bad := e.schedule(t, in)
	if run, err := e.x.Run(ctx, e.tenant, bad.ID, CauseManual); !errors.Is(err, ErrHostKeyMismatch) || !strings.Contains(run.Error, "host key") {
		t.Errorf("run with the wrong host key = %+v, %v", run, err)
	}
	if es, _ := os.ReadDir(dir); len(es) != 2 {
		t.Errorf("a file was written to a server with the wrong host key: %v", es)
	}
}
