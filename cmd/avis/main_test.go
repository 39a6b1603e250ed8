package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/db"
	"avis/internal/db/dbtest"
)

// lockedBuffer collects what a command writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testEnv is the environment of one avis installation under test: a data
// directory, and on the PostgreSQL pass a fresh database.
type testEnv struct {
	t    *testing.T
	vars map[string]string
	dir  string
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	dir := t.TempDir()
	te := &testEnv{t: t, dir: dir, vars: map[string]string{
		"AVIS_DATA": dir, "AVIS_LOG_FORMAT": "json", "AVIS_ADDR": "127.0.0.1:0", "AVIS_SHUTDOWN_TIMEOUT": "5s",
	}}
	if dbtest.Kind() == db.Postgres {
		te.vars["AVIS_DATABASE_URL"] = dbtest.PostgresURL(t)
	}
	return te
}

func (te *testEnv) getenv(k string) string { return te.vars[k] }

// run runs one avis command and returns its exit code, standard output and
// standard error.
func (te *testEnv) run(stdin string, args ...string) (int, string, string) {
	te.t.Helper()
	var out, errb lockedBuffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb, te.getenv)
	return code, out.String(), errb.String()
}

func (te *testEnv) mustRun(stdin string, args ...string) string {
	te.t.Helper()
	code, out, errs := te.run(stdin, args...)
	if code != 0 {
		te.t.Fatalf("avis %s: exit %d\n%s\n%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// serve starts "avis serve" and returns its base URL, its log and a stop
// function that sends the equivalent of SIGTERM and waits.
func (te *testEnv) serve(args ...string) (string, *lockedBuffer, func() int) {
	te.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, logs lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve"}, args...), strings.NewReader(""), &out, &logs, te.getenv)
	}()
	re := regexp.MustCompile(`"msg":"avis is serving","addr":"([^"]+)"`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(logs.String()); m != nil {
			stopped := false
			var code int
			stop := func() int {
				if !stopped {
					cancel()
					code = <-done
					stopped = true
				}
				return code
			}
			te.t.Cleanup(func() { stop() })
			return "http://" + m[1], &logs, stop
		}
		select {
		case code := <-done:
			cancel()
			te.t.Fatalf("serve exited with %d before serving:\n%s\n%s", code, out.String(), logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			te.t.Fatalf("serve did not start:\n%s", logs.String())
		}
	}
}

const ownerPassword = "Tartine-au-beurre-2026"

var (
	seedEmail = "seeded.person@example.org"
	seedPhone = "+33199001234"
	seedName  = "Séraphine"
)

// TestEndToEnd sets avis up from the command line, serves it, logs in,
// reads personal data through the UI and the API, and then checks that the
// seeded email, phone and name appear in no log line, no job, no audit entry
// and nowhere in clear in the database.
func TestEndToEnd(t *testing.T) {
	te := newTestEnv(t)
	te.mustRun("", "migrate")
	te.mustRun("", "tenant", "create", "--slug", "shop", "--name", "La Boutique")
	te.mustRun(ownerPassword+"\n", "user", "create", "--tenant", "shop", "--email", "owner@example.com", "--role", "owner")
	key := strings.TrimSpace(te.mustRun("", "apikey", "create", "--tenant", "shop", "--name", "CRM", "--scopes", "contacts:read"))
	if !strings.HasPrefix(key, "avis_") {
		t.Fatalf("apikey create printed %q", key)
	}

	// Seed a contact with a known email through the store, as an import will.
	ctx := context.Background()
	var errb lockedBuffer
	c, err := loadConfigFromEnv(te)
	if err != nil {
		t.Fatal(err)
	}
	a, err := open(ctx, env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &errb, getenv: te.getenv}, c)
	if err != nil {
		t.Fatal(err)
	}
	tn, err := a.accounts.TenantBySlug(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	seeded, err := a.contacts.Create(ctx, audit.System("test"), tn.ID, contact.Input{Email: seedEmail, Phone: seedPhone, FirstName: seedName, LastName: "Testeuse", Country: "FR"})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()

	base, logs, stop := te.serve()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	get := func(path string, hdr ...string) (int, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		r, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("readyz %d", code)
	}
	_, page := get("/login")
	tok := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
	r, err := client.PostForm(base+"/login", url.Values{"csrf": {tok}, "email": {"owner@example.com"}, "password": {ownerPassword}})
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if code, body := get("/contacts"); code != 200 || !strings.Contains(body, seedEmail) {
		t.Fatalf("contacts page %d lacks the seeded contact", code)
	}
	if code, body := get("/contacts/" + seeded.ID); code != 200 || !strings.Contains(body, seedEmail) || !strings.Contains(body, seedName) {
		t.Fatalf("contact page %d", code)
	}
	if code, body := get("/api/v1/contacts/"+seeded.ID, "Authorization", "Bearer "+key); code != 200 || !strings.Contains(body, seedEmail) {
		t.Fatalf("API contact %d: %s", code, body)
	}
	if code, _ := get("/api/v1/contacts/"+seeded.ID, "Authorization", "Bearer avis_bad"); code != 401 {
		t.Fatalf("bad key %d", code)
	}
	if code, body := get("/audit"); code != 200 || !strings.Contains(body, "contact.read") {
		t.Fatalf("audit page %d lacks the reads", code)
	}
	// The periodic maintenance job runs at start: the worker works jobs, and
	// /metrics counts them.
	for deadline := time.Now().Add(30 * time.Second); ; {
		code, body := get("/metrics")
		if code == 200 && strings.Contains(body, `avis_jobs{kind="maintenance.purge",state="completed"} 1`) &&
			strings.Contains(body, "avis_http_request_duration_seconds") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no completed maintenance job in /metrics:\n%s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d on shutdown:\n%s", code, logs.String())
	}
	if !strings.Contains(logs.String(), `"msg":"http"`) || !strings.Contains(logs.String(), "avis stopped") {
		t.Fatalf("the log lacks request lines or the shutdown:\n%s", logs.String())
	}

	needles := []string{seedEmail, seedPhone, seedName, "Testeuse", "owner@example.com"}
	for _, n := range needles {
		if strings.Contains(logs.String(), n) {
			t.Errorf("the log holds personal data %q", n)
		}
	}
	d, err := db.Open(ctx, c.DatabaseURL, c.Data, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, q := range []string{`SELECT args FROM river_job`, `SELECT detail || actor_id || object_id || subject_id || action FROM audit_log`} {
		rows, err := d.R.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var s []byte
			rows.Scan(&s)
			n++
			for _, needle := range needles {
				if bytes.Contains(s, []byte(needle)) {
					t.Errorf("%s holds personal data %q", q, needle)
				}
			}
		}
		rows.Close()
		if n == 0 {
			t.Errorf("%s: no rows, so the check proves nothing", q)
		}
	}
	dump := rawDatabase(t, d, c)
	for _, n := range needles {
		if bytes.Contains(dump, []byte(n)) || bytes.Contains(dump, []byte(hex.EncodeToString([]byte(n)))) {
			t.Errorf("the database holds %q in clear", n)
		}
	}
}

// rawDatabase returns every byte the database holds: the SQLite files, or
// every row of every table as PostgreSQL prints it.
func rawDatabase(t *testing.T, d *db.DB, c interface{}) []byte {
	t.Helper()
	ctx := context.Background()
	if d.Dialect == db.SQLite {
		var all []byte
		for _, suffix := range []string{"", "-wal", "-shm"} {
			b, err := os.ReadFile(d.Path + suffix)
			if err == nil {
				all = append(all, b...)
			}
		}
		if len(all) == 0 {
			t.Fatal("no SQLite file read")
		}
		return all
	}
	rows, err := d.R.QueryContext(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		tables = append(tables, s)
	}
	rows.Close()
	var all []byte
	for _, tb := range tables {
		var s *string
		if err := d.R.QueryRowContext(ctx, fmt.Sprintf(`SELECT string_agg(t::text, E'\n') FROM %q t`, tb)).Scan(&s); err != nil {
			t.Fatal(err)
		}
		if s != nil {
			all = append(all, *s...)
		}
	}
	return all
}

func loadConfigFromEnv(te *testEnv) (cfgT, error) {
	c, _, err := loadConfig(env{stderr: io.Discard, getenv: te.getenv}, "test", nil, nil)
	return c, err
}

// TestMasterKeyGuards: avis creates a key only for an empty database,
// refuses to start without it or with another one, and names a corrupt file.
func TestMasterKeyGuards(t *testing.T) {
	te := newTestEnv(t)
	code, _, errs := te.run("", "tenant", "create", "--slug", "shop", "--name", "Shop")
	if code != 0 || !strings.Contains(errs, "BACK IT UP") {
		t.Fatalf("first start: %d, message %q", code, errs)
	}
	keyFile := filepath.Join(te.dir, "master.key")
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("master.key: %v, mode %v", err, fi.Mode())
	}
	good, _ := os.ReadFile(keyFile)
	if te.vars["AVIS_DATABASE_URL"] != "" {
		// With PostgreSQL the key must be named once data exists.
		te.vars["AVIS_MASTER_KEY_FILE"] = keyFile
	}
	te.mustRun(ownerPassword+"\n", "user", "create", "--tenant", "shop", "--email", "o@example.com", "--role", "owner")

	cases := []struct {
		name  string
		setup func()
		want  string
	}{
		{"no key with data", func() { os.Remove(keyFile); delete(te.vars, "AVIS_MASTER_KEY_FILE") }, "master key"},
		{"wrong key", func() { te.vars["AVIS_MASTER_KEY"] = strings.Repeat("ab", 32) }, "wrong master key"},
		{"corrupt key file", func() {
			delete(te.vars, "AVIS_MASTER_KEY")
			os.WriteFile(keyFile, []byte("not a key\n"), 0o600)
			te.vars["AVIS_MASTER_KEY_FILE"] = keyFile
		}, keyFile},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.setup()
			code, _, errs := te.run("", "apikey", "create", "--tenant", "shop", "--name", "k", "--scopes", "contacts:read")
			if code == 0 || !strings.Contains(strings.ToLower(errs), strings.ToLower(c.want)) {
				t.Fatalf("exit %d, stderr %q, want it to say %q", code, errs, c.want)
			}
			if strings.Count(strings.TrimSpace(errs), "\n") > 1 {
				t.Errorf("the error is not one line: %q", errs)
			}
		})
	}
	// With the right key back, avis starts and nothing was changed.
	os.WriteFile(keyFile, good, 0o600)
	te.mustRun("", "apikey", "create", "--tenant", "shop", "--name", "k", "--scopes", "contacts:read")
}

