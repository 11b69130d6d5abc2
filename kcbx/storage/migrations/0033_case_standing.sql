-- 0033: what a summary reads of each open case's ladder, kept by the sweep with the plan.
--
-- `standing` is written by the sweep in the transaction that writes the plan (JSON, see
-- kcbx/bot/domain/ladder/standing.py): the stage, the tasks due, the dropout mark and the
-- standing persuasion, and the instant until which time alone cannot change them. It holds
-- only while `changed` is 0 (every write about the case bumps it in its own transaction),
-- so a summary reads it for those cases and computes the ladder of the others.
ALTER TABLE case_plans ADD COLUMN standing TEXT;
