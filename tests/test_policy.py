"""The policy file: defaults are RULES.md; a county file merges over them; bad values are named."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from kcbx.bot.domain.i18n import translator
from kcbx.bot.domain.policy.reading import (
    PolicyError,
    default_policy,
    load_policy,
    policy_from_data,
)
from kcbx.bot.domain.policy.showing import check_policy_file, render_policy
from kcbx.bot.domain.policy.tree import CAUSES, DEPARTMENTS, DayCounting

pytestmark = pytest.mark.single_backend  # opens no database


EN = translator("en")
ZH = translator("zh_CN")


def _problems(data: dict[str, object]) -> dict[str, str]:
    with pytest.raises(PolicyError) as caught:
        policy_from_data(data)
    return {p.key: p.render() for p in caught.value.problems}


def test_defaults_are_the_numbers_of_rules_md() -> None:
    p = default_policy()
    assert p.ladder.day_counting is DayCounting.CALENDAR  # A7: calendar days by default
    assert p.ladder.call_within_hours == 4  # A7.1 "at once"
    assert p.ladder.visit_within_days == 2  # A7.1 home visit
    assert p.ladder.persuasion_day == 3  # A7.2
    assert p.ladder.dropout_day == 7  # A7.3
    assert p.ladder.notice_day == 15  # A7.4
    assert p.ladder.notice_deadline_days == 7  # A7.4
    assert p.ladder.correction_deadline_days == 7  # A7.5
    assert p.ladder.relapse_window_days == 30
    assert (p.reminders.quiet_start, p.reminders.quiet_end) == (time(20), time(8))
    assert p.time.zone == "Asia/Shanghai"
    # working hours (the business day on working days), not clock hours
    assert (p.reminders.re_remind_hours, p.reminders.escalate_hours) == (4, 4)
    assert p.accountability.attrition_percent == 1.0  # A8.1
    assert (p.accountability.primary_dropouts, p.accountability.junior_dropouts) == (1, 2)
    assert p.accountability.township_dropouts_over == 2  # A8.4
    assert p.accountability.department_dropouts_over == 2  # A8.5
    assert p.accountability.school_year(date(2025, 3, 1)) == (date(2024, 9, 1), date(2025, 8, 31))
    assert p.validity.ends_on == date(2028, 12, 15)  # A10
    assert p.validity.warn_from == date(2028, 9, 16)
    assert p.validity.needs_warning(date(2028, 9, 16))
    assert not p.validity.needs_warning(date(2028, 9, 15))
    assert p.notice.number(2024, 7) == "沙教控辍〔2024〕7号"
    assert p.cadres.max_households_per_group_cadre == 30
    assert p.cadres.visit_within_days == 2  # A5.1 (ours): the chain visits after A7.3
    assert date(2025, 3, 1) in p.school.term_starts


def test_routing_covers_every_cause_of_a6() -> None:
    departments = default_policy().departments
    assert {cause for cause, _ in departments.routing} == set(CAUSES)
    assert departments.routes_for("early_marriage") == (
        "civil_affairs",
        "public_security",
        "justice",
    )
    assert departments.routes_for("religious") == ("united_front",)
    assert "hr_social_security" in departments.routes_for("child_labour")
    assert departments.routes_for("unknown") == ("education_bureau",)
    assert departments.routes_for("no-such-cause") == ("education_bureau",)
    assert set(departments.a9_relief) == {  # A9
        "civil_affairs",
        "rural_revitalisation",
        "youth_league",
        "womens_federation",
    }
    for _, codes in departments.routing:
        assert set(codes) <= set(DEPARTMENTS)


def test_a_county_file_merges_over_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "county.toml"
    path.write_text(
        '[ladder]\nday_counting = "school_days"\nnotice_day = 20\n'
        '[departments.routing]\npoverty = ["civil_affairs"]\n'
        '[[school.vacations]]\nname = "spring"\nstart = 2025-04-01\nend = 2025-04-05\n',
        encoding="utf-8",
    )
    p = load_policy(path)
    assert p.ladder.day_counting is DayCounting.SCHOOL_DAYS
    assert p.ladder.notice_day == 20
    assert p.ladder.dropout_day == 7  # untouched keys keep their default
    assert p.departments.routes_for("poverty") == ("civil_affairs",)
    assert p.departments.routes_for("religious") == ("united_front",)
    assert [v.name for v in p.school.vacations] == ["spring"]  # lists replace
    assert p.source == str(path)


def test_no_file_means_the_defaults() -> None:
    assert load_policy(None) == default_policy()


def test_every_bad_value_is_named_by_its_dotted_key() -> None:
    problems = _problems(
        {
            "ladder": {
                "persuasion_day": 9,  # A7.2 after A7.3
                "notice_deadline_days": -1,
                "visit_within_days": "two",
                "day_counting": "weekdays",
                "colour": "red",
            },
            "time": {"zone": "Mars/Olympus", "business_day_start": "25:00"},
            "reminders": {"quiet_start": "08:00"},  # same as quiet_end
            "departments": {
                "routing": {"aliens": ["township"], "poverty": ["nasa", 3], "bullying": []},
                "a9_relief": ["womens_federation", "moon"],
            },
            "school": {
                "vacations": [{"name": "x", "start": date(2025, 2, 1), "end": date(2025, 1, 1)}]
            },
            "notice": {"number_format": "{year}号"},
            "accountability": {"school_year_start": "13-01", "talk_after_months": 3},
            "extra": {},
        }
    )
    assert problems == {
        "ladder.persuasion_day": "ladder.persuasion_day: must be less than ladder.dropout_day (7)",
        "ladder.notice_deadline_days": "ladder.notice_deadline_days: must be at least 1",
        "ladder.visit_within_days": "ladder.visit_within_days: must be a whole number",
        "ladder.day_counting": "ladder.day_counting: must be one of: calendar, school_days",
        "ladder.colour": "ladder.colour: unknown key",
        "time.zone": "time.zone: unknown time zone",
        "time.business_day_start": "time.business_day_start: must be a time of day such as 08:00",
        "reminders.quiet_end": "reminders.quiet_end: must differ from reminders.quiet_start",
        "departments.routing.aliens": problems["departments.routing.aliens"],
        "departments.routing.poverty[0]": (
            "departments.routing.poverty[0]: unknown department code: nasa"
        ),
        "departments.routing.poverty[1]": "departments.routing.poverty[1]: must be text",
        "departments.routing.bullying": (
            "departments.routing.bullying: must name at least one department"
        ),
        "departments.a9_relief[1]": "departments.a9_relief[1]: unknown department code: moon",
        "school.vacations[0].end": "school.vacations[0].end: is before school.vacations[0].start",
        "notice.number_format": problems["notice.number_format"],
        "accountability.school_year_start": (
            "accountability.school_year_start: must be a month and day such as 09-01"
        ),
        "accountability.talk_after_months": (
            "accountability.talk_after_months: must be less than "
            "accountability.reprimand_after_months (2)"
        ),
        "extra": "extra: unknown key",
    }
    assert "unknown cause code" in problems["departments.routing.aliens"]
    assert "{year}" in problems["notice.number_format"]


def test_a_table_given_as_a_value_and_a_date_given_as_text_are_refused() -> None:
    problems = _problems({"ladder": 3, "validity": {"ends_on": "2028-12-15"}})
    assert problems["ladder"] == "ladder: must be a table"
    assert "without quotes" in problems["validity.ends_on"]


def test_booleans_are_not_numbers() -> None:
    assert _problems({"cadres": {"max_households_per_group_cadre": True}}) == {
        "cadres.max_households_per_group_cadre": (
            "cadres.max_households_per_group_cadre: must be a whole number"
        )
    }


def test_check_policy_file_prints_the_effective_ladder(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text("[ladder]\nnotice_day = 16\n", encoding="utf-8")
    code, text = check_policy_file(path, EN)
    assert code == 0
    assert "A7.4 day 16: notice to enrol by a deadline" in text
    assert "沙教控辍〔2023〕1号" in text


def test_check_policy_file_lists_problems_with_exit_code_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[ladder]\ndropout_day = 2\nnotice_day = 1\n", encoding="utf-8")
    code, text = check_policy_file(path, EN)
    assert code == 1
    assert "ladder.persuasion_day: must be less than ladder.dropout_day (2)" in text
    assert "ladder.dropout_day: must be less than ladder.notice_day (1)" in text


def test_check_policy_file_unreadable_or_not_toml_is_exit_code_2(tmp_path: Path) -> None:
    assert check_policy_file(tmp_path / "missing.toml", EN)[0] == 2
    broken = tmp_path / "broken.toml"
    broken.write_text("[ladder\n", encoding="utf-8")
    code, text = check_policy_file(broken, EN)
    assert code == 2
    assert "not valid TOML" in text


def test_the_policy_renders_in_chinese() -> None:
    text = render_policy(default_policy(), ZH)
    assert "限期入学通知书" in text  # A7.4, glossary
    assert "民政局" in text  # A6


def test_a8_warning_settings_are_policy_not_constants() -> None:
    """RULES.md: where the text is open, the default is ours and a setting (A8 warns "before")."""
    p = default_policy()
    assert p.accountability.warn_days_ahead == 7
    assert p.accountability.attrition_warn_share == 0.8
    problems = _problems({"accountability": {"attrition_warn_share": 1.5, "warn_days_ahead": 0}})
    assert "accountability.attrition_warn_share" in problems
    assert "accountability.warn_days_ahead" in problems
