package crmsync

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // schedules' time zones work on machines without a zoneinfo database
	"unicode/utf8"

	"github.com/robfig/cron/v3"
)

// ErrInvalidExport is wrapped by the errors of ExportStore.Create and
// Update that say what to fix (see ExportProblems).
var ErrInvalidExport = errors.New("invalid export schedule")

// ExportProblem is one thing to fix in an ExportInput, for one field of the
// form. Format is an English message of this file and Args its values, so
// that a page can show it in its own language.
type ExportProblem struct {
	// Field names the form field: name, kinds, protocol, host, port,
	// username, auth, secret, fingerprint, tls_fingerprint, folder, format,
	// pattern, cron, time_zone.
	Field  string
	Format string
	Args   []any
}

// Error returns the message in English.
func (p *ExportProblem) Error() string {
	return ErrInvalidExport.Error() + ": " + p.English()
}

// Unwrap returns ErrInvalidExport.
func (p *ExportProblem) Unwrap() error { return ErrInvalidExport }

// English returns the message in English.
func (p *ExportProblem) English() string {
	if len(p.Args) == 0 {
		return p.Format
	}
	return fmt.Sprintf(p.Format, p.Args...)
}

// ExportProblems returns the problems in err (joined by validation), in
// form order; none when err holds none.
func ExportProblems(err error) []*ExportProblem {
	var out []*ExportProblem
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *ExportProblem:
			out = append(out, e)
		case interface{ Unwrap() []error }:
			for _, x := range e.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return out
}

// bad makes the problem of one field.
func bad(field, format string, args ...any) *ExportProblem {
	return &ExportProblem{Field: field, Format: format, Args: args}
}

// Limits of an export schedule's fields.
const (
	maxExportPattern = 200
	maxCron          = 100
	// MinExportGap is the shortest time between two scheduled runs.
	MinExportGap = 5 * time.Minute
	// DefaultExportCron runs an export every night at 02:00.
	DefaultExportCron = "0 2 * * *"
	// DefaultExportZone is the time zone of a schedule when none is given.
	DefaultExportZone = "Europe/Paris"
)

// cronParser reads the five fields of cron (minute, hour, day of month,
// month, day of week) and the descriptors @hourly, @daily, @weekly,
// @monthly, @yearly.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron checks a schedule in cron syntax, evaluated in zone: it must
// parse, run at some time, and not run more often than every
// MinExportGap. It returns the schedule, or a problem saying what to fix.
func ParseCron(spec string, zone *time.Location) (cron.Schedule, error) {
	spec = strings.TrimSpace(spec)
	switch {
	case spec == "":
		return nil, bad("cron", "the schedule is empty: write it in cron syntax, e.g. 0 2 * * * for every night at 02:00")
	case len(spec) > maxCron || !printable(spec):
		return nil, bad("cron", "the schedule must be at most %d printable characters", maxCron)
	case strings.Contains(spec, "TZ="):
		return nil, bad("cron", "give the time zone in its own field, not in the schedule")
	case strings.HasPrefix(spec, "@every"):
		return nil, bad("cron", "@every is not supported: write the times in cron syntax, e.g. 0 */6 * * * for every six hours")
	}
	sched, err := cronParser.Parse(spec)
	if err != nil {
		return nil, bad("cron", "the schedule %q is not valid cron syntax (five fields: minute hour day-of-month month day-of-week, e.g. 30 6 * * 1-5 for 06:30 on weekdays)", spec)
	}
	// Look at the next runs over a few years: none means the schedule
	// never fires (e.g. 30 February), a short gap that it fires too often.
	t := time.Date(2025, 1, 1, 0, 0, 0, 0, zone)
	prev := sched.Next(t)
	if prev.IsZero() {
		return nil, bad("cron", "the schedule %q never runs (check the day and month)", spec)
	}
	for range 50 {
		next := sched.Next(prev)
		if next.IsZero() {
			break
		}
		if next.Sub(prev) < MinExportGap {
			return nil, bad("cron", "the schedule %q runs more often than every %d minutes: exports run at most every %d minutes", spec, int(MinExportGap/time.Minute), int(MinExportGap/time.Minute))
		}
		prev = next
	}
	return sched, nil
}

// ParseZone loads an IANA time zone such as Europe/Paris; "" and "Local"
// are refused (a schedule must not depend on the server's zone).
func ParseZone(name string) (*time.Location, error) {
	name = strings.TrimSpace(name)
	if name == "" || name == "Local" || len(name) > 64 || !printable(name) {
		return nil, bad("time_zone", "the time zone must be an IANA name such as Europe/Paris")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, bad("time_zone", "%q is not a known time zone: use an IANA name such as Europe/Paris", name)
	}
	return loc, nil
}

// NextRun returns the first time after now that spec fires in zone, or
// the zero time when spec is not valid.
func NextRun(spec, zone string, now time.Time) time.Time {
	loc, err := ParseZone(zone)
	if err != nil {
		return time.Time{}
	}
	sched, err := ParseCron(spec, loc)
	if err != nil {
		return time.Time{}
	}
	return sched.Next(now.In(loc)).UTC()
}

