-- 0005: the accountability ledger (A8, issue 5). At each month's end the A8 flags are
-- frozen with their evidence (case numbers, months since the dropout mark, the persuasion
-- recorded). Insert-only: the repository (kcbx/storage/accountability_repo.py) has no update
-- or delete, a month is frozen once (its period is the key), and each month carries a
-- digest chained to the previous month's, so a row edited behind the bot's back shows.

CREATE TABLE a8_months (
    period      TEXT PRIMARY KEY,              -- 'YYYY-MM', the month frozen
    school_year INTEGER NOT NULL,              -- the calendar year the school year starts in
    as_of       TEXT NOT NULL,                 -- UTC instant the flags were evaluated at
    frozen_at   TEXT NOT NULL,                 -- UTC instant the freeze was written
    enrolled    INTEGER NOT NULL,              -- students enrolled (A8.1's denominator)
    dropouts    INTEGER NOT NULL,              -- dropouts not returned at as_of
    digest      TEXT NOT NULL                  -- sha256 of this month and the previous digest
);

CREATE TABLE a8_flags (
    id          INTEGER PRIMARY KEY,
    period      TEXT NOT NULL REFERENCES a8_months(period),
    rule        TEXT NOT NULL,                 -- A8.1 ... A8.5
    unit_id     INTEGER NOT NULL REFERENCES units(id),
    level       TEXT NOT NULL,                 -- flagged / talk / reprimand / sanction
    evidence    TEXT NOT NULL,                 -- JSON: figures, cases, their actions
    UNIQUE (period, rule, unit_id)
);
CREATE INDEX a8_flags_unit ON a8_flags(unit_id);
