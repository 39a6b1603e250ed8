package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"avis/internal/db"
)

// When AVIS_TEST_CHILD_ARGS is set the test binary is avis itself: the kill
// test runs it as a child process so that it can kill -9 it.
func TestMain(m *testing.M) {
	if args := os.Getenv("AVIS_TEST_CHILD_ARGS"); args != "" {
		os.Exit(run(context.Background(), strings.Split(args, "\x1f"), os.Stdin, os.Stdout, os.Stderr, os.Getenv))
	}
	os.Exit(m.Run())
}

// TestImportKilledThenRerun kills an import with SIGKILL after its first
// chunks landed, runs it again, and finds every row once.
func TestImportKilledThenRerun(t *testing.T) {
	te := newTestEnv(t)
	te.mustRun("", "tenant", "create", "--slug", "shop", "--name", "Shop")
	if te.vars["AVIS_DATABASE_URL"] != "" {
		te.vars["AVIS_MASTER_KEY_FILE"] = filepath.Join(te.dir, "master.key")
	}
	const rows = 60000
	file := filepath.Join(te.dir, "big.csv")
	var b strings.Builder
	b.WriteString("id,email,last_name\n")
	for i := range rows {
		fmt.Fprintf(&b, "K%06d,p%d@example.com,Name%d\n", i, i, i)
	}
	os.WriteFile(file, []byte(b.String()), 0o600)

	args := strings.Join([]string{"import", "contacts", file, "--tenant", "shop"}, "\x1f")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "AVIS_TEST_CHILD_ARGS="+args)
	for k, v := range te.vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c, _ := loadConfigFromEnv(te)
	d, err := db.Open(context.Background(), c.DatabaseURL, c.Data, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	count := func() int {
		var n int
		d.R.QueryRow(`SELECT count(*) FROM contacts`).Scan(&n)
		return n
	}
	deadline := time.Now().Add(60 * time.Second)
	for count() == 0 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no chunk landed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Kill() // SIGKILL: no clean-up of any kind
	cmd.Wait()
	landed := count()
	if landed == 0 || landed >= rows {
		t.Fatalf("the import was not cut mid-way (%d of %d landed)", landed, rows)
	}
	out := te.mustRun("", "import", "contacts", file, "--tenant", "shop")
	want := fmt.Sprintf("done: %d rows, %d created, 0 updated, %d unchanged, 0 rejected", rows, rows-landed, landed)
	if !strings.Contains(out, want) {
		t.Fatalf("rerun after kill -9 with %d landed: %s\nwant %s", landed, out, want)
	}
	var n, distinct int
	d.R.QueryRow(`SELECT count(*), count(DISTINCT external_id) FROM contacts`).Scan(&n, &distinct)
	if n != rows || distinct != rows {
		t.Fatalf("%d contacts, %d distinct ids, want %d", n, distinct, rows)
	}
}
