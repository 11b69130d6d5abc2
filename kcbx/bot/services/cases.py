"""Cases as people see and work them: where a case stands on the ladder, the cases in a
person's scope (a page of /cases), the case card, and what a press on a reminder's or a card's
button records (the one-press action of a task, "Received", a plain home visit, the return
that closes a case, A7.6). Reporting an absence is :mod:`kcbx.bot.services.reporting`.

Handlers call one function here and render its result; nothing here talks to Telegram.
Every function that takes a case id re-checks the person's scope first (callback data can
be forged), and answers a case that does not exist exactly as one out of scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from kcbx.bot.domain.caseactions import (
    SNOOZE_LATER,
    SNOOZE_MORNING,
    department_of,
    may_confirm_return,
    may_record,
    one_press_action,
)
from kcbx.bot.domain.clock import to_iso
from kcbx.bot.domain.i18n import Translate, translator
from kcbx.bot.domain.ladder.follow_up import is_follow_up
from kcbx.bot.domain.ladder.reminders import quiet_hours_next_send
from kcbx.bot.domain.ladder.state import (
    DETAIL_DEPARTMENT,
    DETAIL_TASK,
    DETAIL_UNTIL,
    ActionKind,
    LadderState,
    Task,
    TaskCode,
)
from kcbx.bot.domain.ladder.stored import stored_case_state
from kcbx.bot.domain.model import Action, Case, Guardian, Person, Student
from kcbx.bot.domain.roles import Role
from kcbx.bot.domain.scope import can_see_student
from kcbx.bot.runtime.services import Services
from kcbx.bot.texts.notifications import case_closed_message
from kcbx.storage.records.audit import actor_of


async def ladder_of(
    services: Services, case: Case, student: Student | None = None
) -> tuple[LadderState, list[Action]]:
    """Where a case stands now, and its recorded actions."""
    actions = await services.cases.actions(case.id)
    state = stored_case_state(
        case, student, actions, services.policy, services.calendar, services.clock.now()
    )
    return state, actions


async def record_now(
    services: Services,
    case_id: int,
    kind: str,
    person: Person,
    rule: str | None,
    detail: dict[str, Any],
    now: datetime | None = None,
) -> datetime:
    """Record that ``person`` did ``kind`` on a case just now (``now``: the instant of the
    transaction it belongs to); returns when."""
    at = now or services.clock.now()
    await services.cases.record_action(
        case_id, kind=kind, actor_id=person.id, at=at, now=at, rule=rule, detail=detail
    )
    return at


def today(services: Services) -> date:
    return services.policy.time.local_date(services.clock.now())


async def open_cases_with_students(
    services: Services, person: Person, offset: int, limit: int
) -> tuple[list[tuple[Case, Student]], int]:
    """A page of the open cases in the person's scope with their students, and how many."""
    total = await services.cases.count_visible(person)
    cases = await services.cases.visible(person, limit=limit, offset=offset)
    found = [(case, await services.students.get(case.student_id)) for case in cases]
    return [(case, student) for case, student in found if student is not None], total


async def student_in_scope(services: Services, person: Person, student_id: int) -> Student | None:
    """The student if the person may see them (None for a stranger's or unknown student)."""
    place = await services.students.place(student_id)
    if place is None or not can_see_student(person, place):
        return None
    return await services.students.get(student_id)


async def case_in_scope(
    services: Services, person: Person, case_id: int
) -> tuple[Case, Student] | None:
    """The case and its student if the person may see them; None otherwise (or unknown)."""
    case = await services.cases.get(case_id)
    if case is None:
        return None
    student = await student_in_scope(services, person, case.student_id)
    if student is None:
        return None
    return case, student


async def name_of(services: Services, person_id: int | None) -> str:
    """The name of a person ("" for nobody or someone unknown)."""
    if person_id is None:
        return ""
    who = await services.people.get(person_id)
    return who.name if who is not None else ""


