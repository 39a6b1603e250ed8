package crmsync

import (
	"errors"
	"io"
	"net"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"avis/internal/db"
)

// TestOpenSSH runs the SFTP drop against OpenSSH's sshd and sftp-server, as
// started by scripts/sshd.sh:
//
//	AVIS_TEST_SSHD_ADDR=127.0.0.1:PORT       the server
//	AVIS_TEST_SSHD_KEY=PATH                  the client's private key
//	AVIS_TEST_SSHD_USER=USER                 the login
//	AVIS_TEST_SSHD_FINGERPRINT=SHA256:…      the server's host key
//	AVIS_TEST_SSHD_DIR=PATH                  a folder the login may write in
//	AVIS_TEST_REQUIRE_SSHD=1                 fail, never skip, without a server
func TestOpenSSH(t *testing.T) {
	addr := os.Getenv("AVIS_TEST_SSHD_ADDR")
	if addr == "" {
		if os.Getenv("AVIS_TEST_REQUIRE_SSHD") == "1" {
			t.Fatal(`AVIS_TEST_SSHD_ADDR is not set but AVIS_TEST_REQUIRE_SSHD=1: start OpenSSH with eval "$(scripts/sshd.sh)", or run 'make test'`)
		}
		t.Skip(`OpenSSH sshd not available: start one with eval "$(scripts/sshd.sh)" (or run 'make test') to test the SFTP drop against it`)
	}
	t.Parallel()
	ctx := t.Context()
	keyPEM, err := os.ReadFile(os.Getenv("AVIS_TEST_SSHD_KEY"))
	if err != nil {
		t.Fatalf("AVIS_TEST_SSHD_KEY: %v", err)
	}
	user, fp, base := os.Getenv("AVIS_TEST_SSHD_USER"), os.Getenv("AVIS_TEST_SSHD_FINGERPRINT"), os.Getenv("AVIS_TEST_SSHD_DIR")
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("AVIS_TEST_SSHD_ADDR: %v", err)
	}
	port, _ := strconv.Atoi(portText)

	got, err := HostKeyFingerprint(ctx, host, port)
	if err != nil || got != fp {
		t.Fatalf("HostKeyFingerprint = %q, %v, want %s (from ssh-keygen -lf)", got, err, fp)
	}

	// Set the drop up through SFTP itself, in a folder of this test's own.
	signer, err := ssh.ParsePrivateKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	client, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: checkHostKey(fp), Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatalf("connect to OpenSSH: %v", err)
	}
	defer client.Close()
	sc, err := sftp.NewClient(client)
	if err != nil {
		t.Fatalf("start SFTP on OpenSSH: %v", err)
	}
	defer sc.Close()
	folder := path.Join(base, db.NewID())
	if err := sc.MkdirAll(folder); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.RemoveAll(folder) })
	put := func(rel, content string, age time.Duration) {
		t.Helper()
		p := path.Join(folder, rel)
		if err := sc.MkdirAll(path.Dir(p)); err != nil {
			t.Fatal(err)
		}
		f, err := sc.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(-age)
		if err := sc.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	read := func(rel string) string {
		t.Helper()
		f, err := sc.Open(path.Join(folder, rel))
		if errors.Is(err, os.ErrNotExist) {
			return "<none>"
		}
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	ls := func(rel string) []string {
		t.Helper()
		fis, err := sc.ReadDir(path.Join(folder, rel))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, fi := range fis {
			out = append(out, fi.Name())
		}
		slices.Sort(out)
		return out
	}
	put("a.csv", "email\na@example.com\n", 3*time.Hour)
	put("b.csv", "email\nb@example.com\n", 2*time.Hour)
	put("bad.csv", "junk", time.Hour)
	put("notes.txt", "not for avis", time.Hour)
	put("done/b.csv", "imported yesterday", 24*time.Hour)

	e := newEnv(t)
	in := SourceInput{
		Name: "OpenSSH", Host: host, Port: port, Username: user, AuthKind: AuthKey, Secret: string(keyPEM),
		HostKeyFingerprint: fp, Folder: folder, Enabled: true,
	}
	src := e.create(t, in)
	imp := &recImporter{decide: func(name string, content []byte) (ImportResult, error) {
		return ImportResult{ImportID: db.NewID(), OK: name != "bad.csv", ReportCSV: []byte("report of " + name)}, nil
	}}
	res, err := e.s.Fetch(ctx, e.tenant, src.ID, imp)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if want := (FetchResult{Imported: 2, Failed: 1}); res != want {
		t.Errorf("Fetch = %+v, want %+v", res, want)
	}
	if got := imp.names(); !slices.Equal(got, []string{"a.csv", "b.csv", "bad.csv"}) {
		t.Errorf("imported %v, want a.csv, b.csv, bad.csv", got)
	}
	if got := ls(""); !slices.Equal(got, []string{"done", "failed", "notes.txt"}) {
		t.Errorf("the folder holds %v after the fetch", got)
	}
	if read("done/a.csv") != "email\na@example.com\n" || read("done/a.csv.report.csv") != "report of a.csv" {
		t.Errorf("done/ = %v: want a.csv with its report", ls("done"))
	}
	if read("done/b.csv") != "imported yesterday" {
		t.Error("the earlier done/b.csv was overwritten")
	}
	var renamed string
	for _, n := range ls("done") {
		if strings.HasPrefix(n, "b.") && strings.HasSuffix(n, "Z.csv") {
			renamed = n
		}
	}
	if renamed == "" || read("done/"+renamed) != "email\nb@example.com\n" || read("done/"+renamed+".report.csv") != "report of b.csv" {
		t.Errorf("done/ = %v: want the new b.csv under a timestamped name with its report", ls("done"))
	}
	if read("failed/bad.csv") != "junk" || read("failed/bad.csv.report.csv") != "report of bad.csv" {
		t.Errorf("failed/ = %v: want bad.csv with its report", ls("failed"))
	}

	// The wrong host key is refused.
	other, _ := newSigner(t)
	in.Name, in.HostKeyFingerprint = "wrong key", ssh.FingerprintSHA256(other.PublicKey())
	put("c.csv", "email\nc@example.com\n", time.Hour)
	bad := e.create(t, in)
	if _, err := e.s.Fetch(ctx, e.tenant, bad.ID, imp); !errors.Is(err, ErrHostKeyMismatch) || !strings.Contains(err.Error(), fp) {
		t.Errorf("Fetch with the wrong fingerprint = %v, want a mismatch naming %s", err, fp)
	}
	if read("c.csv") == "<none>" || len(imp.names()) != 3 {
		t.Error("a file was fetched from a server with the wrong host key")
	}
}
