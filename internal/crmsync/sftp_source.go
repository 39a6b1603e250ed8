package crmsync

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/vault"
)

// Authentication kinds of an SFTP source.
const (
	// AuthPassword logs in with a password.
	AuthPassword = "password"
	// AuthKey logs in with a private key (PEM or OpenSSH format, without a
	// passphrase).
	AuthKey = "key"
)

// Defaults and bounds of an SFTP source.
const (
	// DefaultPort is the SSH port.
	DefaultPort = 22
	// DefaultPattern is the file-name pattern when none is given.
	DefaultPattern = "*.csv"
	// DefaultInterval is how often a source is fetched when no interval is
	// given.
	DefaultInterval = 5 * time.Minute
	// MinInterval is the shortest interval between two fetches.
	MinInterval = time.Minute
	// MaxInterval is the longest interval between two fetches.
	MaxInterval = 7 * 24 * time.Hour
)

// secretField is the vault field name of the sealed password or key.
const secretField = "sftp_secret"

// ErrInvalid is wrapped by the errors of Create and Update that say what to
// fix in a SourceInput.
var ErrInvalid = errors.New("invalid SFTP source")

// Source is a configured SFTP drop of a tenant. It never carries the
// password or private key.
type Source struct {
	ID, TenantID, Name, Host string
	Port                     int
	// Username is the login on the SFTP server.
	Username string
	// AuthKind is AuthPassword or AuthKey.
	AuthKind string
	// HostKeyFingerprint is the server's host key as `ssh-keygen -lf`
	// prints it: "SHA256:" and 43 characters of base64.
	HostKeyFingerprint string
	// Folder is where the CRM leaves its files: absolute, or relative to
	// the login's home directory ("." for the home directory itself).
	Folder string
	// Pattern is the path.Match glob the file names must match.
	Pattern string
	// Enabled sources are fetched on their schedule.
	Enabled bool
	// Interval is the time between two scheduled fetches.
	Interval time.Duration
	// LastRunAt and LastOKAt are when a fetch last started and last ended
	// without error (zero: never).
	LastRunAt, LastOKAt time.Time
	// LastError says, in plain words, why the last fetch failed; "" when it
	// did not.
	LastError string
	// CreatedAt and UpdatedAt are when the source was created and last
	// changed.
	CreatedAt, UpdatedAt time.Time
}

// SourceInput is what an admin gives to create or change an SFTP source.
type SourceInput struct {
	Name, Host string
	// Port defaults to 22 when 0.
	Port int
	// Username is the login on the SFTP server.
	Username string
	// AuthKind is AuthPassword or AuthKey.
	AuthKind string
	// Secret is the password, or the private key in PEM or OpenSSH format.
	// Required on Create; on Update "" keeps the stored one.
	Secret string
	// HostKeyFingerprint is required: "SHA256:…" as `ssh-keygen -lf` or
	// HostKeyFingerprint prints it.
	HostKeyFingerprint string
	// Folder defaults to "." (the login's home directory).
	Folder string
	// Pattern defaults to DefaultPattern.
	Pattern string
	// Enabled sources are fetched on their schedule.
	Enabled bool
	// Interval defaults to DefaultInterval when 0; at least MinInterval.
	Interval time.Duration
}

// Store keeps the SFTP sources of every tenant and fetches their files.
// It is safe for concurrent use.
type Store struct {
	d     *db.DB
	vault *vault.Vault
	audit *audit.Log

	// now is the clock; settle is how long Fetch waits between its two
	// listings of a folder (a file that changed in between is still being
	// written). Tests change both.
	now    func() time.Time
	settle time.Duration
	// dialTimeout bounds connecting and the SSH handshake.
	dialTimeout time.Duration
}

// NewStore returns the store of SFTP sources kept in d, with their secrets
// sealed by v and every change recorded in a.
func NewStore(d *db.DB, v *vault.Vault, a *audit.Log) *Store {
	return &Store{
		d: d, vault: v, audit: a,
		now:         time.Now,
		settle:      2 * time.Second,
		dialTimeout: 15 * time.Second,
	}
}

const sourceColumns = `tenant_id, id, name, host, port, username, auth_kind, host_key_fingerprint,
	folder, pattern, enabled, interval_seconds, last_run_at, last_ok_at, last_error, created_at, updated_at`

