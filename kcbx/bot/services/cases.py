"""Cases as people work them: reporting an absence, recording what was done from a
reminder's buttons, confirming a return (A7.6), and the cases a person sees.

Handlers call one function here and render its result; nothing here talks to Telegram.
Every function that takes a case id re-checks the person's scope first (callback data can
be forged), and answers a case that does not exist exactly as one out of scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from html import escape

from kcbx.bot.domain.caseactions import (
    REACHED,
    department_of,
    may_confirm_return,
    may_record,
    may_report,
    one_press_action,
)
from kcbx.bot.domain.dates import DateError, format_date, parse_user_date
from kcbx.bot.domain.i18n import N_, Translate, translator
from kcbx.bot.domain.ladder import (
    DETAIL_DEPARTMENT,
    DETAIL_TASK,
    ActionFact,
    ActionKind,
    CaseFacts,
    LadderState,
    Relapse,
    Step,
    Task,
    TaskCode,
    expected_steps,
    ladder_state,
    relapse_carry,
)
from kcbx.bot.domain.model import Action, Case, Guardian, Person, Student
from kcbx.bot.domain.names import matches
from kcbx.bot.domain.policy import CAUSES
from kcbx.bot.domain.reminders import quiet_hours_next_send
from kcbx.bot.domain.roles import Role
from kcbx.bot.domain.scope import can_see_student
from kcbx.bot.runtime.services import Services
from kcbx.storage.audit import actor_of
from kcbx.storage.cases import CaseExists
from kcbx.storage.outbox import OutgoingMessage

NOTE_MAX = 500  # characters of a report's note
SEARCH_MAX = 16  # students listed for a typed name


class ReportProblem(Exception):
    """Something the reporter must correct; ``message`` is a msgid, ``params`` its fields."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.params = params

    def render(self, gettext: Translate, lang: str = "zh_CN") -> str:
        params = {
            k: format_date(v, gettext, lang) if isinstance(v, date) else v
            for k, v in self.params.items()
        }
        return gettext(self.message).format(**params)


# --- the facts the ladder needs --------------------------------------------------------------


def case_facts(case: Case, student: Student | None = None, section: str = "") -> CaseFacts:
    """A stored case as the pure ladder sees it (A9 flags from the student)."""
    return CaseFacts(
        id=case.id,
        number=case.number,
        absent_since=case.absent_since,
        reported_at=case.reported_at,
        status=case.status,
        cause=case.cause,
        a9_flags=student.a9_flags if student is not None else (),
        section=section,
        closed_at=case.closed_at,
        reopened_from=case.reopened_from,
        carried_days=case.carried_days,
    )


def action_facts(
    actions: Iterable[Action], roles: Mapping[int, str] | None = None
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
        )
        for a in actions
    ]


async def ladder_of(
    services: Services, case: Case, student: Student | None = None
) -> tuple[LadderState, list[Action]]:
    """Where a case stands now, and its recorded actions."""
    actions = await services.cases.actions(case.id)
    state = ladder_state(
        case_facts(case, student),
        action_facts(actions),
        services.policy,
        services.calendar,
        services.clock.now(),
    )
    return state, actions


def today(services: Services) -> date:
    return services.policy.time.local_date(services.clock.now())


# --- reporting an absence ---------------------------------------------------------------------


@dataclass
class ReportDraft:
    """What a report has collected so far; nothing is written until it is confirmed."""

    student_id: int
    absent_since: date | None = None
    cause: str | None = None
    contact: str | None = None  # a code of caseactions.CONTACTS
    note: str | None = None


@dataclass(frozen=True)
class ClassRef:
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


async def report_classes(services: Services, person: Person) -> list[ClassRef]:
    """The classes a reporter picks from (a class teacher's own; a school's all)."""
    if not may_report(person.role):
        return []
    rows = await services.students.classes_in_scope(person)
    return [ClassRef(cid, grade, name) for cid, grade, name in rows]


async def class_students(
    services: Services, person: Person, class_id: int | None, *, offset: int, limit: int
) -> tuple[list[Student], bool]:
    """A page of the students of a class in scope, and whether there are more."""
    found = await services.students.visible(
        person, class_id=class_id, limit=limit + 1, offset=offset
    )
    return found[:limit], len(found) > limit


async def find_students(services: Services, person: Person, query: str) -> list[Student]:
    """Students in scope whose name contains ``query`` or starts with its pinyin initials."""
    if not may_report(person.role) or not query.strip():
        return []
    total = await services.students.count_visible(person)
    everyone = await services.students.visible(person, limit=max(total, 1))
    return [s for s in everyone if matches(s.name, query)]


async def student_in_scope(services: Services, person: Person, student_id: int) -> Student | None:
    """The student if the person may see them (None for a stranger's or unknown student)."""
    place = await services.students.place(student_id)
    if place is None or not can_see_student(person, place):
        return None
    return await services.students.get(student_id)


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
        raise ReportProblem(
            N_(
                "<b>{name}</b> is exempt from attendance (A3): no case is opened. "
                "Please contact the education bureau if this has changed."
            ),
            name=student.name,
        )
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
                await services.cases.record_action(
                    case.id,
                    kind=ActionKind.PHONE_CALL,
                    actor_id=person.id,
                    at=now,
                    now=now,
                    rule="A7.1",
                    detail={"outcome": draft.contact, "via": "report"},
                )
    except CaseExists as exc:  # reported a moment ago by someone else
        state, _ = await ladder_of(services, exc.case, student)
        return ReportResult(exc.case, student, created=False, state=state)
    steps = expected_steps(case_facts(case, student), services.policy, services.calendar)
    return ReportResult(case, student, created=True, steps=tuple(steps), previous=previous)