// TestAuditVerifyNamesEditedRow edits one audit row in the database and
// expects "avis audit verify" to fail and name it.
func TestAuditVerifyNamesEditedRow(t *testing.T) {
	te := newTestEnv(t)
	te.mustRun("", "tenant", "create", "--slug", "shop", "--name", "Shop")
	if te.vars["AVIS_DATABASE_URL"] != "" {
		te.vars["AVIS_MASTER_KEY_FILE"] = filepath.Join(te.dir, "master.key")
	}
	te.mustRun(ownerPassword+"\n", "user", "create", "--tenant", "shop", "--email", "o@example.com", "--role", "owner")
	te.mustRun("", "apikey", "create", "--tenant", "shop", "--name", "k", "--scopes", "contacts:read")
	out := te.mustRun("", "audit", "verify")
	if !strings.Contains(out, "intact") {
		t.Fatalf("verify on an untouched log: %q", out)
	}
	c, _ := loadConfigFromEnv(te)
	d, err := db.Open(context.Background(), c.DatabaseURL, c.Data, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var tenantID string
	d.R.QueryRow(`SELECT id FROM tenants WHERE slug = 'shop'`).Scan(&tenantID)
	if _, err := d.W.Exec(`UPDATE audit_log SET action = 'nothing.happened' WHERE tenant_id = $1 AND seq = 2`, tenantID); err != nil {
		t.Fatal(err)
	}
	d.Close()
	code, out, errs := te.run("", "audit", "verify")
	if code != 1 || !strings.Contains(out, "tenant "+tenantID+", entry 2") {
		t.Fatalf("verify after an edit: exit %d\n%s\n%s", code, out, errs)
	}
}

func TestCLIErrors(t *testing.T) {
	te := newTestEnv(t)
	te.mustRun("", "tenant", "create", "--slug", "shop", "--name", "Shop")
	if te.vars["AVIS_DATABASE_URL"] != "" {
		te.vars["AVIS_MASTER_KEY_FILE"] = filepath.Join(te.dir, "master.key")
	}
	cases := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		want     string
	}{
		{"unknown command", "", []string{"frobnicate"}, 2, "unknown command"},
		{"duplicate slug", "", []string{"tenant", "create", "--slug", "shop", "--name", "Other"}, 1, "choose another slug"},
		{"bad slug", "", []string{"tenant", "create", "--slug", "-X-", "--name", "Other"}, 1, "slug"},
		{"missing flags", "", []string{"user", "create", "--tenant", "shop"}, 2, "--email"},
		{"weak password", "short\n", []string{"user", "create", "--tenant", "shop", "--email", "a@example.com", "--role", "admin"}, 1, "at least 12 characters"},
		{"empty password", "", []string{"user", "create", "--tenant", "shop", "--email", "a@example.com"}, 1, "no password on standard input"},
		{"bad role", "x\n", []string{"user", "create", "--tenant", "shop", "--email", "a@example.com", "--role", "king"}, 2, "use owner, admin"},
		{"unknown tenant", "", []string{"apikey", "create", "--tenant", "nope", "--name", "k", "--scopes", "contacts:read"}, 1, "no tenant"},
		{"bad scope", "", []string{"apikey", "create", "--tenant", "shop", "--name", "k", "--scopes", "everything"}, 1, "scope"},
		{"bad database url", "", []string{"migrate", "--db", "mysql://x"}, 1, "not understood"},
		{"unreachable postgres", "", []string{"migrate", "--db", "postgres://u:hunter2@127.0.0.1:1/x?connect_timeout=2"}, 1, "cannot reach PostgreSQL"},
		{"bad role flag", "", []string{"serve", "--role", "boss"}, 1, "use all, web or worker"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := te.run(c.stdin, c.args...)
			if code != c.wantCode || !strings.Contains(errs, c.want) {
				t.Fatalf("exit %d (want %d), stderr %q, want it to say %q\n%s", code, c.wantCode, errs, c.want, out)
			}
			if strings.Contains(errs, "hunter2") {
				t.Fatal("the error shows the database password")
			}
		})
	}
	code, out, _ := te.run("", "version")
	if code != 0 || !strings.HasPrefix(out, "avis ") {
		t.Fatalf("version: %d %q", code, out)
	}
	code, out, _ = te.run("", "help")
	for _, cmd := range []string{"serve", "migrate", "tenant", "user", "apikey", "audit", "key", "version"} {
		if code != 0 || !strings.Contains(out, "  "+cmd) {
			t.Errorf("help does not list %s", cmd)
		}
	}
}

