-- 0001: the district, its people, its students, invites, cases, actions and the audit log.
-- Portable SQL: INTEGER/TEXT only, ISO-8601 text for dates and times (UTC for instants),
-- no SQLite-only functions in the schema, so a PostgreSQL backend can be added later.

CREATE TABLE units (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN
                  ('district', 'township', 'village', 'group', 'school', 'department')),
    name        TEXT NOT NULL,
    parent_id   INTEGER REFERENCES units(id),
    -- school sections: primary, junior, nine_year; department code for departments (A6)
    section     TEXT,
    code        TEXT,
    UNIQUE (parent_id, kind, name)
);
CREATE INDEX units_parent ON units(parent_id);

-- Staff: everyone who may use the bot. Keyed by phone on import.
CREATE TABLE people (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL,
    phone            TEXT UNIQUE,
    role             TEXT NOT NULL,
    unit_id          INTEGER REFERENCES units(id),
    telegram_id      INTEGER UNIQUE,
    chat_id          INTEGER,
    lang             TEXT,
    status           TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    unreachable_at   TEXT,
    created_at       TEXT NOT NULL
);
CREATE INDEX people_unit ON people(unit_id);
CREATE INDEX people_role ON people(role);

CREATE TABLE classes (
    id          INTEGER PRIMARY KEY,
    school_id   INTEGER NOT NULL REFERENCES units(id),
    grade       INTEGER NOT NULL,
    name        TEXT NOT NULL,
    teacher_id  INTEGER REFERENCES people(id),
    UNIQUE (school_id, grade, name)
);
CREATE INDEX classes_teacher ON classes(teacher_id);

CREATE TABLE students (
    id              INTEGER PRIMARY KEY,
    registry_no     TEXT NOT NULL UNIQUE,          -- 学籍号
    name            TEXT NOT NULL,
    gender          TEXT,                          -- 'M' / 'F'
    birth_date      TEXT,                          -- YYYY-MM-DD
    school_id       INTEGER NOT NULL REFERENCES units(id),
    class_id        INTEGER REFERENCES classes(id),
    grade           INTEGER,
    household_unit_id INTEGER REFERENCES units(id), -- the group (组/队), else village/township
    a9_flags        TEXT NOT NULL DEFAULT '',      -- comma-separated A9 flag codes
    exempt          INTEGER NOT NULL DEFAULT 0,    -- A3
    note            TEXT,
    updated_at      TEXT NOT NULL
);
CREATE INDEX students_school ON students(school_id);
CREATE INDEX students_class ON students(class_id);
CREATE INDEX students_household ON students(household_unit_id);
CREATE INDEX students_name ON students(name);

CREATE TABLE guardians (
    id          INTEGER PRIMARY KEY,
    student_id  INTEGER NOT NULL REFERENCES students(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    relation    TEXT,
    phone       TEXT
);
CREATE INDEX guardians_student ON guardians(student_id);

CREATE TABLE invites (
    code        TEXT PRIMARY KEY,
    person_id   INTEGER NOT NULL REFERENCES people(id),
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    used_by     INTEGER
);

-- A case: one episode of unexplained absence of one student (A7).
CREATE TABLE cases (
    id              INTEGER PRIMARY KEY,
    number          TEXT NOT NULL UNIQUE,          -- KC-2024-0042
    year            INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    student_id      INTEGER NOT NULL REFERENCES students(id),
    reported_by     INTEGER REFERENCES people(id),
    absent_since    TEXT NOT NULL,                 -- YYYY-MM-DD, day 0
    reported_at     TEXT NOT NULL,                 -- UTC instant
    cause           TEXT NOT NULL DEFAULT 'unknown',
    guardian_contact TEXT,                         -- what the guardians said when phoned
    note            TEXT,
    status          TEXT NOT NULL DEFAULT 'open'
                      CHECK (status IN ('open', 'returned', 'exempt', 'transferred')),
    closed_at       TEXT,
    reopened_from   INTEGER REFERENCES cases(id),
    UNIQUE (year, seq)
);
CREATE INDEX cases_student ON cases(student_id);
CREATE INDEX cases_status ON cases(status);
-- at most one open case per student
CREATE UNIQUE INDEX cases_one_open ON cases(student_id) WHERE status = 'open';

-- Everything done on a case: append-only. A correction is a new row pointing at the old one.
CREATE TABLE actions (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    kind        TEXT NOT NULL,
    actor_id    INTEGER REFERENCES people(id),
    at          TEXT NOT NULL,                     -- UTC instant the action happened
    recorded_at TEXT NOT NULL,                     -- UTC instant it was recorded
    rule        TEXT,                              -- the rule it fulfils, e.g. A7.2
    detail      TEXT NOT NULL DEFAULT '{}',        -- JSON
    corrects_id INTEGER REFERENCES actions(id)
);
CREATE INDEX actions_case ON actions(case_id);

-- A6: a case referred to a department that owns its cause (or A9 relief). Departments see
-- only the cases referred to them.
CREATE TABLE referrals (
    id              INTEGER PRIMARY KEY,
    case_id         INTEGER NOT NULL REFERENCES cases(id),
    department_id   INTEGER NOT NULL REFERENCES units(id),
    reason          TEXT NOT NULL,                 -- cause code or 'a9'
    created_at      TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open'
                      CHECK (status IN ('open', 'accepted', 'closed', 'withdrawn')),
    accepted_by     INTEGER REFERENCES people(id),
    accepted_at     TEXT,
    UNIQUE (case_id, department_id)
);
CREATE INDEX referrals_department ON referrals(department_id, status);

-- Who did what to which record, and when. Append-only.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,                     -- 'person:12', 'cli:root', 'system'
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT,
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_entity ON audit_log(entity, entity_id);
