package contact_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"avis/internal/audit"
	"avis/internal/contact"
)

// genCSV writes n rows of an 8-column contact file.
func genCSV(w io.Writer, n, offset int) {
	fmt.Fprintln(w, "id,email,phone,first_name,last_name,language,country,store")
	for i := offset; i < offset+n; i++ {
		fmt.Fprintf(w, "CRM%07d,camille.martin.%d@example.com,+331990%05d,Camille,Martin,fr,FR,Lyon\n", i, i, i%100000)
	}
}

// BenchmarkImport imports b.N new contacts (8 columns, sealing, blind
// indexes and dedupe on) and reports rows per second.
func BenchmarkImport(b *testing.B) {
	b.StopTimer()
	s, _, _ := newStore(b)
	var sb strings.Builder
	genCSV(&sb, b.N, 0)
	src, err := contact.OpenSource(strings.NewReader(sb.String()), "bench.csv", contact.FileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	rep, err := s.Import(context.Background(), audit.System("bench"), "a", src, contact.ImportOptions{
		Mapping: []contact.Field{contact.FieldExternalID, contact.FieldEmailCol, contact.FieldPhoneCol, contact.FieldFirstNameCol,
			contact.FieldLastNameCol, contact.FieldLanguage, contact.FieldCountry, "attr:store"}})
	b.StopTimer()
	if err != nil || rep.Created != b.N {
		b.Fatalf("%+v %v", rep, err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
