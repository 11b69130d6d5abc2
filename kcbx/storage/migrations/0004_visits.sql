-- 0004: the evidence behind recorded visits, exemptions and transfers (issue 4: A3, A5, A6).
-- A photo or document is downloaded from Telegram into blobs (0002) at once, so the evidence
-- survives even when Telegram forgets the file; the file_id is kept to show it again cheaply.
-- Append-only, like the actions it belongs to.

CREATE TABLE evidence (
    id              INTEGER PRIMARY KEY,
    case_id         INTEGER NOT NULL REFERENCES cases(id),
    action_id       INTEGER NOT NULL REFERENCES actions(id),
    kind            TEXT NOT NULL CHECK (kind IN ('photo', 'document')),
    blob_id         INTEGER NOT NULL REFERENCES blobs(id),
    file_id         TEXT,                          -- Telegram's, to show it again
    file_unique_id  TEXT,
    filename        TEXT NOT NULL,
    mime            TEXT NOT NULL,
    size            INTEGER NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX evidence_case ON evidence(case_id);
CREATE INDEX evidence_action ON evidence(action_id);

-- A referral's last change of status (opened again, accepted, withdrawn, closed).
ALTER TABLE referrals ADD COLUMN status_at TEXT;

-- A household is a guardian's phone within a group (coverage, A5.1).
CREATE INDEX guardians_phone ON guardians(phone);
