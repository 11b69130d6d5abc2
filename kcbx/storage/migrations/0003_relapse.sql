-- 0003: relapse watch (issue 3). A new absence within the policy's relapse_window_days after
-- a return reopens the ladder at the stage the previous case had reached: the new case
-- points at the old one (cases.reopened_from, 0001) and carries its ladder days, so its
-- effective day 0 is absent_since moved back by carried_days (kcbx.bot.ladder.relapse_carry).

ALTER TABLE cases ADD COLUMN carried_days INTEGER NOT NULL DEFAULT 0;
