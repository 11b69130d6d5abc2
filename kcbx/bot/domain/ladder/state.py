"""The A7 escalation ladder as a pure function: given a case, its actions, the policy, the
school calendar and "now", where the case stands and what is owed, by whom, by when.

No I/O here: the sweep loads the facts, calls :func:`ladder_state`, and hands the due tasks
to :mod:`kcbx.bot.domain.ladder.reminders`; a test walks a case through 60 days in microseconds.
Each step is one function of :mod:`kcbx.bot.domain.ladder.steps`; what a task is, and what
recorded work satisfies it, is :mod:`kcbx.bot.domain.ladder.tasks`.

Days. Day 0 is the first day of unexplained absence (``CaseFacts.absent_since``); day numbers
and "N days" are counted in the policy's mode (calendar days, or school days), in the policy
time zone. A relapse (a new absence soon after a return) continues the old count: see
:func:`relapse_carry`. The stage changes when day N begins (midnight), so that the stage and
the day number always agree; a step's due time falls on a working day (see ladder_steps).

Nothing is due before the case was reported: a late report makes the earlier steps open at
the moment of the report. A stage reached early by an action (a notice issued on day 12)
makes its steps open from that action.

Actions. An action that a later action corrects (``ActionFact.corrects``) is ignored: the
correction replaces it (to retract an action, record a ``note`` that corrects it). Actions
whose ``at`` is after ``now`` are not yet taken into account. A task is done by the first
standing action that satisfies it (``[tasks.satisfied_by]`` of the policy), whenever it was
recorded (a home visit made before the report counts).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from kcbx.bot.domain.i18n import N_
from kcbx.bot.domain.ladder.follow_up import follow_up_tasks
from kcbx.bot.domain.ladder.steps import (
    STAGE_NAMES,
    Actions,
    Builder,
    CaseFacts,
    LadderState,
    Stage,
    department_actor,
    ladder_start,
)
from kcbx.bot.domain.ladder.tasks import (
    CHAIN_ROLES,
    DETAIL_ACTOR_ROLE,
    DETAIL_DEADLINE,
    DETAIL_DELIVERED_ON,
    DETAIL_DEPARTMENT,
    DETAIL_NUMBER,
    DETAIL_TASK,
    DETAIL_UNTIL,
    TASK_TEXTS,
    ActionFact,
    ActionKind,
    Task,
    TaskCode,
    standing_actions,
)
from kcbx.bot.domain.policy.tree import Policy
from kcbx.bot.domain.roles import Role
from kcbx.bot.domain.schoolcal import SchoolCalendar

_CLOSING = {
    ActionKind.RETURNED: "returned",
    ActionKind.EXEMPTED: "exempt",
    ActionKind.TRANSFERRED: "transferred",
}

# Steps shown to the teacher after a report (expected_steps), by rule.
STEP_TEXTS: dict[str, str] = {
    "A7.1": N_("visit the home; the guardians are phoned on the day of the report"),
    "A7.2": N_("the school organises a persuasion team"),
    "A7.3": N_("dropout mark, report to the education bureau and the township"),
    "A7.4": N_("issue the notice to enrol by a deadline"),
}


class Step(NamedTuple):
    """A step ahead and the date it falls on (see STEP_TEXTS for its description)."""

    rule: str
    on: date


@dataclass(frozen=True)
class Relapse:
    """How a new case continues the ladder of a case that closed with a return."""

    previous_case_id: int
    returned_on: date
    carried_days: int
    stage: Stage  # the stage the carried days alone put the new case in


def stage_for_day(day: int, policy: Policy) -> Stage:
    """The stage a day number alone reaches (A7.2 day 3, A7.3 day 7, A7.4 day 15)."""
    ladder = policy.ladder
    if day >= ladder.notice_day:
        return Stage.NOTICE
    if day >= ladder.dropout_day:
        return Stage.DROPOUT
    if day >= ladder.persuasion_day:
        return Stage.PERSUASION
    return Stage.DAY0


def ladder_state(
    case: CaseFacts,
    actions: Iterable[ActionFact],
    policy: Policy,
    calendar: SchoolCalendar,
    now: datetime,
) -> LadderState:
    """Where ``case`` stands at ``now`` and every task that has appeared, done or not.

    A closed case (A7.6 returned, A3 exempt, transferred; by action or by status) keeps the
    tasks that were done before it closed and a done closing task (A7.6 or A3); whatever was
    still open is no longer owed. A return owes the A4.2 check-ins
    (:func:`kcbx.bot.domain.ladder.follow_up.follow_up_tasks`).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    standing = standing_actions(actions, now)
    acts = Actions(standing)
    closing = acts.first(*_CLOSING)
    closed_by: str | None = None
    until = now
    if closing is not None:
        closed_by, until = _CLOSING[ActionKind(closing.kind)], closing.at
    elif case.status != "open":
        closed_by, until = case.status, min(now, case.closed_at or now)
    if closed_by is not None:
        acts = Actions([a for a in acts.all if a.at <= until])

    build = Builder(case, acts, policy, calendar, until)
    state = build.state()
    if closed_by is None:
        return state
    tasks = [t for t in state.tasks if t.done]
    if closing is not None and closing.kind == ActionKind.RETURNED:
        tasks.append(build.closing_task(TaskCode.RETURNED, "A7.6", Role.CLASS_TEACHER, closing))
    elif closing is not None and closing.kind == ActionKind.EXEMPTED:
        tasks.append(build.closing_task(TaskCode.EXEMPT, "A3", Role.BUREAU_STAFF, closing))
    if closed_by == "returned" and (closing is not None or case.closed_at is not None):
        tasks += follow_up_tasks(until, standing, policy, calendar)  # A4.2: check-ins
    return LadderState(
        case_id=case.id,
        stage=Stage.CLOSED,
        day=state.day,
        ladder_start=state.ladder_start,
        now=now,
        tasks=tuple(tasks),
        notice_deadline=state.notice_deadline,
        correction_deadline=state.correction_deadline,
        closed_by=closed_by,
    )


