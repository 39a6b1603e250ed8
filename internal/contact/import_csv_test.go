package contact

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

func mustEncode(t testing.TB, cm *charmap.Charmap, s string) string {
	t.Helper()
	b, err := cm.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// csvRows opens data as a CSV and returns its header and rows as strings
// "num:field|field" or "num!problem".
func csvRows(t *testing.T, data string, o FileOptions) (SourceInfo, string, []string) {
	t.Helper()
	src, err := OpenSource(strings.NewReader(data), "t.csv", o)
	if err != nil {
		t.Fatalf("OpenSource: %v", err)
	}
	defer src.Close()
	var out []string
	for _, r := range readAll(t, src) {
		if r.Problem != "" {
			out = append(out, fmt.Sprintf("%d!%s", r.Num, r.Problem))
		} else {
			out = append(out, fmt.Sprintf("%d:%s", r.Num, strings.Join(r.Fields, "|")))
		}
	}
	return SourceInfoOf(src), strings.Join(src.Header(), "|"), out
}

func TestCSVEncodings(t *testing.T) {
	t.Parallel()
	text := "Nom;Prénom;Note\r\nMüller;Zoé;coût 5 €\r\nLefèvre;François;cœur\r\n"
	tests := []struct {
		name     string
		data     string
		o        FileOptions
		encoding string
		bom      bool
		want     string // the last field of the first row
	}{
		{"utf-8", text, FileOptions{}, "utf-8", false, "coût 5 €"},
		{"utf-8 with BOM", "\xef\xbb\xbf" + text, FileOptions{}, "utf-8", true, "coût 5 €"},
		{"windows-1252", mustEncode(t, charmap.Windows1252, text), FileOptions{}, "windows-1252", false, "coût 5 €"},
		{"iso-8859-15 with €", mustEncode(t, charmap.ISO8859_15, strings.ReplaceAll(text, "cœur", "coeur")), FileOptions{}, "iso-8859-15", false, "coût 5 €"},
		// With œ (0x9C in Windows-1252) the € is 0x80: Windows-1252.
		{"windows-1252 with € and œ", mustEncode(t, charmap.Windows1252, text), FileOptions{}, "windows-1252", false, "coût 5 €"},
		// Latin-1 text without €: Windows-1252 reads it the same.
		{"latin-1", mustEncode(t, charmap.ISO8859_1, strings.NewReplacer(" €", "", "cœur", "coeur").Replace(text)), FileOptions{}, "windows-1252", false, "coût 5"},
		{"forced iso-8859-15", mustEncode(t, charmap.ISO8859_15, strings.ReplaceAll(text, "cœur", "coeur")), FileOptions{Encoding: "latin9"}, "iso-8859-15", false, "coût 5 €"},
		{"forced windows-1252 on ASCII", "a;b\r\nx;y\r\n", FileOptions{Encoding: "cp1252"}, "windows-1252", false, "y"},
		{"utf-16le with BOM", utf16le("\ufeff" + text), FileOptions{}, "utf-16le", true, "coût 5 €"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			info, header, rows := csvRows(t, tt.data, tt.o)
			if info.Encoding != tt.encoding || info.BOM != tt.bom || info.Delimiter != ';' {
				t.Errorf("info = %+v, want %s bom=%v ';'", info, tt.encoding, tt.bom)
			}
			if !strings.HasPrefix(header, "Nom|Pr") && header != "a|b" {
				t.Errorf("header = %q", header)
			}
			if len(rows) == 0 || !strings.HasSuffix(rows[0], "|"+tt.want) {
				t.Errorf("rows = %q, want the first to end with %q", rows, tt.want)
			}
			if header == "Nom|Prénom|Note" && !strings.HasPrefix(rows[0], "2:Müller|Zoé|") {
				t.Errorf("row = %q", rows[0])
			}
		})
	}
}

func utf16le(s string) string {
	var b []byte
	for _, r := range s {
		if r > 0xFFFF {
			panic("BMP only")
		}
		b = append(b, byte(r), byte(r>>8))
	}
	return string(b)
}

