package contact_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"avis/internal/contact"
)

// upper is a translator for tests: it marks what it translated.
func upper(format string, args ...any) string {
	s := format
	if len(args) > 0 {
		s = fmt.Sprintf(format, args...)
	}
	return "«" + strings.ToUpper(s) + "»"
}

// TestFileErrorText: a file error keeps its English message for the CLI and
// gives its format and arguments to a translator; a file without a name is
// "the file", itself translated.
func TestFileErrorText(t *testing.T) {
	_, err := contact.OpenSource(bytes.NewReader([]byte("email\x00\x01\x02\x00")), "x.csv", contact.FileOptions{})
	var fe *contact.FileError
	if !errors.As(err, &fe) || !errors.Is(err, contact.ErrNotText) {
		t.Fatalf("binary file: %v", err)
	}
	if !strings.HasPrefix(fe.Msg, "x.csv is not a text CSV file (it holds binary data)") || fe.Error() != fe.Msg {
		t.Errorf("Msg = %q", fe.Msg)
	}
	if fe.Format != "%s is not a text CSV file (it holds binary data): export the contacts from your spreadsheet or CRM as CSV, XLSX or JSON Lines" ||
		len(fe.Args) != 1 || fe.Args[0] != "x.csv" {
		t.Errorf("Format %q, Args %#v", fe.Format, fe.Args)
	}
	if got := fe.Text().In(upper); !strings.HasPrefix(got, "«X.CSV IS NOT A TEXT CSV FILE") {
		t.Errorf("translated: %q", got)
	}
	if got := contact.TextOf(err).String(); got != fe.Msg {
		t.Errorf("TextOf = %q, want %q", got, fe.Msg)
	}

	_, err = contact.OpenSource(strings.NewReader(""), "", contact.FileOptions{})
	if !errors.As(err, &fe) || !strings.HasPrefix(fe.Msg, "the file is empty:") {
		t.Fatalf("empty file without a name: %v", err)
	}
	if got := fe.Text().In(upper); !strings.HasPrefix(got, "««THE FILE» IS EMPTY:") {
		t.Errorf("the file's name is not translated: %q", got)
	}
}

