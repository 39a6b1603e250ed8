package vault

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"avis/internal/db"
	"avis/internal/db/dbtest"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, MasterKeySize) }

func newVault(t testing.TB, d *db.DB, master []byte) *Vault {
	t.Helper()
	v, err := New(context.Background(), d, master)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

func subject(t testing.TB, v *Vault, q db.Querier, tenant, subj string) *SubjectKey {
	t.Helper()
	k, err := v.Subject(context.Background(), q, tenant, subj)
	if err != nil {
		t.Fatalf("Subject(%s, %s): %v", tenant, subj, err)
	}
	return k
}

func count(t *testing.T, d *db.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := d.R.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestSealOpen(t *testing.T) {
	d := dbtest.Open(t)
	v := newVault(t, d, testKey(1))
	k := subject(t, v, nil, "t1", "s1")

	for _, tc := range []struct {
		name  string
		plain []byte
	}{
		{"empty", []byte{}},
		{"short", []byte("ada@example.org")},
		{"100 bytes", bytes.Repeat([]byte("x"), 100)},
		{"binary", []byte{0, 1, 2, 255, 0}},
		{"64 KiB", bytes.Repeat([]byte("abc"), 64<<10/3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := k.Seal("email", tc.plain)
			if !IsSealed(s) {
				t.Fatalf("IsSealed(Seal(...)) = false")
			}
			if len(s) != minSealed+len(tc.plain) {
				t.Errorf("sealed length %d, want %d", len(s), minSealed+len(tc.plain))
			}
			if len(tc.plain) > 4 && bytes.Contains(s, tc.plain) {
				t.Errorf("ciphertext holds the plaintext")
			}
			got, err := k.Open("email", s)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tc.plain) {
				t.Fatalf("Open = %q, want %q", got, tc.plain)
			}
			if s2 := k.Seal("email", tc.plain); bytes.Equal(s, s2) {
				t.Errorf("two seals of the same plaintext are equal: nonce not random")
			}
		})
	}
}

func TestOpenRejects(t *testing.T) {
	d := dbtest.Open(t)
	v := newVault(t, d, testKey(1))
	k := subject(t, v, nil, "t1", "s1")
	sealed := k.Seal("email", []byte("ada@example.org"))
	other := func(tenant, subj string) *SubjectKey { return subject(t, v, nil, tenant, subj) }
	tamper := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	for _, tc := range []struct {
		name   string
		key    *SubjectKey
		field  string
		sealed []byte
	}{
		{"version byte", k, "email", tamper(0)},
		{"nonce", k, "email", tamper(1)},
		{"ciphertext", k, "email", tamper(1 + nonceSize + 2)},
		{"tag", k, "email", tamper(len(sealed) - 1)},
		{"truncated", k, "email", sealed[:len(sealed)-1]},
		{"too short", k, "email", sealed[:minSealed-1]},
		{"nil", k, "email", nil},
		{"appended", k, "email", append(bytes.Clone(sealed), 0)},
		{"other field", k, "name", sealed},
		{"other subject", other("t1", "s2"), "email", sealed},
		{"other tenant", other("t2", "s1"), "email", sealed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.key.Open(tc.field, tc.sealed)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %q, %v; want ErrCorrupt", p, err)
			}
			if strings.Contains(err.Error(), "ada") {
				t.Errorf("error holds plaintext: %v", err)
			}
		})
	}
}

func TestSealString(t *testing.T) {
	d := dbtest.Open(t)
	k := subject(t, newVault(t, d, testKey(1)), nil, "t1", "s1")
	if s := k.SealString("name", ""); s != nil {
		t.Errorf("SealString(\"\") = %x, want nil", s)
	}
	if s, err := k.OpenString("name", nil); s != "" || err != nil {
		t.Errorf("OpenString(nil) = %q, %v", s, err)
	}
	s := k.SealString("name", "Ada Lovelace")
	if got, err := k.OpenString("name", s); got != "Ada Lovelace" || err != nil {
		t.Errorf("OpenString = %q, %v", got, err)
	}
	if _, err := k.OpenString("email", s); !errors.Is(err, ErrCorrupt) {
		t.Errorf("OpenString with another field: %v, want ErrCorrupt", err)
	}
}

