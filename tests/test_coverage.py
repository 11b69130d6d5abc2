"""三包 coverage (A5.1, issue 4): the pure rules, and `kcbx coverage` on a roster built here
with gaps put in on purpose."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kcbx.bot.cli.main import main
from kcbx.bot.domain.clock import FakeClock, to_iso
from kcbx.bot.domain.roles import Role
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.coverage import chain_of, coverage_report
from kcbx.bot.texts.paging import pages
from kcbx.storage.coverage import CadreRow, HouseholdRow, UnitRow

NOW = datetime(2024, 3, 4, 1, tzinfo=UTC)

UNITS = [
    UnitRow(1, "district", "区", None),
    UnitRow(2, "township", "甲镇", 1),
    UnitRow(3, "village", "东村", 2),
    UnitRow(4, "group", "一组", 3),
    UnitRow(5, "group", "二组", 3),
]


def cadre(person_id: int, role: Role, unit_id: int, joined: bool = True) -> CadreRow:
    return CadreRow(person_id, f"干部{person_id}", None, role, unit_id, joined)


def test_the_chain_of_a_household_is_its_group_village_and_township() -> None:
    units = {u.id: u for u in UNITS}
    chain = chain_of(4, units)
    assert (chain.group, chain.village, chain.township) == (4, 3, 2)
    on_village = chain_of(3, units)
    assert (on_village.group, on_village.village, on_village.township) == (None, 3, 2)


def test_gaps_at_each_level_and_shared_loads() -> None:
    households = [
        HouseholdRow(4, "1370001", 2),
        HouseholdRow(4, "1370002", 1),
        HouseholdRow(4, "1370003", 1),
        HouseholdRow(5, "1370004", 1),
        HouseholdRow(3, "student:9", 1),  # on the village: no group known
    ]
    cadres = [
        cadre(1, Role.GROUP_CADRE, 4),
        cadre(2, Role.GROUP_CADRE, 4, joined=False),  # shares 一组 with 1
        cadre(3, Role.VILLAGE_CADRE, 4),  # 包组: 一组 only
        cadre(4, Role.TOWNSHIP_CADRE, 2),  # attached to the township: all its villages
    ]
    report = coverage_report(UNITS, households, cadres, max_households_per_group_cadre=1)
    assert (report.households, report.students, report.covered) == (5, 6, 3)
    gaps = {(g.unit_id, g.missing) for g in report.gaps}
    assert gaps == {(5, ("group", "village")), (3, ("group", "village"))}
    loads = {load.cadre.person_id: load.households for load in report.loads}
    assert loads == {1: 2, 2: 2, 3: 3, 4: 5}  # 3 households shared by two group cadres
    assert {load.cadre.person_id for load in report.overloaded} == {1, 2}
    assert [c.person_id for c in report.not_joined] == [2]


def test_pages_stay_under_telegrams_limit() -> None:
    lines = [f"line {i} " + "字" * 50 for i in range(400)]
    out = pages(lines)
    assert len(out) > 1 and all(len(p) <= 3800 for p in out)
    assert "\n".join(out).split("\n") == lines


async def build_roster(services: Services) -> None:
    """Two townships; gaps put in on purpose (see the test below)."""
    u = services.units
    district = await u.add("district", "测试区")
    jia = await u.add("township", "甲镇", district)
    yi = await u.add("township", "乙镇", district)
    east = await u.add("village", "东村", jia)
    west = await u.add("village", "西村", jia)
    south = await u.add("village", "南村", yi)
    east1 = await u.add("group", "一组", east)
    east2 = await u.add("group", "二组", east)
    west1 = await u.add("group", "一组", west)
    south1 = await u.add("group", "一组", south)
    school = await u.add("school", "测试小学", jia, section="primary")
    people = [
        ("东一组包户", Role.GROUP_CADRE, east1, "active"),
        ("东一组包组", Role.VILLAGE_CADRE, east1, "active"),
        ("东村包组", Role.VILLAGE_CADRE, east, "active"),  # covers 二组 too
        ("东村包村", Role.TOWNSHIP_CADRE, east, "active"),
        ("东二组包户(已停用)", Role.GROUP_CADRE, east2, "revoked"),  # gap: revoked
        ("西一组包户", Role.GROUP_CADRE, west1, "active"),
        ("甲镇包村", Role.TOWNSHIP_CADRE, jia, "active"),  # covers 西村 (no village cadre)
        ("南一组包户", Role.GROUP_CADRE, south1, "active"),  # 3 households, limit 2
        ("南村包组", Role.VILLAGE_CADRE, south, "active"),
    ]
    # (name, household unit, guardian phone)
    students = [
        ("东一甲", east1, "1371"),
        ("东一乙", east1, "1371"),  # sibling: the same household
        ("东二甲", east2, "1372"),
        ("西一甲", west1, "1373"),
        ("西村无组", west, "1374"),  # the roster gives the village only
        ("南一甲", south1, "1375"),
        ("南一乙", south1, "1376"),
        ("南一丙", south1, None),  # no guardian phone: a household of its own
        ("无户籍地", None, "1377"),
    ]
    db = services.db
    async with db.transaction():
        for n, (name, role, unit, status) in enumerate(people):
            await db.execute(
                "INSERT INTO people (name, phone, role, unit_id, status, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (name, f"1390000{n:04d}", role.value, unit, status, to_iso(NOW)),
            )
        for n, (name, household, phone) in enumerate(students):
            sid = await db.execute(
                "INSERT INTO students (registry_no, name, school_id, household_unit_id,"
                " updated_at) VALUES (?, ?, ?, ?, ?)",
                (f"G{n:05d}", name, school, household, to_iso(NOW)),
            )
            await db.execute(
                "INSERT INTO guardians (student_id, name, phone) VALUES (?, ?, ?)",
                (sid, name + "家长", phone),
            )


def test_kcbx_coverage_names_the_gaps_put_in_the_roster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "kcbx.db"
    policy = tmp_path / "policy.toml"
    policy.write_text("[cadres]\nmax_households_per_group_cadre = 2\n", encoding="utf-8")

    async def setup() -> None:
        services = await Services.open(
            Config(db_path=str(db), policy_path=str(policy)), FakeClock(NOW)
        )
        await build_roster(services)
        await services.close()

    asyncio.run(setup())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KCBX_POLICY", str(policy))
    monkeypatch.setenv("KCBX_LANGUAGE", "en")

    assert main(["--db", str(db), "coverage"]) == 0
    out = capsys.readouterr().out
    assert "7 households (8 students); 1 covered at every level." in out
    assert "甲镇/东村/二组: 1 households (1 students): no group cadre" in out
    assert "甲镇/西村/一组: 1 households (1 students): no village cadre" in out
    assert "甲镇/西村: 1 households (1 students): no group cadre, no village cadre" in out
    assert "乙镇/南村/一组: 3 households (3 students): no township cadre" in out
    assert "Students whose household is not on the roster: 1" in out
    assert "Group cadres over 2 households:" in out
    assert "南一组包户 (乙镇/南村/一组): 3 households" in out
    assert "已停用" not in out  # a revoked cadre holds nothing

    assert main(["--db", str(db), "coverage", "--unit", "甲镇", "--households"]) == 0
    out = capsys.readouterr().out
    assert "Contact-duty coverage of 甲镇" in out and "乙镇" not in out
    assert "4 households (5 students); 1 covered at every level." in out
    assert "    1372: 东二甲" in out  # the operator's list of households
    assert "No group cadre carries more than 2 households." in out

    assert main(["--db", str(db), "coverage", "--unit", "一组"]) == 1  # three groups match
    assert "3 units match 一组" in capsys.readouterr().out