// TestRowProblemText: a row's problem is a Text too, its byte size said by
// the translator.
func TestRowProblemText(t *testing.T) {
	csv := "email\r\n" + strings.Repeat("x", 2000) + "@example.com\r\nok@example.com\r\n"
	src, err := contact.OpenSource(strings.NewReader(csv), "x.csv", contact.FileOptions{MaxRowBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	row, err := src.Next()
	if err != nil {
		t.Fatal(err)
	}
	if row.Problem != "the row is longer than 1 KiB: it was skipped" || row.ProblemText.String() != row.Problem {
		t.Fatalf("problem %q, text %#v", row.Problem, row.ProblemText)
	}
	if got := row.ProblemText.In(upper); got != "«THE ROW IS LONGER THAN «1 KIB»: IT WAS SKIPPED»" {
		t.Errorf("translated: %q", got)
	}
	if row, err := src.Next(); err != nil || row.Problem != "" || !row.ProblemText.IsZero() {
		t.Errorf("good row: %+v, %v", row, err)
	}
}

// TestImportReasonsStored: the reasons of rejected rows and the error of a
// failed import are stored with their format and arguments, read back as
// Texts, and written in the translator's words in the report; the English
// report and the English reasons stay as they were; rows stored before
// reasons had a format show their English text.
func TestImportReasonsStored(t *testing.T) {
	ctx := context.Background()
	e := newImportEnv(t)
	rep := e.run(t, "a", frenchCSV, contact.ImportOptions{Region: "FR"})
	rs, err := e.s.ImportRejects(ctx, "a", rep.ImportID, 0, 100)
	if err != nil || len(rs) != 2 {
		t.Fatalf("rejects %+v, %v", rs, err)
	}
	if rs[0].Row != 4 || rs[0].Reason != "not a valid email address" || rs[0].ReasonText.Format != "not a valid email address" {
		t.Errorf("email reject: %+v", rs[0])
	}
	if rs[1].Reason != "not a valid phone number for FR" || rs[1].ReasonText.Format != "not a valid phone number for %s" ||
		len(rs[1].ReasonText.Args) != 1 || rs[1].ReasonText.Args[0] != "FR" {
		t.Errorf("phone reject: %+v", rs[1])
	}
	for i, r := range rep.Rejects {
		if r.Reason != rs[i].Reason || r.ReasonText.String() != r.Reason {
			t.Errorf("report reject %+v, stored %+v", r, rs[i])
		}
	}

	var en, tr bytes.Buffer
	if err := e.s.WriteReportCSV(ctx, "a", rep.ImportID, &en); err != nil {
		t.Fatal(err)
	}
	if err := e.s.WriteReportCSVIn(ctx, "a", rep.ImportID, &tr, upper); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"status,done\n", "rejected,2\n", "row,column,reason\n", "4,Courriel,not a valid email address\n",
		"5,Téléphone portable,not a valid phone number for FR\n"} {
		if !strings.Contains(en.String(), want) {
			t.Errorf("the English report lacks %q:\n%s", want, en.String())
		}
	}
	for _, want := range []string{"«STATUS»,«DONE»\n", "«REJECTED»,2\n", "«ROW»,«COLUMN»,«REASON»\n", "4,Courriel,«NOT A VALID EMAIL ADDRESS»\n",
		"5,Téléphone portable,«NOT A VALID PHONE NUMBER FOR FR»\n", "contacts.csv"} {
		if !strings.Contains(tr.String(), want) {
			t.Errorf("the translated report lacks %q:\n%s", want, tr.String())
		}
	}

	// A failed import's error.
	rep = e.run(t, "a", frenchCSV, contact.ImportOptions{AllOrNothing: true})
	rec, err := e.s.ImportByID(ctx, "a", rep.ImportID)
	if err != nil {
		t.Fatal(err)
	}
	want := "2 rows were refused and all-or-nothing was asked: nothing was imported"
	if rep.Error != want || rec.Error != want || rec.ErrorText.String() != want || rec.ErrorText.Format != "%d rows were refused and all-or-nothing was asked: nothing was imported" {
		t.Errorf("failed import: report %q, record %q %#v", rep.Error, rec.Error, rec.ErrorText)
	}
	tr.Reset()
	if err := e.s.WriteReportCSVIn(ctx, "a", rep.ImportID, &tr, upper); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tr.String(), "«ERROR»,«2 ROWS WERE REFUSED") || !strings.Contains(tr.String(), "«STATUS»,«FAILED»") {
		t.Errorf("the translated report of a failed import:\n%s", tr.String())
	}

	// Rows written before the reasons had a format.
	if _, err := e.d.W.ExecContext(ctx, `UPDATE import_rejects SET reason_text = '' WHERE tenant_id = 'a'`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.W.ExecContext(ctx, `UPDATE imports SET error_text = '' WHERE tenant_id = 'a'`); err != nil {
		t.Fatal(err)
	}
	rs, err = e.s.ImportRejects(ctx, "a", rep.ImportID, 0, 100)
	if err != nil || len(rs) != 2 || rs[1].ReasonText.String() != "not a valid phone number for FR" || rs[1].ReasonText.Format != rs[1].Reason {
		t.Errorf("old rejects: %+v, %v", rs, err)
	}
	if rec, err := e.s.ImportByID(ctx, "a", rep.ImportID); err != nil || rec.ErrorText.String() != want {
		t.Errorf("old failed import: %#v, %v", rec.ErrorText, err)
	}
}

// TestReportKeepsEveryReject: a row with two rejected cells that straddles
// two pages of the report is written whole.
func TestReportKeepsEveryReject(t *testing.T) {
	ctx := context.Background()
	e := newImportEnv(t)
	var csv strings.Builder
	csv.WriteString("id,email,country\n,not-an-email,\n") // row 2: one reject
	for i := range 700 {                                  // rows 3…: two rejects each
		fmt.Fprintf(&csv, "C%d,bad-%d,Atlantis\n", i, i)
	}
	rep := e.run(t, "a", csv.String(), contact.ImportOptions{})
	if rep.Rejected != 701 {
		t.Fatalf("%d rows rejected, want 701", rep.Rejected)
	}
	var buf bytes.Buffer
	if err := e.s.WriteReportCSV(ctx, "a", rep.ImportID, &buf); err != nil {
		t.Fatal(err)
	}
	lines := len(regexp.MustCompile(`(?m)^\d+,(email|country),`).FindAllString(buf.String(), -1))
	if lines != 1401 {
		t.Errorf("the report has %d rejects, want 1401", lines)
	}
	if !strings.Contains(buf.String(), "\n502,country,\"not a known country") || !strings.Contains(buf.String(), "\n502,email,not a valid email address\n") {
		t.Errorf("the report lacks a cell of row 502, at the page boundary")
	}
}