func TestIsSealed(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"nil", nil, false},
		{"plain text", []byte("ada@example.org is an email address"), false},
		{"too short", append([]byte{version}, make([]byte, minSealed-2)...), false},
		{"minimum", append([]byte{version}, make([]byte, minSealed-1)...), true},
		{"wrong version", append([]byte{0x02}, make([]byte, 40)...), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsSealed(tc.b); got != tc.want {
				t.Errorf("IsSealed = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBlindIndex(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	v := newVault(t, d, testKey(1))
	bi := func(v *Vault, tenant, field, value string) []byte {
		t.Helper()
		b, err := v.BlindIndex(ctx, nil, tenant, field, value)
		if err != nil {
			t.Fatalf("BlindIndex: %v", err)
		}
		if len(b) != 32 {
			t.Fatalf("BlindIndex length %d", len(b))
		}
		return b
	}
	base := bi(v, "t1", "email", "ada@example.org")
	for _, tc := range []struct {
		name                 string
		tenant, field, value string
		same                 bool
	}{
		{"same input", "t1", "email", "ada@example.org", true},
		{"other tenant", "t2", "email", "ada@example.org", false},
		{"other field", "t1", "phone", "ada@example.org", false},
		{"other value", "t1", "email", "bob@example.org", false},
		{"field and value boundary", "t1", "emai", "lada@example.org", false},
		{"system tenant", SystemTenant, "email", "ada@example.org", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := bi(v, tc.tenant, tc.field, tc.value); bytes.Equal(got, base) != tc.same {
				t.Errorf("equal = %v, want %v", !tc.same, tc.same)
			}
		})
	}
	t.Run("stable across restarts", func(t *testing.T) {
		v2 := newVault(t, d, testKey(1))
		if got := bi(v2, "t1", "email", "ada@example.org"); !bytes.Equal(got, base) {
			t.Errorf("a new Vault gives another index")
		}
	})
	t.Run("field with NUL", func(t *testing.T) {
		if _, err := v.BlindIndex(ctx, nil, "t1", "a\x00b", "x"); err == nil {
			t.Errorf("no error")
		}
	})
}

func TestSubjectPersists(t *testing.T) {
	d := dbtest.Open(t)
	k := subject(t, newVault(t, d, testKey(1)), nil, "t1", "s1")
	s := k.Seal("email", []byte("ada@example.org"))
	if n := count(t, d, "SELECT COUNT(*) FROM subject_keys WHERE tenant_id = 't1' AND subject_id = 's1' AND wrapped_key IS NOT NULL"); n != 1 {
		t.Fatalf("subject_keys rows = %d", n)
	}
	if n := count(t, d, "SELECT COUNT(*) FROM tenant_keys WHERE tenant_id = 't1'"); n != 1 {
		t.Fatalf("tenant_keys rows = %d", n)
	}
	for _, tc := range []struct {
		name string
		get  func(v *Vault) (*SubjectKey, error)
	}{
		{"Subject", func(v *Vault) (*SubjectKey, error) { return v.Subject(context.Background(), nil, "t1", "s1") }},
		{"Lookup", func(v *Vault) (*SubjectKey, error) { return v.Lookup(context.Background(), "t1", "s1") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k2, err := tc.get(newVault(t, d, testKey(1)))
			if err != nil {
				t.Fatal(err)
			}
			if p, err := k2.Open("email", s); err != nil || string(p) != "ada@example.org" {
				t.Fatalf("Open with a new Vault = %q, %v", p, err)
			}
		})
	}
}

func TestLookupMissing(t *testing.T) {
	d := dbtest.Open(t)
	v := newVault(t, d, testKey(1))
	if _, err := v.Lookup(context.Background(), "t1", "nobody"); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("Lookup of a missing subject: %v, want db.ErrNotFound", err)
	}
	if n := count(t, d, "SELECT COUNT(*) FROM tenant_keys") + count(t, d, "SELECT COUNT(*) FROM subject_keys"); n != 0 {
		t.Fatalf("Lookup created %d key rows", n)
	}
}

func TestInvalidIDs(t *testing.T) {
	d := dbtest.Open(t)
	v := newVault(t, d, testKey(1))
	for _, tc := range []struct{ name, tenant, subject string }{
		{"empty tenant", "", "s"},
		{"empty subject", "t", ""},
		{"NUL in tenant", "t\x00", "s"},
		{"NUL in subject", "t", "s\x00x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := v.Subject(context.Background(), nil, tc.tenant, tc.subject); err == nil {
				t.Errorf("Subject: no error")
			}
		})
	}
}

