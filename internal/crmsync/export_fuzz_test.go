package crmsync

import (
	"strings"
	"testing"
	"time"
)

// FuzzExportCron feeds any schedule and time zone to the checks: they never
// panic, and a schedule they accept runs, at most every MinExportGap.
func FuzzExportCron(f *testing.F) {
	for _, s := range []string{"0 2 * * *", "*/5 * * * *", "* * * * *", "0 0 30 2 *", "@daily", "@every 1m", "30 6 * * 1-5",
		"CRON_TZ=UTC 0 2 * * *", "0 0 1 1 *", "61 * * * *", "", "0 0 * * 8", "1,2,3 4-5/1 ? * MON"} {
		f.Add(s, "Europe/Paris")
	}
	f.Add("0 2 * * *", "America/St_Johns")
	f.Add("0 2 * * *", "Local")
	f.Fuzz(func(t *testing.T, spec, zone string) {
		loc, err := ParseZone(zone)
		if err != nil {
			return
		}
		sched, err := ParseCron(spec, loc)
		if err != nil {
			if len(ExportProblems(err)) != 1 {
				t.Fatalf("ParseCron(%q) = %v: not one problem", spec, err)
			}
			return
		}
		at := time.Date(2027, 10, 31, 1, 59, 0, 0, loc)
		a := sched.Next(at)
		b := sched.Next(a)
		if a.IsZero() || !a.After(at) {
			t.Fatalf("%q accepted but its next run after %v is %v", spec, at, a)
		}
		if !b.IsZero() && b.Sub(a) < MinExportGap {
			t.Fatalf("%q accepted but runs at %v then %v", spec, a, b)
		}
		if NextRun(spec, zone, at).IsZero() {
			t.Fatalf("NextRun(%q, %q) is zero", spec, zone)
		}
	})
}

// FuzzFilePattern feeds any file-name pattern to CheckPattern: a pattern it
// accepts always expands to a plain file name in the folder.
func FuzzFilePattern(f *testing.F) {
	for _, s := range []string{"avis-{what}-{date}-{time}.csv", "{date}", "../{date}", "a/{date}", "{what", "{}", "{date}.part",
		".hidden-{date}", "{date}{time}{what}{date}", "résultats-{date}.csv", "x\x00{date}", "{{date}}"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, pattern string, several bool) {
		kinds := []string{KindResponses}
		if several {
			kinds = ExportKinds
		}
		if err := CheckPattern(pattern, kinds); err != nil {
			if len(ExportProblems(err)) != 1 || ExportProblems(err)[0].Field != "pattern" {
				t.Fatalf("CheckPattern(%q) = %v: want one problem on the pattern", pattern, err)
			}
			return
		}
		at := time.Date(2026, 3, 29, 2, 30, 0, 0, time.UTC)
		for _, k := range kinds {
			name := FileName(pattern, k, at)
			if name == "" || strings.ContainsAny(name, "/\\{}") || strings.HasPrefix(name, ".") || !printable(name) ||
				strings.HasSuffix(name, partSuffix) || name == ".." {
				t.Fatalf("pattern %q accepted but names the file %q", pattern, name)
			}
		}
		if several && FileName(pattern, KindResponses, at) == FileName(pattern, KindInvitations, at) {
			t.Fatalf("pattern %q gives two kinds the same name", pattern)
		}
	})
}
