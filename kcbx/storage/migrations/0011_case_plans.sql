-- 0011: a sweep that costs what is due, and the notices' documents rendered off the sweep.

-- One row per open case: when the sweep must look at it again (the next instant anything
-- about it can change: a task falls due or appears, a re-reminder, an escalation, a
-- deadline), and whether something was written about it since the sweep last looked.
-- Every write that can change a case's plan bumps `changed` in its own transaction; the
-- sweep clears it only if nobody bumped it meanwhile.
CREATE TABLE case_plans (
    case_id     INTEGER PRIMARY KEY REFERENCES cases(id),
    wake_at     TEXT,                              -- UTC instant, NULL: nothing foreseen
    changed     INTEGER NOT NULL DEFAULT 1,        -- > 0: written since the sweep looked
    waiting     INTEGER NOT NULL DEFAULT 0,        -- 1: a task is due with nobody to tell
    swept_at    TEXT                               -- when the sweep last looked (UTC)
);
CREATE INDEX case_plans_wake ON case_plans(wake_at);
CREATE INDEX case_plans_changed ON case_plans(changed);
CREATE INDEX case_plans_waiting ON case_plans(waiting);
INSERT INTO case_plans (case_id, changed) SELECT id, 1 FROM cases WHERE status = 'open';

-- What the plans were computed with (the rules' fingerprint): a restart under other rules
-- or another policy looks at every open case once.
CREATE TABLE sweep_meta (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL
);

-- A notice's or an order's file owed to someone (A7.4, A7.5): the sweep records it with the
-- reminder it follows; a worker renders the document (once per notice) and queues the file.
CREATE TABLE notice_files (
    outbox_key  TEXT PRIMARY KEY,                  -- the file message's outbox key
    notice_id   INTEGER NOT NULL REFERENCES notices(id),
    format      TEXT NOT NULL CHECK (format IN ('pdf', 'docx')),
    person_id   INTEGER NOT NULL REFERENCES people(id),
    chat_id     INTEGER NOT NULL,
    case_id     INTEGER REFERENCES cases(id),
    caption     TEXT NOT NULL,                     -- in the person's language
    created_at  TEXT NOT NULL,
    queued_at   TEXT                               -- the file went into the outbox (UTC)
);
CREATE INDEX notice_files_pending ON notice_files(queued_at);
