"""The pure rules of recording a visit (issue 4): who records what under which rule, the
dates a record and an agreed return may carry, what the detail keeps, which record may be
corrected, and where the referrals of a cause go (A6, A9)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kcbx.bot.domain.dates import DateError
from kcbx.bot.domain.ladder import ActionKind
from kcbx.bot.domain.model import Action
from kcbx.bot.domain.policy import default_policy
from kcbx.bot.domain.roles import Role
from kcbx.bot.services.visits import (
    VisitDraft,
    action_time,
    kinds_for,
    last_own_record,
    latest_records,
    read_return_date,
    read_text,
    return_date_problem,
    rule_of,
    visit_date_problem,
    visit_detail,
)
from kcbx.storage.visits import EvidenceFile

SH = ZoneInfo("Asia/Shanghai")
TODAY = date(2024, 3, 12)


def test_who_records_what() -> None:
    assert kinds_for(Role.CLASS_TEACHER) == ("phone_call", "home_visit", "persuasion")
    assert kinds_for(Role.GROUP_CADRE) == kinds_for(Role.TOWNSHIP_CADRE)
    assert kinds_for(Role.DEPARTMENT_LIAISON) == ("department_action",)
    assert kinds_for(Role.DISTRICT_LEADER) == ()
    assert kinds_for(Role.ADMIN) == ()


def test_the_rule_a_record_fulfils() -> None:
    assert rule_of(ActionKind.PHONE_CALL, Role.CLASS_TEACHER) == "A7.1"
    assert rule_of(ActionKind.HOME_VISIT, Role.CLASS_TEACHER) == "A7.1"
    assert rule_of(ActionKind.HOME_VISIT, Role.GROUP_CADRE) == "A5.1"
    assert rule_of(ActionKind.PERSUASION, Role.SCHOOL_LEAD) == "A7.2"
    assert rule_of(ActionKind.DEPARTMENT_ACTION, Role.DEPARTMENT_LIAISON, "poverty") == "A6"
    assert rule_of(ActionKind.DEPARTMENT_ACTION, Role.DEPARTMENT_LIAISON, "a9") == "A9"


def test_a_record_is_dated_from_the_absence_to_today() -> None:
    since = date(2024, 3, 4)
    assert visit_date_problem(TODAY, TODAY, since) is None
    assert visit_date_problem(since, TODAY, since) is None
    future = visit_date_problem(TODAY + timedelta(days=1), TODAY, since)
    assert future is not None and "future" in future.message
    early = visit_date_problem(date(2024, 3, 3), TODAY, since)
    assert early is not None and early.params == {"date": "2024-03-04"}


def test_an_agreed_return_is_today_or_later_and_read_forward() -> None:
    assert return_date_problem(TODAY, TODAY) is None
    assert return_date_problem(TODAY - timedelta(days=1), TODAY) is not None
    assert return_date_problem(TODAY + timedelta(days=61), TODAY) is not None
    # "3月15日" typed on 12 March means this year's; "3.1" typed then cannot be next year's
    assert read_return_date("3月15日", TODAY) == date(2024, 3, 15)
    assert read_return_date("3.13", TODAY) == date(2024, 3, 13)
    assert read_return_date("1.5", date(2024, 12, 28)) == date(2025, 1, 5)
    assert read_return_date("2024-03-01", TODAY) == date(2024, 3, 1)  # an explicit year stays
    with pytest.raises(DateError):
        read_return_date("下周", TODAY)


def test_text_is_trimmed_and_bounded() -> None:
    assert read_text("  在  外地 打工 ", 20) == "在 外地 打工"
    with pytest.raises(Exception, match="few words"):
        read_text("   ", 20)
    with pytest.raises(Exception, match="too long"):
        read_text("字" * 21, 20)


def test_a_record_dated_earlier_happened_at_midday() -> None:
    now = datetime(2024, 3, 12, 7, 30, tzinfo=UTC)  # 15:30 in Shanghai
    assert action_time(TODAY, now, SH) == now
    assert action_time(date(2024, 3, 10), now, SH) == datetime(2024, 3, 10, 12, tzinfo=SH)


def test_the_detail_keeps_the_facts_and_the_role_not_the_photos() -> None:
    draft = VisitDraft(
        case_id=1,
        kind="home_visit",
        on=TODAY,
        met="guardians",
        outcome="working",
        place="银川 建筑工地",
        cause="child_labour",
        location=(37.5, 105.2),
        photos=[EvidenceFile("photo", b"x", "p.jpg", "image/jpeg")],
        note="<b>家长</b>说过完年回来",
    )
    detail = visit_detail(draft, Role.GROUP_CADRE, None)
    assert detail == {
        "actor_role": "group_cadre",
        "via": "visit",
        "met": "guardians",
        "outcome": "working",
        "place": "银川 建筑工地",
        "cause": "child_labour",
        "note": "<b>家长</b>说过完年回来",
        "location": {"lat": 37.5, "lon": 105.2},
        "photos": 1,
    }
    liaison = visit_detail(
        VisitDraft(case_id=1, kind="department_action"), Role.DEPARTMENT_LIAISON, "justice"
    )
    assert liaison["department"] == "justice"  # what does the ladder's A6-justice task


def _action(
    action_id: int, actor: int, kind: str, hours: int, corrects: int | None = None
) -> Action:
    at = datetime(2024, 3, 11, tzinfo=UTC) + timedelta(hours=hours)
    return Action(action_id, 1, kind, actor, at, at, None, {}, corrects)


def test_only_ones_own_latest_standing_record_may_be_corrected() -> None:
    actions = [
        _action(1, 7, "home_visit", 1),
        _action(2, 8, "phone_call", 2),
        _action(3, 7, "acknowledged", 3),
        _action(4, 7, "phone_call", 4),
        _action(5, 7, "phone_call", 5, corrects=4),
    ]
    last = last_own_record(actions, 7)
    assert last is not None and last.id == 5
    assert last_own_record(actions, 9) is None
    assert [a.id for a in latest_records(actions)] == [5, 2]  # 4 is replaced by 5


def test_the_policy_routes_causes_to_departments() -> None:
    departments = default_policy().departments
    assert departments.routes_for("parents_unwilling") == ("justice", "township")
    assert set(departments.a9_relief) >= {"civil_affairs"}