func TestErase(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	v := newVault(t, d, testKey(1))
	k := subject(t, v, nil, "t1", "s1")
	sealed := k.Seal("email", []byte("ada@example.org"))
	keep := subject(t, v, nil, "t1", "s2").Seal("email", []byte("bob@example.org"))

	if err := v.EraseSubject(ctx, nil, "t1", "s1"); err != nil {
		t.Fatalf("EraseSubject: %v", err)
	}
	var first int64
	if err := d.R.QueryRowContext(ctx, "SELECT erased_at FROM subject_keys WHERE tenant_id = 't1' AND subject_id = 's1' AND wrapped_key IS NULL").Scan(&first); err != nil || first == 0 {
		t.Fatalf("erased row: erased_at %d, %v", first, err)
	}
	checkErased := func(t *testing.T, v *Vault, subj string) {
		t.Helper()
		if _, err := v.Subject(ctx, nil, "t1", subj); !errors.Is(err, ErrErased) {
			t.Errorf("Subject after erasure: %v, want ErrErased", err)
		}
		if _, err := v.Lookup(ctx, "t1", subj); !errors.Is(err, ErrErased) {
			t.Errorf("Lookup after erasure: %v, want ErrErased", err)
		}
	}
	t.Run("same vault", func(t *testing.T) { checkErased(t, v, "s1") })
	t.Run("new vault cannot open old ciphertext", func(t *testing.T) {
		v2 := newVault(t, d, testKey(1))
		checkErased(t, v2, "s1")
		// No key that a fresh Vault can obtain opens what was sealed before.
		for _, s := range []string{"s1", "s2", "s3"} {
			k2, err := v2.Subject(ctx, nil, "t1", s)
			if err != nil {
				continue
			}
			if _, err := k2.Open("email", sealed); err == nil {
				t.Fatalf("subject %s's key opens the erased ciphertext", s)
			}
		}
	})
	t.Run("others untouched", func(t *testing.T) {
		k2, err := newVault(t, d, testKey(1)).Lookup(ctx, "t1", "s2")
		if err != nil {
			t.Fatal(err)
		}
		if p, err := k2.Open("email", keep); err != nil || string(p) != "bob@example.org" {
			t.Fatalf("Open = %q, %v", p, err)
		}
	})
	t.Run("idempotent", func(t *testing.T) {
		time.Sleep(2 * time.Millisecond)
		if err := v.EraseSubject(ctx, nil, "t1", "s1"); err != nil {
			t.Fatalf("second EraseSubject: %v", err)
		}
		var again int64
		if err := d.R.QueryRowContext(ctx, "SELECT erased_at FROM subject_keys WHERE tenant_id = 't1' AND subject_id = 's1'").Scan(&again); err != nil {
			t.Fatal(err)
		}
		if again != first {
			t.Errorf("erased_at changed from %d to %d", first, again)
		}
		checkErased(t, v, "s1")
	})
	t.Run("never had a key", func(t *testing.T) {
		if err := v.EraseSubject(ctx, nil, "t1", "ghost"); err != nil {
			t.Fatalf("EraseSubject: %v", err)
		}
		checkErased(t, v, "ghost")
		checkErased(t, newVault(t, d, testKey(1)), "ghost")
	})
	t.Run("inside a transaction", func(t *testing.T) {
		subject(t, v, nil, "t1", "s4")
		err := d.Tx(ctx, func(tx *sql.Tx) error { return v.EraseSubject(ctx, tx, "t1", "s4") })
		if err != nil {
			t.Fatal(err)
		}
		checkErased(t, v, "s4")
	})
}

// TestEraseByAnotherProcess: a Vault drops a subject key erased by another
// process once its cache entry expires.
func TestEraseByAnotherProcess(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clock := time.Now()
	var mu sync.Mutex
	v1 := newVault(t, d, testKey(1))
	v1.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	subject(t, v1, nil, "t1", "s1")
	v2 := newVault(t, d, testKey(1))
	if err := v2.EraseSubject(ctx, nil, "t1", "s1"); err != nil {
		t.Fatal(err)
	}
	if _, err := v1.Subject(ctx, nil, "t1", "s1"); err != nil {
		t.Fatalf("within the cache lifetime: %v (the key is expected to be served from cache)", err)
	}
	mu.Lock()
	clock = clock.Add(defaultSubjectTTL)
	mu.Unlock()
	if _, err := v1.Subject(ctx, nil, "t1", "s1"); !errors.Is(err, ErrErased) {
		t.Fatalf("after the cache lifetime: %v, want ErrErased", err)
	}
}

