"""Cases and actions on a real database: numbering, one open case, append-only actions."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.storage.cases import CaseExists

T0 = datetime(2024, 3, 5, 1, 0, tzinfo=UTC)


async def _services(tmp_path: Path) -> tuple[Services, list[int]]:
    services = await Services.open(Config(db_path=str(tmp_path / "k.db")), FakeClock(T0))
    d = await services.units.add("district", "沙坡头区")
    school = await services.units.add("school", "滨河小学", d, section="primary")
    ids = []
    async with services.db.transaction():
        for n in range(30):
            ids.append(
                await services.db.execute(
                    "INSERT INTO students (registry_no, name, school_id, updated_at)"
                    " VALUES (?, ?, ?, 'x')",
                    (f"G{n:018d}", f"学生{n}", school),
                )
            )
    return services, ids


async def _open(services: Services, student: int) -> str:
    case = await services.cases.open_case(
        student_id=student,
        reported_by=None,
        absent_since=date(2024, 3, 4),
        cause="unknown",
        guardian_contact=None,
        note=None,
        now=T0,
        year=2024,
        actor="t",
    )
    return case.number


async def test_numbers_never_repeat_or_skip_under_concurrency(tmp_path: Path) -> None:
    services, students = await _services(tmp_path)
    numbers = await asyncio.gather(*(_open(services, s) for s in students))
    assert sorted(numbers) == [f"KC-2024-{n:04d}" for n in range(1, 31)]
    await services.close()


async def test_numbers_continue_after_cases_written_without_the_counter(tmp_path: Path) -> None:
    services, students = await _services(tmp_path)
    async with services.db.transaction():  # as an older kcbx (or an operator) wrote it
        await services.db.execute(
            "INSERT INTO cases (number, year, seq, student_id, absent_since, reported_at,"
            " status) VALUES ('KC-2024-0007', 2024, 7, ?, '2024-03-01', 'x', 'returned')",
            (students[0],),
        )
    assert await _open(services, students[1]) == "KC-2024-0008"
    assert await _open(services, students[2]) == "KC-2024-0009"
    await services.close()


async def test_two_reports_of_one_child_at_once_open_one_case(tmp_path: Path) -> None:
    services, students = await _services(tmp_path)
    results = await asyncio.gather(
        *(_open(services, students[0]) for _ in range(2)), return_exceptions=True
    )
    numbers = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, CaseExists)]
    assert len(numbers) == 1 and len(refused) == 1, results
    assert refused[0].case.number == numbers[0]
    await services.close()


async def test_a_student_has_one_open_case(tmp_path: Path) -> None:
    services, students = await _services(tmp_path)
    first = await _open(services, students[0])
    with pytest.raises(CaseExists) as raised:
        await _open(services, students[0])
    assert raised.value.case.number == first
    case = await services.cases.by_number(first)
    assert case is not None
    assert await services.cases.close(case.id, status="returned", now=T0, actor="t")
    assert not await services.cases.close(case.id, status="returned", now=T0, actor="t")
    again = await _open(services, students[0])
    assert again == "KC-2024-0002"
    await services.close()


async def test_actions_are_appended_and_corrections_point_back(tmp_path: Path) -> None:
    services, students = await _services(tmp_path)
    case = await services.cases.by_number(await _open(services, students[0]))
    assert case is not None
    visit = await services.cases.record_action(
        case.id, kind="home_visit", actor_id=None, at=T0, now=T0, detail={"outcome": "refused"}
    )
    fix = await services.cases.record_action(
        case.id,
        kind="home_visit",
        actor_id=None,
        at=T0,
        now=T0 + timedelta(hours=1),
        detail={"outcome": "agreed"},
        corrects_id=visit.id,
    )
    actions = await services.cases.actions(case.id)
    assert [a.detail["outcome"] for a in actions] == ["refused", "agreed"]
    assert actions[1].corrects_id == visit.id == actions[0].id and fix.id == actions[1].id
    audit = await services.audit.entries(entity="case")
    assert [e["action"] for e in audit] == ["open_case", "action:home_visit", "action:home_visit"]
    await services.close()
