"""The reminder plan, pure: for one task owed on a case, what to send now, if anything.

The sequence for a task that stays undone (RULES.md: "a reminder if ..."; our defaults in
``[reminders]`` of the policy):

1. round 1 to the task's role (and its ``cc``) when the task falls due;
2. round 2 after ``re_remind_hours`` (24 h) without acknowledgement or action;
3. escalation to the supervisor's role after a further ``escalate_hours`` (24 h);
4. then nothing more from this plan (the supervisor has the case in hand).

An acknowledgement ("I am on it") answers the round it follows: the next step is counted
from the acknowledgement instead of from the round, so it buys one interval, not silence.
Doing the task (its action recorded) ends the plan. Nothing is sent in the quiet hours
(20:00-08:00, policy time zone): what falls due at night waits for the morning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kcbx.bot.domain.ladder import Task
from kcbx.bot.domain.policy import Policy
from kcbx.bot.domain.roles import Role

MAX_ROUNDS = 2  # reminders to the role before the supervisor is told

# Who hears about a task its role has left undone (A3-A6: who answers for whom).
SUPERVISORS: dict[str, str] = {
    Role.CLASS_TEACHER: Role.PRINCIPAL,
    Role.SCHOOL_LEAD: Role.PRINCIPAL,
    Role.PRINCIPAL: Role.BUREAU_STAFF,
    Role.GROUP_CADRE: Role.TOWNSHIP_LEADER,
    Role.VILLAGE_CADRE: Role.TOWNSHIP_LEADER,
    Role.TOWNSHIP_CADRE: Role.TOWNSHIP_LEADER,
    Role.TOWNSHIP_LEADER: Role.DISTRICT_LEADER,
    Role.DEPARTMENT_LIAISON: Role.BUREAU_STAFF,
    Role.BUREAU_STAFF: Role.DISTRICT_LEADER,  # ours: the bureau answers to the district (A8.1)
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
    """The role a reminder escalates to, or None at the top (district leader, admin)."""
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


def plan(task: Task, history: ReminderHistory, policy: Policy) -> Planned | None:
    """The next step for ``task`` and when it may happen; None when nothing more will.

    The acknowledgement is the later of ``history.acknowledged_at`` and
    ``task.acknowledged_at`` (the ladder reads it from ``acknowledged`` actions).
    """
    if task.done or history.escalated_at is not None:
        return None
    to_roles = (task.role, *task.cc)
    if not history.sent:
        return Planned(quiet_hours_next_send(task.due_at, policy), Send(1, to_roles))
    last = history.sent[-1]
    acks = [a for a in (history.acknowledged_at, task.acknowledged_at) if a is not None]
    base = max([last, *acks])  # an acknowledgement after the last round restarts the clock
    if len(history.sent) < MAX_ROUNDS:
        when = base + policy.reminders.re_remind
        return Planned(quiet_hours_next_send(when, policy), Send(len(history.sent) + 1, to_roles))
    supervisor = supervisor_role(task.role)
    if supervisor is None:
        return None
    when = base + policy.reminders.escalate
    return Planned(quiet_hours_next_send(when, policy), Escalate(supervisor, task.role))


def decide(task: Task, history: ReminderHistory, policy: Policy, now: datetime) -> Decision | None:
    """What to do about ``task`` at ``now``: Send, Escalate, or None (nothing yet, or ever)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    step = plan(task, history, policy)
    if step is None or now < step.at or in_quiet_hours(now, policy):
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
    "plan",
    "quiet_hours_next_send",
    "supervisor_role",
]
