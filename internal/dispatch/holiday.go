package dispatch

import (
	"sort"
	"sync"
	"time"
)

// French public holidays (jours fériés, article L3133-1 of the Code du
// travail), as they stand since 1982: 1 January, Easter Monday, 1 May,
// 8 May, Ascension Thursday, Whit Monday, 14 July, 15 August, 1 November,
// 11 November and 25 December. They are applied to every year asked for,
// earlier ones included.
//
// Alsace and Moselle (départements 57, 67 and 68) keep two more days under
// their local law, Good Friday and 26 December (article L3134-13); they are
// not included here. Whit Monday is still a public holiday even where an
// employer makes it the journée de solidarité.

// FrenchPublicHolidays returns the French public holidays of a year, in
// date order, each as midnight UTC of its civil date: read them with Date(),
// not as instants. It returns nil for a year before 1583, where the
// Gregorian Easter does not apply. The caller may keep or change the slice.
func FrenchPublicHolidays(year int) []time.Time {
	y := holidaysOf(year)
	if y == nil {
		return nil
	}
	return append([]time.Time(nil), y.dates...)
}

// IsFrenchPublicHoliday reports whether the civil date of t, read in t's own
// location, is a French public holiday. To test a recipient's local date,
// pass t.In(recipientLocation).
func IsFrenchPublicHoliday(t time.Time) bool {
	year, month, day := t.Date()
	y := holidaysOf(year)
	return y != nil && y.days[month]&(1<<day) != 0
}

// Easter returns the date of Easter Sunday of a Gregorian year (midnight
// UTC), by the anonymous Gregorian algorithm (Meeus/Jones/Butcher).
func Easter(year int) time.Time {
	a := year % 19
	b, c := year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
}

// yearHolidays is one year's holidays, as dates and as a bit set per month.
type yearHolidays struct {
	dates []time.Time
	days  [13]uint32 // bit d of days[m] is set when m/d is a holiday
}

var (
	holidayMu    sync.RWMutex
	holidayCache = map[int]*yearHolidays{}
)

// Years outside this range are computed each time instead of cached, so a
// caller cannot grow the cache without bound.
const cacheFrom, cacheTo = 1970, 2200

func holidaysOf(year int) *yearHolidays {
	if year < 1583 {
		return nil
	}
	cache := year >= cacheFrom && year <= cacheTo
	if cache {
		holidayMu.RLock()
		y := holidayCache[year]
		holidayMu.RUnlock()
		if y != nil {
			return y
		}
	}
	y := computeHolidays(year)
	if cache {
		holidayMu.Lock()
		holidayCache[year] = y
		holidayMu.Unlock()
	}
	return y
}

func computeHolidays(year int) *yearHolidays {
	date := func(m time.Month, d int) time.Time { return time.Date(year, m, d, 0, 0, 0, 0, time.UTC) }
	easter := Easter(year)
	dates := []time.Time{
		date(time.January, 1),
		easter.AddDate(0, 0, 1),  // Easter Monday
		date(time.May, 1),        // Labour Day
		date(time.May, 8),        // Victory in Europe Day
		easter.AddDate(0, 0, 39), // Ascension Thursday
		easter.AddDate(0, 0, 50), // Whit Monday
		date(time.July, 14),      // Bastille Day
		date(time.August, 15),    // Assumption
		date(time.November, 1),   // All Saints' Day
		date(time.November, 11),  // Armistice Day
		date(time.December, 25),  // Christmas
	}
	// Ascension can fall on 1 or 8 May (it did in 2008); keep one of each date.
	sort.Slice(dates, func(i, j int) bool { return dates[i].Before(dates[j]) })
	y := &yearHolidays{}
	for _, d := range dates {
		if y.days[d.Month()]&(1<<d.Day()) != 0 {
			continue
		}
		y.days[d.Month()] |= 1 << d.Day()
		y.dates = append(y.dates, d)
	}
	return y
}