func scanSource(row interface{ Scan(...any) error }) (Source, error) {
	var s Source
	var port, interval, lastRun, lastOK, created, updated int64
	err := row.Scan(&s.TenantID, &s.ID, &s.Name, &s.Host, &port, &s.Username, &s.AuthKind, &s.HostKeyFingerprint,
		&s.Folder, &s.Pattern, &s.Enabled, &interval, &lastRun, &lastOK, &s.LastError, &created, &updated)
	if err != nil {
		return Source{}, err
	}
	s.Port = int(port)
	s.Interval = time.Duration(interval) * time.Second
	s.LastRunAt, s.LastOKAt = db.Time(lastRun), db.Time(lastOK)
	s.CreatedAt, s.UpdatedAt = db.Time(created), db.Time(updated)
	return s, nil
}

// Create validates in and stores a new source of tenantID, its secret sealed
// with the vault. The errors of validation wrap ErrInvalid and say what to
// fix; a name already used by another source of the tenant gives
// db.ErrConflict.
func (s *Store) Create(ctx context.Context, actor audit.Actor, tenantID string, in SourceInput) (Source, error) {
	if err := normalise(&in, true); err != nil {
		return Source{}, err
	}
	now := s.now()
	src := Source{
		ID: db.NewID(), TenantID: tenantID, Name: in.Name, Host: in.Host, Port: in.Port,
		Username: in.Username, AuthKind: in.AuthKind, HostKeyFingerprint: in.HostKeyFingerprint,
		Folder: in.Folder, Pattern: in.Pattern, Enabled: in.Enabled, Interval: in.Interval,
		CreatedAt: now.UTC().Truncate(time.Microsecond), UpdatedAt: now.UTC().Truncate(time.Microsecond),
	}
	err := s.d.Tx(ctx, func(tx *sql.Tx) error {
		k, err := s.vault.Subject(ctx, tx, tenantID, src.ID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `/* crmsync.Store.Create */ INSERT INTO sftp_sources
			(tenant_id, id, name, host, port, username, auth_kind, secret_sealed, host_key_fingerprint,
			 folder, pattern, enabled, interval_seconds, last_run_at, last_ok_at, last_error, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0, 0, '', $14, $14)`,
			tenantID, src.ID, src.Name, src.Host, src.Port, src.Username, src.AuthKind, k.SealString(secretField, in.Secret),
			src.HostKeyFingerprint, src.Folder, src.Pattern, src.Enabled, int64(src.Interval/time.Second), db.Stamp(now))
		if err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{
			TenantID: tenantID, Actor: actor, Action: "sftp.create",
			ObjectKind: "sftp_source", ObjectID: src.ID,
		})
	})
	if err != nil {
		return Source{}, fmt.Errorf("create SFTP source: %w", err)
	}
	return src, nil
}

