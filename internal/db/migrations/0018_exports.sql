-- Flow 4, files: scheduled exports. A tenant's export schedule writes what
-- changed since its last successful run (responses, invitation statuses,
-- unsubscribes) as CSV or JSON Lines to a folder of an SFTP or FTPS server,
-- under a temporary name first, then renamed.
--
-- The password or private key is sealed with the vault under the tenant
-- (subject id = the schedule id, field "export_secret"); deleting a
-- schedule shreds that key. SFTP needs the server's host-key fingerprint;
-- FTPS verifies the server's certificate, or pins it (tls_fingerprint, the
-- SHA-256 of the certificate) for a self-signed one. The watermarks are
-- the feed positions (sync_seq of responses and invitations, seq of
-- feed_events) up to which rows were written to a file that was renamed
-- to its final name: they only move forward after a successful upload.
-- Times are Unix microseconds, 0 for never.
CREATE TABLE export_schedules (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    kinds TEXT NOT NULL,
    protocol TEXT NOT NULL CHECK (protocol IN ('sftp', 'ftps')),
    host TEXT NOT NULL,
    port BIGINT NOT NULL,
    username TEXT NOT NULL,
    auth_kind TEXT NOT NULL CHECK (auth_kind IN ('password', 'key')),
    secret_sealed BLOB NOT NULL,
    host_key_fingerprint TEXT NOT NULL DEFAULT '',
    tls_fingerprint TEXT NOT NULL DEFAULT '',
    folder TEXT NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('csv', 'csv-excel', 'jsonl')),
    file_pattern TEXT NOT NULL,
    cron TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    personal BOOLEAN NOT NULL DEFAULT FALSE,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    next_run_at BIGINT NOT NULL DEFAULT 0,
    response_seq BIGINT NOT NULL DEFAULT 0,
    invitation_seq BIGINT NOT NULL DEFAULT 0,
    event_seq BIGINT NOT NULL DEFAULT 0,
    last_run_at BIGINT NOT NULL DEFAULT 0,
    last_ok_at BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    failures BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX export_schedules_name ON export_schedules (tenant_id, name);
-- Due: enabled schedules whose next run has come, across tenants.
CREATE INDEX export_schedules_due ON export_schedules (enabled, next_run_at);

-- The export log: one row per run of a schedule, with what it wrote and,
-- when it failed, why in plain words. files lists the final file names
-- written (comma-separated). Kept 90 days.
CREATE TABLE export_runs (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    schedule_id TEXT NOT NULL,
    cause TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    ended_at BIGINT NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL,
    rows_written BIGINT NOT NULL DEFAULT 0,
    bytes_written BIGINT NOT NULL DEFAULT 0,
    files TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX export_runs_schedule ON export_runs (tenant_id, schedule_id, started_at);
CREATE INDEX export_runs_started ON export_runs (started_at);
