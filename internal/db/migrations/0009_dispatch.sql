-- Flow 2: asking at the right moment. How each tenant sends (sender
-- identity, its own SMTP relay, DKIM key, SMS provider), the trigger rule of
-- each journey step, the invitations, and the outbox that holds messages
-- when nothing is configured to deliver them.
--
-- Secrets (relay URL with its password, DKIM private key, SMS provider
-- credentials) are sealed with the vault under the tenant, subject id
-- "messaging". Times are Unix microseconds, 0 for never.
CREATE TABLE messaging_settings (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    from_name TEXT NOT NULL DEFAULT '',
    from_email TEXT NOT NULL DEFAULT '',
    reply_to TEXT NOT NULL DEFAULT '',
    smtp_url_sealed BLOB,
    dkim_domain TEXT NOT NULL DEFAULT '',
    dkim_selector TEXT NOT NULL DEFAULT '',
    dkim_key_sealed BLOB,
    sms_provider TEXT NOT NULL DEFAULT '',
    sms_config_sealed BLOB,
    sms_sender TEXT NOT NULL DEFAULT '',
    link_base_url TEXT NOT NULL DEFAULT '',
    privacy_url TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id)
);

-- One rule per journey step: which survey, after which delay, by which
-- channels, in which send windows, how often at most, with which reminder
-- and link lifetime, for which share of the events, with which texts.
CREATE TABLE dispatch_rules (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    survey_id TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    delay_seconds BIGINT NOT NULL DEFAULT 0,
    channels TEXT NOT NULL DEFAULT 'email',
    email_window TEXT NOT NULL,
    sms_window TEXT NOT NULL,
    cap_days BIGINT NOT NULL DEFAULT 30,
    reminder_days BIGINT NOT NULL DEFAULT 3,
    reminders BIGINT NOT NULL DEFAULT 1,
    sms_reminders BOOLEAN NOT NULL DEFAULT FALSE,
    expiry_days BIGINT NOT NULL DEFAULT 30,
    sample_percent BIGINT NOT NULL DEFAULT 100,
    texts TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX dispatch_rules_step ON dispatch_rules (tenant_id, step_id);

-- An invitation is one person asked once, for one touchpoint and rule. The
-- link's token is derived from the id with a tenant key and only its hash is
-- stored. The row is the truth; its send job is unique per invitation.
CREATE TABLE invitations (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    survey_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    touchpoint_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    token_hash BLOB NOT NULL,
    language TEXT NOT NULL DEFAULT '',
    due_at BIGINT NOT NULL,
    sent_at BIGINT NOT NULL DEFAULT 0,
    delivered_at BIGINT NOT NULL DEFAULT 0,
    answered_at BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL DEFAULT 0,
    reminders_sent BIGINT NOT NULL DEFAULT 0,
    attempts BIGINT NOT NULL DEFAULT 0,
    provider_id TEXT NOT NULL DEFAULT '',
    segments BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX invitations_touchpoint ON invitations (tenant_id, touchpoint_id, rule_id);
CREATE UNIQUE INDEX invitations_token ON invitations (token_hash);
CREATE INDEX invitations_contact ON invitations (tenant_id, contact_id, sent_at);
CREATE INDEX invitations_status ON invitations (tenant_id, status, due_at);

-- The outbox holds each message exactly as it would have left, sealed with
-- the recipient's key (erasure shreds it), when no relay or provider is
-- configured, and always in demo mode.
CREATE TABLE outbox_messages (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    invitation_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    message_sealed BLOB,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX outbox_messages_invitation ON outbox_messages (tenant_id, invitation_id);
