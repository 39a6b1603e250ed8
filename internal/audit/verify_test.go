package audit

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"avis/internal/db"
)

// exec runs raw SQL against the database, as someone tampering with it would.
func exec(t *testing.T, d *db.DB, query string, args ...any) {
	t.Helper()
	res, err := d.W.ExecContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Fatalf("%s %v: no row changed", query, args)
	}
}

// readRow reads one stored entry.
func readRow(t *testing.T, d *db.DB, tenant string, seq int64) *row {
	t.Helper()
	r := &row{tenantID: tenant, seq: seq}
	err := d.R.QueryRowContext(context.Background(), `SELECT at, actor_kind, actor_id, action, object_kind, object_id,
		subject_id, detail, prev_hash, hash FROM audit_log WHERE tenant_id = $1 AND seq = $2`, tenant, seq).
		Scan(&r.at, &r.actorKind, &r.actorID, &r.action, &r.objectKind, &r.objectID, &r.subjectID, &r.detail, &r.prevHash, &r.hash)
	if err != nil {
		t.Fatalf("read seq %d: %v", seq, err)
	}
	return r
}

func TestVerifyFindsTampering(t *testing.T) {
	const tenant = "t1"
	tests := []struct {
		name    string
		tamper  func(t *testing.T, d *db.DB)
		wantSeq int64
		reason  string
	}{
		{"edit action", func(t *testing.T, d *db.DB) {
			exec(t, d, `UPDATE audit_log SET action = 'contact.export' WHERE tenant_id = $1 AND seq = 3`, tenant)
		}, 3, "stored hash"},
		{"edit actor", func(t *testing.T, d *db.DB) {
			exec(t, d, `UPDATE audit_log SET actor_id = 'u9' WHERE tenant_id = $1 AND seq = 5`, tenant)
		}, 5, "stored hash"},
		{"edit time", func(t *testing.T, d *db.DB) {
			exec(t, d, `UPDATE audit_log SET at = at + 1 WHERE tenant_id = $1 AND seq = 1`, tenant)
		}, 1, "stored hash"},
		{"delete middle row", func(t *testing.T, d *db.DB) {
			exec(t, d, `DELETE FROM audit_log WHERE tenant_id = $1 AND seq = 3`, tenant)
		}, 4, "seq"},
		{"delete first row", func(t *testing.T, d *db.DB) {
			exec(t, d, `DELETE FROM audit_log WHERE tenant_id = $1 AND seq = 1`, tenant)
		}, 2, "seq"},
		{"change detail", func(t *testing.T, d *db.DB) {
			exec(t, d, `UPDATE audit_log SET detail = '{"n":"2","reason":"other"}' WHERE tenant_id = $1 AND seq = 2`, tenant)
		}, 2, "stored hash"},
		{"swap prev_hash", func(t *testing.T, d *db.DB) {
			a, b := readRow(t, d, tenant, 2), readRow(t, d, tenant, 4)
			exec(t, d, `UPDATE audit_log SET prev_hash = $1 WHERE tenant_id = $2 AND seq = 2`, b.prevHash, tenant)
			exec(t, d, `UPDATE audit_log SET prev_hash = $1 WHERE tenant_id = $2 AND seq = 4`, a.prevHash, tenant)
		}, 2, "prev_hash"},
		{"swap two rows' seq", func(t *testing.T, d *db.DB) {
			exec(t, d, `UPDATE audit_log SET seq = 100 WHERE tenant_id = $1 AND seq = 2`, tenant)
			exec(t, d, `UPDATE audit_log SET seq = 2 WHERE tenant_id = $1 AND seq = 3`, tenant)
			exec(t, d, `UPDATE audit_log SET seq = 3 WHERE tenant_id = $1 AND seq = 100`, tenant)
		}, 2, "prev_hash"},
		{"edit a row and forge its hash", func(t *testing.T, d *db.DB) {
			r := readRow(t, d, tenant, 3)
			r.subjectID = "s9"
			exec(t, d, `UPDATE audit_log SET subject_id = $1, hash = $2 WHERE tenant_id = $3 AND seq = 3`, r.subjectID, hashOf(r), tenant)
		}, 4, "prev_hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d, l := open(t)
			mustRecord(t, l, tenant, 6)
			if err := l.Verify(ctx, tenant); err != nil {
				t.Fatalf("Verify on an intact chain: %v", err)
			}
			tt.tamper(t, d)
			err := l.Verify(ctx, tenant)
			var brk *BreakError
			if !errors.As(err, &brk) {
				t.Fatalf("Verify after tampering = %v, want a *BreakError", err)
			}
			if brk.TenantID != tenant || brk.Seq != tt.wantSeq {
				t.Errorf("break at tenant %q seq %d, want tenant %q seq %d (%v)", brk.TenantID, brk.Seq, tenant, tt.wantSeq, brk)
			}
			if !strings.Contains(brk.Reason, tt.reason) {
				t.Errorf("reason %q does not mention %q", brk.Reason, tt.reason)
			}
		})
	}
}

