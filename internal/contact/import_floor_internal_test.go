package contact

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"io"
	"strings"
	"testing"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/db/dbtest"
	"avis/internal/vault"
)

// genBenchCSV writes n rows of an 8-column contact file, the columns of
// make bench-import's (scripts/gencsv).
func genBenchCSV(w io.Writer, n int) {
	fmt.Fprintln(w, "id,email,phone,first_name,last_name,language,country,store")
	for i := range n {
		fmt.Fprintf(w, "CRM%07d,camille.martin.%d@example.com,+331990%05d,Camille,Martin,fr,FR,Lyon\n", i, i, i%100000)
	}
}

// BenchmarkImportRowWithoutStorage measures what an import spends on a
// row shaped as make bench-import's before the database is involved: reading
// the CSV, checking and normalising each field (the phone number's
// validation by libphonenumber most), the two blind indexes, identifiers,
// and sealing the personal fields under the contact's key. It leaves out
// making and wrapping each contact's key (the keys are made beforehand),
// the lookups and every write: it is a floor. Its rows/s/core, times the
// cores, is the most an import could reach on this machine with storage
// that cost nothing.
func BenchmarkImportRowWithoutStorage(b *testing.B) {
	ctx := context.Background()
	d := dbtest.Open(b)
	v, err := vault.New(ctx, d, bytes.Repeat([]byte{7}, 32))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := d.W.ExecContext(ctx, `INSERT INTO tenants (id, slug, name, created_at) VALUES ('a', 'a', 'a', 1)`); err != nil {
		b.Fatal(err)
	}
	s := NewStore(d, v, audit.New(d))
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = db.NewID()
	}
	var keys []*vault.SubjectKey
	if err := d.Tx(ctx, func(tx *sql.Tx) error {
		keys, err = v.NewSubjects(ctx, tx, "a", ids)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	var file strings.Builder
	genBenchCSV(&file, b.N)
	src, err := OpenSource(strings.NewReader(file.String()), "bench.csv", FileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	cols, _, err := planColumns(src.Header(), []Field{FieldExternalID, FieldEmailCol, FieldPhoneCol, FieldFirstNameCol,
		FieldLastNameCol, FieldLanguage, FieldCountry, "attr:store"}, map[string]Attribute{"store": {Name: "store"}})
	if err != nil {
		b.Fatal(err)
	}
	im := &importer{s: s, tenantID: "a", cols: cols, o: ImportOptions{Region: "FR"}, personal: map[string]bool{}}
	if _, err := v.BlindIndex(ctx, nil, "a", FieldEmail, ""); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		row, err := src.Next()
		if err != nil {
			b.Fatal(err)
		}
		c, rej := im.normalise(ctx, row)
		if c == nil {
			b.Fatalf("row %d rejected: %v", i, rej)
		}
		pl := &plan{isNew: true, cur: stored{id: db.NewID()}}
		pl.apply(c)
		k := keys[i%len(keys)]
		if _, _, err := sealAttrs(k, pl.cur); err != nil {
			b.Fatal(err)
		}
		for _, f := range [][2]string{{FieldEmail, pl.cur.email}, {FieldPhone, pl.cur.phone},
			{FieldFirstName, pl.cur.first}, {FieldLastName, pl.cur.last}} {
			if len(k.SealString(f[0], f[1])) == 0 {
				b.Fatal("nothing sealed")
			}
		}
		_ = db.NewID() // the ledger entry's
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s/core")
}

// BenchmarkImportStorageOnly measures what storing a new contact costs the
// database alone, as an import writes it (db.Inserter, 10,000 contacts a
// transaction, on a file database): its row with the email and phone blind
// indexes (random 32-byte keys), its data key and its lawful-basis entry,
// already sealed (db.Into in a db.BulkTx: COPY on PostgreSQL). It leaves out the lookups that dedupe needs and
// everything BenchmarkImportRowWithoutStorage measures. On SQLite these
// writes are one connection's: its rows/s is the most an import could
// reach whatever the cores.
func BenchmarkImportStorageOnly(b *testing.B) {
	ctx := context.Background()
	d := dbtest.Open(b)
	if _, err := d.W.ExecContext(ctx, `INSERT INTO tenants (id, slug, name, created_at) VALUES ('a', 'a', 'a', 1)`); err != nil {
		b.Fatal(err)
	}
	// Sealed values of the sizes an import writes (nonce, text, tag).
	sealed := func(n int) []byte {
		p := make([]byte, 12+n+16)
		rand.Read(p)
		return p
	}
	const chunk = 10000
	now := db.Now()
	b.ResetTimer()
	for done := 0; done < b.N; done += chunk {
		n := min(chunk, b.N-done)
		b.StopTimer()
		type row struct {
			id                                                   string
			email, emailIx, phone, phoneIx, first, last, wrapped []byte
		}
		rows := make([]row, n)
		for i := range rows {
			rows[i] = row{id: db.NewID(), email: sealed(28), emailIx: sealed(4), phone: sealed(12), phoneIx: sealed(4),
				first: sealed(7), last: sealed(7), wrapped: sealed(32)}
		}
		b.StartTimer()
		err := d.BulkTx(ctx, func(tx *db.BulkTx) error {
			ins := db.Into(d.Dialect, tx, "bench", "subject_keys", "tenant_id", "subject_id", "wrapped_key", "created_at")
			for _, r := range rows {
				if err := ins.Add(ctx, "a", r.id, r.wrapped, now); err != nil {
					return err
				}
			}
			if err := ins.Close(ctx); err != nil {
				return err
			}
			ins = db.Into(d.Dialect, tx, "bench", "contacts", "tenant_id", "id", "external_id", "email_sealed", "email_bidx",
				"phone_sealed", "phone_bidx", "first_name_sealed", "last_name_sealed", "language", "country", "time_zone",
				"attributes", "attributes_sealed", "created_at", "updated_at")
			for i, r := range rows {
				if err := ins.Add(ctx, "a", r.id, fmt.Sprintf("CRM%07d", done+i), r.email, r.emailIx, r.phone, r.phoneIx,
					r.first, r.last, "fr", "FR", "", `{"store":"Lyon"}`, nil, now, now); err != nil {
					return err
				}
			}
			if err := ins.Close(ctx); err != nil {
				return err
			}
			ins = db.Into(d.Dialect, tx, "bench", "contact_bases", "tenant_id", "id", "contact_id", "basis", "purpose", "source_kind",
				"source_id", "recorded_at")
			for _, r := range rows {
				if err := ins.Add(ctx, "a", db.NewID(), r.id, DefaultBasis, DefaultPurpose, "file", "import:bench", now); err != nil {
					return err
				}
			}
			return ins.Close(ctx)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