func TestCacheBounded(t *testing.T) {
	d := dbtest.Open(t)
	v := newVault(t, d, testKey(1))
	v.maxSubjects = 5
	for i := range 20 {
		subject(t, v, nil, "t1", fmt.Sprint("s", i))
	}
	v.mu.Lock()
	n, m := v.order.Len(), len(v.subjects)
	_, newest := v.subjects[subjectRef{"t1", "s19"}]
	_, oldest := v.subjects[subjectRef{"t1", "s0"}]
	v.mu.Unlock()
	if n != 5 || m != 5 {
		t.Fatalf("cache holds %d/%d entries, want 5", n, m)
	}
	if !newest || oldest {
		t.Fatalf("newest cached %v, oldest cached %v: want the oldest evicted", newest, oldest)
	}
}

// TestSubjectInTx: keys created in a caller's transaction that rolls back
// must not survive in the cache, or data would be sealed with a key the
// database never held.
func TestSubjectInTx(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	v := newVault(t, d, testKey(1))

	var lost []byte
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		k := subject(t, v, tx, "t1", "s1")
		lost = k.Seal("email", []byte("ada@example.org"))
		// In the same transaction the same key comes back.
		if p, err := subject(t, v, tx, "t1", "s1").Open("email", lost); err != nil || string(p) != "ada@example.org" {
			t.Errorf("second Subject in the transaction: %q, %v", p, err)
		}
		if _, err := v.BlindIndex(ctx, tx, "t1", "email", "ada@example.org"); err != nil {
			t.Errorf("BlindIndex in the transaction: %v", err)
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("transaction did not fail")
	}
	if n := count(t, d, "SELECT COUNT(*) FROM tenant_keys") + count(t, d, "SELECT COUNT(*) FROM subject_keys"); n != 0 {
		t.Fatalf("%d key rows after rollback", n)
	}
	k := subject(t, v, nil, "t1", "s1")
	if _, err := k.Open("email", lost); err == nil {
		t.Fatalf("the rolled-back key is still in use")
	}
	sealed := k.Seal("email", []byte("ada@example.org"))
	bi, err := v.BlindIndex(ctx, nil, "t1", "email", "ada@example.org")
	if err != nil {
		t.Fatal(err)
	}
	v2 := newVault(t, d, testKey(1))
	if p, err := subject(t, v2, nil, "t1", "s1").Open("email", sealed); err != nil || string(p) != "ada@example.org" {
		t.Fatalf("a new Vault cannot open what the first sealed after the rollback: %q, %v", p, err)
	}
	bi2, err := v2.BlindIndex(ctx, nil, "t1", "email", "ada@example.org")
	if err != nil || !bytes.Equal(bi, bi2) {
		t.Fatalf("blind index differs in a new Vault (%v)", err)
	}

	// A committed transaction's key is the stored one.
	var inTx []byte
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		inTx = subject(t, v, tx, "t1", "s2").Seal("email", []byte("bob@example.org"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, vv := range []*Vault{v, newVault(t, d, testKey(1))} {
		if p, err := subject(t, vv, nil, "t1", "s2").Open("email", inTx); err != nil || string(p) != "bob@example.org" {
			t.Fatalf("key made in a committed transaction: %q, %v", p, err)
		}
	}
}

func TestConcurrentSubject(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	v := newVault(t, d, testKey(1))
	const n = 24
	sealed := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half through a Vault each, as separate processes would.
			vv := v
			if i%2 == 1 {
				var err error
				if vv, err = New(ctx, d, testKey(1)); err != nil {
					errs[i] = err
					return
				}
			}
			<-start
			k, err := vv.Subject(ctx, nil, "t1", "s1")
			if err != nil {
				errs[i] = err
				return
			}
			sealed[i] = k.Seal("email", fmt.Appendf(nil, "msg %d", i))
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", i, err)
		}
	}
	if c := count(t, d, "SELECT COUNT(*) FROM subject_keys"); c != 1 {
		t.Fatalf("%d subject keys, want 1", c)
	}
	k := subject(t, newVault(t, d, testKey(1)), nil, "t1", "s1")
	for i, s := range sealed {
		if p, err := k.Open("email", s); err != nil || string(p) != fmt.Sprintf("msg %d", i) {
			t.Fatalf("ciphertext %d: %q, %v", i, p, err)
		}
	}
}