async def unit_department(services: Services, person: Person) -> str | None:
    """The department code of a liaison's unit (None for anyone else)."""
    if person.role != Role.DEPARTMENT_LIAISON or person.unit_id is None:
        return None
    unit = await services.units.get(person.unit_id)
    return unit.code if unit is not None else None


@dataclass(frozen=True)
class CaseListEntry:
    """One open case in a list: its student, where it stands, the next deadline."""

    case: Case
    student: Student
    state: LadderState

    @property
    def next_task(self) -> Task | None:
        open_tasks = sorted(self.state.open_tasks, key=lambda t: t.due_at)
        return open_tasks[0] if open_tasks else None


@dataclass(frozen=True)
class CasePage:
    lines: list[CaseListEntry]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


async def open_cases_page(
    services: Services, person: Person, page: int, per_page: int = 8
) -> CasePage:
    """A page of the person's open cases in scope, oldest absence first."""
    total = await services.cases.count_visible(person)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 0), pages - 1)
    cases = await services.cases.visible(person, limit=per_page, offset=page * per_page)
    actions = await services.cases.actions_of_cases([c.id for c in cases])
    now = services.clock.now()
    lines = []
    for case in cases:
        student = await services.students.get(case.student_id)
        if student is None:
            continue
        state = stored_case_state(
            case, student, actions.get(case.id, []), services.policy, services.calendar, now
        )
        lines.append(CaseListEntry(case, student, state))
    return CasePage(lines, total, page, per_page)


async def count_open_cases(services: Services, person: Person) -> int:
    return await services.cases.count_visible(person)


@dataclass(frozen=True)
class HistoryEntry:
    action: Action
    actor_name: str
    actor_role: Role | None


@dataclass(frozen=True)
class CaseCard:
    """Everything a case card shows; ``restricted`` for department liaisons (need to know)."""

    case: Case
    student: Student
    school: str
    household: str
    guardians: list[Guardian]
    reporter: str
    state: LadderState
    history: list[HistoryEntry]
    sections: list[str] = field(default_factory=list)
    restricted: bool = False
    can_return: bool = False
    recordable: tuple[str, ...] = ()  # open, appeared task codes the person may record
    previous_number: str | None = None
    actor_names: dict[int, str] = field(default_factory=dict)  # who did the done tasks


async def case_card(
    services: Services, person: Person, case_id: int, gettext: Translate, lang: str
) -> CaseCard | None:
    """The case card, or None if the person may not see the case (or it does not exist)."""
    found = await case_in_scope(services, person, case_id)
    if found is None:
        return None
    case, student = found
    state, actions = await ladder_of(services, case, student)
    school = await services.units.get(student.school_id)
    people: dict[int, Person | None] = {}
    history = []
    for action in actions:
        if action.actor_id is not None and action.actor_id not in people:
            people[action.actor_id] = await services.people.get(action.actor_id)
        actor = people.get(action.actor_id) if action.actor_id is not None else None
        history.append(
            HistoryEntry(action, actor.name if actor else "", actor.role if actor else None)
        )
    sections = []
    for section in services.task_hooks.card_sections:
        text = await section(services, case, gettext, lang)
        if text:
            sections.append(text)
    department = await unit_department(services, person)
    recordable = tuple(  # a returned case's open tasks are its A4.2 check-ins
        t.code
        for t in state.open_tasks
        if (one_press_action(t.code) is not None or t.code.endswith("-visit"))
        and may_record(person.role, t.code, department)
    )
    previous = await services.cases.get(case.reopened_from) if case.reopened_from else None
    return CaseCard(
        case=case,
        student=student,
        school=school.name if school else "",
        household=await services.units.path_name(student.household_unit_id),
        guardians=await services.students.guardians(student.id),
        reporter=await name_of(services, case.reported_by),
        state=state,
        history=history,
        sections=sections,
        restricted=person.role == Role.DEPARTMENT_LIAISON,
        can_return=case.is_open and may_confirm_return(person.role),
        recordable=recordable,
        previous_number=previous.number if previous else None,
        actor_names={pid: p.name for pid, p in people.items() if p is not None},
    )