// Get returns one source of tenantID; db.ErrNotFound when the tenant has no
// source of that id (another tenant's source included).
func (s *Store) Get(ctx context.Context, tenantID, id string) (Source, error) {
	src, err := scanSource(s.d.R.QueryRowContext(ctx, `/* crmsync.Store.Get */ SELECT `+sourceColumns+`
		FROM sftp_sources WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if err != nil {
		return Source{}, fmt.Errorf("get SFTP source: %w", db.Translate(err))
	}
	return src, nil
}

// List returns the sources of tenantID by name.
func (s *Store) List(ctx context.Context, tenantID string) ([]Source, error) {
	return s.query(ctx, "list SFTP sources", `/* crmsync.Store.List */ SELECT `+sourceColumns+`
		FROM sftp_sources WHERE tenant_id = $1 ORDER BY name, id`, tenantID)
}

// Due returns the enabled sources of every tenant whose last run started at
// least their interval before now, the longest waiting first.
func (s *Store) Due(ctx context.Context, now time.Time) ([]Source, error) {
	return s.query(ctx, "list due SFTP sources", `/* crmsync.Store.Due */ SELECT `+sourceColumns+`
		FROM sftp_sources WHERE enabled AND last_run_at + interval_seconds * 1000000 <= $1
		ORDER BY last_run_at, tenant_id, id`, db.Stamp(now))
}

func (s *Store) query(ctx context.Context, what, q string, args ...any) ([]Source, error) {
	rows, err := s.d.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, db.Translate(err))
	}
	defer rows.Close()
	var out []Source
	for rows.Next() {
		src, err := scanSource(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, src)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// Update replaces the settings of one source of tenantID with in. An empty
// in.Secret keeps the stored password or key (but a change of AuthKind needs
// the new secret). The run history (last run, last error) is kept.
// db.ErrNotFound when the tenant has no source of that id.
func (s *Store) Update(ctx context.Context, actor audit.Actor, tenantID, id string, in SourceInput) (Source, error) {
	if err := normalise(&in, false); err != nil {
		return Source{}, err
	}
	var src Source
	err := s.d.Tx(ctx, func(tx *sql.Tx) error {
		var kind string
		err := tx.QueryRowContext(ctx, `/* crmsync.Store.Update */ SELECT auth_kind FROM sftp_sources
			WHERE tenant_id = $1 AND id = $2`, tenantID, id).Scan(&kind)
		if err != nil {
			return err
		}
		if in.Secret == "" && kind != in.AuthKind {
			return fmt.Errorf("%w: the authentication changes from %s to %s: give the new %s", ErrInvalid, kind, in.AuthKind, secretName(in.AuthKind))
		}
		now := db.Stamp(s.now())
		_, err = tx.ExecContext(ctx, `/* crmsync.Store.Update */ UPDATE sftp_sources SET
			name = $3, host = $4, port = $5, username = $6, auth_kind = $7, host_key_fingerprint = $8,
			folder = $9, pattern = $10, enabled = $11, interval_seconds = $12, updated_at = $13
			WHERE tenant_id = $1 AND id = $2`,
			tenantID, id, in.Name, in.Host, in.Port, in.Username, in.AuthKind, in.HostKeyFingerprint,
			in.Folder, in.Pattern, in.Enabled, int64(in.Interval/time.Second), now)
		if err != nil {
			return err
		}
		detail := map[string]string{"secret": "kept"}
		if in.Secret != "" {
			k, err := s.vault.Subject(ctx, tx, tenantID, id)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `/* crmsync.Store.Update */ UPDATE sftp_sources SET secret_sealed = $3
				WHERE tenant_id = $1 AND id = $2`, tenantID, id, k.SealString(secretField, in.Secret))
			if err != nil {
				return err
			}
			detail["secret"] = "changed"
		}
		if err := s.audit.Record(ctx, tx, audit.Entry{
			TenantID: tenantID, Actor: actor, Action: "sftp.update",
			ObjectKind: "sftp_source", ObjectID: id, Detail: detail,
		}); err != nil {
			return err
		}
		src, err = scanSource(tx.QueryRowContext(ctx, `/* crmsync.Store.Update */ SELECT `+sourceColumns+`
			FROM sftp_sources WHERE tenant_id = $1 AND id = $2`, tenantID, id))
		return err
	})
	if err != nil {
		return Source{}, fmt.Errorf("update SFTP source: %w", err)
	}
	return src, nil
}

// Delete removes one source of tenantID and crypto-shreds its secret.
// Files already imported stay imported. db.ErrNotFound when the tenant has
// no source of that id.
func (s *Store) Delete(ctx context.Context, actor audit.Actor, tenantID, id string) error {
	err := s.d.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `/* crmsync.Store.Delete */ DELETE FROM sftp_sources
			WHERE tenant_id = $1 AND id = $2`, tenantID, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return db.ErrNotFound
		}
		if err := s.vault.EraseSubject(ctx, tx, tenantID, id); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{
			TenantID: tenantID, Actor: actor, Action: "sftp.delete",
			ObjectKind: "sftp_source", ObjectID: id,
		})
	})
	if err != nil {
		return fmt.Errorf("delete SFTP source: %w", err)
	}
	return nil
}

// secret opens the sealed password or key of a source.
func (s *Store) secret(ctx context.Context, src Source) (string, error) {
	var sealed []byte
	err := s.d.R.QueryRowContext(ctx, `/* crmsync.Store.secret */ SELECT secret_sealed FROM sftp_sources
		WHERE tenant_id = $1 AND id = $2`, src.TenantID, src.ID).Scan(&sealed)
	if err != nil {
		return "", fmt.Errorf("read the SFTP secret: %w", db.Translate(err))
	}
	k, err := s.vault.Lookup(ctx, src.TenantID, src.ID)
	if err != nil {
		return "", sourceSecretError(src.AuthKind, err)
	}
	secret, err := k.OpenString(secretField, sealed)
	if err != nil {
		return "", sourceSecretError(src.AuthKind, err)
	}
	return secret, nil
}

// sourceSecretError says that the secret of a source cannot be opened.
func sourceSecretError(kind string, err error) error {
	if kind == AuthKey {
		return failf(nil, xferSourceKey, err)
	}
	return failf(nil, xferSourcePassword, err)
}

func secretName(kind string) string {
	if kind == AuthKey {
		return "private key"
	}
	return "password"
}

// Limits on the text fields of a source.
const (
	maxName     = 100
	maxHost     = 253
	maxUsername = 100
	maxFolder   = 1000
	maxPattern  = 200
	maxSecret   = 64 << 10
)

// normalise fills the defaults of in, trims it and checks every field; the
// error wraps ErrInvalid and says what to fix. create tells whether a secret
// is required.
func normalise(in *SourceInput, create bool) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
	}
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "":
		return bad("the name is empty: give the source a name, e.g. \"CRM nightly export\"")
	case utf8.RuneCountInString(in.Name) > maxName || !printable(in.Name):
		return bad("the name must be at most %d printable characters", maxName)
	}

	in.Host = strings.TrimSpace(in.Host)
	if h, ok := strings.CutPrefix(in.Host, "["); ok {
		in.Host = strings.TrimSuffix(h, "]")
	}
	switch {
	case in.Host == "":
		return bad("the host is empty: give the SFTP server's name or IP address, e.g. sftp.example.com")
	case strings.Contains(in.Host, "://"):
		return bad("the host must be a name or an IP address without a scheme: remove %q", in.Host[:strings.Index(in.Host, "://")+3])
	case len(in.Host) > maxHost || strings.ContainsAny(in.Host, "/@ \t\\?#") || !printable(in.Host):
		return bad("the host must be a server name or an IP address only (no user, path or spaces), e.g. sftp.example.com")
	}

	if in.Port == 0 {
		in.Port = DefaultPort
	}
	if in.Port < 1 || in.Port > 65535 {
		return bad("the port must be between 1 and 65535 (SSH uses 22)")
	}

	in.Username = strings.TrimSpace(in.Username)
	switch {
	case in.Username == "":
		return bad("the user name is empty: give the login on the SFTP server")
	case len(in.Username) > maxUsername || !printable(in.Username):
		return bad("the user name must be at most %d printable characters", maxUsername)
	}

	fp, err := ParseFingerprint(in.HostKeyFingerprint)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	in.HostKeyFingerprint = fp

	in.Folder = strings.TrimSpace(in.Folder)
	if in.Folder == "" {
		in.Folder = "."
	}
	if len(in.Folder) > maxFolder || !printable(in.Folder) {
		return bad("the folder must be a path of at most %d printable characters", maxFolder)
	}
	if strings.Contains(in.Folder, "\\") {
		return bad("the folder must use / between names, not \\")
	}
	for _, part := range strings.Split(in.Folder, "/") {
		if part == ".." {
			return bad("the folder must not contain \"..\": give an absolute path such as /exports/avis, or one relative to the login's home directory")
		}
	}
	in.Folder = path.Clean(in.Folder)

	in.Pattern = strings.TrimSpace(in.Pattern)
	if in.Pattern == "" {
		in.Pattern = DefaultPattern
	}
	if len(in.Pattern) > maxPattern || !printable(in.Pattern) {
		return bad("the file-name pattern must be at most %d printable characters", maxPattern)
	}
	if strings.Contains(in.Pattern, "/") {
		return bad("the file-name pattern matches names inside the folder and must not contain /: put the path in the folder")
	}
	if _, err := path.Match(in.Pattern, ""); err != nil {
		return bad("the file-name pattern %q is not valid (use * for any characters, ? for one, [abc] for a set): %w", in.Pattern, err)
	}

	if in.Interval == 0 {
		in.Interval = DefaultInterval
	}
	in.Interval = in.Interval.Truncate(time.Second)
	if in.Interval < MinInterval || in.Interval > MaxInterval {
		return bad("the interval must be between %s and %s", MinInterval, MaxInterval)
	}

	switch in.AuthKind {
	case AuthPassword, AuthKey:
	case "":
		return bad("choose how to log in: %q or %q", AuthPassword, AuthKey)
	default:
		return bad("the authentication must be %q or %q, not %q", AuthPassword, AuthKey, in.AuthKind)
	}
	if in.Secret == "" {
		if create {
			return bad("the %s is empty: give the %s of the SFTP login", secretName(in.AuthKind), secretName(in.AuthKind))
		}
		return nil
	}
	if len(in.Secret) > maxSecret {
		return bad("the %s is longer than %d bytes", secretName(in.AuthKind), maxSecret)
	}
	if in.AuthKind == AuthKey {
		if _, err := parseKey(in.Secret); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	return nil
}

// parseKey parses a private key given as its PEM or OpenSSH text.
func parseKey(pem string) (ssh.Signer, error) {
	signer, err := ssh.ParsePrivateKey([]byte(pem))
	var pass *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &pass):
		return nil, failf(nil, xferKeyPassphrase)
	case err != nil:
		return nil, failf(nil, xferKeyUnreadable, err)
	}
	return signer, nil
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
