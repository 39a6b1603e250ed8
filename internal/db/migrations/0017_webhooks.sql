-- Flow 4, pushed: signed webhooks (internal/crmsync). An endpoint is a
-- tenant's receiver URL with the events it wants; a delivery is one event
-- for one endpoint, kept 30 days as the endpoint's delivery log and as the
-- record of which recipient received data about which contact.
--
-- Secrets are sealed with the vault under the tenant, subject id
-- "webhooks". Times are Unix microseconds, 0 for never.
CREATE TABLE webhook_endpoints (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    url TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    events TEXT NOT NULL,
    include_personal BOOLEAN NOT NULL DEFAULT FALSE,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    disabled_kind TEXT NOT NULL DEFAULT '',
    disabled_reason TEXT NOT NULL DEFAULT '',
    secret_sealed BLOB NOT NULL,
    previous_secret_sealed BLOB,
    previous_secret_until BIGINT NOT NULL DEFAULT 0,
    failing_since BIGINT NOT NULL DEFAULT 0,
    lease_until BIGINT NOT NULL DEFAULT 0,
    job_queued BOOLEAN NOT NULL DEFAULT FALSE,
    wake_seq BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- One event for one endpoint. ord is the event's place in the tenant's
-- feed: an endpoint's deliveries leave one at a time in that order. The
-- event's ids are copied here, since feed events are purged on their own.
CREATE TABLE webhook_deliveries (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    ord BIGINT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    contact_id TEXT NOT NULL DEFAULT '',
    external_id TEXT NOT NULL DEFAULT '',
    occurred_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    http_status BIGINT NOT NULL DEFAULT 0,
    duration_ms BIGINT NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    first_failed_at BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (tenant_id, endpoint_id, status, ord);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (tenant_id, endpoint_id, created_at);
CREATE INDEX webhook_deliveries_contact ON webhook_deliveries (tenant_id, contact_id);
CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at);
