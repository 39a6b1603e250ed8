-- A data-subject request whose answer takes longer (GDPR 12(3)): the
-- deadline moves by two further months, once, for a stated reason
-- ("complexity" or "number" of requests); '' when not extended.
ALTER TABLE subject_requests ADD COLUMN extension TEXT NOT NULL DEFAULT '';
