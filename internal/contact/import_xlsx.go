package contact

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/xuri/excelize/v2"
)

// XLSX reading. The upload is spooled to a temporary file (a zip's
// directory is at its end), opened with excelize and removed at once:
// excelize keeps what it needs, extracting worksheets larger than 16 MiB to
// its own temporary files, which Close removes. Rows are read with the
// streaming Rows iterator. Cells are read raw (RawCellValue): a date cell
// gives its Excel serial number ("45292", which ParseDate reads), a number
// its digits as stored (a phone typed as a number lost its leading zero:
// NormalisePhone copes), text as typed. The header is the first row that is
// not empty; empty rows are skipped but counted in Row.Num, which is the
// sheet's own row number.

// xlsxMaxUnzipped bounds the uncompressed size of a workbook (a defence
// against zip bombs).
const xlsxMaxUnzipped = 4 << 30

type xlsxSource struct {
	f       *excelize.File
	rows    *excelize.Rows
	header  []string
	info    SourceInfo
	max     int
	num     int
	pending *Row
}

func openXLSX(r io.Reader, name string, o FileOptions, detected []string) (src Source, err error) {
	dn := displayName(name)
	tmp, err := os.CreateTemp(o.TempDir, "avis-import-*.xlsx")
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", dn, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("spool %s: %w", dn, err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("spool %s: %w", dn, err)
	}
	f, err := excelize.OpenFile(tmp.Name(), excelize.Options{
		RawCellValue:   true,
		UnzipSizeLimit: xlsxMaxUnzipped,
		TmpDir:         o.TempDir,
	})
	if err != nil {
		if f != nil {
			_ = f.Close()
		}
		if errors.Is(err, excelize.ErrWorkbookPassword) || errors.Is(err, excelize.ErrWorkbookFileFormat) {
			return nil, fileErr(ErrUnknownFormat, "%s is protected by a password: save it again without one", dn)
		}
		if errors.Is(err, excelize.ErrOptionsUnzipSizeLimit) || strings.Contains(err.Error(), "unzip size") {
			return nil, fileErr(ErrUnknownFormat, "%s is too large once uncompressed: split it into several files", dn)
		}
		return nil, fileErr(ErrUnknownFormat, "%s is not a workbook avis can read: open it in your spreadsheet and save it again as XLSX (Excel workbook) or CSV", dn)
	}
	s := &xlsxSource{f: f, max: o.MaxRowBytes}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	sheets := f.GetSheetList()
	s.info = SourceInfo{Format: "xlsx", Encoding: "utf-8", Detected: detected, Sheets: sheets}
	if len(sheets) == 0 {
		return nil, fileErr(ErrUnknownFormat, "%s has no sheet", dn)
	}
	sheet := sheets[0]
	if o.Sheet != "" {
		sheet = ""
		for _, sh := range sheets {
			if sh == o.Sheet {
				sheet = sh
			}
		}
		if sheet == "" {
			for _, sh := range sheets { // be lenient with case and spaces
				if strings.EqualFold(strings.TrimSpace(sh), strings.TrimSpace(o.Sheet)) {
					sheet = sh
				}
			}
		}
		if sheet == "" {
			return nil, fileErr(ErrBadOptions, "%s has no sheet named %q; its sheets are: %s", dn, o.Sheet, strings.Join(sheets, ", "))
		}
	}
	s.info.Sheet = sheet
	if s.rows, err = f.Rows(sheet); err != nil {
		return nil, fileErr(ErrUnknownFormat, "the sheet %q of %s cannot be read: save the workbook again as XLSX or CSV", sheet, dn)
	}
	for {
		cells, err := s.nextCells()
		if err == io.EOF {
			return nil, fileErr(ErrEmptyFile, "the sheet %q of %s is empty: put a header row and one row per contact in it", sheet, dn)
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", dn, err)
		}
		if blankFields(cells) {
			continue
		}
		if s.header, err = checkHeader(cells); err != nil {
			return nil, err
		}
		break
	}
	row, err := s.Next()
	if err == io.EOF {
		return nil, fileErr(ErrNoRows, "the sheet %q of %s has a header row but no contacts below it", sheet, dn)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dn, err)
	}
	s.pending = &row
	return s, nil
}

// nextCells returns the cells of the next sheet row, counting it.
func (s *xlsxSource) nextCells() ([]string, error) {
	if s.rows == nil {
		return nil, ErrSourceClosed
	}
	if !s.rows.Next() {
		if err := s.rows.Error(); err != nil {
			return nil, err
		}
		return nil, io.EOF
	}
	s.num++
	cells, err := s.rows.Columns()
	if err != nil {
		return nil, err
	}
	return cells, nil
}

// Header implements Source.
func (s *xlsxSource) Header() []string { return s.header }

// Info returns how the file was read.
func (s *xlsxSource) Info() SourceInfo { return s.info }

// Next implements Source.
func (s *xlsxSource) Next() (Row, error) {
	if s.pending != nil {
		r := *s.pending
		s.pending = nil
		return r, nil
	}
	for {
		cells, err := s.nextCells()
		if err != nil {
			return Row{}, err
		}
		if blankFields(cells) {
			continue
		}
		row := Row{Num: s.num}
		size := 0
		for _, c := range cells {
			size += len(c)
		}
		if size > s.max {
			row.Fields = make([]string, len(s.header))
			row.setProblem(problemTooLong(s.max))
			return row, nil
		}
		if len(cells) > len(s.header) && !blankFields(cells[len(s.header):]) {
			row.Fields = make([]string, len(s.header))
			row.setProblem(textf("the row has a value in column %d, which has no name in the header", lastNonBlank(cells)+1))
			return row, nil
		}
		row.Fields, _ = alignFields(cells, len(s.header))
		return row, nil
	}
}

// Close implements Source: it closes the sheet and removes excelize's
// temporary files.
func (s *xlsxSource) Close() error {
	var errs []error
	if s.rows != nil {
		if err := s.rows.Close(); err != nil {
			errs = append(errs, err)
		}
		s.rows = nil
	}
	if s.f != nil {
		if err := s.f.Close(); err != nil {
			errs = append(errs, err)
		}
		s.f = nil
	}
	return errors.Join(errs...)
}
