"""A fictional district for `kcbx demo` and the benchmarks: the real townships of 沙坡头区 with
invented villages, groups, schools, staff and students. A fixed seed gives the same district
every time. Written as the spreadsheet an education bureau would send, then imported through
the same importer as a real roster.
"""

from __future__ import annotations

import io
import random
import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta

from openpyxl import Workbook

from kcbx.bot.domain.model import Case
from kcbx.bot.runtime.services import Services

TOWNSHIPS = (
    "滨河镇", "文昌镇", "东园镇", "柔远镇", "镇罗镇", "宣和镇",
    "永康镇", "常乐镇", "迎水桥镇", "兴仁镇", "香山乡",
)  # fmt: skip

CENTRE = (37.51, 105.19)  # 沙坡头区, near 中卫 (latitude, longitude)


def _spread(key: str, span: float) -> tuple[float, float]:
    """A fixed offset for a name within ±``span`` degrees (not drawn from the seed's
    generator, so that the district's people and names stay as they were)."""
    h = zlib.crc32(key.encode())
    return ((h & 0xFFFF) / 0xFFFF * 2 - 1) * span, ((h >> 16) / 0xFFFF * 2 - 1) * span


def village_point(township: str, village: str) -> tuple[float, float]:
    """A village's invented place: its township's about the district's centre, the village
    within a few kilometres of it (latitude, longitude)."""
    t_lat, t_lon = _spread(township, 0.3)
    v_lat, v_lon = _spread(f"{township}/{village}", 0.04)
    return round(CENTRE[0] + t_lat + v_lat, 4), round(CENTRE[1] + t_lon + v_lon, 4)


async def pin_near_home(s: Services, case: Case) -> tuple[float, float]:
    """Where the demo's visits share their location: about 0.4 km from the child's village."""
    student = await s.students.get(case.student_id)
    home = await s.units.nearest(student.household_unit_id or 0, "village") if student else None
    if home is None or home.latitude is None or home.longitude is None:
        return CENTRE
    return home.latitude + 0.0025, home.longitude + 0.003


DEPARTMENTS = (
    ("区教育局", "education_bureau"),
    ("区民政局", "civil_affairs"),
    ("区公安分局", "public_security"),
    ("区司法局", "justice"),
    ("区委统战部", "united_front"),
    ("市人社局", "hr_social_security"),
    ("市场监管分局", "market_supervision"),
    ("区委网信办", "cyberspace"),
    ("区乡村振兴局", "rural_revitalisation"),
    ("团区委", "youth_league"),
    ("区妇联", "womens_federation"),
)

_VILLAGE_A = "东西南北上下前后新老红金银永长丰"
_VILLAGE_B = ("庄", "湾", "滩", "沟", "台", "营", "堡", "渠", "园", "井", "桥", "坪")
_GROUPS = ("一组", "二组", "三组", "四组", "五组", "六组", "七组", "八组")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
_GIVEN_BOY = "浩宇轩子涵俊杰博文睿泽一鸣志强明辉天佑子豪嘉诚梓航思远家乐"
_GIVEN_GIRL = "欣怡梓涵雨桐诗琪佳怡可馨思彤雨萱紫涵若曦梦瑶晓雪静怡雅琳"
_GRADE_NAMES = ("一", "二", "三", "四", "五", "六", "七", "八", "九")
FLAGS = (
    "突发严重困难户", "脱贫不稳定户", "农村低保户", "残疾儿童",
    "残疾人子女", "服刑人员子女", "留守儿童", "单亲", "孤儿",
)  # fmt: skip


@dataclass
class DemoRoster:
    units: list[dict[str, str]] = field(default_factory=list)
    staff: list[dict[str, str]] = field(default_factory=list)
    students: list[dict[str, str]] = field(default_factory=list)

    def to_xlsx(self) -> bytes:
        """Three sheets with a merged title row above the header, as offices make them."""
        wb = Workbook()
        sheets = (
            ("单位", ["类型", "名称", "上级", "学段", "代码", "坐标"], self.units),
            ("人员", ["姓名", "手机", "角色", "单位", "班级"], self.staff),
            (
                "学生",
                ["学籍号", "姓名", "性别", "出生日期", "学校", "年级", "班级", "乡镇", "村",
                 "组", "监护人", "关系", "监护人电话", "困难类别", "备注"],
                self.students,
            ),
        )  # fmt: skip
        first = True
        for title, header, rows in sheets:
            ws = wb.active if first else wb.create_sheet()
            assert ws is not None
            first = False
            ws.title = title
            ws.append([f"沙坡头区控辍保学花名册（{title}）"])
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
            ws.append(header)
            for row in rows:
                ws.append([row.get(h, "") for h in header])
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()


def _name(rng: random.Random, girl: bool) -> str:
    pool = _GIVEN_GIRL if girl else _GIVEN_BOY
    given = pool[rng.randrange(len(pool))]
    if rng.random() < 0.7:
        given += pool[rng.randrange(len(pool))]
    return _SURNAMES[rng.randrange(len(_SURNAMES))] + given


class _Phones:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.n = 0

    def next(self) -> str:
        self.n += 1
        return f"{self.prefix}{self.n:08d}"


