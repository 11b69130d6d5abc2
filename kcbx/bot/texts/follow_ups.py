"""The words of the A4.2 school digest: the returns whose check-in is overdue (复学回访).

Imports only the domain (the engine queues it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

from kcbx.bot.domain.dates import format_date
from kcbx.bot.domain.glossary import article_of
from kcbx.bot.domain.i18n import Translate
from kcbx.bot.domain.ladder.follow_up import FOLLOW_UP_RULE
from kcbx.bot.domain.model import Case, Student
from kcbx.bot.texts.cases import student_label
from kcbx.bot.texts.reply import fit

LISTED = 20  # returns listed by name; the rest are counted


@dataclass(frozen=True)
class Unfollowed:
    """A return whose check-in (A4.2) is overdue: when the child came back, when it was owed."""

    case: Case
    student: Student
    returned_on: date
    owed_on: date


def follow_up_digest(
    school: str, entries: Sequence[Unfollowed], monday: date, t: Translate, lang: str
) -> str:
    """To the school's lead, once a week: how many returns were not followed up, and which."""
    lines = [
        t("<b>Follow-up after the return ({article})</b>, the week from {monday}").format(
            article=article_of(FOLLOW_UP_RULE), monday=format_date(monday, t, lang)
        ),
        t("{school}: {count} children back at school were not followed up").format(
            school=escape(school), count=len(entries)
        ),
        "",
    ]
    for n, e in enumerate(entries[:LISTED], 1):
        lines.append(
            t("{n}. {number} {student}: back on {returned}, check-in owed on {owed}").format(
                n=n,
                number=f"<b>{escape(e.case.number)}</b>",
                student=student_label(e.student, t),
                returned=format_date(e.returned_on, t, lang),
                owed=format_date(e.owed_on, t, lang),
            )
        )
    if len(entries) > LISTED:
        lines.append(t("… and {count} more").format(count=len(entries) - LISTED))
    lines += [
        "",
        t(
            "Please see that the class teachers check in with these children and their "
            "families, and give psychological support where needed ({article})."
        ).format(article=article_of(FOLLOW_UP_RULE)),
    ]
    return fit(lines)


__all__ = ["LISTED", "Unfollowed", "follow_up_digest"]
