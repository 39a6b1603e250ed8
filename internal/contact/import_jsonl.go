package contact

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// JSON Lines reading: one JSON object per line, its values strings,
// numbers, true/false or null (null and a missing key are ""; a number is
// kept as written, "45292" or "1.5"; true/false as "true"/"false"). Blank
// lines are skipped. The keys of the first object, in their order, are the
// header; a later line may leave keys out. A key that is not in the first
// line is ignored (its values are never stored) and listed in
// SourceInfo.IgnoredKeys so the report can say so: the first line defines
// the columns, as a CSV header does. A nested object or array, a line that
// is not a JSON object, a key given twice, or a line over MaxRowBytes is a
// Problem on that row.

// jsonlMaxIgnoredKeys bounds SourceInfo.IgnoredKeys.
const jsonlMaxIgnoredKeys = 50

type jsonlSource struct {
	lr      *lineReader
	header  []string
	index   map[string]int
	info    SourceInfo
	ignored map[string]bool
	num     int
	pending *Row
	closed  bool
}

func openJSONL(br *bufio.Reader, name string, o FileOptions, detected []string) (Source, error) {
	dn := displayName(name)
	if b, _ := br.Peek(3); bytes.Equal(b, bomUTF8) {
		_, _ = br.Discard(3)
	}
	s := &jsonlSource{
		lr:      &lineReader{br: br, max: o.MaxRowBytes},
		info:    SourceInfo{Format: "jsonl", Encoding: "utf-8", Detected: detected},
		ignored: map[string]bool{},
	}
	for {
		line, tooLong, err := s.lr.next()
		if err == io.EOF {
			return nil, fileErr(ErrEmptyFile, "%s holds no lines: send one JSON object per line", dn)
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", dn, err)
		}
		s.num++
		if tooLong {
			return nil, fileErr(ErrBadHeader, "line %d of %s is longer than %s", s.num, dn, ByteSize(o.MaxRowBytes))
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if !utf8.Valid(line) {
			return nil, fileErr(ErrNotText, "line %d of %s is not valid UTF-8: JSON Lines must be UTF-8", s.num, dn)
		}
		keys, vals, problem := parseJSONLine(line)
		if !problem.IsZero() {
			return nil, fileErr(ErrBadHeader, "line %d of %s cannot be read: %s", s.num, dn, problem)
		}
		h, err := checkHeader(keys)
		if err != nil {
			return nil, err
		}
		if len(h) != len(keys) { // trailing blank keys were dropped
			return nil, fileErr(ErrBadHeader, "key %d of line %d has no name: give every key a name", len(h)+1, s.num)
		}
		s.header = h
		s.index = make(map[string]int, len(keys))
		for i, k := range keys {
			s.index[k] = i
		}
		// The first object is also the first row.
		r := Row{Num: s.num, Fields: make([]string, len(h))}
		copy(r.Fields, vals)
		s.pending = &r
		return s, nil
	}
}

// Header implements Source.
func (s *jsonlSource) Header() []string { return s.header }

// Info returns how the file was read; IgnoredKeys grows while reading.
func (s *jsonlSource) Info() SourceInfo {
	i := s.info
	i.IgnoredKeys = append([]string(nil), s.info.IgnoredKeys...)
	return i
}

// Close implements Source.
func (s *jsonlSource) Close() error {
	s.closed, s.pending = true, nil
	return nil
}

// Next implements Source.
func (s *jsonlSource) Next() (Row, error) {
	if s.closed {
		return Row{}, ErrSourceClosed
	}
	if s.pending != nil {
		r := *s.pending
		s.pending = nil
		return r, nil
	}
	for {
		line, tooLong, err := s.lr.next()
		if err != nil {
			return Row{}, err
		}
		s.num++
		row := Row{Num: s.num, Fields: make([]string, len(s.header))}
		if tooLong {
			row.setProblem(problemTooLong(s.lr.max))
			return row, nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if !utf8.Valid(line) {
			row.setProblem(textf("not valid UTF-8"))
			return row, nil
		}
		keys, vals, problem := parseJSONLine(line)
		if !problem.IsZero() {
			row.setProblem(problem)
			return row, nil
		}
		for i, k := range keys {
			j, ok := s.index[k]
			if !ok {
				if !s.ignored[k] && len(s.info.IgnoredKeys) < jsonlMaxIgnoredKeys {
					s.ignored[k] = true
					s.info.IgnoredKeys = append(s.info.IgnoredKeys, k)
				}
				continue
			}
			row.Fields[j] = vals[i]
		}
		return row, nil
	}
}

// parseJSONLine reads one line holding one JSON object of scalar values; it
// returns the keys in order and their values as text, or a problem in plain
// words that does not quote the line.
func parseJSONLine(line []byte) (keys, vals []string, problem Text) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, textf("the line is not valid JSON")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, textf("the line is not a JSON object ({...})")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, textf("the line is not valid JSON")
		}
		k, ok := tok.(string)
		if !ok {
			return nil, nil, textf("the line is not valid JSON")
		}
		if seen[k] {
			return nil, nil, textf("the key %s appears twice", strconv.Quote(truncateRunes(k, 64)))
		}
		seen[k] = true
		tok, err = dec.Token()
		if err != nil {
			return nil, nil, textf("the line is not valid JSON")
		}
		var v string
		switch t := tok.(type) {
		case string:
			v = t
		case json.Number:
			v = t.String()
		case bool:
			v = strconv.FormatBool(t)
		case nil:
		case json.Delim:
			return nil, nil, textf("the value of %s is a list or an object: only text, numbers, true, false or null are accepted", strconv.Quote(truncateRunes(k, 64)))
		}
		keys, vals = append(keys, k), append(vals, v)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, nil, textf("the line is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, textf("the line holds more than one JSON value")
	}
	return keys, vals, Text{}
}

// truncateRunes cuts s to at most n runes, marking the cut.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
