-- 0020: numbering that holds with several writers at once. A case's or a notice's next
-- number is a counter row that the numbering transaction increments (INSERT ... ON CONFLICT
-- DO UPDATE): on PostgreSQL the row stays locked to that transaction until it commits or
-- rolls back, so two transactions never take the same number and a rolled-back one leaves
-- no gap; on SQLite BEGIN IMMEDIATE already keeps every other writer out. The counters
-- start at the highest number each series has.

CREATE TABLE counters (
    name    TEXT PRIMARY KEY,              -- 'case:2024', 'notice:correction:2024'
    value   INTEGER NOT NULL               -- the last number taken
);

INSERT INTO counters (name, value)
    SELECT 'case:' || year, MAX(seq) FROM cases GROUP BY year;
INSERT INTO counters (name, value)
    SELECT 'notice:' || kind || ':' || year, MAX(seq) FROM notices GROUP BY kind, year;
