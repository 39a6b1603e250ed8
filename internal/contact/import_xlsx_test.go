package contact

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

func TestXLSXTestdata(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	src, err := openTestdata(t, "contacts.xlsx", FileOptions{TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	info := SourceInfoOf(src)
	if info.Format != "xlsx" || info.Sheet != "Contacts" || strings.Join(info.Sheets, ",") != "Contacts,Magasins" {
		t.Errorf("info = %+v", info)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the spooled upload was left in %s: %v", tmp, left)
	}
	if got := strings.Join(src.Header(), "|"); got != "Customer ID|Nom|First name|E-mail|Mobile|Magasin|Purchase date" {
		t.Errorf("header %q", got)
	}
	m := SuggestMapping(src.Header(), nil)
	if m[0] != FieldExternalID || m[1] != FieldLastNameCol || m[2] != FieldFirstNameCol || m[3] != FieldEmailCol || m[4] != FieldPhoneCol || m[5] != FieldIgnore || m[6] != FieldIgnore {
		t.Errorf("mapping %q", m)
	}
	rows := readAll(t, src)
	if len(rows) != 10 {
		t.Fatalf("%d rows, want 10", len(rows))
	}
	for i, r := range rows {
		wantNum := i + 2
		if i >= 4 {
			wantNum++ // row 6 of the sheet is empty
		}
		want := excelFRRows[i]
		if r.Num != wantNum || r.Problem != "" || r.Fields[0] != want[0] || r.Fields[1] != want[1] || r.Fields[3] != want[3] {
			t.Errorf("row %d = %d %q %q", i, r.Num, r.Problem, r.Fields)
		}
		// Dates are Excel serial numbers, which ParseDate reads.
		d, err := ParseDate(r.Fields[6])
		if err != nil || d.Format("02/01/2006") != want[6] {
			t.Errorf("row %d date %q = %v %v, want %s", r.Num, r.Fields[6], d, err, want[6])
		}
		p, err := NormalisePhone(r.Fields[4], "FR")
		wantP, _ := NormalisePhone(want[4], "FR")
		if err != nil || p != wantP {
			t.Errorf("row %d phone %q = %q %v, want %q", r.Num, r.Fields[4], p, err, wantP)
		}
	}
	if rows[2].Fields[4] != "199001203" {
		t.Errorf("a phone typed as a number reads %q", rows[2].Fields[4])
	}
	if rows[5].Fields[5] != "Bordeaux\r\nSainte-Catherine" {
		t.Errorf("multi-line cell reads %q", rows[5].Fields[5])
	}
}

func TestXLSXSheets(t *testing.T) {
	t.Parallel()
	src, err := openTestdata(t, "contacts.xlsx", FileOptions{Sheet: "magasins "})
	if err != nil {
		t.Fatal(err)
	}
	rows := readAll(t, src)
	if SourceInfoOf(src).Sheet != "Magasins" || strings.Join(src.Header(), "|") != "Magasin|Ville|Téléphone" || len(rows) != 2 || rows[1].Fields[1] != "Lyon" {
		t.Errorf("header %q rows %+v", src.Header(), rows)
	}
	_, err = openTestdata(t, "contacts.xlsx", FileOptions{Sheet: "Clients"})
	if !errors.Is(err, ErrBadOptions) || !strings.Contains(err.Error(), `no sheet named "Clients"; its sheets are: Contacts, Magasins`) {
		t.Errorf("unknown sheet: %v", err)
	}
}

// xlsxBytes builds a workbook with the given rows in its first sheet.
func xlsxBytes(t *testing.T, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestXLSXCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		rows    [][]any
		o       FileOptions
		kind    error
		header  string
		want    []string
		message string
	}{
		{name: "empty sheet", rows: nil, kind: ErrEmptyFile, message: `the sheet "Sheet1" of t.xlsx is empty`},
		{name: "header only", rows: [][]any{{"Email", "Nom"}}, kind: ErrNoRows},
		{name: "duplicate header", rows: [][]any{{"Email", "Nom", "E-mail "}, {"a", "b", "c"}}, kind: ErrBadHeader, message: "appears twice"},
		{name: "blank header", rows: [][]any{{"Email", nil, "Nom"}, {"a", "b", "c"}}, kind: ErrBadHeader, message: "column 2 has no name"},
		{name: "header below empty rows", rows: [][]any{nil, {"Email", "Nom"}, {"a@example.com", "=1"}}, header: "Email|Nom", want: []string{"3:a@example.com|=1"}},
		{name: "short and long rows", rows: [][]any{{"Email", "Nom"}, {"a@example.com"}, {"b@example.com", "B", "extra"}, {"c@example.com", "C", nil, ""}},
			header: "Email|Nom", want: []string{"2:a@example.com|", "3!the row has a value in column 3, which has no name in the header", "4:c@example.com|C"}},
		{name: "numbers and booleans raw", rows: [][]any{{"n", "b", "f"}, {612345678, true, 1.5}}, header: "n|b|f", want: []string{"2:612345678|1|1.5"}},
		{name: "row too long", rows: [][]any{{"a"}, {strings.Repeat("x", 100)}, {"ok"}}, o: FileOptions{MaxRowBytes: 50},
			header: "a", want: []string{"2!the row is longer than 50 bytes: it was skipped", "3:ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src, err := OpenSource(bytes.NewReader(xlsxBytes(t, tt.rows)), "t.xlsx", tt.o)
			if tt.kind != nil {
				if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.message) {
					t.Fatalf("err = %v, want %v containing %q", err, tt.kind, tt.message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			var got []string
			for _, r := range readAll(t, src) {
				if r.Problem != "" {
					got = append(got, itoa(r.Num)+"!"+r.Problem)
				} else {
					got = append(got, itoa(r.Num)+":"+strings.Join(r.Fields, "|"))
				}
			}
			if h := strings.Join(src.Header(), "|"); h != tt.header || strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("header %q rows %q\nwant %q %q", h, got, tt.header, tt.want)
			}
		})
	}
}

func TestXLSXNotAWorkbook(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	for _, data := range []string{"PK\x03\x04 broken", "PK\x03\x04" + strings.Repeat("\x00", 100)} {
		_, err := OpenSource(strings.NewReader(data), "t.xlsx", FileOptions{TempDir: tmp})
		if !errors.Is(err, ErrUnknownFormat) || !strings.Contains(err.Error(), "t.xlsx is not a workbook") {
			t.Errorf("err = %v", err)
		}
	}
	// A truncated real workbook.
	full := xlsxBytes(t, [][]any{{"a"}, {"b"}})
	_, err := OpenSource(bytes.NewReader(full[:len(full)/2]), "t.xlsx", FileOptions{TempDir: tmp})
	if !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("truncated: %v", err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestXLSXCloseRemovesTempFiles(t *testing.T) {
	tmp := t.TempDir()
	data := xlsxBytes(t, [][]any{{"Email"}, {"a@example.com"}})
	src, err := OpenSource(bytes.NewReader(data), "t.xlsx", FileOptions{TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Next(); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "*"))
	if len(left) != 0 {
		t.Errorf("left after Close: %v", left)
	}
	if _, err := src.Next(); !errors.Is(err, ErrSourceClosed) {
		t.Errorf("Next after Close: %v", err)
	}
}
