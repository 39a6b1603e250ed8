package web

import "testing"

// FuzzPullCursor: a cursor from outside never panics the decoder, and one
// it accepts is exactly the one avis would have given.
func FuzzPullCursor(f *testing.F) {
	f.Add("")
	f.Add(encodeCursor(cursorResponses, cursor{seq: 42, id: "06a1x3m4k7n2p5q8r0s2t4v6w8"}))
	f.Add(encodeCursor(cursorEvents, cursor{seq: 0}))
	f.Add("AQ")
	f.Add("zzz")
	f.Fuzz(func(t *testing.T, s string) {
		for _, kind := range []byte{cursorResponses, cursorInvitations, cursorEvents} {
			c, ok := decodeCursor(kind, s)
			if !ok || s == "" {
				continue
			}
			if c.seq < 0 {
				t.Fatalf("negative sequence from %q", s)
			}
			if again := encodeCursor(kind, c); again != s {
				t.Fatalf("%q decodes to %+v, which encodes to %q", s, c, again)
			}
		}
	})
}
