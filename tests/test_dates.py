"""Dates as teachers type them (issue 3: 3月5日, 3.5, 2024-03-05)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from kcbx.bot.domain.dates import (
    DateError,
    format_date,
    format_date_time,
    parse_user_date,
    use_today,
)
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


def test_the_year_only_outside_the_current_year() -> None:
    """STYLE: 3月5日（周二） within the year the services' clock is in; 2023年12月29日 before."""
    zh, en = translator("zh_CN"), translator("en")
    use_today(lambda: TODAY)
    try:
        assert format_date(date(2024, 3, 5), zh, "zh_CN") == "3月5日（周二）"
        assert format_date(date(2023, 12, 29), zh, "zh_CN") == "2023年12月29日（周五）"
        assert format_date(date(2024, 3, 5), en, "en") == "Tue 5 Mar"
        assert format_date(date(2025, 1, 6), en, "en") == "Mon 6 Jan 2025"
        assert format_date(date(2024, 3, 5), zh, "zh_CN", year=True) == "2024年3月5日（周二）"
        at = datetime(2024, 3, 5, 14, 30, tzinfo=UTC)
        assert format_date_time(at, zh, "zh_CN") == "3月5日（周二）14:30"  # no space after ）
        assert format_date_time(at, en, "en") == "Tue 5 Mar 14:30"
    finally:
        use_today(None)
