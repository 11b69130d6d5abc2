-- 0021: what the sweep needs to see that a case changed. Every action recorded on a case
-- adds one to the case's count in the same transaction, so a sweep that reads the open
-- cases sees the new count as soon as the action is committed, whatever the order in which
-- concurrent transactions commit (the highest action id, which it read before, could skip
-- an action committed after a higher one on PostgreSQL).

ALTER TABLE cases ADD COLUMN actions_recorded INTEGER NOT NULL DEFAULT 0;

UPDATE cases SET actions_recorded = (SELECT COUNT(*) FROM actions WHERE actions.case_id = cases.id);
