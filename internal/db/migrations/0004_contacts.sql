-- Flow 1: contacts in from the CRM. Segment attributes, the lawful-basis
-- ledger, the suppression list, imports with their per-row report, saved
-- column mappings, journeys, steps and touchpoints.

-- Each tenant's default region for phone numbers written without a country
-- code.
ALTER TABLE tenants ADD COLUMN default_region TEXT NOT NULL DEFAULT 'FR';

-- Segment attributes a tenant declares: kept in clear for analysis when not
-- personal (store, product, region), sealed in the vault when personal.
CREATE TABLE contact_attributes (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    label TEXT NOT NULL,
    personal BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

-- Non-personal attribute values as a JSON object; personal ones sealed as one
-- JSON object.
ALTER TABLE contacts ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
ALTER TABLE contacts ADD COLUMN attributes_sealed BLOB;
CREATE UNIQUE INDEX contacts_external_unique ON contacts (tenant_id, external_id) WHERE external_id <> '';

-- The lawful-basis ledger: on which basis, from which source and when each
-- contact entered or was updated.
CREATE TABLE contact_bases (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    basis TEXT NOT NULL,
    purpose TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    source_id TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX contact_bases_contact ON contact_bases (tenant_id, contact_id);

-- The suppression list keeps only blind indexes: an erased person who opted
-- out is still never contacted.
CREATE TABLE suppressions (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    value_bidx BLOB NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, value_bidx)
);

CREATE TABLE imports (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    source_id TEXT NOT NULL,
    file_name TEXT NOT NULL,
    format TEXT NOT NULL,
    mapping TEXT NOT NULL,
    status TEXT NOT NULL,
    total_rows BIGINT NOT NULL DEFAULT 0,
    created_rows BIGINT NOT NULL DEFAULT 0,
    updated_rows BIGINT NOT NULL DEFAULT 0,
    unchanged_rows BIGINT NOT NULL DEFAULT 0,
    rejected_rows BIGINT NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);

-- One line per rejected row: the row number, the column and the reason, in
-- plain words and without the value.
CREATE TABLE import_rejects (
    tenant_id TEXT NOT NULL,
    import_id TEXT NOT NULL,
    row_num BIGINT NOT NULL,
    column_name TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (tenant_id, import_id, row_num, column_name)
);

CREATE TABLE import_mappings (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    mapping TEXT NOT NULL,
    options TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE journeys (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE journey_steps (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    journey_id TEXT NOT NULL,
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    position BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX journey_steps_key ON journey_steps (tenant_id, key);

-- A touchpoint is one event of a contact's journey: it is what later
-- triggers an invitation.
CREATE TABLE touchpoints (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{}',
    idempotency_key TEXT NOT NULL DEFAULT '',
    source_kind TEXT NOT NULL,
    source_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX touchpoints_idempotency ON touchpoints (tenant_id, idempotency_key) WHERE idempotency_key <> '';
CREATE INDEX touchpoints_contact ON touchpoints (tenant_id, contact_id, occurred_at);