// Placeholders of a file-name pattern.
const (
	// PlaceWhat is the kind of rows: responses, invitations, unsubscribes.
	PlaceWhat = "{what}"
	// PlaceDate is the run's date in the schedule's zone, 2006-01-02.
	PlaceDate = "{date}"
	// PlaceTime is the run's time in the schedule's zone, 150405.
	PlaceTime = "{time}"
)

// CheckPattern checks a file-name pattern for the given kinds: printable,
// at most 200 bytes, no folder in it, only known placeholders, {date} or
// {time}, and {what} when there are several kinds (each kind has its own
// file). It returns the problem of the "pattern" field.
func CheckPattern(pattern string, kinds []string) error {
	switch {
	case pattern == "":
		return bad("pattern", "the file-name pattern is empty, e.g. avis-{what}-{date}-{time}.csv")
	case len(pattern) > maxExportPattern || !printable(pattern):
		return bad("pattern", "the file-name pattern must be at most %d printable characters", maxExportPattern)
	case strings.ContainsAny(pattern, "/\\"):
		return bad("pattern", "the file-name pattern must not contain / or \\: put the path in the folder")
	case strings.HasPrefix(pattern, "."):
		return bad("pattern", "the file-name pattern must not start with a dot (hidden files)")
	case strings.HasSuffix(pattern, partSuffix):
		return bad("pattern", "the file-name pattern must not end with .part: avis uploads under that name before renaming")
	}
	rest := pattern
	for {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if rest[i] == '}' || j < 0 {
			return bad("pattern", "the file-name pattern has an unmatched { or }: use {what}, {date} and {time} only")
		}
		switch ph := rest[i : i+j+1]; ph {
		case PlaceWhat, PlaceDate, PlaceTime:
		default:
			return bad("pattern", "the file-name pattern uses %s, which avis does not know: use {what}, {date} and {time}", ph)
		}
		rest = rest[i+j+1:]
	}
	if !strings.Contains(pattern, PlaceDate) && !strings.Contains(pattern, PlaceTime) {
		return bad("pattern", "the file-name pattern must contain {date} or {time}, so that each export has its own file")
	}
	if len(kinds) > 1 && !strings.Contains(pattern, PlaceWhat) {
		return bad("pattern", "the file-name pattern must contain {what} when the schedule exports several kinds of rows (each gets its own file)")
	}
	return nil
}

// FileName expands a checked pattern for one kind at time at (in the
// schedule's zone).
func FileName(pattern, kind string, at time.Time) string {
	return strings.NewReplacer(PlaceWhat, kind, PlaceDate, at.Format("2006-01-02"), PlaceTime, at.Format("150405")).Replace(pattern)
}

// DefaultPatternFor returns the default file-name pattern of a format.
func DefaultPatternFor(format string) string {
	if format == FormatJSONL {
		return "avis-{what}-{date}-{time}.jsonl"
	}
	return "avis-{what}-{date}-{time}.csv"
}

// ParseCertFingerprint checks the SHA-256 fingerprint of a TLS certificate
// as `openssl x509 -noout -fingerprint -sha256` prints it (hex pairs with
// colons, any case, with or without the "sha256 Fingerprint=" prefix) and
// returns it as lowercase hex without colons; "" stays "".
func ParseCertFingerprint(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if _, after, ok := strings.Cut(s, "="); ok {
		s = after
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "SHA256:"), "sha256:")
	s = strings.ToLower(strings.NewReplacer(":", "", " ", "").Replace(s))
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sha256.Size {
		return "", bad("tls_fingerprint", "the certificate fingerprint must be the SHA-256 one, 64 hexadecimal digits as openssl x509 -noout -fingerprint -sha256 prints it")
	}
	return s, nil
}

