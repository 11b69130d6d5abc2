"""The reminder plan, pure: for one task owed on a case, what to send now, if anything.

The sequence for a task that stays undone (RULES.md: "a reminder if ..."; our defaults in
``[reminders]`` of the policy), every interval counted in **working hours** (the business day
on working days, :meth:`SchoolCalendar.add_working_hours`):

1. round 1 to the task's owner (and, once, its ``cc``) at its first notice
   (``Task.notify_at``: before it is due, the lead time);
2. round 2 ``re_remind_hours`` after the deadline without acknowledgement or action;
3. escalation (督办) to the supervisor's role a further ``escalate_hours`` later;
4. then nothing more from this plan (the supervisor has the case in hand).

An acknowledgement ("I am on it") answers the round it follows: the next step is counted
from the acknowledgement instead of from the round, so it buys one interval, not silence.
"Remind me later" (``Task.snoozed_until``) holds the next step until then. Doing the task
(the work that satisfies it recorded) ends the plan. Nothing goes on a rest day or outside
the business day: what falls due then goes out on the next working morning; and never in
the quiet hours (20:00-08:00).

The chains (A3-A6, A8.1) end at a bureau leader, a township leader or a department's
leader; a district leader gets digests, never a per-item 督办.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kcbx.bot.domain.ladder.tasks import Task
from kcbx.bot.domain.policy.tree import Policy
from kcbx.bot.domain.roles import Role
from kcbx.bot.domain.schoolcal import SchoolCalendar

MAX_ROUNDS = 2  # reminders to the role before the supervisor is told

# Who hears about a task its role has left undone (A3-A6: who answers for whom). The tops:
# the bureau's leader in charge (A8.1 分管负责人), the township leader, a department's
# leader. The district leader is never asked to 督办 one item: they get digests.
SUPERVISORS: dict[str, str] = {
    Role.CLASS_TEACHER: Role.SCHOOL_LEAD,
    Role.SCHOOL_LEAD: Role.PRINCIPAL,
    Role.PRINCIPAL: Role.BUREAU_STAFF,
    Role.BUREAU_STAFF: Role.BUREAU_LEADER,
    Role.GROUP_CADRE: Role.TOWNSHIP_LEADER,
    Role.VILLAGE_CADRE: Role.TOWNSHIP_LEADER,
    Role.TOWNSHIP_CADRE: Role.TOWNSHIP_LEADER,
    Role.DEPARTMENT_LIAISON: Role.DEPARTMENT_LEADER,
}


@dataclass(frozen=True)
class ReminderHistory:
    """What has happened about one task (one ``Task.key``) so far."""

    sent: tuple[datetime, ...] = ()  # when each round went out, in order
    acknowledged_at: datetime | None = None  # the latest acknowledgement
    escalated_at: datetime | None = None


@dataclass(frozen=True)
class Send:
    """Send reminder ``round`` to these roles."""

    round: int
    to_roles: tuple[str, ...]


@dataclass(frozen=True)
class Escalate:
    """Tell the supervisor's role that ``from_role`` has left the task undone."""

    to_role: str
    from_role: str


Decision = Send | Escalate


@dataclass(frozen=True)
class Planned:
    """The next step of a task's reminder plan and the earliest instant it may happen."""

    at: datetime
    decision: Decision


def supervisor_role(role: str) -> str | None:
    """The role a reminder escalates to, or None at the top of a chain."""
    return SUPERVISORS.get(role)


def in_quiet_hours(instant: datetime, policy: Policy) -> bool:
    """Whether ``instant`` falls in the quiet hours (start included, end excluded)."""
    local = instant.astimezone(policy.time.tz).time()
    start, end = policy.reminders.quiet_start, policy.reminders.quiet_end
    if start > end:  # the usual case: across midnight, 20:00-08:00
        return local >= start or local < end
    return start <= local < end


def quiet_hours_next_send(now: datetime, policy: Policy) -> datetime:
    """The earliest instant from ``now`` at which a message may be sent (UTC).

    ``now`` itself outside the quiet hours; otherwise the end of the quiet hours (08:00 in
    the policy time zone, the next morning if ``now`` is in the evening).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not in_quiet_hours(now, policy):
        return now.astimezone(UTC)
    tz = policy.time.tz
    local = now.astimezone(tz)
    end = policy.reminders.quiet_end
    wake = datetime.combine(local.date(), end, tzinfo=tz)
    if wake <= local:
        wake = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=tz)
    return wake.astimezone(UTC)


def next_send(now: datetime, policy: Policy, calendar: SchoolCalendar) -> datetime:
    """The earliest instant from ``now`` at which a step may go: not in the quiet hours and
    not on a rest day (a catch-up on a Saturday waits for the next working morning)."""
    if not calendar.is_working_day(now.astimezone(policy.time.tz).date()):
        return calendar.working_instant(now).astimezone(UTC)
    return quiet_hours_next_send(now, policy)


def _when(at: datetime, task: Task, policy: Policy, calendar: SchoolCalendar) -> datetime:
    """The instant a step may go: not before a snooze ends, in working hours, not quiet."""
    if task.snoozed_until is not None:
        at = max(at, task.snoozed_until)
    return quiet_hours_next_send(calendar.working_instant(at), policy)


def plan(
    task: Task, history: ReminderHistory, policy: Policy, calendar: SchoolCalendar
) -> Planned | None:
    """The next step for ``task`` and when it may happen; None when nothing more will.

    The acknowledgement is the later of ``history.acknowledged_at`` and
    ``task.acknowledged_at`` (the ladder reads it from ``acknowledged`` actions).
    """
    if task.done or history.escalated_at is not None:
        return None
    to_roles = (task.role, *task.cc)
    if not history.sent:
        return Planned(_when(task.first_notice, task, policy, calendar), Send(1, to_roles))
    last = history.sent[-1]
    acks = [a for a in (history.acknowledged_at, task.acknowledged_at) if a is not None]
    base = max([last, *acks])  # an acknowledgement after the last round restarts the clock
    reminders = policy.reminders
    if len(history.sent) < MAX_ROUNDS:
        when = calendar.add_working_hours(max(base, task.due_at), reminders.re_remind_hours)
        step = Send(len(history.sent) + 1, to_roles)
        return Planned(_when(when, task, policy, calendar), step)
    supervisor = supervisor_role(task.role)
    if supervisor is None:
        return None
    when = calendar.add_working_hours(max(base, task.due_at), reminders.escalate_hours)
    return Planned(_when(when, task, policy, calendar), Escalate(supervisor, task.role))


def decide(
    task: Task,
    history: ReminderHistory,
    policy: Policy,
    calendar: SchoolCalendar,
    now: datetime,
) -> Decision | None:
    """What to do about ``task`` at ``now``: Send, Escalate, or None (nothing yet, or ever)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    step = plan(task, history, policy, calendar)
    if step is None or now < step.at or next_send(now, policy, calendar) > now:
        return None
    return step.decision


__all__ = [
    "MAX_ROUNDS",
    "SUPERVISORS",
    "Decision",
    "Escalate",
    "Planned",
    "ReminderHistory",
    "Send",
    "decide",
    "in_quiet_hours",
    "next_send",
    "plan",
    "quiet_hours_next_send",
    "supervisor_role",
]