func TestCSVDelimiters(t *testing.T) {
	t.Parallel()
	for _, d := range []string{",", ";", "\t", "|"} {
		t.Run(fmt.Sprintf("%q", d), func(t *testing.T) {
			t.Parallel()
			// Other candidate delimiters appear inside quoted fields and in
			// plain text to mislead the sniffer.
			others := strings.NewReplacer(d, "").Replace(",;\t|")
			data := strings.Join([]string{
				"Email" + d + "Nom" + d + "Note",
				"a@example.com" + d + "Dupont" + d + `"x, y; z | t` + "\t" + `u"`,
				"b@example.com" + d + "Martin" + others + "Jean" + d + "ok",
				"c@example.com" + d + `"Roux` + d + ` Cécile"` + d + "1" + others + "2",
				"",
			}, "\n")
			info, header, rows := csvRows(t, data, FileOptions{})
			if info.Delimiter != rune(d[0]) {
				t.Errorf("delimiter %q, want %q", info.Delimiter, d)
			}
			want := []string{
				"2:a@example.com|Dupont|x, y; z | t\tu",
				"3:b@example.com|Martin" + others + "Jean|ok",
				"4:c@example.com|Roux" + d + " Cécile|1" + others + "2",
			}
			if header != "Email|Nom|Note" || strings.Join(rows, "\n") != strings.Join(want, "\n") {
				t.Errorf("header %q rows %q, want %q", header, rows, want)
			}
		})
	}
	t.Run("given", func(t *testing.T) {
		t.Parallel()
		info, header, rows := csvRows(t, "a;b,c\n1;2,3\n", FileOptions{Delimiter: ','})
		if info.Delimiter != ',' || header != "a;b|c" || rows[0] != "2:1;2|3" || len(info.Detected) != 2 {
			t.Errorf("info %+v header %q rows %q", info, header, rows)
		}
	})
	t.Run("single column", func(t *testing.T) {
		t.Parallel()
		info, header, rows := csvRows(t, "Email\na@example.com\nb@example.com\n", FileOptions{})
		if info.Delimiter != ',' || header != "Email" || len(rows) != 2 {
			t.Errorf("info %+v header %q rows %q", info, header, rows)
		}
	})
}

func TestCSVRecords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		data   string
		header string
		want   []string
	}{
		{"LF", "a,b\n1,2\n3,4\n", "a|b", []string{"2:1|2", "3:3|4"}},
		{"CRLF", "a,b\r\n1,2\r\n3,4\r\n", "a|b", []string{"2:1|2", "3:3|4"}},
		{"no final newline", "a,b\r\n1,2\r\n3,4", "a|b", []string{"2:1|2", "3:3|4"}},
		{"quoted newline counts one record", "a,b\n\"x\ny\",2\n\"p\r\nq\r\nr\",3\nlast,4\n", "a|b", []string{"2:x\ny|2", "3:p\nq\nr|3", "4:last|4"}},
		{"escaped quotes", "a,b\n\"say \"\"hi\"\"\",2\n", "a|b", []string{"2:say \"hi\"|2"}},
		{"empty quoted field", "a,b\n\"\",2\n", "a|b", []string{"2:|2"}},
		{"stray quote kept", "a,b\nO\"Neil,2\n", "a|b", []string{"2:O\"Neil|2"}},
		{"text after closing quote kept", "a,b\n\"x\"y,2\n", "a|b", []string{"2:xy|2"}},
		{"quoted then CRLF", "a,b\r\n1,\"2\"\r\n3,4\r\n", "a|b", []string{"2:1|2", "3:3|4"}},
		{"blank lines skipped but counted", "a,b\n\n1,2\n,\n \n3,4\n", "a|b", []string{"3:1|2", "6:3|4"}},
		{"blank lines above the header", "\n\na,b\n1,2\n", "a|b", []string{"4:1|2"}},
		{"header trimmed", " a , b\t\n1,2\n", "a|b", []string{"2:1|2"}},
		{"fields not trimmed", "a,b\n 1 , 2 \n", "a|b", []string{"2: 1 | 2 "}},
		{"trailing blank header names dropped", "a,b,,\n1,2,,\n", "a|b", []string{"2:1|2"}},
		{"value under a nameless trailing column", "a,b,\n1,2,3\n", "a|b", []string{"2!the row has 3 fields, the header 2"}},
		{"formula cells stored as they are", "a,b\n=1+2,@SUM(A1)\n-3,+4\n", "a|b", []string{"2:=1+2|@SUM(A1)", "3:-3|+4"}},
		{"unclosed quote", "a,b\n1,2\n3,\"4\n5,6\n", "a|b", []string{"2:1|2", `3!a quoted field is never closed (a " is missing): the rest of the file was read as this one row`}},
		{"NUL in a row after the sample", "a,b\n" + strings.Repeat("1,2\n", 20000) + "3,\x00\n5,6\n", "a|b",
			append(repeatRows(20000), "20002!the row holds binary data (a NUL byte)", "20003:5|6")},
		{"one field", "a,b\nx\n", "a|b", []string{"2!the row has 1 field, the header 2"}},
		{"CR inside unquoted field", "a,b\n1\r2,3\n", "a|b", []string{"2:1\r2|3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, header, rows := csvRows(t, tt.data, FileOptions{Delimiter: ','})
			if header != tt.header || strings.Join(rows, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("header %q rows %q\nwant %q %q", header, rows, tt.header, tt.want)
			}
		})
	}
}

