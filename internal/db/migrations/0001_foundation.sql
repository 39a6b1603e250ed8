-- The foundation: tenants, the vault's keys, people who log in, sessions,
-- API keys, the audit log and the first shape of contacts.
-- Times are Unix microseconds (UTC) in BIGINT columns on both databases.
-- Every column is declared in internal/privacy/datamap.go.

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    require_mfa BOOLEAN NOT NULL DEFAULT FALSE,
    default_language TEXT NOT NULL DEFAULT 'fr',
    created_at BIGINT NOT NULL
);

-- vault_state proves which master key the data was sealed with.
CREATE TABLE vault_state (
    id BIGINT PRIMARY KEY,
    master_key_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    rotated_at BIGINT NOT NULL DEFAULT 0
);

-- tenant_keys holds each tenant's key, sealed by the master key. The tenant
-- id '_system' is the scope of people who log in.
CREATE TABLE tenant_keys (
    tenant_id TEXT NOT NULL,
    master_key_id TEXT NOT NULL,
    wrapped_key BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id)
);

-- subject_keys holds one data key per person, sealed by the tenant key.
-- Erasure destroys wrapped_key (crypto-shredding).
CREATE TABLE subject_keys (
    tenant_id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    wrapped_key BLOB,
    created_at BIGINT NOT NULL,
    erased_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, subject_id)
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email_bidx BLOB NOT NULL UNIQUE,
    email_sealed BLOB NOT NULL,
    name_sealed BLOB,
    password_hash TEXT NOT NULL,
    totp_secret_sealed BLOB,
    totp_enabled_at BIGINT NOT NULL DEFAULT 0,
    language TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    disabled_at BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE memberships (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

-- sessions are stored by the SHA-256 of their token; the token itself is only
-- in the browser's cookie.
CREATE TABLE sessions (
    id_hash BLOB PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL DEFAULT '',
    csrf_token TEXT NOT NULL,
    mfa_ok BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- login_throttle counts failed logins per account and per client address,
-- both only as keyed hashes.
CREATE TABLE login_throttle (
    key_hash BLOB PRIMARY KEY,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE api_keys (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    scopes TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL DEFAULT 0,
    revoked_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX api_keys_id ON api_keys (id);

-- audit_log is append-only; each entry carries the hash of the previous entry
-- of its tenant ('' is the chain of events outside any tenant).
CREATE TABLE audit_log (
    tenant_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    action TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_log_subject ON audit_log (tenant_id, subject_id);

-- contacts: the tenant's customers. Names, email and phone are sealed by the
-- vault under the contact's own data key (subject id = contact id).
CREATE TABLE contacts (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    external_id TEXT NOT NULL DEFAULT '',
    email_sealed BLOB,
    email_bidx BLOB,
    phone_sealed BLOB,
    phone_bidx BLOB,
    first_name_sealed BLOB,
    last_name_sealed BLOB,
    language TEXT NOT NULL DEFAULT '',
    country TEXT NOT NULL DEFAULT '',
    time_zone TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX contacts_email ON contacts (tenant_id, email_bidx);
CREATE INDEX contacts_phone ON contacts (tenant_id, phone_bidx);
CREATE INDEX contacts_external ON contacts (tenant_id, external_id);
