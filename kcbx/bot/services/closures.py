"""Closing a case other than by a return (A7.6): exempt (A3) or transferred.

* Exempt (A3): a child whose physical condition makes learning impossible is not a dropout.
  Bureau staff record it with a document or photo as evidence; the case closes as 'exempt'
  and the student's ``exempt`` flag is set, so summaries count the child apart.
* Transferred: the child is enrolled at another school. The school or the bureau records the
  new school and evidence (the receiving school's letter, a registry screenshot); the case
  closes as 'transferred'.

Either way, in one transaction: the closing action (append-only, with its evidence), the
case's status, the referrals (closed with the case) and the pending reminders (withdrawn).
"""

from __future__ import annotations

from dataclasses import dataclass

from kcbx.bot.domain.caseactions import SCHOOL_LEADERS, SCHOOL_STAFF
from kcbx.bot.domain.i18n import N_
from kcbx.bot.domain.ladder import DETAIL_ACTOR_ROLE, ActionKind
from kcbx.bot.domain.model import Action, Case, Person, Student
from kcbx.bot.domain.roles import Role
from kcbx.bot.domain.scope import can_see_student
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.visits import VisitProblem, read_text
from kcbx.storage.audit import actor_of
from kcbx.storage.visits import CaseNotOpen, EvidenceFile

EXEMPT, TRANSFERRED = "exempt", "transferred"
CLOSERS: dict[str, frozenset[Role]] = {
    EXEMPT: frozenset({Role.BUREAU_STAFF}),  # A3
    TRANSFERRED: frozenset({Role.BUREAU_STAFF}) | SCHOOL_STAFF | SCHOOL_LEADERS,
}
KIND_OF = {EXEMPT: ActionKind.EXEMPTED, TRANSFERRED: ActionKind.TRANSFERRED}
RULE_OF = {EXEMPT: "A3", TRANSFERRED: None}
MAX_FILES = 5
SCHOOL_MAX = 100


def may_close(role: Role, how: str) -> bool:
    return role in CLOSERS.get(how, frozenset())


@dataclass
class ClosureDraft:
    """An exemption or a transfer being recorded; nothing is written until confirmed."""

    case_id: int
    how: str  # EXEMPT | TRANSFERRED
    new_school: str | None = None
    evidence: list[EvidenceFile] | None = None
    note: str | None = None

    @property
    def files(self) -> list[EvidenceFile]:
        return self.evidence or []


@dataclass(frozen=True)
class ClosureTarget:
    case: Case
    student: Student


async def closure_target(
    services: Services, person: Person, case_id: int, how: str
) -> ClosureTarget:
    """The open case if the person may close it this way; VisitProblem otherwise."""
    case = await services.cases.get(case_id)
    place = await services.students.place(case.student_id) if case is not None else None
    if case is None or place is None or not can_see_student(person, place):
        raise VisitProblem(N_("This is not available to you."))
    if not may_close(person.role, how):
        if how == EXEMPT:
            raise VisitProblem(N_("Only education bureau staff record an exemption (A3)."))
        raise VisitProblem(N_("Your role does not record transfers."))
    if not case.is_open:
        raise VisitProblem(N_("Case {number} is closed."), number=case.number)
    student = await services.students.get(case.student_id)
    assert student is not None
    return ClosureTarget(case, student)


def read_school(text: str) -> str:
    return read_text(text, SCHOOL_MAX)


async def close_case(services: Services, person: Person, draft: ClosureDraft) -> Action:
    """Record the exemption or transfer and close the case (checked again first)."""
    target = await closure_target(services, person, draft.case_id, draft.how)
    if not draft.files:
        raise VisitProblem(N_("Please send a document or a photo as evidence."))
    if draft.how == TRANSFERRED and not draft.new_school:
        raise VisitProblem(N_("Please name the school the child is enrolled at now."))
    detail: dict[str, object] = {DETAIL_ACTOR_ROLE: person.role.value, "evidence": len(draft.files)}
    if draft.new_school:
        detail["new_school"] = draft.new_school
    if draft.note:
        detail["note"] = draft.note
    now = services.clock.now()
    actor = actor_of(person.id)
    try:
        async with services.db.transaction():
            action = await services.visits.close_case(
                target.case.id,
                status=draft.how,
                kind=KIND_OF[draft.how],
                actor_id=person.id,
                at=now,
                now=now,
                rule=RULE_OF[draft.how],
                detail=detail,
                evidence=draft.files,
                mark_exempt=draft.how == EXEMPT,
            )
            await services.referrals.close_of_case(target.case.id, now=now, actor=actor)
            await services.outbox.cancel_for_case(target.case.id)
    except CaseNotOpen as exc:
        raise VisitProblem(N_("Case {number} is closed."), number=target.case.number) from exc
    return action
