"""Closing a case other than by a return (A7.6): exempt (A3) or transferred.

* Exempt (A3): a child whose physical condition makes learning impossible is not a dropout.
  The school's principal or lead, or bureau staff, record it with the condition (a category of
  :data:`EXEMPT_CONDITIONS`) and a document or photo as evidence; the case closes as 'exempt'
  and the student's ``exempt`` flag is set, so summaries count the child apart. The bureau
  reviews it: a school's exemption waits for bureau staff to confirm, who are recorded as its
  reviewer.
* Transferred: the child is enrolled at another school. The school or the bureau records the
  new school and evidence (the receiving school's letter, a registry screenshot); the case
  closes as 'transferred'.

A closing changes every A8 count, and the people a flag is about must not clear it alone: from
ladder day ``review_from_day`` (A7.2, when a case would carry an A8 finding) the closing is a
proposal, and the case stays open and counted until someone else confirms it: bureau staff,
or for a transfer to a school of the district its principal or lead. A closing confirmed, or
one made before that day, is one transaction: the closing action (append-only, with its
evidence), the case's status, the referrals (closed with the case) and the pending reminders
(withdrawn).
"""

from __future__ import annotations

from dataclasses import dataclass

from kcbx.bot.domain.capabilities import roles_of
from kcbx.bot.domain.caseactions import SCHOOL_LEADERS
from kcbx.bot.domain.i18n import N_
from kcbx.bot.domain.ladder.state import DETAIL_ACTOR_ROLE, ActionKind
from kcbx.bot.domain.model import Action, Case, Person, Student, Unit
from kcbx.bot.domain.roles import Role
from kcbx.bot.domain.scope import can_see_student
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.visits import VisitProblem, read_text
from kcbx.storage.accountability_repo import (
    CONFIRMED,
    PENDING,
    REJECTED,
    ClosureReview,
    ReviewTaken,
)
from kcbx.storage.records.audit import actor_of
from kcbx.storage.visits import CaseNotOpen, EvidenceFile

