-- 0035: how many times the sweep has looked at each case in the plan.
--
-- A summary keeps each school's share of it between requests (kcbx/bot/services/
-- summary_parts.py) while the school's open cases are as they were: the same cases, no
-- write since (`changed`), no look of the sweep since (`looks`, which only grows: the sweep
-- may look twice within the same second, so the time of its last look cannot tell).
ALTER TABLE case_plans ADD COLUMN looks INTEGER NOT NULL DEFAULT 0;
