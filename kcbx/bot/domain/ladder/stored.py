"""Stored cases as the ladder's input: the one place where a :class:`Case`, its student and
its recorded actions become the facts :func:`kcbx.bot.domain.ladder.state.ladder_state` reads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from kcbx.bot.domain.ladder.state import ActionFact, CaseFacts, LadderState, ladder_state
from kcbx.bot.domain.model import Action, Case, Student
from kcbx.bot.domain.policy.tree import Policy
from kcbx.bot.domain.schoolcal import SchoolCalendar


def case_facts(case: Case, student: Student | None = None) -> CaseFacts:
    """A stored case as the pure ladder sees it (A9 flags from the student)."""
    return CaseFacts(
        id=case.id,
        number=case.number,
        absent_since=case.absent_since,
        reported_at=case.reported_at,
        status=case.status,
        cause=case.cause,
        a9_flags=student.a9_flags if student is not None else (),
        closed_at=case.closed_at,
        reopened_from=case.reopened_from,
        carried_days=case.carried_days,
    )


def action_facts(
    actions: Iterable[Action], roles: Mapping[int, str | None] | None = None
) -> list[ActionFact]:
    """Stored actions as the ladder sees them (``roles``: person id -> role, if known)."""
    roles = roles or {}
    return [
        ActionFact(
            id=a.id,
            kind=a.kind,
            at=a.at,
            rule=a.rule,
            detail=a.detail,
            actor_role=roles.get(a.actor_id) if a.actor_id is not None else None,
            corrects=a.corrects_id,
            actor_id=a.actor_id,
        )
        for a in actions
    ]


def stored_case_state(
    case: Case,
    student: Student | None,
    actions: Iterable[Action],
    policy: Policy,
    calendar: SchoolCalendar,
    now: datetime,
    roles: Mapping[int, str] | None = None,
) -> LadderState:
    """Where a stored case stands at ``now``, given its recorded actions."""
    return ladder_state(
        case_facts(case, student), action_facts(actions, roles), policy, calendar, now
    )