func repeatRows(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%d:1|2", i+2)
	}
	return out
}

func TestCSVInvalidUTF8InSampleMeansWindows1252(t *testing.T) {
	t.Parallel()
	// Within the first 64 KiB an invalid byte decides the encoding instead.
	info, _, rows := csvRows(t, "Nom\nLef\xe8vre\n", FileOptions{})
	if info.Encoding != "windows-1252" || rows[0] != "2:Lefèvre" {
		t.Errorf("info %+v rows %q", info, rows)
	}
	// Forced UTF-8: the row is reported, not re-decoded.
	_, _, rows = csvRows(t, "Nom\nLef\xe8vre\nRoux\n", FileOptions{Encoding: "utf-8"})
	if strings.Join(rows, ",") != "2!not valid UTF-8,3:Roux" {
		t.Errorf("rows %q", rows)
	}
}

// repeatReader yields n bytes of c without holding them.
type repeatReader struct {
	c byte
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n)
	for i := range p[:k] {
		p[i] = r.c
	}
	r.n -= k
	return k, nil
}

func TestCSVLongLine(t *testing.T) {
	const long = 10 << 20
	tests := []struct {
		name  string
		open  string // before the long run
		fill  byte
		close string // after it
	}{
		{"unquoted", "x@example.com,", 'a', "\n"},
		{"quoted with newlines", "x@example.com,\"", '\n', "\"\n"},
		{"many fields", "x@example.com,", ',', "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := io.MultiReader(strings.NewReader("Email,Note\nbefore@example.com,1\n"+tt.open),
				&repeatReader{tt.fill, long}, strings.NewReader(tt.close+"after@example.com,2\n"))
			var m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			src, err := OpenSource(r, "long.csv", FileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var rows []Row
			for {
				row, err := src.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				rows = append(rows, row)
			}
			runtime.ReadMemStats(&m1)
			if len(rows) != 3 || rows[1].Problem != "the row is longer than 1 MiB: it was skipped" || rows[1].Num != 3 ||
				rows[2].Fields[0] != "after@example.com" || rows[2].Num != 4 || rows[2].Problem != "" {
				t.Fatalf("rows = %+v", rows)
			}
			// Reading 10 MB allocates a bounded amount (the 64 KiB buffers and
			// at most one MaxRowBytes record), nothing proportional to the line.
			if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 4<<20 {
				t.Errorf("reading a 10 MB line allocated %d bytes", alloc)
			}
		})
	}
	t.Run("max row bytes option", func(t *testing.T) {
		_, _, rows := csvRows(t, "a,b\n1,2\n"+strings.Repeat("x", 100)+",y\n3,4\n", FileOptions{MaxRowBytes: 64})
		want := "2:1|2,3!the row is longer than 64 bytes: it was skipped,4:3|4"
		if strings.Join(rows, ",") != want {
			t.Errorf("rows %q, want %q", rows, want)
		}
	})
}

