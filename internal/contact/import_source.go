package contact

// Import file readers: OpenSource turns an uploaded file (CSV, XLSX or JSON
// Lines) into a Source that yields one row at a time, whatever the file's
// size. No database here: the engine in import.go consumes Sources.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Source yields an import file's rows one at a time; memory does not grow
// with the file.
//
// Every Source that OpenSource returns also has an Info() SourceInfo method
// (see SourceInfoOf); it is not part of the interface so that other row
// producers (the API's JSON arrays) need not invent one.
type Source interface {
	// Header returns the column names as the file has them, trimmed, with a
	// byte-order mark removed.
	Header() []string
	// Next returns the next data row, or io.EOF after the last one. Any other
	// error means the file cannot be read further: the engine stops there.
	// A problem that concerns one row only is reported in Row.Problem.
	Next() (Row, error)
	// Close releases the file and removes any temporary file.
	Close() error
}

// Row is one data row.
type Row struct {
	// Num is the row number a spreadsheet user sees: the header is row 1, the
	// first data row 2. For CSV it counts records, not physical lines (a
	// quoted field may hold newlines); blank rows, which are skipped, still
	// count. For JSON Lines it is the line number.
	Num int
	// Fields is aligned with Header(): missing trailing fields are "". The
	// values are as in the file (not trimmed); the slice is not reused.
	Fields []string
	// Problem is a row-level problem in plain words ("the row has 9 fields,
	// the header 8", "not valid UTF-8"): the engine rejects the row and goes
	// on. It never quotes the row's content. When Problem is set, Fields are
	// all "".
	Problem string
	// ProblemText is Problem as a Text, to say it in another language.
	ProblemText Text
}

// setProblem sets the row's Problem and ProblemText.
func (r *Row) setProblem(t Text) {
	r.ProblemText, r.Problem = t, t.String()
}

// FileOptions says how to read an import file; the zero value detects
// everything.
type FileOptions struct {
	// Format is "csv", "xlsx", "jsonl" or "" to detect it from the first
	// bytes (PK\x03\x04 is XLSX, '{' is JSON Lines) and then the name.
	Format string
	// Encoding of a CSV: "" to detect, or "utf-8", "windows-1252" (aliases
	// "cp1252", "latin1", "iso-8859-1"), "iso-8859-15" ("latin9"), "utf-16".
	Encoding string
	// Delimiter of a CSV: 0 to sniff among ',' ';' '\t' '|'.
	Delimiter rune
	// Sheet of an XLSX workbook; "" is the first sheet.
	Sheet string
	// MaxRowBytes bounds a CSV record, a JSON line or an XLSX row (default
	// 1 MiB). A longer one is reported as a Problem on that row and reading
	// goes on with the next; memory never holds more than this per row.
	MaxRowBytes int
	// TempDir is where an XLSX upload is spooled; "" is os.TempDir().
	TempDir string
}

// DefaultMaxRowBytes is FileOptions.MaxRowBytes when it is zero.
const DefaultMaxRowBytes = 1 << 20

// SourceInfo says how OpenSource read a file, for the mapping preview.
type SourceInfo struct {
	Format    string // "csv", "xlsx" or "jsonl"
	Encoding  string // CSV: "utf-8", "utf-16le", "utf-16be", "windows-1252" or "iso-8859-15"; others "utf-8"
	BOM       bool   // CSV: the file began with a byte-order mark
	Delimiter rune   // CSV only
	// Detected lists what was detected rather than given in FileOptions:
	// "format", "encoding", "delimiter".
	Detected []string
	Sheet    string   // XLSX: the sheet read
	Sheets   []string // XLSX: every sheet of the workbook, in order
	// IgnoredKeys lists (up to 50) JSON Lines keys that appear on a later
	// line but not on the first: their values are ignored, since the first
	// line defines the columns. It grows while rows are read: look at it
	// after the last row.
	IgnoredKeys []string
}

