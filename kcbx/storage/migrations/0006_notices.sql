-- 0006: the register of notices to enrol by a deadline (A7.4) and orders to correct (A7.5).
-- One row per document number. Numbers never repeat and never skip: each kind has its own
-- yearly series, allocated inside one BEGIN IMMEDIATE transaction, and UNIQUE (kind, year, seq)
-- refuses a second row with the same number. A re-issued document (a mistake corrected) is a
-- new row with a new number that points to the one it replaces; the old row stays, marked.

CREATE TABLE notices (
    id                  INTEGER PRIMARY KEY,
    case_id             INTEGER NOT NULL REFERENCES cases(id),
    kind                TEXT NOT NULL CHECK (kind IN ('notice', 'correction')),
    year                INTEGER NOT NULL,
    seq                 INTEGER NOT NULL,
    number              TEXT NOT NULL UNIQUE,          -- 沙教控辍〔2024〕第007号
    replaces_id         INTEGER REFERENCES notices(id), -- the document this one re-issues
    cites_id            INTEGER REFERENCES notices(id), -- an order: the notice whose deadline passed
    task                TEXT,                          -- the ladder task it answers (A7.4-notice, A7.5)
    status              TEXT NOT NULL DEFAULT 'drafted'
                          CHECK (status IN ('drafted', 'issued', 'delivered', 'replaced')),
    created_at          TEXT NOT NULL,                 -- UTC instant the number was allocated
    created_by          TEXT NOT NULL,                 -- audit actor: 'system' (the sweep), 'person:3'
    issue_date          TEXT NOT NULL,                 -- YYYY-MM-DD printed on the document
    issued_by           INTEGER REFERENCES people(id),
    issued_at           TEXT,                          -- UTC instant recorded as signed and stamped
    deadline            TEXT,                          -- YYYY-MM-DD, once delivered
    delivered_on        TEXT,                          -- YYYY-MM-DD the guardians received it
    delivered_to        TEXT,                          -- who received it (name, relation)
    delivered_by        INTEGER REFERENCES people(id),
    delivery_recorded_at TEXT,
    receipt_blob_id     INTEGER REFERENCES blobs(id),  -- photo of the signed receipt (回执)
    pdf_blob_id         INTEGER REFERENCES blobs(id),
    docx_blob_id        INTEGER REFERENCES blobs(id),
    action_id           INTEGER REFERENCES actions(id), -- the delivery's action on the case
    UNIQUE (kind, year, seq)
);
CREATE INDEX notices_case ON notices(case_id, kind);
CREATE INDEX notices_status ON notices(status);