func TestWrongMasterKey(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	newVault(t, d, testKey(1))
	_, err := New(ctx, d, testKey(2))
	if !errors.Is(err, ErrWrongMasterKey) {
		t.Fatalf("New with another key: %v, want ErrWrongMasterKey", err)
	}
	if !strings.Contains(err.Error(), "refuses to start") {
		t.Errorf("message does not say avis refuses to start: %v", err)
	}
	if _, err := New(ctx, d, testKey(1)[:16]); err == nil {
		t.Errorf("New with a 16-byte key: no error")
	}
	var id string
	if err := d.R.QueryRowContext(ctx, "SELECT master_key_id FROM vault_state WHERE id = 1").Scan(&id); err != nil || id != KeyID(testKey(1)) {
		t.Errorf("vault_state holds %q, %v; want %q", id, err, KeyID(testKey(1)))
	}
}

// TestLostVaultState: with vault_state gone, tenant keys still tell which
// master key sealed them.
func TestLostVaultState(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	subject(t, newVault(t, d, testKey(1)), nil, "t1", "s1")
	if _, err := d.W.ExecContext(ctx, "DELETE FROM vault_state"); err != nil {
		t.Fatal(err)
	}
	if _, err := New(ctx, d, testKey(2)); !errors.Is(err, ErrWrongMasterKey) {
		t.Fatalf("New with another key: %v, want ErrWrongMasterKey", err)
	}
	newVault(t, d, testKey(1))
}

func TestKeyID(t *testing.T) {
	a, b := KeyID(testKey(1)), KeyID(testKey(2))
	if len(a) != 16 || a == b || a != KeyID(testKey(1)) {
		t.Fatalf("KeyID: %q, %q", a, b)
	}
	if _, err := hex.DecodeString(a); err != nil {
		t.Fatalf("KeyID is not hex: %v", err)
	}
}

func TestRotateMaster(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	v := newVault(t, d, testKey(1))
	tenants := []string{"t1", "t2", SystemTenant}
	sealed := map[string][]byte{}
	index := map[string][]byte{}
	for _, tn := range tenants {
		sealed[tn] = subject(t, v, nil, tn, "s1").Seal("email", []byte("ada@"+tn))
		b, err := v.BlindIndex(ctx, nil, tn, "email", "ada")
		if err != nil {
			t.Fatal(err)
		}
		index[tn] = b
	}
	var before []byte
	if err := d.R.QueryRowContext(ctx, "SELECT wrapped_key FROM subject_keys WHERE tenant_id = 't1'").Scan(&before); err != nil {
		t.Fatal(err)
	}

	if err := v.RotateMaster(ctx, testKey(3)); err != nil {
		t.Fatalf("RotateMaster: %v", err)
	}
	var rotatedAt int64
	var id string
	if err := d.R.QueryRowContext(ctx, "SELECT master_key_id, rotated_at FROM vault_state WHERE id = 1").Scan(&id, &rotatedAt); err != nil {
		t.Fatal(err)
	}
	if id != KeyID(testKey(3)) || rotatedAt == 0 {
		t.Errorf("vault_state = %q, %d", id, rotatedAt)
	}
	if n := count(t, d, "SELECT COUNT(*) FROM tenant_keys WHERE master_key_id = $1", KeyID(testKey(3))); n != len(tenants) {
		t.Errorf("%d tenant keys under the new master key, want %d", n, len(tenants))
	}
	var after []byte
	if err := d.R.QueryRowContext(ctx, "SELECT wrapped_key FROM subject_keys WHERE tenant_id = 't1'").Scan(&after); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("subject key rewritten by the rotation")
	}

	if _, err := New(ctx, d, testKey(1)); !errors.Is(err, ErrWrongMasterKey) {
		t.Fatalf("New with the old key after rotation: %v, want ErrWrongMasterKey", err)
	}
	for name, vv := range map[string]*Vault{"rotating vault": v, "new vault": newVault(t, d, testKey(3))} {
		t.Run(name, func(t *testing.T) {
			for _, tn := range tenants {
				k, err := vv.Lookup(ctx, tn, "s1")
				if err != nil {
					t.Fatalf("Lookup %s: %v", tn, err)
				}
				if p, err := k.Open("email", sealed[tn]); err != nil || string(p) != "ada@"+tn {
					t.Fatalf("Open %s: %q, %v", tn, p, err)
				}
				if b, err := vv.BlindIndex(ctx, nil, tn, "email", "ada"); err != nil || !bytes.Equal(b, index[tn]) {
					t.Fatalf("blind index of %s changed (%v)", tn, err)
				}
			}
			// New tenants get keys under the new master.
			subject(t, vv, nil, "fresh-"+name, "s1")
		})
	}
	if n := count(t, d, "SELECT COUNT(*) FROM tenant_keys WHERE master_key_id <> $1", KeyID(testKey(3))); n != 0 {
		t.Errorf("%d tenant keys under another master key", n)
	}
	if err := v.RotateMaster(ctx, testKey(1)[:10]); err == nil {
		t.Errorf("RotateMaster with a short key: no error")
	}
}

