package dispatch

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func loadZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := ParseTimeZone(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestWindowNext(t *testing.T) {
	t.Parallel()
	paris := loadZone(t, "Europe/Paris")
	martinique := loadZone(t, "America/Martinique")
	noumea := loadZone(t, "Pacific/Noumea")
	email, sms := DefaultEmailWindow(), DefaultSMSWindow()
	all := [7]bool{true, true, true, true, true, true, true}
	at := func(loc *time.Location, y int, m time.Month, d, h, min int) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, loc)
	}
	utc := func(y int, m time.Month, d, h, min int) time.Time { return at(time.UTC, y, m, d, h, min) }
	cases := []struct {
		name string
		w    Window
		t    time.Time
		loc  *time.Location
		want time.Time
	}{
		{"before opening", email, at(paris, 2026, 3, 10, 7, 0), paris, at(paris, 2026, 3, 10, 8, 0)},
		{"open", email, at(paris, 2026, 3, 10, 12, 34), paris, at(paris, 2026, 3, 10, 12, 34)},
		{"at opening exactly", email, at(paris, 2026, 3, 10, 8, 0), paris, at(paris, 2026, 3, 10, 8, 0)},
		{"at closing exactly", email, at(paris, 2026, 3, 10, 21, 0), paris, at(paris, 2026, 3, 11, 8, 0)},
		{"email on a Sunday", email, at(paris, 2026, 3, 15, 10, 0), paris, at(paris, 2026, 3, 15, 10, 0)},
		{"email on a holiday", email, at(paris, 2026, 5, 14, 10, 0), paris, at(paris, 2026, 5, 14, 10, 0)},
		{"SMS on Saturday", sms, at(paris, 2026, 3, 14, 19, 59), paris, at(paris, 2026, 3, 14, 19, 59)},
		{"SMS at 20:00 exactly on Saturday", sms, at(paris, 2026, 3, 14, 20, 0), paris, at(paris, 2026, 3, 16, 8, 0)},
		{"SMS on a Sunday", sms, at(paris, 2026, 3, 15, 10, 0), paris, at(paris, 2026, 3, 16, 8, 0)},
		{"SMS on Ascension 2026", sms, at(paris, 2026, 5, 14, 10, 0), paris, at(paris, 2026, 5, 15, 8, 0)},
		{"SMS on 1 May, a Friday", sms, at(paris, 2026, 5, 1, 9, 0), paris, at(paris, 2026, 5, 2, 8, 0)},
		{"SMS over Sunday and Whit Monday", sms, at(paris, 2026, 5, 23, 20, 30), paris, at(paris, 2026, 5, 26, 8, 0)},
		{"SMS on Christmas, a Friday", sms, at(paris, 2026, 12, 25, 9, 0), paris, at(paris, 2026, 12, 26, 8, 0)},
		{"SMS over New Year", sms, at(paris, 2026, 12, 31, 20, 0), paris, at(paris, 2027, 1, 2, 8, 0)},
		{"SMS on Easter Monday 2027", sms, at(paris, 2027, 3, 27, 21, 0), paris, at(paris, 2027, 3, 30, 8, 0)},

		// 29 March 2026, Europe/Paris: clocks go from 02:00 CET to 03:00 CEST.
		{"opening in the spring-forward gap", Window{Days: all, From: 150, To: 600}, at(paris, 2026, 3, 29, 0, 0), paris, utc(2026, 3, 29, 1, 0)},
		{"opening at the gap's start", Window{Days: all, From: 120, To: 600}, at(paris, 2026, 3, 29, 0, 0), paris, utc(2026, 3, 29, 1, 0)},
		{"opening after the gap", Window{Days: all, From: 180, To: 600}, at(paris, 2026, 3, 29, 0, 0), paris, utc(2026, 3, 29, 1, 0)},
		{"email on the spring-forward day", email, at(paris, 2026, 3, 29, 5, 0), paris, utc(2026, 3, 29, 6, 0)},
		{"closing in the gap", Window{Days: all, From: 0, To: 150}, utc(2026, 3, 29, 1, 0), paris, utc(2026, 3, 29, 22, 0)},
		// 25 October 2026, Europe/Paris: clocks go from 03:00 CEST back to 02:00 CET.
		{"opening in the fall-back overlap: first 02:30", Window{Days: all, From: 150, To: 600}, utc(2026, 10, 24, 22, 0), paris, utc(2026, 10, 25, 0, 30)},
		{"closing in the overlap: open before", Window{Days: all, From: 0, To: 150}, utc(2026, 10, 25, 0, 15), paris, utc(2026, 10, 25, 0, 15)},
		{"closing in the overlap: closed at the first 02:30", Window{Days: all, From: 0, To: 150}, utc(2026, 10, 25, 0, 30), paris, utc(2026, 10, 25, 23, 0)},
		{"closing in the overlap: no reopening at 02:15 CET", Window{Days: all, From: 0, To: 150}, utc(2026, 10, 25, 1, 15), paris, utc(2026, 10, 25, 23, 0)},
		{"email on the fall-back day", email, utc(2026, 10, 25, 5, 0), paris, utc(2026, 10, 25, 7, 0)},

		// America/Martinique is UTC-4 all year.
		{"Martinique before 08:00", sms, utc(2026, 3, 16, 11, 0), martinique, utc(2026, 3, 16, 12, 0)},
		{"Martinique open while Paris is closed", sms, utc(2026, 3, 16, 23, 30), martinique, utc(2026, 3, 16, 23, 30)},
		{"Martinique after 20:00", sms, utc(2026, 3, 17, 0, 0), martinique, utc(2026, 3, 17, 12, 0)},
		// Pacific/Noumea is UTC+11 all year.
		{"Nouméa evening", email, utc(2026, 3, 16, 10, 30), noumea, utc(2026, 3, 16, 21, 0)},
		// 13 July 22:00 UTC: a Monday evening in Paris, 14 July (a holiday)
		// 09:00 in Nouméa.
		{"holiday in the recipient's date", sms, utc(2026, 7, 13, 22, 0), noumea, utc(2026, 7, 14, 21, 0)},
		{"the same instant in Paris", Window{Days: all, From: 0, To: 1440, SkipHolidays: true}, utc(2026, 7, 13, 21, 0), paris, utc(2026, 7, 13, 21, 0)},

		{"until midnight", Window{Days: all, From: 22 * 60, To: 1440}, at(paris, 2026, 3, 10, 23, 59), paris, at(paris, 2026, 3, 10, 23, 59)},
		{"at midnight", Window{Days: all, From: 22 * 60, To: 1440}, at(paris, 2026, 3, 11, 0, 0), paris, at(paris, 2026, 3, 11, 22, 0)},
		{"one day a week", Window{Days: [7]bool{time.Wednesday: true}, From: 600, To: 660}, at(paris, 2026, 3, 12, 10, 0), paris, at(paris, 2026, 3, 18, 10, 0)},
		{"nil location is UTC", email, utc(2026, 3, 10, 22, 0), nil, utc(2026, 3, 11, 8, 0)},
		{"never open", Window{From: 480, To: 1200}, utc(2026, 3, 10, 12, 0), paris, time.Time{}},
		{"invalid bounds", Window{Days: all, From: 600, To: 600}, utc(2026, 3, 10, 12, 0), paris, time.Time{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := c.w.Next(c.t, c.loc)
			if !got.Equal(c.want) || got.IsZero() != c.want.IsZero() {
				t.Fatalf("Next(%v) = %v, want %v", c.t, got, c.want)
			}
			if !got.IsZero() {
				want := c.loc
				if want == nil {
					want = time.UTC
				}
				if got.Location() != want {
					t.Errorf("Next returned a time in %v, want %v", got.Location(), want)
				}
			}
		})
	}
}

