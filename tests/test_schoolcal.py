"""School days and ladder-day counting (RULES.md A7 defaults: calendar days or school days)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import chinese_calendar
import pytest

from kcbx.bot.domain.policy import DayCounting, Policy, Vacation, default_policy
from kcbx.bot.domain.schoolcal import SchoolCalendar


def _policy(mode: DayCounting, *vacations: Vacation) -> Policy:
    p = default_policy()
    return replace(
        p,
        ladder=replace(p.ladder, day_counting=mode),
        school=replace(p.school, vacations=vacations or p.school.vacations),
    )


CALENDAR = SchoolCalendar(_policy(DayCounting.CALENDAR))
SCHOOL = SchoolCalendar(_policy(DayCounting.SCHOOL_DAYS))


def test_chinese_calendar_agrees_on_national_day_2024() -> None:
    # The facts the tests below rely on: Oct 1-7 off, Sun Sep 29 and Sat Oct 12 worked.
    assert chinese_calendar.is_workday(date(2024, 9, 29))
    assert chinese_calendar.is_workday(date(2024, 10, 12))
    assert not any(chinese_calendar.is_workday(date(2024, 10, d)) for d in range(1, 8))


def test_school_days_follow_swapped_working_days_and_holidays() -> None:
    assert SCHOOL.is_school_day(date(2024, 9, 27))  # Friday
    assert not SCHOOL.is_school_day(date(2024, 9, 28))  # Saturday
    assert SCHOOL.is_school_day(date(2024, 9, 29))  # Sunday, swapped working day
    assert not SCHOOL.is_school_day(date(2024, 10, 1))  # National Day
    assert SCHOOL.is_school_day(date(2024, 10, 12))  # Saturday, swapped working day
    assert not SCHOOL.is_school_day(date(2024, 10, 13))  # Sunday


def test_calendar_mode_counts_every_day_across_national_day() -> None:
    start = date(2024, 9, 27)  # day 0, a Friday
    assert CALENDAR.add_days(start, 7) == date(2024, 10, 4)  # A7.3 falls in the holiday
    assert CALENDAR.days_between(start, date(2024, 10, 12)) == 15


def test_school_days_mode_skips_the_holiday_and_counts_the_swapped_days() -> None:
    start = date(2024, 9, 27)  # day 0, a Friday
    assert SCHOOL.add_days(start, 1) == date(2024, 9, 29)  # the Sunday worked
    assert SCHOOL.add_days(start, 2) == date(2024, 9, 30)
    assert SCHOOL.add_days(start, 3) == date(2024, 10, 8)  # A7.2 after the holiday
    assert SCHOOL.add_days(start, 7) == date(2024, 10, 12)  # A7.3 on the Saturday worked
    assert SCHOOL.add_days(start, 8) == date(2024, 10, 14)
    assert SCHOOL.days_between(start, date(2024, 10, 5)) == 2  # the holiday does not count
    assert SCHOOL.days_between(start, date(2024, 10, 13)) == 7  # nor does the Sunday after


def test_school_days_mode_skips_a_vacation() -> None:
    winter = Vacation("winter", date(2025, 1, 18), date(2025, 2, 28))
    cal = SchoolCalendar(_policy(DayCounting.SCHOOL_DAYS, winter))
    start = date(2025, 1, 16)  # Thursday
    assert cal.add_days(start, 1) == date(2025, 1, 17)
    assert cal.vacation_on(date(2025, 2, 8)) == "winter"
    # Sat Feb 8 2025 is a swapped working day, but it is in the school's vacation
    assert chinese_calendar.is_workday(date(2025, 2, 8))
    assert not cal.is_school_day(date(2025, 2, 8))
    assert cal.add_days(start, 2) == date(2025, 3, 3)  # Monday after the vacation
    assert cal.days_between(start, date(2025, 2, 20)) == 1


@pytest.mark.parametrize("n", [-9, -3, -1, 0, 1, 2, 5, 12, 40])
@pytest.mark.parametrize("start", [date(2024, 9, 27), date(2024, 9, 28), date(2024, 10, 1)])
def test_add_days_and_days_between_are_inverse(start: date, n: int) -> None:
    for cal in (CALENDAR, SCHOOL):
        assert cal.days_between(start, cal.add_days(start, n)) == n


def test_a_year_the_package_does_not_know_falls_back_to_weekends_only() -> None:
    assert not SchoolCalendar.knows_holidays(2003)
    assert SchoolCalendar.knows_holidays(2024)
    assert SchoolCalendar.is_workday(date(2003, 10, 1))  # a Wednesday; the holiday is unknown
    assert not SchoolCalendar.is_workday(date(2003, 10, 4))  # Saturday


def test_term_start_is_the_latest_start_on_or_before_a_day() -> None:
    assert CALENDAR.term_start(date(2025, 4, 10)) == date(2025, 3, 1)
    assert CALENDAR.term_start(date(2025, 8, 10)) == date(2025, 3, 1)  # summer vacation
    assert CALENDAR.term_start(date(2025, 9, 1)) == date(2025, 9, 1)
    assert CALENDAR.term_start(date(2020, 1, 1)) is None