// genCSV writes an n-row, 8-column CSV into w.
func genCSV(w io.Writer, n int) error {
	if _, err := io.WriteString(w, "external_id,email,phone,first_name,last_name,language,store,purchased\n"); err != nil {
		return err
	}
	buf := make([]byte, 0, 256)
	for i := 0; i < n; i++ {
		buf = fmt.Appendf(buf[:0], "C%d,client%d@example.com,+3319900%04d,Hélène,Dupont-%d,fr,Paris Opéra,15/01/2024\n", i, i, i%10000, i)
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

func TestCSVStreamingMemory(t *testing.T) {
	const n = 200_000
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(genCSV(pw, n)) }()
	defer pr.Close()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	start := ms.HeapInuse
	src, err := OpenSource(pr, "big.csv", FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	count, maxHeap := 0, uint64(0)
	for {
		r, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if r.Problem != "" || r.Fields[0] != fmt.Sprintf("C%d", count) {
			t.Fatalf("row %d = %+v", r.Num, r)
		}
		count++
		if count%20_000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			maxHeap = max(maxHeap, ms.HeapInuse)
		}
	}
	if count != n {
		t.Fatalf("%d rows, want %d", count, n)
	}
	// The file is ~19 MB; the heap must not grow with it.
	if grow := int64(maxHeap) - int64(start); grow > 4<<20 {
		t.Errorf("heap grew by %d bytes while reading %d rows", grow, n)
	}
	t.Logf("heap in use: start %d, max %d", start, maxHeap)
}

func BenchmarkCSVSource(b *testing.B) {
	const n = 100_000
	var buf bytes.Buffer
	if err := genCSV(&buf, n); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	rows := 0
	for b.Loop() {
		src, err := OpenSource(bytes.NewReader(data), "bench.csv", FileOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := src.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows++
		}
		src.Close()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

func FuzzCSVSource(f *testing.F) {
	f.Add([]byte("a,b\n1,2\n"), uint8(0))
	f.Add([]byte("Nom;Prénom\r\n\"x\r\ny\";\"z\"\"\"\r\n"), uint8(0))
	f.Add([]byte("a\tb\n1\t2\t3\n4\n"), uint8(1))
	f.Add([]byte("\xef\xbb\xbfa|b\n\"1|2\"|3"), uint8(2))
	f.Add([]byte("R\xe9f;Nom\r\n1;M\xfcller\r\n"), uint8(3))
	f.Add([]byte("\xff\xfea\x00,\x00b\x00\n\x001\x00,\x002\x00\n\x00"), uint8(0))
	f.Add([]byte("a,b\n\"unclosed,2\n3,4"), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, opt uint8) {
		o := FileOptions{Format: "csv", MaxRowBytes: 64 + int(opt)*8}
		if opt&1 == 1 {
			o.Encoding = "utf-8"
		}
		src, err := OpenSource(bytes.NewReader(data), "f.csv", o)
		if err != nil {
			if _, ok := err.(*FileError); !ok {
				t.Fatalf("OpenSource error %T %v is not a FileError", err, err)
			}
			return
		}
		defer src.Close()
		h := src.Header()
		if len(h) == 0 {
			t.Fatal("empty header")
		}
		last := 0
		for i := 0; ; i++ {
			r, err := src.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if len(r.Fields) != len(h) {
				t.Fatalf("row %d: %d fields, header %d", r.Num, len(r.Fields), len(h))
			}
			if r.Num <= last {
				t.Fatalf("row number %d after %d", r.Num, last)
			}
			last = r.Num
			if r.Problem != "" && strings.Join(r.Fields, "") != "" {
				t.Fatalf("problem row %d carries content", r.Num)
			}
			if i > len(data)+1 {
				t.Fatal("more rows than bytes")
			}
		}
	})
}
