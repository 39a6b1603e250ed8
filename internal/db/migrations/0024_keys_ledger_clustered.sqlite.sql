-- SQLite only: the data keys and the lawful-basis ledger stored in their
-- primary key's order (WITHOUT ROWID), one B-tree each instead of a table
-- and its key index (the ledger's index by contact becomes its key): an
-- import of a million contacts writes three B-trees less per contact and
-- about 200 MB less. PostgreSQL keeps its tables and indexes.
CREATE TABLE subject_keys_clustered (
    tenant_id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    wrapped_key BLOB,
    created_at BIGINT NOT NULL,
    erased_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, subject_id)
) WITHOUT ROWID;
INSERT INTO subject_keys_clustered (tenant_id, subject_id, wrapped_key, created_at, erased_at)
    SELECT tenant_id, subject_id, wrapped_key, created_at, erased_at FROM subject_keys;
DROP TABLE subject_keys;
ALTER TABLE subject_keys_clustered RENAME TO subject_keys;

CREATE TABLE contact_bases_clustered (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    basis TEXT NOT NULL,
    purpose TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    source_id TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, contact_id, id)
) WITHOUT ROWID;
INSERT INTO contact_bases_clustered (tenant_id, id, contact_id, basis, purpose, source_kind, source_id, recorded_at)
    SELECT tenant_id, id, contact_id, basis, purpose, source_kind, source_id, recorded_at FROM contact_bases;
DROP TABLE contact_bases;
ALTER TABLE contact_bases_clustered RENAME TO contact_bases;
