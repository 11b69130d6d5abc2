"""Who must act on a task (issue 3, A3-A6): every role resolved for a student, the 三包 chain
(A5.1), departments by code (A6), fallbacks, and routing past people who cannot be reached.
On a real SQLite file, loaded the way the sweep loads it (a few batched queries)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kcbx.bot.domain.clock import FakeClock, to_iso
from kcbx.bot.domain.recipients import NO_ONE, UNREACHABLE, CasePlace, Directory, holders_of, route
from kcbx.bot.domain.roles import Role
from kcbx.bot.engine.sweep import load_places
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.testing.seed import T0, District, small_district


@dataclass
class World:
    services: Services
    d: District
    places: dict[int, CasePlace]
    directory: Directory

    def names(self, role: str, student: str, department: str | None = None) -> list[str]:
        place = self.places[self.d.students[student]]
        return [p.name for p in holders_of(role, place, self.directory, department)]


async def _person(services: Services, name: str, role: Role, unit: int, phone: str) -> int:
    async with services.db.transaction():
        return await services.db.execute(
            "INSERT INTO people (name, phone, role, unit_id, created_at) VALUES (?, ?, ?, ?, ?)",
            (name, phone, role.value, unit, to_iso(T0)),
        )


async def _student(services: Services, name: str, school: int, household: int | None) -> int:
    async with services.db.transaction():
        return await services.db.execute(
            "INSERT INTO students (registry_no, name, school_id, household_unit_id, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (f"R-{name}", name, school, household, to_iso(T0)),
        )


async def _load(services: Services, d: District) -> World:
    enrolled = await services.directory.students(d.students.values())
    places, directory = await load_places(services, enrolled.values())
    return World(services, d, places, directory)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    services = await Services.open(Config(db_path=str(tmp_path / "k.db")), FakeClock(T0))
    d = await small_district(services, T0)
    u = services.units
    # a township without a leader, whose household goes to the school's township leader
    d.units["dongyuan"] = await u.add("township", "东园镇", d.units["district"])
    d.units["dongyuan/v"] = await u.add("village", "东园村", d.units["dongyuan"])
    d.students["外镇生"] = await _student(
        services, "外镇生", d.units["binhe_primary"], d.units["dongyuan/v"]
    )
    d.students["无户籍"] = await _student(services, "无户籍", d.units["binhe_primary"], None)
    # 三包 fallbacks: a village cadre attached to the village, a township cadre to the township
    await _person(services, "新墩村干部", Role.VILLAGE_CADRE, d.units["xindun"], "13900000050")
    await _person(services, "文昌镇包村", Role.TOWNSHIP_CADRE, d.units["wenchang"], "13900000051")
    # a second district with its own public security liaison: never chosen for ours
    other = await u.add("district", "中宁县")
    other_ps = await u.add("department", "中宁公安", other, code="public_security")
    await _person(services, "外县公安", Role.DEPARTMENT_LIAISON, other_ps, "13900000052")
    yield await _load(services, d)
    await services.close()


async def test_the_school_roles(world: World) -> None:
    assert world.names(Role.CLASS_TEACHER, "张三") == ["李老师"]
    assert world.names(Role.CLASS_TEACHER, "赵六") == ["赵老师"]
    assert world.names(Role.PRINCIPAL, "张三") == ["王校长"]
    assert world.names(Role.SCHOOL_LEAD, "张三") == ["控辍专干"]
    # 文昌中学 has no dropout-control lead: the principal answers for the school
    assert world.names(Role.SCHOOL_LEAD, "孙八") == ["文昌校长"]


async def test_the_district_roles(world: World) -> None:
    assert world.names(Role.BUREAU_STAFF, "孙八") == ["教育局乙"]
    assert world.names(Role.DISTRICT_LEADER, "张三") == ["区长甲"]


async def test_the_township_leader_of_the_household_else_of_the_school(world: World) -> None:
    assert world.names(Role.TOWNSHIP_LEADER, "张三") == ["滨河镇长"]
    # 钱七 goes to school in 滨河镇 but lives in 文昌镇: the household's township
    assert world.names(Role.TOWNSHIP_LEADER, "钱七") == ["文昌镇长"]
    # no leader in the household's township, or no household: the school's township
    assert world.names(Role.TOWNSHIP_LEADER, "外镇生") == ["滨河镇长"]
    assert world.names(Role.TOWNSHIP_LEADER, "无户籍") == ["滨河镇长"]


async def test_the_three_level_contact_chain(world: World) -> None:
    """A5.1: township cadre -> village, village cadre -> group, group cadre -> households."""
    assert world.names(Role.TOWNSHIP_CADRE, "张三") == ["包村干部"]
    assert world.names(Role.VILLAGE_CADRE, "张三") == ["包组干部"]
    assert world.names(Role.GROUP_CADRE, "张三") == ["包户干部"]
    # 王五 lives in 新墩村 二组: no cadre on the group; the village cadre attached to the village
    assert world.names(Role.VILLAGE_CADRE, "王五") == ["新墩村干部"]
    assert world.names(Role.GROUP_CADRE, "王五") == []
    assert world.names(Role.TOWNSHIP_CADRE, "王五") == ["包村干部"]
    # 黄湾村 has no township cadre of its own: the one attached to 文昌镇
    assert world.names(Role.TOWNSHIP_CADRE, "孙八") == ["文昌镇包村"]
    assert world.names(Role.GROUP_CADRE, "无户籍") == []


async def test_departments_by_code_in_the_students_district(world: World) -> None:
    """A6: the liaison of the department unit whose code is the task's department."""
    liaison = Role.DEPARTMENT_LIAISON
    assert world.names(liaison, "张三", "public_security") == ["公安联络员"]
    assert world.names(liaison, "张三", "civil_affairs") == ["民政联络员"]
    assert world.names(liaison, "张三", "justice") == ["司法联络员"]
    assert world.names(liaison, "张三", "youth_league") == []  # the unit has no liaison
    assert world.names(liaison, "张三", "no_such_department") == []
    assert world.names(liaison, "张三") == []


