package db_test

import (
	"context"
	"strings"
	"testing"

	"avis/internal/db"
	"avis/internal/db/dbtest"
)

// TestMigrationOnePrivacyPolicy: migration 21 moves the privacy policy URL
// of the messaging settings into the privacy profile where the profile has
// none (creating the profile when there is none), keeps a profile's own
// URL, and drops the old column: no tenant loses the link it gave.
func TestMigrationOnePrivacyPolicy(t *testing.T) {
	ctx := context.Background()
	var d *db.DB
	var err error
	if dbtest.Kind() == db.Postgres {
		d, err = db.Open(ctx, dbtest.PostgresURL(t), "", db.Options{MaxConns: 2})
	} else {
		d, err = db.Open(ctx, "", t.TempDir(), db.Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	apply := func(from, to int) { t.Helper(); migrateRange(t, d, from, to) }
	apply(0, 20)
	now := db.Now()
	for _, q := range []string{
		`INSERT INTO tenants (id, slug, name, created_at) VALUES ('t1', 't1', 'T1', 1), ('t2', 't2', 'T2', 1), ('t3', 't3', 'T3', 1), ('t4', 't4', 'T4', 1)`,
		`INSERT INTO messaging_settings (tenant_id, privacy_url, updated_at) VALUES ('t1', 'https://one.example/privacy', $1),
			('t2', 'https://two.example/privacy', $1), ('t3', 'https://three.example/old', $1), ('t4', '', $1)`,
		`INSERT INTO privacy_profiles (tenant_id, dpo_email, policy_url, updated_at) VALUES ('t2', 'dpo@two.example', '', $1),
			('t3', 'dpo@three.example', 'https://three.example/privacy', $1)`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, now)
		}
		if _, err := d.W.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	apply(21, 21)
	for tenant, want := range map[string]string{"t1": "https://one.example/privacy", "t2": "https://two.example/privacy",
		"t3": "https://three.example/privacy"} {
		var got, dpo string
		if err := d.R.QueryRowContext(ctx, `SELECT policy_url, dpo_email FROM privacy_profiles WHERE tenant_id = $1`, tenant).Scan(&got, &dpo); err != nil {
			t.Fatalf("%s: %v", tenant, err)
		}
		if got != want {
			t.Errorf("%s: policy %q, want %q", tenant, got, want)
		}
		if tenant == "t2" && dpo != "dpo@two.example" {
			t.Errorf("t2's profile lost its data-protection contact: %q", dpo)
		}
	}
	var n int
	if err := d.R.QueryRowContext(ctx, `SELECT count(*) FROM privacy_profiles WHERE tenant_id = 't4'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("a tenant without a URL got a profile: %d, %v", n, err)
	}
	if _, err := d.R.ExecContext(ctx, `SELECT privacy_url FROM messaging_settings`); err == nil {
		t.Error("messaging_settings.privacy_url is still there")
	}
}

// migrateRange applies d's migrations from version from to version to.
func migrateRange(t *testing.T, d *db.DB, from, to int) {
	t.Helper()
	ms, err := db.Migrations(d.Dialect)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version < from || m.Version > to {
			continue
		}
		if _, err := d.W.ExecContext(context.Background(), m.SQL); err != nil {
			t.Fatalf("migration %d: %v", m.Version, err)
		}
	}
}
