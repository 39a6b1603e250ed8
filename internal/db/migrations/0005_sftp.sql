-- Flow 1: the SFTP drop. A tenant's CRM leaves files in a folder of an SFTP
-- server; a periodic job fetches each new file, imports it and moves it to
-- done/ or failed/ with its report beside it.
--
-- The password or private key is sealed with the vault under the tenant
-- (subject id = the source id, field "sftp_secret"); deleting a source
-- shreds that key. host_key_fingerprint is required: avis never connects to a
-- server whose host key it was not told. Times are Unix microseconds, 0 for
-- never.
CREATE TABLE sftp_sources (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    host TEXT NOT NULL,
    port BIGINT NOT NULL,
    username TEXT NOT NULL,
    auth_kind TEXT NOT NULL CHECK (auth_kind IN ('password', 'key')),
    secret_sealed BLOB NOT NULL,
    host_key_fingerprint TEXT NOT NULL,
    folder TEXT NOT NULL,
    pattern TEXT NOT NULL DEFAULT '*.csv',
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    interval_seconds BIGINT NOT NULL DEFAULT 300 CHECK (interval_seconds >= 60),
    last_run_at BIGINT NOT NULL DEFAULT 0,
    last_ok_at BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX sftp_sources_name ON sftp_sources (tenant_id, name);
-- Due: enabled sources, oldest run first, across tenants.
CREATE INDEX sftp_sources_due ON sftp_sources (enabled, last_run_at);
