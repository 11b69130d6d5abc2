"""The words of a closing that waits for a second person: the request to the reviewers, the
answer to the proposer, and the condition buttons of an exemption (A3)."""

from __future__ import annotations

from html import escape

from kcbx.bot.domain.i18n import Translate
from kcbx.bot.services.closures import EXEMPT, EXEMPT_CONDITIONS, ReviewDecision
from kcbx.bot.texts.reply import Buttons, Reply
from kcbx.storage.accountability_repo import ClosureReview


def condition_buttons(t: Translate) -> list[list[tuple[str, str]]]:
    return [[(t(label), f"clc:{code}")] for code, label in EXEMPT_CONDITIONS.items()]


def _what(review: ClosureReview, t: Translate) -> str:
    if review.how == EXEMPT:
        condition = EXEMPT_CONDITIONS.get(str(review.detail.get("condition", "")), "")
        return t("exemption (A3): {condition}").format(condition=t(condition) if condition else "")
    return t("transfer to {school}").format(school=escape(str(review.detail.get("new_school", ""))))


def proposed_text(review: ClosureReview, number: str, t: Translate) -> str:
    """To the proposer, when saving made a proposal."""
    return t(
        "The {what} of case <b>{number}</b> is proposed and waits for confirmation by the "
        "education bureau{school}. Until then the case stays open and counted (A8)."
    ).format(
        what=_what(review, t),
        number=escape(number),
        school=t(" or the receiving school") if review.reviewer_unit else "",
    )


def review_request(
    review: ClosureReview, number: str, student: str, proposer: str, t: Translate
) -> Reply:
    """To each reviewer: what is proposed, by whom, with Confirm and Reject."""
    lines = [
        t("<b>Please confirm a closing</b>"),
        t("Case <b>{number}</b>: <b>{name}</b>").format(
            number=escape(number), name=escape(student)
        ),
        t("Proposed: {what}, by {who}").format(what=_what(review, t), who=escape(proposer)),
    ]
    note = review.detail.get("note")
    if note:
        lines.append(t("Note: {note}").format(note=escape(str(note))))
    lines.append(
        t(
            "Until you confirm, the case stays open and is counted in A8. "
            "The evidence is on the case."
        )
    )
    buttons: Buttons = (
        (
            (t("Confirm the closing"), f"clr:ok:{review.id}"),
            (t("Do not confirm"), f"clr:no:{review.id}"),
        ),
    )
    return Reply("\n".join(lines), buttons)


def decision_text(decision: ReviewDecision, reviewer: str, t: Translate) -> str:
    """To the proposer and the reviewer, once decided."""
    number = escape(decision.case.number)
    if decision.confirmed:
        return t(
            "The {what} of case <b>{number}</b> is confirmed by {who}; the case is closed."
        ).format(what=_what(decision.review, t), number=number, who=escape(reviewer))
    return t(
        "The {what} of case <b>{number}</b> is rejected by {who}; the case stays open."
    ).format(what=_what(decision.review, t), number=number, who=escape(reviewer))


__all__ = ["condition_buttons", "decision_text", "proposed_text", "review_request"]
