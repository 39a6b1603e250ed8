package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/db"
)

// importCmd is "avis import contacts FILE --tenant SLUG …".
func importCmd(ctx context.Context, e env, args []string) error {
	_, args, err := sub(args, "import", "contacts")
	if err != nil {
		return err
	}
	var (
		tenant, mappingName, saveAs, region, format, encoding, delimiter, sheet, reportFile string
		dryRun, allOrNothing                                                                bool
		maps                                                                                []string
	)
	// The file may come before or after the flags.
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	c, fs, err := loadConfig(e, "import contacts", args, func(fs *flag.FlagSet) {
		fs.StringVar(&tenant, "tenant", "", "slug of the tenant")
		fs.StringVar(&mappingName, "mapping", "", "use the saved column mapping of this name")
		fs.Func("map", "map a column to a field, e.g. --map Courriel=email (repeatable; fields: "+strings.Join(fieldNames(), ", ")+")", func(s string) error {
			maps = append(maps, s)
			return nil
		})
		fs.StringVar(&saveAs, "save-mapping", "", "save the mapping used under this name for the next imports")
		fs.StringVar(&region, "region", "", "default region of phone numbers without a country code, e.g. FR (default: the tenant's)")
		fs.StringVar(&format, "format", "", "csv, xlsx or jsonl (default: detected)")
		fs.StringVar(&encoding, "encoding", "", "utf-8, windows-1252 or iso-8859-15 (default: detected)")
		fs.StringVar(&delimiter, "delimiter", "", "CSV delimiter: , ; tab or | (default: detected)")
		fs.StringVar(&sheet, "sheet", "", "XLSX sheet (default: the first)")
		fs.StringVar(&reportFile, "report", "", "write the import report (CSV) to this file")
		fs.BoolVar(&dryRun, "dry-run", false, "check and count everything, import nothing")
		fs.BoolVar(&allOrNothing, "all-or-nothing", false, "import nothing when any row is refused")
	}, true)
	if err != nil {
		return err
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
	}
	if file == "" || tenant == "" {
		return usageError{"give the file and --tenant SLUG: avis import contacts FILE --tenant SLUG"}
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("cannot open %s: %w", file, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		return fmt.Errorf("%s is not a file", file)
	}

	a, err := open(ctx, e, c)
	if err != nil {
		return err
	}
	defer a.Close()
	t, err := a.tenant(ctx, tenant)
	if err != nil {
		return err
	}
	var saved contact.SavedMapping
	if mappingName != "" {
		if saved, err = a.contacts.Mapping(ctx, t.ID, mappingName); err != nil {
			if errors.Is(err, db.ErrNotFound) {
				names, _ := a.contacts.Mappings(ctx, t.ID)
				return fmt.Errorf("no saved mapping %q (saved: %s)", mappingName, strings.Join(names, ", "))
			}
			return err
		}
		encoding = or(encoding, saved.Options.Encoding)
		delimiter = or(delimiter, saved.Options.Delimiter)
		sheet = or(sheet, saved.Options.Sheet)
		region = or(region, saved.Options.Region)
	}
	opts := contact.FileOptions{Format: format, Encoding: encoding, Sheet: sheet, TempDir: filepath.Join(c.Data, "tmp")}
	if delimiter != "" {
		if opts.Delimiter, err = parseDelimiter(delimiter); err != nil {
			return err
		}
	}
	os.MkdirAll(opts.TempDir, 0o700)
	counter := &countingReader{r: f}
	src, err := contact.OpenSource(counter, filepath.Base(file), opts)
	if err != nil {
		return err
	}
	defer src.Close()
	header := src.Header()
	labels := map[string]string{}
	attrs, err := a.contacts.Attributes(ctx, t.ID)
	if err != nil {
		return err
	}
	for n, at := range attrs {
		labels[n] = at.Label
	}
	mapping := contact.SuggestMapping(header, labels)
	if mappingName != "" {
		mapping = saved.Apply(header)
	}
	for _, m := range maps {
		col, field, ok := strings.Cut(m, "=")
		i := indexOf(header, strings.TrimSpace(col))
		if !ok || i < 0 {
			return usageError{fmt.Sprintf("--map %q: give COLUMN=FIELD with a column of the file (%s)", m, strings.Join(header, ", "))}
		}
		field = strings.TrimSpace(field)
		if field == "ignore" {
			field = ""
		}
		for j := range mapping {
			if j != i && string(mapping[j]) == field && field != "" {
				mapping[j] = contact.FieldIgnore
			}
		}
		mapping[i] = contact.Field(field)
	}
	info := contact.SourceInfoOf(src)
	fmt.Fprintf(e.stderr, "%s: %s", filepath.Base(file), info.Format)
	if info.Format == "csv" {
		fmt.Fprintf(e.stderr, ", %s, delimiter %q", info.Encoding, info.Delimiter)
	}
	fmt.Fprintln(e.stderr)
	for i, h := range header {
		to := string(mapping[i])
		if to == "" {
			to = "(ignored: not stored)"
		}
		fmt.Fprintf(e.stderr, "  %-28s → %s\n", h, to)
	}

	// Bound the heap so that a large import stays under 200 MB of memory:
	// the garbage collector works harder instead (GOMEMLIMIT and GOGC
	// win). The live heap is about 55 MB (the chunk being written, the
	// next being read) and SQLite's memory (its 32 MB page cache and
	// more) comes on top: collecting when the heap has grown by half
	// rather than doubled, within 100 MB, keeps the peak of 1,000,000 rows
	// at 188 MB (it was 205–217 MB at 150 MB and Go's default growth) for
	// about 2% more CPU.
	if e.getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(100 << 20)
	}
	if e.getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	prog := newProgressBar(e.stderr, fi.Size(), counter)
	rep, err := a.contacts.Import(ctx, audit.System("cli"), t.ID, src, contact.ImportOptions{
		Source:       contact.SourceRef{Kind: "cli", Name: filepath.Base(file)},
		Format:       info.Format,
		Mapping:      mapping,
		Region:       region,
		DryRun:       dryRun,
		AllOrNothing: allOrNothing,
		Progress:     prog.update,
	})
	prog.done()
	if err != nil {
		return err
	}
	if saveAs != "" && rep.Status != contact.StatusFailed {
		cols := map[string]contact.Field{}
		for i, h := range header {
			if mapping[i] != contact.FieldIgnore {
				cols[h] = mapping[i]
			}
		}
		if err := a.contacts.SaveMapping(ctx, t.ID, contact.SavedMapping{Name: saveAs, Columns: cols,
			Options: contact.MappingOptions{Encoding: encoding, Delimiter: delimiter, Sheet: sheet, Region: region}}); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "mapping saved as %q\n", saveAs)
	}
	for i, r := range rep.Rejects {
		if i == 20 {
			fmt.Fprintf(e.stdout, "  … %d more refused rows in the report\n", len(rep.Rejects)-20+rep.MoreRejects)
			break
		}
		col := ""
		if r.Column != "" {
			col = ", column " + r.Column
		}
		fmt.Fprintf(e.stdout, "  row %d%s: %s\n", r.Row, col, r.Reason)
	}
	fmt.Fprintf(e.stdout, "%s: %d rows, %d created, %d updated, %d unchanged, %d rejected in %.1fs (%.0f rows/s); import %s\n",
		rep.Status, rep.Rows, rep.Created, rep.Updated, rep.Unchanged, rep.Rejected, rep.Elapsed.Seconds(), rep.RowsPerSecond(), rep.ImportID)
	if reportFile != "" {
		out, err := os.Create(reportFile)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		err = a.contacts.WriteReportCSV(ctx, t.ID, rep.ImportID, out)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	if rep.Status == contact.StatusFailed {
		return errors.New(rep.Error)
	}
	return nil
}

