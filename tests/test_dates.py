"""Dates as teachers type them (issue 3: 3月5日, 3.5, 2024-03-05)."""

from __future__ import annotations

from datetime import date

import pytest

from kcbx.bot.domain.dates import DateError, format_date, parse_user_date
from kcbx.bot.domain.i18n import translator

TODAY = date(2024, 3, 12)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3月5日", date(2024, 3, 5)),
        ("3.5", date(2024, 3, 5)),
        ("３．５", date(2024, 3, 5)),
        ("3/5", date(2024, 3, 5)),
        ("2024-03-05", date(2024, 3, 5)),
        ("2024年3月5日", date(2024, 3, 5)),
        ("20240305", date(2024, 3, 5)),
        ("今天", TODAY),
        ("yesterday", date(2024, 3, 11)),
        ("12月20日", date(2023, 12, 20)),  # no year: the latest such date not after today
    ],
)
def test_typed_dates(text: str, expected: date) -> None:
    assert parse_user_date(text, TODAY) == expected


@pytest.mark.parametrize("text", ["2月30日", "abc", "13.1", "", "2024-13-01"])
def test_bad_dates_explain(text: str) -> None:
    with pytest.raises(DateError):
        parse_user_date(text, TODAY)


def test_format() -> None:
    assert format_date(date(2024, 3, 5), translator("zh_CN"), "zh_CN") == "2024年3月5日（周二）"
    assert format_date(date(2024, 3, 5), translator("en"), "en") == "Tue 5 Mar 2024"
