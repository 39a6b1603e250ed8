-- Flow 3: survey definitions. A survey is a name, a status and a pointer to
-- its current version; each change of its definition adds an immutable
-- version (the JSON exchange format of internal/survey, in TEXT), so that a
-- response can always name the exact questions it answered. Survey texts
-- are written by the tenant and hold no personal data. Times are Unix
-- microseconds.
CREATE TABLE surveys (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'archived')),
    current_version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- Versions are never updated; created_by is the actor who saved the
-- version, as kind:id (user:…, apikey:…, system:…).
CREATE TABLE survey_versions (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    survey_id TEXT NOT NULL,
    version BIGINT NOT NULL CHECK (version >= 1),
    definition TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (tenant_id, survey_id, version),
    FOREIGN KEY (tenant_id, survey_id) REFERENCES surveys (tenant_id, id) ON DELETE CASCADE
);
