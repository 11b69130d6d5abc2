"""The answer to /find: the students found, each with its case, and a button per case."""

from __future__ import annotations

from html import escape

from kcbx.bot.domain.i18n import Translate
from kcbx.bot.services.find import FindResult
from kcbx.bot.texts.cases import student_label
from kcbx.bot.texts.paging import MAX_BUTTONS

Rows = list[list[tuple[str, str]]]


def find_reply(result: FindResult, t: Translate) -> tuple[str, Rows]:
    if not result.found:
        return t("No student or case in your scope matches “{query}”.").format(
            query=escape(result.query)
        ), []
    lines = [t("Found for “{query}”:").format(query=escape(result.query))]
    rows: Rows = []
    for item in result.found:
        line = student_label(item.student, t)
        if item.case is None:
            line += t(": no case")
        elif item.case.is_open:
            line += t(": case {number}, open").format(number=f"<b>{escape(item.case.number)}</b>")
        else:
            line += t(": case {number}, closed").format(number=escape(item.case.number))
        lines.append("• " + line)
        if item.case is not None:
            rows.append([(item.case.number, f"case:{item.case.id}")])
    if result.more or len(rows) > MAX_BUTTONS:  # six buttons a message (docs/texts.md)
        lines.append(t("More match: add more of the name."))
    return "\n".join(lines), rows[:MAX_BUTTONS]
