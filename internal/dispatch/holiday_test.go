package dispatch

import (
	"sync"
	"testing"
	"time"
)

func isoDate(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestEaster(t *testing.T) {
	t.Parallel()
	cases := map[int]string{
		2008: "2008-03-23", // Ascension on 1 May
		2024: "2024-03-31",
		2025: "2025-04-20",
		2026: "2026-04-05",
		2027: "2027-03-28",
		2038: "2038-04-25", // latest possible date
		2285: "2285-03-22", // earliest possible date
	}
	for year, want := range cases {
		if got := Easter(year); !got.Equal(isoDate(want)) {
			t.Errorf("Easter(%d) = %s, want %s", year, got.Format(time.DateOnly), want)
		}
	}
}

func TestFrenchPublicHolidays(t *testing.T) {
	t.Parallel()
	cases := []struct {
		year int
		want []string
	}{
		{2026, []string{"2026-01-01", "2026-04-06", "2026-05-01", "2026-05-08", "2026-05-14", "2026-05-25", "2026-07-14", "2026-08-15", "2026-11-01", "2026-11-11", "2026-12-25"}},
		{2024, []string{"2024-01-01", "2024-04-01", "2024-05-01", "2024-05-08", "2024-05-09", "2024-05-20", "2024-07-14", "2024-08-15", "2024-11-01", "2024-11-11", "2024-12-25"}},
		// Ascension falls on 1 May: ten distinct days.
		{2008, []string{"2008-01-01", "2008-03-24", "2008-05-01", "2008-05-08", "2008-05-12", "2008-07-14", "2008-08-15", "2008-11-01", "2008-11-11", "2008-12-25"}},
		{1500, nil},
	}
	for _, c := range cases {
		got := FrenchPublicHolidays(c.year)
		if len(got) != len(c.want) {
			t.Errorf("FrenchPublicHolidays(%d) = %d days %v, want %d", c.year, len(got), got, len(c.want))
			continue
		}
		for i, d := range got {
			if d.Format(time.DateOnly) != c.want[i] || d.Location() != time.UTC || d.Hour() != 0 {
				t.Errorf("FrenchPublicHolidays(%d)[%d] = %v, want %s at midnight UTC", c.year, i, d, c.want[i])
			}
		}
	}
}

func TestFrenchPublicHolidaysCopy(t *testing.T) {
	t.Parallel()
	a := FrenchPublicHolidays(2030)
	a[0] = time.Time{}
	if b := FrenchPublicHolidays(2030); b[0].IsZero() {
		t.Fatal("changing the returned slice changed the cache")
	}
}

func TestIsFrenchPublicHoliday(t *testing.T) {
	t.Parallel()
	paris, _ := ParseTimeZone("Europe/Paris")
	noumea, _ := ParseTimeZone("Pacific/Noumea")
	cases := []struct {
		name string
		t    time.Time
		want bool
	}{
		{"Ascension 2026", time.Date(2026, 5, 14, 15, 0, 0, 0, paris), true},
		{"day after Ascension", time.Date(2026, 5, 15, 15, 0, 0, 0, paris), false},
		{"Easter Sunday is not one", time.Date(2026, 4, 5, 12, 0, 0, 0, paris), false},
		{"Easter Monday", time.Date(2026, 4, 6, 0, 0, 0, 0, paris), true},
		{"Whit Monday", time.Date(2026, 5, 25, 23, 59, 0, 0, paris), true},
		{"Good Friday (Alsace-Moselle only)", time.Date(2026, 4, 3, 12, 0, 0, 0, paris), false},
		{"26 December (Alsace-Moselle only)", time.Date(2026, 12, 26, 12, 0, 0, 0, paris), false},
		{"an ordinary Sunday", time.Date(2026, 3, 15, 12, 0, 0, 0, paris), false},
		// 13 July 22:00 UTC is 14 July 09:00 in Nouméa and still 13 July
		// in Paris: the date is read in the time's own location.
		{"14 July in Nouméa", time.Date(2026, 7, 13, 22, 0, 0, 0, time.UTC).In(noumea), true},
		{"13 July in Paris", time.Date(2026, 7, 13, 21, 0, 0, 0, time.UTC).In(paris), false},
	}
	for _, c := range cases {
		if got := IsFrenchPublicHoliday(c.t); got != c.want {
			t.Errorf("%s: IsFrenchPublicHoliday(%v) = %v, want %v", c.name, c.t, got, c.want)
		}
	}
}

func TestHolidayCacheConcurrent(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for y := 2000; y < 2100; y++ {
				if n := len(FrenchPublicHolidays(y + i%2)); n < 10 || n > 11 {
					t.Errorf("%d holidays in %d", n, y)
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkIsFrenchPublicHoliday(b *testing.B) {
	d := time.Date(2026, 5, 14, 10, 0, 0, 0, time.UTC)
	for b.Loop() {
		IsFrenchPublicHoliday(d)
	}
}