# --- buttons on reminders and cards -----------------------------------------------------------


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


async def _name_of(services: Services, person_id: int | None) -> str:
    if person_id is None:
        return ""
    who = await services.people.get(person_id)
    return who.name if who is not None else ""


async def _unit_department(services: Services, person: Person) -> str | None:
    if person.role != Role.DEPARTMENT_LIAISON or person.unit_id is None:
        return None
    unit = await services.units.get(person.unit_id)
    return unit.code if unit is not None else None


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
    return ButtonResult(
        Outcome.ALREADY,
        case,
        student,
        kind=doer.kind if doer else kind,
        by=await _name_of(services, doer.actor_id if doer else None),
        at=task.done_at,
        task=task,
    )


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
    if not may_record(person.role, task_code, await _unit_department(services, person)):
        return ButtonResult(Outcome.NOT_ALLOWED, case, student, task=task)
    if task.done:
        return await _already(services, case, student, state, task, actions, kind)
    detail: dict[str, object] = {DETAIL_TASK: task_code, "via": "button"}
    department = department_of(task_code)
    if department is not None:
        detail[DETAIL_DEPARTMENT] = department
    now = services.clock.now()
    await services.cases.record_action(
        case.id, kind=kind, actor_id=person.id, at=now, now=now, rule=task.rule, detail=detail
    )
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
    now = services.clock.now()
    await services.cases.record_action(
        case.id,
        kind=ActionKind.HOME_VISIT,
        actor_id=person.id,
        at=now,
        now=now,
        rule="A7.1",
        detail={"via": "button"},
    )
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
            return ButtonResult(
                Outcome.ALREADY,
                case,
                student,
                kind=ActionKind.ACKNOWLEDGED,
                by=await _name_of(services, action.actor_id),
                at=action.at,
                task=task,
            )
    await services.cases.record_action(
        case.id,
        kind=ActionKind.ACKNOWLEDGED,
        actor_id=person.id,
        at=now,
        now=now,
        rule=task.rule,
        detail={DETAIL_TASK: task_code},
    )
    return ButtonResult(
        Outcome.RECORDED,
        case,
        student,
        kind=ActionKind.ACKNOWLEDGED,
        by=person.name,
        at=now,
        task=task,
    )


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
        return ButtonResult(
            Outcome.CLOSED,
            case,
            student,
            kind=closing.kind if closing else None,
            by=await _name_of(services, closing.actor_id if closing else None),
            at=case.closed_at,
        )
    if not may_confirm_return(person.role):
        return ButtonResult(Outcome.NOT_ALLOWED, case, student)
    if not confirmed:
        return ButtonResult(Outcome.CONFIRM, case, student)
    now = services.clock.now()
    async with services.db.transaction():
        await services.cases.record_action(
            case.id,
            kind=ActionKind.RETURNED,
            actor_id=person.id,
            at=now,
            now=now,
            rule="A7.6",
            detail={"via": "button"},
        )
        await services.cases.close(case.id, status="returned", now=now, actor=actor_of(person.id))
        await services.outbox.cancel_for_case(case.id)
    closed = await services.cases.get(case.id)
    assert closed is not None
    queued = await _tell_closed(services, closed, student, person)
    return ButtonResult(
        Outcome.RECORDED,
        closed,
        student,
        kind=ActionKind.RETURNED,
        by=person.name,
        at=now,
        queued=queued,
    )


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
        t = translator(recipient.lang)
        text = t(
            "Case <b>{number}</b>: <b>{name}</b> is back at school, confirmed by {by}. "
            "The case is closed; no more reminders (A7.6)."
        ).format(number=case.number, name=escape(student.name), by=escape(by.name))
        if await services.outbox.enqueue(
            key=f"closed:case={case.id}:to={person_id}",
            chat_id=chat_id,
            message=OutgoingMessage(text=text),
            now=now,
            not_before=quiet_hours_next_send(now, services.policy),
            person_id=person_id,
            case_id=case.id,
        ):
            queued += 1
    return queued


# --- what a person sees -----------------------------------------------------------------------


@dataclass(frozen=True)
class CaseLine:
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
    lines: list[CaseLine]
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
        state = ladder_state(
            case_facts(case, student),
            action_facts(actions.get(case.id, [])),
            services.policy,
            services.calendar,
            now,
        )
        lines.append(CaseLine(case, student, state))
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
    unit_department = await _unit_department(services, person)
    recordable: tuple[str, ...] = ()
    if case.is_open:
        recordable = tuple(
            t.code
            for t in state.open_tasks
            if (one_press_action(t.code) is not None or t.code.endswith("-visit"))
            and may_record(person.role, t.code, unit_department)
        )
    previous = await services.cases.get(case.reopened_from) if case.reopened_from else None
    return CaseCard(
        case=case,
        student=student,
        school=school.name if school else "",
        household=await services.units.path_name(student.household_unit_id),
        guardians=await services.students.guardians(student.id),
        reporter=await _name_of(services, case.reported_by),
        state=state,
        history=history,
        sections=sections,
        restricted=person.role == Role.DEPARTMENT_LIAISON,
        can_return=case.is_open and may_confirm_return(person.role),
        recordable=recordable,
        previous_number=previous.number if previous else None,
    )
