package contact

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// CSV reading.
//
// Encoding detection, on the first 64 KiB:
//   - a UTF-8 BOM → UTF-8 (the BOM is removed); a UTF-16 BOM → UTF-16;
//   - valid UTF-8 → UTF-8. A later row that is not valid UTF-8 gets the
//     Problem "not valid UTF-8": the file is not silently re-decoded;
//   - otherwise a single-byte Windows encoding: ISO-8859-15 when the sample
//     holds the byte 0xA4 (€ in ISO-8859-15, a rare ¤ in Windows-1252) and no
//     byte in 0x80-0x9F (C1 controls in ISO-8859-15, € ’ œ … in
//     Windows-1252); Windows-1252 in every other case (it is a superset of
//     ISO-8859-1 for text, and what French Excel writes).
//
// A sample with a NUL byte or more than 1% control characters is binary:
// OpenSource refuses it.
//
// Delimiter sniffing, on the first 30 records of the sample: for each of
// ',' ';' '\t' '|', parse the records (quotes respected) and take the most
// frequent field count; the delimiter whose most frequent count is above one
// and shared by the most records wins; a tie goes to the larger count, then
// to the order above. When none gives more than one field the file has a
// single column.
//
// Records: RFC 4180 with the leniency spreadsheets need: CRLF or LF, quoted
// fields holding delimiters, quotes ("") and newlines (a CRLF inside quotes
// becomes LF), a stray quote inside an unquoted field kept as it is, text
// after a closing quote kept. Blank records (every field empty) are skipped
// but counted in Row.Num. A record over MaxRowBytes is read to its end and
// dropped with a Problem; memory never holds more than MaxRowBytes of it.

// csvMaxFields bounds the fields of one record (Excel's column limit).
const csvMaxFields = 16384

// csvDelimiters are sniffed in this order of preference.
var csvDelimiters = []byte{',', ';', '\t', '|'}

type csvSource struct {
	p       *csvParser
	header  []string
	info    SourceInfo
	checkU8 bool // rows must be valid UTF-8 (no decoder in between)
	num     int  // records read so far, the header included
	pending *Row // the first data row, read ahead by OpenSource
	closed  bool
}

