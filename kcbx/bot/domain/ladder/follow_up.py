"""A4.2 after a return (加强复学学生心理疏导): the class teacher's check-ins, pure.

A case closed as returned (A7.6) owes one check-in task per ``[tasks] follow_up_days`` (7 and
30 by default): calendar days from the date of the return, then treated like every other task
(:mod:`kcbx.bot.domain.ladder.steps`): due at the end of the business day of that day, moved
to the next working day when it is a rest day; first told the working day before at
``notify_day_before`` (16:00). The task is the class teacher's; undone, its reminder plan
escalates once, to the school lead (the chain stops there: a check-in is low priority).

What satisfies a check-in is the policy's ``[tasks.satisfied_by] "A4.2"``: a home visit, or a
phone call that reached the guardians, recorded after the return. Each check-in takes the
first such contact in its window that an earlier check-in did not take; the window of the
second opens the day after the first's date (a contact the day after the return does not do
the month's check-in).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

from kcbx.bot.domain.i18n import N_
from kcbx.bot.domain.ladder.steps import Actions
from kcbx.bot.domain.ladder.tasks import ActionFact, Task, meets, requirements_for
from kcbx.bot.domain.policy.tree import Policy
from kcbx.bot.domain.roles import Role
from kcbx.bot.domain.schoolcal import SchoolCalendar

FOLLOW_UP_RULE = "A4.2"
FOLLOW_UP_TEXT = N_(
    "Follow up on the return to school: talk with the child and the guardians, and give "
    "psychological support where needed"
)
# What a check-in call came to (``fu:`` buttons; ``actions.detail.outcome``), one tap each.
FOLLOW_UP_OUTCOMES: dict[str, str] = {
    "settled": N_("Reached: the child is settling in"),
    "support": N_("Reached: the child needs more support"),
    "unreached": N_("Not reached"),
}
FOLLOW_UP_QUESTION = N_("Did you reach the child and the guardians? How is the child doing?")


def follow_up_code(days: int) -> str:
    """``A4.2-7``: the check-in ``days`` after the return."""
    return f"{FOLLOW_UP_RULE}-{days}"


def is_follow_up(code: str | None) -> bool:
    return code is not None and code.startswith(FOLLOW_UP_RULE + "-")


def follow_up_days(policy: Policy) -> tuple[int, ...]:
    return tuple(d for d in policy.tasks.follow_up_days if d > 0)


def follow_up_horizon(policy: Policy) -> timedelta:
    """How long after a return a case can still owe a check-in: the last one's day, its
    working-day shift and its reminder plan (two weeks are more than they take)."""
    return timedelta(days=max(follow_up_days(policy), default=0) + 14)


def follow_up_tasks(
    returned_at: datetime,
    actions: Sequence[ActionFact],
    policy: Policy,
    calendar: SchoolCalendar,
) -> list[Task]:
    """The check-ins owed after a return at ``returned_at``, done or not.

    ``actions``: the case's standing actions up to now, sorted (those before the return do
    not count).
    """
    times = policy.time
    returned_on = times.local_date(returned_at)
    requirements = requirements_for(FOLLOW_UP_RULE, policy.tasks.rules)
    acts = Actions(actions)
    since = returned_at
    used: ActionFact | None = None
    tasks: list[Task] = []
    for days in follow_up_days(policy):
        code = follow_up_code(days)
        due = calendar.end_of_working_day(returned_on + timedelta(days=days), returned_at)
        before = calendar.working_day_before(times.local_date(due))
        told = datetime.combine(before, policy.tasks.notify_day_before, tzinfo=times.tz)
        notify = calendar.working_instant(max(told, returned_at))
        done_by = next(
            (
                a
                for a in actions
                if a.at >= since
                and (used is None or (a.at, a.id) > (used.at, used.id))
                and any(meets(a, r) for r in requirements)
            ),
            None,
        )
        used = done_by or used
        snoozed_until, snoozes = acts.snoozed(code, returned_at)
        tasks.append(
            Task(
                code=code,
                rule=FOLLOW_UP_RULE,
                role=Role.CLASS_TEACHER,
                what=FOLLOW_UP_TEXT,
                opens_at=returned_at,
                due_at=due,
                done=done_by is not None,
                done_at=done_by.at if done_by else None,
                acknowledged_at=acts.acknowledged(code, returned_at),
                notify_at=min(notify, due),
                done_by=done_by,
                snoozed_until=snoozed_until,
                snoozes=snoozes,
            )
        )
        next_day = returned_on + timedelta(days=days + 1)
        since = max(since, datetime.combine(next_day, time(0), tzinfo=times.tz))
    return tasks


__all__ = [
    "FOLLOW_UP_OUTCOMES",
    "FOLLOW_UP_QUESTION",
    "FOLLOW_UP_RULE",
    "FOLLOW_UP_TEXT",
    "follow_up_code",
    "follow_up_days",
    "follow_up_horizon",
    "follow_up_tasks",
    "is_follow_up",
]
