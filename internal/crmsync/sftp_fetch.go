package crmsync

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"avis/internal/audit"
	"avis/internal/db"
)

// Importer is the contact import engine as the SFTP drop sees it.
type Importer interface {
	// ImportFile imports one file for a tenant. source names where it came
	// from (for the lawful-basis ledger and the audit), e.g.
	// "sftp:<source id>".
	ImportFile(ctx context.Context, tenantID, source, fileName string, r io.Reader) (ImportResult, error)
}

// ImportResult is what the import engine says of one file.
type ImportResult struct {
	// ImportID is the id of the import (its counts and report are kept
	// under it).
	ImportID string
	// OK is false when the file itself failed (unreadable, all-or-nothing
	// failed): the file goes to failed/.
	OK bool
	// ReportCSV is the per-row report, written beside the moved file.
	ReportCSV []byte
}

// FetchResult counts what one fetch did with the matching files of the
// folder.
type FetchResult struct {
	// Imported files were moved to done/.
	Imported int
	// Failed files were refused by the import engine and moved to failed/.
	Failed int
	// Skipped files were left in the folder for a later run: beyond the
	// per-run limit, still being written, or stopped by an error.
	Skipped int
}

// Subfolders of a source's folder that processed files are moved to.
const (
	DoneFolder   = "done"
	FailedFolder = "failed"
)

// MaxFilesPerRun bounds how many files one fetch imports; the oldest go
// first and the others wait for the next run.
const MaxFilesPerRun = 100

// reportSuffix is appended to a moved file's name to name its report.
const reportSuffix = ".report.csv"

// maxAuditName bounds the length of a file name in the audit log, in bytes.
const maxAuditName = 200

// maxLastError bounds the length of a source's last error, in bytes.
const maxLastError = 1000

// readBuffer is the read-ahead on a remote file: one large read lets
// pkg/sftp fetch it with concurrent requests.
const readBuffer = 1 << 20

// Fetch connects to one source of tenantID and processes every new file:
// the regular files of the folder whose name matches the pattern (done/ and
// failed/ are created when missing and never read), oldest first, at most
// MaxFilesPerRun. Each file is handed to imp, then moved into done/ (or
// failed/ when imp says the file failed) with the report beside it
// (<name>.report.csv); when done/ already holds a file of that name, the
// moved file gets a timestamp before its extension. A file whose import
// returns an error stays where it is for the next run.
//
// Fetch records when it ran, when it last succeeded and the last error on
// the source, and each file's outcome in the audit log (action
// "sftp.import"). It works on disabled sources too (an admin's "fetch now").
// db.ErrNotFound when the tenant has no source of that id.
func (s *Store) Fetch(ctx context.Context, tenantID, id string, imp Importer) (FetchResult, error) {
	src, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return FetchResult{}, err
	}
	return s.fetch(ctx, src, imp)
}

// fetch is Fetch for a loaded source.
func (s *Store) fetch(ctx context.Context, src Source, imp Importer) (res FetchResult, err error) {
	if imp == nil {
		return FetchResult{}, errors.New("fetch SFTP source: no import engine given")
	}
	if _, err := s.d.W.ExecContext(ctx, `/* crmsync.Store.Fetch */ UPDATE sftp_sources SET last_run_at = $3
		WHERE tenant_id = $1 AND id = $2`, src.TenantID, src.ID, db.Stamp(s.now())); err != nil {
		return FetchResult{}, fmt.Errorf("fetch SFTP source: record the run: %w", db.Translate(err))
	}
	res, err = s.run(ctx, src, imp)
	if rerr := s.recordOutcome(ctx, src, err); rerr != nil {
		err = errors.Join(err, rerr)
	}
	if err != nil {
		return res, fmt.Errorf("fetch SFTP source %s: %w", src.ID, err)
	}
	return res, nil
}

// recordOutcome stores the end of a run on the source: last_ok_at when
// runErr is nil, else last_error. It writes even when ctx was cancelled.
func (s *Store) recordOutcome(ctx context.Context, src Source, runErr error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var err error
	if runErr == nil {
		_, err = s.d.W.ExecContext(ctx, `/* crmsync.Store.Fetch */ UPDATE sftp_sources SET last_ok_at = $3, last_error = ''
			WHERE tenant_id = $1 AND id = $2`, src.TenantID, src.ID, db.Stamp(s.now()))
	} else {
		_, err = s.d.W.ExecContext(ctx, `/* crmsync.Store.Fetch */ UPDATE sftp_sources SET last_error = $3
			WHERE tenant_id = $1 AND id = $2`, src.TenantID, src.ID, lastError(runErr))
	}
	if err != nil {
		return fmt.Errorf("record the outcome of the SFTP fetch: %w", db.Translate(err))
	}
	return nil
}

// lastError turns an error into the words kept as a source's last error:
// valid UTF-8 without NUL, at most maxLastError bytes.
func lastError(err error) string {
	msg := strings.ReplaceAll(strings.ToValidUTF8(err.Error(), "?"), "\x00", "")
	return clip(msg, maxLastError)
}

