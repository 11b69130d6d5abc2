"""The demo's cast: who of the imported district plays each part of the story (a class
with a vulnerable student and four others, its teacher, school, township, 三包 chain and
departments)."""

from __future__ import annotations

from dataclasses import dataclass

from kcbx.bot.domain.model import Person, Student
from kcbx.bot.domain.roles import Role
from kcbx.testing.harness import BotHarness

TOWNSHIP = "滨河镇"  # where the story takes place


@dataclass
class Cast:
    teacher: Person
    principal: Person
    lead: Person
    township_leader: Person
    township_cadre: Person
    village_cadre: Person
    group_cadre: Person
    bureau: Person
    district_leader: Person
    justice: Person
    civil: Person
    students: list[Student]  # A, B, C (the long case), D (A9), E (nobody acts)


async def choose_cast(h: BotHarness) -> Cast:
    s = h.s
    [school] = await s.units.find("滨河镇/滨河中心小学", ("school",))
    [township] = await s.units.find(TOWNSHIP, ("township",))
    district = (await s.units.of_kind("district"))[0]
    teachers = await s.people.in_units([school.id], [Role.CLASS_TEACHER])
    chosen: tuple[Person, list[Student]] | None = None
    for teacher in teachers:
        for class_id, _grade, _name in await s.students.classes_of_teacher(teacher.id):
            pupils = await s.students.visible(teacher, class_id=class_id, limit=200)
            names = [p.name for p in pupils]
            unique = [p for p in pupils if names.count(p.name) == 1 and p.household_unit_id]
            flagged = [p for p in unique if p.a9_flags]
            plain = [p for p in unique if not p.a9_flags]
            if flagged and len(plain) >= 4:
                chosen = (teacher, [plain[0], plain[1], plain[2], flagged[0], plain[3]])
                break
        if chosen:
            break
    if chosen is None:
        raise RuntimeError("the demo district has no class with a vulnerable student")
    teacher, students = chosen
    long_case = students[2]
    assert long_case.household_unit_id is not None
    group_unit = await s.units.get(long_case.household_unit_id)
    assert group_unit is not None and group_unit.parent_id is not None

    async def one(units: list[int], role: Role) -> Person:
        people = await s.people.in_units(units, [role])
        if not people:
            raise RuntimeError(f"the demo district has no {role.value} in {units}")
        return people[0]

    departments = {u.code: u.id for u in await s.units.of_kind("department")}
    return Cast(
        teacher=teacher,
        principal=await one([school.id], Role.PRINCIPAL),
        lead=await one([school.id], Role.SCHOOL_LEAD),
        township_leader=await one([township.id], Role.TOWNSHIP_LEADER),
        township_cadre=await one([group_unit.parent_id], Role.TOWNSHIP_CADRE),
        village_cadre=await one([group_unit.id], Role.VILLAGE_CADRE),
        group_cadre=await one([group_unit.id], Role.GROUP_CADRE),
        bureau=await one([district.id], Role.BUREAU_STAFF),
        district_leader=await one([district.id], Role.DISTRICT_LEADER),
        justice=await one([departments["justice"]], Role.DEPARTMENT_LIAISON),
        civil=await one([departments["civil_affairs"]], Role.DEPARTMENT_LIAISON),
        students=students,
    )
