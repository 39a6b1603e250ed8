package crmsync

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"avis/internal/db"
)

func TestFetchHappyPath(t *testing.T) {
	t.Parallel()
	for _, auth := range []string{AuthPassword, AuthKey} {
		t.Run(auth, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			srv := startServer(t)
			ctx := t.Context()

			folder := "drop"
			in := srv.input(folder)
			if auth == AuthKey {
				// An absolute folder, and key login.
				folder = filepath.ToSlash(filepath.Join(srv.Dir, "drop"))
				in.Folder, in.AuthKind, in.Secret = folder, AuthKey, srv.ClientKeyPEM
			}
			srv.put(t, "drop/b.csv", "email\nb@example.com\n", 2*time.Hour)
			srv.put(t, "drop/a.csv", "email\na@example.com\n", 3*time.Hour)
			srv.put(t, "drop/bad.csv", "\x00\x01junk", time.Hour)
			srv.put(t, "drop/notes.txt", "not for avis", 4*time.Hour)
			srv.put(t, "drop/older.csv/inside.csv", "a folder named like a file", 5*time.Hour)
			srv.put(t, "drop/done/b.csv", "imported yesterday", 24*time.Hour)
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
			if got, want := imp.names(), []string{"a.csv", "b.csv", "bad.csv"}; !slices.Equal(got, want) {
				t.Errorf("imported %v, want %v (oldest first, matching regular files only)", got, want)
			}
			for _, c := range imp.calls {
				if c.TenantID != e.tenant || c.Source != "sftp:"+src.ID {
					t.Errorf("ImportFile(%q, %q), want (%q, %q)", c.TenantID, c.Source, e.tenant, "sftp:"+src.ID)
				}
			}
			if imp.calls[0].Content != "email\na@example.com\n" {
				t.Errorf("a.csv reached the engine as %q", imp.calls[0].Content)
			}

			if got := srv.ls(t, "drop"); !slices.Equal(got, []string{"done", "failed", "notes.txt", "older.csv"}) {
				t.Errorf("drop/ holds %v after the fetch, want only done, failed and the files that do not match", got)
			}
			if got := srv.read(t, "drop/done/a.csv"); got != "email\na@example.com\n" {
				t.Errorf("done/a.csv = %q", got)
			}
			if got := srv.read(t, "drop/done/a.csv.report.csv"); got != "report of a.csv" {
				t.Errorf("done/a.csv.report.csv = %q", got)
			}
			if got := srv.read(t, "drop/done/b.csv"); got != "imported yesterday" {
				t.Errorf("the earlier done/b.csv was overwritten: %q", got)
			}
			done := srv.ls(t, "drop/done")
			var renamed string
			for _, n := range done {
				if strings.HasPrefix(n, "b.") && strings.HasSuffix(n, "Z.csv") {
					renamed = n
				}
			}
			if renamed == "" || srv.read(t, "drop/done/"+renamed) != "email\nb@example.com\n" ||
				srv.read(t, "drop/done/"+renamed+".report.csv") != "report of b.csv" {
				t.Errorf("done/ = %v, want the new b.csv under a timestamped name with its report", done)
			}
			if got := srv.read(t, "drop/failed/bad.csv"); got != "\x00\x01junk" {
				t.Errorf("failed/bad.csv = %q", got)
			}
			if got := srv.read(t, "drop/failed/bad.csv.report.csv"); got != "report of bad.csv" {
				t.Errorf("failed/bad.csv.report.csv = %q", got)
			}

			got, err := e.s.Get(ctx, e.tenant, src.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.LastRunAt.IsZero() || got.LastOKAt.IsZero() || got.LastError != "" {
				t.Errorf("after a good fetch: last run %v, last ok %v, last error %q", got.LastRunAt, got.LastOKAt, got.LastError)
			}

			audits := e.imports(t)
			outcomes := map[string]string{}
			for _, d := range audits {
				outcomes[d["file"]] = d["outcome"]
				if !db.ValidID(d["import_id"]) {
					t.Errorf("audit detail %v: no import id", d)
				}
			}
			if want := map[string]string{"a.csv": "done", "b.csv": "done", "bad.csv": "failed"}; !mapsEqual(outcomes, want) {
				t.Errorf("audit outcomes %v, want %v", outcomes, want)
			}

			// A second run finds nothing new.
			res, err = e.s.Fetch(ctx, e.tenant, src.ID, imp)
			if err != nil || res != (FetchResult{}) || len(imp.names()) != 3 {
				t.Errorf("second Fetch = %+v, %v; engine called %d times in all, want 3", res, err, len(imp.names()))
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestFetchRefusals(t *testing.T) {
	t.Parallel()
	other, _ := newSigner(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()

	tests := []struct {
		name   string
		change func(srv *testServer, in *SourceInput)
		// wantErr must all appear in the error and in the source's
		// last error.
		wantErr []string
		wantIs  error
		// noAuth: the server must have seen no authentication attempt.
		noAuth bool
	}{
		{
			name: "wrong host key",
			change: func(_ *testServer, in *SourceInput) {
				in.HostKeyFingerprint = ssh.FingerprintSHA256(other.PublicKey())
			},
			wantErr: []string{"host key is SHA256:", "not the " + ssh.FingerprintSHA256(other.PublicKey()) + " you configured", "check with the server's administrator"},
			wantIs:  ErrHostKeyMismatch,
			noAuth:  true,
		},
		{
			name:    "wrong password",
			change:  func(_ *testServer, in *SourceInput) { in.Secret = "not-the-password" },
			wantErr: []string{"refused the login", "check the user name and the password"},
			wantIs:  errAuth,
		},
		{
			name: "wrong key",
			change: func(_ *testServer, in *SourceInput) {
				_, pem := newSigner(t)
				in.AuthKind, in.Secret = AuthKey, pem
			},
			wantErr: []string{"refused the login", "private key"},
			wantIs:  errAuth,
		},
		{
			name:    "unreachable host",
			change:  func(_ *testServer, in *SourceInput) { in.Port = closedPort },
			wantErr: []string{"cannot reach the SFTP server at 127.0.0.1:", "check the host and port"},
			noAuth:  true,
		},
		{
			name:    "missing folder",
			change:  func(_ *testServer, in *SourceInput) { in.Folder = "no/such/folder" },
			wantErr: []string{"the folder no/such/folder does not exist on the SFTP server", "correct the folder"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			srv := startServer(t)
			srv.put(t, "drop/a.csv", "email\na@example.com\n", time.Hour)
			in := srv.input("drop")
			tt.change(srv, &in)
			src := e.create(t, in)
			imp := &recImporter{}
			_, err := e.s.Fetch(t.Context(), e.tenant, src.ID, imp)
			if err == nil {
				t.Fatal("Fetch succeeded")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Fetch error %v does not wrap %v", err, tt.wantIs)
			}
			got, gerr := e.s.Get(t.Context(), e.tenant, src.ID)
			if gerr != nil {
				t.Fatal(gerr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Fetch error %q does not say %q", err, w)
				}
				if !strings.Contains(got.LastError, w) {
					t.Errorf("last error %q does not say %q", got.LastError, w)
				}
			}
			knownProblem(t, got.LastError)
			if strings.Contains(got.LastError, srv.Password) || strings.Contains(err.Error(), srv.Password) {
				t.Error("the error quotes the password")
			}
			if tt.noAuth && srv.AuthAttempts.Load() != 0 {
				t.Errorf("the server saw %d authentication attempts, want none", srv.AuthAttempts.Load())
			}
			if got.LastRunAt.IsZero() || !got.LastOKAt.IsZero() {
				t.Errorf("last run %v, last ok %v: want a run and no success", got.LastRunAt, got.LastOKAt)
			}
			if len(imp.names()) != 0 || srv.read(t, "drop/a.csv") == "<none>" {
				t.Error("a file was imported or moved")
			}
		})
	}
}

func TestFetchImporterErrorLeavesFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	srv := startServer(t)
	ctx := t.Context()
	srv.put(t, "drop/a.csv", "email\na@example.com\n", 2*time.Hour)
	srv.put(t, "drop/b.csv", "email\nb@example.com\n", time.Hour)
	src := e.create(t, srv.input("drop"))

	down := &recImporter{decide: func(string, []byte) (ImportResult, error) {
		return ImportResult{}, errors.New("database is down")
	}}
	res, err := e.s.Fetch(ctx, e.tenant, src.ID, down)
	if err == nil || !strings.Contains(err.Error(), "database is down") {
		t.Fatalf("Fetch = %v, want the engine's error", err)
	}
	if res != (FetchResult{Skipped: 2}) || len(down.names()) != 1 {
		t.Errorf("Fetch = %+v after %d imports, want both files skipped after the first error", res, len(down.names()))
	}
	got, _ := e.s.Get(ctx, e.tenant, src.ID)
	if !strings.Contains(got.LastError, "a.csv") || !strings.Contains(got.LastError, "database is down") || !strings.Contains(got.LastError, "stays in the folder") {
		t.Errorf("last error = %q", got.LastError)
	}
	if srv.read(t, "drop/a.csv") == "<none>" || srv.read(t, "drop/b.csv") == "<none>" {
		t.Error("a file was moved although the engine failed")
	}
	if a := e.imports(t); len(a) != 1 || a[0]["outcome"] != "error" {
		t.Errorf("audit = %v, want one error", a)
	}

	// The next run imports both and clears the error.
	up := &recImporter{}
	res, err = e.s.Fetch(ctx, e.tenant, src.ID, up)
	if err != nil || res != (FetchResult{Imported: 2}) {
		t.Fatalf("Fetch after recovery = %+v, %v", res, err)
	}
	got, _ = e.s.Get(ctx, e.tenant, src.ID)
	if got.LastError != "" || got.LastOKAt.IsZero() {
		t.Errorf("after recovery: last error %q, last ok %v", got.LastError, got.LastOKAt)
	}
}

func TestFetchLeavesFilesBeingWritten(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.s.settle = 300 * time.Millisecond
	srv := startServer(t)
	srv.put(t, "drop/ready.csv", "email\na@example.com\n", time.Hour)
	srv.put(t, "drop/growing.csv", "email\n", 0)
	src := e.create(t, srv.input("drop"))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		f, err := os.OpenFile(filepath.Join(srv.Dir, "drop", "growing.csv"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
				fmt.Fprintf(f, "row%d@example.com\n", i)
			}
		}
	}()
	imp := &recImporter{}
	res, err := e.s.Fetch(t.Context(), e.tenant, src.ID, imp)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if res != (FetchResult{Imported: 1, Skipped: 1}) || !slices.Equal(imp.names(), []string{"ready.csv"}) {
		t.Errorf("Fetch = %+v importing %v, want ready.csv only and the growing file skipped", res, imp.names())
	}
}

func TestFetchLimitPerRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	srv := startServer(t)
	for i := range MaxFilesPerRun + 5 {
		srv.put(t, fmt.Sprintf("drop/f%03d.csv", i), "x", time.Duration(MaxFilesPerRun+5-i)*time.Minute)
	}
	src := e.create(t, srv.input("drop"))
	imp := &recImporter{}
	res, err := e.s.Fetch(t.Context(), e.tenant, src.ID, imp)
	if err != nil {
		t.Fatal(err)
	}
	if res != (FetchResult{Imported: MaxFilesPerRun, Skipped: 5}) {
		t.Errorf("Fetch = %+v", res)
	}
	if n := imp.names(); n[0] != "f000.csv" || n[len(n)-1] != fmt.Sprintf("f%03d.csv", MaxFilesPerRun-1) {
		t.Errorf("imported %s … %s, want the oldest first", n[0], n[len(n)-1])
	}
	res, err = e.s.Fetch(t.Context(), e.tenant, src.ID, imp)
	if err != nil || res != (FetchResult{Imported: 5}) {
		t.Errorf("second Fetch = %+v, %v", res, err)
	}
}

func TestFetchCancelClosesConnection(t *testing.T) {
	t.Parallel()
	// A server that accepts TCP connections and never says a word.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})

	e := newEnv(t)
	e.s.dialTimeout = time.Minute
	srv := startServer(t)
	in := srv.input("drop")
	in.Port = ln.Addr().(*net.TCPAddr).Port
	src := e.create(t, in)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = e.s.Fetch(ctx, e.tenant, src.ID, &recImporter{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Fetch = %v, want the context's error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Fetch took %s after its context ended", d)
	}
	got, _ := e.s.Get(t.Context(), e.tenant, src.ID)
	if got.LastError == "" {
		t.Error("no last error recorded for a cancelled fetch")
	}
}

func TestHostKeyFingerprint(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	got, err := HostKeyFingerprint(t.Context(), srv.Host, srv.Port)
	if err != nil {
		t.Fatal(err)
	}
	if want := ssh.FingerprintSHA256(srv.HostKey.PublicKey()); got != want {
		t.Errorf("HostKeyFingerprint = %s, want %s", got, want)
	}
	if n := srv.AuthAttempts.Load(); n != 0 {
		t.Errorf("reading the host key made %d authentication attempts, want none", n)
	}
	if fp, err := ParseFingerprint(got); err != nil || fp != got {
		t.Errorf("ParseFingerprint(HostKeyFingerprint()) = %q, %v", fp, err)
	}

	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	port := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	if _, err := HostKeyFingerprint(t.Context(), "127.0.0.1", port); err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Errorf("HostKeyFingerprint of a closed port = %v", err)
	}
	if _, err := HostKeyFingerprint(t.Context(), "127.0.0.1", 0); err == nil {
		t.Error("HostKeyFingerprint accepted port 0")
	}
}

// TestFetchCrashBeforeMove: a run that stops after the engine imported a
// file but before the file was moved leaves it in the folder; the next run
// imports it again and moves it, replacing a report left half-way.
func TestFetchCrashBeforeMove(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	srv := startServer(t)
	srv.put(t, "drop/a.csv", "email\na@example.com\n", time.Hour)
	src := e.create(t, srv.input("drop"))

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	firstID := db.NewID()
	dying := &recImporter{decide: func(string, []byte) (ImportResult, error) {
		cancel() // the process dies right after the import
		return ImportResult{ImportID: firstID, OK: true, ReportCSV: []byte("first")}, nil
	}}
	if _, err := e.s.Fetch(ctx, e.tenant, src.ID, dying); err == nil {
		t.Fatal("Fetch succeeded although its context ended before the move")
	}
	if srv.read(t, "drop/a.csv") == "<none>" {
		t.Fatal("a.csv left the folder although the run stopped before moving it")
	}
	if a := e.imports(t); len(a) != 1 || a[0]["import_id"] != firstID || a[0]["outcome"] == "done" {
		t.Errorf("audit = %v, want the interrupted import", a)
	}
	// A report written just before a crash.
	srv.put(t, "drop/done/a.csv.report.csv", "stale", 0)

	imp := &recImporter{}
	res, err := e.s.Fetch(t.Context(), e.tenant, src.ID, imp)
	if err != nil || res != (FetchResult{Imported: 1}) {
		t.Fatalf("next Fetch = %+v, %v", res, err)
	}
	if srv.read(t, "drop/done/a.csv") != "email\na@example.com\n" || srv.read(t, "drop/done/a.csv.report.csv") == "stale" {
		t.Errorf("done/ = %v: want a.csv under its own name with a fresh report", srv.ls(t, "drop/done"))
	}
}

// TestFetchAuditWithholdsPhoneLikeNames: a file name the audit log takes for
// personal data is imported all the same; the audit keeps the import id and
// withholds the name.
func TestFetchAuditWithholdsPhoneLikeNames(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	srv := startServer(t)
	name := "rappel 06 12 34 56 78.csv"
	srv.put(t, "drop/"+name, "email\na@example.com\n", time.Hour)
	src := e.create(t, srv.input("drop"))
	res, err := e.s.Fetch(t.Context(), e.tenant, src.ID, &recImporter{})
	if err != nil || res != (FetchResult{Imported: 1}) {
		t.Fatalf("Fetch = %+v, %v", res, err)
	}
	a := e.imports(t)
	if len(a) != 1 || a[0]["outcome"] != "done" || !db.ValidID(a[0]["import_id"]) || strings.Contains(a[0]["file"], "12 34") {
		t.Errorf("audit = %v, want the outcome and import id without the name", a)
	}
}
