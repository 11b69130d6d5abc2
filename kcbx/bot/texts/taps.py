"""What a message says after one of its buttons is pressed (docs/texts.md, "On a phone"):
what was done, by whom and when (the press's own time), and which numbered item of a list it
was; and, for a press that came too late, what happened instead and that the message is out
of date. Pure: the handlers edit the message with these lines and drop the dead buttons."""

from __future__ import annotations

import re
from datetime import datetime
from html import escape

from kcbx.bot.domain.caseactions import ACTION_NAMES
from kcbx.bot.domain.dates import format_date
from kcbx.bot.domain.i18n import Translate
from kcbx.bot.domain.ladder.state import ActionKind
from kcbx.bot.domain.model import Case, Student
from kcbx.bot.domain.policy.tree import Policy
from kcbx.bot.texts.cases import student_label, task_label

_ITEM = re.compile(r"^(\d{1,3})\.")  # a digest's or list's button: "2.收到"


def item_of(label: str | None) -> int | None:
    """The number of the list item a button belongs to ("2.收到" -> 2), None for none."""
    match = _ITEM.match(label or "")
    return int(match.group(1)) if match else None


def tap_time(at: datetime, now: datetime, t: Translate, lang: str, policy: Policy) -> str:
    """14:05 on the day of ``now``; 3月6日（周三）14:05 on another day (local time)."""
    tz = policy.time.tz
    local = at.astimezone(tz)
    if local.date() == now.astimezone(tz).date():
        return f"{local:%H:%M}"
    return t("{date} {time}").format(date=format_date(local.date(), t, lang), time=f"{local:%H:%M}")


def done_line(
    kind: str,
    by: str,
    at: datetime,
    now: datetime,
    t: Translate,
    lang: str,
    policy: Policy,
    *,
    item: int | None = None,
    task_code: str | None = None,
    student: Student | None = None,
) -> str:
    """The line a press adds to its message: ``✓ 电话联系监护人：李老师已于09:30记录``; for
    a numbered item, which one: ``✓ 第2项已收到：家访任瑶雨（1年级1班）；邱曦，14:05``."""
    when = tap_time(at, now, t, lang, policy)
    if item is None or student is None:
        return "✓ " + t("{what}: recorded by {by}, {when}").format(
            what=t(ACTION_NAMES.get(kind, kind)), by=escape(by), when=when
        )
    task = task_label(task_code, t) if task_code else t(ACTION_NAMES.get(kind, kind))
    fields = {
        "n": item,
        "task": task,
        "student": student_label(student, t),
        "by": escape(by),
        "when": when,
        "what": t(ACTION_NAMES.get(kind, kind)),
    }
    if kind == ActionKind.ACKNOWLEDGED:
        return "✓ " + t("Item {n} received: {task} {student}; {by}, {when}").format(**fields)
    return "✓ " + t("Item {n} done: {what}, {student}; {by}, {when}").format(**fields)


def done_already(
    kind: str | None,
    by: str,
    at: datetime | None,
    now: datetime,
    t: Translate,
    lang: str,
    p: Policy,
) -> str:
    """The answer to a press on a task that is done already (by the presser or another):
    ``此项已由张三于3月6日（周三）14:05完成。``"""
    if at is None:
        return t("This was done already by {by}.").format(by=by or "—")
    when = tap_time(at, now, t, lang, p)
    if kind == ActionKind.ACKNOWLEDGED:
        return t("This reminder was received by {by} at {when}.").format(by=by or "—", when=when)
    return t("This was done by {by} at {when}.").format(by=by or "—", when=when)


def stale_line(task_code: str | None, t: Translate) -> str:
    """The line an out-of-date message gets when its task is no longer owed."""
    if not task_code:
        return "⌛ " + t("This message is out of date.")
    return "⌛ " + t("Out of date: {task} is no longer to be done here.").format(
        task=task_label(task_code, t)
    )


def closed_line(case: Case, now: datetime, t: Translate, lang: str, policy: Policy) -> str:
    """The line of a message about a closed case: since when, and that nothing is owed."""
    if case.closed_at is None:
        return "⌛ " + t("Case <b>{number}</b> is closed: nothing more to do here.").format(
            number=escape(case.number)
        )
    return "⌛ " + t("Case <b>{number}</b> was closed at {when}: nothing more to do here.").format(
        number=escape(case.number), when=tap_time(case.closed_at, now, t, lang, policy)
    )


def accepted_line(by: str, at: datetime, now: datetime, t: Translate, lang: str, p: Policy) -> str:
    """After [接收]: ``✓ 已接收：肖涵思，10:00``."""
    return "✓ " + t("Referral accepted: {by}, {when}").format(
        by=escape(by), when=tap_time(at, now, t, lang, p)
    )


__all__ = [
    "accepted_line",
    "closed_line",
    "done_already",
    "done_line",
    "item_of",
    "stale_line",
    "tap_time",
]
