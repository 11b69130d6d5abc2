-- 0010: one instance per database, and an outbox whose in-flight rows are bounded.
--
-- leases: who may deliver. `kcbx run` holds the row named 'bot' and renews it every few
-- seconds; another instance takes it over only once it has expired (UPDATE ... WHERE
-- expires_at < now OR holder = me, checked by its row count: plain SQL, so several
-- instances on one PostgreSQL database can share it the same way).
CREATE TABLE leases (
    name         TEXT PRIMARY KEY,
    holder       TEXT NOT NULL,   -- host:pid:random, unique per process
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    acquired_at  TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);

-- outbox claims: a row is 'sending' only while one worker has it in flight (claimed_by,
-- claimed_at). A row found 'sending' after a crash may or may not have gone out:
-- `interrupted` counts such crashes, so it is sent again once and never a third time.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_at TEXT;
ALTER TABLE outbox ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0;
