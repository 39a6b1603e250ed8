package crmsync

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"avis/internal/audit"
	"avis/internal/contact"
)

// engineImporter is the real import engine behind the Importer interface, as
// cmd/avis wires it.
type engineImporter struct{ c *contact.Store }

func (e engineImporter) ImportFile(ctx context.Context, tenantID, source, fileName string, r io.Reader) (ImportResult, error) {
	rep, csv, err := e.c.ImportFile(ctx, audit.System("sftp"), tenantID,
		contact.SourceRef{Kind: "sftp", ID: strings.TrimPrefix(source, "sftp:"), Name: fileName}, r, "")
	if err != nil {
		return ImportResult{}, err
	}
	return ImportResult{ImportID: rep.ImportID, OK: rep.Status == contact.StatusDone, ReportCSV: csv}, nil
}

// TestFetchWithTheImportEngine drops the French Excel file and a junk file on
// a real SFTP server: the first lands as contacts and moves to done/ with its
// report, the junk goes to failed/ with a report that says why.
func TestFetchWithTheImportEngine(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	srv := startServer(t)
	excel, err := os.ReadFile("../contact/testdata/excel-fr.csv")
	if err != nil {
		t.Fatal(err)
	}
	junk, _ := os.ReadFile("../contact/testdata/junk.csv")
	srv.put(t, "drop/clients.csv", string(excel), 0)
	srv.put(t, "drop/junk.csv", string(junk), 0)
	src := e.create(t, srv.input("drop"))
	contacts := contact.NewStore(e.d, e.v, e.a)
	res, err := e.s.Fetch(ctx, e.tenant, src.ID, engineImporter{contacts})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 1 || res.Failed != 1 {
		t.Fatalf("fetch: %+v", res)
	}
	if n, _ := contacts.Count(ctx, e.tenant); n != 21 {
		t.Fatalf("%d contacts imported from excel-fr.csv, want 21", n)
	}
	report := srv.read(t, "drop/done/clients.csv.report.csv")
	if !strings.Contains(report, "22,Courriel,not a valid email address") || !strings.Contains(report, "created,21") {
		t.Fatalf("report beside the imported file:\n%s", report)
	}
	if failed := srv.read(t, "drop/failed/junk.csv.report.csv"); !strings.Contains(failed, "failed") || !strings.Contains(failed, "not") {
		t.Fatalf("report beside the junk file:\n%s", failed)
	}
	// The ledger says where the contacts came from.
	var n int
	e.d.R.QueryRow(`SELECT count(*) FROM contact_bases WHERE tenant_id = $1 AND source_kind = 'sftp' AND source_id LIKE $2`,
		e.tenant, "%sftp:"+src.ID).Scan(&n)
	if n != 21 {
		t.Fatalf("%d ledger entries name the SFTP source", n)
	}
	// Dropping the same file again changes nothing.
	srv.put(t, "drop/clients.csv", string(excel), 0)
	if _, err := e.s.Fetch(ctx, e.tenant, src.ID, engineImporter{contacts}); err != nil {
		t.Fatal(err)
	}
	if n, _ := contacts.Count(ctx, e.tenant); n != 21 {
		t.Fatalf("second drop: %d contacts", n)
	}
}
