"""Referrals to departments (A6, A9): opened when their task first falls due, told what they
need to act and no more, and following the cause when a visit finds a different one.

Routing, as the ladder emits it (``kcbx.bot.domain.ladder.state``) and the policy file sets it:

* A6: at A7.3 (day 7) the departments that own the case's cause
  (``[departments.routing]``) get task ``A6-{code}``;
* A9: a student with A9 flags brings in ``[departments.a9_relief]`` from day 0
  (task ``A9-{code}``).

The sweep calls :func:`open_referral` the first time such a task is due (a first-due hook),
so the referral row exists (and the liaison may see the case) before the message is sent;
:func:`render_department_task` writes that message. Codes that are not department units
(``school``, ``township``, ``education_bureau``) are acted on by the school, the township and
the bureau, who see the case anyway: no referral row for them.

Need to know (A6): a department is told the student's name, school and grade, where the
household is, one guardian's name, relation and phone, the cause and its task. Not the
guardians' ID numbers, not the student's or the case's notes, not the history.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from kcbx.bot.domain.caseactions import (
    ack_data,
    case_data,
    reminder_buttons,
    without,
)
from kcbx.bot.domain.i18n import Translate, translator
from kcbx.bot.domain.ladder.due import DueTask
from kcbx.bot.domain.ladder.reminders import quiet_hours_next_send
from kcbx.bot.domain.ladder.state import DETAIL_TASK, ActionKind, Task
from kcbx.bot.domain.model import Case, Guardian, Person, Student
from kcbx.bot.domain.roles import Role
from kcbx.bot.runtime.services import Services
from kcbx.bot.texts.notifications import referral_withdrawn_message
from kcbx.bot.texts.referrals import (
    NeedToKnow,
    accept_data,
    department_name,
    joint_persuasion_heading,
    referral_card_text,
    referral_heading,
    referral_text,
    referred_again_message,
    referred_to_line,
)
from kcbx.bot.texts.reminders import buttons_for, heading, language_of
from kcbx.storage.outbox import OutgoingMessage
from kcbx.storage.referrals import InboxItem, Referral

log = logging.getLogger(__name__)

A9_REASON = "a9"
# What a department is asked to do (the ladder's texts of its A6/A9 tasks).


def first_guardian(guardians: list[Guardian]) -> Guardian | None:
    """The guardian to phone: the first with a phone, else the first."""
    with_phone = [g for g in guardians if g.phone]
    found = with_phone or guardians
    return found[0] if found else None


async def need_to_know(services: Services, case: Case, student: Student) -> NeedToKnow:
    school = await services.units.get(student.school_id)
    return NeedToKnow(
        case_id=case.id,
        case_number=case.number,
        case_status=case.status,
        absent_since=case.absent_since,
        cause=case.cause,
        student_name=student.name,
        school=school.name if school else "",
        grade=student.grade,
        class_name=student.class_name,
        household=await services.units.path_name(student.household_unit_id),
        guardian=first_guardian(await services.students.guardians(student.id)),
        a9=bool(student.a9_flags),
    )


# --- the sweep's hooks --------------------------------------------------------------------


async def open_referral(services: Services, case: Case, student: Student, task: Task) -> None:
    """First-due hook of ``A6-``/``A9-`` tasks: refer the case to the department (A6, A9)."""
    code = task.department
    if code is None or task.role != Role.DEPARTMENT_LIAISON:
        return  # the school, the township or the bureau: they see the case anyway
    district = await services.units.nearest(student.school_id, "district")
    unit_id = await services.referrals.department_unit(
        code, district.id if district is not None else None
    )
    if unit_id is None:
        log.warning("no department unit with code %s for case %s", code, case.number)
        return
    reason = A9_REASON if task.rule == "A9" else case.cause
    await services.referrals.refer(
        case.id, unit_id, reason=reason, now=services.clock.now(), actor="system"
    )


async def render_department_task(
    services: Services, due: DueTask, gettext: Translate
) -> list[OutgoingMessage]:
    """Renderer of ``A6-``/``A9-`` tasks: the need-to-know referral, with Accept."""
    t = gettext
    lang = language_of(due.recipient, services.config.default_language)
    facts = await need_to_know(services, due.case, due.student)
    code = due.task.department or ""
    department = department_name(code, t)
    if due.task.role == Role.DEPARTMENT_LIAISON:
        title = referral_heading(due.task.rule, due.case.number, t)
    else:  # the school, the township or the bureau acting for a cause it owns (A6)
        title = joint_persuasion_heading(due.case.number, t)
    first = heading(due, services.policy, t, lang)
    text = referral_text(facts, department, due.task.what, t, lang, heading=f"{first}\n{title}")
    if due.recipient.role != Role.DEPARTMENT_LIAISON:  # the bureau standing in, or the school
        return [OutgoingMessage(text=text, buttons=buttons_for(due, t))]
    # A department: [接收] while the referral is open, and its action in one tap (which
    # accepts it too); no "Received" (accepting is that), no second way to record the same
    # action ([记录本部门工作] with details is in /inbox), no case card (need to know, A6).
    referral = await _referral_of(services, due.case.id, code)
    own: tuple[tuple[str, str], ...] = ()
    if referral is not None and referral.status == "open":
        own = ((t("Accept"), accept_data(referral.id)),)
    buttons = without(
        reminder_buttons(due.case.id, due.task.code, t, can_return=False),
        case_data(due.case.id),
        ack_data(due.case.id, due.task.code),
    )
    row = (*own, *(button for buttons_row in buttons for button in buttons_row))
    return [OutgoingMessage(text=text, buttons=(row,) if row else ())]


async def _referral_of(services: Services, case_id: int, code: str) -> Referral | None:
    for referral in await services.referrals.of_case(case_id):
        if referral.department_code == code:
            return referral
    return None


# --- the cause changes ----------------------------------------------------------------------


@dataclass(frozen=True)
class Rerouted:
    """What following a new cause did to a case's referrals (department codes)."""

    withdrawn: tuple[str, ...] = ()
    reopened: tuple[str, ...] = ()


