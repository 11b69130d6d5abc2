"""The school calendar: which days are school days, and counting ladder days in either mode.

RULES.md (defaults under A7): days are calendar days unless the policy says ``school_days``,
which skips weekends (except China's swapped working days, 调休), public holidays and the
school's vacations.
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar

from kcbx.bot.domain.policy import DayCounting, Policy

# Guard against a policy whose vacations leave no school day for so long that counting would
# never end (the policy refuses vacations longer than a year; this is a second line).
_MAX_SEARCH_DAYS = 3 * 366


class SchoolCalendar:
    """School days and ladder-day arithmetic for one policy.

    Public holidays and swapped working days come from the ``chinesecalendar`` package
    (``chinese_calendar.is_workday``). It knows only the years the State Council has
    published (it raises ``NotImplementedError`` for others, e.g. before 2004 or after the
    package's last release); for such a year this calendar falls back to weekends only:
    Monday to Friday are school days, Saturday and Sunday are not, no public holidays.
    ``knows_holidays(year)`` tells whether a year is covered, so a caller can warn. Upgrade
    the package when the next year's holiday arrangement is published.
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.mode = policy.ladder.day_counting
        self._vacations = policy.school.vacations
        self._cache: dict[date, bool] = {}

    @staticmethod
    def knows_holidays(year: int) -> bool:
        """Whether chinesecalendar has the public holidays of ``year``."""
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
        except NotImplementedError:
            return False
        return True

    @staticmethod
    def is_workday(day: date) -> bool:
        """A national working day: swapped weekend days count, public holidays do not."""
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            return day.weekday() < 5  # unknown year: weekends only (see the class docstring)

    def vacation_on(self, day: date) -> str | None:
        """The name of the school vacation that contains ``day``, if any."""
        for vacation in self._vacations:
            if day in vacation:
                return vacation.name or "vacation"
        return None

    def is_school_day(self, day: date) -> bool:
        """A national working day outside the school's vacations."""
        known = self._cache.get(day)
        if known is None:
            known = self.is_workday(day) and self.vacation_on(day) is None
            self._cache[day] = known
        return known

    def term_start(self, day: date) -> date | None:
        """The start of the term ``day`` belongs to: the latest term start on or before it.

        A case's absence date may not be before the term start of the day it is reported
        (None: no term start configured that early, so no limit).
        """
        starts = [s for s in self.policy.school.term_starts if s <= day]
        return starts[-1] if starts else None

    def add_days(self, start: date, n: int) -> date:
        """The day ``n`` ladder days after ``start`` (before it if ``n`` is negative).

        In calendar mode that is ``start + n`` days. In school-days mode it is the n-th school
        day after ``start`` (``start`` itself need not be a school day); ``add_days(d, 0)`` is
        ``d``.
        """
        if self.mode is DayCounting.CALENDAR or n == 0:
            return start + timedelta(days=n)
        step = timedelta(days=1 if n > 0 else -1)
        day, left, idle = start, abs(n), 0
        while left:
            day += step
            if self.is_school_day(day):
                left -= 1
                idle = 0
            else:
                idle += 1
                if idle > _MAX_SEARCH_DAYS:
                    raise ValueError(f"no school day within {_MAX_SEARCH_DAYS} days of {day}")
        return day

    def days_between(self, start: date, end: date) -> int:
        """Ladder days from ``start`` to ``end`` (negative if ``end`` is earlier).

        In school-days mode: the number of school days after ``start`` up to and including
        ``end`` (so on a weekend the count stays where Friday left it); backwards, minus the
        school days from ``end`` up to but excluding ``start``. Either way
        ``days_between(d, add_days(d, n)) == n``.
        """
        if self.mode is DayCounting.CALENDAR:
            return (end - start).days
        low, high, sign = (start, end, 1) if start <= end else (end, start, -1)
        days = (high - low).days
        if sign > 0:
            counted = (low + timedelta(days=i) for i in range(1, days + 1))
        else:
            counted = (low + timedelta(days=i) for i in range(days))
        return sign * sum(1 for day in counted if self.is_school_day(day))


__all__ = ["SchoolCalendar"]
