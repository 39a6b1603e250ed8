-- The REST API's Idempotency-Key (issue 6): the first answer to a POST (or
-- DELETE) sent with a key, kept 24 hours so that a retry with the same key
-- and body gets it again without the work being done twice. Per API key;
-- the Idempotency-Key itself is stored only as a hash, and the answer is
-- sealed with a key derived from it (API answers carry ids, counts and
-- reasons, no personal data, but a replayed answer must not be readable
-- from the database alone). status is 0 while the first request runs.
CREATE TABLE api_idempotency (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    api_key_id TEXT NOT NULL,
    key_hash BLOB NOT NULL,
    request_hash BLOB,
    status BIGINT NOT NULL DEFAULT 0,
    answer_ciphertext BLOB,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, api_key_id, key_hash)
);
CREATE INDEX api_idempotency_created ON api_idempotency (created_at);
