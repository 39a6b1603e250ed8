-- What an import says about a refused row or a failed file, kept as the
-- English format and its arguments (JSON: {"f": format, "a": [args]}) beside
-- the English text, so that the report is shown in its reader's language.
-- '' for rows written before: they show the English text.
ALTER TABLE import_rejects ADD COLUMN reason_text TEXT NOT NULL DEFAULT '';
ALTER TABLE imports ADD COLUMN error_text TEXT NOT NULL DEFAULT '';
