"""Cases as people see them: where a case stands on the ladder, the cases in a person's
scope (a page of /cases), and the case card. Reporting an absence is
:mod:`kcbx.bot.services.reporting`; what a case's buttons record is
:mod:`kcbx.bot.services.case_buttons`.

Handlers call one function here and render its result; nothing here talks to Telegram.
Every function that takes a case id re-checks the person's scope first (callback data can
be forged), and answers a case that does not exist exactly as one out of scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kcbx.bot.domain.caseactions import may_confirm_return, may_record, one_press_action
from kcbx.bot.domain.i18n import Translate
from kcbx.bot.domain.ladder import LadderState, Task
from kcbx.bot.domain.ladder_input import stored_case_state
from kcbx.bot.domain.model import Action, Case, Guardian, Person, Student
from kcbx.bot.domain.roles import Role
from kcbx.bot.domain.scope import can_see_student
from kcbx.bot.runtime.services import Services


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
    recordable: tuple[str, ...] = ()
    if case.is_open:
        recordable = tuple(
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
    )
