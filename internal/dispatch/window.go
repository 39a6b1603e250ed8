package dispatch

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // recipients' time zones work on machines without /usr/share/zoneinfo
)

// Window is when invitations may be sent, in the recipient's local time: on
// the days marked in Days, from From (included) to To (excluded), skipping
// French public holidays when SkipHolidays is set.
type Window struct {
	// Days says which weekdays are open, indexed by time.Weekday
	// (Sunday = 0).
	Days [7]bool `json:"days"`
	// From is when the window opens, in minutes after local midnight.
	From int `json:"from"`
	// To is when it closes, in minutes after local midnight; 1440 is the
	// end of the day. Sending at To exactly is not allowed.
	To int `json:"to"`
	// SkipHolidays closes the window on French public holidays, read in
	// the recipient's local date.
	SkipHolidays bool `json:"skip_holidays"`
}

// ErrInvalidWindow says a send window cannot be used.
var ErrInvalidWindow = errors.New("invalid send window")

// DefaultEmailWindow is every day, 08:00 to 21:00.
func DefaultEmailWindow() Window {
	return Window{Days: [7]bool{true, true, true, true, true, true, true}, From: 8 * 60, To: 21 * 60}
}

// DefaultSMSWindow is Monday to Saturday, 08:00 to 20:00, never on a French
// public holiday; tenants can change it.
//
// Saturday is open. No statute sets hours for SMS: article L34-5 of the Code
// des postes et des communications électroniques rules consent, not time.
// The rule French operators apply to business SMS is the af2m charter
// ("Charte de déontologie Business Messaging", in force since 1 September
// 2024): messages only on working days (jours ouvrables, Monday to Saturday
// except public holidays) from 08:00 to 22:00; its 2026 edition keeps
// 08:00-21:30 and admits Sundays and holidays with restraint. Monday to
// Saturday 08:00-20:00 without holidays fits both editions and is what
// French SMS providers ask of promotional SMS. The stricter rule that closes
// Saturday, article D223-9 of the Code de la consommation (décret 2022-1313:
// Monday to Friday, 10:00-13:00 and 14:00-20:00), is for telephone calls,
// not for SMS.
func DefaultSMSWindow() Window {
	return Window{Days: [7]bool{false, true, true, true, true, true, true}, From: 8 * 60, To: 20 * 60, SkipHolidays: true}
}

// Validate reports why the window cannot be used, as a *Problem wrapping
// ErrInvalidWindow: bounds outside 00:00-24:00, From not before To, or no
// day open.
func (w Window) Validate() error {
	if w.From < 0 || w.From > 1440 || w.To < 0 || w.To > 1440 {
		return windowProblem("the hours must be between 00:00 and 24:00")
	}
	if w.From >= w.To {
		return windowProblem("the window must open (%s) before it closes (%s)", hhmm(w.From), hhmm(w.To))
	}
	if w.Days == [7]bool{} {
		return windowProblem("open at least one day of the week")
	}
	return nil
}

func hhmm(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }

// maxSearchDays bounds how far Next looks. Holidays close at most a few
// weeks in a row of a one-day window, so a window that opens at all opens
// within this.
const maxSearchDays = 400

// Next returns the earliest instant at or after t at which the window is
// open in loc (UTC when nil), expressed in loc. It returns the zero time for
// a window that never opens, which Validate refuses.
//
// On a local day the window is the interval from the first instant the
// wall clock reads From to the first instant it reads To. So across daylight
// saving time: a bound that falls in a spring-forward gap is moved to the end
// of the gap (a window opening at 02:30 on 29 March 2026 in Europe/Paris
// opens at 03:00 CEST), and one that falls in a fall-back overlap is its first
// occurrence (a window closing at 02:30 on 25 October 2026 closes at 02:30
// CEST and does not reopen at 02:00 CET); a window that lies wholly in a gap
// is closed that day. Weekdays and holidays are those of the local date.
func (w Window) Next(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	if w.Validate() != nil {
		return time.Time{}
	}
	y, m, d := t.In(loc).Date()
	// Start the day before: where a zone moves its clocks back over
	// midnight, t's local date may already be past a window still open.
	for i := -1; i <= maxSearchDays; i++ {
		day := time.Date(y, m, d+i, 0, 0, 0, 0, time.UTC) // civil date arithmetic
		if !w.Days[day.Weekday()] || w.SkipHolidays && IsFrenchPublicHoliday(day) {
			continue
		}
		dy, dm, dd := day.Date()
		opens, closes := wallInstant(dy, dm, dd, w.From, loc), wallInstant(dy, dm, dd, w.To, loc)
		if !t.Before(closes) || !opens.Before(closes) {
			continue // past, or the whole window falls in a gap of the clocks
		}
		if t.Before(opens) {
			return opens.In(loc)
		}
		return t.In(loc)
	}
	return time.Time{}
}

// wallInstant returns the first instant at which the wall clock in loc
// reads the given date and minute of the day (1440 is the next midnight):
// that instant when it exists once, the earlier one when clocks going back
// make it happen twice, and the moment clocks jump when they jump over it.
func wallInstant(year int, month time.Month, day, minute int, loc *time.Location) time.Time {
	target := time.Date(year, month, day, 0, 0, 0, 0, time.UTC).Unix() + int64(minute)*60
	// The instant reading target lies within target-14h..target+12h, since
	// UTC offsets run from -12h to +14h; walk the zone periods over a
	// slightly wider span, in time order.
	lo, hi := target-16*3600, target+16*3600
	at := time.Unix(lo, 0).In(loc)
	prevOffset, first := 0, true
	for {
		_, offset := at.Zone()
		start, end := at.ZoneBounds()
		if !first && !start.IsZero() {
			// The clocks jumped from prevOffset to offset at start; if they
			// jumped over target, the first instant at or after it is start.
			s := start.Unix()
			if s+int64(prevOffset) <= target && target < s+int64(offset) {
				return start
			}
		}
		x := target - int64(offset)
		if (start.IsZero() || x >= start.Unix()) && (end.IsZero() || x < end.Unix()) {
			return time.Unix(x, 0)
		}
		if end.IsZero() || end.Unix() > hi {
			break
		}
		at, prevOffset, first = end.In(loc), offset, false
	}
	// Not reached with real zone data; fall back on the standard library.
	return time.Date(year, month, day, 0, minute, 0, 0, loc)
}

// ErrUnknownTimeZone says a time zone name is not in the IANA database.
var ErrUnknownTimeZone = errors.New("unknown time zone")

var zones sync.Map // name → *time.Location, for names that loaded

// ParseTimeZone loads an IANA time zone such as Europe/Paris or
// America/Martinique. The zone database is embedded in the binary, so this
// works on machines without /usr/share/zoneinfo (the system's copy is used
// when there is one). An empty name and "Local" are refused: a recipient's
// zone must not depend on the server's. Loaded zones are kept for the life
// of the process.
func ParseTimeZone(name string) (*time.Location, error) {
	trimmed := strings.TrimSpace(name)
	if loc, ok := zones.Load(trimmed); ok {
		return loc.(*time.Location), nil
	}
	if trimmed == "" || trimmed == "Local" {
		return nil, fmt.Errorf("%w %q; use an IANA name such as Europe/Paris", ErrUnknownTimeZone, name)
	}
	loc, err := time.LoadLocation(trimmed)
	if err != nil {
		return nil, fmt.Errorf("%w %q; use an IANA name such as Europe/Paris", ErrUnknownTimeZone, name)
	}
	zones.Store(trimmed, loc)
	return loc, nil
}
