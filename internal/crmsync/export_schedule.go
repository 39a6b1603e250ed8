package crmsync

import (
	"context"
	"crypto/x509"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/db"
	"avis/internal/vault"
)

// Protocols of an export's destination.
const (
	// ProtocolSFTP writes over SFTP (SSH), with a pinned host key.
	ProtocolSFTP = "sftp"
	// ProtocolFTPS writes over FTP with explicit TLS (AUTH TLS), the
	// server's certificate verified or pinned.
	ProtocolFTPS = "ftps"
)

// Formats of an export file.
const (
	// FormatCSV is CSV in UTF-8 with commas.
	FormatCSV = "csv"
	// FormatCSVExcel is CSV in Windows-1252 with semicolons, as French
	// Excel opens it with a double click.
	FormatCSVExcel = "csv-excel"
	// FormatJSONL is JSON Lines: one JSON object per line, UTF-8.
	FormatJSONL = "jsonl"
)

// Kinds of rows an export writes, each to its own file.
const (
	// KindResponses are responses created or changed since the last export.
	KindResponses = "responses"
	// KindInvitations are invitations whose status changed since the last
	// export.
	KindInvitations = "invitations"
	// KindUnsubscribes are the contacts who unsubscribed since the last
	// export.
	KindUnsubscribes = "unsubscribes"
)

// ExportKinds lists the kinds in the order a run writes them.
var ExportKinds = []string{KindResponses, KindInvitations, KindUnsubscribes}

// exportSecretField is the vault field name of the sealed password or key.
const exportSecretField = "export_secret"

// Schedule is a tenant's scheduled export. It never carries the password
// or private key.
type Schedule struct {
	ID, TenantID, Name string
	// Kinds are what the schedule exports, in ExportKinds order.
	Kinds []string
	// Protocol is ProtocolSFTP or ProtocolFTPS.
	Protocol string
	Host     string
	Port     int
	// Username is the login on the server; AuthKind is AuthPassword or
	// AuthKey (SFTP only).
	Username, AuthKind string
	// HostKeyFingerprint is the SFTP server's host key ("SHA256:…").
	HostKeyFingerprint string
	// TLSFingerprint, for FTPS, pins the server's certificate (lowercase
	// hex SHA-256); "" verifies it against the system's authorities.
	TLSFingerprint string
	// Folder is where files are written: absolute, or relative to the
	// login's home directory.
	Folder string
	// Format is FormatCSV, FormatCSVExcel or FormatJSONL.
	Format string
	// FilePattern names the files (see FileName).
	FilePattern string
	// Cron is when the schedule runs, in TimeZone.
	Cron, TimeZone string
	// Personal exports free-text comments and the contact's name, email
	// and phone too: a transfer of personal data to this recipient.
	Personal bool
	// Enabled schedules run on their own.
	Enabled bool
	// NextRunAt is when the schedule runs next (zero when disabled).
	NextRunAt time.Time
	// ResponseSeq, InvitationSeq and EventSeq are the watermarks: the feed
	// positions up to which rows were exported.
	ResponseSeq, InvitationSeq, EventSeq int64
	// LastRunAt and LastOKAt are when a run last started and last
	// succeeded; LastError says why the last run failed ("" when it did
	// not); Failures counts the runs that failed since the last success.
	LastRunAt, LastOKAt  time.Time
	LastError            string
	Failures             int
	CreatedAt, UpdatedAt time.Time
}