func TestLoadMasterKey(t *testing.T) {
	key := testKey(7)
	b64 := base64.StdEncoding.EncodeToString(key)
	hx := hex.EncodeToString(key)
	other := testKey(9)
	write := func(t *testing.T, dir, name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name string
		// setup returns the options, given an empty directory.
		setup       func(t *testing.T, dir string) KeyOptions
		want        []byte // nil: a new random key
		created     bool
		wantErr     error
		errContains []string
	}{
		{
			name:    "creates on empty dir",
			setup:   func(t *testing.T, dir string) KeyOptions { return KeyOptions{DataDir: filepath.Join(dir, "data")} },
			created: true,
		},
		{
			name:    "refuses over existing data",
			setup:   func(t *testing.T, dir string) KeyOptions { return KeyOptions{DataDir: dir, DataExists: true} },
			wantErr: ErrNoMasterKey, errContains: []string{"AVIS_MASTER_KEY_FILE"},
		},
		{
			name: "env base64",
			setup: func(t *testing.T, dir string) KeyOptions {
				return KeyOptions{DataDir: dir, KeyEnv: b64, DataExists: true}
			},
			want: key,
		},
		{
			name:  "env hex",
			setup: func(t *testing.T, dir string) KeyOptions { return KeyOptions{DataDir: dir, KeyEnv: hx + "\n"} },
			want:  key,
		},
		{
			name: "env wins over file",
			setup: func(t *testing.T, dir string) KeyOptions {
				return KeyOptions{DataDir: dir, KeyEnv: b64, KeyFile: write(t, dir, "k", base64.StdEncoding.EncodeToString(other))}
			},
			want: key,
		},
		{
			name: "file base64",
			setup: func(t *testing.T, dir string) KeyOptions {
				return KeyOptions{DataDir: dir, KeyFile: write(t, dir, "k", b64+"\n"), DataExists: true}
			},
			want: key,
		},
		{
			name: "file hex",
			setup: func(t *testing.T, dir string) KeyOptions {
				return KeyOptions{KeyFile: write(t, dir, "k", hx)}
			},
			want: key,
		},
		{
			name: "file wins over data dir",
			setup: func(t *testing.T, dir string) KeyOptions {
				write(t, dir, MasterKeyFileName, base64.StdEncoding.EncodeToString(other))
				return KeyOptions{DataDir: dir, KeyFile: write(t, dir, "k", b64)}
			},
			want: key,
		},
		{
			name: "data dir master.key",
			setup: func(t *testing.T, dir string) KeyOptions {
				write(t, dir, MasterKeyFileName, b64+"\n")
				return KeyOptions{DataDir: dir, DataExists: true}
			},
			want: key,
		},
		{
			name: "named file missing",
			setup: func(t *testing.T, dir string) KeyOptions {
				return KeyOptions{DataDir: dir, KeyFile: filepath.Join(dir, "nope.key")}
			},
			wantErr: ErrNoMasterKey, errContains: []string{"nope.key"},
		},
		{
			name: "corrupt file (short key)",
			setup: func(t *testing.T, dir string) KeyOptions {
				return KeyOptions{KeyFile: write(t, dir, "short.key", base64.StdEncoding.EncodeToString(key[:31]))}
			},
			wantErr: ErrCorrupt, errContains: []string{"short.key", "corrupt"},
		},
		{
			name: "corrupt file (garbage)",
			setup: func(t *testing.T, dir string) KeyOptions {
				write(t, dir, MasterKeyFileName, b64[:20]+"!!"+b64[22:])
				return KeyOptions{DataDir: dir, DataExists: true}
			},
			wantErr: ErrCorrupt, errContains: []string{MasterKeyFileName, "corrupt"},
		},
		{
			name:    "corrupt env",
			setup:   func(t *testing.T, dir string) KeyOptions { return KeyOptions{DataDir: dir, KeyEnv: hx[:62]} },
			wantErr: ErrCorrupt, errContains: []string{"AVIS_MASTER_KEY", "corrupt"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o := tc.setup(t, dir)
			got, created, err := LoadMasterKey(o)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				for _, s := range tc.errContains {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				for _, secret := range []string{b64[:12], hx[:12], hx[2:14]} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error holds key material: %v", err)
					}
				}
				if _, err := os.Stat(filepath.Join(dir, MasterKeyFileName)); o.DataExists && err == nil && tc.name == "refuses over existing data" {
					t.Errorf("a key file was created over existing data")
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadMasterKey: %v", err)
			}
			if created != tc.created {
				t.Errorf("created = %v, want %v", created, tc.created)
			}
			if len(got) != MasterKeySize {
				t.Fatalf("key has %d bytes", len(got))
			}
			if tc.want != nil && !bytes.Equal(got, tc.want) {
				t.Fatalf("wrong key")
			}
			if tc.created {
				p := filepath.Join(o.DataDir, MasterKeyFileName)
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("mode %v, want 0600", fi.Mode().Perm())
				}
				b, _ := os.ReadFile(p)
				if string(b) != base64.StdEncoding.EncodeToString(got)+"\n" {
					t.Errorf("file does not hold the key as base64 and a newline")
				}
				// The next start reads it back, data or not.
				again, created2, err := LoadMasterKey(KeyOptions{DataDir: o.DataDir, DataExists: true})
				if err != nil || created2 || !bytes.Equal(again, got) {
					t.Errorf("second load: created %v, %v, same key %v", created2, err, bytes.Equal(again, got))
				}
			}
		})
	}
	t.Run("refusal creates nothing", func(t *testing.T) {
		dir := t.TempDir()
		if _, _, err := LoadMasterKey(KeyOptions{DataDir: dir, DataExists: true}); err == nil {
			t.Fatal("no error")
		}
		if _, err := os.Stat(filepath.Join(dir, MasterKeyFileName)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("master.key exists after refusal: %v", err)
		}
	})
}

