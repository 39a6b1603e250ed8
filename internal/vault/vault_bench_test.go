package vault

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"avis/internal/db/dbtest"
)

func BenchmarkSealOpen100(b *testing.B) {
	d := dbtest.Open(b)
	k := subject(b, newVault(b, d, testKey(1)), nil, "t1", "s1")
	plain := bytes.Repeat([]byte("a"), 100)
	b.ReportAllocs()
	for b.Loop() {
		s := k.Seal("comment", plain)
		if _, err := k.Open("comment", s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
}

func BenchmarkBlindIndex(b *testing.B) {
	ctx := context.Background()
	d := dbtest.Open(b)
	v := newVault(b, d, testKey(1))
	if _, err := v.BlindIndex(ctx, nil, "t1", "email", "warm"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.BlindIndex(ctx, nil, "t1", "email", "ada.lovelace@example.org"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "indexes/s")
}

func BenchmarkSubjectColdCreate(b *testing.B) {
	ctx := context.Background()
	d := dbtest.Open(b)
	v := newVault(b, d, testKey(1))
	subject(b, v, nil, "t1", "warm")
	i := 0
	for b.Loop() {
		if _, err := v.Subject(ctx, nil, "t1", fmt.Sprint("s", i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "keys/s")
}