async def test_route_goes_up_when_nobody_of_the_role_can_be_told(world: World) -> None:
    services, d = world.services, world.d
    place = world.places[d.students["张三"]]
    # nobody is bound to Telegram yet: the whole chain is unreachable
    nobody = route(Role.CLASS_TEACHER, place, world.directory)
    assert nobody.role is None and nobody.people == () and nobody.reason == UNREACHABLE
    assert [p.name for p in nobody.passed] == ["李老师", "王校长", "教育局乙", "区长甲"]

    for phone, user in (("13900000020", 20), ("13900000022", 22), ("13900000003", 3)):
        person = await services.people.by_phone(phone)
        assert person is not None
        await services.people.bind_telegram(
            person.id, telegram_id=user, chat_id=user, lang="zh_CN", name="", now=T0
        )
    world = await _load(services, d)
    place = world.places[d.students["张三"]]
    direct = route(Role.CLASS_TEACHER, place, world.directory)
    assert [p.name for p in direct.people] == ["李老师"] and direct.reason == ""

    teacher = await services.people.by_phone("13900000022")
    assert teacher is not None
    await services.people.mark_unreachable(teacher.id, T0)  # blocked the bot (403)
    world = await _load(services, d)
    place = world.places[d.students["张三"]]
    up = route(Role.CLASS_TEACHER, place, world.directory)
    assert up.role == Role.PRINCIPAL and [p.name for p in up.people] == ["王校长"]
    assert up.reason == UNREACHABLE and up.first_passed is not None
    assert up.first_passed.name == "李老师"

    # nobody holds the role: the supervisor, with reason no_one
    gap = route(Role.GROUP_CADRE, world.places[d.students["王五"]], world.directory)
    assert gap.reason == NO_ONE and gap.role is None  # the township leader is not bound

    # an escalation never goes back to whom it escalates from (a principal standing in)
    principal = await services.people.by_phone("13900000020")
    assert principal is not None
    past = route(Role.PRINCIPAL, place, world.directory, exclude={principal.id})
    assert past.role == Role.BUREAU_STAFF and [p.name for p in past.people] == ["教育局乙"]
    assert past.reason == ""


async def test_revoked_people_hold_no_role(world: World) -> None:
    services, d = world.services, world.d
    teacher = await services.people.by_phone("13900000022")
    assert teacher is not None
    await services.people.revoke(teacher.id, actor="cli:test", now=T0)
    world = await _load(services, d)
    assert world.names(Role.CLASS_TEACHER, "张三") == []
