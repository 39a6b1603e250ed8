-- The person's own page: the tenant's log of data-subject requests (GDPR
-- 12(3), 15-21) and the single-purpose access links sent to an address on
-- file (the "magic link" to /me/{token}).
--
-- A request names its person by contact id only (pseudonymous), and keeps
-- that id after the person's erasure, as the proof that the request was
-- handled. Times are Unix microseconds, 0 for never.
CREATE TABLE subject_requests (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    completed_at BIGINT NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX subject_requests_received ON subject_requests (tenant_id, received_at);
CREATE INDEX subject_requests_subject ON subject_requests (tenant_id, subject_id);

-- An access link gives one person their own page for one hour. Only the
-- SHA-256 of its token is stored.
CREATE TABLE subject_access_links (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    token_hash BLOB NOT NULL,
    contact_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX subject_access_links_token ON subject_access_links (token_hash);
CREATE INDEX subject_access_links_contact ON subject_access_links (tenant_id, contact_id);