def wanted_departments(services: Services, cause: str, a9: bool) -> set[str]:
    """The department codes a case with this cause (and A9 flags) concerns (A6, A9)."""
    departments = services.policy.departments
    wanted = set(departments.routes_for(cause))
    if a9:
        wanted |= set(departments.a9_relief)
    return wanted


async def follow_cause(
    services: Services, case: Case, student: Student, new_cause: str, *, actor: Person
) -> Rerouted:
    """The cause of a case is now ``new_cause``: the referrals follow it (A6).

    Departments no longer concerned have their referral withdrawn and are told; a department
    concerned again gets its withdrawn referral back and the referral message. Departments
    never referred get theirs from the sweep: the ladder now owes ``A6-{code}`` tasks for the
    new cause, and their first-due hook opens the referral. Call inside the transaction that
    records the finding.
    """
    now = services.clock.now()
    wanted = wanted_departments(services, new_cause, bool(student.a9_flags))
    withdrawn: list[str] = []
    reopened: list[str] = []
    facts: NeedToKnow | None = None
    for referral in await services.referrals.of_case(case.id, with_withdrawn=True):
        code = referral.department_code or ""
        concerned = code in wanted
        if referral.standing and not concerned:
            why = f"cause:{new_cause}"
            if await services.referrals.withdraw(
                referral.id, why=why, now=now, actor=f"person:{actor.id}"
            ):
                withdrawn.append(code)
                await _tell_withdrawn(services, case, referral, new_cause)
        elif not referral.standing and referral.status == "withdrawn" and concerned:
            reopen = await services.referrals.refer(
                case.id,
                referral.department_id,
                reason=new_cause,
                now=now,
                actor=f"person:{actor.id}",
            )
            if reopen is not None:
                reopened.append(code)
                facts = facts or await need_to_know(services, case, student)
                await _tell_referred(services, reopen, facts)
    return Rerouted(tuple(withdrawn), tuple(reopened))


async def _liaisons(services: Services, department_id: int) -> list[Person]:
    people = await services.people.in_units([department_id], [Role.DEPARTMENT_LIAISON])
    return [p for p in people if p.chat_id is not None]


async def _tell_withdrawn(
    services: Services, case: Case, referral: Referral, new_cause: str
) -> None:
    now = services.clock.now()
    for person in await _liaisons(services, referral.department_id):
        t = translator(person.lang or services.config.default_language)
        await services.outbox.enqueue(
            key=f"ref-withdrawn:{referral.id}:{now.isoformat()}:to={person.id}",
            chat_id=person.chat_id or 0,
            message=referral_withdrawn_message(case, new_cause, t),
            now=now,
            not_before=quiet_hours_next_send(now, services.policy),
            person_id=person.id,
            case_id=case.id,
        )


