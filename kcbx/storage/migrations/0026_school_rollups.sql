-- 0026: the counts a leader's summary shows, kept per school beside the rows they count, so
-- that a summary of a district or a province reads one row per school instead of walking a
-- million students. Every write that changes a count changes it in the same transaction
-- (kcbx/storage/rollups.py); `kcbx doctor` recounts from the base tables and compares.
--
-- A township's or district's figure is the sum of its schools' rows (a school that moves to
-- another township takes its counts along; nothing above the school needs rewriting).
-- The cases of a student count at the student's school.

CREATE TABLE school_rollups (
    school_id    INTEGER PRIMARY KEY REFERENCES units(id),
    students     INTEGER NOT NULL DEFAULT 0,   -- enrolled (the summary's 在籍)
    exempt       INTEGER NOT NULL DEFAULT 0,   -- students exempt (A3), counted apart
    open_cases   INTEGER NOT NULL DEFAULT 0,   -- cases open now
    returned     INTEGER NOT NULL DEFAULT 0,   -- cases closed: back at school (A7.6)
    exempted     INTEGER NOT NULL DEFAULT 0,   -- cases closed: exempt (A3)
    transferred  INTEGER NOT NULL DEFAULT 0    -- cases closed: enrolled elsewhere
);

-- one pass over the students and one over the cases (a million students: seconds)
INSERT INTO school_rollups (school_id, students, exempt, open_cases, returned, exempted,
                            transferred)
SELECT school_id, SUM(students), SUM(exempt), SUM(open_cases), SUM(returned), SUM(exempted),
       SUM(transferred)
FROM (
    SELECT school_id, 1 AS students, CASE WHEN exempt <> 0 THEN 1 ELSE 0 END AS exempt,
           0 AS open_cases, 0 AS returned, 0 AS exempted, 0 AS transferred
    FROM students
    UNION ALL
    SELECT s.school_id, 0, 0,
           CASE WHEN c.status = 'open' THEN 1 ELSE 0 END,
           CASE WHEN c.status = 'returned' THEN 1 ELSE 0 END,
           CASE WHEN c.status = 'exempt' THEN 1 ELSE 0 END,
           CASE WHEN c.status = 'transferred' THEN 1 ELSE 0 END
    FROM cases c JOIN students s ON s.id = c.student_id
) AS parts
GROUP BY school_id;
