"""The audit history as lines for a phone: when, who, what (HTML, escaped)."""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.domain.roles import ROLE_LABELS
from kcbx.bot.services.audit import History, HistoryLine

# What an audit action means to a reader; an action not listed shows as its code.
_ACTIONS = {
    "view:card": N_("opened the case card"),
    "view:list": N_("saw the student in a list with names"),
    "view:photos": N_("viewed the photos of a record"),
    "view:location": N_("viewed the location of a record"),
    "view:documents": N_("opened the notice documents"),
    "view:audit": N_("read this history"),
    "open_case": N_("reported the absence"),
    "export": N_("exported the ledger"),
    "evidence": N_("added evidence"),
    "set_cause": N_("changed the cause"),
    "refer": N_("referred the case to a department"),
    "notice:issue": N_("issued the notice"),
    "notice:deliver": N_("recorded the notice's delivery"),
    "close:returned": N_("recorded the return to school"),
    "close:exempt": N_("closed the case as exempt"),
    "close:transferred": N_("closed the case as transferred"),
    "retention:photos": N_("the photos were deleted (retention)"),
    "retention:documents": N_("the documents were deleted (retention)"),
    "retention:details": N_("the personal details were reduced (retention)"),
}


def action_label(action: str, t: Translate) -> str:
    if action in _ACTIONS:
        return t(_ACTIONS[action])
    if action.startswith("action:"):
        return t("recorded an action ({kind})").format(kind=action.split(":", 1)[1])
    return action


def _who(line: HistoryLine, t: Translate) -> str:
    if line.person is not None:
        return t("{name} ({role})").format(
            name=html.escape(line.person.name), role=t(ROLE_LABELS[line.person.role])
        )
    if line.actor == "system":
        return t("the bot")
    return html.escape(line.actor)


def history_lines(history: History, tz: ZoneInfo, t: Translate, lang: str) -> list[str]:
    out = [t("<b>Audit history: {subject}</b>").format(subject=html.escape(history.subject))]
    if not history.lines:
        out.append(t("Nothing recorded yet."))
    for line in history.lines:
        local = line.at.astimezone(tz)
        out.append(
            t("{when} {who}: {what}").format(
                when=f"{local:%Y-%m-%d %H:%M}", who=_who(line, t), what=action_label(line.action, t)
            )
        )
    return out
