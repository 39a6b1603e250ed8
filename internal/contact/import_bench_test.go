package contact_test

import (
	"context"
	"strings"
	"testing"

	"avis/internal/audit"
	"avis/internal/contact"
)

// BenchmarkImport imports b.N new contacts (8 columns, sealing, blind
// indexes and dedupe on) and reports rows per second.
func BenchmarkImport(b *testing.B) {
	b.StopTimer()
	s, _, _ := newStore(b)
	var sb strings.Builder
	contact.GenBenchCSV(&sb, b.N)
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
