-- 0017: conversations in progress (a report, a visit record, a closure, a delivery) survive a
-- restart or a take-over by another instance: their step and draft are kept here.
CREATE TABLE conversation_state (
    kind        TEXT NOT NULL,                     -- 'conversation:<name>' or 'user_data'
    key         TEXT NOT NULL,                     -- JSON of the conversation key, or user id
    value       BLOB NOT NULL,                     -- the step (JSON) or the draft (pickled)
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
