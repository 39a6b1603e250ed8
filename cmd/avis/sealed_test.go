package main

import (
	"context"
	"fmt"
	"testing"

	"avis/internal/config"
	"avis/internal/db"
	"avis/internal/privacy"
	"avis/internal/vault"
)

type cfgT = config.Config

// checkSealed reads every column the data map declares personal and fails
// unless each non-empty value is a vault ciphertext: a personal column
// written without the vault is caught here, whatever code wrote it.
func checkSealed(t *testing.T, d *db.DB) {
	t.Helper()
	ctx := context.Background()
	checked := 0
	for _, f := range privacy.Map {
		if !f.Sealed() {
			continue
		}
		rows, err := d.R.QueryContext(ctx, fmt.Sprintf(`SELECT %s FROM %s WHERE %s IS NOT NULL`, f.Column, f.Table, f.Column))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				t.Fatal(err)
			}
			if len(b) > 0 && !vault.IsSealed(b) {
				t.Errorf("%s.%s holds a value that is not a vault ciphertext", f.Table, f.Column)
			}
			checked++
		}
		rows.Close()
	}
	if checked < 100 {
		t.Fatalf("only %d personal values checked: the check proves nothing", checked)
	}
}
