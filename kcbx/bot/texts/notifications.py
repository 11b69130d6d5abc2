"""What the services queue for people outside the conversation that caused it: a case
closed by a return (A7.6), the morning check on an agreed return, a referral withdrawn (A6).

Pure: each takes the person's ``gettext`` (and language) and returns the message; user text
is escaped here. Nothing here imports a service, so every service may use it.
"""

from __future__ import annotations

from datetime import date
from html import escape

from kcbx.bot.domain.caseactions import not_back_data, return_data
from kcbx.bot.domain.dates import format_date
from kcbx.bot.domain.i18n import Translate
from kcbx.bot.domain.model import Case, Person, Student
from kcbx.bot.domain.policy.tree import CAUSES
from kcbx.storage.outbox import OutgoingMessage


def case_closed_message(case: Case, student: Student, by: Person, t: Translate) -> OutgoingMessage:
    """To those reminded about a case: the child is back, the case is closed (A7.6)."""
    text = t(
        "Case <b>{number}</b>: <b>{name}</b> is back at school, confirmed by {by}. "
        "The case is closed; no more reminders (Article 7)."
    ).format(number=escape(case.number), name=escape(student.name), by=escape(by.name))
    return OutgoingMessage(text=text)


def return_check_message(
    case: Case, student: Student, on: date, t: Translate, lang: str
) -> OutgoingMessage:
    """To the class teacher on the morning of an agreed return: is the child back?"""
    text = t(
        "Is <b>{name}</b> back at school today? The family agreed to a return on {date} "
        "(case <b>{number}</b>)."
    ).format(name=escape(student.name), date=format_date(on, t, lang), number=escape(case.number))
    buttons = (
        (
            (t("Back at school"), return_data(case.id)),
            (t("Not back"), not_back_data(case.id)),
        ),
    )
    return OutgoingMessage(text=text, buttons=buttons)


def referral_withdrawn_message(case: Case, new_cause: str, t: Translate) -> OutgoingMessage:
    """To a department's liaisons: a visit found a cause that is not theirs (A6)."""
    text = t(
        "Referral of case <b>{number}</b> withdrawn: a visit found the cause to be {cause}, "
        "which is not your department's. No further action is needed from you."
    ).format(number=escape(case.number), cause=t(CAUSES.get(new_cause, CAUSES["other"])))
    return OutgoingMessage(text=text)