func openCSV(br *bufio.Reader, head []byte, name string, o FileOptions, detected []string) (Source, error) {
	dn := displayName(name)
	info := SourceInfo{Format: "csv", Detected: detected}
	enc := strings.ToLower(strings.TrimSpace(o.Encoding))
	switch enc {
	case "utf8":
		enc = "utf-8"
	case "cp1252", "windows1252", "latin1", "latin-1", "iso-8859-1", "iso8859-1":
		enc = "windows-1252"
	case "latin9", "latin-9", "iso8859-15":
		enc = "iso-8859-15"
	case "utf16":
		enc = "utf-16"
	case "", "utf-8", "windows-1252", "iso-8859-15", "utf-16", "utf-16le", "utf-16be":
	default:
		return nil, fileErr(ErrBadOptions, "unknown encoding %q: choose utf-8, windows-1252 or iso-8859-15", o.Encoding)
	}
	hasBOM8 := bytes.HasPrefix(head, bomUTF8)
	hasBOM16 := bytes.HasPrefix(head, bomUTF16L) || bytes.HasPrefix(head, bomUTF16B)
	if enc == "" {
		info.Detected = append(info.Detected, "encoding")
		switch {
		case hasBOM8:
			enc = "utf-8"
		case hasBOM16:
			enc = "utf-16"
		default:
			if looksBinary(head) {
				return nil, fileErr(ErrNotText, "%s is not a text CSV file (it holds binary data): export the contacts from your spreadsheet or CRM as CSV, XLSX or JSON Lines", dn)
			}
			enc = detectSingleByte(head, len(head) < sniffSize)
		}
	}
	if enc == "utf-16" {
		switch {
		case bytes.HasPrefix(head, bomUTF16B):
			enc = "utf-16be"
		default:
			enc = "utf-16le" // what Excel's "Unicode text" writes
		}
	}

	// The decoded stream and a decoded sample for sniffing.
	var dec *encoding.Decoder
	switch enc {
	case "windows-1252":
		dec = charmap.Windows1252.NewDecoder()
	case "iso-8859-15":
		dec = charmap.ISO8859_15.NewDecoder()
	case "utf-16le":
		dec = unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewDecoder()
	case "utf-16be":
		dec = unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewDecoder()
	}
	info.Encoding = enc
	var stream *bufio.Reader
	sample := head
	truncated := len(head) == sniffSize
	if dec == nil {
		if hasBOM8 {
			info.BOM = true
			_, _ = br.Discard(len(bomUTF8))
			sample = head[len(bomUTF8):]
		}
		stream = br
	} else {
		info.BOM = hasBOM16 && strings.HasPrefix(enc, "utf-16")
		s := head
		if strings.HasPrefix(enc, "utf-16") && len(s)%2 == 1 {
			s = s[:len(s)-1]
		}
		d, _, err := transform.Bytes(dec, s)
		if err != nil {
			return nil, fileErr(ErrNotText, "%s cannot be read as %s: choose another encoding", dn, enc)
		}
		sample = d
		dec.Reset()
		stream = bufio.NewReaderSize(transform.NewReader(br, dec), sniffSize)
		if strings.HasPrefix(enc, "utf-16") && looksBinary(sample) {
			return nil, fileErr(ErrNotText, "%s is not a text CSV file (it holds binary data): export the contacts from your spreadsheet or CRM as CSV, XLSX or JSON Lines", dn)
		}
	}

	var delim byte
	switch {
	case o.Delimiter == 0:
		delim = sniffDelimiter(sample, truncated)
		info.Detected = append(info.Detected, "delimiter")
	case o.Delimiter < utf8.RuneSelf && o.Delimiter > ' ' || o.Delimiter == '\t':
		delim = byte(o.Delimiter)
		if delim == '"' {
			return nil, fileErr(ErrBadOptions, "the delimiter cannot be a quote")
		}
	default:
		return nil, fileErr(ErrBadOptions, "the delimiter %q is not supported: choose , ; tab or |", o.Delimiter)
	}
	info.Delimiter = rune(delim)

	s := &csvSource{
		p:       &csvParser{br: stream, delim: delim, max: o.MaxRowBytes},
		info:    info,
		checkU8: dec == nil,
	}
	// The header: the first record that is not blank.
	for {
		rec, err := s.p.next()
		if err == io.EOF {
			return nil, fileErr(ErrEmptyFile, "%s holds no rows: export the contacts again, with a header row and one row per contact", dn)
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", dn, err)
		}
		s.num++
		if rec.tooLong {
			return nil, fileErr(ErrBadHeader, "the first row of %s is longer than %s: is it really a CSV file?", dn, ByteSize(o.MaxRowBytes))
		}
		if rec.tooMany {
			return nil, fileErr(ErrBadHeader, "the first row of %s has more than %d columns: is it really a CSV file?", dn, csvMaxFields)
		}
		if rec.unclosed {
			return nil, fileErr(ErrBadHeader, "a quote in the first row of %s is never closed: check the file's delimiter and quotes", dn)
		}
		if rec.nul || (s.checkU8 && !utf8.Valid(s.p.rec)) {
			return nil, fileErr(ErrNotText, "the first row of %s is not text in %s: choose another encoding", dn, enc)
		}
		fields := rec.strings(s.p)
		if blankFields(fields) {
			continue
		}
		if s.header, err = checkHeader(fields); err != nil {
			return nil, err
		}
		break
	}
	// Read the first row ahead: a file with a header and no rows is refused.
	r, err := s.read()
	if err == io.EOF {
		return nil, fileErr(ErrNoRows, "%s has a header row but no contacts below it", dn)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dn, err)
	}
	s.pending = &r
	return s, nil
}

// detectSingleByte picks the encoding of a sample that has no BOM; complete
// says the sample is the whole file (its last rune cannot be cut).
func detectSingleByte(head []byte, complete bool) string {
	b := head
	if !complete {
		// The sample may end in the middle of a multi-byte character.
		for i := 1; i <= utf8.UTFMax-1 && i <= len(b); i++ {
			if c := b[len(b)-i]; c >= 0xC0 {
				if !utf8.FullRune(b[len(b)-i:]) {
					b = b[:len(b)-i]
				}
				break
			} else if c < 0x80 {
				break
			}
		}
	}
	if utf8.Valid(b) {
		return "utf-8"
	}
	hasA4, hasC1 := false, false
	for _, c := range head {
		switch {
		case c == 0xA4:
			hasA4 = true
		case c >= 0x80 && c <= 0x9F:
			hasC1 = true
		}
	}
	if hasA4 && !hasC1 {
		return "iso-8859-15"
	}
	return "windows-1252"
}