def expected_steps(case: CaseFacts, policy: Policy, calendar: SchoolCalendar) -> list[Step]:
    """The steps ahead with their dates, to show the class teacher right after a report.

    A7.1 falls on the day the home visit is expected by (the phone call is due the same day
    as the report); A7.2, A7.3 and A7.4 on their ladder days; each moved to the next working
    day when it is a rest day (nothing is due on a Sunday).
    """
    start = ladder_start(case, calendar)
    reported_on = policy.time.local_date(case.reported_at)
    ladder = policy.ladder
    work = calendar.working_day_on_or_after
    return [
        Step("A7.1", work(calendar.add_days(reported_on, ladder.visit_within_days))),
        Step("A7.2", work(calendar.add_days(start, ladder.persuasion_day))),
        Step("A7.3", work(calendar.add_days(start, ladder.dropout_day))),
        Step("A7.4", work(calendar.add_days(start, ladder.notice_day))),
    ]


def relapse_carry(
    previous: CaseFacts,
    previous_actions: Iterable[ActionFact],
    new_absent_since: date,
    policy: Policy,
    calendar: SchoolCalendar,
) -> Relapse | None:
    """Whether a new absence continues the ladder of ``previous``, and from which day.

    Our design: a child who returned (A7.6) and is absent again within
    ``relapse_window_days`` (calendar days from the return) does not start again at day 0.
    The new case stores ``reopened_from`` = the previous case and ``carried_days`` = the
    ladder days the previous case had reached on the day of the return; its effective day 0
    (:func:`ladder_start`) is ``new_absent_since`` moved back by that many ladder days, so on
    its first day the new case stands at the same day number, hence the same stage, as the
    old one had reached. Every step of that stage is owed again (a registry mark, a new
    report, a new notice): documents of the old case were complied with by the return, so
    a new notice is issued rather than jumping to A7.5.

    Returns:
        None when ``previous`` did not close with a return, or the new absence is outside
        the window (or before the return).
    """
    returned = next(
        (a for a in standing_actions(previous_actions) if a.kind == ActionKind.RETURNED), None
    )
    if returned is not None:
        returned_at: datetime | None = returned.at
    elif previous.status == "returned":
        returned_at = previous.closed_at
    else:
        returned_at = None
    if returned_at is None:
        return None
    returned_on = policy.time.local_date(returned_at)
    gap = (new_absent_since - returned_on).days
    if gap < 0 or gap > policy.ladder.relapse_window_days:
        return None
    carried = max(0, calendar.days_between(ladder_start(previous, calendar), returned_on))
    return Relapse(previous.id, returned_on, carried, stage_for_day(carried, policy))


__all__ = [
    "CHAIN_ROLES",
    "DETAIL_ACTOR_ROLE",
    "DETAIL_DEADLINE",
    "DETAIL_DELIVERED_ON",
    "DETAIL_DEPARTMENT",
    "DETAIL_NUMBER",
    "DETAIL_TASK",
    "DETAIL_UNTIL",
    "STAGE_NAMES",
    "STEP_TEXTS",
    "TASK_TEXTS",
    "ActionFact",
    "ActionKind",
    "CaseFacts",
    "LadderState",
    "Relapse",
    "Stage",
    "Step",
    "Task",
    "TaskCode",
    "department_actor",
    "expected_steps",
    "ladder_start",
    "ladder_state",
    "relapse_carry",
    "stage_for_day",
    "standing_actions",
]