def build_roster(
    *, students: int = 1200, seed: int = 20240304, today: date | None = None
) -> DemoRoster:
    """A district with about `students` students spread over the 11 townships."""
    build = _Build(random.Random(seed), today or date(2024, 3, 4))
    build.district()
    per_township = max(1, students // len(TOWNSHIPS))
    for township in TOWNSHIPS:
        build.township(township, per_township)
    return build.roster


DISTRICT = "沙坡头区"


@dataclass
class _Build:
    """The demo roster, written in the order a county's office would list it."""

    rng: random.Random
    today: date
    roster: DemoRoster = field(default_factory=lambda: DemoRoster())
    staff_phones: _Phones = field(default_factory=lambda: _Phones("139"))
    guardian_phones: _Phones = field(default_factory=lambda: _Phones("137"))
    per_birthday: dict[date, int] = field(default_factory=dict)

    def person(self, role: str, unit: str, women: float, **more: str) -> None:
        name = _name(self.rng, self.rng.random() < women)
        self.roster.staff.append(
            {"姓名": name, "手机": self.staff_phones.next(), "角色": role, "单位": unit, **more}
        )

    def district(self) -> None:
        roster = self.roster
        roster.units.append({"类型": "区", "名称": DISTRICT})
        for name, code in DEPARTMENTS:
            roster.units.append({"类型": "部门", "名称": name, "上级": DISTRICT, "代码": code})
            self.person("部门联络员", name, 0.5)
        roster.staff.append(
            {"姓名": "周管理", "手机": self.staff_phones.next(), "角色": "管理员", "单位": DISTRICT}
        )
        roster.staff.append(
            {"姓名": "马区长", "手机": self.staff_phones.next(), "角色": "区领导", "单位": DISTRICT}
        )
        for _ in range(2):
            self.person("教育局", DISTRICT, 0.5)

    def township(self, township: str, per_township: int) -> None:
        self.roster.units.append({"类型": "乡镇", "名称": township, "上级": DISTRICT})
        self.person("乡镇领导", township, 0.3)
        big = per_township >= 500
        used: set[str] = set()
        villages = [self.village(township, big, used) for _ in range(6 if big else 3)]
        primary = f"{township.rstrip('镇乡')}中心小学"
        junior = f"{township.rstrip('镇乡')}中学"
        schools = ((primary, "小学", range(1, 7)), (junior, "初中", range(7, 10)))
        school_students = {primary: per_township * 2 // 3, junior: per_township // 3}
        for school, section, grades in schools:
            self.school(township, school, section, grades, school_students[school], villages)

    def village(self, township: str, big: bool, used: set[str]) -> tuple[str, list[str]]:
        rng = self.rng
        while True:
            vname = (
                _VILLAGE_A[rng.randrange(len(_VILLAGE_A))]
                + _VILLAGE_B[rng.randrange(len(_VILLAGE_B))]
                + "村"
            )
            if vname not in used:
                used.add(vname)
                break
        path = f"{township}/{vname}"
        lat, lon = village_point(township, vname)
        place = f"{lon:.4f},{lat:.4f}"  # 坐标 as county maps write it: 经度 first
        self.roster.units.append({"类型": "村", "名称": vname, "上级": township, "坐标": place})
        self.person("乡镇干部", path, 0.3)
        groups = list(_GROUPS[: 6 if big else 3])
        for g in groups:
            self.roster.units.append({"类型": "组", "名称": g, "上级": path})
            self.person("村干部", f"{path}/{g}", 0.4)
            self.person("组干部", f"{path}/{g}", 0.4)
        return vname, groups

    def school(
        self,
        township: str,
        school: str,
        section: str,
        grades: range,
        count: int,
        villages: list[tuple[str, list[str]]],
    ) -> None:
        self.roster.units.append(
            {"类型": "学校", "名称": school, "上级": township, "学段": section}
        )
        spath = f"{township}/{school}"
        for role in ("校长", "控辍专干"):
            self.person(role, spath, 0.5)
        per_grade = max(6, count // len(grades))  # the demo's story needs a class
        classes = max(1, per_grade // 45 + (1 if per_grade % 45 else 0))
        for grade in grades:
            for c in range(1, classes + 1):
                self.person("班主任", spath, 0.7, 班级=f"{_GRADE_NAMES[grade - 1]}年级{c}班")
            for n in range(per_grade):
                first = township == TOWNSHIPS[0] and grade == grades[0] and n == 3
                self.student(township, spath, grade, n, classes, villages, first)

    def student(
        self,
        township: str,
        spath: str,
        grade: int,
        n: int,
        classes: int,
        villages: list[tuple[str, list[str]]],
        the_a9_child: bool,
    ) -> None:
        rng = self.rng
        girl = rng.random() < 0.48
        name = _name(rng, girl)
        birth = date(self.today.year - grade - 6, 9, 1) - timedelta(days=rng.randrange(365))
        vname, groups = villages[rng.randrange(len(villages))]
        flags = []
        if rng.random() < 0.06:
            flags.append(FLAGS[rng.randrange(len(FLAGS))])
        elif the_a9_child:
            flags.append("留守儿童")  # every district has the demo's A9 child
        guardian = name[0] + _GIVEN_BOY[rng.randrange(len(_GIVEN_BOY))] + "军"
        relation = "父亲"
        if "留守儿童" in flags or rng.random() < 0.1:
            guardian, relation = name[0] + "老汉", "祖父"
        self.per_birthday[birth] = self.per_birthday.get(birth, 0) + 1
        self.roster.students.append(
            {
                "学籍号": f"G640502{birth:%Y%m%d}{self.per_birthday[birth]:04d}",
                "姓名": name,
                "性别": "女" if girl else "男",
                "出生日期": birth.isoformat(),
                "学校": spath,
                "年级": str(grade),
                "班级": f"{1 + n % classes}班",
                "乡镇": township,
                "村": vname,
                "组": groups[rng.randrange(len(groups))],
                "监护人": guardian,
                "关系": relation,
                "监护人电话": self.guardian_phones.next(),
                "困难类别": "、".join(flags),
                "备注": "",
            }
        )
