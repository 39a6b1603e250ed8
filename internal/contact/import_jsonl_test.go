package contact

import (
	"bytes"
	"io"
	"runtime"
	"strings"
	"testing"
)

func TestJSONLTestdata(t *testing.T) {
	t.Parallel()
	src, err := openTestdata(t, "contacts.jsonl", FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := "external_id|last_name|first_name|email|phone|store|purchased|vip|amount|note"
	if got := strings.Join(src.Header(), "|"); got != wantHeader {
		t.Fatalf("header %q, want %q", got, wantHeader)
	}
	rows := readAll(t, src)
	type want struct {
		num     int
		problem string
		fields  string
	}
	wants := []want{
		{1, "", "C1001|Dupont|Hélène|helene.dupont@example.com|01 99 00 12 01|Paris Opéra|03/01/2024|true|10.5|"},
		{2, "", "C1002|Lefèvre|François|francois.lefevre@example.org|06 39 98 10 02|Lyon Part-Dieu|15/01/2024|false|11.5|"},
		{3, "", "C1003|Müller|Zoé|zoe.muller@example.net|01 99 00 12 03|Strasbourg|28/02/2024|true|12.5|"},
		{4, "", "C1004|Garçon|Noémie|noemie.garcon@example.com|01.99.00.12.04|Lille|29/02/2024|false|13.5|"},
		{5, "", "C1005|Bréhat|Jérôme|jerome.brehat@example.org|+33 1 99 00 12 05|Nantes|01/03/2024|true|14.5|"},
		{6, "", "C1006|||anais.nguyen@example.net||||||"},
		{7, "", "C1007|=1+2|Léa|lea.formule@example.com|01 99 00 12 07|Paris Opéra|12/03/2024|true|16.5|"},
		// line 8 is blank
		{9, `the value of "store" is a list or an object: only text, numbers, true, false or null are accepted`, "|||||||||"},
		{10, "the line is not valid JSON", "|||||||||"},
		{11, "", "C1008|Da Silva|João|joao.dasilva@example.com|01 99 00 12 08|Toulouse|20/03/2024|false|17.5|"},
	}
	if len(rows) < len(wants) {
		t.Fatalf("%d rows, want at least %d", len(rows), len(wants))
	}
	for i, w := range wants {
		r := rows[i]
		if r.Num != w.num || r.Problem != w.problem || strings.Join(r.Fields, "|") != w.fields {
			t.Errorf("row %d = %d %q %q\nwant %d %q %q", i, r.Num, r.Problem, strings.Join(r.Fields, "|"), w.num, w.problem, w.fields)
		}
	}
	info := SourceInfoOf(src)
	if info.Format != "jsonl" || strings.Join(info.IgnoredKeys, ",") != "loyalty" {
		t.Errorf("info = %+v, want jsonl with loyalty ignored", info)
	}
	m := SuggestMapping(src.Header(), map[string]string{"store": "Magasin"})
	if m[0] != FieldExternalID || m[1] != FieldLastNameCol || m[2] != FieldFirstNameCol || m[3] != FieldEmailCol || m[4] != FieldPhoneCol || m[5] != "attr:store" {
		t.Errorf("mapping = %q", m)
	}
}

func TestJSONLLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
		want []string // "num:fields" or "num!problem"
	}{
		{"CRLF and BOM", "\ufeff{\"a\":\"1\",\"b\":2}\r\n{\"b\":\"x\",\"a\":\"y\"}\r\n", []string{"1:1|2", "2:y|x"}},
		{"scalars", `{"a":"s","b":1}` + "\n" + `{"a":true,"b":null}` + "\n" + `{"a":-1.5e3,"b":false}` + "\n", []string{"1:s|1", "2:true|", "3:-1.5e3|false"}},
		{"not an object", `{"a":"1","b":"2"}` + "\n[1,2]\n\"x\"\n", []string{"1:1|2", "2!the line is not a JSON object ({...})", "3!the line is not a JSON object ({...})"}},
		{"two objects on a line", `{"a":"1","b":"2"}` + "\n" + `{"a":"1"} {"a":"2"}` + "\n", []string{"1:1|2", "2!the line holds more than one JSON value"}},
		{"truncated", `{"a":"1","b":"2"}` + "\n" + `{"a":"1",` + "\n", []string{"1:1|2", "2!the line is not valid JSON"}},
		{"duplicate key", `{"a":"1","b":"2"}` + "\n" + `{"a":"1","a":"2"}` + "\n", []string{"1:1|2", `2!the key "a" appears twice`}},
		{"invalid UTF-8", `{"a":"1","b":"2"}` + "\n" + "{\"a\":\"\xe9\"}\n" + `{"a":"3"}` + "\n", []string{"1:1|2", "2!not valid UTF-8", "3:3|"}},
		{"escapes", `{"a":"l\u00e9a\n","b":"\"q\""}` + "\n", []string{"1:léa\n|\"q\""}},
		{"too long", `{"a":"1","b":"2"}` + "\n" + `{"a":"` + strings.Repeat("x", 200) + `"}` + "\n" + `{"a":"3"}`, []string{"1:1|2", "2!the row is longer than 128 bytes: it was skipped", "3:3|"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src, err := OpenSource(strings.NewReader(tt.data), "t.jsonl", FileOptions{MaxRowBytes: 128})
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
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("rows %q\nwant %q", got, tt.want)
			}
		})
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

func TestJSONLLongLine(t *testing.T) {
	r := io.MultiReader(strings.NewReader(`{"email":"before@example.com"}`+"\n"+`{"email":"`),
		&repeatReader{'a', 10 << 20}, strings.NewReader(`"}`+"\n"+`{"email":"after@example.com"}`+"\n"))
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	src, err := OpenSource(r, "long.jsonl", FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rows := readAll(t, src)
	runtime.ReadMemStats(&m1)
	if len(rows) != 3 || rows[1].Problem == "" || rows[1].Num != 2 || rows[2].Fields[0] != "after@example.com" {
		t.Fatalf("rows = %+v", rows)
	}
	if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 4<<20 {
		t.Errorf("reading a 10 MB line allocated %d bytes", alloc)
	}
}

func FuzzJSONLSource(f *testing.F) {
	f.Add([]byte(`{"a":"1","b":2}` + "\n" + `{"a":null,"c":true}` + "\n"))
	f.Add([]byte(`{"a":{"x":[1,2]}}`))
	f.Add([]byte("{\"a\":\"1\"}\r\n\r\n{\"a\":\"\xff\"}\n[]\n"))
	f.Add([]byte(`{"a":"1"}` + "\n" + `{"a":"1","a":"2"} {}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := OpenSource(bytes.NewReader(data), "f.jsonl", FileOptions{Format: "jsonl", MaxRowBytes: 256})
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
		for {
			r, err := src.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if len(r.Fields) != len(h) {
				t.Fatalf("line %d: %d fields, header %d", r.Num, len(r.Fields), len(h))
			}
			if r.Num <= last {
				t.Fatalf("line number %d after %d", r.Num, last)
			}
			last = r.Num
			if r.Problem != "" && strings.Join(r.Fields, "") != "" {
				t.Fatalf("problem line %d carries content", r.Num)
			}
		}
	})
}