// TestWindowNextProperties checks Next on random instants of 2024-2027 for
// recipients in several zones: the result is not before t, the window is open
// then, and it is t itself or an opening, so nothing earlier was open.
func TestWindowNextProperties(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	span := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC).Unix() - start
	windows := []Window{DefaultEmailWindow(), DefaultSMSWindow(), {Days: [7]bool{true, false, false, true}, From: 150, To: 170, SkipHolidays: true}}
	for _, name := range []string{"Europe/Paris", "America/Martinique", "Pacific/Noumea", "Indian/Reunion", "America/New_York", "Australia/Lord_Howe"} {
		loc := loadZone(t, name)
		for _, w := range windows {
			for range 2000 {
				at := time.Unix(start+r.Int64N(span), 0)
				got := w.Next(at, loc)
				if got.Before(at) {
					t.Fatalf("%s %+v: Next(%v) = %v is before", name, w, at, got)
				}
				local := got.In(loc)
				minute := local.Hour()*60 + local.Minute()
				if !w.Days[local.Weekday()] || w.SkipHolidays && IsFrenchPublicHoliday(local) || minute < w.From || minute >= w.To {
					t.Fatalf("%s %+v: Next(%v) = %v, when the window is closed", name, w, at, local)
				}
				if !got.Equal(at) && minute != w.From && !isGapEnd(got) {
					t.Fatalf("%s %+v: Next(%v) = %v, neither t nor an opening", name, w, at, local)
				}
			}
		}
	}
}