// clip cuts s to at most n bytes without splitting a character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// run connects and processes the files of one source.
func (s *Store) run(ctx context.Context, src Source, imp Importer) (FetchResult, error) {
	secret, err := s.secret(ctx, src)
	if err != nil {
		return FetchResult{}, err
	}
	var auth ssh.AuthMethod
	if src.AuthKind == AuthKey {
		signer, err := parseKey(secret)
		if err != nil {
			return FetchResult{}, err
		}
		auth = ssh.PublicKeys(signer)
	} else {
		auth = ssh.Password(secret)
	}
	cfg := &ssh.ClientConfig{
		User:            src.Username,
		Auth:            []ssh.AuthMethod{auth},
		HostKeyCallback: checkHostKey(src.HostKeyFingerprint),
		Timeout:         s.dialTimeout,
	}
	addr := net.JoinHostPort(src.Host, strconv.Itoa(src.Port))
	client, stop, err := dial(ctx, addr, cfg, s.dialTimeout, secretName(src.AuthKind))
	if err != nil {
		return FetchResult{}, err
	}
	defer stop()
	defer client.Close()
	sc, err := sftp.NewClient(client)
	if err != nil {
		if ctx.Err() != nil {
			return FetchResult{}, failf(nil, xferStartStopped, addr, ctx.Err())
		}
		return FetchResult{}, failf(nil, xferNoSFTP, addr, err)
	}
	defer sc.Close()

	if err := checkFolder(sc, src.Folder); err != nil {
		return FetchResult{}, err
	}

	for _, sub := range []string{DoneFolder, FailedFolder} {
		if err := ensureDir(sc, path.Join(src.Folder, sub)); err != nil {
			return FetchResult{}, err
		}
	}
	files, skipped, err := s.list(ctx, sc, src)
	if err != nil {
		return FetchResult{Skipped: skipped}, err
	}
	res := FetchResult{Skipped: skipped}
	var errs []error
	for i, fi := range files {
		if err := ctx.Err(); err != nil {
			res.Skipped += len(files) - i
			errs = append(errs, failf(nil, xferFetchStopped, err))
			break
		}
		outcome, err := s.processFile(ctx, sc, src, fi.Name(), imp)
		switch outcome {
		case DoneFolder:
			res.Imported++
		case FailedFolder:
			res.Failed++
		default:
			res.Skipped++
		}
		if err != nil {
			errs = append(errs, err)
			var ie *importError
			if errors.As(err, &ie) {
				// The engine failed (its database, most likely): the next
				// files would fail alike.
				res.Skipped += len(files) - i - 1
				break
			}
		}
	}
	switch len(errs) {
	case 0:
		return res, nil
	case 1:
		return res, errs[0]
	default:
		return res, failf(nil, xferMore, errs[0], strconv.Itoa(len(errs)-1))
	}
}

// importError is an error of the import engine itself.
type importError struct{ err error }

func (e *importError) Error() string { return e.err.Error() }
func (e *importError) Unwrap() error { return e.err }

// ensureDir creates dir on the server when it does not exist.
func ensureDir(sc *sftp.Client, dir string) error {
	fi, err := sc.Stat(dir)
	switch {
	case err == nil && fi.IsDir():
		return nil
	case err == nil:
		return failf(nil, xferSubIsFile, dir)
	case !errors.Is(err, fs.ErrNotExist):
		return failf(nil, xferSubRead, dir, lostOr(err))
	}
	if err := sc.Mkdir(dir); err != nil {
		if fi, serr := sc.Stat(dir); serr == nil && fi.IsDir() {
			return nil // made by a concurrent run
		}
		return failf(nil, xferSubCreate, dir, lostOr(err))
	}
	return nil
}

// list returns the files to process, oldest first and at most
// MaxFilesPerRun, and how many matching files it leaves for later. When
// s.settle is set the folder is listed twice, s.settle apart, and a file
// whose size or time changed in between (still being uploaded) is left.
func (s *Store) list(ctx context.Context, sc *sftp.Client, src Source) ([]os.FileInfo, int, error) {
	files, err := matching(sc, src)
	if err != nil || len(files) == 0 {
		return nil, 0, err
	}
	skipped := 0
	if s.settle > 0 {
		t := time.NewTimer(s.settle)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, len(files), failf(nil, xferListStopped, ctx.Err())
		case <-t.C:
		}
		again, err := matching(sc, src)
		if err != nil {
			return nil, 0, err
		}
		before := make(map[string]os.FileInfo, len(files))
		for _, fi := range files {
			before[fi.Name()] = fi
		}
		files = files[:0]
		for _, fi := range again {
			b, ok := before[fi.Name()]
			switch {
			case !ok:
				// New since the first listing: next run.
			case b.Size() != fi.Size() || !b.ModTime().Equal(fi.ModTime()):
				skipped++
			default:
				files = append(files, fi)
			}
		}
	}
	slices.SortFunc(files, func(a, b os.FileInfo) int {
		return cmp.Or(a.ModTime().Compare(b.ModTime()), strings.Compare(a.Name(), b.Name()))
	})
	if len(files) > MaxFilesPerRun {
		skipped += len(files) - MaxFilesPerRun
		files = files[:MaxFilesPerRun]
	}
	return files, skipped, nil
}

