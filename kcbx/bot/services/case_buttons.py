"""What a press on a reminder's or a case card's button records: the one-press action of a
task (A7.1 call, A7.2, A7.3, A6/A9), "Received", a plain home visit, and the confirmed return
that closes a case (A7.6). Each press re-checks the person's scope and the case's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from kcbx.bot.domain.caseactions import (
    department_of,
    may_confirm_return,
    may_record,
    one_press_action,
)
from kcbx.bot.domain.i18n import translator
from kcbx.bot.domain.ladder import (
    DETAIL_DEPARTMENT,
    DETAIL_TASK,
    ActionKind,
    LadderState,
    Task,
    TaskCode,
)
from kcbx.bot.domain.model import Action, Case, Person, Student
from kcbx.bot.domain.reminders import quiet_hours_next_send
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.cases import case_in_scope, ladder_of, name_of, record_now, unit_department
from kcbx.bot.texts.notifications import case_closed_message
from kcbx.storage.audit import actor_of


class Outcome(StrEnum):
    RECORDED = "recorded"
    ALREADY = "already"  # done before: nothing written
    CLOSED = "closed"  # the case is closed: nothing written
    STALE = "stale"  # no such task on this case (now): nothing written
    NOT_ALLOWED = "not_allowed"  # in scope, but the role may not record this
    DENIED = "denied"  # unknown or out of scope: reveals nothing
    CONFIRM = "confirm"  # ret: ask before closing


@dataclass(frozen=True)
class ButtonResult:
    """What a case button did; ``kind`` and ``by``/``at`` say what stands recorded."""

    outcome: Outcome
    case: Case | None = None
    student: Student | None = None
    kind: str | None = None
    by: str | None = None
    at: datetime | None = None
    task: Task | None = None
    queued: int = 0  # outbox messages queued (the handler kicks delivery)


def _doer(state: LadderState, task: Task, actions: list[Action]) -> Action | None:
    """The recorded action that did ``task`` (the first standing one at its done time)."""
    for action in actions:
        if action.at == task.done_at and action.kind != ActionKind.ACKNOWLEDGED:
            return action
    return None


async def _open_case(
    services: Services, person: Person, case_id: int
) -> tuple[Case, Student] | ButtonResult:
    """The case and its student, or the answer when it is out of scope or closed."""
    found = await case_in_scope(services, person, case_id)
    if found is None:
        return ButtonResult(Outcome.DENIED)
    case, student = found
    if not case.is_open:
        return ButtonResult(Outcome.CLOSED, case, student)
    return found


async def _already(
    services: Services,
    case: Case,
    student: Student,
    state: LadderState,
    task: Task,
    actions: list[Action],
    kind: str | None,
) -> ButtonResult:
    """ALREADY: ``task`` is done; who did it and how (``kind`` when no action says)."""
    doer = _doer(state, task, actions)
    return await _standing(services, Outcome.ALREADY, case, student, doer, task.done_at, kind, task)


async def _standing(
    services: Services,
    outcome: Outcome,
    case: Case,
    student: Student,
    action: Action | None,
    at: datetime | None,
    kind: str | None = None,
    task: Task | None = None,
) -> ButtonResult:
    """``outcome``, with what stands recorded: ``action``'s kind (else ``kind``) and who."""
    by = await name_of(services, action.actor_id if action else None)
    kind = action.kind if action else kind
    return ButtonResult(outcome, case, student, kind=kind, by=by, at=at, task=task)


async def record_task(
    services: Services, person: Person, case_id: int, task_code: str
) -> ButtonResult:
    """``do:``: record the one-press action of a task (A7.1 call, A7.2, A7.3, A6/A9)."""
    found = await _open_case(services, person, case_id)
    if isinstance(found, ButtonResult):
        return found
    case, student = found
    kind = one_press_action(task_code)
    state, actions = await ladder_of(services, case, student)
    task = state.task(task_code)
    if kind is None or task is None:
        return ButtonResult(Outcome.STALE, case, student)
    if not may_record(person.role, task_code, await unit_department(services, person)):
        return ButtonResult(Outcome.NOT_ALLOWED, case, student, task=task)
    if task.done:
        return await _already(services, case, student, state, task, actions, kind)
    detail: dict[str, object] = {DETAIL_TASK: task_code, "via": "button"}
    department = department_of(task_code)
    if department is not None:
        detail[DETAIL_DEPARTMENT] = department
    now = await record_now(services, case.id, kind, person, task.rule, detail)
    return ButtonResult(
        Outcome.RECORDED, case, student, kind=kind, by=person.name, at=now, task=task
    )


