"""The A8 month-end freeze (issue 5): each month's flags are evaluated as they stood at its
last instant and kept, insert-only, with their evidence; nothing done later changes them.

Real SQLite files, the real services, a controlled clock; no Telegram.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.domain.i18n import translator
from kcbx.bot.domain.model import Case
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.accountability import accountability_view, freeze_due_months
from kcbx.bot.texts.accountability import render_accountability
from kcbx.testing.seed import T0, District, small_district

ZH = translator("zh_CN")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[Services, FakeClock, District]]:
    clock = FakeClock(T0)  # Monday 4 March 2024, 09:00 in Asia/Shanghai
    services = await Services.open(Config(db_path=str(tmp_path / "kcbx.db")), clock)
    district = await small_district(services, T0)
    yield services, clock, district
    await services.close()


async def report(services: Services, student_id: int, absent_since: date) -> Case:
    return await services.cases.open_case(
        student_id=student_id,
        reported_by=None,
        absent_since=absent_since,
        cause="unknown",
        guardian_contact=None,
        note=None,
        now=services.clock.now(),
        year=2024,
        actor="cli:test",
    )


def snapshot(months: list) -> list[tuple[str, str, list[tuple[str, int, str, object]]]]:  # type: ignore[type-arg]
    return [
        (m.period, m.digest, [(f.rule, f.unit_id, f.level, f.evidence) for f in m.flags])
        for m in months
    ]


async def test_a_frozen_month_does_not_change_when_the_cases_change_later(
    world: tuple[Services, FakeClock, District],
) -> None:
    services, clock, district = world
    # 张三 (primary) absent since 26 Feb: day 7 on the day of the report, no persuasion (A8.2)
    case = await report(services, district.students["张三"], date(2024, 2, 26))
    assert await freeze_due_months(services) == []  # March has not ended
    clock.set(datetime(2024, 4, 2, 1, 0, tzinfo=UTC))  # 2 April 09:00
    assert await freeze_due_months(services) == ["2024-03"]
    frozen = await services.a8.months(school_year=2023)
    assert [m.period for m in frozen] == ["2024-03"]
    rules = {(f.rule, f.unit_id, f.level) for f in frozen[0].flags}
    assert ("A8.2", district.units["binhe_primary"], "flagged") in rules
    a82 = next(f for f in frozen[0].flags if f.rule == "A8.2")
    assert a82.evidence["unit"] == "滨河小学"
    assert [c["number"] for c in a82.evidence["cases"]] == [case.number]
    assert a82.evidence["cases"][0]["persuasion"] == []
    before = snapshot(frozen)

    # Later: a persuasion dated in March is recorded in April, and the child comes back.
    await services.cases.record_action(
        case.id,
        kind="home_visit",
        actor_id=district.people["13900000022"],
        at=datetime(2024, 3, 20, 2, 0, tzinfo=UTC),
        now=clock.now(),
    )
    await services.cases.close(case.id, status="returned", now=clock.now(), actor="cli:test")
    assert await freeze_due_months(services) == []
    assert snapshot(await services.a8.months(school_year=2023)) == before
    assert not await services.a8.freeze_month(
        period="2024-03",
        school_year=2023,
        as_of=clock.now(),
        enrolled=1,
        dropouts=0,
        flags=[],
        now=clock.now(),
    )
    assert snapshot(await services.a8.months(school_year=2023)) == before
    assert await services.a8.verify() == []
    # April is frozen as it stood on 30 April: the child was back, so no A8.2 for April
    clock.set(datetime(2024, 5, 6, 1, 0, tzinfo=UTC))
    assert await freeze_due_months(services) == ["2024-04"]
    april = (await services.a8.months(school_year=2023))[-1]
    assert april.period == "2024-04" and not [f for f in april.flags if f.rule == "A8.2"]
    entries = await services.audit.entries(action="a8_freeze")
    assert [e["entity_id"] for e in entries] == ["2024-03", "2024-04"]


async def test_a_late_freeze_ignores_what_was_recorded_after_the_month_ended(
    world: tuple[Services, FakeClock, District],
) -> None:
    services, clock, district = world
    case = await report(services, district.students["张三"], date(2024, 2, 26))
    clock.set(datetime(2024, 4, 3, 1, 0, tzinfo=UTC))
    # recorded on 3 April, dated 20 March: too late for March's record
    await services.cases.record_action(
        case.id,
        kind="phone_call",
        actor_id=district.people["13900000022"],
        at=datetime(2024, 3, 20, 2, 0, tzinfo=UTC),
        now=clock.now(),
    )
    clock.set(datetime(2024, 5, 10, 1, 0, tzinfo=UTC))  # the bot was down for five weeks
    assert await freeze_due_months(services) == ["2024-03", "2024-04"]
    march, april = await services.a8.months(school_year=2023)
    assert [f.rule for f in march.flags if f.unit_id == district.units["binhe_primary"]] == ["A8.2"]
    assert not [f for f in april.flags if f.rule == "A8.2"]  # persuasion on record by then


async def test_an_edit_behind_the_bots_back_breaks_the_digest_chain(
    world: tuple[Services, FakeClock, District],
) -> None:
    services, clock, district = world
    await report(services, district.students["张三"], date(2024, 2, 26))
    clock.set(datetime(2024, 5, 2, 1, 0, tzinfo=UTC))
    await freeze_due_months(services)
    assert await services.a8.verify() == []
    async with services.db.transaction():
        await services.db.execute(
            "UPDATE a8_flags SET level = 'cleared' WHERE rule = 'A8.2' AND period = '2024-03'"
        )
    assert await services.a8.verify() == ["2024-03"]


async def test_accountability_shows_the_frozen_months_and_this_month(
    world: tuple[Services, FakeClock, District],
) -> None:
    services, clock, district = world
    case = await report(services, district.students["张三"], date(2024, 2, 26))
    clock.set(datetime(2024, 4, 2, 1, 0, tzinfo=UTC))
    await freeze_due_months(services)
    leader = await services.people.by_phone("13900000002")
    teacher = await services.people.by_phone("13900000022")
    assert leader is not None and teacher is not None
    found = await accountability_view(services, leader)
    assert found is not None
    view = render_accountability(found, 0, services.policy, ZH, "zh_CN")
    assert "2024年3月" in view.text and "辍学且无劝返记录" in view.text and case.number in view.text
    assert "本月至今" in view.text
    assert await accountability_view(services, teacher) is None
