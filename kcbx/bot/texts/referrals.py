"""What a department (or the 三包 chain) is told about a case, need to know only (A6): the
student, school and grade, the household, one guardian to phone, the cause and the task. Not
the guardians' ID numbers, not the notes, not the history.

Pure: :class:`NeedToKnow` is filled by :func:`kcbx.bot.services.referrals.need_to_know`; the
functions here write it (user text escaped). Nothing here imports a service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

from kcbx.bot.domain.caseactions import visit_data
from kcbx.bot.domain.dates import format_date
from kcbx.bot.domain.grades import grade_words
from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.domain.kinship import relation_word
from kcbx.bot.domain.model import Guardian
from kcbx.bot.domain.policy.tree import CAUSES, DEPARTMENTS
from kcbx.bot.texts.paging import page_buttons
from kcbx.storage.referrals import InboxItem

DEPARTMENT_TASKS: dict[str, str] = {
    "A6": N_(
        "Take part in the joint persuasion: the cause of absence falls within your "
        "department's duties"
    ),
    "A9": N_("Help the family of this vulnerable student so that the child can return to school"),
}

STATUS_NAMES: dict[str, str] = {
    "open": N_("new"),
    "accepted": N_("accepted"),
    "closed": N_("closed"),
    "withdrawn": N_("withdrawn"),
}

CASE_STATUS_NAMES: dict[str, str] = {
    "open": N_("open"),
    "returned": N_("back at school"),
    "exempt": N_("exempt (Article 3)"),
    "transferred": N_("transferred"),
}


@dataclass(frozen=True)
class NeedToKnow:
    """What a department (or the 三包 chain) is told about a case: the facts to act on."""

    case_id: int
    case_number: str
    case_status: str
    absent_since: date
    cause: str
    student_name: str
    school: str
    grade: int | None
    class_name: str | None
    household: str
    guardian: Guardian | None
    a9: bool


def case_lines(facts: NeedToKnow, t: Translate, lang: str) -> list[str]:
    """The need-to-know lines about a case (escaped): three lines, so that a reminder fits
    a phone's screen (the student and since when; the household and the guardian; the
    cause)."""
    school = facts.school
    if facts.grade is not None:
        school = t("{school}, {grade}").format(school=school, grade=grade_words(facts.grade, t))
    lines = [
        t("Student: <b>{name}</b> ({school}), absent since {date}").format(
            name=escape(facts.student_name),
            school=escape(school),
            date=format_date(facts.absent_since, t, lang),
        ),
    ]
    place = t("Household: {place}").format(place=escape(facts.household or t("not on the roster")))
    if facts.guardian is not None:
        guardian = facts.guardian
        place += t("; ") + t("Guardian: {name} ({relation}), phone {phone}").format(
            name=escape(guardian.name),
            relation=escape(
                relation_word(guardian.relation, t) if guardian.relation else t("guardian")
            ),
            phone=escape(guardian.phone or t("no phone on the roster")),
        )
    lines.append(place)
    cause = t("Cause: {cause}").format(cause=t(CAUSES.get(facts.cause, CAUSES["other"])))
    if facts.a9:
        cause = t("{cause}; {a9}").format(cause=cause, a9=t("A vulnerable student (Article 9)."))
    lines.append(cause)
    return lines


def referral_text(
    facts: NeedToKnow, department: str, task_what: str, t: Translate, lang: str, *, heading: str
) -> str:
    """A department's referral: the heading, the case facts it needs, its task."""
    lines = [
        heading,
        t("Department: {department}").format(department=escape(department)),
        *case_lines(facts, t, lang),
        t("{task}. {then}").format(
            task=t("Your task: {what}").format(what=t(task_what)),
            then=t("Please accept the referral, then record what your department does."),
        ),
    ]
    return "\n".join(lines)


def referral_heading(rule: str, number: str, t: Translate) -> str:
    """``Referral (A6): case KC-2024-0001`` (A9: for relief)."""
    if rule == "A9":
        text = t("<b>Referral for relief (Article 9)</b>: case <b>{number}</b>")
    else:
        text = t("<b>Referral (Article 6)</b>: case <b>{number}</b>")
    return text.format(number=escape(number))


