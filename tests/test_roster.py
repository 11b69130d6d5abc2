"""Reading roster files (issue 2): messy office spreadsheets in, records and located errors out."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from datetime import date

import openpyxl
import pytest

from kcbx.bot.domain.i18n import translator
from kcbx.bot.domain.roles import Role
from kcbx.bot.roster import (
    Roster,
    read_roster,
    resolve,
)
from kcbx.storage.roster_repo import ExistingUnit

TODAY = date(2024, 3, 1)
STUDENT_HEADER = [
    "学籍号", "姓名", "性别", "出生日期", "学校", "年级", "班级", "乡镇", "村", "组",
    "监护人", "关系", "监护人电话", "困难类别", "备注",
]  # fmt: skip
GOOD_STUDENT = [
    "G640502201503051234", "王小明", "男", date(2015, 3, 5), "滨河小学", 3, "2班",
    "滨河镇", "新墩村", "一组", "王大", "父亲", "13800001111", "留守儿童", None,
]  # fmt: skip


def xlsx(sheets: dict[str, Sequence[Sequence[object]]], title: str | None = None) -> bytes:
    """A workbook built as offices build them: optionally a merged title row above each table."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        if title:
            sheet.append([title])
            sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(rows[0]))
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read(data: bytes, name: str = "roster.xlsx", **kwargs: object) -> Roster:
    return read_roster(data, name, today=TODAY, **kwargs)  # type: ignore[arg-type]


def student(**changes: object) -> Roster:
    """Read one student row, with some cells changed (by header)."""
    row = list(GOOD_STUDENT)
    for header, value in changes.items():
        row[STUDENT_HEADER.index(header)] = value
    return read(xlsx({"学生": [STUDENT_HEADER, row]}))


def problems(roster: Roster) -> list[str]:
    return [e.render(lambda s: s) for e in roster.errors]


# -- a messy workbook ------------------------------------------------------------------------


