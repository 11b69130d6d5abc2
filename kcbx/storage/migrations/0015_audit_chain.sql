-- 0015: the audit log as a hash chain, so that an edited, inserted or deleted row shows.
-- Each row carries the hash of the previous row and a hash over its own content and that link;
-- audit_head holds the chain's last row, so that a deleted tail shows too. Rows written before
-- this migration (up to legacy_last_id) are chained once when the database is next opened.
-- student_id and chat_id say whose data a row concerns and where it was seen (PIPL art. 28-31:
-- a record of processing a child's personal information, reads included).

ALTER TABLE audit_log ADD COLUMN student_id INTEGER;
ALTER TABLE audit_log ADD COLUMN chat_id INTEGER;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE INDEX audit_student ON audit_log(student_id);
CREATE INDEX audit_actor ON audit_log(actor);

CREATE TABLE audit_head (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    last_id         INTEGER NOT NULL,
    last_hash       TEXT NOT NULL,
    legacy_last_id  INTEGER NOT NULL
);
INSERT INTO audit_head (id, last_id, last_hash, legacy_last_id)
    SELECT 1, COALESCE(MAX(id), 0), '', COALESCE(MAX(id), 0) FROM audit_log;
