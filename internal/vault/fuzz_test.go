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
	valid := [][]byte{
		k.Seal("email", []byte("ada@example.org")),
		k.Seal("email", nil),
		k.Seal("email", bytes.Repeat([]byte{0}, 100)),
	}
	for _, s := range valid {
		f.Add(s)
		f.Add(s[:len(s)-1])
	}
	f.Add([]byte{})
	f.Add([]byte{version})
	f.Add(append([]byte{version}, make([]byte, minSealed)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := k.Open("email", b)
		if err == nil {
			for _, s := range valid {
				if bytes.Equal(b, s) {
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
