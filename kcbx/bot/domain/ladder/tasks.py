"""Tasks: what a step of the ladder asks of whom, by when, and what work satisfies it.

A :class:`Task` has one owner (``role``; others in ``cc`` are told once), what it asks
(``what``), when its first notice goes (``notify_at``: before it is due, the lead time) and
when it is owed (``due_at``). What **satisfies** it is data, the policy's
``[tasks.satisfied_by]``: a list of requirements per task code, each a kind of recorded
action with conditions on its detail, e.g. ``phone_call:outcome!=unreached`` (a call that
reached the guardians) or ``home_visit:met=guardians|both`` (a visit that met them).
:func:`satisfying_action` is the pure function that reads it. What **acknowledges** it is an
``acknowledged`` action naming it (the [收到] button; a department's [接收] of its referral).

A requirement is ``kind`` or ``kind:condition;condition...``; a condition is ``key=a|b`` (the
detail's value is one of these) or ``key!=a|b`` (it is none of these, or absent). The key
``actor_role`` reads the role of who recorded it; ``{department}`` in a value stands for the
task's department (A6, A9).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from kcbx.bot.domain.clock import to_iso
from kcbx.bot.domain.i18n import N_
from kcbx.bot.domain.roles import Role


class ActionKind(StrEnum):
    """The kinds of action recorded on a case (``actions.kind``)."""

    PHONE_CALL = "phone_call"  # A7.1; detail: outcome (agreed / refused / undecided / unreached)
    HOME_VISIT = "home_visit"  # A7.1; detail: met, outcome
    PERSUASION = "persuasion"  # A7.2: the school's persuasion team or meeting
    REGISTRY_MARK = "registry_mark"  # A7.3: dropout mark in the student registry
    REPORTED_UP = "reported_up"  # A7.3: reported to the education bureau and the township
    JOINT_PERSUASION = "joint_persuasion"  # A7.3
    DEPARTMENT_ACTION = "department_action"  # A6, A9; detail: department
    NOTICE_ISSUED = "notice_issued"  # A7.4; detail: number, deadline?
    NOTICE_DELIVERED = "notice_delivered"  # A7.4; detail: delivered_on, deadline?
    CORRECTION_ORDERED = "correction_ordered"  # A7.5; detail: delivered_on?, deadline?
    RETURNED = "returned"  # A7.6: closes the case
    EXEMPTED = "exempted"  # A3: closes the case
    TRANSFERRED = "transferred"  # closes the case
    ACKNOWLEDGED = "acknowledged"  # detail: task (a task code)
    SNOOZED = "snoozed"  # detail: task, until (ISO instant): "remind me later"
    NOTE = "note"


# detail keys
DETAIL_TASK = "task"
DETAIL_DEPARTMENT = "department"
DETAIL_DELIVERED_ON = "delivered_on"
DETAIL_DEADLINE = "deadline"
DETAIL_NUMBER = "number"
DETAIL_UNTIL = "until"
DETAIL_ACTOR_ROLE = "actor_role"  # the role of who recorded it, kept in the detail too


class TaskCode(StrEnum):
    """Task codes (department tasks are ``A6-<department>`` and ``A9-<department>``)."""

    CALL = "A7.1-call"
    VISIT = "A7.1-visit"
    PERSUASION = "A7.2"
    MARK = "A7.3-mark"
    REPORT = "A7.3-report"
    JOINT = "A7.3-joint"
    NOTICE = "A7.4-notice"
    DELIVER = "A7.4-deliver"
    CORRECTION = "A7.5"
    CORRECTION_AGAIN = "A7.5-again"
    RETURNED = "A7.6"
    EXEMPT = "A3"
    CHAIN_VISIT = "A5-visit"  # A5.1: the household's 三包 chain, told at A7.3


TASK_TEXTS: dict[str, str] = {
    TaskCode.CALL: N_("Phone the guardians and find out why the child is absent"),
    TaskCode.VISIT: N_(
        "Visit the home, find out the reason and persuade the family to send the child back"
    ),
    TaskCode.PERSUASION: N_(
        "Organise the school's persuasion team to persuade the child to return"
    ),
    TaskCode.MARK: N_("Put the dropout mark in the student registry (the enrolment is kept)"),
    TaskCode.REPORT: N_("Report the dropout to the education bureau and the township"),
    TaskCode.JOINT: N_("Organise joint persuasion with the township and the departments concerned"),
    TaskCode.NOTICE: N_("Issue the notice to enrol by a deadline to the guardians"),
    TaskCode.DELIVER: N_(
        "Deliver the notice to enrol by a deadline to the guardians and record the date"
    ),
    TaskCode.CORRECTION: N_(
        "The notice's deadline has passed: reprimand the guardians and order them to correct "
        "by a deadline"
    ),
    TaskCode.CORRECTION_AGAIN: N_(
        "The deadline to correct has passed: reprimand the guardians again and set a new deadline"
    ),
    TaskCode.RETURNED: N_("Confirm that the child is back at school"),
    TaskCode.EXEMPT: N_("Record the exemption and its evidence"),
    TaskCode.CHAIN_VISIT: N_(
        "Visit the household with the other cadres of its contact-duty chain, find out the cause "
        "and persuade the family to send the child back"
    ),
}

# The 三包 chain of a household (A5.1): the group cadre acts, the village and township
# cadres are told too; a home visit recorded by any of them does the task.
CHAIN_ROLES: tuple[str, ...] = (Role.GROUP_CADRE, Role.VILLAGE_CADRE, Role.TOWNSHIP_CADRE)


@dataclass(frozen=True)
class ActionFact:
    """One recorded action (a row of ``actions``), with the role of the person who acted."""

    id: int
    kind: str
    at: datetime  # aware: when it happened
    rule: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    actor_role: str | None = None
    corrects: int | None = None  # actions.corrects_id: the action this one replaces
    actor_id: int | None = None


@dataclass(frozen=True)
class Task:
    """One step owed on a case.

    ``code`` identifies the task on its case (acknowledgements name it); ``rule`` is the rule
    of RULES.md it fulfils. ``role`` owns it (is reminded, then escalated past); ``cc`` are
    told once. ``what`` is a msgid. ``opens_at``: when the task appeared; ``notify_at``: its
    first notice (never after ``due_at``); ``due_at``: when it is owed. ``done_by`` is the
    recorded work that satisfied it.
    """

    code: str
    rule: str
    role: str
    what: str
    opens_at: datetime
    due_at: datetime
    done: bool = False
    done_at: datetime | None = None
    department: str | None = None
    cc: tuple[str, ...] = ()
    acknowledged_at: datetime | None = None
    notify_at: datetime | None = None  # None: at due_at
    done_by: ActionFact | None = None
    snoozed_until: datetime | None = None
    snoozes: int = 0  # "remind me later" pressed so far

    @property
    def key(self) -> str:
        """Code and due instant: a task that recurs with a new due time is a new task."""
        return f"{self.code}@{to_iso(self.due_at)}"

    @property
    def first_notice(self) -> datetime:
        return min(self.notify_at or self.due_at, self.due_at)

    def is_due(self, now: datetime) -> bool:
        return not self.done and now >= self.due_at

    def is_live(self, now: datetime) -> bool:
        """Open and its first notice has come: the reminder plan is about it."""
        return not self.done and now >= self.first_notice


def standing_actions(
    actions: Iterable[ActionFact], now: datetime | None = None
) -> list[ActionFact]:
    """The actions that stand: not replaced by a correction, and (if given) not after ``now``.

    Sorted by time, then id.
    """
    actions = list(actions)
    corrected = {a.corrects for a in actions if a.corrects is not None}
    return sorted(
        (a for a in actions if a.id not in corrected and (now is None or a.at <= now)),
        key=lambda a: (a.at, a.id),
    )


# --- what satisfies a task (policy data, read here) -------------------------------------------


@dataclass(frozen=True)
class Condition:
    key: str
    values: frozenset[str]
    negate: bool = False


@dataclass(frozen=True)
class Requirement:
    """One kind of recorded work that satisfies a task, with conditions on its detail."""

    kind: str
    conditions: tuple[Condition, ...] = ()


def parse_requirement(text: str) -> Requirement:
    """``kind`` or ``kind:key=a|b;key!=c``; raises ValueError when malformed."""
    kind, _, rest = text.strip().partition(":")
    if kind not in {k.value for k in ActionKind}:
        raise ValueError(f"unknown kind of action: {kind}")
    conditions = []
    for part in filter(None, (p.strip() for p in rest.split(";"))):
        negate = "!=" in part
        key, _, values = part.partition("!=" if negate else "=")
        if not key or not values:
            raise ValueError(f"a condition must read key=value or key!=value: {part}")
        conditions.append(
            Condition(key.strip(), frozenset(v.strip() for v in values.split("|")), negate)
        )
    return Requirement(kind, tuple(conditions))


def _value(action: ActionFact, key: str) -> str | None:
    if key == DETAIL_ACTOR_ROLE:
        role = action.actor_role or action.detail.get(DETAIL_ACTOR_ROLE)
        return str(role) if role is not None else None
    value = action.detail.get(key)
    return str(value) if value is not None else None


def meets(action: ActionFact, requirement: Requirement, department: str | None = None) -> bool:
    """Whether one action is the work ``requirement`` asks for."""
    if action.kind != requirement.kind:
        return False
    for condition in requirement.conditions:
        wanted = {v.replace("{department}", department or "") for v in condition.values}
        value = _value(action, condition.key)
        if condition.negate == (value in wanted):
            return False
    return True


def requirements_for(
    code: str, rules: Mapping[str, Sequence[Requirement]]
) -> Sequence[Requirement]:
    """The requirements of a task code; ``A6-x``/``A9-x`` fall back to ``A6``/``A9``."""
    if code in rules:
        return rules[code]
    return rules.get(code.split("-", 1)[0], ())


def satisfying_action(
    code: str,
    actions: Sequence[ActionFact],
    rules: Mapping[str, Sequence[Requirement]],
    department: str | None = None,
) -> ActionFact | None:
    """The first standing action that satisfies the task ``code`` (None: not yet done)."""
    requirements = requirements_for(code, rules)
    for action in actions:
        if any(meets(action, r, department) for r in requirements):
            return action
    return None


__all__ = [
    "CHAIN_ROLES",
    "DETAIL_ACTOR_ROLE",
    "TASK_TEXTS",
    "ActionFact",
    "ActionKind",
    "Condition",
    "Requirement",
    "Task",
    "TaskCode",
    "meets",
    "parse_requirement",
    "requirements_for",
    "satisfying_action",
    "standing_actions",
]
