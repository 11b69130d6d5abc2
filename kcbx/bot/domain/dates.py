"""Dates as people type them: 3月5日, 3.5, 3/5, 2024-03-05, 2024年3月5日, 今天, 昨天."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, timedelta

from kcbx.bot.domain.i18n import N_, Translate

_FULL = re.compile(r"^(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*日?$")
_SHORT = re.compile(r"^(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*日?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


class DateError(ValueError):
    """A typed date that cannot be read; `message` is a msgid."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_user_date(text: str, today: date) -> date:
    """Read a date; a date without a year is the latest such date not after today."""
    value = unicodedata.normalize("NFKC", text).strip().lower()
    if value in ("今天", "today"):
        return today
    if value in ("昨天", "yesterday"):
        return today - timedelta(days=1)
    if value in ("前天",):
        return today - timedelta(days=2)
    for pattern in (_FULL, _COMPACT):
        match = pattern.match(value)
        if match:
            year, month, day = (int(g) for g in match.groups())
            return _make(year, month, day)
    match = _SHORT.match(value)
    if match:
        month, day = (int(g) for g in match.groups())
        candidate = _make(today.year, month, day)
        if candidate > today:
            candidate = _make(today.year - 1, month, day)
        return candidate
    raise DateError(N_("I could not read that date. Write it like 3.5 or 2024-03-05."))


def _make(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise DateError(N_("That date does not exist. Please check the month and day.")) from exc


# Where "today" comes from for the texts: the services' clock in the business time zone, set
# when they open (``Services.open``). Unset (a text rendered alone), every date has its year.
_TODAY: list[Callable[[], date]] = []


def use_today(today: Callable[[], date] | None) -> None:
    """Set (or, with None, clear) what "the current year" of the dates in texts is."""
    _TODAY.clear()
    if today is not None:
        _TODAY.append(today)


def format_date(value: date, gettext: Translate, lang: str, *, year: bool | None = None) -> str:
    """3月5日（周二） in Chinese, Tue 5 Mar in English (STYLE: dates as people read them);
    the year only outside the current year (2023年12月29日（周五）), or when ``year`` says."""
    weekday = gettext(_WEEKDAYS[value.weekday()])
    if year is None:
        year = not _TODAY or _TODAY[0]().year != value.year
    if lang == "en":
        text = f"{weekday} {value.day} {value.strftime('%b')}"
        return f"{text} {value.year}" if year else text
    text = f"{value.month}月{value.day}日（{weekday}）"
    return f"{value.year}年{text}" if year else text


def format_date_time(value: datetime, gettext: Translate, lang: str) -> str:
    """3月5日（周二）14:30, Tue 5 Mar 14:30: ``value`` as given (the business time zone's);
    no space after a full-width bracket (STYLE)."""
    day = format_date(value.date(), gettext, lang)
    return f"{day} {value:%H:%M}" if lang == "en" else f"{day}{value:%H:%M}"