// SourceInfoOf returns src's SourceInfo when it has one (every Source from
// OpenSource does), otherwise the zero SourceInfo.
func SourceInfoOf(src Source) SourceInfo {
	if i, ok := src.(interface{ Info() SourceInfo }); ok {
		return i.Info()
	}
	return SourceInfo{}
}

// The kinds of error OpenSource returns; match them with errors.Is. The
// message of the returned error is in plain words and says what to do.
var (
	ErrEmptyFile     = errors.New("the file is empty")
	ErrNoRows        = errors.New("the file has a header but no rows")
	ErrNotText       = errors.New("the file is not text")
	ErrUnknownFormat = errors.New("unknown file format")
	ErrBadHeader     = errors.New("the header row cannot be used")
	ErrBadOptions    = errors.New("invalid import options")
	// ErrSourceClosed is what Next returns after Close.
	ErrSourceClosed = errors.New("import source read after Close")
)

// FileError is an error about a whole import file: Msg is for the user in
// English (the CLI, the API, the logs), Format and Args are what Msg was made
// from, so that a page can say it in its reader's language (see Text.In);
// Kind is one of the Err… sentinels above.
type FileError struct {
	Kind   error
	Msg    string
	Format string
	Args   []any
}

func (e *FileError) Error() string { return e.Msg }
func (e *FileError) Unwrap() error { return e.Kind }

// Text returns the message as a Text.
func (e *FileError) Text() Text { return Text{Format: e.Format, Args: e.Args} }

func (e *FileError) text() Text { return e.Text() }

func fileErr(kind error, format string, a ...any) error {
	t := textf(format, a...)
	return &FileError{Kind: kind, Msg: t.String(), Format: format, Args: a}
}

// sniffSize is how much of a file OpenSource looks at to detect its format,
// encoding and delimiter.
const sniffSize = 64 << 10

// OpenSource reads r (the whole upload) and returns a Source, or an error in
// plain words that says what to do: an empty file, binary junk, an unknown
// format, a header with no column names, a duplicate or blank column name, a
// header and no rows. XLSX is spooled to a temporary file first (the zip
// directory is at the end); CSV and JSON Lines are streamed.
func OpenSource(r io.Reader, name string, o FileOptions) (Source, error) {
	if o.MaxRowBytes <= 0 {
		o.MaxRowBytes = DefaultMaxRowBytes
	}
	br := bufio.NewReaderSize(r, sniffSize)
	head, err := br.Peek(sniffSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, fmt.Errorf("read %s: %w", displayName(name), err)
	}
	if len(head) == 0 {
		return nil, fileErr(ErrEmptyFile, "%s is empty: export the contacts again, with a header row and one row per contact", displayName(name))
	}
	format := strings.ToLower(strings.TrimSpace(o.Format))
	var detected []string
	if format == "" {
		format, err = detectFormat(head, name)
		if err != nil {
			return nil, err
		}
		detected = append(detected, "format")
	}
	switch format {
	case "csv", "tsv", "txt":
		return openCSV(br, head, name, o, detected)
	case "jsonl", "ndjson":
		return openJSONL(br, name, o, detected)
	case "xlsx", "xlsm":
		return openXLSX(br, name, o, detected)
	}
	return nil, fileErr(ErrBadOptions, "unknown format %q: choose csv, xlsx or jsonl", o.Format)
}

var (
	magicZip  = []byte("PK\x03\x04")
	magicOLE  = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
	magicPDF  = []byte("%PDF")
	bomUTF8   = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16L = []byte{0xFF, 0xFE}
	bomUTF16B = []byte{0xFE, 0xFF}
)