// TestDemo: serve --demo on an empty directory creates the demo tenant and
// prints a login that works; a second start says the same login again.
func TestDemo(t *testing.T) {
	te := newTestEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, logs lockedBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "--demo"}, strings.NewReader(""), &out, &logs, te.getenv) }()
	re := regexp.MustCompile(`password: (\S+)`)
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(logs.String(), "avis is serving") {
		if time.Now().After(deadline) {
			t.Fatalf("demo did not start:\n%s\n%s", out.String(), logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	m := re.FindStringSubmatch(out.String())
	cancel()
	<-done
	if m == nil || !strings.Contains(out.String(), "demo@example.com") {
		t.Fatalf("demo printed no login:\n%s", out.String())
	}
	c, _ := loadConfigFromEnv(te)
	d, err := db.Open(context.Background(), c.DatabaseURL, c.Data, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var n int
	var countries int
	d.R.QueryRow(`SELECT count(*), count(DISTINCT country) FROM contacts`).Scan(&n, &countries)
	if n < 200 || countries < 4 {
		t.Fatalf("demo made %d contacts in %d countries", n, countries)
	}
	// The demo company has a privacy profile: its notices name a
	// data-protection contact as a real tenant's must.
	var dpo string
	d.R.QueryRow(`SELECT dpo_email FROM privacy_profiles`).Scan(&dpo)
	if dpo != "dpo@demo.example" {
		t.Errorf("demo tenant's data-protection contact = %q", dpo)
	}
	// Every personal column holds vault ciphertexts only.
	checkSealed(t, d)
}

// TestRoles: a worker serves only the operations endpoints; a web process
// serves the UI but works no job.
func TestRoles(t *testing.T) {
	te := newTestEnv(t)
	te.mustRun("", "migrate")
	base, _, stop := te.serve("--role", "worker")
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/login": 404} {
		r, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != want {
			t.Errorf("worker GET %s = %d, want %d", path, r.StatusCode, want)
		}
	}
	stop()
	if te.vars["AVIS_DATABASE_URL"] != "" {
		te.vars["AVIS_MASTER_KEY_FILE"] = filepath.Join(te.dir, "master.key")
	}
	base, _, stop = te.serve("--role", "web")
	defer stop()
	r, err := http.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Errorf("web GET /login = %d", r.StatusCode)
	}
}

// TestKeyRotate: after "avis key rotate" the data opens with the new key
// only, and what was sealed before still reads back.
func TestKeyRotate(t *testing.T) {
	te := newTestEnv(t)
	te.mustRun("", "tenant", "create", "--slug", "shop", "--name", "Shop")
	keyFile := filepath.Join(te.dir, "master.key")
	old, _ := os.ReadFile(keyFile)
	te.mustRun(ownerPassword+"\n", "user", "create", "--tenant", "shop", "--email", "o@example.com", "--role", "owner")
	newFile := filepath.Join(t.TempDir(), "new.key")
	os.WriteFile(newFile, []byte(strings.Repeat("cd", 32)+"\n"), 0o600)
	if code, _, errs := te.run("", "key", "rotate"); code != 2 || !strings.Contains(errs, "--new") {
		t.Fatalf("rotate without --new: %d %q", code, errs)
	}
	out := te.mustRun("", "key", "rotate", "--new", newFile)
	if !strings.Contains(out, "rotated") {
		t.Fatalf("rotate said %q", out)
	}
	// master.key now holds the new key; the user sealed before still logs in.
	base, _, stop := te.serve()
	defer stop()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	r, _ := client.Get(base + "/login")
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	tok := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(b))[1]
	r, err := client.PostForm(base+"/login", url.Values{"csrf": {tok}, "email": {"o@example.com"}, "password": {ownerPassword}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 || !strings.Contains(string(body), "Shop") {
		t.Fatalf("login after rotation: %d", r.StatusCode)
	}
	stop()
	// The old key is refused now.
	te.vars["AVIS_MASTER_KEY"] = strings.TrimSpace(string(old))
	if code, _, errs := te.run("", "apikey", "create", "--tenant", "shop", "--name", "k", "--scopes", "contacts:read"); code == 0 || !strings.Contains(errs, "wrong master key") {
		t.Fatalf("old key after rotation: %d %q", code, errs)
	}
}
