-- The change feed (internal/feed): the order in which a tenant's
-- responses, invitations and journey events changed, and the events that
-- webhooks carry. A sequence number comes from the tenant's counter row,
-- which stays locked until the writing transaction commits: rows ordered
-- by sequence therefore become visible as a prefix, in commit order, and a
-- reader paging with "sequence > cursor" never skips a later commit.
CREATE TABLE feed_seqs (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    PRIMARY KEY (tenant_id)
);

-- Events for webhooks: ids only, never personal data. external_id is the
-- CRM's id of the contact, kept so that subject.erased can name a person
-- whose contact row is gone.
CREATE TABLE feed_events (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    contact_id TEXT NOT NULL DEFAULT '',
    external_id TEXT NOT NULL DEFAULT '',
    occurred_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX feed_events_contact ON feed_events (tenant_id, contact_id);
CREATE INDEX feed_events_occurred ON feed_events (occurred_at);

-- Where each row stands in its tenant's feed; 0 for rows written before
-- the feed existed (they come first).
ALTER TABLE responses ADD COLUMN sync_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX responses_sync ON responses (tenant_id, sync_seq);
ALTER TABLE invitations ADD COLUMN sync_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX invitations_sync ON invitations (tenant_id, sync_seq);
ALTER TABLE touchpoints ADD COLUMN sync_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX touchpoints_sync ON touchpoints (tenant_id, sync_seq);