// Has reports whether the schedule exports kind.
func (s Schedule) Has(kind string) bool {
	for _, k := range s.Kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// ExportInput is what an admin gives to create or change a schedule.
type ExportInput struct {
	Name     string
	Kinds    []string
	Protocol string
	Host     string
	// Port defaults to 22 for SFTP and 21 for FTPS.
	Port               int
	Username, AuthKind string
	// Secret is the password or private key: required on Create; on
	// Update "" keeps the stored one.
	Secret             string
	HostKeyFingerprint string
	TLSFingerprint     string
	Folder, Format     string
	// FilePattern defaults to DefaultPatternFor(Format).
	FilePattern string
	// Cron defaults to DefaultExportCron, TimeZone to DefaultExportZone.
	Cron, TimeZone    string
	Personal, Enabled bool
}

// ExportStore keeps the export schedules of every tenant, runs them and
// keeps their log. It is safe for concurrent use.
type ExportStore struct {
	d        *db.DB
	vault    *vault.Vault
	audit    *audit.Log
	contacts *contact.Store

	// now is the clock; dialTimeout bounds connecting; chunk is how many
	// rows a run reads at a time. Tests change them.
	now         func() time.Time
	dialTimeout time.Duration
	chunk       int
	// roots are extra certificate authorities FTPS trusts (tests).
	roots *x509.CertPool
}

// NewExportStore returns the store of export schedules kept in d, with
// their secrets sealed by v and every change recorded in a; c opens the
// contacts' details for schedules that export personal data.
func NewExportStore(d *db.DB, v *vault.Vault, a *audit.Log, c *contact.Store) *ExportStore {
	return &ExportStore{d: d, vault: v, audit: a, contacts: c, now: time.Now, dialTimeout: 20 * time.Second, chunk: 5000}
}

const scheduleColumns = `tenant_id, id, name, kinds, protocol, host, port, username, auth_kind, host_key_fingerprint,
	tls_fingerprint, folder, format, file_pattern, cron, time_zone, personal, enabled, next_run_at,
	response_seq, invitation_seq, event_seq, last_run_at, last_ok_at, last_error, failures, created_at, updated_at`

func scanSchedule(row interface{ Scan(...any) error }) (Schedule, error) {
	var s Schedule
	var kinds string
	var port, failures, next, lastRun, lastOK, created, updated int64
	err := row.Scan(&s.TenantID, &s.ID, &s.Name, &kinds, &s.Protocol, &s.Host, &port, &s.Username, &s.AuthKind,
		&s.HostKeyFingerprint, &s.TLSFingerprint, &s.Folder, &s.Format, &s.FilePattern, &s.Cron, &s.TimeZone,
		&s.Personal, &s.Enabled, &next, &s.ResponseSeq, &s.InvitationSeq, &s.EventSeq, &lastRun, &lastOK,
		&s.LastError, &failures, &created, &updated)
	if err != nil {
		return Schedule{}, err
	}
	s.Kinds = strings.Split(kinds, ",")
	s.Port, s.Failures = int(port), int(failures)
	s.NextRunAt, s.LastRunAt, s.LastOKAt = db.Time(next), db.Time(lastRun), db.Time(lastOK)
	s.CreatedAt, s.UpdatedAt = db.Time(created), db.Time(updated)
	return s, nil
}

// nextRunStamp is the stored next_run_at of a schedule: its next run after
// now, or 0 when it is disabled.
func nextRunStamp(in ExportInput, now time.Time) int64 {
	if !in.Enabled {
		return 0
	}
	return db.Stamp(NextRun(in.Cron, in.TimeZone, now))
}

// Create validates in and stores a new schedule of tenantID, its secret
// sealed with the vault. A validation error wraps ErrInvalidExport and
// holds one *ExportProblem per field to fix (ExportProblems); a name
// already used gives db.ErrConflict. The watermarks start at the current
// end of the tenant's feed when fromNow is set (only what changes from now
// on is exported), else at 0 (everything stored is exported first).
func (s *ExportStore) Create(ctx context.Context, actor audit.Actor, tenantID string, in ExportInput, fromNow bool) (Schedule, error) {
	if err := normaliseExport(&in, true); err != nil {
		return Schedule{}, err
	}
	now := s.now()
	id := db.NewID()
	err := s.d.Tx(ctx, func(tx *sql.Tx) error {
		k, err := s.vault.Subject(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		var rs, is, es int64
		if fromNow {
			if rs, is, es, err = feedEnds(ctx, tx, tenantID); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `/* crmsync.ExportStore.Create */ INSERT INTO export_schedules
			(tenant_id, id, name, kinds, protocol, host, port, username, auth_kind, secret_sealed, host_key_fingerprint,
			 tls_fingerprint, folder, format, file_pattern, cron, time_zone, personal, enabled, next_run_at,
			 response_seq, invitation_seq, event_seq, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $24)`,
			tenantID, id, in.Name, strings.Join(in.Kinds, ","), in.Protocol, in.Host, in.Port, in.Username, in.AuthKind,
			k.SealString(exportSecretField, in.Secret), in.HostKeyFingerprint, in.TLSFingerprint, in.Folder, in.Format,
			in.FilePattern, in.Cron, in.TimeZone, in.Personal, in.Enabled, nextRunStamp(in, now), rs, is, es, db.Stamp(now))
		if err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{
			TenantID: tenantID, Actor: actor, Action: "export.create", ObjectKind: "export_schedule", ObjectID: id,
			Detail: map[string]string{"protocol": in.Protocol, "kinds": strings.Join(in.Kinds, ","), "personal": yesNo(in.Personal)},
		})
	})
	if err != nil {
		return Schedule{}, fmt.Errorf("create export schedule: %w", db.Translate(err))
	}
	return s.Get(ctx, tenantID, id)
}

// feedEnds reads the current end of the tenant's feed: the highest sync_seq
// of responses and invitations and the highest feed event.
func feedEnds(ctx context.Context, q db.Querier, tenantID string) (responses, invitations, events int64, err error) {
	err = q.QueryRowContext(ctx, `/* crmsync.feedEnds */ SELECT
		(SELECT COALESCE(MAX(sync_seq), 0) FROM responses WHERE tenant_id = $1),
		(SELECT COALESCE(MAX(sync_seq), 0) FROM invitations WHERE tenant_id = $1),
		(SELECT COALESCE(MAX(seq), 0) FROM feed_events WHERE tenant_id = $1)`, tenantID).Scan(&responses, &invitations, &events)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("read the end of the feed: %w", err)
	}
	return responses, invitations, events, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Get returns one schedule of tenantID; db.ErrNotFound when the tenant has
// no schedule of that id.
func (s *ExportStore) Get(ctx context.Context, tenantID, id string) (Schedule, error) {
	sc, err := scanSchedule(s.d.R.QueryRowContext(ctx, `/* crmsync.ExportStore.Get */ SELECT `+scheduleColumns+`
		FROM export_schedules WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if err != nil {
		return Schedule{}, fmt.Errorf("get export schedule: %w", db.Translate(err))
	}
	return sc, nil
}

// List returns the schedules of tenantID by name.
func (s *ExportStore) List(ctx context.Context, tenantID string) ([]Schedule, error) {
	return s.query(ctx, "list export schedules", `/* crmsync.ExportStore.List */ SELECT `+scheduleColumns+`
		FROM export_schedules WHERE tenant_id = $1 ORDER BY name, id`, tenantID)
}

// Due returns the enabled schedules of every tenant whose next run has
// come, the longest waiting first.
func (s *ExportStore) Due(ctx context.Context, now time.Time) ([]Schedule, error) {
	return s.query(ctx, "list due export schedules", `/* crmsync.ExportStore.Due */ SELECT `+scheduleColumns+`
		FROM export_schedules WHERE enabled AND next_run_at > 0 AND next_run_at <= $1
		ORDER BY next_run_at, tenant_id, id`, db.Stamp(now))
}

func (s *ExportStore) query(ctx context.Context, what, q string, args ...any) ([]Schedule, error) {
	rows, err := s.d.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, db.Translate(err))
	}
	defer rows.Close()
	var out []Schedule
	for rows.Next() {
		sc, err := scanSchedule(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, sc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// Update replaces the settings of one schedule of tenantID with in. An
// empty in.Secret keeps the stored password or key (a change of AuthKind
// needs the new one). The watermarks and the log are kept. Switching
// Personal is audited as its own action ("export.personal").
// db.ErrNotFound when the tenant has no schedule of that id.
func (s *ExportStore) Update(ctx context.Context, actor audit.Actor, tenantID, id string, in ExportInput) (Schedule, error) {
	if err := normaliseExport(&in, false); err != nil {
		return Schedule{}, err
	}
	now := s.now()
	err := s.d.Tx(ctx, func(tx *sql.Tx) error {
		var kind string
		var personal bool
		err := tx.QueryRowContext(ctx, `/* crmsync.ExportStore.Update */ SELECT auth_kind, personal FROM export_schedules
			WHERE tenant_id = $1 AND id = $2`, tenantID, id).Scan(&kind, &personal)
		if err != nil {
			return err
		}
		if in.Secret == "" && kind != in.AuthKind {
			return bad("secret", "the login changes from %s to %s: give the new %s", secretName(kind), secretName(in.AuthKind), secretName(in.AuthKind))
		}
		_, err = tx.ExecContext(ctx, `/* crmsync.ExportStore.Update */ UPDATE export_schedules SET
			name = $3, kinds = $4, protocol = $5, host = $6, port = $7, username = $8, auth_kind = $9,
			host_key_fingerprint = $10, tls_fingerprint = $11, folder = $12, format = $13, file_pattern = $14,
			cron = $15, time_zone = $16, personal = $17, enabled = $18, next_run_at = $19, updated_at = $20
			WHERE tenant_id = $1 AND id = $2`,
			tenantID, id, in.Name, strings.Join(in.Kinds, ","), in.Protocol, in.Host, in.Port, in.Username, in.AuthKind,
			in.HostKeyFingerprint, in.TLSFingerprint, in.Folder, in.Format, in.FilePattern, in.Cron, in.TimeZone,
			in.Personal, in.Enabled, nextRunStamp(in, now), db.Stamp(now))
		if err != nil {
			return err
		}
		detail := map[string]string{"secret": "kept", "personal": yesNo(in.Personal)}
		if in.Secret != "" {
			k, err := s.vault.Subject(ctx, tx, tenantID, id)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `/* crmsync.ExportStore.Update */ UPDATE export_schedules SET secret_sealed = $3
				WHERE tenant_id = $1 AND id = $2`, tenantID, id, k.SealString(exportSecretField, in.Secret)); err != nil {
				return err
			}
			detail["secret"] = "changed"
		}
		if err := s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "export.update",
			ObjectKind: "export_schedule", ObjectID: id, Detail: detail}); err != nil {
			return err
		}
		if personal != in.Personal {
			return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "export.personal",
				ObjectKind: "export_schedule", ObjectID: id, Detail: map[string]string{"personal": yesNo(in.Personal)}})
		}
		return nil
	})
	if err != nil {
		return Schedule{}, fmt.Errorf("update export schedule: %w", db.Translate(err))
	}
	return s.Get(ctx, tenantID, id)
}

// Delete removes one schedule of tenantID with its log, and crypto-shreds
// its secret. Files already written stay on the server. db.ErrNotFound
// when the tenant has no schedule of that id.
func (s *ExportStore) Delete(ctx context.Context, actor audit.Actor, tenantID, id string) error {
	err := s.d.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `/* crmsync.ExportStore.Delete */ DELETE FROM export_schedules
			WHERE tenant_id = $1 AND id = $2`, tenantID, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return db.ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, `/* crmsync.ExportStore.Delete */ DELETE FROM export_runs
			WHERE tenant_id = $1 AND schedule_id = $2`, tenantID, id); err != nil {
			return err
		}
		if err := s.vault.EraseSubject(ctx, tx, tenantID, id); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "export.delete",
			ObjectKind: "export_schedule", ObjectID: id})
	})
	if err != nil {
		return fmt.Errorf("delete export schedule: %w", db.Translate(err))
	}
	return nil
}

// secret opens the sealed password or key of a schedule.
func (s *ExportStore) secret(ctx context.Context, sc Schedule) (string, error) {
	var sealed []byte
	err := s.d.R.QueryRowContext(ctx, `/* crmsync.ExportStore.secret */ SELECT secret_sealed FROM export_schedules
		WHERE tenant_id = $1 AND id = $2`, sc.TenantID, sc.ID).Scan(&sealed)
	if err != nil {
		return "", fmt.Errorf("read the export's secret: %w", db.Translate(err))
	}
	k, err := s.vault.Lookup(ctx, sc.TenantID, sc.ID)
	if err == nil {
		var secret string
		if secret, err = k.OpenString(exportSecretField, sealed); err == nil {
			return secret, nil
		}
	}
	if sc.AuthKind == AuthKey {
		return "", failf(nil, xferExportKey, err)
	}
	return "", failf(nil, xferExportPassword, err)
}

// advance sets the next run of a schedule after it was enqueued, so that
// the schedule job does not enqueue it again before its time.
func (s *ExportStore) advance(ctx context.Context, q db.Querier, sc Schedule, now time.Time) error {
	next := NextRun(sc.Cron, sc.TimeZone, now)
	_, err := q.ExecContext(ctx, `/* crmsync.ExportStore.advance */ UPDATE export_schedules SET next_run_at = $3
		WHERE tenant_id = $1 AND id = $2`, sc.TenantID, sc.ID, db.Stamp(next))
	if err != nil {
		return fmt.Errorf("set the next run of export %s: %w", sc.ID, db.Translate(err))
	}
	return nil
}
