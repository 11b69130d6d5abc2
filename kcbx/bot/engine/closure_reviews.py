"""A closing that waits for a second person, through the outbox: the request to each
reviewer (``clr:{review}:{person}``) and the decision to the proposer
(``clrd:{review}:{person}``)."""

from __future__ import annotations

from kcbx.bot.domain.i18n import translator
from kcbx.bot.domain.ladder.recipients import reachable
from kcbx.bot.domain.ladder.reminders import quiet_hours_next_send
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.closures import ClosureOutcome, ReviewDecision
from kcbx.bot.texts.closures import decision_text, review_request
from kcbx.storage.outbox import OutgoingMessage


async def queue_review_requests(services: Services, outcome: ClosureOutcome) -> int:
    """Ask each reachable reviewer to confirm a proposal; how many were asked."""
    review = outcome.review
    if review is None:
        return 0
    case = await services.cases.get(review.case_id)
    student = await services.students.get(case.student_id) if case else None
    proposer = await services.people.get(review.proposed_by)
    if case is None or student is None:
        return 0
    now = services.clock.now()
    asked = 0
    for person in outcome.reviewers:
        if not reachable(person) or person.chat_id is None:
            continue
        t = translator(person.lang or services.config.default_language)
        message = review_request(
            review, case.number, student.name, proposer.name if proposer else "", t
        )
        if await services.outbox.enqueue(
            key=f"clr:{review.id}:{person.id}",
            chat_id=person.chat_id,
            message=OutgoingMessage(text=message.text, buttons=message.buttons),
            now=now,
            not_before=quiet_hours_next_send(now, services.policy),
            person_id=person.id,
            case_id=case.id,
        ):
            asked += 1
    return asked


async def queue_decision(services: Services, decision: ReviewDecision, reviewer: str) -> bool:
    """Tell the proposer how their proposal was decided."""
    proposer = await services.people.get(decision.review.proposed_by)
    if proposer is None or not reachable(proposer) or proposer.chat_id is None:
        return False
    t = translator(proposer.lang or services.config.default_language)
    now = services.clock.now()
    return await services.outbox.enqueue(
        key=f"clrd:{decision.review.id}:{proposer.id}",
        chat_id=proposer.chat_id,
        message=OutgoingMessage(text=decision_text(decision, reviewer, t)),
        now=now,
        person_id=proposer.id,
    )


__all__ = ["queue_decision", "queue_review_requests"]