// detectFormat decides from the first bytes, then from the name's extension.
func detectFormat(head []byte, name string) (string, error) {
	ext := strings.ToLower(filepath.Ext(name))
	dn := displayName(name)
	switch {
	case bytes.HasPrefix(head, magicZip):
		if ext == ".ods" || ext == ".docx" || ext == ".zip" || ext == ".numbers" {
			return "", fileErr(ErrUnknownFormat, "%s is not a file avis can read: save it as CSV or XLSX (Excel workbook)", dn)
		}
		return "xlsx", nil
	case bytes.HasPrefix(head, magicOLE):
		return "", fileErr(ErrUnknownFormat, "%s is an old Excel (.xls) or a password-protected workbook: save it as XLSX (Excel workbook) or CSV without a password", dn)
	case bytes.HasPrefix(head, magicPDF):
		return "", fileErr(ErrUnknownFormat, "%s is a PDF: export the contacts from your CRM or spreadsheet as CSV, XLSX or JSON Lines", dn)
	}
	t := bytes.TrimLeft(bytes.TrimPrefix(head, bomUTF8), " \t\r\n")
	if len(t) > 0 && t[0] == '{' {
		return "jsonl", nil
	}
	if len(t) > 0 && t[0] == '[' && (ext == ".json" || ext == ".jsonl" || ext == "") {
		return "", fileErr(ErrUnknownFormat, "%s is a JSON array: send JSON Lines instead, one object per line", dn)
	}
	switch ext {
	case ".xlsx", ".xlsm":
		return "", fileErr(ErrUnknownFormat, "%s is named like an Excel workbook but is not one: open it in your spreadsheet and save it again as XLSX or CSV", dn)
	case ".xls":
		return "", fileErr(ErrUnknownFormat, "%s is an old Excel (.xls) file: save it as XLSX (Excel workbook) or CSV", dn)
	case ".jsonl", ".ndjson", ".json":
		return "", fileErr(ErrUnknownFormat, "%s does not begin with a JSON object: send JSON Lines, one object per line", dn)
	case "", ".csv", ".txt", ".tsv", ".tab", ".dat":
		return "csv", nil
	}
	// An unknown extension: read it as CSV if it is text, refuse it otherwise.
	if looksBinary(head) {
		return "", fileErr(ErrUnknownFormat, "%s is not a file avis can read: send a CSV, an XLSX (Excel workbook) or a JSON Lines file", dn)
	}
	return "csv", nil
}

// looksBinary reports whether a sample is not text: it holds a NUL byte or
// more than 1% control characters other than tab, CR, LF and form feed.
// UTF-16 text is checked by the caller before (it is full of NULs).
func looksBinary(b []byte) bool {
	ctl := 0
	for _, c := range b {
		switch {
		case c == 0:
			return true
		case c < 0x20 && c != '\t' && c != '\r' && c != '\n' && c != '\f', c == 0x7f:
			ctl++
		}
	}
	return ctl*100 > len(b)
}

// displayName is the file's base name for messages, or the Text "the file".
func displayName(name string) any {
	if b := filepath.Base(name); name != "" && b != "." && b != "/" {
		return b
	}
	return textf("the file")
}

// checkHeader trims names, removes a BOM and drops blank names at the end of
// the row (spreadsheets often export a trailing empty column), then refuses
// a header without names, with a blank name, or with the same name twice
// (compared as SuggestMapping compares them, without case or accents).
func checkHeader(raw []string) ([]string, error) {
	h := make([]string, len(raw))
	for i, s := range raw {
		if i == 0 {
			s = strings.TrimPrefix(s, "\ufeff")
		}
		h[i] = strings.TrimSpace(s)
	}
	for len(h) > 0 && h[len(h)-1] == "" {
		h = h[:len(h)-1]
	}
	if len(h) == 0 {
		return nil, fileErr(ErrBadHeader, "the first row has no column names: the first row must name the columns (for example Email;Nom;Prénom)")
	}
	seen := make(map[string]int, len(h))
	for i, s := range h {
		if s == "" {
			return nil, fileErr(ErrBadHeader, "column %d has no name: give every column a name in the first row, or delete the column", i+1)
		}
		k := normKey(s)
		if k == "" {
			k = s
		}
		if j, ok := seen[k]; ok {
			return nil, fileErr(ErrBadHeader, "the column %q appears twice (columns %d and %d): rename or delete one of them", h[j], j+1, i+1)
		}
		seen[k] = i
		if at := strings.IndexByte(s, '@'); at > 0 && strings.Contains(s[at:], ".") && !strings.ContainsAny(s, " \t") {
			return nil, fileErr(ErrBadHeader, "the first row looks like data, not column names (column %d holds an email address): add a first row that names the columns (for example Email;Nom;Prénom)", i+1)
		}
	}
	return h, nil
}