def messy_workbook() -> bytes:
    book = openpyxl.Workbook()
    units = book.active
    units.title = "单位"
    units.append(["沙坡头区单位名册"])
    units.merge_cells("A1:E1")
    units.append(["类型", "名称", "上级", "学段", "代码"])
    for row in (
        ["区", "沙坡头区", None, None, None],
        ["乡镇", " 滨河镇 ", "沙坡头区", None, None],
        ["村", "新墩村", "滨河镇", None, None],
        ["组", "一组", "滨河镇/新墩村", None, None],
        [None, None, None, None, None],  # a blank row in the middle
        ["学校", "滨河小学", "滨河镇", "小学", None],
        ["部门", "民政局", "沙坡头区", None, "civil_affairs"],
    ):
        units.append(row)
    staff = book.create_sheet("Sheet2")  # found by its header, not its name
    staff.append(["序号", "姓名", "联系电话", "角色", "单位", "任教班级"])
    staff.append([1, "张  三", 13912345678.0, "班主任", "滨河小学", "三年级(2)班、3年级1班"])
    staff.append([2, "李四", "１３９ １２３４ ５６７９", "校长", "滨河镇/滨河小学", None])
    staff.append([3, None, None, None, None, None])  # pre-numbered, otherwise empty
    pupils = book.create_sheet("学生")
    pupils.append(["沙坡头区2024年春季学期学生花名册"])
    pupils.merge_cells("A1:O1")
    pupils.append(["填表单位：滨河小学", None, None, "填表日期：2024年3月1日"])
    pupils.append(STUDENT_HEADER)
    pupils.append(GOOD_STUDENT)
    pupils.append(
        ["Ｇ６４０５０２２０１５０６０７１２３４", "李 小 红", "F", 42166, "滨河小学", "三年级",
         "(2)班", "滨河镇", "新墩村", "1组", "李大、王花", "父亲、母亲",
         13800002222.0, "低保户，单亲", "  转入  "]
    )  # fmt: skip
    pupils.append(
        ["L640502201601011234", "马小军", "M", "2016.1.1", "滨河小学", "二年级", 1,
         None, None, None, None, None, None, None, None]
    )  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_messy_workbook_is_read_whole() -> None:
    roster = read(messy_workbook())

    assert roster.errors == []
    assert [(u.kind, u.name, u.parent) for u in roster.units] == [
        ("district", "沙坡头区", ()),
        ("township", "滨河镇", ("沙坡头区",)),
        ("village", "新墩村", ("滨河镇",)),
        ("group", "一组", ("滨河镇", "新墩村")),
        ("school", "滨河小学", ("滨河镇",)),
        ("department", "民政局", ("沙坡头区",)),
    ]
    assert roster.units[4].section == "primary"
    assert roster.units[5].code == "civil_affairs"

    teacher, principal = roster.staff
    assert (teacher.name, teacher.phone, teacher.role) == (
        "张三",
        "13912345678",
        Role.CLASS_TEACHER,
    )
    assert teacher.classes is not None
    assert [(c.grade, c.name) for c in teacher.classes] == [(3, "2班"), (3, "1班")]
    assert (principal.phone, principal.unit) == ("13912345679", ("滨河镇", "滨河小学"))

    first, second, third = roster.students
    assert first.registry_no == "G640502201503051234"
    assert first.birth_date == "2015-03-05"
    assert first.flags == ("left_behind",)
    assert second.registry_no == "G640502201506071234"  # full-width digits
    assert second.name == "李小红"
    assert second.gender == "F"
    assert second.birth_date == "2015-06-11"  # an Excel serial number
    assert (second.grade, second.class_name) == (3, "2班")
    assert second.household == ("滨河镇", "新墩村", "1组")
    assert [(g.name, g.relation, g.phone) for g in second.guardians] == [
        ("李大", "父亲", "13800002222"),
        ("王花", "母亲", None),
    ]
    assert second.flags == ("rural_subsistence", "single_parent")
    assert second.note == "转入"
    assert (third.registry_no, third.birth_date, third.grade, third.class_name) == (
        "L640502201601011234",
        "2016-01-01",
        2,
        "1班",
    )
    assert third.household == ("", "", "")
    assert roster.rows == 6 + 2 + 3


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (date(2012, 3, 5), "2012-03-05"),
        (40973, "2012-03-05"),  # Excel serial number
        ("2012年3月5日", "2012-03-05"),
        ("2012.3.5", "2012-03-05"),
        ("2012/03/05", "2012-03-05"),
        ("2012-3-5", "2012-03-05"),
        ("20120305", "2012-03-05"),
        (20120305, "2012-03-05"),
        ("２０１２－０３－０５", "2012-03-05"),
    ],
)
def test_birth_dates_in_every_office_format(cell: object, expected: str) -> None:
    roster = student(出生日期=cell)
    assert problems(roster) == []
    assert roster.students[0].birth_date == expected


@pytest.mark.parametrize(
    ("cell", "grade"),
    [(3, 3), (3.0, 3), ("3", 3), ("三年级", 3), ("七年级", 7), ("初一", 7), ("初三", 9)],
)
def test_grades(cell: object, grade: int) -> None:
    roster = student(年级=cell, 班级="1班", 学校="滨河学校")
    assert problems(roster) == []
    assert roster.students[0].grade == grade


@pytest.mark.parametrize("cell", ["2班", "(2)班", "（2）班", "2", 2, "二班", "3年级2班"])
def test_class_names(cell: object) -> None:
    roster = student(班级=cell)
    assert problems(roster) == []
    assert roster.students[0].class_name == "2班"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3年级2班", [(3, "2班")]),
        ("三年级(2)班", [(3, "2班")]),
        ("七年级2班", [(7, "2班")]),
        ("初一(2)班", [(7, "2班")]),
        ("初一(2)班,初二（3）班;八年级4班", [(7, "2班"), (8, "3班"), (8, "4班")]),
    ],
)
def test_class_teachers_classes(text: str, expected: list[tuple[int, str]]) -> None:
    roster = read(
        xlsx({"人员": [["姓名", "手机", "角色", "单位", "班级"],
                       ["张三", "13912345678", "班主任", "滨河中学", text]]})
    )  # fmt: skip
    assert problems(roster) == []
    assert roster.staff[0].classes is not None
    assert [(c.grade, c.name) for c in roster.staff[0].classes] == expected


