"""A8 as pure rules (issue 5): who earns a flag when, and who is warned before.

Each test walks a controlled clock over the facts of a few cases: no database, no Telegram.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kcbx.bot.domain.accountability import (
    CaseA8,
    Level,
    Persuasion,
    Rule,
    Warning,
    WarningKind,
    add_months,
    evaluate,
    month_end,
    next_period,
    period_of,
    section_of,
    warnings,
)
from kcbx.bot.domain.policy import default_policy

POLICY = default_policy()
TZ = ZoneInfo("Asia/Shanghai")
DISTRICT, TOWNSHIP, PRIMARY, JUNIOR, OTHER_SCHOOL, DEPARTMENT = 1, 10, 100, 200, 300, 50


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


# A mark at midnight starting day 7 of an absence that began on 26 Feb 2024: 4 March 00:00.
MARK = local(2024, 3, 4)


def dropout(
    n: int,
    school: int = PRIMARY,
    section: str = "primary",
    *,
    marked: datetime | None = MARK,
    persuaded: datetime | None = None,
    departments: tuple[int, ...] = (),
) -> CaseA8:
    return CaseA8(
        case_id=n,
        number=f"KC-2024-{n:04d}",
        school_id=school,
        section=section,
        township_id=TOWNSHIP,
        marked_at=marked,
        persuasion=(Persuasion("home_visit", persuaded, "李老师"),) if persuaded else (),
        departments=departments,
    )


def coming(n: int, school: int = PRIMARY, section: str = "primary") -> CaseA8:
    """A case at day 3 (A7.2) that will be marked on 4 March unless the child comes back."""
    return CaseA8(
        case_id=n,
        number=f"KC-2024-{n:04d}",
        school_id=school,
        section=section,
        township_id=TOWNSHIP,
        marked_at=None,
        mark_due=MARK,
        warn_from=MARK - timedelta(days=4),
    )


def flags_at(
    cases: list[CaseA8], at: datetime, enrolled: int = 10_000
) -> set[tuple[str, int, str]]:
    return {
        (f.rule.value, f.unit_id, f.level.value)
        for f in evaluate(cases, POLICY, at, district_id=DISTRICT, enrolled=enrolled)
    }


def warned(cases: list[CaseA8], at: datetime, enrolled: int = 10_000) -> list[Warning]:
    return warnings(cases, POLICY, at, district_id=DISTRICT, enrolled=enrolled)


# --- A8.2 and A8.3 ---------------------------------------------------------------------------


def test_a8_2_one_primary_dropout_without_persuasion_flags_the_school_from_the_mark() -> None:
    case = dropout(1, marked=MARK)
    assert flags_at([case], MARK - timedelta(minutes=1)) == set()
    assert flags_at([case], MARK) == {("A8.2", PRIMARY, "flagged")}


def test_a8_2_persuasion_recorded_before_the_instant_keeps_the_school_clear() -> None:
    case = dropout(1, persuaded=MARK - timedelta(days=2))
    assert flags_at([case], MARK + timedelta(days=10)) == set()
    late = dropout(2, persuaded=MARK + timedelta(days=5))
    assert flags_at([late], MARK + timedelta(days=1)) == {("A8.2", PRIMARY, "flagged")}
    assert flags_at([late], MARK + timedelta(days=5)) == set()


def test_a8_2_is_warned_from_day_3_with_the_day_before_the_mark_as_deadline() -> None:
    case = coming(1)
    assert case.warn_from is not None
    assert warned([case], case.warn_from - timedelta(minutes=1)) == []
    found = warned([case], MARK - timedelta(days=1))
    assert [(w.rule, w.kind, w.deadline) for w in found] == [
        (Rule.PRIMARY, WarningKind.BEFORE, MARK)
    ]
    assert found[0].case == case


def test_a8_2_flag_earned_mid_month_warns_before_the_month_end_freeze() -> None:
    found = warned([dropout(1)], MARK + timedelta(days=2))
    assert [(w.rule, w.kind, w.deadline) for w in found] == [
        (Rule.PRIMARY, WarningKind.FREEZE, local(2024, 4, 1))
    ]


def test_a8_3_junior_middle_needs_two_dropouts_without_persuasion() -> None:
    one = [dropout(1, JUNIOR, "junior")]
    assert flags_at(one, MARK + timedelta(days=3)) == set()
    two = [*one, dropout(2, JUNIOR, "junior", marked=MARK + timedelta(days=2))]
    assert flags_at(two, MARK + timedelta(days=1)) == set()
    assert flags_at(two, MARK + timedelta(days=2)) == {("A8.3", JUNIOR, "flagged")}
    persuaded = [dropout(1, JUNIOR, "junior"), dropout(2, JUNIOR, "junior", persuaded=MARK)]
    assert flags_at(persuaded, MARK + timedelta(days=3)) == set()


def test_a8_3_warns_each_coming_case_only_when_it_would_reach_two() -> None:
    at = MARK - timedelta(days=1)
    assert warned([coming(1, JUNIOR, "junior")], at) == []
    with_one = [
        dropout(9, JUNIOR, "junior", marked=MARK - timedelta(days=20)),
        coming(1, JUNIOR, "junior"),
    ]
    found = warned(with_one, at)
    before = [w for w in found if w.kind == WarningKind.BEFORE]
    assert [(w.rule, w.case.case_id if w.case else None) for w in before] == [(Rule.JUNIOR, 1)]


def test_a_nine_year_school_answers_by_the_students_grade() -> None:
    assert section_of("nine_year", 5) == "primary"
    assert section_of("nine_year", 8) == "junior"
    assert section_of("junior", None) == "junior"
    assert section_of(None, None) == "primary"


# --- A8.4: the township's three months -----------------------------------------------------


def three_dropouts() -> list[CaseA8]:
    return [dropout(n, OTHER_SCHOOL) for n in (1, 2, 3)]


def township_level(cases: list[CaseA8], at: datetime) -> str | None:
    levels = [level for rule, unit, level in flags_at(cases, at) if rule == "A8.4"]
    assert len(levels) <= 1
    return levels[0] if levels else None


def test_a8_4_month_1_without_persuasion_is_an_admonitory_talk() -> None:
    cases = three_dropouts()
    assert township_level(cases, local(2024, 4, 3, 23, 59)) is None
    assert township_level(cases, local(2024, 4, 4)) == "talk"
    flag = next(
        f
        for f in evaluate(cases, POLICY, local(2024, 4, 4), district_id=DISTRICT, enrolled=10_000)
        if f.rule == Rule.TOWNSHIP
    )
    assert flag.unit_id == TOWNSHIP and flag.schools == (OTHER_SCHOOL,)
    assert [c.number for c in flag.cases] == ["KC-2024-0001", "KC-2024-0002", "KC-2024-0003"]


def test_a8_4_two_dropouts_are_not_more_than_two() -> None:
    assert township_level(three_dropouts()[:2], local(2024, 7, 1)) is None


def test_a8_4_persuasion_in_the_first_month_avoids_the_talk_but_not_month_2() -> None:
    cases = [*three_dropouts()[:2], dropout(3, OTHER_SCHOOL, persuaded=local(2024, 3, 20))]
    assert township_level(cases, local(2024, 4, 10)) is None
    # month 2: still not back, persuaded or not -> public reprimand
    assert township_level(cases, local(2024, 5, 4)) == "reprimand"


def test_a8_4_month_2_not_returned_is_a_public_reprimand_and_month_3_a_sanction() -> None:
    cases = three_dropouts()
    assert township_level(cases, local(2024, 5, 3, 23)) == "talk"
    assert township_level(cases, local(2024, 5, 4)) == "reprimand"
    assert township_level(cases, local(2024, 6, 3, 23)) == "reprimand"
    assert township_level(cases, local(2024, 6, 4)) == "sanction"
    # one child back (its case no longer open): two left, nothing earned any more
    assert township_level(cases[:2], local(2024, 6, 4)) is None


def test_a8_4_warns_the_township_a_week_before_each_step() -> None:
    cases = three_dropouts()

    def township(at: datetime) -> list[tuple[int, Level, datetime | None]]:
        return [
            (w.unit_id, w.level, w.deadline) for w in warned(cases, at) if w.rule == Rule.TOWNSHIP
        ]

    assert township(local(2024, 3, 20)) == []  # the talk is more than a week away
    assert township(local(2024, 3, 29)) == [(TOWNSHIP, Level.TALK, local(2024, 4, 4))]
    assert township(local(2024, 4, 30)) == [(TOWNSHIP, Level.REPRIMAND, local(2024, 5, 4))]
    assert township(local(2024, 5, 30)) == [(TOWNSHIP, Level.SANCTION, local(2024, 6, 4))]
    assert township(local(2024, 6, 10)) == []  # nothing above a sanction


def test_a8_5_departments_climb_the_same_ladder_over_referred_dropouts() -> None:
    cases = [dropout(n, n * 1000, departments=(DEPARTMENT,)) for n in (1, 2, 3)]
    levels = {
        at: {(r, u, lv) for r, u, lv in flags_at(cases, at) if r == "A8.5"}
        for at in (local(2024, 4, 3), local(2024, 4, 4), local(2024, 5, 4), local(2024, 6, 4))
    }
    assert levels == {
        local(2024, 4, 3): set(),
        local(2024, 4, 4): {("A8.5", DEPARTMENT, "talk")},
        local(2024, 5, 4): {("A8.5", DEPARTMENT, "reprimand")},
        local(2024, 6, 4): {("A8.5", DEPARTMENT, "sanction")},
    }


# --- A8.1 ----------------------------------------------------------------------------------


def test_a8_1_attrition_above_one_percent_flags_the_district() -> None:
    cases = [dropout(n, persuaded=MARK) for n in range(1, 11)]
    assert ("A8.1", DISTRICT, "flagged") not in flags_at(cases, MARK, enrolled=1000)  # 1.0%
    assert ("A8.1", DISTRICT, "flagged") in flags_at(cases, MARK, enrolled=999)  # 1.001%
    near = warned(cases, MARK, enrolled=1100)
    assert [(w.rule, w.kind) for w in near] == [(Rule.ATTRITION, WarningKind.NEAR)]


# --- months --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (local(2024, 3, 4), 1, local(2024, 4, 4)),
        (local(2024, 1, 31), 1, local(2024, 2, 29)),
        (local(2023, 12, 15), 3, local(2024, 3, 15)),
    ],
)
def test_months_count_in_local_time_and_clamp_to_the_month_end(
    start: datetime, months: int, expected: datetime
) -> None:
    assert add_months(start.astimezone(UTC), months, TZ) == expected


def test_periods() -> None:
    assert period_of(datetime(2024, 3, 31, 16, 30, tzinfo=UTC), TZ) == "2024-04"
    assert month_end("2024-03", TZ) == local(2024, 4, 1)
    assert next_period("2024-12") == "2025-01"
