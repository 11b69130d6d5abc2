-- 0007: the reminder history of every task owed on a case (issue 3, the sweep).
-- The sweep reads it to decide what to send (kcbx.bot.reminders.decide) and writes it in the
-- same transaction as the outbox rows it queues, so a reminder round is queued exactly once.
-- A task is identified on its case by its key (kcbx.bot.ladder.Task.key: code@due instant).

-- One row per (case, task key) the sweep has seen due: its first-due hooks have run.
CREATE TABLE reminder_tasks (
    case_id             INTEGER NOT NULL REFERENCES cases(id),
    task_key            TEXT NOT NULL,
    task_code           TEXT NOT NULL,
    first_due_at        TEXT NOT NULL,             -- UTC instant the sweep first saw it due
    acknowledged_at     TEXT,                      -- the latest "Received" (UTC)
    escalated_at        TEXT,                      -- handed to a supervisor (UTC), which ends the plan
    escalated_to        TEXT,                      -- the role it went to
    escalation_reason   TEXT,                      -- escalated / unreachable / no_one
    PRIMARY KEY (case_id, task_key)
);

-- When each reminder round of a task went out (round 1, 2, ...).
CREATE TABLE reminder_rounds (
    case_id     INTEGER NOT NULL,
    task_key    TEXT NOT NULL,
    round       INTEGER NOT NULL,
    sent_at     TEXT NOT NULL,
    PRIMARY KEY (case_id, task_key, round),
    FOREIGN KEY (case_id, task_key) REFERENCES reminder_tasks(case_id, task_key)
);

-- Who was told what about a task, and in which outbox message (a morning digest carries
-- several tasks in one message). kind: remind / cc / escalated / unreachable / no_one / told.
CREATE TABLE reminder_sends (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL,
    task_key    TEXT NOT NULL,
    task_code   TEXT NOT NULL,
    round       INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    person_id   INTEGER NOT NULL REFERENCES people(id),
    role        TEXT NOT NULL,                     -- the role the person was told in
    from_person INTEGER REFERENCES people(id),     -- who did not act (escalations, hand-overs)
    outbox_key  TEXT NOT NULL,
    at          TEXT NOT NULL,
    UNIQUE (case_id, task_key, round, kind, person_id),
    FOREIGN KEY (case_id, task_key) REFERENCES reminder_tasks(case_id, task_key)
);
CREATE INDEX reminder_sends_outbox ON reminder_sends(outbox_key);
CREATE INDEX reminder_sends_person ON reminder_sends(person_id);
