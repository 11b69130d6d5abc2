-- 0013: A8 over the school year. The findings earned (kept when the child later returns),
-- the enrolment at the start of the year (A8.1's denominator), which leader of a township,
-- department or the bureau is the main one (主要领导) and which the one in charge (分管领导),
-- and transfers and exemptions waiting for a second person's confirmation.

-- A finding is written once, when first earned (insert-only, like a8_flags): a later return
-- or measure is read from the case beside it, never instead of it.
CREATE TABLE a8_findings (
    id          INTEGER PRIMARY KEY,
    school_year INTEGER NOT NULL,              -- the calendar year the school year starts in
    rule        TEXT NOT NULL,                 -- A8.1 ... A8.5
    unit_id     INTEGER NOT NULL REFERENCES units(id),
    level       TEXT NOT NULL,                 -- flagged / talk / reprimand / sanction
    earned_at   TEXT NOT NULL,                 -- UTC instant it was earned (as evaluated)
    recorded_at TEXT NOT NULL,
    evidence    TEXT NOT NULL,                 -- JSON: figures, cases (ids, numbers), measures
    UNIQUE (school_year, rule, unit_id, level)
);
CREATE INDEX a8_findings_unit ON a8_findings(unit_id);

-- Students enrolled (not exempt) in each district when the school year began: taken on the
-- year's first pass (its first day, or the first import), never changed afterwards.
CREATE TABLE a8_enrolment (
    school_year INTEGER NOT NULL,
    district_id INTEGER NOT NULL REFERENCES units(id),
    enrolled    INTEGER NOT NULL,
    exempt      INTEGER NOT NULL,
    taken_at    TEXT NOT NULL,
    PRIMARY KEY (school_year, district_id)
);

-- How far the year's record has looked (closures since then are evaluated as they stood).
CREATE TABLE a8_checks (
    name  TEXT PRIMARY KEY,
    at    TEXT NOT NULL
);

-- Which warnings each person was told in a digest (one a week, or one a day when something
-- falls due before the next week's), so a digest lists what is new.
CREATE TABLE a8_warned (
    warning_key TEXT PRIMARY KEY,              -- a8:{rule}:{kind}:{subject}:{period}:{person}
    person_id   INTEGER NOT NULL REFERENCES people(id),
    told_at     TEXT NOT NULL
);

-- 'chief' (主要领导/主要负责人) or 'deputy' (分管领导/分管负责人) on a leader role.
ALTER TABLE people ADD COLUMN leader_rank TEXT;

-- A transfer or exemption proposed by one person, confirmed (or not) by another; the case
-- stays open and counted until it is confirmed. The evidence is kept on the proposal's
-- action (evidence.action_id).
CREATE TABLE closure_reviews (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES cases(id),
    how          TEXT NOT NULL CHECK (how IN ('exempt', 'transferred')),
    proposed_by  INTEGER NOT NULL REFERENCES people(id),
    proposed_at  TEXT NOT NULL,
    action_id    INTEGER NOT NULL REFERENCES actions(id),
    detail       TEXT NOT NULL,                -- JSON: new school, its unit, condition, note
    reviewer_unit INTEGER REFERENCES units(id),  -- the receiving school, when it confirms
    status       TEXT NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'confirmed', 'rejected')),
    decided_by   INTEGER REFERENCES people(id),
    decided_at   TEXT
);
CREATE UNIQUE INDEX closure_reviews_pending ON closure_reviews(case_id) WHERE status = 'pending';
