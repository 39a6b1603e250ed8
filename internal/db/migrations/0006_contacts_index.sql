-- contacts_external duplicated contacts_external_unique for every non-empty
-- external id; lookups now name the partial index's condition.
DROP INDEX contacts_external;
