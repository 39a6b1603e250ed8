-- The tenant's privacy profile and branding, and the information notices
-- generated from it (GDPR Art. 13, 14 and 26).
--
-- A profile is one row per tenant: the company's identity and its
-- data-protection contact as it publishes them, how long answers are kept,
-- the supervisory authority, the brand colour and the logo (PNG, JPEG or
-- WebP bytes, at most 100 KB). Times are Unix microseconds.
CREATE TABLE privacy_profiles (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    legal_name TEXT NOT NULL DEFAULT '',
    postal_address TEXT NOT NULL DEFAULT '',
    dpo_name TEXT NOT NULL DEFAULT '',
    dpo_email TEXT NOT NULL DEFAULT '',
    policy_url TEXT NOT NULL DEFAULT '',
    retention_months BIGINT NOT NULL DEFAULT 36,
    authority TEXT NOT NULL DEFAULT '',
    brand_color TEXT NOT NULL DEFAULT '',
    logo BLOB,
    logo_type TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id)
);

-- Each text shown to people (the information notice, the publication
-- terms), one immutable row per version and language. hash is the hex
-- SHA-256 of body exactly as stored; a response or a consent records the id.
CREATE TABLE notices (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    language TEXT NOT NULL,
    version BIGINT NOT NULL,
    hash TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX notices_version ON notices (tenant_id, kind, language, version);
