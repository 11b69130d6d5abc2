"""Reporting an absence (A7.1): the classes and students a reporter picks from, the date,
the note, the relapse a new absence continues, and the report that opens the case.

Nothing is written before the reporter confirms; :func:`report_absence` checks everything
again, since the draft was collected over minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from kcbx.bot.domain.caseactions import REACHED, may_report
from kcbx.bot.domain.dates import DateError, parse_user_date
from kcbx.bot.domain.i18n import N_
from kcbx.bot.domain.ladder.state import (
    ActionKind,
    LadderState,
    Relapse,
    Step,
    expected_steps,
    relapse_carry,
)
from kcbx.bot.domain.ladder.stored import action_facts, case_facts
from kcbx.bot.domain.model import Case, Person, Student
from kcbx.bot.domain.names import matches
from kcbx.bot.domain.policy.tree import CAUSES
from kcbx.bot.runtime.services import Services
from kcbx.bot.services import Problem
from kcbx.bot.services.cases import ladder_of, record_now, student_in_scope, today
from kcbx.storage.cases import CaseExists
from kcbx.storage.records.audit import actor_of

# An exempt student (A3) is not reported; the text names them (kcbx.bot.texts.cases).
EXEMPT_PROBLEM = "student-exempt"
NOTE_MAX = 500  # characters of a report's note

SEARCH_MAX = 16  # students listed for a typed name


class ReportProblem(Problem):
    """Something the reporter must correct; ``message`` is a msgid, ``params`` its fields."""


@dataclass
class ReportDraft:
    """What a report has collected so far; nothing is written until it is confirmed."""

    student_id: int
    absent_since: date | None = None
    cause: str | None = None
    contact: str | None = None  # a code of caseactions.CONTACTS
    note: str | None = None


@dataclass(frozen=True)
class ReportClass:
    """A class a reporter picks from."""

    id: int
    grade: int
    name: str


@dataclass(frozen=True)
class PreviousCase:
    """A relapse: the case that closed with a return, and how the new one continues it."""

    case: Case
    relapse: Relapse


@dataclass(frozen=True)
class ReportResult:
    """A confirmed report: the new case and the steps ahead, or the open case instead."""

    case: Case
    student: Student
    created: bool
    steps: tuple[Step, ...] = ()
    previous: PreviousCase | None = None
    state: LadderState | None = None  # of the open case, when not created


def absence_date_problem(day: date, today: date, term_start: date | None) -> ReportProblem | None:
    """Why an absence date cannot be reported, or None: not in the future, not before the
    start of the current term (the school calendar, policy ``school.term_starts``)."""
    if day > today:
        return ReportProblem(
            N_("The absence cannot start in the future. Please give today or an earlier date.")
        )
    if term_start is not None and day < term_start:
        return ReportProblem(
            N_("That is before this term started ({term_start}). Please give a date in this term."),
            term_start=term_start,
        )
    return None


def read_absence_date(services: Services, text: str) -> date:
    """A typed absence date, checked (ReportProblem with a clear answer otherwise)."""
    now_day = today(services)
    try:
        day = parse_user_date(text, now_day)
    except DateError as exc:
        raise ReportProblem(exc.message) from exc
    check_absence_date(services, day)
    return day


def check_absence_date(services: Services, day: date) -> None:
    now_day = today(services)
    problem = absence_date_problem(day, now_day, services.calendar.term_start(now_day))
    if problem is not None:
        raise problem


def read_note(text: str) -> str:
    note = text.strip()
    if len(note) > NOTE_MAX:
        raise ReportProblem(
            N_("The note is too long ({length} characters). Please keep it under {limit}."),
            length=len(note),
            limit=NOTE_MAX,
        )
    return note


async def report_classes(services: Services, person: Person) -> list[ReportClass]:
    """The classes a reporter picks from (a class teacher's own; a school's all)."""
    if not may_report(person.role):
        return []
    with services.db.inline():  # one school's classes at most, by index
        rows = await services.students.classes_in_scope(person)
    return [ReportClass(cid, grade, name) for cid, grade, name in rows]


async def class_students(
    services: Services, person: Person, class_id: int, *, offset: int, limit: int
) -> tuple[list[tuple[int, str]], bool]:
    """A page of (id, name) of the students of a class in scope, and whether there are more."""
    with services.db.inline():  # one page, by index
        found = await services.students.names_in_class(
            person, class_id, limit=limit + 1, offset=offset
        )
    return found[:limit], len(found) > limit


async def find_students(services: Services, person: Person, query: str) -> list[Student]:
    """Students in scope whose name contains ``query`` or starts with its pinyin initials."""
    if not may_report(person.role) or not query.strip():
        return []
    total = await services.students.count_visible(person)
    everyone = await services.students.visible(person, limit=max(total, 1))
    return [s for s in everyone if matches(s.name, query)]


@dataclass(frozen=True)
class StudentChoice:
    """The student picked for a report, and their open case (and where it stands) if any."""

    student: Student
    open_case: Case | None = None
    state: LadderState | None = None


async def choose_student(services: Services, person: Person, student_id: int) -> StudentChoice:
    """The student picked for a report, and their open case if they have one."""
    student = (
        await student_in_scope(services, person, student_id) if may_report(person.role) else None
    )
    if student is None:
        raise ReportProblem(N_("This is not available to you."))
    if student.exempt:
        raise ReportProblem(EXEMPT_PROBLEM, name=student.name)
    existing = await services.cases.open_case_of(student.id)
    if existing is None:
        return StudentChoice(student)
    state, _ = await ladder_of(services, existing, student)
    return StudentChoice(student, existing, state)


async def previous_case(
    services: Services, student_id: int, absent_since: date
) -> PreviousCase | None:
    """The returned case a new absence continues (relapse watch), if any."""
    last = await services.cases.last_closed_of(student_id)
    if last is None or last.status != "returned":
        return None
    actions = await services.cases.actions(last.id)
    relapse = relapse_carry(
        case_facts(last), action_facts(actions), absent_since, services.policy, services.calendar
    )
    return PreviousCase(last, relapse) if relapse is not None else None


async def preview_report(
    services: Services, person: Person, draft: ReportDraft
) -> tuple[Student, PreviousCase | None]:
    """The student and the relapse a report would continue, for the summary to confirm."""
    student = await student_in_scope(services, person, draft.student_id)
    if student is None or draft.absent_since is None:
        raise ReportProblem(N_("This is not available to you."))
    return student, await previous_case(services, student.id, draft.absent_since)


async def report_absence(services: Services, person: Person, draft: ReportDraft) -> ReportResult:
    """Open the case of a confirmed report, in one transaction with its A7.1 phone call.

    Everything is checked again (the draft was collected over minutes): the person's role
    and scope, the date, the cause. A student who has an open case gets it back instead
    (``created`` False): a student is not reported twice. A relapse within the window after
    a return continues the ladder at the day the previous case had reached.
    """
    with services.db.inline():  # a few indexed statements: no thread round trip for each
        return await _report_absence(services, person, draft)


async def _report_absence(services: Services, person: Person, draft: ReportDraft) -> ReportResult:
    choice = await choose_student(services, person, draft.student_id)
    student = choice.student
    if choice.open_case is not None:
        return ReportResult(choice.open_case, student, created=False, state=choice.state)
    if draft.absent_since is None or draft.cause not in CAUSES:
        raise ReportProblem(N_("The report is not complete. Please start again with /report."))
    check_absence_date(services, draft.absent_since)
    now = services.clock.now()
    previous = await previous_case(services, student.id, draft.absent_since)
    try:
        async with services.db.transaction():
            case = await services.cases.open_case(
                student_id=student.id,
                reported_by=person.id,
                absent_since=draft.absent_since,
                cause=draft.cause,
                guardian_contact=draft.contact,
                note=draft.note or None,
                now=now,
                year=services.policy.time.local_date(now).year,
                reopened_from=previous.case.id if previous else None,
                carried_days=previous.relapse.carried_days if previous else 0,
                actor=actor_of(person.id),
            )
            if draft.contact in REACHED:
                detail = {"outcome": draft.contact, "via": "report"}
                await record_now(
                    services, case.id, ActionKind.PHONE_CALL, person, "A7.1", detail, now
                )
    except CaseExists as exc:  # reported a moment ago by someone else
        state, _ = await ladder_of(services, exc.case, student)
        return ReportResult(exc.case, student, created=False, state=state)
    steps = expected_steps(case_facts(case, student), services.policy, services.calendar)
    return ReportResult(case, student, created=True, steps=tuple(steps), previous=previous)