func TestVerifyChainsArePerTenant(t *testing.T) {
	ctx := context.Background()
	d, l := open(t)
	mustRecord(t, l, "A", 4)
	mustRecord(t, l, "B", 3)
	mustRecord(t, l, "", 2)
	checked, breaks, err := l.VerifyAll(ctx)
	if err != nil || len(breaks) != 0 || checked != 9 {
		t.Fatalf("VerifyAll on intact chains = %d, %v, %v; want 9, no break, nil", checked, breaks, err)
	}

	exec(t, d, `UPDATE audit_log SET object_id = 'c99' WHERE tenant_id = 'A' AND seq = 2`)
	for _, tenant := range []string{"B", ""} {
		if err := l.Verify(ctx, tenant); err != nil {
			t.Errorf("Verify(%q) after tampering with A: %v, want nil", tenant, err)
		}
	}
	var brk *BreakError
	if err := l.Verify(ctx, "A"); !errors.As(err, &brk) || brk.Seq != 2 {
		t.Errorf("Verify(A) = %v, want a break at seq 2", err)
	}
	checked, breaks, err = l.VerifyAll(ctx)
	if err != nil {
		t.Fatalf("VerifyAll: %v", err)
	}
	if len(breaks) != 1 || breaks[0].TenantID != "A" || breaks[0].Seq != 2 {
		t.Errorf("VerifyAll breaks = %v, want only tenant A at seq 2", breaks)
	}
	// A stops at its break (2 entries), B and '' are walked whole.
	if checked != 2+3+2 {
		t.Errorf("VerifyAll checked %d entries, want 7", checked)
	}
}

func TestVerifyLongChain(t *testing.T) {
	// More entries than a page of Verify, so that paging is exercised.
	if testing.Short() {
		t.Skip("long chain")
	}
	ctx := context.Background()
	d, l := open(t)
	n := verifyPage + verifyPage/2
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		for i := 1; i <= n; i++ {
			if err := l.Record(ctx, tx, testEntry("t1", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Verify(ctx, "t1"); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// A deletion just past the page boundary is still found.
	exec(t, d, `DELETE FROM audit_log WHERE tenant_id = 't1' AND seq = $1`, int64(verifyPage+1))
	var brk *BreakError
	if err := l.Verify(ctx, "t1"); !errors.As(err, &brk) || brk.Seq != verifyPage+2 {
		t.Errorf("Verify after deleting seq %d = %v, want a break at %d", verifyPage+1, err, verifyPage+2)
	}
	// And one at the boundary itself.
	exec(t, d, `DELETE FROM audit_log WHERE tenant_id = 't1' AND seq = $1`, int64(verifyPage))
	if err := l.Verify(ctx, "t1"); !errors.As(err, &brk) || brk.Seq != verifyPage+2 {
		t.Errorf("Verify after deleting seq %d = %v, want a break at %d", verifyPage, err, verifyPage+2)
	}
}

func TestHashIsUnambiguous(t *testing.T) {
	base := row{tenantID: "t", seq: 1, at: 2, actorKind: "user", actorID: "u", action: "a.b",
		objectKind: "ab", objectID: "c", subjectID: "", detail: "{}", prevHash: make([]byte, 32)}
	tests := []struct {
		name   string
		change func(r *row)
	}{
		{"field boundary moved", func(r *row) { r.objectKind, r.objectID = "a", "bc" }},
		{"subject and object swapped", func(r *row) { r.objectID, r.subjectID = "", "c" }},
		{"tenant", func(r *row) { r.tenantID = "t2" }},
		{"seq", func(r *row) { r.seq = 2 }},
		{"at", func(r *row) { r.at = 3 }},
		{"actor kind", func(r *row) { r.actorKind = "apikey" }},
		{"detail", func(r *row) { r.detail = `{"a":"b"}` }},
		{"prev hash", func(r *row) { r.prevHash = append(make([]byte, 31), 1) }},
	}
	want := hashOf(&base)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			tt.change(&r)
			if string(hashOf(&r)) == string(want) {
				t.Errorf("hash unchanged")
			}
		})
	}
	if r := base; string(hashOf(&r)) != string(want) {
		t.Error("hash of an equal row differs")
	}
}
