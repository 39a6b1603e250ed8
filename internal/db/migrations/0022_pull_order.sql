-- Pulls page through a tenant's rows in (sync_seq, id) order: with the id
-- in the index, a page is read in index order without a sort of the rows
-- that share a sequence number (those of one grouped commit).
DROP INDEX responses_sync;
CREATE INDEX responses_sync ON responses (tenant_id, sync_seq, id);
DROP INDEX invitations_sync;
CREATE INDEX invitations_sync ON invitations (tenant_id, sync_seq, id);
DROP INDEX touchpoints_sync;
CREATE INDEX touchpoints_sync ON touchpoints (tenant_id, sync_seq, id);