async def _tell_referred(services: Services, referral: Referral, facts: NeedToKnow) -> None:
    now = services.clock.now()
    code = referral.department_code or ""
    for person in await _liaisons(services, referral.department_id):
        lang = person.lang or services.config.default_language
        text, buttons = referred_again_message(
            facts, code, accept_data(referral.id), translator(lang), lang
        )
        await services.outbox.enqueue(
            key=f"ref-again:{referral.id}:{now.isoformat()}:to={person.id}",
            chat_id=person.chat_id or 0,
            message=OutgoingMessage(text=text, buttons=buttons),
            now=now,
            not_before=quiet_hours_next_send(now, services.policy),
            person_id=person.id,
            case_id=facts.case_id,
        )


# --- the department's inbox -----------------------------------------------------------------


@dataclass(frozen=True)
class InboxPage:
    items: list[InboxItem]
    total: int
    offset: int
    per_page: int


class ReferralRefused(Exception):
    """Not this person's referral (or no such referral): answered as out of scope."""


async def inbox_page(
    services: Services, person: Person, offset: int, per_page: int = 5
) -> InboxPage:
    """A page of the referrals to the liaison's department (A6: they see no other case)."""
    if person.role != Role.DEPARTMENT_LIAISON or person.unit_id is None:
        raise ReferralRefused
    total = await services.referrals.count_inbox(person.unit_id)
    offset = max(0, min(offset, max(total - 1, 0)))
    offset -= offset % per_page
    items = await services.referrals.inbox(person.unit_id, limit=per_page, offset=offset)
    return InboxPage(items, total, offset, per_page)


async def own_referral(services: Services, person: Person, referral_id: int) -> Referral:
    """The referral if it is to the liaison's department and not withdrawn."""
    referral = await services.referrals.get(referral_id)
    if (
        referral is None
        or person.role != Role.DEPARTMENT_LIAISON
        or referral.department_id != person.unit_id
        or referral.status == "withdrawn"
    ):
        raise ReferralRefused
    return referral


@dataclass(frozen=True)
class Acceptance:
    """What [接收] did: ``accepted`` now, or who accepted it before (by, at)."""

    accepted: bool
    by: str
    at: datetime | None
    case_open: bool


async def accept_referral(services: Services, person: Person, referral_id: int) -> Acceptance:
    """Accept a referral to one's department (``accepted`` False when it was accepted
    already, or the case is closed: then who accepted it and when).

    Accepting acknowledges the department's A6/A9 task: the "not done" reminders stop, and
    the department owes its action within ``[tasks] department_action_days``.
    """
    referral = await own_referral(services, person, referral_id)
    now = services.clock.now()
    case = await services.cases.get(referral.case_id)
    case_open = case is not None and case.is_open
    accepted = False
    if case_open:
        async with services.db.transaction():
            accepted = await services.referrals.accept(referral.id, person_id=person.id, now=now)
            if accepted and referral.department_code:
                rule = "A9" if referral.reason == A9_REASON else "A6"
                await services.cases.record_action(
                    referral.case_id,
                    kind=ActionKind.ACKNOWLEDGED,
                    actor_id=person.id,
                    now=now,
                    rule=rule,
                    detail={DETAIL_TASK: f"{rule}-{referral.department_code}", "via": "referral"},
                )
    if accepted:
        return Acceptance(True, person.name, now, case_open)
    stored = await services.referrals.get(referral.id) or referral
    by = await services.people.get(stored.accepted_by) if stored.accepted_by else None
    return Acceptance(False, by.name if by else "", stored.accepted_at, case_open)


async def referral_card(
    services: Services, person: Person, referral_id: int, gettext: Translate, lang: str
) -> tuple[str, Referral]:
    """The need-to-know text of one referral, for its department's liaison."""
    referral = await own_referral(services, person, referral_id)
    case = await services.cases.get(referral.case_id)
    student = await services.students.get(case.student_id) if case else None
    if case is None or student is None:
        raise ReferralRefused
    facts = await need_to_know(services, case, student)
    rule = "A9" if referral.reason == A9_REASON else "A6"
    code = referral.department_code or ""
    return referral_card_text(facts, code, rule, referral.status, gettext, lang), referral


async def card_section(services: Services, case: Case, gettext: Translate, lang: str) -> str | None:
    """Card section: the departments the case is referred to, and the evidence kept."""
    del lang
    t = gettext
    lines = []
    referrals = await services.referrals.of_case(case.id)
    if referrals:
        lines.append(referred_to_line([(r.department_code or "", r.status) for r in referrals], t))
    evidence = await services.visits.evidence_of_case(case.id)
    if evidence:
        photos = sum(1 for e in evidence if e.kind == "photo")
        lines.append(
            t("Evidence kept: {photos} photos, {documents} documents").format(
                photos=photos, documents=len(evidence) - photos
            )
        )
    return "\n".join(lines) or None
