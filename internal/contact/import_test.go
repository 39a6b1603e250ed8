package contact_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/db"
	"avis/internal/vault"
)

type importEnv struct {
	s *contact.Store
	d *db.DB
	v *vault.Vault
	a *audit.Log
}

func newImportEnv(t *testing.T) *importEnv {
	t.Helper()
	s, d, a := newStore(t)
	v, _ := vault.New(context.Background(), d, bytes.Repeat([]byte{7}, 32))
	return &importEnv{s: s, d: d, v: v, a: a}
}

func (e *importEnv) run(t *testing.T, tenant, csv string, o contact.ImportOptions) contact.Report {
	t.Helper()
	src, err := contact.OpenSource(strings.NewReader(csv), "contacts.csv", contact.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if o.Source.Kind == "" {
		o.Source = contact.SourceRef{Kind: "cli", Name: "contacts.csv"}
	}
	rep, err := e.s.Import(context.Background(), audit.System("test"), tenant, src, o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func (e *importEnv) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := e.d.R.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

const frenchCSV = "Réf client;Nom;Prénom;Courriel;Téléphone portable;Magasin\r\n" +
	"C1;Dupont;Hélène;helene.dupont@example.com;06 12 34 56 78;Lyon\r\n" +
	"C2;Müller;François;francois.muller@example.org;+33 1 99 00 12 34;Paris\r\n" +
	"C3;Martin;Zoé;jean@@example.fr;06 11 11 11 11;Lyon\r\n" +
	"C4;Petit;Noémie;noemie@example.net;0612;Nice\r\n" +
	"C5;=SUM(A1);Jules;jules@example.com;;Lyon\r\n" +
	";;;;;\r\n" +
	"C6;Moreau;Inès;ines.moreau@example.com;;Paris\r\n"

func TestImportCreatesUpdatesRejects(t *testing.T) {
	ctx := context.Background()
	e := newImportEnv(t)
	rep := e.run(t, "a", frenchCSV, contact.ImportOptions{})
	if rep.Status != contact.StatusDone || rep.Created != 4 || rep.Rejected != 2 || rep.Rows != 6 {
		t.Fatalf("first import: %+v", rep)
	}
	reasons := map[string]string{}
	for _, r := range rep.Rejects {
		reasons[fmt.Sprintf("%d/%s", r.Row, r.Column)] = r.Reason
	}
	if !strings.Contains(reasons["4/Courriel"], "email") || !strings.Contains(reasons["5/Téléphone portable"], "phone") {
		t.Fatalf("reasons: %v", reasons)
	}
	for _, r := range rep.Rejects {
		if strings.Contains(r.Reason, "jean@@") || strings.Contains(r.Reason, "0612") {
			t.Fatalf("a reason quotes the value: %q", r.Reason)
		}
	}
	// The formula cell is kept as text.
	if c, err := e.s.ByEmail(ctx, audit.System("test"), "a", "jules@example.com"); err != nil || c.LastName != "=SUM(A1)" {
		t.Fatalf("formula cell: %q, %v", c.LastName, err)
	}
	c, err := e.s.ByEmail(ctx, audit.System("test"), "a", "helene.dupont@example.com")
	if err != nil || c.Phone != "+33612345678" || c.FirstName != "Hélène" || c.ExternalID != "C1" {
		t.Fatalf("contact C1: %+v, %v", c, err)
	}
	// Same file again: nothing changes, nothing duplicates.
	rep = e.run(t, "a", frenchCSV, contact.ImportOptions{})
	if rep.Created != 0 || rep.Updated != 0 || rep.Unchanged != 4 || e.count(t, `SELECT count(*) FROM contacts WHERE tenant_id = 'a'`) != 4 {
		t.Fatalf("re-import: %+v", rep)
	}
	// A partial file updates what it carries and leaves the rest.
	rep = e.run(t, "a", "Courriel,Prénom\nhelene.dupont@example.com,Hélène-Marie\n", contact.ImportOptions{})
	if rep.Updated != 1 {
		t.Fatalf("update: %+v", rep)
	}
	c, _ = e.s.ByEmail(ctx, audit.System("test"), "a", "helene.dupont@example.com")
	if c.FirstName != "Hélène-Marie" || c.LastName != "Dupont" || c.Phone != "+33612345678" {
		t.Fatalf("after update: %+v", c)
	}
	// Matched by phone when there is no id or email.
	rep = e.run(t, "a", "Téléphone,Nom\n+33199001234,Muller\n", contact.ImportOptions{})
	if rep.Updated != 1 || rep.Created != 0 {
		t.Fatalf("match by phone: %+v", rep)
	}
	// Another tenant is another world.
	rep = e.run(t, "b", frenchCSV, contact.ImportOptions{})
	if rep.Created != 4 {
		t.Fatalf("tenant b: %+v", rep)
	}
	// Every contact has a ledger entry per import that carried it.
	if n := e.count(t, `SELECT count(DISTINCT contact_id) FROM contact_bases WHERE tenant_id = 'a' AND basis = $1`, contact.DefaultBasis); n != 4 {
		t.Fatalf("ledger covers %d contacts", n)
	}
	// The report is stored and downloadable, neutralised.
	var buf bytes.Buffer
	if err := e.s.WriteReportCSV(ctx, "b", rep.ImportID, &buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "row,column,reason") || !strings.Contains(buf.String(), "4,Courriel,not a valid email address") {
		t.Fatalf("report CSV:\n%s", buf.String())
	}
	// Audit: start and finish of each import.
	recs, _ := e.a.List(ctx, "a", audit.Filter{Action: "import.finish"})
	if len(recs) != 4 {
		t.Fatalf("%d import.finish entries", len(recs))
	}
}

func TestImportAllOrNothingAndDryRun(t *testing.T) {
	e := newImportEnv(t)
	rep := e.run(t, "a", frenchCSV, contact.ImportOptions{AllOrNothing: true})
	if rep.Status != contact.StatusFailed || e.count(t, `SELECT count(*) FROM contacts`) != 0 || rep.Error == "" {
		t.Fatalf("all-or-nothing with bad rows: %+v", rep)
	}
	if n := e.count(t, `SELECT count(*) FROM import_rejects WHERE import_id = $1`, rep.ImportID); n != 2 {
		t.Fatalf("rejects kept after rollback: %d", n)
	}
	rep = e.run(t, "a", frenchCSV, contact.ImportOptions{DryRun: true})
	if rep.Status != contact.StatusDryRun || rep.Created != 4 || e.count(t, `SELECT count(*) FROM contacts`) != 0 {
		t.Fatalf("dry run: %+v", rep)
	}
	if n := e.count(t, `SELECT count(*) FROM subject_keys WHERE tenant_id = 'a'`); n != 0 {
		t.Fatalf("dry run left %d keys", n)
	}
}

// brokenSource is a file that cannot be read past its first rows.
type brokenSource struct {
	contact.Source
	rows int
}

func (b *brokenSource) Next() (contact.Row, error) {
	if b.rows == 0 {
		return contact.Row{}, errors.New("the disk went away")
	}
	b.rows--
	return b.Source.Next()
}

// TestImportAllOrNothingUnreadable: a file that cannot be read to its end
// under all-or-nothing leaves nothing, and its report is written (on
// SQLite the import's transaction held the one writer connection: the
// report waited for it forever).
func TestImportAllOrNothingUnreadable(t *testing.T) {
	e := newImportEnv(t)
	src, err := contact.OpenSource(strings.NewReader(frenchCSV), "contacts.csv", contact.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for _, o := range []contact.ImportOptions{{AllOrNothing: true}, {DryRun: true}} {
		o.Source = contact.SourceRef{Kind: "cli", Name: "contacts.csv"}
		rep, err := e.s.Import(context.Background(), audit.System("test"), "a", &brokenSource{Source: src, rows: 2}, o)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Status != contact.StatusFailed || !strings.Contains(rep.Error, "cannot be read further") {
			t.Fatalf("%+v: status %s, error %q", o, rep.Status, rep.Error)
		}
		if n := e.count(t, `SELECT count(*) FROM contacts`); n != 0 {
			t.Fatalf("%+v: %d contacts kept", o, n)
		}
		if n := e.count(t, `SELECT count(*) FROM imports WHERE id = $1 AND status = 'failed'`, rep.ImportID); n != 1 {
			t.Fatalf("%+v: the failed import is not recorded", o)
		}
	}
}

func TestImportDedupesWithinFileAndRespectsCRMIds(t *testing.T) {
	e := newImportEnv(t)
	csv := "id,email,first_name\nX1,same@example.com,A\nX1,same@example.com,B\nX2,same@example.com,C\n,same@example.com,D\n"
	rep := e.run(t, "a", csv, contact.ImportOptions{ChunkSize: 2})
	// X1 twice is one person; X2 with the same email is another person (two
	// CRM records); the row without an id matches by email.
	if rep.Created != 2 || rep.Updated != 2 {
		t.Fatalf("%+v", rep)
	}
	if n := e.count(t, `SELECT count(*) FROM contacts WHERE tenant_id = 'a'`); n != 2 {
		t.Fatalf("%d contacts", n)
	}
}

func TestImportSuppressionSurvives(t *testing.T) {
	ctx := context.Background()
	e := newImportEnv(t)
	idx, _ := e.v.BlindIndex(ctx, nil, "a", contact.FieldEmail, "helene.dupont@example.com")
	if _, err := e.d.W.Exec(`INSERT INTO suppressions (tenant_id, value_bidx, kind, reason, created_at) VALUES ('a', $1, 'email', 'unsubscribed', 1)`, idx); err != nil {
		t.Fatal(err)
	}
	e.run(t, "a", frenchCSV, contact.ImportOptions{})
	e.run(t, "a", frenchCSV, contact.ImportOptions{})
	if n := e.count(t, `SELECT count(*) FROM suppressions WHERE tenant_id = 'a'`); n != 1 {
		t.Fatal("an import removed a suppression")
	}
}

func TestImportInterruptedThenRerun(t *testing.T) {
	e := newImportEnv(t)
	var b strings.Builder
	b.WriteString("id,email,last_name\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "K%d,p%d@example.com,Name%d\n", i, i, i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	src, _ := contact.OpenSource(strings.NewReader(b.String()), "big.csv", contact.FileOptions{})
	rep, err := e.s.Import(ctx, audit.System("test"), "a", src, contact.ImportOptions{ChunkSize: 500,
		Progress: func(p contact.Progress) {
			if p.Rows >= 2000 {
				cancel()
			}
		}})
	src.Close()
	if err == nil || rep.Status != contact.StatusFailed {
		t.Fatalf("cancelled import: %+v %v", rep, err)
	}
	landed := e.count(t, `SELECT count(*) FROM contacts`)
	if landed == 0 || landed == 5000 {
		t.Fatalf("%d contacts landed before the cut", landed)
	}
	rep = e.run(t, "a", b.String(), contact.ImportOptions{ChunkSize: 500})
	if rep.Created != 5000-landed || rep.Unchanged != landed || e.count(t, `SELECT count(*) FROM contacts`) != 5000 {
		t.Fatalf("rerun: %+v (landed before %d)", rep, landed)
	}
}

func TestImportMappingErrorsAndAttributes(t *testing.T) {
	ctx := context.Background()
	e := newImportEnv(t)
	src, _ := contact.OpenSource(strings.NewReader("a,b\n1,2\n"), "x.csv", contact.FileOptions{})
	if _, err := e.s.Import(ctx, audit.System("test"), "a", src, contact.ImportOptions{}); !errors.Is(err, contact.ErrMapping) {
		t.Fatalf("nothing mapped: %v", err)
	}
	src, _ = contact.OpenSource(strings.NewReader("Nom,Store,Agent,Email\nDupont,Lyon,Marc Agent,d@example.com\n"), "x.csv", contact.FileOptions{})
	if err := e.s.DeclareAttribute(ctx, audit.System("test"), "a", contact.Attribute{Name: "store", Label: "Store", Personal: false}); err != nil {
		t.Fatal(err)
	}
	rep, err := e.s.Import(ctx, audit.System("test"), "a", src, contact.ImportOptions{
		Mapping: []contact.Field{contact.FieldLastNameCol, "attr:store", "attr:agent", contact.FieldEmailCol}})
	if err != nil || rep.Created != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
	var clearAttrs string
	var sealed []byte
	e.d.R.QueryRow(`SELECT attributes, attributes_sealed FROM contacts WHERE tenant_id = 'a'`).Scan(&clearAttrs, &sealed)
	if clearAttrs != `{"store":"Lyon"}` || !vault.IsSealed(sealed) || bytes.Contains(sealed, []byte("Marc")) {
		t.Fatalf("attributes: clear %s, sealed %v", clearAttrs, vault.IsSealed(sealed))
	}
	attrs, _ := e.s.Attributes(ctx, "a")
	if !attrs["agent"].Personal {
		t.Fatal("an undeclared attribute was not declared personal")
	}
	if err := e.s.DeclareAttribute(ctx, audit.System("test"), "a", contact.Attribute{Name: "agent", Personal: false}); err == nil {
		t.Fatal("a personal attribute became not personal")
	}
}

// TestImportLeavesNoClearText imports the French file and scans the raw
// SQLite file (and WAL) or every PostgreSQL row for names, emails and phones.
func TestImportLeavesNoClearText(t *testing.T) {
	e := newImportEnv(t)
	e.run(t, "a", frenchCSV, contact.ImportOptions{})
	var raw []byte
	if e.d.Dialect == db.SQLite {
		for _, suffix := range []string{"", "-wal"} {
			b, _ := os.ReadFile(e.d.Path + suffix)
			raw = append(raw, b...)
		}
	} else {
		rows, err := e.d.R.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
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
		for _, tb := range tables {
			var s *string
			e.d.R.QueryRow(fmt.Sprintf(`SELECT string_agg(t::text, E'\n') FROM %q t`, tb)).Scan(&s)
			if s != nil {
				raw = append(raw, *s...)
			}
		}
	}
	if len(raw) == 0 {
		t.Fatal("nothing read")
	}
	for _, needle := range []string{"helene.dupont", "Hélène", "Dupont", "Müller", "+33612345678", "0612345678", "noemie@example"} {
		if bytes.Contains(raw, []byte(needle)) {
			t.Errorf("the database holds %q in clear", needle)
		}
	}
}

// TestImportAnalysesPostgres: an import that creates many contacts has
// PostgreSQL gather statistics of the tables it fills as they grow, so
// that its lookups are not planned on the statistics of empty tables (as
// scans); SQLite keeps none, and the import is the same.
func TestImportAnalysesPostgres(t *testing.T) {
	e := newImportEnv(t)
	defer contact.SetAnalyseEvery(100)()
	var b strings.Builder
	b.WriteString("id,email,last_name\n")
	for i := range 300 {
		fmt.Fprintf(&b, "C%d,client%d@example.org,Martin\n", i, i)
	}
	rep := e.run(t, "a", b.String(), contact.ImportOptions{ChunkSize: 50})
	if rep.Status != contact.StatusDone || rep.Created != 300 {
		t.Fatalf("import: %+v", rep)
	}
	if e.d.Dialect != db.Postgres {
		return
	}
	var tuples float64
	if err := e.d.R.QueryRow(`SELECT reltuples FROM pg_class WHERE relname = 'contacts'`).Scan(&tuples); err != nil {
		t.Fatal(err)
	}
	if tuples < 100 {
		t.Errorf("PostgreSQL believes contacts holds %v rows after an import of 300: the import did not analyse it", tuples)
	}
}
