package crmsync

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/text/encoding/charmap"

	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/db"
)

// readCSV parses an export file of the in-process server.
func readCSV(t *testing.T, content string, comma rune) [][]string {
	t.Helper()
	r := csv.NewReader(strings.NewReader(content))
	r.Comma = comma
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("the export is not valid CSV: %v\n%s", err, content)
	}
	return recs
}

// exported returns the names of the files the run wrote in dir, and fails
// when an upload (.part) was left behind.
func exportedFiles(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// TestExportResponsesCSV exports responses to a real SFTP server: the file
// appears under its final name only, holds exactly the rows of the
// database in the documented columns, defuses formulas, leaves comments
// and personal fields out by default; the next run writes only what
// changed since.
func TestExportResponsesCSV(t *testing.T) {
	ctx := context.Background()
	e := newExportEnv(t)
	srv := startServer(t)
	if err := os.MkdirAll(filepath.Join(srv.Dir, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	alice := e.contact(t, contact.Input{ExternalID: "CRM-1", Email: "alice@example.com", FirstName: "Alice"})
	evil := e.contact(t, contact.Input{ExternalID: "=HYPERLINK(\"http://evil.example/\",\"x\")", Email: "evil@example.com"})
	r1 := e.seedResponse(t, alice, 9, "Très bien, merci")
	r2 := e.seedResponse(t, evil, 3, "=1+1")
	r3 := e.seedResponse(t, "", 7, "")
	e.x.chunk = 2 // three rows: two pages

	sc := e.schedule(t, srv.exportInput("out"))
	run, err := e.x.Run(ctx, e.tenant, sc.ID, CauseManual)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if run.Outcome != RunOK || run.Rows != 3 || len(run.Files) != 1 {
		t.Fatalf("run = %+v, want ok with 3 rows in one file", run)
	}
	files := exportedFiles(t, filepath.Join(srv.Dir, "out"))
	if !slices.Equal(files, run.Files) || !strings.HasPrefix(files[0], "avis-responses-") || !strings.HasSuffix(files[0], ".csv") {
		t.Fatalf("the folder holds %v, want exactly the file of the run %v", files, run.Files)
	}
	content := srv.read(t, "out/"+files[0])
	if int64(len(content)) != run.Bytes {
		t.Errorf("the run counted %d bytes, the file has %d", run.Bytes, len(content))
	}
	recs := readCSV(t, content, ',')
	if !slices.Equal(recs[0], responseColumns(false)) {
		t.Errorf("header = %v, want %v", recs[0], responseColumns(false))
	}
	if len(recs) != 4 {
		t.Fatalf("%d rows, want 3 and the header:\n%s", len(recs)-1, content)
	}
	want := map[string][]string{
		r1: {"CRM-1", "9", "promoter"},
		r2: {"'=HYPERLINK(\"http://evil.example/\",\"x\")", "3", "detractor"},
		r3: {"", "7", "passive"},
	}
	col := func(name string) int { return slices.Index(recs[0], name) }
	for _, rec := range recs[1:] {
		w, ok := want[rec[0]]
		if !ok {
			t.Errorf("row of an unknown response %q", rec[0])
			continue
		}
		delete(want, rec[0])
		got := []string{rec[col("contact_external_id")], rec[col("nps")], rec[col("nps_category")]}
		if !slices.Equal(got, w) {
			t.Errorf("response %s: external id, nps, category = %q, want %q", rec[0], got, w)
		}
		if rec[col("survey_id")] != "survey1" || rec[col("survey_version")] != "3" || rec[col("step_id")] != "step1" ||
			rec[col("status")] != "complete" || rec[col("choices")] != `{"q2":["price","speed"]}` {
			t.Errorf("response %s: %q", rec[0], rec)
		}
		if _, err := time.Parse(time.RFC3339, rec[col("completed_at")]); err != nil {
			t.Errorf("completed_at %q: %v", rec[col("completed_at")], err)
		}
	}
	if len(want) > 0 {
		t.Errorf("responses missing from the file: %v", want)
	}
	for _, secret := range []string{"alice@example.com", "Alice", "Très bien", "=1+1"} {
		if strings.Contains(content, secret) {
			t.Errorf("the file holds %q although the schedule exports no personal data", secret)
		}
	}

	// Nothing new: no file.
	again, err := e.x.Run(ctx, e.tenant, sc.ID, CauseSchedule)
	if err != nil || again.Outcome != RunNothing || len(exportedFiles(t, filepath.Join(srv.Dir, "out"))) != 1 {
		t.Fatalf("second run = %+v, %v: want nothing written", again, err)
	}
	// One more response: the next file holds it alone.
	r4 := e.seedResponse(t, alice, 10, "")
	e.x.now = func() time.Time { return time.Now().Add(time.Second) }
	third, err := e.x.Run(ctx, e.tenant, sc.ID, CauseSchedule)
	if err != nil || third.Outcome != RunOK || third.Rows != 1 {
		t.Fatalf("third run = %+v, %v", third, err)
	}
	recs = readCSV(t, srv.read(t, "out/"+third.Files[0]), ',')
	if len(recs) != 2 || recs[1][0] != r4 {
		t.Fatalf("third file = %v, want the new response only", recs)
	}
	log, err := e.x.Runs(ctx, e.tenant, sc.ID, 10)
	if err != nil || len(log) != 3 || log[0].Outcome != RunOK || log[1].Outcome != RunNothing || log[2].Rows != 3 {
		t.Fatalf("export log = %+v, %v", log, err)
	}
	got, _ := e.x.Get(ctx, e.tenant, sc.ID)
	if got.LastOKAt.IsZero() || got.LastError != "" || got.ResponseSeq == 0 {
		t.Errorf("schedule after the runs: %+v", got)
	}
	recsAudit, _ := e.a.List(ctx, e.tenant, audit.Filter{Action: "export.run"})
	if len(recsAudit) != 2 {
		t.Errorf("%d export.run audit entries, want 2 (the runs that wrote files)", len(recsAudit))
	}
}

// TestExportGroupedCommit: the rows of one grouped commit share a
// sequence number; a page that ends among them goes on with the rest of
// them, so every response is in the file exactly once, and the next run
// has nothing left to write.
func TestExportGroupedCommit(t *testing.T) {
	ctx := context.Background()
	e := newExportEnv(t)
	srv := startServer(t)
	if err := os.MkdirAll(filepath.Join(srv.Dir, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for i := range 7 {
		want[e.seedResponse(t, "", i, "")] = true
	}
	// Five of them committed together: one sequence number.
	if _, err := e.d.W.ExecContext(ctx, `UPDATE responses SET sync_seq = (SELECT MIN(sync_seq) FROM responses WHERE tenant_id = $1)
		WHERE tenant_id = $1 AND sync_seq < (SELECT MIN(sync_seq) FROM responses WHERE tenant_id = $1) + 5`, e.tenant); err != nil {
		t.Fatal(err)
	}
	e.x.chunk = 2 // pages end inside the group
	sc := e.schedule(t, srv.exportInput("out"))
	run, err := e.x.Run(ctx, e.tenant, sc.ID, CauseManual)
	if err != nil || run.Outcome != RunOK || run.Rows != 7 {
		t.Fatalf("Run = %+v, %v: want 7 rows", run, err)
	}
	recs := readCSV(t, srv.read(t, "out/"+run.Files[0]), ',')
	for _, rec := range recs[1:] {
		if !want[rec[0]] {
			t.Errorf("response %s written twice or unknown", rec[0])
		}
		delete(want, rec[0])
	}
	if len(want) > 0 {
		t.Errorf("responses missing from the file: %v", want)
	}
	again, err := e.x.Run(ctx, e.tenant, sc.ID, CauseSchedule)
	if err != nil || again.Outcome != RunNothing {
		t.Fatalf("second run = %+v, %v: want nothing written", again, err)
	}
}

// TestExportFormats writes every kind in each format with the personal
// switch on: the Windows-1252 file decodes back to the same text (with ?
// for what it cannot hold), JSON Lines holds one object per row, and an
// erased person's comment and address are simply absent.
func TestExportFormats(t *testing.T) {
	ctx := context.Background()
	e := newExportEnv(t)
	srv := startServer(t)
	zoe := e.contact(t, contact.Input{ExternalID: "CRM-7", Email: "zoe@example.com", FirstName: "Zoé", LastName: "Lefèvre"})
	gone := e.contact(t, contact.Input{ExternalID: "CRM-8", Email: "gone@example.com", FirstName: "Gone"})
	rz := e.seedResponse(t, zoe, 10, "Élégant; rapide 🚀 « parfait »")
	rg := e.seedResponse(t, gone, 2, "to be erased")
	inv := e.seedInvitation(t, zoe, "answered")
	e.seedUnsubscribe(t, zoe, "CRM-7")
	if err := e.contacts.Erase(ctx, e.admin, e.tenant, gone); err != nil {
		t.Fatal(err)
	}

	for _, format := range []string{FormatCSV, FormatCSVExcel, FormatJSONL} {
		t.Run(format, func(t *testing.T) {
			folder := "out-" + format
			os.MkdirAll(filepath.Join(srv.Dir, folder), 0o755)
			in := srv.exportInput(folder)
			in.Name, in.Format, in.Personal = "all "+format, format, true
			in.Kinds = []string{KindUnsubscribes, KindResponses, KindInvitations}
			in.FilePattern = "{what}-{date}.dat"
			sc := e.schedule(t, in)
			run, err := e.x.Run(ctx, e.tenant, sc.ID, CauseManual)
			if err != nil {
				t.Fatal(err)
			}
			day := time.Now().In(mustZone(t, "Europe/Paris")).Format("2006-01-02")
			wantFiles := []string{"responses-" + day + ".dat", "invitations-" + day + ".dat", "unsubscribes-" + day + ".dat"}
			if !slices.Equal(run.Files, wantFiles) {
				t.Fatalf("files %v, want %v", run.Files, wantFiles)
			}
			read := func(name string) string {
				b := srv.read(t, folder+"/"+name)
				if format == FormatCSVExcel {
					dec, err := charmap.Windows1252.NewDecoder().String(b)
					if err != nil {
						t.Fatal(err)
					}
					return dec
				}
				return b
			}
			resp := read(wantFiles[0])
			switch format {
			case FormatJSONL:
				lines := strings.Split(strings.TrimSuffix(resp, "\n"), "\n")
				if len(lines) != 2 {
					t.Fatalf("%d lines, want 2:\n%s", len(lines), resp)
				}
				byID := map[string]responseLine{}
				for _, l := range lines {
					var rl responseLine
					if err := json.Unmarshal([]byte(l), &rl); err != nil {
						t.Fatalf("line %q: %v", l, err)
					}
					byID[rl.ResponseID] = rl
				}
				z := byID[rz]
				if z.ContactExternalID != "CRM-7" || z.Comments["q3"] != "Élégant; rapide 🚀 « parfait »" || z.Contact == nil ||
					z.Contact.Email != "zoe@example.com" || len(z.Scores) != 1 || z.Scores[0].Value != 10 || z.Scores[0].Category != "promoter" {
					t.Errorf("Zoé's line: %+v", z)
				}
				g := byID[rg]
				if g.ContactExternalID != "" || len(g.Comments) != 0 || g.Contact != nil || len(g.Scores) != 1 {
					t.Errorf("the erased person's line: %+v (want scores only)", g)
				}
			default:
				comma := ','
				comment := "Élégant; rapide 🚀 « parfait »"
				if format == FormatCSVExcel {
					comma, comment = ';', "Élégant; rapide ? « parfait »"
				}
				recs := readCSV(t, resp, comma)
				if !slices.Equal(recs[0], responseColumns(true)) {
					t.Fatalf("header %v", recs[0])
				}
				col := func(name string) int { return slices.Index(recs[0], name) }
				for _, rec := range recs[1:] {
					switch rec[0] {
					case rz:
						var comments map[string]string
						json.Unmarshal([]byte(rec[col("comments")]), &comments)
						if comments["q3"] != comment || rec[col("first_name")] != "Zoé" || rec[col("last_name")] != "Lefèvre" ||
							rec[col("email")] != "zoe@example.com" {
							t.Errorf("Zoé's row: %q", rec)
						}
					case rg:
						if rec[col("comments")] != "" || rec[col("email")] != "" || rec[col("contact_external_id")] != "" || rec[col("nps")] != "2" {
							t.Errorf("the erased person's row: %q", rec)
						}
					default:
						t.Errorf("unknown row %q", rec)
					}
				}
				if strings.Contains(resp, "to be erased") || strings.Contains(resp, "gone@example.com") {
					t.Error("the erased person's data is in the file")
				}
			}
			invs := read(wantFiles[1])
			if !strings.Contains(invs, inv) || !strings.Contains(invs, "answered") || !strings.Contains(invs, "CRM-7") {
				t.Errorf("invitations file:\n%s", invs)
			}
			uns := read(wantFiles[2])
			if !strings.Contains(uns, "CRM-7") || !strings.Contains(uns, "zoe@example.com") || strings.Contains(uns, "CRM-8") {
				t.Errorf("unsubscribes file:\n%s", uns)
			}
		})
	}
	// The personal switch was audited with each schedule.
	recs, _ := e.a.List(ctx, e.tenant, audit.Filter{Action: "export.create"})
	if len(recs) != 3 || recs[0].Detail["personal"] != "yes" {
		t.Errorf("export.create audit entries: %+v", recs)
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestExportInterrupted cuts the connection in the middle of an upload: no
// file gets its final name, the watermark stays, the log says why; the next
// run exports every row.
func TestExportInterrupted(t *testing.T) {
	ctx := context.Background()
	e := newExportEnv(t)
	srv := startServer(t)
	os.MkdirAll(filepath.Join(srv.Dir, "out"), 0o755)
	c := e.contact(t, contact.Input{ExternalID: "CRM-1", Email: "a@example.com"})
	var ids []string
	for i := range 400 {
		ids = append(ids, e.seedResponse(t, c, i%11, ""))
	}
	e.x.chunk = 50
	proxy := startCutProxy(t, net.JoinHostPort(srv.Host, strconv.Itoa(srv.Port)))
	proxy.limit.Store(40 << 10) // the SSH handshake, then part of the file
	in := srv.exportInput("out")
	in.Host, in.Port = proxy.Host, proxy.Port
	sc := e.schedule(t, in)

	run, err := e.x.Run(ctx, e.tenant, sc.ID, CauseSchedule)
	if err == nil || run.Outcome != RunFailed {
		t.Fatalf("run through a connection cut after 40 KB = %+v, %v: want a failure", run, err)
	}
	if !strings.Contains(run.Error, "closed the connection") {
		t.Errorf("the log says %q: want the connection closed by the server", run.Error)
	}
	knownProblem(t, run.Error)
	for _, f := range exportedFiles(t, filepath.Join(srv.Dir, "out")) {
		if !strings.HasSuffix(f, partSuffix) {
			t.Errorf("the interrupted run left a final file %s", f)
		}
	}
	got, _ := e.x.Get(ctx, e.tenant, sc.ID)
	if got.ResponseSeq != 0 || got.LastError == "" || got.Failures != 1 {
		t.Fatalf("after the failure: watermark %d, last error %q, failures %d", got.ResponseSeq, got.LastError, got.Failures)
	}

	proxy.limit.Store(0)
	run, err = e.x.Run(ctx, e.tenant, sc.ID, CauseSchedule)
	if err != nil || run.Rows != 400 {
		t.Fatalf("the next run = %+v, %v: want all 400 rows", run, err)
	}
	recs := readCSV(t, srv.read(t, "out/"+run.Files[0]), ',')
	var seen []string
	for _, r := range recs[1:] {
		seen = append(seen, r[0])
	}
	slices.Sort(seen)
	slices.Sort(ids)
	if !slices.Equal(seen, ids) {
		t.Errorf("the file holds %d responses, want the 400 written", len(seen))
	}
	if got, _ := e.x.Get(ctx, e.tenant, sc.ID); got.LastError != "" || got.Failures != 0 {
		t.Errorf("after the success: %+v", got)
	}
}

// TestExportRefused: a wrong host key, a refused login, a full disk and a
// read-only server each fail the run (or the connection test) with a
// plain error in the log, and write no file.
func TestExportRefused(t *testing.T) {
	ctx := context.Background()
	e := newExportEnv(t)
	srv := startServer(t)
	c := e.contact(t, contact.Input{ExternalID: "CRM-1"})
	for range 30 {
		e.seedResponse(t, c, 8, "")
	}
	other, _ := newSigner(t)
	full := startFullServer(t, 1500)

	tests := []struct {
		name string
		in   func() ExportInput
		want string
		is   error
	}{
		{"wrong host key", func() ExportInput {
			in := srv.exportInput(".")
			in.HostKeyFingerprint = ssh.FingerprintSHA256(other.PublicKey())
			return in
		}, "host key is " + srv.fingerprint(), ErrHostKeyMismatch},
		{"refused password", func() ExportInput {
			in := srv.exportInput(".")
			in.Secret = "not the password"
			return in
		}, "refused the login", errAuth},
		{"refused key", func() ExportInput {
			_, pem := newSigner(t)
			in := srv.exportInput(".")
			in.AuthKind, in.Secret = AuthKey, pem
			return in
		}, "refused the login", errAuth},
		{"missing folder", func() ExportInput { return srv.exportInput("nowhere") }, "does not exist", nil},
		{"disk full", func() ExportInput {
			in := full.exportInput("/")
			return in
		}, "disk is full", ErrDiskFull},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in()
			in.Name = tc.name
			sc := e.schedule(t, in)
			run, err := e.x.Run(ctx, e.tenant, sc.ID, CauseSchedule)
			if err == nil || run.Outcome != RunFailed || !strings.Contains(run.Error, tc.want) {
				t.Fatalf("run = %+v, %v: want a failure saying %q", run, err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v does not match %v", err, tc.is)
			}
			log, _ := e.x.Runs(ctx, e.tenant, sc.ID, 5)
			got, _ := e.x.Get(ctx, e.tenant, sc.ID)
			if len(log) != 1 || log[0].Error != run.Error || got.LastError != run.Error || got.ResponseSeq != 0 {
				t.Errorf("log %+v, schedule %+v", log, got)
			}
			terr := e.x.Test(ctx, e.tenant, sc.ID)
			if terr == nil || (tc.name != "disk full" && !strings.Contains(terr.Error(), tc.want)) {
				t.Errorf("Test = %v, want a failure saying %q", terr, tc.want)
			}
			knownProblem(t, run.Error)
			if terr != nil {
				knownProblem(t, terr.Error())
			}
		})
	}
	for _, f := range full.files(t, ctx) {
		if !strings.HasSuffix(f, partSuffix) {
			t.Errorf("the full server holds a final file %s", f)
		}
	}
	if n := len(exportedFiles(t, srv.Dir)); n != 0 {
		t.Errorf("the server holds %d files after refused runs", n)
	}
}

// TestExportTestConnection writes and removes the probe on a writable
// server and says "permission denied" on a read-only one.
func TestExportTestConnection(t *testing.T) {
	ctx := context.Background()
	e := newExportEnv(t)
	srv := startServer(t)
	sc := e.schedule(t, srv.exportInput("."))
	if err := e.x.Test(ctx, e.tenant, sc.ID); err != nil {
		t.Fatalf("Test: %v", err)
	}
	if files := exportedFiles(t, srv.Dir); len(files) != 0 {
		t.Errorf("the probe was left behind: %v", files)
	}

	ro := startReadOnlyServer(t)
	in := ro.exportInput(".")
	in.Name = "read-only"
	sc = e.schedule(t, in)
	err := e.x.Test(ctx, e.tenant, sc.ID)
	if !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), "does not let this user write") {
		t.Fatalf("Test on a read-only server = %v, want permission denied in plain words", err)
	}
	knownProblem(t, err.Error())
}

// readOnly refuses every write, as a folder the user may only read.
type readOnly struct{}

func (readOnly) Filewrite(*sftp.Request) (io.WriterAt, error) {
	return nil, sftp.ErrSSHFxPermissionDenied
}

// startReadOnlyServer is an in-process SFTP server refusing every write.
func startReadOnlyServer(t *testing.T) *testServer {
	t.Helper()
	return startMemServer(t, func(sftp.FileWriter) sftp.FileWriter { return readOnly{} }).testServer
}

// TestExportCheck lists what an admin gets wrong and the field it is
// shown next to.
func TestExportCheck(t *testing.T) {
	e := newExportEnv(t)
	srv := startServer(t)
	tests := []struct {
		name  string
		edit  func(*ExportInput)
		field string
		want  string
	}{
		{"no name", func(in *ExportInput) { in.Name = " " }, "name", "name is empty"},
		{"nothing to export", func(in *ExportInput) { in.Kinds = nil }, "kinds", "choose what to export"},
		{"unknown kind", func(in *ExportInput) { in.Kinds = []string{"contacts"} }, "kinds", "not something avis exports"},
		{"bad cron", func(in *ExportInput) { in.Cron = "every night" }, "cron", "not valid cron syntax"},
		{"too often", func(in *ExportInput) { in.Cron = "* * * * *" }, "cron", "more often than every 5 minutes"},
		{"never", func(in *ExportInput) { in.Cron = "0 0 30 2 *" }, "cron", "never runs"},
		{"zone in cron", func(in *ExportInput) { in.Cron = "CRON_TZ=UTC 0 2 * * *" }, "cron", "time zone in its own field"},
		{"bad zone", func(in *ExportInput) { in.TimeZone = "Paris" }, "time_zone", "not a known time zone"},
		{"scheme in host", func(in *ExportInput) { in.Host = "sftp://files.example.com" }, "host", "without a scheme"},
		{"bad host", func(in *ExportInput) { in.Host = "user@files" }, "host", "name or an IP address only"},
		{"no fingerprint", func(in *ExportInput) { in.HostKeyFingerprint = "" }, "fingerprint", "fingerprint is missing"},
		{"bad fingerprint", func(in *ExportInput) { in.HostKeyFingerprint = "SHA256:abc" }, "fingerprint", "not valid"},
		{"bad port", func(in *ExportInput) { in.Port = 70000 }, "port", "between 1 and 65535"},
		{"FTPS with a key", func(in *ExportInput) { in.Protocol, in.AuthKind = ProtocolFTPS, AuthKey }, "auth", "password only"},
		{"bad certificate pin", func(in *ExportInput) { in.Protocol, in.TLSFingerprint = ProtocolFTPS, "12:34" }, "tls_fingerprint", "64 hexadecimal"},
		{"folder up", func(in *ExportInput) { in.Folder = "../etc" }, "folder", "must not contain"},
		{"pattern with a folder", func(in *ExportInput) { in.FilePattern = "out/{date}.csv" }, "pattern", "must not contain /"},
		{"pattern without date", func(in *ExportInput) { in.FilePattern = "avis.csv" }, "pattern", "{date} or {time}"},
		{"pattern without what", func(in *ExportInput) {
			in.Kinds, in.FilePattern = []string{KindResponses, KindInvitations}, "avis-{date}.csv"
		}, "pattern", "must contain {what}"},
		{"unknown placeholder", func(in *ExportInput) { in.FilePattern = "{tenant}-{date}.csv" }, "pattern", "{tenant}"},
		{"part pattern", func(in *ExportInput) { in.FilePattern = "{date}.part" }, "pattern", ".part"},
		{"no password", func(in *ExportInput) { in.Secret = "" }, "secret", "password is empty"},
		{"public key", func(in *ExportInput) { in.AuthKind, in.Secret = AuthKey, "ssh-ed25519 AAAA" }, "secret", "private key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := srv.exportInput(".")
			tc.edit(&in)
			_, err := e.x.Create(context.Background(), e.admin, e.tenant, in, false)
			if !errors.Is(err, ErrInvalidExport) {
				t.Fatalf("Create = %v, want ErrInvalidExport", err)
			}
			probs := ExportProblems(err)
			found := false
			for _, p := range probs {
				if p.Field == tc.field && strings.Contains(p.English(), tc.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("problems %v, want one on %s saying %q", probs, tc.field, tc.want)
			}
		})
	}
	// Several problems come back together, each with its field.
	_, err := e.x.Create(context.Background(), e.admin, e.tenant, ExportInput{Protocol: ProtocolSFTP, Cron: "x"}, false)
	if n := len(ExportProblems(err)); n < 5 {
		t.Errorf("an empty form gives %d problems: %v", n, err)
	}
}

// TestExportDue: a schedule is due at its cron time in its zone, and
// Enqueue's advance moves it to the next one.
func TestExportDue(t *testing.T) {
	ctx := context.Background()
	e := newExportEnv(t)
	srv := startServer(t)
	paris := mustZone(t, "Europe/Paris")
	now := time.Date(2026, 3, 28, 23, 0, 0, 0, time.UTC) // 00:00 in Paris on the 29th (before the clock change)
	e.x.now = func() time.Time { return now }
	in := srv.exportInput(".")
	in.Cron = "30 3 * * *" // 03:30 in Paris: 01:30 UTC on 29 March (summer time from 02:00)
	sc := e.schedule(t, in)
	want := time.Date(2026, 3, 29, 3, 30, 0, 0, paris)
	if !sc.NextRunAt.Equal(want) {
		t.Fatalf("next run %v, want %v", sc.NextRunAt, want.UTC())
	}
	if due, _ := e.x.Due(ctx, want.Add(-time.Second)); len(due) != 0 {
		t.Fatalf("due a second early: %v", due)
	}
	due, err := e.x.Due(ctx, want)
	if err != nil || len(due) != 1 {
		t.Fatalf("Due at its time = %v, %v", due, err)
	}
	if err := e.x.advance(ctx, e.d.W, due[0], want); err != nil {
		t.Fatal(err)
	}
	got, _ := e.x.Get(ctx, e.tenant, sc.ID)
	if next := time.Date(2026, 3, 30, 3, 30, 0, 0, paris); !got.NextRunAt.Equal(next) {
		t.Errorf("after the run, next %v, want %v", got.NextRunAt, next.UTC())
	}
	// Disabled: never due.
	in.Enabled = false
	if _, err := e.x.Update(ctx, e.admin, e.tenant, sc.ID, in); err != nil {
		t.Fatal(err)
	}
	if due, _ := e.x.Due(ctx, want.Add(72*time.Hour)); len(due) != 0 {
		t.Errorf("a disabled schedule is due: %v", due)
	}
}

// TestExportIsolation: another tenant's schedule is not found, and a run
// never exports another tenant's rows.
func TestExportIsolation(t *testing.T) {
	ctx := context.Background()
	e := newExportEnv(t)
	srv := startServer(t)
	c := e.contact(t, contact.Input{ExternalID: "MINE"})
	e.seedResponse(t, c, 9, "")
	sc := e.schedule(t, srv.exportInput("."))
	if _, err := e.x.Get(ctx, e.other, sc.ID); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("another tenant reads the schedule: %v", err)
	}
	if _, err := e.x.Run(ctx, e.other, sc.ID, CauseManual); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("another tenant runs the schedule: %v", err)
	}
	if err := e.x.Delete(ctx, e.admin, e.other, sc.ID); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("another tenant deletes the schedule: %v", err)
	}
	// The other tenant's schedule, on the same server, sees none of it.
	e.tenant, e.other = e.other, e.tenant
	in := srv.exportInput(".")
	in.Name = "theirs"
	theirs := e.schedule(t, in)
	run, err := e.x.Run(ctx, e.tenant, theirs.ID, CauseManual)
	if err != nil || run.Outcome != RunNothing {
		t.Errorf("the other tenant's run = %+v, %v: want nothing", run, err)
	}
}

// TestExportFromNow: a schedule created "from now" exports only what
// changes after it.
func TestExportFromNow(t *testing.T) {
	ctx := context.Background()
	e := newExportEnv(t)
	srv := startServer(t)
	c := e.contact(t, contact.Input{ExternalID: "X"})
	e.seedResponse(t, c, 9, "")
	sc, err := e.x.Create(ctx, e.admin, e.tenant, srv.exportInput("."), true)
	if err != nil {
		t.Fatal(err)
	}
	newer := e.seedResponse(t, c, 5, "")
	run, err := e.x.Run(ctx, e.tenant, sc.ID, CauseManual)
	if err != nil || run.Rows != 1 {
		t.Fatalf("run = %+v, %v", run, err)
	}
	if !bytes.Contains([]byte(srv.read(t, run.Files[0])), []byte(newer)) {
		t.Error("the file does not hold the newer response")
	}
}