func fieldNames() []string {
	return []string{"external_id", "email", "phone", "first_name", "last_name", "language", "country", "time_zone", "attr:NAME", "ignore"}
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

func parseDelimiter(s string) (rune, error) {
	switch s {
	case ",", ";", "|":
		return rune(s[0]), nil
	case "tab", "\\t", "\t":
		return '\t', nil
	}
	return 0, usageError{fmt.Sprintf("--delimiter %q: use , ; tab or |", s)}
}

// countingReader counts the bytes read, for the progress bar.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// progressBar draws a bar on a terminal and plain lines otherwise.
type progressBar struct {
	w       io.Writer
	tty     bool
	total   int64
	read    *countingReader
	start   time.Time
	lastOut time.Time
}

func newProgressBar(w io.Writer, total int64, read *countingReader) *progressBar {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progressBar{w: w, tty: tty, total: total, read: read, start: time.Now()}
}

func (p *progressBar) update(pr contact.Progress) {
	now := time.Now()
	every := 5 * time.Second
	if p.tty {
		every = 100 * time.Millisecond
	}
	if now.Sub(p.lastOut) < every {
		return
	}
	p.lastOut = now
	rate := float64(pr.Rows) / now.Sub(p.start).Seconds()
	frac := 0.0
	if p.total > 0 {
		frac = min(1, float64(p.read.n.Load())/float64(p.total))
	}
	if p.tty {
		const width = 30
		fill := int(frac * width)
		fmt.Fprintf(p.w, "\r[%s%s] %3.0f%% %d rows, %.0f rows/s ", strings.Repeat("#", fill), strings.Repeat(".", width-fill), frac*100, pr.Rows, rate)
		return
	}
	fmt.Fprintf(p.w, "progress: %.0f%%, %d rows, %.0f rows/s\n", frac*100, pr.Rows, rate)
}

func (p *progressBar) done() {
	if p.tty && !p.lastOut.IsZero() {
		fmt.Fprintln(p.w)
	}
}
