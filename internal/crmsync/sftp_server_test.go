package crmsync

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"avis/internal/audit"
	"avis/internal/crmsync/sftptest"
	"avis/internal/db"
	"avis/internal/db/dbtest"
	"avis/internal/vault"
)

// testServer is a real SFTP server (pkg/sftp over x/crypto/ssh) on a
// loopback port, serving a temporary directory, with password and public-key
// logins (sftptest).
type testServer struct{ *sftptest.Server }

func newSigner(t testing.TB) (ssh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return signer, string(pem.EncodeToMemory(block))
}

func startServer(t testing.TB) *testServer {
	t.Helper()
	return startServerWith(t, sftptest.Options{})
}

// startServerWith starts a server as o says, stopped at the end of the
// test.
func startServerWith(t testing.TB, o sftptest.Options) *testServer {
	t.Helper()
	s, err := sftptest.NewWith(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &testServer{s}
}

// fingerprint is the SHA256 fingerprint of the server's host key.
func (s *testServer) fingerprint() string { return s.Fingerprint() }

// put writes a file in the served directory, with the given age.
func (s *testServer) put(t testing.TB, rel, content string, age time.Duration) {
	t.Helper()
	p := filepath.Join(s.Dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-age)
	if err := os.Chtimes(p, at, at); err != nil {
		t.Fatal(err)
	}
}

// read returns the content of a file in the served directory, or "<none>".
func (s *testServer) read(t testing.TB, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.Dir, filepath.FromSlash(rel)))
	if errors.Is(err, os.ErrNotExist) {
		return "<none>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ls lists the names in a folder of the served directory.
func (s *testServer) ls(t testing.TB, rel string) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(s.Dir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// input returns a SourceInput for the server with password login.
func (s *testServer) input(folder string) SourceInput {
	return SourceInput{
		Name: "CRM drop", Host: s.Host, Port: s.Port, Username: s.User,
		AuthKind: AuthPassword, Secret: s.Password, HostKeyFingerprint: s.fingerprint(),
		Folder: folder, Enabled: true,
	}
}

// recImporter is an Importer that reads the whole file, remembers it and
// returns what decide says.
type recImporter struct {
	mu     sync.Mutex
	calls  []importCall
	decide func(name string, content []byte) (ImportResult, error)
}

type importCall struct {
	TenantID, Source, Name, Content string
}

func (r *recImporter) ImportFile(ctx context.Context, tenantID, source, fileName string, rd io.Reader) (ImportResult, error) {
	b, err := io.ReadAll(rd)
	if err != nil {
		return ImportResult{}, err
	}
	r.mu.Lock()
	r.calls = append(r.calls, importCall{tenantID, source, fileName, string(b)})
	n := len(r.calls)
	r.mu.Unlock()
	if r.decide != nil {
		return r.decide(fileName, b)
	}
	return ImportResult{ImportID: db.NewID(), OK: true, ReportCSV: []byte("row,column,reason\n# " + string(rune('0'+n%10)) + "\n")}, nil
}

func (r *recImporter) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.calls {
		out = append(out, c.Name)
	}
	return out
}

// env is a store on a fresh database with two tenants.
type env struct {
	d        *db.DB
	v        *vault.Vault
	a        *audit.Log
	s        *Store
	tenant   string
	other    string
	admin    audit.Actor
	masterKy []byte
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	d := dbtest.Open(t)
	key := make([]byte, 32)
	rand.Read(key)
	v, err := vault.New(ctx, d, key)
	if err != nil {
		t.Fatalf("vault.New: %v", err)
	}
	a := audit.New(d)
	e := &env{d: d, v: v, a: a, s: NewStore(d, v, a), tenant: db.NewID(), other: db.NewID(),
		admin: audit.Actor{Kind: audit.ActorUser, ID: db.NewID()}, masterKy: key}
	e.s.settle = 0
	e.s.dialTimeout = 5 * time.Second
	for i, id := range []string{e.tenant, e.other} {
		_, err := d.W.ExecContext(ctx, `INSERT INTO tenants (id, slug, name, created_at) VALUES ($1, $2, $3, $4)`,
			id, "t"+string(rune('a'+i)), "Tenant", db.Now())
		if err != nil {
			t.Fatalf("insert tenant: %v", err)
		}
	}
	return e
}

func (e *env) create(t testing.TB, in SourceInput) Source {
	t.Helper()
	src, err := e.s.Create(context.Background(), e.admin, e.tenant, in)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return src
}

// imports returns the outcome detail of each "sftp.import" audit entry of
// the tenant, oldest first.
func (e *env) imports(t testing.TB) []map[string]string {
	t.Helper()
	recs, err := e.a.List(context.Background(), e.tenant, audit.Filter{Action: "sftp.import"})
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for i := len(recs) - 1; i >= 0; i-- {
		out = append(out, recs[i].Detail)
	}
	return out
}
