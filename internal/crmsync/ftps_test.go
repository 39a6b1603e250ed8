package crmsync

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"avis/internal/contact"
	"avis/internal/db"
)

// ftpsServer is the FTPS server of scripts/ftps.sh (pure-ftpd, explicit
// TLS, a self-signed certificate), from the environment:
//
//	AVIS_TEST_FTPS_ADDR=127.0.0.1:PORT   the server
//	AVIS_TEST_FTPS_CERT=PATH             its certificate (PEM)
//	AVIS_TEST_FTPS_PASSWORD=…            the password of every user below
//	AVIS_TEST_FTPS_USER=USER             a user who may write in its home
//	AVIS_TEST_FTPS_DIR=PATH              that home, on this machine
//	AVIS_TEST_FTPS_FULL_USER=USER        a user whose quota is used up
//	AVIS_TEST_FTPS_RO_USER=USER          a user who may not write
//	AVIS_TEST_REQUIRE_FTPS=1             fail, never skip, without a server
type ftpsServer struct {
	host                string
	port                int
	password, user, dir string
	fullUser, roUser    string
	cert                *x509.Certificate
	fingerprint         string
}

func ftpsFromEnv(t *testing.T) *ftpsServer {
	t.Helper()
	addr := os.Getenv("AVIS_TEST_FTPS_ADDR")
	if addr == "" {
		if os.Getenv("AVIS_TEST_REQUIRE_FTPS") == "1" {
			t.Fatal(`AVIS_TEST_FTPS_ADDR is not set but AVIS_TEST_REQUIRE_FTPS=1: start pure-ftpd with eval "$(scripts/ftps.sh)", or run 'make test'`)
		}
		t.Skip(`no FTPS server: start one with eval "$(scripts/ftps.sh)" (or run 'make test') to test exports over FTPS`)
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("AVIS_TEST_FTPS_ADDR: %v", err)
	}
	port, _ := strconv.Atoi(portText)
	b, err := os.ReadFile(os.Getenv("AVIS_TEST_FTPS_CERT"))
	if err != nil {
		t.Fatalf("AVIS_TEST_FTPS_CERT: %v", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatal("AVIS_TEST_FTPS_CERT holds no PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.Raw)
	return &ftpsServer{host: host, port: port, password: os.Getenv("AVIS_TEST_FTPS_PASSWORD"),
		user: os.Getenv("AVIS_TEST_FTPS_USER"), dir: os.Getenv("AVIS_TEST_FTPS_DIR"),
		fullUser: os.Getenv("AVIS_TEST_FTPS_FULL_USER"), roUser: os.Getenv("AVIS_TEST_FTPS_RO_USER"),
		cert: cert, fingerprint: colons(hex.EncodeToString(sum[:]))}
}

// input returns an export to a new folder of the writable user's home,
// with the certificate pinned.
func (f *ftpsServer) input(t *testing.T) (ExportInput, string) {
	t.Helper()
	folder := "exports-" + db.NewID()
	dir := filepath.Join(f.dir, folder)
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777) // whatever the umask: the server's user writes here
	t.Cleanup(func() { os.RemoveAll(dir) })
	return ExportInput{
		Name: "FTPS " + folder, Kinds: []string{KindResponses, KindUnsubscribes}, Protocol: ProtocolFTPS,
		Host: f.host, Port: f.port, Username: f.user, AuthKind: AuthPassword, Secret: f.password,
		TLSFingerprint: f.fingerprint, Folder: folder, Format: FormatCSVExcel, Cron: "15 6 * * 1-5", Enabled: true,
	}, dir
}

// TestFTPS exports to pure-ftpd over explicit TLS: the pinned certificate
// or one signed by a trusted authority is accepted, any other refused with
// its fingerprint; the files land under their final names and hold the
// rows; a wrong password, a full quota and a read-only folder each fail
// with a plain error.
func TestFTPS(t *testing.T) {
	f := ftpsFromEnv(t)
	t.Parallel()
	ctx := context.Background()
	e := newExportEnv(t)
	c := e.contact(t, contact.Input{ExternalID: "CRM-42", Email: "ftps@example.com"})
	var ids []string
	for i := range 120 {
		ids = append(ids, e.seedResponse(t, c, i%11, "=cmd|' /C calc'!A0"))
	}
	e.seedUnsubscribe(t, c, "CRM-42")
	e.x.chunk = 50

	in, dir := f.input(t)
	sc := e.schedule(t, in)
	if err := e.x.Test(ctx, e.tenant, sc.ID); err != nil {
		t.Fatalf("Test with the pinned certificate: %v", err)
	}
	run, err := e.x.Run(ctx, e.tenant, sc.ID, CauseManual)
	if err != nil || run.Outcome != RunOK || run.Rows != 121 || len(run.Files) != 2 {
		t.Fatalf("run = %+v, %v", run, err)
	}
	es, _ := os.ReadDir(dir)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{run.Files[0], run.Files[1]}) && !slices.Equal(names, []string{run.Files[1], run.Files[0]}) {
		t.Fatalf("the folder holds %v, want exactly %v", names, run.Files)
	}
	b, err := os.ReadFile(filepath.Join(dir, run.Files[0]))
	if err != nil {
		t.Fatal(err)
	}
	recs := readCSV(t, string(b), ';')
	var seen []string
	for _, r := range recs[1:] {
		seen = append(seen, r[0])
	}
	slices.Sort(seen)
	slices.Sort(ids)
	if !slices.Equal(seen, ids) {
		t.Errorf("the FTPS file holds %d responses, want the 120 stored", len(seen))
	}
	if u, _ := os.ReadFile(filepath.Join(dir, run.Files[1])); !strings.Contains(string(u), "CRM-42") {
		t.Errorf("unsubscribes file: %q", u)
	}

	// A certificate signed by a trusted authority needs no pin.
	in2, _ := f.input(t)
	in2.TLSFingerprint = ""
	trusted := e.schedule(t, in2)
	e.x.roots = x509.NewCertPool()
	e.x.roots.AddCert(f.cert)
	if err := e.x.Test(ctx, e.tenant, trusted.ID); err != nil {
		t.Errorf("Test with the certificate's authority trusted: %v", err)
	}
	e.x.roots = x509.NewCertPool()

	tests := []struct {
		name string
		edit func(*ExportInput)
		want string
		is   error
	}{
		{"untrusted certificate", func(in *ExportInput) { in.TLSFingerprint = "" }, f.fingerprint, ErrCertificate},
		{"wrong pin", func(in *ExportInput) { in.TLSFingerprint = strings.Repeat("ab", 32) }, "not the AB:AB", ErrCertificate},
		{"wrong password", func(in *ExportInput) { in.Secret = "nope" }, "refused the login", errAuth},
		{"quota used up", func(in *ExportInput) { in.Username, in.Folder = f.fullUser, "." }, "disk is full", ErrDiskFull},
		{"read-only", func(in *ExportInput) { in.Username, in.Folder = f.roUser, "." }, "does not let this user write", ErrPermission},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, dir := f.input(t)
			tc.edit(&in)
			in.Name = tc.name
			sc := e.schedule(t, in)
			run, err := e.x.Run(ctx, e.tenant, sc.ID, CauseSchedule)
			if err == nil || run.Outcome != RunFailed || !strings.Contains(run.Error, tc.want) || !errors.Is(err, tc.is) {
				t.Fatalf("run = %+v, %v: want a failure saying %q", run, err, tc.want)
			}
			knownProblem(t, run.Error)
			if got, _ := e.x.Get(ctx, e.tenant, sc.ID); got.LastError != run.Error || got.ResponseSeq != 0 {
				t.Errorf("schedule after the failure: %+v", got)
			}
			if es, _ := os.ReadDir(dir); len(es) != 0 {
				t.Errorf("files left: %v", es)
			}
		})
	}
}
