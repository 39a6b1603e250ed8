package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportCLI imports the French Excel CSV and the XLSX through the CLI,
// then exercises the options and the bad files.
func TestImportCLI(t *testing.T) {
	te := newTestEnv(t)
	te.mustRun("", "tenant", "create", "--slug", "shop", "--name", "Shop")
	if te.vars["AVIS_DATABASE_URL"] != "" {
		te.vars["AVIS_MASTER_KEY_FILE"] = filepath.Join(te.dir, "master.key")
	}
	testdata := "../../internal/contact/testdata/"
	// A dry run lands nothing.
	out := te.mustRun("", "import", "contacts", testdata+"excel-fr.csv", "--tenant", "shop", "--dry-run")
	if !strings.Contains(out, "dry-run: 23 rows, 21 created, 0 updated, 0 unchanged, 2 rejected") {
		t.Fatalf("dry run said:\n%s", out)
	}
	code, out, errs := te.run("", "import", "contacts", testdata+"excel-fr.csv", "--tenant", "shop",
		"--map", "Magasin=attr:store", "--save-mapping", "excel", "--report", filepath.Join(te.dir, "report.csv"))
	if code != 0 || !strings.Contains(out, "done: 23 rows, 21 created, 0 updated, 0 unchanged, 2 rejected") {
		t.Fatalf("import: %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"row 22, column Courriel: not a valid email address", "row 23, column Téléphone portable:"} {
		if !strings.Contains(out, want) {
			t.Errorf("the summary lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "Courriel") || !strings.Contains(errs, "→ email") || !strings.Contains(errs, "windows-1252") {
		t.Errorf("the mapping shown lacks Courriel → email or the detected encoding:\n%s", errs)
	}
	if rep, _ := os.ReadFile(filepath.Join(te.dir, "report.csv")); !strings.Contains(string(rep), "22,Courriel,not a valid email address") {
		t.Errorf("report file:\n%s", rep)
	}
	// Again with the saved mapping: nothing changes.
	out = te.mustRun("", "import", "contacts", testdata+"excel-fr.csv", "--tenant", "shop", "--mapping", "excel")
	if !strings.Contains(out, "21 unchanged, 2 rejected") {
		t.Fatalf("re-import:\n%s", out)
	}
	out = te.mustRun("", "import", "contacts", testdata+"contacts.xlsx", "--tenant", "shop")
	if !strings.Contains(out, "done: 10 rows") {
		t.Fatalf("xlsx:\n%s", out)
	}
	cases := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"junk", []string{testdata + "junk.csv"}, 1, "not"},
		{"empty", []string{testdata + "empty.csv"}, 1, "empty"},
		{"header only", []string{testdata + "header-only.csv"}, 1, "no contacts below"},
		{"duplicate header", []string{testdata + "dup-header.csv"}, 1, "appears twice"},
		{"missing file", []string{filepath.Join(te.dir, "nope.csv")}, 1, "cannot open"},
		{"unknown column", []string{testdata + "excel-fr.csv", "--map", "Nope=email"}, 2, "--map"},
		{"unknown mapping", []string{testdata + "excel-fr.csv", "--mapping", "nope"}, 1, "no saved mapping"},
		{"bad delimiter", []string{testdata + "excel-fr.csv", "--delimiter", "x"}, 2, "--delimiter"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := te.run("", append(append([]string{"import", "contacts"}, c.args...), "--tenant", "shop")...)
			if code != c.wantCode || !strings.Contains(strings.ToLower(errs), strings.ToLower(c.want)) {
				t.Fatalf("exit %d (want %d), stderr %q\n%s", code, c.wantCode, errs, out)
			}
		})
	}
}
