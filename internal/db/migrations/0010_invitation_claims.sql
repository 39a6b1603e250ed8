-- Sending runs claim the due invitations they work on for a short lease,
-- so that two runs rarely render the same message. Exactly once does not
-- depend on it: an invitation is marked sent only while still scheduled.
ALTER TABLE invitations ADD COLUMN claimed_until BIGINT NOT NULL DEFAULT 0;
