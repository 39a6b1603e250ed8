-- Restriction of processing (GDPR Art. 18): while a contact is restricted,
-- avis only stores their data: no invitation is scheduled or sent, and
-- later analyses and pushes leave them out. 0 when not restricted.
ALTER TABLE contacts ADD COLUMN restricted_at BIGINT NOT NULL DEFAULT 0;