// matching lists the regular files of the source's folder whose name
// matches its pattern.
func matching(sc *sftp.Client, src Source) ([]os.FileInfo, error) {
	all, err := sc.ReadDir(src.Folder)
	if err != nil {
		return nil, failf(nil, xferList, src.Folder, lostOr(err))
	}
	var out []os.FileInfo
	for _, fi := range all {
		if !fi.Mode().IsRegular() {
			continue
		}
		if ok, _ := path.Match(src.Pattern, fi.Name()); ok {
			out = append(out, fi)
		}
	}
	return out, nil
}

// processFile imports one file and moves it; outcome is DoneFolder or
// FailedFolder once the file was moved, "" when it stays in the folder.
func (s *Store) processFile(ctx context.Context, sc *sftp.Client, src Source, name string, imp Importer) (outcome string, err error) {
	p := path.Join(src.Folder, name)
	var result ImportResult
	defer func() {
		if aerr := s.auditFile(ctx, src, name, result.ImportID, outcome, err); aerr != nil {
			err = errors.Join(err, aerr)
		}
	}()
	f, err := sc.Open(p)
	if err != nil {
		return "", failf(nil, xferOpenFile, p, lostOr(err))
	}
	result, err = imp.ImportFile(ctx, src.TenantID, "sftp:"+src.ID, name, bufio.NewReaderSize(f, readBuffer))
	f.Close()
	if err != nil {
		return "", &importError{failf(nil, xferImportFailed, p, err)}
	}
	if err := ctx.Err(); err != nil {
		return "", failf(nil, xferImportStopped, p, err)
	}
	sub := DoneFolder
	if !result.OK {
		sub = FailedFolder
	}
	dir := path.Join(src.Folder, sub)
	target, err := s.freeName(sc, dir, name)
	if err != nil {
		return "", err
	}
	if result.ReportCSV != nil {
		if err := writeFile(sc, path.Join(dir, target+reportSuffix), result.ReportCSV); err != nil {
			return "", err
		}
	}
	if err := sc.Rename(p, path.Join(dir, target)); err != nil {
		return "", failf(nil, xferMove, p, dir, lostOr(err))
	}
	return sub, nil
}

// freeName returns name, or name with a timestamp before its extension when
// dir already holds a file of that name.
func (s *Store) freeName(sc *sftp.Client, dir, name string) (string, error) {
	ext := path.Ext(name)
	base := strings.TrimSuffix(name, ext)
	stamp := s.now().UTC().Format("20060102T150405Z")
	for i := 0; i < 100; i++ {
		cand := name
		switch {
		case i == 1:
			cand = base + "." + stamp + ext
		case i > 1:
			cand = base + "." + stamp + "-" + strconv.Itoa(i) + ext
		}
		_, err := sc.Lstat(path.Join(dir, cand))
		if errors.Is(err, fs.ErrNotExist) {
			return cand, nil
		}
		if err != nil {
			return "", failf(nil, xferReadDir, dir, lostOr(err))
		}
	}
	return "", failf(nil, xferFullDir, dir, name)
}

// writeFile creates (or truncates) p on the server and writes b to it.
func writeFile(sc *sftp.Client, p string, b []byte) error {
	f, err := sc.Create(p)
	if err != nil {
		return failf(nil, xferReportCreate, p, lostOr(err))
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return failf(nil, xferReport, p, lostOr(err))
	}
	if err := f.Close(); err != nil {
		return failf(nil, xferReport, p, lostOr(err))
	}
	return nil
}

// auditFile records the outcome of one file: "done", "failed", or "error"
// when it stayed in the folder. The file name is kept (cut to 200 bytes)
// unless the audit log takes it for personal data.
func (s *Store) auditFile(ctx context.Context, src Source, name, importID, outcome string, fileErr error) error {
	if outcome == "" {
		outcome = "error"
	}
	if fileErr != nil && errors.Is(fileErr, context.Canceled) {
		outcome = "interrupted"
	}
	e := audit.Entry{
		TenantID: src.TenantID, Actor: audit.System("crmsync"), Action: "sftp.import",
		ObjectKind: "sftp_source", ObjectID: src.ID,
		Detail: map[string]string{"outcome": outcome, "file": clip(strings.ToValidUTF8(name, "?"), maxAuditName)},
	}
	if importID != "" {
		e.Detail["import_id"] = importID
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := s.audit.Record(ctx, nil, e)
	if errors.Is(err, audit.ErrPersonalData) {
		e.Detail["file"] = "(withheld: looks like personal data)"
		err = s.audit.Record(ctx, nil, e)
	}
	if err != nil {
		return fmt.Errorf("record the import of a file in the audit log: %w", err)
	}
	return nil
}