@pytest.mark.parametrize(
    ("word", "role"),
    [
        ("管理员", Role.ADMIN),
        ("区领导", Role.DISTRICT_LEADER),
        ("教育局工作人员", Role.BUREAU_STAFF),
        ("部门联络员", Role.DEPARTMENT_LIAISON),
        ("乡镇领导", Role.TOWNSHIP_LEADER),
        ("乡镇干部", Role.TOWNSHIP_CADRE),
        ("村干部", Role.VILLAGE_CADRE),
        ("队干部", Role.GROUP_CADRE),
        ("校长", Role.PRINCIPAL),
        ("控辍保学专干", Role.SCHOOL_LEAD),
        ("school_lead", Role.SCHOOL_LEAD),
    ],
)
def test_roles(word: str, role: Role) -> None:
    roster = read(
        xlsx({"人员": [["姓名", "手机", "角色", "单位"], ["张三", "13912345678", word, "某单位"]]})
    )
    assert problems(roster) == []
    assert roster.staff[0].role == role


def test_registry_number_stored_as_a_number() -> None:
    exact = student(学籍号=64050220150305)  # short enough for Excel to keep every digit
    assert problems(exact) == []
    assert exact.students[0].registry_no == "64050220150305"

    rounded = student(学籍号=6.40502201503051e17)
    [error] = rounded.errors
    assert (error.sheet, error.row, error.column, error.header) == ("学生", 2, "A", "学籍号")
    assert "Excel has rounded" in error.render(lambda s: s)

    exported = student(学籍号="6.40502E+17")  # what a CSV saved from Excel holds
    assert "Excel has rounded" in problems(exported)[0]


# -- CSV -----------------------------------------------------------------------------------


def csv_bytes(rows: Sequence[Sequence[object]], encoding: str) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig"])
def test_csv_in_gbk_or_utf8(encoding: str) -> None:
    rows = [
        ["沙坡头区学生花名册"],
        STUDENT_HEADER,
        ["G640502201503051234", "王小明", "男", "2015/3/5", "滨河小学", "三年级", "(2)班",
         "滨河镇", "新墩村", "一组", "王大、李花", "父亲、母亲", "13800001111、0955-7654321",
         "留守儿童、孤儿", "无"],
    ]  # fmt: skip
    roster = read(csv_bytes(rows, encoding), "学生.csv")

    assert problems(roster) == []
    [s] = roster.students
    assert (s.name, s.birth_date, s.grade, s.class_name) == ("王小明", "2015-03-05", 3, "2班")
    assert [(g.name, g.phone) for g in s.guardians] == [
        ("王大", "13800001111"),
        ("李花", "0955-7654321"),
    ]
    assert s.flags == ("left_behind", "orphan")


def test_csv_errors_name_the_file() -> None:
    data = csv_bytes([STUDENT_HEADER, ["G1", "王小明"]], "gbk")
    roster = read(data, "学生.csv")
    error = roster.errors[0]
    assert (error.file, error.sheet, error.row, error.column) == ("学生.csv", None, 2, "A")
    assert error.render(lambda s: s).startswith("File 学生.csv, row 2, column A (学籍号): ")


# -- errors: all at once, located -----------------------------------------------------------


