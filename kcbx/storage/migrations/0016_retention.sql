-- 0016: retention (PIPL art. 19): what of a closed case was reduced, and when. The case rows,
-- their dates, stages, causes and the kinds of their actions stay for the summaries and A8.

ALTER TABLE cases ADD COLUMN photos_purged_at TEXT;
ALTER TABLE cases ADD COLUMN documents_purged_at TEXT;
ALTER TABLE cases ADD COLUMN details_reduced_at TEXT;
ALTER TABLE evidence ADD COLUMN purged_at TEXT;
CREATE INDEX cases_closed ON cases(status, closed_at);

-- Messages the bot deletes after a while (the password of a protected export).
CREATE TABLE ephemeral_messages (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    delete_at   TEXT NOT NULL,
    deleted_at  TEXT
);
CREATE INDEX ephemeral_due ON ephemeral_messages(deleted_at, delete_at);