def joint_persuasion_heading(number: str, t: Translate) -> str:
    """The school, the township or the bureau acting for a cause it owns (A6)."""
    return t("<b>Joint persuasion (Article 6)</b>: case <b>{number}</b>").format(
        number=escape(number)
    )


def department_name(code: str, t: Translate) -> str:
    return t(DEPARTMENTS.get(code, code))


def referral_card_text(
    facts: NeedToKnow, code: str, rule: str, status: str, t: Translate, lang: str
) -> str:
    """One referral as its department's liaison reads it, with where it stands."""
    title = referral_heading(rule, facts.case_number, t)
    text = referral_text(
        facts, department_name(code, t), DEPARTMENT_TASKS[rule], t, lang, heading=title
    )
    return (
        text
        + "\n"
        + t("Referral: {status}; case: {case_status}").format(
            status=t(STATUS_NAMES[status]),
            case_status=t(CASE_STATUS_NAMES.get(facts.case_status, facts.case_status)),
        )
    )


def referred_again_message(
    facts: NeedToKnow, code: str, accept: str, t: Translate, lang: str
) -> tuple[str, tuple[tuple[tuple[str, str], ...], ...]]:
    """A withdrawn referral comes back when a visit finds its cause again (A6)."""
    title = referral_heading("A6", facts.case_number, t)
    text = referral_text(
        facts, department_name(code, t), DEPARTMENT_TASKS["A6"], t, lang, heading=title
    )
    return text, (((t("Accept"), accept), (t("Record our action"), visit_data(facts.case_id))),)


def referred_to_line(referrals: list[tuple[str, str]], t: Translate) -> str:
    """``Referred to: 公安 (accepted), 民政 (new)`` from (department code, status) pairs."""
    names = t(", ").join(
        t("{department} ({status})").format(
            department=department_name(code, t), status=t(STATUS_NAMES[status])
        )
        for code, status in referrals
    )
    return t("Referred to: {departments}").format(departments=names)


def inbox_text(
    items: Sequence[InboxItem], offset: int, total: int, per_page: int, t: Translate
) -> tuple[str, list[list[tuple[str, str]]]]:
    """A page of a department's referrals: a numbered line each, its buttons, the pages."""
    heading = t("<b>Referrals to your department</b> ({total})").format(total=total)
    if total > per_page:  # a page's range only where there is more than one page
        heading = t("<b>Referrals to your department</b> ({first}-{last} of {total})").format(
            first=offset + 1, last=offset + len(items), total=total
        )
    lines = [heading]
    buttons: list[tuple[str, str]] = []
    for number, item in enumerate(items, start=1):
        referral = item.referral
        lines.append(
            t("{n}. <b>{number}</b> {name}: {cause}; {status}; case {case_status}").format(
                n=number,
                number=escape(item.case_number),
                name=escape(item.student_name),
                cause=t(CAUSES.get(item.cause, CAUSES["other"])),
                status=t(STATUS_NAMES[referral.status]),
                case_status=t(CASE_STATUS_NAMES.get(item.case_status, item.case_status)),
            )
        )
        # one button an item, its next step: accept it, else its details (and [记录] there)
        if referral.status == "open" and item.case_status == "open":
            label = t("{n}. Accept").format(n=number)
            buttons.append((label, list_accept_data(referral.id, offset)))
        else:
            buttons.append((t("{n}. Details").format(n=number), detail_data(referral.id)))
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    nav = page_buttons(t, "ref:p:{}", offset, offset + per_page < total, per_page)
    return "\n".join(lines), rows + ([nav] if nav else [])


def accept_data(referral_id: int) -> str:
    return f"ref:a:{referral_id}"


def list_accept_data(referral_id: int, offset: int) -> str:
    """[接收] on a page of /inbox: accepted, then the page again, its line now accepted."""
    return f"ref:al:{referral_id}:{offset}"


def detail_data(referral_id: int) -> str:
    return f"ref:d:{referral_id}"
