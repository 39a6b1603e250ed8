-- account: what logging in needs beyond the foundation.

-- totp_last_step is the RFC 6238 time step of the last one-time code a
-- person used, so that a code is accepted only once.
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;

-- Finding expired sessions and stale throttle counters to prune them.
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX login_throttle_window ON login_throttle (window_start);
