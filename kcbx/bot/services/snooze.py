""" "Remind me later" (稍后提醒): a reminder's owner holds the next step of a task for two
working hours or until the next working morning, a limited number of times per task
(``[tasks] snooze_limit``), each recorded as a ``snoozed`` action (A7 reminders)."""

from __future__ import annotations

from datetime import datetime

from kcbx.bot.domain.caseactions import SNOOZE_LATER, SNOOZE_MORNING
from kcbx.bot.domain.clock import to_iso
from kcbx.bot.domain.ladder import DETAIL_TASK, DETAIL_UNTIL, ActionKind
from kcbx.bot.domain.model import Person
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.cases import ButtonResult, Outcome, case_in_scope, ladder_of


def snooze_until(services: Services, now: datetime, option: str) -> datetime:
    """Two working hours from now, or the next working morning (the policy's numbers)."""
    calendar = services.calendar
    if option == SNOOZE_MORNING:
        return calendar.next_working_morning(now)
    return calendar.add_working_hours(now, services.policy.tasks.snooze_hours)


async def snooze(
    services: Services, person: Person, case_id: int, task_code: str, option: str
) -> ButtonResult:
    """``snz:``: hold the task's next reminder; STALE once the limit is reached or the task
    is done or gone (nothing written)."""
    found = await case_in_scope(services, person, case_id)
    if found is None:
        return ButtonResult(Outcome.DENIED)
    case, student = found
    if not case.is_open:
        return ButtonResult(Outcome.CLOSED, case, student)
    state, _ = await ladder_of(services, case, student)
    task = state.task(task_code)
    limit = services.policy.tasks.snooze_limit
    if (
        task is None
        or task.done
        or task.snoozes >= limit
        or option
        not in (
            SNOOZE_LATER,
            SNOOZE_MORNING,
        )
    ):
        return ButtonResult(Outcome.STALE, case, student)
    now = services.clock.now()
    until = snooze_until(services, now, option)
    await services.cases.record_action(
        case.id,
        kind=ActionKind.SNOOZED,
        actor_id=person.id,
        at=now,
        now=now,
        rule=task.rule,
        detail={DETAIL_TASK: task_code, DETAIL_UNTIL: to_iso(until)},
    )
    return ButtonResult(
        Outcome.RECORDED,
        case,
        student,
        kind=ActionKind.SNOOZED,
        by=person.name,
        at=until,
        task=task,
    )


__all__ = ["snooze", "snooze_until"]
