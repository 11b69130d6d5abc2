"""The words of closing a case other than by a return, exempt (A3) or transferred: the
questions, the closing to check, what is said once it is saved, and, for a closing that waits
for a second person, the request to the reviewers, the answer to the proposer, and the
condition buttons of an exemption (A3). User text is escaped here."""

from __future__ import annotations

from html import escape

from kcbx.bot.domain.i18n import Translate
from kcbx.bot.domain.model import Case, Student
from kcbx.bot.services.closures import (
    EXEMPT,
    EXEMPT_CONDITIONS,
    TRANSFERRED,
    ClosureDraft,
    ReviewDecision,
)
from kcbx.bot.texts.cases import case_heading
from kcbx.bot.texts.reply import Buttons, Reply
from kcbx.storage.accountability_repo import ClosureReview


def condition_buttons(t: Translate) -> list[list[tuple[str, str]]]:
    return [[(t(label), f"clc:{code}")] for code, label in EXEMPT_CONDITIONS.items()]


def _what(review: ClosureReview, t: Translate) -> str:
    if review.how == EXEMPT:
        condition = EXEMPT_CONDITIONS.get(str(review.detail.get("condition", "")), "")
        return t("exemption (Article 3): {condition}").format(
            condition=t(condition) if condition else ""
        )
    return t("transfer to {school}").format(school=escape(str(review.detail.get("new_school", ""))))


def proposed_text(review: ClosureReview, number: str, t: Translate) -> str:
    """To the proposer, when saving made a proposal."""
    return t(
        "The {what} of case <b>{number}</b> is proposed and waits for confirmation by the "
        "education bureau{school}. Until then the case stays open and counted (Article 8)."
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


def which_case(how: str, t: Translate) -> str:
    if how == EXEMPT:
        return t("Which child is exempt (Article 3)?")
    return t("Which child is enrolled at another school?")


def first_question(case: Case, student: Student, how: str, t: Translate) -> str:
    """The case, then the new school (a transfer) or the evidence (an exemption)."""
    head = t("Case <b>{number}</b>: <b>{name}</b>.").format(
        number=escape(case.number), name=escape(student.name)
    )
    if how == TRANSFERRED:
        question = t("Which school is the child enrolled at now? Please type its name.")
    else:
        question = evidence_question(how, t)
    return head + "\n" + question


def evidence_question(how: str, t: Translate) -> str:
    if how == EXEMPT:
        return t(
            "Please send the evidence of the exemption (Article 3): the medical or review "
            "document, as a file or a photo."
        )
    return t(
        "Please send the evidence of the enrolment: the receiving school's letter or a "
        "screenshot of the student registry, as a file or a photo."
    )


def note_question(how: str, t: Translate) -> str:
    if how == EXEMPT:
        return t("Add a note (e.g. who reviewed it and when), or press Skip.")
    return t("Add a note, or press Skip.")


def closing_summary(draft: ClosureDraft, case: Case, student: Student, t: Translate) -> str:
    """The closing to check and save."""
    lines = [
        t("Please check and save:"),
        case_heading(case, student, t),
        t("Closes as: exempt (Article 3): not a dropout, counted apart")
        if draft.how == EXEMPT
        else t("Closes as: transferred"),
    ]
    if draft.new_school:
        lines.append(t("Now enrolled at: {school}").format(school=escape(draft.new_school)))
    if draft.condition:
        lines.append(
            t("Condition: {condition}").format(condition=t(EXEMPT_CONDITIONS[draft.condition]))
        )
    lines.append(t("Evidence: {count} files").format(count=len(draft.files)))
    if draft.note:
        lines.append(t("Note: {note}").format(note=escape(draft.note)))
    return "\n".join(lines)


def closing_saved(draft: ClosureDraft, case: Case, t: Translate) -> str:
    if draft.how == EXEMPT:
        text = t(
            "Case <b>{number}</b> is closed: the child is exempt (Article 3). The evidence is kept."
        )
    else:
        text = t(
            "Case <b>{number}</b> is closed: the child is enrolled at {school}. "
            "The evidence is kept."
        )
    return text.format(number=escape(case.number), school=escape(draft.new_school or ""))
