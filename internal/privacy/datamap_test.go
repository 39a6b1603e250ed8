package privacy_test

import (
	"context"
	"strings"
	"testing"

	"avis/internal/db/dbtest"
	"avis/internal/privacy"
)

// TestEveryColumnDeclared fails when a migration adds a column that the data
// map does not declare, or when the map declares a column that is gone.
func TestEveryColumnDeclared(t *testing.T) {
	d := dbtest.Open(t)
	cols, err := d.Columns(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	inDB := map[string]bool{}
	for _, c := range cols {
		inDB[c.Table+"."+c.Name] = true
		f, ok := privacy.Lookup(c.Table, c.Name)
		if !ok {
			t.Errorf("column %s.%s is not declared in internal/privacy/datamap.go: declare its category, purpose, basis and retention", c.Table, c.Name)
			continue
		}
		if f.Sealed() && (c.Type != "BLOB" || !strings.HasSuffix(c.Name, "_sealed")) {
			t.Errorf("personal column %s.%s must be a BLOB named *_sealed holding vault ciphertexts (type %s)", c.Table, c.Name, c.Type)
		}
		if strings.HasSuffix(c.Name, "_sealed") && f.Category != privacy.Personal && f.Category != privacy.Secret {
			t.Errorf("column %s.%s is named _sealed but declared neither personal nor secret", c.Table, c.Name)
		}
	}
	for _, f := range privacy.Map {
		if !inDB[f.Table+"."+f.Column] {
			t.Errorf("data map declares %s.%s, which no table has", f.Table, f.Column)
		}
		if f.Purpose == "" || f.Basis == "" || privacy.Retentions[f.Retention] == "" {
			t.Errorf("%s.%s lacks a purpose, a basis or a known retention rule", f.Table, f.Column)
		}
	}
}