EXEMPT, TRANSFERRED = "exempt", "transferred"
CLOSERS: dict[str, frozenset[Role]] = {
    EXEMPT: roles_of("exempt"),  # A3: proposed by the school, confirmed by the bureau
    TRANSFERRED: roles_of("transfer"),
}
REVIEWERS = frozenset({Role.BUREAU_STAFF})  # confirm any proposal of their district
# A3 "身体状况不具备学习条件": the condition recorded with an exemption, msgids.
EXEMPT_CONDITIONS: dict[str, str] = {
    "disability": N_("severe disability, assessed"),
    "illness": N_("serious illness"),
    "other": N_("another physical condition, medically reviewed"),
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
    condition: str | None = None  # EXEMPT: a key of EXEMPT_CONDITIONS

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
            raise VisitProblem(N_("Only education bureau staff record an exemption (Article 3)."))
        raise VisitProblem(N_("Your role does not record transfers."))
    if not case.is_open:
        raise VisitProblem(N_("Case {number} is closed."), number=case.number)
    student = await services.students.get(case.student_id)
    assert student is not None
    return ClosureTarget(case, student)


def read_school(text: str) -> str:
    return read_text(text, SCHOOL_MAX)


def review_needed(services: Services, case: Case, person: Person, how: str) -> bool:
    """Whether this closing needs a second person: from ladder day ``review_from_day``, and
    an exemption a school proposes always (the bureau reviews A3)."""
    if how == EXEMPT and person.role not in REVIEWERS:
        return True
    calendar = services.calendar
    today = services.clock.now().astimezone(services.policy.time.tz).date()
    start = calendar.add_days(case.absent_since, -case.carried_days)
    return calendar.days_between(start, today) >= services.policy.accountability.review_from_day


@dataclass(frozen=True)
class ClosureOutcome:
    """What saving a closing did: closed the case, or proposed it (``review`` pending)."""

    action: Action
    review: ClosureReview | None = None
    reviewers: tuple[Person, ...] = ()


def _detail(person: Person, draft: ClosureDraft) -> dict[str, object]:
    detail: dict[str, object] = {DETAIL_ACTOR_ROLE: person.role.value, "evidence": len(draft.files)}
    given = {"new_school": draft.new_school, "condition": draft.condition, "note": draft.note}
    detail.update((key, value) for key, value in given.items() if value)
    return detail


async def close_case(services: Services, person: Person, draft: ClosureDraft) -> ClosureOutcome:
    """Record the exemption or transfer (checked again first): close the case, or propose
    it for a second person's confirmation when :func:`review_needed`."""
    target = await closure_target(services, person, draft.case_id, draft.how)
    if not draft.files:
        raise VisitProblem(N_("Please send a document or a photo as evidence."))
    if draft.how == TRANSFERRED and not draft.new_school:
        raise VisitProblem(N_("Please name the school the child is enrolled at now."))
    if draft.how == EXEMPT and draft.condition not in EXEMPT_CONDITIONS:
        raise VisitProblem(N_("Please choose the condition of the exemption (Article 3)."))
    detail = _detail(person, draft)
    if review_needed(services, target.case, person, draft.how):
        return await _propose(services, person, draft, target, detail)
    if draft.how == EXEMPT:
        detail["reviewer"] = person.id  # bureau staff reviewed it themselves
    action = await _close(services, target.case, draft.how, person.id, detail, draft.files)
    return ClosureOutcome(action)


async def _close(
    services: Services,
    case: Case,
    how: str,
    actor_id: int,
    detail: dict[str, object],
    files: list[EvidenceFile],
) -> Action:
    now = services.clock.now()
    try:
        async with services.db.transaction():
            action = await services.visits.close_case(
                case.id,
                status=how,
                kind=KIND_OF[how],
                actor_id=actor_id,
                at=now,
                now=now,
                rule=RULE_OF[how],
                detail=detail,
                evidence=files,
                mark_exempt=how == EXEMPT,
            )
            await services.referrals.close_of_case(case.id, now=now, actor=actor_of(actor_id))
            await services.outbox.cancel_for_case(case.id)
    except CaseNotOpen as exc:
        raise VisitProblem(N_("Case {number} is closed."), number=case.number) from exc
    return action


# --- proposals and their confirmation --------------------------------------------------------


async def _receiving_school(services: Services, name: str | None, case: Case) -> Unit | None:
    """The school of the district the child moves to, when its name is one of ours."""
    if not name:
        return None
    place = await services.students.place(case.student_id)
    if place is None:
        return None
    found = [
        u
        for u in await services.units.find(name, ("school",))
        if u.name == name and u.id != place.school_id
    ]
    if len(found) != 1:
        return None
    lineage = await services.reports.lineages([found[0].id, place.school_id])
    district = _district_of(lineage, place.school_id)
    return found[0] if district and _district_of(lineage, found[0].id) == district else None


def _district_of(units: dict[int, Unit], unit_id: int | None) -> int | None:
    seen = 0
    while unit_id is not None and unit_id in units and seen < 16:
        if units[unit_id].kind == "district":
            return unit_id
        unit_id, seen = units[unit_id].parent_id, seen + 1
    return None


async def reviewers_of(services: Services, review: ClosureReview, case: Case) -> list[Person]:
    """Who may confirm: bureau staff of the case's district, and for a transfer to one of
    its schools that school's principal and lead; never the proposer."""
    place = await services.students.place(case.student_id)
    lineage = await services.reports.lineages([place.school_id] if place else [])
    district = _district_of(lineage, place.school_id if place else None)
    units = [u for u in (district, review.reviewer_unit) if u is not None]
    people = await services.reports.people_in_units(units)
    return [
        p
        for p in people
        if p.id != review.proposed_by
        and (
            (p.role in REVIEWERS and p.unit_id == district)
            or (p.role in SCHOOL_LEADERS and p.unit_id == review.reviewer_unit)
        )
    ]


async def _propose(
    services: Services,
    person: Person,
    draft: ClosureDraft,
    target: ClosureTarget,
    detail: dict[str, object],
) -> ClosureOutcome:
    """Keep the proposal and its evidence on a note of the case; the case stays open."""
    now = services.clock.now()
    receiving = await _receiving_school(services, draft.new_school, target.case)
    note = dict(detail, proposal=draft.how)
    try:
        async with services.db.transaction():
            action = await services.visits.record(
                target.case.id,
                kind=ActionKind.NOTE,
                actor_id=person.id,
                at=now,
                now=now,
                rule=RULE_OF[draft.how],
                detail=note,
                evidence=draft.files,
            )
            review = await services.closure_reviews.propose(
                case_id=target.case.id,
                how=draft.how,
                proposed_by=person.id,
                action_id=action.id,
                detail=detail,
                reviewer_unit=receiving.id if receiving else None,
                now=now,
            )
    except ReviewTaken as exc:
        raise VisitProblem(
            N_("A closing of case {number} is already waiting for confirmation."),
            number=target.case.number,
        ) from exc
    except CaseNotOpen as exc:
        raise VisitProblem(N_("Case {number} is closed."), number=target.case.number) from exc
    reviewers = await reviewers_of(services, review, target.case)
    return ClosureOutcome(action, review, tuple(reviewers))


@dataclass(frozen=True)
class ReviewDecision:
    review: ClosureReview
    case: Case
    confirmed: bool
    action: Action | None = None  # the closing action, when confirmed


async def decide_review(
    services: Services, person: Person, review_id: int, *, confirm: bool
) -> ReviewDecision:
    """Confirm (close the case as proposed, the confirmer as its reviewer) or reject."""
    review = await services.closure_reviews.get(review_id)
    case = await services.cases.get(review.case_id) if review else None
    if review is None or case is None:
        raise VisitProblem(N_("This is not available to you."))
    if review.status != PENDING:
        raise VisitProblem(N_("This proposal was decided already."))
    allowed = await reviewers_of(services, review, case)
    if not person.active or person.id not in {p.id for p in allowed}:
        raise VisitProblem(
            N_("Someone other than the proposer confirms: the bureau, or the receiving school.")
        )
    now = services.clock.now()
    if not confirm:
        await services.closure_reviews.decide(review.id, REJECTED, by=person.id, now=now)
        return ReviewDecision(review, case, False)
    detail = dict(review.detail)
    files = await services.visits.evidence_of_action(review.action_id)
    detail.update(
        proposed_by=review.proposed_by,
        proposal_action=review.action_id,
        reviewer=person.id,
        evidence=len(files),
    )
    async with services.db.transaction():
        await services.closure_reviews.decide(review.id, CONFIRMED, by=person.id, now=now)
        action = await _close(services, case, review.how, person.id, detail, [])
    return ReviewDecision(review, case, True, action)


__all__ = [
    "CLOSERS",
    "EXEMPT",
    "EXEMPT_CONDITIONS",
    "REVIEWERS",
    "TRANSFERRED",
    "ClosureDraft",
    "ClosureOutcome",
    "ClosureTarget",
    "ReviewDecision",
    "close_case",
    "closure_target",
    "decide_review",
    "may_close",
    "read_school",
    "review_needed",
    "reviewers_of",
]