// TestCreateRace plays the race of two processes creating the same keys:
// the second insert loses and both must end with the stored key.
func TestCreateRace(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	v1, v2 := newVault(t, d, testKey(1)), newVault(t, d, testKey(1))
	var k1, k2 *SubjectKey
	var mine1, mine2 bool
	for _, step := range []struct {
		v    *Vault
		k    **SubjectKey
		mine *bool
	}{{v1, &k1, &mine1}, {v2, &k2, &mine2}} {
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			*step.k, *step.mine, err = step.v.createSubject(ctx, tx, subjectRef{"t1", "s1"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if !mine1 || mine2 {
		t.Fatalf("mine = %v, %v; want true, false", mine1, mine2)
	}
	if p, err := k2.Open("f", k1.Seal("f", []byte("x"))); err != nil || string(p) != "x" {
		t.Fatalf("the loser of the race got another key: %v", err)
	}
	if n := count(t, d, "SELECT COUNT(*) FROM tenant_keys"); n != 1 {
		t.Fatalf("%d tenant keys", n)
	}

	var t1, t2 *tenantKey
	for i, v := range []*Vault{v1, v2} {
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			tk, mine, err := v.createTenant(ctx, tx, "t2")
			if mine != (i == 0) {
				t.Errorf("createTenant %d: mine = %v", i, mine)
			}
			if i == 0 {
				t1 = tk
			} else {
				t2 = tk
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(t1.index, t2.index) {
		t.Fatalf("the loser of the tenant key race got another key")
	}
}