def test_every_error_is_reported_with_its_place() -> None:
    data = xlsx(
        {
            "人员": [
                ["姓名", "手机", "角色", "单位", "班级"],
                ["张三", "13912345678", "班主任", "滨河小学", "三年级2班"],
                ["李四", "13912345678", "校长", "滨河小学", None],  # duplicate phone
                ["王五", "1391234567", "校工", "滨河小学", None],  # short phone, unknown role
                ["赵六", "13912345670", "班主任", "滨河小学", None],  # class teacher, no class
            ],
            "学生": [
                STUDENT_HEADER,
                GOOD_STUDENT,
                GOOD_STUDENT,  # duplicate registry number
                [
                    "G640502201503059999",
                    "",
                    "X",
                    "2030-01-01",
                    "滨河小学",
                    12,
                    "2班",
                    None,
                    None,
                    None,
                    None,
                    None,
                    "12345",
                    "富裕",
                    None,
                ],
            ],
        },
        title="沙坡头区花名册",
    )
    roster = read(data)

    located = {(e.sheet, e.row, e.column): e for e in roster.errors}
    assert set(located) == {
        ("人员", 4, "B"),  # duplicate phone
        ("人员", 5, "B"),  # phone
        ("人员", 5, "C"),  # role
        ("人员", 6, "E"),  # class teacher without a class
        ("学生", 4, "A"),  # duplicate registry number
        ("学生", 5, "B"),  # empty name
        ("学生", 5, "C"),  # gender
        ("学生", 5, "D"),  # future birth date
        ("学生", 5, "F"),  # grade out of range
        ("学生", 5, "M"),  # guardian phone without a guardian
        ("学生", 5, "N"),  # unknown flag
    }
    assert located[("人员", 5, "B")].value == "1391234567"
    assert located[("学生", 5, "D")].render(lambda s: s) == (
        "Sheet 学生, row 5, column D (出生日期): The birth date 2030-01-01 is in the future"
    )
    assert "row 3" in located[("学生", 4, "A")].render(lambda s: s)
    assert roster.bad_rows == {("人员", 4), ("人员", 5), ("人员", 6), ("学生", 4), ("学生", 5)}
    assert [s.origin.row for s in roster.students] == [3]


def test_errors_render_in_chinese_and_english() -> None:
    [error] = student(性别="X").errors
    english = error.render(translator("en"))
    chinese = error.render(translator("zh_CN"))
    assert english == "Sheet 学生, row 2, column C (性别): “X” is not a gender (男 or 女)"
    assert "第2行" in chinese and "X" in chinese and chinese != english


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"\x00\x01garbage\xff" * 100, "roster.xlsx"),
        (b"PK\x03\x04 not really a zip", "roster.xlsx"),
        (b"", "roster.xlsx"),
        (b"\xd0\xcf\x11\xe0 old excel", "roster.xls"),
        (b"%PDF-1.4", "roster.pdf"),
        (b"\x00\x00\x00binary", "roster.csv"),
    ],
)
def test_not_a_spreadsheet_is_one_clear_error(data: bytes, name: str) -> None:
    roster = read(data, name)
    [error] = roster.errors
    assert roster.fatal
    assert (error.file, error.sheet, error.row) == (name, None, None)
    assert error.render(lambda s: s).startswith(f"File {name}: ")


def test_a_zip_that_is_not_a_workbook() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    roster = read(out.getvalue())
    assert roster.fatal
    assert "not an Excel workbook" in problems(roster)[0]


def test_oversized_file_is_refused() -> None:
    roster = read(b"x" * 2_000_000, "big.xlsx", max_bytes=1_000_000)
    assert roster.fatal
    assert problems(roster) == [
        "File big.xlsx: The file is 1.9 MB; files over 976.6 KB are refused. "
        "Split it into smaller files."
    ]


def test_a_named_sheet_without_a_header_is_an_error() -> None:
    roster = read(xlsx({"学生": [["名单"], ["张三", "李四"]], "说明": [["随便写写"]]}))
    [error] = roster.errors
    assert (error.sheet, error.row) == ("学生", None)
    assert "学籍号、姓名、学校、年级、班级" in error.render(lambda s: s)


def test_a_file_with_no_roster_at_all() -> None:
    roster = read(xlsx({"Sheet1": [["hello"]]}))
    assert roster.fatal
    assert "No roster found" in problems(roster)[0]


# -- resolving names against the stored units -------------------------------------------------


UNITS = [
    ExistingUnit(1, "district", "沙坡头区", None, None, None),
    ExistingUnit(2, "township", "滨河镇", 1, None, None),
    ExistingUnit(3, "village", "新墩村", 2, None, None),
    ExistingUnit(4, "group", "一组", 3, None, None),
    ExistingUnit(5, "village", "黄湾村", 2, None, None),
    ExistingUnit(6, "group", "一组", 5, None, None),
    ExistingUnit(7, "school", "滨河小学", 2, "primary", None),
    ExistingUnit(8, "school", "滨河中学", 2, "junior", None),
]