// sniffDelimiter returns the delimiter that splits the sample's records into
// the same number (above one) of fields most often.
func sniffDelimiter(sample []byte, truncated bool) byte {
	best, bestAgree, bestCount := byte(','), 0, 1
	for _, d := range csvDelimiters {
		p := &csvParser{br: bufio.NewReaderSize(bytes.NewReader(sample), 4096), delim: d, max: len(sample) + 1}
		var counts []int
		for len(counts) < 31 {
			rec, err := p.next()
			if err != nil {
				break
			}
			if rec.nfields == 1 && rec.blank(p) {
				continue // an empty line
			}
			counts = append(counts, rec.nfields)
		}
		if truncated && len(counts) > 1 {
			counts = counts[:len(counts)-1] // the last record may be cut
		}
		freq := map[int]int{}
		mode, agree := 0, 0
		for _, n := range counts {
			freq[n]++
			if freq[n] > agree || (freq[n] == agree && n > mode) {
				mode, agree = n, freq[n]
			}
		}
		if mode > 1 && (agree > bestAgree || (agree == bestAgree && mode > bestCount)) {
			best, bestAgree, bestCount = d, agree, mode
		}
	}
	return best
}

// Header implements Source.
func (s *csvSource) Header() []string { return s.header }

// Info returns how the file was read.
func (s *csvSource) Info() SourceInfo { return s.info }

// DetectedEncoding returns the encoding read: "utf-8", "windows-1252", ….
func (s *csvSource) DetectedEncoding() string { return s.info.Encoding }

// DetectedDelimiter returns the delimiter used.
func (s *csvSource) DetectedDelimiter() rune { return s.info.Delimiter }

// Close implements Source.
func (s *csvSource) Close() error {
	s.closed, s.pending = true, nil
	return nil
}

// Next implements Source.
func (s *csvSource) Next() (Row, error) {
	if s.closed {
		return Row{}, ErrSourceClosed
	}
	if s.pending != nil {
		r := *s.pending
		s.pending = nil
		return r, nil
	}
	return s.read()
}

func (s *csvSource) read() (Row, error) {
	for {
		rec, err := s.p.next()
		if err != nil {
			return Row{}, err
		}
		s.num++
		n := len(s.header)
		row := Row{Num: s.num}
		switch {
		case rec.tooLong:
			row.setProblem(problemTooLong(s.p.max))
		case rec.tooMany:
			row.setProblem(textf("the row has more than %d fields, the header %d", csvMaxFields, n))
		case rec.unclosed:
			row.setProblem(textf(`a quoted field is never closed (a " is missing): the rest of the file was read as this one row`))
		case rec.nul:
			row.setProblem(textf("the row holds binary data (a NUL byte)"))
		case s.checkU8 && !utf8.Valid(s.p.rec):
			row.setProblem(textf("not valid UTF-8"))
		}
		if row.Problem != "" {
			row.Fields = make([]string, n)
			return row, nil
		}
		if rec.blank(s.p) {
			continue
		}
		fields := rec.strings(s.p)
		if len(fields) < n {
			row.Fields = make([]string, n)
			row.setProblem(fieldCountProblem(len(fields), n))
			return row, nil
		}
		var problem Text
		row.Fields, problem = alignFields(fields, n)
		if !problem.IsZero() {
			row.setProblem(problem)
		}
		return row, nil
	}
}

// csvParser reads CSV records from a stream of UTF-8 (or ASCII-compatible)
// bytes. The delimiter, the quote, CR and LF are ASCII, which never occur
// inside a multi-byte UTF-8 sequence, so bytes can be scanned one by one.
type csvParser struct {
	br    *bufio.Reader
	delim byte
	max   int
	rec   []byte // the record's field contents, concatenated
	ends  []int  // where each field ends in rec
}

// csvRecord describes the record last read; its data is in the parser.
type csvRecord struct {
	nfields  int
	tooLong  bool // over max bytes: rec and ends are incomplete
	tooMany  bool // over csvMaxFields fields
	unclosed bool // the file ended inside a quoted field
	nul      bool // a NUL byte was seen
}

