"""The 三包 chain's day-7 message (A5.1, A7.3): to one cadre of the household's chain, the case
facts a department is told too, what has been done so far, and their task and its last day.

Pure: :mod:`kcbx.bot.engine.chain` gathers the facts; user text is escaped here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, tzinfo
from html import escape

from kcbx.bot.domain.dates import format_date
from kcbx.bot.domain.i18n import Translate
from kcbx.bot.domain.model import Action
from kcbx.bot.domain.roles import ROLE_LABELS, Role
from kcbx.bot.texts.referrals import NeedToKnow, case_lines
from kcbx.bot.texts.visits import record_line


@dataclass(frozen=True)
class ChainTask:
    """What one cadre of the chain is told (``told_too``: as the village or township cadre,
    while the group cadre leads the visit)."""

    facts: NeedToKnow
    day: int  # of absence
    dropout_day: int  # policy: A7.3
    records: list[Action]  # the latest standing calls and visits
    role: Role
    told_too: bool
    what: str  # msgid of the task
    deadline: date


def chain_task_text(task: ChainTask, heading: str, t: Translate, lang: str, tz: tzinfo) -> str:
    lines = [
        heading,
        t(
            "<b>Contact-duty task (Article 5)</b>: case <b>{number}</b>, day {day} of absence"
        ).format(number=escape(task.facts.case_number), day=max(task.day, 0)),
        t(
            "Not back after {days} days: the child is a dropout (Article 7); the school has "
            "reported it."
        ).format(days=task.dropout_day),
        *case_lines(task.facts, t, lang),
    ]
    if task.records:
        lines.append(
            t("Done so far: {records}").format(
                records=t("; ").join(record_line(a, t, lang, tz) for a in task.records)
            )
        )
    else:
        lines.append(t("No call or visit is recorded yet."))
    # the task, one line: a cadre told too is not told it is their task (the group cadre's)
    what, date = t(task.what), format_date(task.deadline, t, lang)
    if task.told_too:
        lines.append(
            t(
                "The group cadre's task: {what}, by {date}. As the household's {role}, you "
                "are told too and may join the visit."
            ).format(what=what, date=date, role=t(ROLE_LABELS[task.role]))
        )
    else:
        lines.append(t("Your task: {what}, by {date}.").format(what=what, date=date))
    return "\n".join(lines)