async def record_visit(services: Services, person: Person, case_id: int) -> ButtonResult:
    """``vis:`` until the visits feature asks for details: a plain home visit."""
    found = await _open_case(services, person, case_id)
    if isinstance(found, ButtonResult):
        return found
    case, student = found
    if not may_record(person.role, TaskCode.VISIT):
        return ButtonResult(Outcome.NOT_ALLOWED, case, student)
    detail: dict[str, object] = {"via": "button"}
    now = await record_now(services, case.id, ActionKind.HOME_VISIT, person, "A7.1", detail)
    return ButtonResult(
        Outcome.RECORDED, case, student, kind=ActionKind.HOME_VISIT, by=person.name, at=now
    )


async def acknowledge(
    services: Services, person: Person, case_id: int, task_code: str
) -> ButtonResult:
    """``ack:``: "Received". It buys one reminder interval (reminders.plan), so a second
    press within that interval, or on a task already done, records nothing."""
    found = await _open_case(services, person, case_id)
    if isinstance(found, ButtonResult):
        return found
    case, student = found
    state, actions = await ladder_of(services, case, student)
    task = state.task(task_code)
    if task is None:
        return ButtonResult(Outcome.STALE, case, student)
    if task.done:
        return await _already(services, case, student, state, task, actions, None)
    now = services.clock.now()
    window = services.policy.reminders.re_remind
    for action in reversed(actions):
        if (
            action.kind == ActionKind.ACKNOWLEDGED
            and action.detail.get(DETAIL_TASK) == task_code
            and now - action.at < window
        ):
            return await _standing(
                services, Outcome.ALREADY, case, student, action, action.at, task=task
            )
    await record_now(
        services, case.id, ActionKind.ACKNOWLEDGED, person, task.rule, {DETAIL_TASK: task_code}, now
    )
    kind = ActionKind.ACKNOWLEDGED
    return ButtonResult(Outcome.RECORDED, case, student, kind, person.name, now, task)


async def confirm_return(
    services: Services, person: Person, case_id: int, *, confirmed: bool
) -> ButtonResult:
    """``ret:`` (A7.6): the class teacher or the school confirms the child is back.

    Unconfirmed, only checks and answers CONFIRM. Confirmed: records ``returned``, closes
    the case and withdraws its pending outbox messages in one transaction, then tells the
    people who had been reminded about the case that it is closed.
    """
    found = await case_in_scope(services, person, case_id)
    if found is None:
        return ButtonResult(Outcome.DENIED)
    case, student = found
    if not case.is_open:
        actions = await services.cases.actions(case.id)
        closing = next((a for a in reversed(actions) if a.kind == ActionKind.RETURNED), None)
        return await _standing(services, Outcome.CLOSED, case, student, closing, case.closed_at)
    if not may_confirm_return(person.role):
        return ButtonResult(Outcome.NOT_ALLOWED, case, student)
    if not confirmed:
        return ButtonResult(Outcome.CONFIRM, case, student)
    now = services.clock.now()
    async with services.db.transaction():
        await record_now(
            services, case.id, ActionKind.RETURNED, person, "A7.6", {"via": "button"}, now
        )
        await services.cases.close(case.id, status="returned", now=now, actor=actor_of(person.id))
        await services.outbox.cancel_for_case(case.id)
    closed = await services.cases.get(case.id)
    assert closed is not None
    queued = await _tell_closed(services, closed, student, person)
    kind = ActionKind.RETURNED
    return ButtonResult(Outcome.RECORDED, closed, student, kind, person.name, now, queued=queued)


async def _tell_closed(services: Services, case: Case, student: Student, by: Person) -> int:
    """Tell everyone who was reminded about the case (but the confirmer) that it closed."""
    now = services.clock.now()
    queued = 0
    for person_id, chat_id in await services.outbox.recipients_of_case(case.id):
        if person_id == by.id:
            continue
        recipient = await services.people.get(person_id)
        if recipient is None or not recipient.active or recipient.chat_id != chat_id:
            continue
        message = case_closed_message(case, student, by, translator(recipient.lang))
        if await services.outbox.enqueue(
            key=f"closed:case={case.id}:to={person_id}",
            chat_id=chat_id,
            message=message,
            now=now,
            not_before=quiet_hours_next_send(now, services.policy),
            person_id=person_id,
            case_id=case.id,
        ):
            queued += 1
    return queued