# --- what a case's buttons record -----------------------------------------------------------------


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
    services: Services, person: Person, case_id: int, task_code: str | None = None
) -> tuple[Case, Student] | ButtonResult:
    """The case and its student, or the answer when it is out of scope or closed (a
    returned case stays open to its A4.2 check-ins)."""
    found = await case_in_scope(services, person, case_id)
    if found is None:
        return ButtonResult(Outcome.DENIED)
    case, student = found
    if not case.is_open and not (case.status == "returned" and is_follow_up(task_code)):
        return ButtonResult(Outcome.CLOSED, case, student)
    return found


class _OpenTask(NamedTuple):
    case: Case
    student: Student
    state: LadderState
    actions: list[Action]
    task: Task | None  # None: the case has no such task (any more)


async def _open_task(
    services: Services, person: Person, case_id: int, task_code: str
) -> _OpenTask | ButtonResult:
    """An open case with where it stands and one of its tasks, or the answer as _open_case."""
    found = await _open_case(services, person, case_id, task_code)
    if isinstance(found, ButtonResult):
        return found
    case, student = found
    state, actions = await ladder_of(services, case, student)
    return _OpenTask(case, student, state, actions, state.task(task_code))


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
    services: Services,
    person: Person,
    case_id: int,
    task_code: str,
    outcome: str | None = None,
) -> ButtonResult:
    """``do:``: record the one-press action of a task (A7.1 call, A7.2, A7.3, A6/A9; ``fu:``
    an A4.2 check-in)."""
    found = await _open_task(services, person, case_id, task_code)
    if isinstance(found, ButtonResult):
        return found
    case, student, state, actions, task = found
    kind = one_press_action(task_code)
    if kind is None or task is None:
        return ButtonResult(Outcome.STALE, case, student)
    if not may_record(person.role, task_code, await unit_department(services, person)):
        return ButtonResult(Outcome.NOT_ALLOWED, case, student, task=task)
    if task.done:
        return await _already(services, case, student, state, task, actions, kind)
    asks = task_code == TaskCode.CALL or is_follow_up(task_code)
    if asks and outcome is None:  # first: what did the call come to?
        return ButtonResult(Outcome.CONFIRM, case, student, task=task)
    detail: dict[str, object] = {DETAIL_TASK: task_code, "via": "button"}
    if outcome is not None:  # a call: what it came to (A7.1 evidence)
        detail["outcome"] = outcome
    department = department_of(task_code)
    if department is not None:
        detail[DETAIL_DEPARTMENT] = department
    now = await record_now(services, case.id, kind, person, task.rule, detail)
    if department is not None:
        await _accept_own_referral(services, person, case.id, now)
    return ButtonResult(
        Outcome.RECORDED, case, student, kind=kind, by=person.name, at=now, task=task
    )


async def _accept_own_referral(
    services: Services, person: Person, case_id: int, now: datetime
) -> None:
    """A liaison who records the department's action has taken the case on (A6): an open
    referral is accepted with it, so that [接收] is no longer owed."""
    if person.role != Role.DEPARTMENT_LIAISON or person.unit_id is None:
        return
    for referral in await services.referrals.of_case(case_id):
        if referral.department_id == person.unit_id and referral.status == "open":
            await services.referrals.accept(referral.id, person_id=person.id, now=now)


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
    found = await _open_task(services, person, case_id, task_code)
    if isinstance(found, ButtonResult):
        return found
    case, student, state, actions, task = found
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


# --- "remind me later" (稍后提醒): two working hours or the next working morning, a limited
# number of times per task ([tasks] snooze_limit), each a ``snoozed`` action (A7 reminders)


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
    found = await _open_task(services, person, case_id, task_code)
    if isinstance(found, ButtonResult):
        return found
    case, student, _, _, task = found
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
