package crmsync

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// rowWriter writes the rows of one export file: a header (CSV) and one
// record per row, with the cells in the order of the header.
type rowWriter interface {
	// Header starts the file with the column names.
	Header(cols []string) error
	// Row writes one row: cells in column order, and the same row as a
	// JSON object (only JSON Lines uses it).
	Row(cells []string, obj any) error
	// Flush writes what is buffered.
	Flush() error
}

// newRowWriter returns the writer of format on w.
func newRowWriter(format string, w io.Writer) rowWriter {
	switch format {
	case FormatJSONL:
		bw := bufio.NewWriterSize(w, 64<<10)
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		return &jsonlWriter{bw: bw, enc: enc}
	case FormatCSVExcel:
		bw := bufio.NewWriterSize(w, 64<<10)
		cw := csv.NewWriter(bw)
		cw.Comma, cw.UseCRLF = ';', true
		return &csvWriter{bw: bw, cw: cw, cell: windows1252Cell}
	default:
		bw := bufio.NewWriterSize(w, 64<<10)
		cw := csv.NewWriter(bw)
		cw.UseCRLF = true
		return &csvWriter{bw: bw, cw: cw, cell: func(s string) string { return s }}
	}
}

// csvWriter writes CSV with every cell neutralised against formula
// injection, and cell turning each cell into the file's character set.
type csvWriter struct {
	bw   *bufio.Writer
	cw   *csv.Writer
	cell func(string) string
	buf  []string
}

func (c *csvWriter) Header(cols []string) error { return c.Row(cols, nil) }

func (c *csvWriter) Row(cells []string, _ any) error {
	c.buf = c.buf[:0]
	for _, v := range cells {
		c.buf = append(c.buf, c.cell(Neutralise(v)))
	}
	if err := c.cw.Write(c.buf); err != nil {
		return writeFailed("write a CSV row", err)
	}
	return nil
}

func (c *csvWriter) Flush() error {
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		return writeFailed("write CSV", err)
	}
	return c.bw.Flush()
}

// jsonlWriter writes one JSON object per line.
type jsonlWriter struct {
	bw  *bufio.Writer
	enc *json.Encoder
}

func (j *jsonlWriter) Header([]string) error { return nil }

func (j *jsonlWriter) Row(_ []string, obj any) error {
	if err := j.enc.Encode(obj); err != nil {
		return writeFailed("write a JSON line", err)
	}
	return nil
}

func (j *jsonlWriter) Flush() error { return j.bw.Flush() }

// writeFailed is the error of a row writer: the destination's own error
// when it is one (it says in plain words, in a form the pages translate,
// what failed on the server), else err prefixed with what was written.
func writeFailed(what string, err error) error {
	var p *problemError
	if errors.As(err, &p) {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Neutralise defuses a CSV cell that a spreadsheet would read as a formula:
// a cell starting with =, +, -, @, a tab or a carriage return gets a
// leading apostrophe, which spreadsheets show as text (OWASP's advice on
// CSV injection). Other cells are returned as they are.
func Neutralise(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// windows1252Cell turns a UTF-8 cell into Windows-1252 bytes (held in a
// Go string): the text is first composed (NFC, so that an e followed by a
// combining accent becomes é), then every character Windows-1252 has no
// byte for (emoji, most non-Latin scripts, …) becomes "?".
func windows1252Cell(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	s = norm.NFC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if c, ok := charmap.Windows1252.EncodeRune(r); ok {
			b.WriteByte(c)
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}
