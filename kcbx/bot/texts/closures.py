"""The texts of closing a case other than by a return: exempt (A3) or transferred. The
questions, the closing to check, and what is said once it is saved (user text escaped)."""

from __future__ import annotations

from html import escape

from kcbx.bot.domain.i18n import Translate
from kcbx.bot.domain.model import Case, Student
from kcbx.bot.services.closures import EXEMPT, TRANSFERRED, ClosureDraft
from kcbx.bot.texts.cases import case_heading


def which_case(how: str, t: Translate) -> str:
    if how == EXEMPT:
        return t("Which child is exempt (A3)?")
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
            "Please send the evidence of the exemption (A3): the medical or review document, "
            "as a file or a photo."
        )
    return t(
        "Please send the evidence of the enrolment: the receiving school's letter or a "
        "screenshot of the student registry, as a file or a photo."
    )


def note_question(how: str, t: Translate) -> str:
    if how == EXEMPT:
        return t("Add a note (e.g. the condition and who reviewed it), or press Skip.")
    return t("Add a note, or press Skip.")


def closing_summary(draft: ClosureDraft, case: Case, student: Student, t: Translate) -> str:
    """The closing to check and save."""
    lines = [
        t("Please check and save:"),
        case_heading(case, student, t),
        t("Closes as: exempt (A3): not a dropout, counted apart")
        if draft.how == EXEMPT
        else t("Closes as: transferred"),
    ]
    if draft.new_school:
        lines.append(t("Now enrolled at: {school}").format(school=escape(draft.new_school)))
    lines.append(t("Evidence: {count} files").format(count=len(draft.files)))
    if draft.note:
        lines.append(t("Note: {note}").format(note=escape(draft.note)))
    return "\n".join(lines)


def closing_saved(draft: ClosureDraft, case: Case, t: Translate) -> str:
    if draft.how == EXEMPT:
        text = t("Case <b>{number}</b> is closed: the child is exempt (A3). The evidence is kept.")
    else:
        text = t(
            "Case <b>{number}</b> is closed: the child is enrolled at {school}. "
            "The evidence is kept."
        )
    return text.format(number=escape(case.number), school=escape(draft.new_school or ""))