// normaliseExport fills the defaults of in, trims it and checks every field;
// the error joins one *ExportProblem per field to fix. create tells whether
// a secret is required.
func normaliseExport(in *ExportInput, create bool) error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "":
		add(bad("name", "the name is empty: give the export a name, e.g. \"CRM nightly results\""))
	case utf8.RuneCountInString(in.Name) > maxName || !printable(in.Name):
		add(bad("name", "the name must be at most %d printable characters", maxName))
	}

	kinds := in.Kinds[:0:0]
	for _, k := range ExportKinds {
		if slices.Contains(in.Kinds, k) {
			kinds = append(kinds, k)
		}
	}
	for _, k := range in.Kinds {
		if !slices.Contains(ExportKinds, k) {
			add(bad("kinds", "%q is not something avis exports: choose responses, invitations or unsubscribes", k))
		}
	}
	in.Kinds = kinds
	if len(kinds) == 0 {
		add(bad("kinds", "choose what to export: responses, invitation statuses or unsubscribes (one or several)"))
	}

	switch in.Protocol {
	case ProtocolSFTP, ProtocolFTPS:
	default:
		add(bad("protocol", "choose SFTP or FTPS"))
	}

	in.Host = strings.TrimSpace(in.Host)
	if h, ok := strings.CutPrefix(in.Host, "["); ok {
		in.Host = strings.TrimSuffix(h, "]")
	}
	switch {
	case in.Host == "":
		add(bad("host", "the host is empty: give the server's name or IP address, e.g. files.example.com"))
	case strings.Contains(in.Host, "://"):
		add(bad("host", "the host must be a name or an IP address without a scheme: remove %q", in.Host[:strings.Index(in.Host, "://")+3]))
	case len(in.Host) > maxHost || strings.ContainsAny(in.Host, "/@ \t\\?#") || !printable(in.Host):
		add(bad("host", "the host must be a server name or an IP address only (no user, path or spaces), e.g. files.example.com"))
	}

	if in.Port == 0 {
		in.Port = DefaultPort
		if in.Protocol == ProtocolFTPS {
			in.Port = 21
		}
	}
	if in.Port < 1 || in.Port > 65535 {
		add(bad("port", "the port must be between 1 and 65535 (SFTP uses 22, FTPS 21)"))
	}

	in.Username = strings.TrimSpace(in.Username)
	switch {
	case in.Username == "":
		add(bad("username", "the user name is empty: give the login on the server"))
	case len(in.Username) > maxUsername || !printable(in.Username):
		add(bad("username", "the user name must be at most %d printable characters", maxUsername))
	}

	switch {
	case in.AuthKind == "":
		in.AuthKind = AuthPassword
	case in.AuthKind != AuthPassword && in.AuthKind != AuthKey:
		add(bad("auth", "log in with a password or a private key"))
	}
	if in.Protocol == ProtocolFTPS && in.AuthKind == AuthKey {
		add(bad("auth", "FTPS logs in with a password only: choose a password, or SFTP for a private key"))
	}
	switch {
	case in.Secret == "" && create:
		if in.AuthKind == AuthKey {
			add(bad("secret", "the private key is empty: paste the private key of the login"))
		} else {
			add(bad("secret", "the password is empty: give the password of the login"))
		}
	case len(in.Secret) > maxSecret:
		add(bad("secret", "the password or key is longer than %d bytes", maxSecret))
	case in.Secret != "" && in.AuthKind == AuthKey:
		if _, err := parseKey(in.Secret); err != nil {
			add(bad("secret", "%s", err.Error()))
		}
	}

	in.HostKeyFingerprint = strings.TrimSpace(in.HostKeyFingerprint)
	in.TLSFingerprint = strings.TrimSpace(in.TLSFingerprint)
	switch in.Protocol {
	case ProtocolSFTP:
		in.TLSFingerprint = ""
		if in.HostKeyFingerprint == "" {
			add(bad("fingerprint", "the host-key fingerprint is missing: it is required, so that avis writes only to your server (ask its administrator for the output of ssh-keygen -lf on its host key)"))
		} else if fp, err := ParseFingerprint(in.HostKeyFingerprint); err != nil {
			add(bad("fingerprint", "the host-key fingerprint is not valid: copy it in full as ssh-keygen -lf prints it (SHA256: and 43 characters)"))
		} else {
			in.HostKeyFingerprint = fp
		}
	case ProtocolFTPS:
		in.HostKeyFingerprint = ""
		fp, err := ParseCertFingerprint(in.TLSFingerprint)
		add(err)
		in.TLSFingerprint = fp
	}

	in.Folder = strings.TrimSpace(in.Folder)
	if in.Folder == "" {
		in.Folder = "."
	}
	switch {
	case len(in.Folder) > maxFolder || !printable(in.Folder):
		add(bad("folder", "the folder must be a path of at most %d printable characters", maxFolder))
	case strings.Contains(in.Folder, "\\"):
		add(bad("folder", "the folder must use / between names, not \\"))
	case slices.Contains(strings.Split(in.Folder, "/"), ".."):
		add(bad("folder", "the folder must not contain \"..\": give an absolute path such as /exports/avis, or one relative to the login's home directory"))
	default:
		in.Folder = path.Clean(in.Folder)
	}

	switch in.Format {
	case FormatCSV, FormatCSVExcel, FormatJSONL:
	case "":
		in.Format = FormatCSV
	default:
		add(bad("format", "choose CSV (UTF-8), CSV for Excel (Windows-1252 with ;) or JSON Lines"))
	}

	in.FilePattern = strings.TrimSpace(in.FilePattern)
	if in.FilePattern == "" {
		in.FilePattern = DefaultPatternFor(in.Format)
	}
	add(CheckPattern(in.FilePattern, in.Kinds))

	in.TimeZone = strings.TrimSpace(in.TimeZone)
	if in.TimeZone == "" {
		in.TimeZone = DefaultExportZone
	}
	loc, err := ParseZone(in.TimeZone)
	add(err)
	in.Cron = strings.Join(strings.Fields(in.Cron), " ")
	if in.Cron == "" {
		in.Cron = DefaultExportCron
	}
	if loc != nil {
		_, err := ParseCron(in.Cron, loc)
		add(err)
	}
	return errors.Join(errs...)
}