def test_names_resolve_by_path_and_short_names_must_be_unique() -> None:
    data = xlsx(
        {
            "人员": [
                ["姓名", "手机", "角色", "单位", "班级"],
                ["甲", "13900000001", "组干部", "一组", None],  # two villages have 一组
                ["乙", "13900000002", "组干部", "新墩村/一组", None],
                ["丙", "13900000003", "村干部", "滨河小学", None],  # a school, not a village
                ["丁", "13900000004", "班主任", "滨河小学", "七年级1班"],  # primary school
            ],
            "学生": [
                STUDENT_HEADER,
                GOOD_STUDENT,
                [
                    "G640502201503050002",
                    "甲",
                    "男",
                    None,
                    "滨河中学",
                    3,
                    "1班",
                    None,
                    "新墩村",
                    "九组",
                    None,
                    None,
                    None,
                    None,
                    None,
                ],
                [
                    "G640502201503050003",
                    "乙",
                    "男",
                    None,
                    "滨河一小",
                    3,
                    "1班",
                    "滨河镇",
                    "沙坡村",
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                ],
            ],
        }
    )
    roster = read(data)
    assert roster.errors == []
    result = resolve(roster, UNITS)

    rendered = {(e.sheet, e.row, e.column): e.render(lambda s: s) for e in result.errors}
    assert set(rendered) == {
        ("人员", 2, "D"),
        ("人员", 4, "D"),
        ("人员", 5, "E"),
        ("学生", 3, "F"),
        ("学生", 3, "J"),
        ("学生", 4, "E"),
        ("学生", 4, "I"),
    }
    assert "names 2 units (滨河镇/新墩村/一组、滨河镇/黄湾村/一组)" in rendered[("人员", 2, "D")]
    assert "is a school; a village cadre belongs to a group / village" in rendered[("人员", 4, "D")]
    assert "primary school" in rendered[("人员", 5, "E")]
    assert "新墩村 has no group named “九组”" in rendered[("学生", 3, "J")]
    assert "No school named “滨河一小”" in rendered[("学生", 4, "E")]
    assert "滨河镇 has no village named “沙坡村”" in rendered[("学生", 4, "I")]
    assert [s.phone for s in result.plan.staff] == ["13900000002"]
    [pupil] = result.plan.students
    assert pupil.household == (
        ("district", "沙坡头区"),
        ("township", "滨河镇"),
        ("village", "新墩村"),
        ("group", "一组"),
    )


def test_a_group_written_as_a_number_finds_its_unit() -> None:
    roster = student(乡镇=None, 村="黄湾村", 组=1)
    result = resolve(roster, UNITS)
    assert result.errors == []
    assert result.plan.students[0].household[-1] == ("group", "一组")


def test_a_parent_must_come_first_and_broken_rows_do_not_cascade() -> None:
    roster = read(
        xlsx(
            {
                "单位": [
                    ["类型", "名称", "上级", "学段"],
                    ["村", "新村", "新镇"],  # its township comes later
                    ["镇", "新镇", "沙坡头区"],
                    ["学校", "新镇小学", "新镇", "大学"],  # bad section
                    ["组", "一组", "新镇/新村"],
                ],
                "学生": [STUDENT_HEADER, [*GOOD_STUDENT[:4], "新镇小学", *GOOD_STUDENT[5:]]],
            }
        )
    )
    result = resolve(roster, UNITS)
    problems_by_place = {
        (e.sheet, e.row, e.column): e.render(lambda s: s) for e in roster.errors + result.errors
    }
    assert set(problems_by_place) == {
        ("单位", 2, "C"),  # unknown parent: not listed above
        ("单位", 4, "D"),  # bad section
        ("单位", 5, "C"),  # its village's row is broken
        ("学生", 2, "E"),  # the school's row is broken
    }
    assert "row 4 of 单位, which has errors" in problems_by_place[("学生", 2, "E")]
    assert [u.key[-1] for u in result.plan.units] == [("township", "新镇")]
