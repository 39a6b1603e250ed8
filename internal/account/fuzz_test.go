package account

import (
	"strings"
	"testing"

	"avis/internal/db"
)

// FuzzParseAPIKey: any bearer token either parses into an id and secret that
// rebuild it exactly, or is ErrBadAPIKey; it never panics.
func FuzzParseAPIKey(f *testing.F) {
	f.Add("avis_" + db.NewID() + "_" + strings.Repeat("A", 43))
	f.Add("avis_")
	f.Add("Bearer x")
	f.Add("avis_" + strings.Repeat("z", 26) + "_" + strings.Repeat("-", 43))
	f.Fuzz(func(t *testing.T, token string) {
		id, secret, err := parseAPIKey(token)
		if err != nil {
			if err != ErrBadAPIKey {
				t.Fatalf("error %v is not ErrBadAPIKey", err)
			}
			return
		}
		if "avis_"+id+"_"+secret != token || !db.ValidID(id) {
			t.Fatalf("parsed %q into %q, %q", token, id, secret)
		}
	})
}
