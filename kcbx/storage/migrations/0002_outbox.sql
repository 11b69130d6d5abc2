-- 0002: the outbox. Every message the bot sends on its own initiative (reminders,
-- escalations, referrals, notices, digests) is a row here first, with a unique key, so it is
-- sent at most once per key and retried until delivered (issue 3).

CREATE TABLE blobs (
    id          INTEGER PRIMARY KEY,
    sha256      TEXT NOT NULL,
    filename    TEXT NOT NULL,
    mime        TEXT NOT NULL,
    data        BLOB NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX blobs_sha ON blobs(sha256);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    dedup_key       TEXT NOT NULL UNIQUE,          -- e.g. remind:case=12:rule=A7.2:to=5:round=1
    person_id       INTEGER REFERENCES people(id), -- recipient, if a person
    chat_id         INTEGER NOT NULL,
    case_id         INTEGER REFERENCES cases(id),
    kind            TEXT NOT NULL CHECK (kind IN ('text', 'document', 'photo')),
    payload         TEXT NOT NULL,                 -- JSON: text, buttons, blob_id, caption
    created_at      TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,                 -- not before (quiet hours, back-off)
    status          TEXT NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unreachable',
                                        'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    sent_at         TEXT,
    message_id      INTEGER,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_person ON outbox(person_id, status);
