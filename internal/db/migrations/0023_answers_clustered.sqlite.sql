-- SQLite only: answers stored in their primary key's order (WITHOUT
-- ROWID), so that the answers of a response are read from one place of
-- one B-tree instead of an index and then the table, and written once
-- instead of twice. PostgreSQL keeps its table and primary-key index.
CREATE TABLE response_answers_clustered (
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
) WITHOUT ROWID;
INSERT INTO response_answers_clustered (tenant_id, response_id, question_id, kind, number, choices, text_sealed, category, updated_at)
    SELECT tenant_id, response_id, question_id, kind, number, choices, text_sealed, category, updated_at FROM response_answers;
DROP TABLE response_answers;
ALTER TABLE response_answers_clustered RENAME TO response_answers;
