"""The aggregate reads of the summaries (issue 5) on a real SQLite file: a unit's fast scope
counts exactly what the person's scope (students.scope_clause) holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from kcbx.bot.domain.clock import FakeClock, to_iso
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.storage import rollups
from kcbx.storage.reports_repo import person_scope, unit_scope
from kcbx.testing.seed import T0, District, small_district

LEADERS = ("13900000002", "13900000010", "13900000011", "13900000020", "13900000030")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[Services, District]]:
    services = await Services.open(Config(db_path=str(tmp_path / "kcbx.db")), FakeClock(T0))
    district = await small_district(services, T0)
    # a child of 滨河镇's households at 文昌中学: in both townships' scopes, one school's roll
    async with services.db.transaction():
        district.students["马十"] = await services.db.execute(
            "INSERT INTO students (registry_no, name, school_id, grade, household_unit_id,"
            " updated_at) VALUES ('G640000000000000099', '马十', ?, 7, ?, ?)",
            (district.units["wenchang_middle"], district.units["xindun/2"], to_iso(T0)),
        )
        await rollups.recount(services.db)  # written with plain SQL: the schools' counts
    yield services, district
    await services.close()


async def test_a_units_scope_counts_what_the_leaders_scope_holds(
    world: tuple[Services, District],
) -> None:
    services, _district = world
    reports = services.reports
    for phone in LEADERS:
        person = await services.people.by_phone(phone)
        assert person is not None and person.unit_id is not None
        unit = await services.units.get(person.unit_id)
        assert unit is not None
        fast = await reports.enrolled_by_school(unit_scope(unit))
        exact = await reports.enrolled_by_school(person_scope(person))
        assert fast == exact, phone
        assert sum(fast.values()) == await services.students.count_visible(person), phone


async def test_cases_are_counted_by_period_and_the_trend_by_instant(
    world: tuple[Services, District],
) -> None:
    services, district = world
    first = await services.cases.open_case(
        student_id=district.students["马十"],
        reported_by=None,
        absent_since=date(2024, 2, 20),
        cause="unknown",
        guardian_contact=None,
        note=None,
        now=datetime(2024, 2, 20, 2, 0, tzinfo=UTC),
        year=2024,
        actor="cli:test",
    )
    await services.cases.close(
        first.id, status="returned", now=datetime(2024, 3, 1, 2, 0, tzinfo=UTC), actor="t"
    )
    await services.cases.open_case(
        student_id=district.students["张三"],
        reported_by=None,
        absent_since=date(2024, 3, 1),
        cause="unknown",
        guardian_contact=None,
        note=None,
        now=T0,
        year=2024,
        actor="cli:test",
    )
    binhe = await services.units.get(district.units["binhe"])
    assert binhe is not None
    scope = unit_scope(binhe)
    activity = await services.reports.activity_by_school(
        scope,
        today=datetime(2024, 3, 3, 16, 0, tzinfo=UTC),
        week=datetime(2024, 3, 3, 16, 0, tzinfo=UTC),
        month=datetime(2024, 2, 29, 16, 0, tzinfo=UTC),
        year=datetime(2023, 8, 31, 16, 0, tzinfo=UTC),
    )
    assert activity[district.units["binhe_primary"]].new_today == 1
    assert activity[district.units["wenchang_middle"]].returned_month == 1  # 马十's household
    trend = await services.reports.open_trend(
        scope,
        [
            (date(2024, 2, 25), datetime(2024, 2, 25, 4, 0, tzinfo=UTC)),
            (date(2024, 3, 2), datetime(2024, 3, 2, 4, 0, tzinfo=UTC)),
        ],
    )
    assert trend == [1, 1]  # 马十 open on 25 Feb; 张三 (absent since 1 March) on 2 March
