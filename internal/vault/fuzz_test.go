package vault

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzOpen feeds Open arbitrary bytes: it must never panic, and it must
// fail with ErrCorrupt on anything that Seal did not make for that key and
// field.
func FuzzOpen(f *testing.F) {
	k, err := newSubjectKey("t1", "s1", testKey(5))
	if err != nil {
		f.Fatal(err)
	}
	// Fuzz workers run this setup again, with other nonces: what Seal
	// made is recognised by its plaintext, which no forgery can choose.
	plains := [][]byte{[]byte("ada@example.org"), {}, bytes.Repeat([]byte{0}, 100)}
	for _, p := range plains {
		s := k.Seal("email", p)
		f.Add(s)
		f.Add(s[:len(s)-1])
	}
	f.Add([]byte{})
	f.Add([]byte{version})
	f.Add(append([]byte{version}, make([]byte, minSealed)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := k.Open("email", b)
		if err == nil {
			for _, want := range plains {
				if bytes.Equal(p, want) && len(b) == minSealed+len(want) {
					return
				}
			}
			t.Fatalf("Open accepted bytes Seal did not make: %x -> %q", b, p)
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Open error %v is not ErrCorrupt", err)
		}
		if p != nil {
			t.Fatalf("Open returned plaintext with an error")
		}
	})
}
