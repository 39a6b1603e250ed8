-- Flow 3: the answers. A response is one person's answers to one version
-- of a survey, through an invitation or a survey's public link. Scores and
-- choices are kept in clear (they are not personal, and survive erasure as
-- anonymous statistics); free-text answers are sealed with the vault under
-- the contact's key (or, for an anonymous response, under a key of the
-- response itself). Times are Unix microseconds, 0 for never.
CREATE TABLE responses (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    survey_id TEXT NOT NULL,
    survey_version BIGINT NOT NULL,
    invitation_id TEXT,
    contact_id TEXT NOT NULL DEFAULT '',
    step_id TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL,
    language TEXT NOT NULL,
    notice_id TEXT NOT NULL DEFAULT '',
    notice_hash TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    page BIGINT NOT NULL DEFAULT 0,
    resume_hash BLOB,
    started_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    completed_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);
-- One response per invitation (a NULL invitation, the public link, is
-- never equal to another).
CREATE UNIQUE INDEX responses_invitation ON responses (tenant_id, invitation_id);
CREATE UNIQUE INDEX responses_resume ON responses (resume_hash);
CREATE INDEX responses_contact ON responses (tenant_id, contact_id);
CREATE INDEX responses_survey ON responses (tenant_id, survey_id, completed_at);

-- One answer to one question. number holds scale answers, choices the
-- keys of choice and yes/no answers (comma-separated slugs), text_sealed a
-- free text; category the NPS, CSAT or CES class of a scale answer, set
-- when the response is complete.
CREATE TABLE response_answers (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    response_id TEXT NOT NULL,
    question_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    number BIGINT,
    choices TEXT NOT NULL DEFAULT '',
    text_sealed BLOB,
    category TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, response_id, question_id)
);

-- A survey's public link /s/p/{survey}, when the tenant switched it on.
CREATE TABLE survey_links (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    survey_id TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, survey_id)
);
CREATE UNIQUE INDEX survey_links_survey ON survey_links (survey_id);

-- The consent ledger (PRIVACY.md P4): one receipt per consent given, with
-- the exact wording shown, the notice in force and how it was given.
CREATE TABLE consents (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    response_id TEXT NOT NULL DEFAULT '',
    notice_id TEXT NOT NULL DEFAULT '',
    notice_hash TEXT NOT NULL DEFAULT '',
    wording TEXT NOT NULL,
    language TEXT NOT NULL,
    jurisdiction TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL,
    method TEXT NOT NULL,
    given_at BIGINT NOT NULL,
    withdrawn_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX consents_subject ON consents (tenant_id, subject_id);
CREATE INDEX consents_response ON consents (tenant_id, response_id);