// isGapEnd reports whether clocks jumped forward at t.
func isGapEnd(t time.Time) bool {
	start, _ := t.ZoneBounds()
	if !start.Equal(t) {
		return false
	}
	_, before := t.Add(-time.Second).Zone()
	_, after := t.Zone()
	return after > before
}

func TestWindowValidate(t *testing.T) {
	t.Parallel()
	all := [7]bool{true, true, true, true, true, true, true}
	cases := []struct {
		name string
		w    Window
		want string
	}{
		{"email default", DefaultEmailWindow(), ""},
		{"SMS default", DefaultSMSWindow(), ""},
		{"whole day", Window{Days: all, From: 0, To: 1440}, ""},
		{"no day", Window{From: 480, To: 1200}, "open at least one day"},
		{"empty", Window{Days: all, From: 600, To: 600}, "must open (10:00) before it closes (10:00)"},
		{"reversed", Window{Days: all, From: 1200, To: 480}, "must open (20:00) before it closes (08:00)"},
		{"negative", Window{Days: all, From: -1, To: 480}, "between 00:00 and 24:00"},
		{"past midnight", Window{Days: all, From: 480, To: 1441}, "between 00:00 and 24:00"},
	}
	for _, c := range cases {
		err := c.w.Validate()
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrInvalidWindow) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want ErrInvalidWindow saying %q", c.name, err, c.want)
		}
	}
}

func TestDefaultWindows(t *testing.T) {
	t.Parallel()
	sms := DefaultSMSWindow()
	if sms.Days[time.Sunday] || !sms.Days[time.Saturday] || !sms.SkipHolidays || sms.From != 8*60 || sms.To != 20*60 {
		t.Errorf("SMS default %+v: want Monday-Saturday 08:00-20:00 without holidays", sms)
	}
	email := DefaultEmailWindow()
	if email.Days != [7]bool{true, true, true, true, true, true, true} || email.SkipHolidays || email.From != 8*60 || email.To != 21*60 {
		t.Errorf("email default %+v: want every day 08:00-21:00", email)
	}
}

func TestWindowJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(DefaultSMSWindow())
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"days":[false,true,true,true,true,true,true],"from":480,"to":1200,"skip_holidays":true}`
	if string(b) != want {
		t.Fatalf("JSON %s, want %s", b, want)
	}
	var w Window
	if err := json.Unmarshal(b, &w); err != nil || w != DefaultSMSWindow() {
		t.Fatalf("round trip: %+v, %v", w, err)
	}
}

func TestParseTimeZone(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"Europe/Paris", "America/Martinique", "Pacific/Noumea", "Indian/Reunion", "UTC", " Europe/Paris "} {
		loc, err := ParseTimeZone(name)
		if err != nil || loc.String() != strings.TrimSpace(name) {
			t.Errorf("ParseTimeZone(%q) = %v, %v", name, loc, err)
		}
	}
	cases := map[string]string{
		"Europe/Pariss":  `unknown time zone "Europe/Pariss"; use an IANA name such as Europe/Paris`,
		"":               `unknown time zone ""; use an IANA name such as Europe/Paris`,
		"Local":          `unknown time zone "Local"; use an IANA name such as Europe/Paris`,
		"../etc/passwd":  `unknown time zone "../etc/passwd"; use an IANA name such as Europe/Paris`,
		"/etc/localtime": `unknown time zone "/etc/localtime"; use an IANA name such as Europe/Paris`,
	}
	for name, want := range cases {
		loc, err := ParseTimeZone(name)
		if loc != nil || err == nil || err.Error() != want || !errors.Is(err, ErrUnknownTimeZone) {
			t.Errorf("ParseTimeZone(%q) = %v, %v; want %s", name, loc, err, want)
		}
	}
}

func TestWallInstantLordHowe(t *testing.T) {
	t.Parallel()
	// Lord Howe Island moves its clocks by 30 minutes: 02:00 becomes 02:30
	// on 4 October 2026.
	loc := loadZone(t, "Australia/Lord_Howe")
	got := wallInstant(2026, time.October, 4, 2*60+15, loc)
	if l := got.In(loc); l.Hour() != 2 || l.Minute() != 30 {
		t.Fatalf("02:15 in the gap: %v, want 02:30", l)
	}
}

func BenchmarkWindowNext(b *testing.B) {
	paris := loadZone(b, "Europe/Paris")
	w := DefaultSMSWindow()
	at := time.Date(2026, 5, 23, 20, 30, 0, 0, paris) // Saturday evening before Whit Monday
	for b.Loop() {
		w.Next(at, paris)
	}
}

// FuzzParseTimeZone: a name from a CRM either loads as that zone or is
// ErrUnknownTimeZone; it never panics.
func FuzzParseTimeZone(f *testing.F) {
	for _, s := range []string{"Europe/Paris", "Europe/Pariss", "", "Local", "../../etc/passwd", "America/Argentina/Buenos_Aires", "Etc/GMT+4", "\x00", "europe/paris"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		loc, err := ParseTimeZone(name)
		if err != nil {
			if loc != nil || !errors.Is(err, ErrUnknownTimeZone) {
				t.Fatalf("ParseTimeZone(%q) = %v, %v", name, loc, err)
			}
			return
		}
		if loc == nil || loc == time.Local || strings.TrimSpace(name) == "" {
			t.Fatalf("ParseTimeZone(%q) = %v", name, loc)
		}
	})
}

// FuzzWindowNext: for any window a tenant can save and any instant within
// two centuries, Next returns an instant at or after it when the window is
// open; it never panics, whatever the instant.
func FuzzWindowNext(f *testing.F) {
	f.Add(uint8(0b1111110), 480, 1200, true, int64(1779400000), uint8(0))
	f.Add(uint8(0b0000001), 150, 170, false, int64(1774746000), uint8(1))
	f.Add(uint8(0), 0, 1440, true, int64(0), uint8(2))
	zones := []string{"Europe/Paris", "America/Martinique", "Pacific/Noumea", "Australia/Lord_Howe", "America/Santiago", "Pacific/Apia", "UTC"}
	f.Fuzz(func(t *testing.T, days uint8, from, to int, skip bool, unix int64, zone uint8) {
		loc := loadZone(t, zones[int(zone)%len(zones)])
		var w Window
		for d := range 7 {
			w.Days[d] = days&(1<<d) != 0
		}
		w.From, w.To, w.SkipHolidays = from, to, skip
		w.Next(time.Unix(unix, 0), loc) // must not panic
		at := time.Unix(1_000_000_000+unix%(100*365*86400), 0)
		got := w.Next(at, loc)
		if w.Validate() != nil {
			if !got.IsZero() {
				t.Fatalf("invalid window %+v: Next = %v", w, got)
			}
			return
		}
		if got.IsZero() {
			t.Fatalf("%+v in %v: Next(%v) is zero", w, loc, at)
		}
		local := got.In(loc)
		minute := local.Hour()*60 + local.Minute()
		if got.Before(at) || !w.Days[local.Weekday()] || w.SkipHolidays && IsFrenchPublicHoliday(local) || minute < w.From || minute >= w.To {
			t.Fatalf("%+v in %v: Next(%v) = %v", w, loc, at, local)
		}
	})
}
