"""The notice to enrol by a deadline (A7.4) and the order to correct (A7.5): the service.

What a bureau clerk expects: when a case reaches day 15 the bot numbers the notice and hands
over the document, ready to print, sign and stamp (:func:`number_document`, the files rendered
off the sweep by :mod:`kcbx.bot.engine.notice_files`); pressing "Issued" records that it went
out (:func:`issue`, action ``notice_issued``); whoever hands it to the guardians records the
delivery with a photo of the signed receipt (:func:`record_delivery`, action
``notice_delivered``), and the deadline runs from that day. When it passes with the child still
away, the order to correct follows the same way, in its own number series, with its own deadline
(action ``correction_ordered``).

Only bureau staff of the district and the township leader and cadres of the household's township
may issue or record (:func:`may_handle_notices`); every entry point re-checks it. The pure rules
are at the top; the functions below them read and write through the repositories."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from kcbx.bot.documents.wording import NoticeData
from kcbx.bot.domain.capabilities import roles_of
from kcbx.bot.domain.dates import DateError, parse_user_date
from kcbx.bot.domain.grades import GradeStyle, grade_style
from kcbx.bot.domain.grades import grade_class as school_grade_class
from kcbx.bot.domain.i18n import N_
from kcbx.bot.domain.ladder.state import (
    DETAIL_DEADLINE,
    DETAIL_DELIVERED_ON,
    DETAIL_NUMBER,
    ActionKind,
)
from kcbx.bot.domain.model import Case, Notice, Person, Student
from kcbx.bot.domain.policy.tree import Policy
from kcbx.bot.domain.roles import Role
from kcbx.bot.domain.schoolcal import SchoolCalendar
from kcbx.bot.domain.scope import StudentPlace, Viewer, can_see_student
from kcbx.bot.runtime.services import Services
from kcbx.bot.services import Problem
from kcbx.bot.services.cases import record_now
from kcbx.bot.services.visits import action_time
from kcbx.storage.records.audit import actor_of

NOTICE: Final = "notice"
CORRECTION: Final = "correction"

ISSUER_ROLES = roles_of("notices")
RULE_OF_KIND = {NOTICE: "A7.4", CORRECTION: "A7.5"}
ACTION_OF_KIND = {NOTICE: ActionKind.NOTICE_DELIVERED, CORRECTION: ActionKind.CORRECTION_ORDERED}
KIND_NAMES = {
    NOTICE: N_("notice to enrol by a deadline"),
    CORRECTION: N_("reprimand and order to correct"),
}

MAX_RECEIVER_CHARS = 40
RECEIPT_MIMES = ("image/jpeg", "image/png", "image/webp", "application/pdf")
BLANK_NAME = "＿＿＿＿＿＿"  # printed when the roster has no guardian: filled in by hand
_GENDERS = {"M": "男", "F": "女", "男": "男", "女": "女"}


# --- pure rules ------------------------------------------------------------------------------


def may_handle_notices(person: Viewer, place: StudentPlace) -> bool:
    """Whether a person may issue a child's notices or record their delivery (A7.4, A7.5).

    The education bureau (the district's bureau staff) and the township of the child's
    household (its leader, and the cadres whose 三包 unit holds the household, A5.1) issue
    them together; nobody else, not even someone who may see the child.
    """
    if not person.active or person.role not in ISSUER_ROLES or person.unit_id is None:
        return False
    if person.role == Role.BUREAU_STAFF:
        return can_see_student(person, place)
    return person.unit_id in place.household_units


def deadline_from(delivered_on: date, kind: str, policy: Policy, calendar: SchoolCalendar) -> date:
    """The deadline a document sets, counted from its delivery (A7.4: 7 days; A7.5: 7 days)."""
    ladder = policy.ladder
    days = ladder.notice_deadline_days if kind == NOTICE else ladder.correction_deadline_days
    return calendar.add_days(delivered_on, days)


def deadline_days(kind: str, policy: Policy) -> int:
    ladder = policy.ladder
    return ladder.notice_deadline_days if kind == NOTICE else ladder.correction_deadline_days


def check_delivery_date(day: date, *, issue_date: date, today: date) -> str | None:
    """Why a delivery date cannot be right (a msgid), or None: not ahead, not before issue."""
    if day > today:
        return N_("The delivery date cannot be in the future.")
    if day < issue_date:
        return N_("The document is dated {date}: it cannot have been delivered before that.")
    return None


def clean_receiver(text: str) -> str | None:
    """Who received the document, as typed: one line, at most 40 characters; None if not."""
    value = " ".join(text.split())
    if not value or len(value) > MAX_RECEIVER_CHARS or value.startswith("/"):
        return None
    return value


def grade_class(grade: int | None, class_name: str | None, style: GradeStyle = "year") -> str:
    """``三年级1班`` from grade 3 and class ``1班`` (kcbx.bot.domain.grades)."""
    return school_grade_class(grade, class_name, style)


class NoticeError(Problem):
    """A request the person must correct; ``message`` is a msgid, ``params`` its fields."""


class NoticeDenied(NoticeError):
    """Out of the person's scope, or no such notice: the same short refusal for both."""

    def __init__(self) -> None:
        super().__init__(N_("This is not available to you."))


@dataclass(frozen=True)
class NoticeView:
    """A notice with its case and student, loaded for someone allowed to handle it."""

    notice: Notice
    case: Case
    student: Student


# --- the documents ---------------------------------------------------------------------------


async def notice_data(
    services: Services, notice: Notice, case: Case, student: Student
) -> NoticeData:
    """What the document says, from the register, the case and the roster."""
    units = services.units
    guardians = [g for g in await services.students.guardians(student.id) if g.name.strip()]
    school = await units.get(student.school_id)
    household = student.household_unit_id or student.school_id
    township = await units.nearest(household, "township")
    district = await units.nearest(household, "district") or await units.nearest(
        student.school_id, "district"
    )
    organs = services.config.organs
    district_name = district.name if district else None
    issuers = [organs.bureau_name(district_name)]  # A7.4: the bureau with the township
    if township is not None:
        issuers.append(organs.township_name(township.name, district_name))
    previous: str | None = None
    previous_deadline: date | None = None
    linked = notice.cites_id if notice.kind == CORRECTION else notice.replaces_id
    if linked is not None:
        cited = await services.notices.get(linked)
        previous = cited.number if cited else None
        if cited is not None and notice.kind == CORRECTION:
            previous_deadline = cited.deadline
    today = services.policy.time.local_date(services.clock.now())
    contact = ""
    if student.class_id is not None:
        teacher = await _class_teacher(services, student)
        if teacher is not None and teacher.phone and school is not None:
            contact = f"{school.name} {teacher.name} {teacher.phone}"
    return NoticeData(
        kind=CORRECTION if notice.kind == CORRECTION else NOTICE,
        number=notice.number,
        guardians=list(guardians) or [BLANK_NAME],
        student=student.name,
        gender=_GENDERS.get(student.gender or "", ""),
        school=school.name if school else "",
        grade_class=grade_class(
            student.grade, student.class_name, grade_style(services.config.grade_style)
        ),
        address=(await units.path_name(student.household_unit_id)).replace("/", ""),
        absent_since=case.absent_since,
        days_absent=max(0, services.calendar.days_between(case.absent_since, today)),
        deadline=notice.deadline
        if notice.deadline and notice.deadline > notice.issue_date
        else None,
        deadline_days=deadline_days(notice.kind, services.policy),
        issuers=issuers,
        issue_date=notice.issue_date,
        previous_number=previous,
        contact=contact,
        previous_deadline=previous_deadline
        if previous_deadline is not None and previous_deadline < notice.issue_date
        else None,
    )


def issue_date_of(kind: str, today: date, cites: Notice | None) -> date:
    """The date printed on a new document: today, and an order to correct (A7.5) never
    before the day after the deadline of the notice it follows."""
    if kind == CORRECTION and cites is not None and cites.deadline is not None:
        return max(today, cites.deadline + timedelta(days=1))
    return today


async def _class_teacher(services: Services, student: Student) -> Person | None:
    place = await services.students.place(student.id)
    if place is None or place.class_teacher_id is None:
        return None
    return await services.people.get(place.class_teacher_id)


async def render_documents(services: Services, notice: Notice) -> Notice:
    """Render and keep the PDF and the .docx of a numbered document (once)."""
    # reportlab, python-docx and the fonts: imported by the process that renders, when it does
    from kcbx.bot.documents.notice import notice_filename, render_notice_docx, render_notice_pdf

    if notice.has_documents:
        return notice
    case = await services.cases.get(notice.case_id)
    assert case is not None
    student = await services.students.get(case.student_id)
    assert student is not None
    data = await notice_data(services, notice, case, student)
    pdf = await asyncio.to_thread(render_notice_pdf, data)
    docx = await asyncio.to_thread(render_notice_docx, data)
    now = services.clock.now()
    async with services.db.transaction():
        pdf_id = await services.outbox.put_blob(
            data=pdf, filename=notice_filename(data, "pdf"), mime="application/pdf", now=now
        )
        docx_id = await services.outbox.put_blob(
            data=docx,
            filename=notice_filename(data, "docx"),
            mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            now=now,
        )
        await services.notices.attach_documents(
            notice.id, pdf_blob_id=pdf_id, docx_blob_id=docx_id, now=now
        )
    refreshed = await services.notices.get(notice.id)
    assert refreshed is not None
    return refreshed


def _numbering(services: Services, kind: str, year: int) -> Callable[[int], str]:
    return lambda seq: services.policy.notice.number(year, seq, kind)


async def number_document(
    services: Services, case: Case, kind: str, *, task: str | None = None
) -> Notice | None:
    """The case's current document of ``kind``, numbered; rendered later, off the sweep.

    The notice (A7.4) is made once per case. An order to correct (A7.5) is made when none is
    pending: a renewed order, after the previous one's deadline passed, gets a new number.
    None for an order when the case has no notice to cite.
    """
    now = services.clock.now()
    today = services.policy.time.local_date(now)
    cites: Notice | None = None
    if kind == CORRECTION:
        cites = await services.notices.current(case.id, NOTICE)
        if cites is None:
            return None
    notice, _new = await services.notices.open_document(
        case.id,
        kind,
        year=today.year,
        number=_numbering(services, kind, today.year),
        issue_date=issue_date_of(kind, today, cites),
        task=task,
        cites_id=cites.id if cites else None,
        reuse_delivered=kind == NOTICE,
        now=now,
        actor="system",
    )
    return notice


async def record_export(services: Services, notice: Notice, person: Person, how: str) -> None:
    """Audit that a person was sent a child's document (every export is audited)."""
    await services.audit.record(
        at=services.clock.now(),
        actor="system" if how == "sweep" else actor_of(person.id),
        action="notice:send",
        entity="notice",
        entity_id=notice.id,
        detail={"to": person.id, "number": notice.number, "how": how},
    )


# --- loading with the scope check ------------------------------------------------------------


async def load_for(services: Services, person: Person, notice_id: int) -> NoticeView:
    """A notice the person may handle, with its case and student; NoticeDenied otherwise."""
    notice = await services.notices.get(notice_id)
    if notice is None:
        raise NoticeDenied()
    case = await services.cases.get(notice.case_id)
    if case is None:
        raise NoticeDenied()
    place = await services.students.place(case.student_id)
    if place is None or not may_handle_notices(person, place):
        raise NoticeDenied()
    student = await services.students.get(case.student_id)
    if student is None:
        raise NoticeDenied()
    return NoticeView(notice, case, student)


async def may_handle_case(services: Services, person: Person, case: Case) -> bool:
    place = await services.students.place(case.student_id)
    return place is not None and may_handle_notices(person, place)


def _require_actionable(view: NoticeView) -> None:
    if not view.case.is_open:
        raise NoticeError(
            N_("Case {number} is closed: nothing more to record."), number=view.case.number
        )
    if view.notice.replaced:
        raise NoticeError(
            N_("Document {number} was replaced by a new one; please use the new number."),
            number=view.notice.number,
        )


# --- issuing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    view: NoticeView
    already: bool  # it had been recorded before (by this person or another)
    deliver_by: date | None  # A7.4 (ours): deliver within notice_delivery_days


async def issue(services: Services, person: Person, notice_id: int) -> Issued:
    """Record that the printed document was signed and stamped ("Issued")."""
    view = await load_for(services, person, notice_id)
    _require_actionable(view)
    notice, now = view.notice, services.clock.now()
    ladder = services.policy.ladder
    if notice.status != "drafted":
        return Issued(view, True, None)
    async with services.db.transaction():
        if not await services.notices.mark_issued(notice.id, person_id=person.id, now=now):
            return Issued(view, True, None)
        if notice.kind == NOTICE:
            detail = {DETAIL_NUMBER: notice.number, "notice_id": notice.id}
            kind = ActionKind.NOTICE_ISSUED
            await record_now(services, notice.case_id, kind, person, "A7.4", detail, now)
    refreshed = await load_for(services, person, notice_id)
    today = services.policy.time.local_date(now)
    deliver_by = services.calendar.add_days(today, ladder.notice_delivery_days)
    return Issued(refreshed, False, deliver_by)


# --- delivery --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryStart:
    view: NoticeView
    guardians: list[str]
    today: date


async def start_delivery(services: Services, person: Person, notice_id: int) -> DeliveryStart:
    """Check that the person may record this document's delivery, and what to offer."""
    view = await load_for(services, person, notice_id)
    _require_actionable(view)
    if view.notice.delivered:
        raise NoticeError(
            N_("Document {number} is already recorded as delivered on {date}."),
            number=view.notice.number,
            date=view.notice.delivered_on or "",
        )
    guardians = [g.name for g in await services.students.guardians(view.student.id)]
    today = services.policy.time.local_date(services.clock.now())
    return DeliveryStart(view, [g for g in guardians if g.strip()][:4], today)


def read_delivery_date(text: str, notice: Notice, today: date) -> date:
    """A typed delivery date, checked; NoticeError with the reason otherwise."""
    try:
        return checked_delivery_date(parse_user_date(text, today), notice, today)
    except DateError as exc:
        raise NoticeError(exc.message) from exc


def checked_delivery_date(day: date, notice: Notice, today: date) -> date:
    problem = check_delivery_date(day, issue_date=notice.issue_date, today=today)
    if problem is not None:
        raise NoticeError(problem, date=notice.issue_date)
    return day


@dataclass(frozen=True)
class Delivered:
    view: NoticeView
    deadline: date


async def record_delivery(
    services: Services,
    person: Person,
    notice_id: int,
    *,
    delivered_on: date,
    delivered_to: str,
    receipt: bytes,
    receipt_name: str,
    receipt_mime: str,
) -> Delivered:
    """Record the delivery with the receipt's photo: all of it, or nothing.

    The deadline runs from ``delivered_on`` (A7.4, A7.5); it is written into the action's
    detail so that the ladder and the register agree even if the policy changes later.
    """
    view = await load_for(services, person, notice_id)
    _require_actionable(view)
    notice, now = view.notice, services.clock.now()
    today = services.policy.time.local_date(now)
    checked_delivery_date(delivered_on, notice, today)
    receiver = clean_receiver(delivered_to)
    if receiver is None:
        raise NoticeError(N_("Please write who received it, in one line."))
    if not receipt or len(receipt) > services.config.max_upload_bytes:
        raise NoticeError(N_("Please send a photo of the signed receipt."))
    deadline = deadline_from(delivered_on, notice.kind, services.policy, services.calendar)
    # midday of an earlier day, but not before the document existed
    at = min(max(action_time(delivered_on, now, services.policy.time.tz), notice.created_at), now)
    async with services.db.transaction():
        blob_id = await services.outbox.put_blob(
            data=receipt, filename=receipt_name, mime=receipt_mime, now=now
        )
        action = await services.cases.record_action(
            notice.case_id,
            kind=ACTION_OF_KIND[notice.kind],
            actor_id=person.id,
            at=at,
            now=now,
            rule=RULE_OF_KIND[notice.kind],
            detail={
                DETAIL_DELIVERED_ON: delivered_on.isoformat(),
                DETAIL_DEADLINE: deadline.isoformat(),
                DETAIL_NUMBER: notice.number,
                "notice_id": notice.id,
                "delivered_to": receiver,
                "receipt_blob_id": blob_id,
            },
        )
        marked = await services.notices.mark_delivered(
            notice.id,
            delivered_on=delivered_on,
            delivered_to=receiver,
            person_id=person.id,
            receipt_blob_id=blob_id,
            deadline=deadline,
            action_id=action.id,
            now=now,
        )
        if not marked:  # delivered or replaced by someone else meanwhile: write nothing
            raise NoticeError(
                N_("Document {number} was changed meanwhile; please look again."),
                number=notice.number,
            )
    refreshed = await load_for(services, person, notice_id)
    return Delivered(refreshed, deadline)


# --- re-issuing (a mistake corrected) --------------------------------------------------------


@dataclass(frozen=True)
class Reissued:
    view: NoticeView  # the new notice
    replaced: str  # the number it replaces


async def check_reissue(services: Services, person: Person, notice_id: int) -> NoticeView:
    """Whether a notice may be re-issued (before asking "are you sure?"); nothing is written."""
    view = await load_for(services, person, notice_id)
    _require_actionable(view)
    if view.notice.kind != NOTICE:
        raise NoticeError(N_("Only a notice to enrol by a deadline can be re-issued here."))
    if await services.notices.current(view.case.id, CORRECTION) is not None:
        raise NoticeError(
            N_("An order to correct already cites {number}: it can no longer be re-issued."),
            number=view.notice.number,
        )
    return view


async def reissue(services: Services, person: Person, notice_id: int) -> Reissued:
    """Replace a notice by a new one with a new number, pointing to the one it replaces.

    A delivery already recorded for the old notice is retracted (a ``note`` that corrects
    it), so the new notice's own delivery starts the deadline. An order to correct that
    already cites the notice makes it too late: refused.
    """
    view = await check_reissue(services, person, notice_id)
    old, now = view.notice, services.clock.now()
    today = services.policy.time.local_date(now)
    async with services.db.transaction():
        new = await services.notices.reissue(
            old,
            year=today.year,
            number=_numbering(services, NOTICE, today.year),
            issue_date=today,
            now=now,
            actor=actor_of(person.id),
        )
        if new is None:
            raise NoticeError(
                N_("Document {number} was replaced by a new one; please use the new number."),
                number=old.number,
            )
        if old.action_id is not None:
            await services.cases.record_action(
                old.case_id,
                kind=ActionKind.NOTE,
                actor_id=person.id,
                now=now,
                rule="A7.4",
                detail={"reason": "notice re-issued", "replaced": old.number, "by": new.number},
                corrects_id=old.action_id,
            )
    await render_documents(services, new)
    return Reissued(await load_for(services, person, new.id), old.number)


# --- the documents again, and the overview ---------------------------------------------------


@dataclass(frozen=True)
class DocumentFile:
    data: bytes
    filename: str


async def documents_for(
    services: Services, person: Person, notice_id: int
) -> tuple[NoticeView, list[DocumentFile]]:
    """The PDF and the .docx of a document, for someone allowed to have them (audited)."""
    view = await load_for(services, person, notice_id)
    notice = await render_documents(services, view.notice)
    files = []
    for blob_id in (notice.pdf_blob_id, notice.docx_blob_id):
        blob = await services.outbox.blob(blob_id) if blob_id is not None else None
        if blob is not None:
            files.append(DocumentFile(blob[0], blob[1]))
    await record_export(services, notice, person, "request")
    return NoticeView(notice, view.case, view.student), files


async def receipt_of(
    services: Services, person: Person, notice_id: int
) -> tuple[NoticeView, DocumentFile | None]:
    """The photo of a document's signed receipt (audited)."""
    view = await load_for(services, person, notice_id)
    blob_id = view.notice.receipt_blob_id
    blob = await services.outbox.blob(blob_id) if blob_id is not None else None
    if blob is None:
        return view, None
    await services.audit.record(
        services.clock.now(), actor_of(person.id), "notice:receipt", "notice", view.notice.id
    )
    return view, DocumentFile(blob[0], blob[1])


@dataclass(frozen=True)
class Overview:
    pending: list[NoticeView]  # to issue or deliver
    running: list[NoticeView]  # delivered, deadline running


async def overview(services: Services, person: Person) -> Overview:
    """The documents of open cases this person may handle: pending first, then running."""
    if person.role not in ISSUER_ROLES:
        raise NoticeDenied()

    async def views(notices: list[Notice]) -> list[NoticeView]:
        out = []
        for notice in notices:
            try:
                out.append(await load_for(services, person, notice.id))
            except NoticeDenied:
                continue
        return out

    pending = await views(await services.notices.pending_visible(person))
    running = await views(await services.notices.running_visible(person))
    return Overview(pending, running)