// lineReader reads LF-terminated lines with a bounded buffer: a line longer
// than max is read to its end and dropped, never held whole in memory.
type lineReader struct {
	br  *bufio.Reader
	max int
	buf []byte
}

// next returns the next line without its "\n" (the slice is valid until the
// next call), whether it was too long (then line is nil), or io.EOF.
func (l *lineReader) next() (line []byte, tooLong bool, err error) {
	l.buf = l.buf[:0]
	read := false
	for {
		chunk, err := l.br.ReadSlice('\n')
		if len(chunk) > 0 {
			read = true
		}
		if !tooLong {
			if len(l.buf)+len(chunk) > l.max+2 { // +2: the line ending is not content
				tooLong = true
				l.buf = l.buf[:0]
			} else {
				l.buf = appendBounded(l.buf, chunk, l.max+2)
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			if !read {
				return nil, false, io.EOF
			}
		case err != nil:
			return nil, false, err
		}
		if tooLong {
			return nil, true, nil
		}
		b := bytes.TrimSuffix(l.buf, []byte("\n"))
		b = bytes.TrimSuffix(b, []byte("\r"))
		if len(b) > l.max {
			return nil, true, nil
		}
		return b, false, nil
	}
}

// problemTooLong is the Problem of a row over MaxRowBytes.
func problemTooLong(max int) Text {
	return textf("the row is longer than %s: it was skipped", ByteSize(max))
}

// blankFields reports whether every field is empty or spaces.
func blankFields(f []string) bool {
	for _, s := range f {
		if strings.TrimSpace(s) != "" {
			return false
		}
	}
	return true
}

// alignFields fits a row's fields to a header of n columns. Missing trailing
// fields become ""; extra fields are dropped when empty, otherwise the row
// gets a Problem naming the counts.
func alignFields(fields []string, n int) ([]string, Text) {
	if len(fields) == n {
		return fields, Text{}
	}
	if len(fields) > n {
		if !blankFields(fields[n:]) {
			return make([]string, n), fieldCountProblem(lastNonBlank(fields)+1, n)
		}
		return fields[:n], Text{}
	}
	out := make([]string, n)
	copy(out, fields)
	return out, Text{}
}

// fieldCountProblem is the Problem of a row whose field count is not the
// header's.
func fieldCountProblem(got, want int) Text {
	if got == 1 {
		return textf("the row has 1 field, the header %d", want)
	}
	return textf("the row has %d fields, the header %d", got, want)
}

func lastNonBlank(f []string) int {
	for i := len(f) - 1; i >= 0; i-- {
		if strings.TrimSpace(f[i]) != "" {
			return i
		}
	}
	return -1
}

// appendBounded appends b to buf, doubling the capacity when it must grow
// (append grows large slices by only 1.25x, which allocates several times a
// buffer's final size) but never beyond limit unless the data needs it.
func appendBounded(buf, b []byte, limit int) []byte {
	if need := len(buf) + len(b); need > cap(buf) {
		grown := make([]byte, len(buf), min(max(2*cap(buf), need, 512), max(limit, need)))
		copy(grown, buf)
		buf = grown
	}
	return append(buf, b...)
}