const (
	csvFieldStart = iota
	csvUnquoted
	csvQuoted
	csvQuoteInQuoted // a quote seen inside a quoted field
)

// next reads one record, or returns io.EOF when no byte is left.
func (p *csvParser) next() (csvRecord, error) {
	var r csvRecord
	p.rec, p.ends = p.rec[:0], p.ends[:0]
	state, start, quoted, any := csvFieldStart, 0, false, false
	raw := 0 // the record's bytes in the file, delimiters and quotes included
	add := func(b []byte) {
		if r.tooLong {
			return
		}
		p.rec = appendBounded(p.rec, b, p.max)
	}
	end := func() {
		r.nfields++
		if r.tooLong || r.tooMany {
			return
		}
		if r.nfields > csvMaxFields {
			r.tooMany = true
			return
		}
		if quoted && bytes.IndexByte(p.rec[start:], '\r') >= 0 {
			// CRLF inside quotes becomes LF.
			f := p.rec[start:]
			w := 0
			for i := 0; i < len(f); i++ {
				if f[i] == '\r' && i+1 < len(f) && f[i+1] == '\n' {
					continue
				}
				f[w] = f[i]
				w++
			}
			p.rec = p.rec[:start+w]
		}
		p.ends = append(p.ends, len(p.rec))
		start, quoted = len(p.rec), false
	}
	for {
		chunk, err := p.br.ReadSlice('\n')
		if len(chunk) > 0 {
			any = true
			if !r.nul && bytes.IndexByte(chunk, 0) >= 0 {
				r.nul = true
			}
			// A chunk never spans two records: records end at a '\n'.
			if raw += len(chunk); raw > p.max+2 && !r.tooLong { // +2: the line ending
				r.tooLong = true
				p.rec, p.ends = p.rec[:0], p.ends[:0]
			}
		}
		for i := 0; i < len(chunk); i++ {
			switch state {
			case csvFieldStart:
				if chunk[i] == '"' {
					state, quoted = csvQuoted, true
					continue
				}
				state = csvUnquoted
				fallthrough
			case csvUnquoted:
				j := i
				for j < len(chunk) && chunk[j] != p.delim && chunk[j] != '\n' {
					j++
				}
				add(chunk[i:j])
				i = j
				if j == len(chunk) {
					continue
				}
				if chunk[j] == '\n' {
					if !r.tooLong && len(p.rec) > start && p.rec[len(p.rec)-1] == '\r' {
						p.rec = p.rec[:len(p.rec)-1]
					}
					end()
					return r, nil
				}
				end()
				state = csvFieldStart
			case csvQuoted:
				j := bytes.IndexByte(chunk[i:], '"')
				if j < 0 {
					add(chunk[i:])
					i = len(chunk)
					continue
				}
				add(chunk[i : i+j])
				i += j
				state = csvQuoteInQuoted
			case csvQuoteInQuoted:
				switch c := chunk[i]; c {
				case '"':
					add(chunk[i : i+1])
					state = csvQuoted
				case p.delim:
					end()
					state = csvFieldStart
				case '\n':
					end()
					return r, nil
				case '\r':
				default:
					add(chunk[i : i+1]) // text after a closing quote: keep it
					state = csvUnquoted
				}
			}
		}
		switch err {
		case nil, bufio.ErrBufferFull:
			continue
		case io.EOF:
			if !any {
				return r, io.EOF
			}
			if state == csvQuoted {
				r.unclosed = true
			}
			if state == csvUnquoted && !r.tooLong && len(p.rec) > start && p.rec[len(p.rec)-1] == '\r' {
				p.rec = p.rec[:len(p.rec)-1]
			}
			end()
			return r, nil
		default:
			return r, err
		}
	}
}

// blank reports whether every field of the record is empty or spaces.
func (r csvRecord) blank(p *csvParser) bool {
	if r.tooLong || r.tooMany || r.unclosed {
		return false
	}
	return len(bytes.TrimSpace(p.rec)) == 0
}

// strings returns the record's fields; they share one allocation.
func (r csvRecord) strings(p *csvParser) []string {
	all := string(p.rec)
	out := make([]string, len(p.ends))
	prev := 0
	for i, e := range p.ends {
		out[i] = all[prev:e]
		prev = e
	}
	return out
}
