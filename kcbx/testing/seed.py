"""A small fictional district for end-to-end tests: units, staff, classes, students.

Phones are the keys tests use to bind people (`BotHarness.bind_quietly(user_id, phone=...)`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from kcbx.bot.domain.clock import to_iso
from kcbx.bot.domain.model import Case
from kcbx.bot.domain.roles import Role
from kcbx.bot.runtime.services import Services
from kcbx.storage import rollups

# Monday 4 March 2024, 09:00 in Asia/Shanghai: the start of most test stories
T0 = datetime(2024, 3, 4, 1, 0, tzinfo=UTC)

DEPARTMENTS = {
    "education_bureau": "区教育局",
    "civil_affairs": "区民政局",
    "public_security": "区公安分局",
    "justice": "区司法局",
    "united_front": "区委统战部",
    "hr_social_security": "市人社局",
    "market_supervision": "市场监管分局",
    "cyberspace": "区委网信办",
    "rural_revitalisation": "区乡村振兴局",
    "youth_league": "团区委",
    "womens_federation": "区妇联",
}

# (phone, name, role, unit key)
STAFF = [
    ("13900000001", "管理员", Role.ADMIN, "district"),
    ("13900000002", "区长甲", Role.DISTRICT_LEADER, "district"),
    ("13900000003", "教育局乙", Role.BUREAU_STAFF, "district"),
    ("13900000005", "分管局长丙", Role.BUREAU_LEADER, "district"),
    ("13900000010", "滨河镇长", Role.TOWNSHIP_LEADER, "binhe"),
    ("13900000011", "文昌镇长", Role.TOWNSHIP_LEADER, "wenchang"),
    ("13900000012", "包村干部", Role.TOWNSHIP_CADRE, "xindun"),
    ("13900000013", "包组干部", Role.VILLAGE_CADRE, "xindun/1"),
    ("13900000014", "包户干部", Role.GROUP_CADRE, "xindun/1"),
    ("13900000020", "王校长", Role.PRINCIPAL, "binhe_primary"),
    ("13900000021", "控辍专干", Role.SCHOOL_LEAD, "binhe_primary"),
    ("13900000022", "李老师", Role.CLASS_TEACHER, "binhe_primary"),
    ("13900000023", "赵老师", Role.CLASS_TEACHER, "binhe_primary"),
    ("13900000030", "文昌校长", Role.PRINCIPAL, "wenchang_middle"),
    ("13900000031", "孙老师", Role.CLASS_TEACHER, "wenchang_middle"),
    ("13900000040", "民政联络员", Role.DEPARTMENT_LIAISON, "dept:civil_affairs"),
    ("13900000041", "公安联络员", Role.DEPARTMENT_LIAISON, "dept:public_security"),
    ("13900000042", "司法联络员", Role.DEPARTMENT_LIAISON, "dept:justice"),
]


@dataclass
class District:
    units: dict[str, int] = field(default_factory=dict)
    people: dict[str, int] = field(default_factory=dict)  # phone -> person id
    classes: dict[str, int] = field(default_factory=dict)
    students: dict[str, int] = field(default_factory=dict)  # name -> student id


async def small_district(services: Services, now: datetime) -> District:
    """Two townships, two schools, three classes, a dozen students, every role."""
    d = District()
    u = services.units
    d.units["district"] = await u.add("district", "沙坡头区")
    for code, name in DEPARTMENTS.items():
        d.units[f"dept:{code}"] = await u.add("department", name, d.units["district"], code=code)
    d.units["binhe"] = await u.add("township", "滨河镇", d.units["district"])
    d.units["wenchang"] = await u.add("township", "文昌镇", d.units["district"])
    d.units["xindun"] = await u.add("village", "新墩村", d.units["binhe"])
    d.units["xindun/1"] = await u.add("group", "一组", d.units["xindun"])
    d.units["xindun/2"] = await u.add("group", "二组", d.units["xindun"])
    d.units["huangwan"] = await u.add("village", "黄湾村", d.units["wenchang"])
    d.units["huangwan/1"] = await u.add("group", "一组", d.units["huangwan"])
    d.units["binhe_primary"] = await u.add(
        "school", "滨河小学", d.units["binhe"], section="primary"
    )
    d.units["wenchang_middle"] = await u.add(
        "school", "文昌中学", d.units["wenchang"], section="junior"
    )
    db = services.db
    async with db.transaction():
        for phone, name, role, unit in STAFF:
            d.people[phone] = await db.execute(
                "INSERT INTO people (name, phone, role, unit_id, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (name, phone, role.value, d.units[unit], to_iso(now)),
            )
        for key, school, grade, cname, teacher in (
            ("3-1", "binhe_primary", 3, "1班", "13900000022"),
            ("3-2", "binhe_primary", 3, "2班", "13900000023"),
            ("7-1", "wenchang_middle", 7, "1班", "13900000031"),
        ):
            d.classes[key] = await db.execute(
                "INSERT INTO classes (school_id, grade, name, teacher_id) VALUES (?, ?, ?, ?)",
                (d.units[school], grade, cname, d.people[teacher]),
            )
        students = [
            ("张三", "3-1", "binhe_primary", 3, "xindun/1", ""),
            ("李四", "3-1", "binhe_primary", 3, "xindun/1", ""),
            ("王五", "3-1", "binhe_primary", 3, "xindun/2", "left_behind,rural_subsistence"),
            ("<小明>", "3-1", "binhe_primary", 3, "xindun/1", ""),
            ("赵六", "3-2", "binhe_primary", 3, "xindun/2", ""),
            ("钱七", "3-2", "binhe_primary", 3, "huangwan/1", ""),
            ("孙八", "7-1", "wenchang_middle", 7, "huangwan/1", ""),
            ("周九", "7-1", "wenchang_middle", 7, "huangwan/1", "orphan"),
        ]
        for n, (name, cls, school, grade, household, flags) in enumerate(students):
            sid = await db.execute(
                "INSERT INTO students (registry_no, name, gender, birth_date, school_id,"
                " class_id, grade, household_unit_id, a9_flags, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    f"G64050120150101{n:04d}",
                    name,
                    "M" if n % 2 else "F",
                    "2015-01-01" if grade < 7 else "2011-01-01",
                    d.units[school],
                    d.classes[cls],
                    grade,
                    d.units[household],
                    flags,
                    to_iso(now),
                ),
            )
            d.students[name] = sid
            await db.execute(
                "INSERT INTO guardians (student_id, name, relation, phone) VALUES (?, ?, ?, ?)",
                (sid, name[0] + "父", "父亲", f"1370000{n:04d}"),
            )
        await rollups.recount(db)  # written with plain SQL: the schools' counts (0026)
    return d


async def report_absence(
    services: Services, student_id: int, *, now: datetime = T0, absent_since: date | None = None
) -> Case:
    """Open a case for a student of the district, cause unknown, as the CLI would."""
    return await services.cases.open_case(
        student_id=student_id,
        reported_by=None,
        absent_since=absent_since or now.date(),
        cause="unknown",
        guardian_contact=None,
        note=None,
        now=now,
        year=now.year,
        actor="cli:test",
    )
