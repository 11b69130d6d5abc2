"""Rosters as county offices make them (A5, A6, A9): their own layouts and words, imported
into a real SQLite file; the words the importer does not know are refused, grouped, with a
suggestion, and nothing is written."""

from __future__ import annotations

import asyncio
import csv
import html
import io
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from kcbx.bot.cli.main import main
from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.domain.i18n import translator
from kcbx.bot.domain.policy.reading import PolicyError, default_policy
from kcbx.bot.domain.roles import Role
from kcbx.bot.roster.importer import ImportReport, import_roster
from kcbx.bot.roster.reader import read_roster
from kcbx.bot.roster.report import render_message, render_report
from kcbx.bot.roster.resolver import resolve
from kcbx.bot.roster.tree import UnitTree
from kcbx.bot.roster.vocabulary import vocabulary_from_data
from kcbx.storage.db import Database
from kcbx.storage.people import PeopleRepo
from kcbx.storage.records.audit import AuditRepo
from kcbx.storage.roster_repo import ExistingUnit
from kcbx.storage.units import UnitRepo

T0 = datetime(2024, 3, 1, 1, 0, tzinfo=UTC)
ZH = translator("zh_CN")
EN = translator("en")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "k.db")
    try:
        yield database
    finally:
        await database.close()


async def run(db: Database, data: bytes, name: str, **kwargs: Any) -> ImportReport:
    return await import_roster(db, data, name, actor="cli:root", clock=FakeClock(T0), **kwargs)


async def rows(db: Database, sql: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in await db.fetchall(sql)]


def titled(sheet: Any, title: str, width: int, note: str | None = None) -> None:
    """The merged title row (and a 填报单位 line) offices put above a table."""
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    if note:
        sheet.append([note])
        sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)


def merged_header(sheet: Any, upper: Sequence[str | None], lower: Sequence[str | None]) -> None:
    """A two-row header: a cell alone in ``upper`` is merged down over both rows; a run of
    ``None`` after a cell of ``upper`` is merged into it, across."""
    first = sheet.max_row + 1
    sheet.append(list(upper))
    sheet.append(list(lower))
    column = 1
    while column <= len(upper):
        if lower[column - 1] is None:
            sheet.merge_cells(
                start_row=first, start_column=column, end_row=first + 1, end_column=column
            )
            column += 1
            continue
        end = column
        while end < len(upper) and upper[end] is None and lower[end] is not None:
            end += 1
        if end > column:
            sheet.merge_cells(start_row=first, start_column=column, end_row=first, end_column=end)
        column = end + 1


def township_workbook() -> bytes:
    """滨河镇's roster: title rows, a merged two-row student header with 三包 columns, 三包
    roles as A5 writes them, groups named with their village, A9 words as Article 9 writes
    them, bureau staff in 区教育局, and departments without a 代码 column."""
    book = openpyxl.Workbook()
    units = book.active
    units.title = "单位"
    titled(
        units, "沙坡头区控辍保学单位表", 5, "填报单位：沙坡头区教育局　　填报日期：2024年2月28日"
    )
    units.append(["序号", "单位类别", "单位名称", "所属单位", "办学类型"])
    for n, row in enumerate(
        [
            ["区", "沙坡头区", None, None],
            ["部门", "区教育局", "沙坡头区", None],
            ["部门", "沙坡头区民政局", "沙坡头区", None],
            ["部门", "区公安分局", "沙坡头区", None],
            ["部门", "区乡村振兴局", "沙坡头区", None],
            ["部门", "区科技局", "沙坡头区", None],
            ["乡镇", "滨河镇", "沙坡头区", None],
            ["村", "三道湖村", "滨河镇", None],
            ["组", "1组", "三道湖村", None],
            ["组", "2组", "三道湖村", None],
            ["村", "枣园村", "滨河镇", None],
            ["组", "一队", "枣园村", None],
            ["组", "二队", "枣园村", None],
            ["小学", "三道湖小学", "滨河镇", None],  # the type says the section
            ["学校", "滨河中学", "滨河镇", "初级中学"],
        ],
        start=1,
    ):
        units.append([n, *row])
    staff = book.create_sheet("人员")
    titled(staff, "沙坡头区控辍保学责任人员名册", 6)
    staff.append(["序号", "姓名", "联系电话", "职责", "所在单位", "担任班主任班级"])
    for n, row in enumerate(
        [
            ["周管理", "13900000001", "管理员", "区教育局", None],
            ["钱教育", "13900000002", "教育局工作人员", "区教育局", None],
            ["孙民政", "13900000003", "部门联络员", "沙坡头区民政局", None],
            ["李公安", "13900000004", "部门联络员", "区公安分局", None],
            ["赵包村", "13900000010", "包村干部", "三道湖村", None],
            ["钱包组", "13900000011", "包组干部", "三道湖村1组", None],
            ["孙包户", "13900000012", "包户干部", "三道湖村一组", None],
            ["周包组", "13900000013", "村干部包组（队）", "枣园村一队", None],
            ["吴包户", "13900000014", "组（队）干部包户", "枣园1队", None],
            ["郑校长", "13900000020", "校长", "三道湖小学", None],
            ["王老师", "13900000021", "班主任", "三道湖小学", "三(2)班"],
            ["冯老师", "13900000022", "班主任", "滨河中学", "初二(1)班"],
        ],
        start=1,
    ):
        staff.append([n, row[0], int(row[1]), *row[2:]])
    pupils = book.create_sheet("学生")
    titled(pupils, "滨河镇2024年春季学期义务教育阶段学生花名册", 18)
    merged_header(
        pupils,
        ["学籍号", "姓名", "性别", "出生日期", "学校", "年级", "班级", "家庭住址", None, None,
         "监护人", None, None, None, "三包责任人", None, None, "困难类别"],
        [None, None, None, None, None, None, None, "乡镇", "村", "组",
         "姓名", "关系", "联系电话", "身份证号", "包村干部", "包组干部", "包户干部", None],
    )  # fmt: skip
    for row in [
        ["G640502201503051234", "王小明", "男", date(2015, 3, 5), "三道湖小学", "三年级", "(2)班",
         "滨河镇", "三道湖村", "1组", "王大", "爸爸", "13800001111", "640502198001011234",
         "赵包村", "钱包组", "孙包户", "服刑人员未成年子女"],
        ["G640502201506071234", "李小红", "女", date(2015, 6, 7), "三道湖小学", "三年级", "2班",
         "滨河镇", "三道湖村", "一组", "李奶奶", "奶奶", "13800002222", None,
         None, None, None, "农村低保户家庭学生、留守儿童"],
        ["L640502201201011234", "马小军", "男", "2011.1.1", "滨河中学", "初二", "1班",
         "滨河镇", "枣园村", "2队", "马大", "父子", "13800003333", None,
         None, None, "陈新户 13900000015", "残疾儿童少年"],
    ]:  # fmt: skip
        pupils.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_a_township_roster_in_its_own_words_is_imported_whole(db: Database) -> None:
    report = await run(db, township_workbook(), "滨河镇花名册.xlsx")

    assert [e.render(EN) for e in report.errors] == []
    assert report.written
    # A5 三包: the roles as the measures write them, each at the unit it covers
    people = await rows(
        db,
        "SELECT p.name, p.role, u.name, o.name FROM people p JOIN units u ON u.id = p.unit_id"
        " LEFT JOIN units o ON o.id = p.office_id ORDER BY p.id",
    )
    assert people == [
        ("周管理", "admin", "沙坡头区", "区教育局"),  # A3: the district's, working in 区教育局
        ("钱教育", "bureau_staff", "沙坡头区", "区教育局"),
        ("孙民政", "department_liaison", "沙坡头区民政局", None),
        ("李公安", "department_liaison", "区公安分局", None),
        ("赵包村", "township_cadre", "三道湖村", None),
        ("钱包组", "village_cadre", "1组", None),
        ("孙包户", "group_cadre", "1组", None),
        ("周包组", "village_cadre", "一队", None),
        ("吴包户", "group_cadre", "一队", None),
        ("郑校长", "principal", "三道湖小学", None),
        ("王老师", "class_teacher", "三道湖小学", None),
        ("冯老师", "class_teacher", "滨河中学", None),
        ("陈新户", "group_cadre", "二队", None),  # named in the students' 三包 column
    ]
    # A6/A9: departments linked to their role by name; 区科技局 is none of them
    departments = await rows(db, "SELECT name, code FROM units WHERE kind = 'department'")
    assert departments == [
        ("区教育局", "education_bureau"),
        ("沙坡头区民政局", "civil_affairs"),
        ("区公安分局", "public_security"),
        ("区乡村振兴局", "rural_revitalisation"),
        ("区科技局", None),
    ]
    schools = await rows(db, "SELECT name, section FROM units WHERE kind = 'school'")
    assert schools == [("三道湖小学", "primary"), ("滨河中学", "junior")]
    students = await rows(
        db,
        "SELECT s.name, s.grade, c.name, h.name, s.a9_flags, g.relation FROM students s"
        " JOIN classes c ON c.id = s.class_id JOIN units h ON h.id = s.household_unit_id"
        " JOIN guardians g ON g.student_id = s.id ORDER BY s.id",
    )
    assert students == [
        ("王小明", 3, "2班", "1组", "child_of_prisoner", "父亲"),
        ("李小红", 3, "2班", "1组", "rural_subsistence,left_behind", "祖母"),
        ("马小军", 8, "1班", "二队", "disabled_child", "父亲"),
    ]
    teachers = await rows(
        db,
        "SELECT p.name, c.grade, c.name FROM classes c JOIN people p ON p.id = c.teacher_id"
        " ORDER BY c.id",
    )
    assert ("王老师", 3, "2班") in teachers and ("冯老师", 8, "1班") in teachers


async def test_bureau_staff_stay_findable_under_their_department(db: Database) -> None:
    await run(db, township_workbook(), "滨河镇花名册.xlsx")
    bureau = await db.fetchval("SELECT id FROM units WHERE name = '区教育局'")
    district = await db.fetchval("SELECT id FROM units WHERE kind = 'district'")
    people = PeopleRepo(db, AuditRepo(db))
    found = await people.in_units([bureau], [Role.ADMIN, Role.BUREAU_STAFF])
    assert [(p.name, p.unit_id, p.office_id) for p in found] == [
        ("周管理", district, bureau),
        ("钱教育", district, bureau),
    ]


async def test_the_township_roster_reimported_changes_nothing(db: Database) -> None:
    data = township_workbook()
    await run(db, data, "滨河镇花名册.xlsx")
    again = await run(db, data, "滨河镇花名册.xlsx")
    assert again.errors == [] and again.written
    assert all(c.created == 0 and c.updated == 0 for c in again.counts.values())


async def test_the_import_warns_of_routed_departments_without_a_liaison(db: Database) -> None:
    report = await run(db, township_workbook(), "滨河镇花名册.xlsx")
    warnings = [w.render(ZH) for w in report.warnings]
    # 区乡村振兴局 is on the roster but nobody is its liaison (A9 relief, A6 poverty)
    assert any("区乡村振兴局：无联络员" in w and "教育局" in w for w in warnings)
    # the departments the policy routes to and the roster lacks
    assert any("区司法局" in w for w in warnings)
    # a department that no role fits, at its row
    [science] = [w for w in report.warnings if w.value == "区科技局"]
    assert (science.sheet, science.row, science.column) == ("单位", 9, "C")
    # civil affairs and public security have their liaisons: no warning
    about = {str(w.params.get("unit") or w.params.get("department")) for w in report.warnings}
    assert not about & {"沙坡头区民政局", "区公安分局", "civil affairs bureau"}
    assert "public security sub-bureau" not in about
    text = "\n".join(render_report(report, ZH))
    assert "不影响导入" in text


def county_csv() -> bytes:
    """Another office's students list: a GBK CSV with its own column names, groups written
    with the village (三道湖村1组, 三道湖1组) or by number (1队), and a title row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["沙坡头区滨河镇学生基本信息表"])
    writer.writerow(
        ["学生学籍号", "学生姓名", "性别", "出生年月日", "所在学校", "就读年级", "所在班级",
         "户籍乡镇", "户籍村", "社(组)", "家长", "与学生的关系", "家长联系电话", "帮扶类别",
         "包户干部", "包户干部电话"]
    )  # fmt: skip
    for row in [
        ["G640502201603051111", "张一", "男", "2016-03-05", "滨河镇/三道湖小学", "二年级", "1班",
         "滨河镇", "三道湖村", "三道湖村1组", "张大", "父亲", "13800005555", "无", "", ""],
        ["G640502201603052222", "张二", "女", "2016年4月5日", "三道湖小学", "2", "(1)班",
         "", "", "三道湖1组", "张二妈", "妈妈", "13800006666", "单亲家庭子女", "孙包户", ""],
        ["G640502201603053333", "张三", "男", "20160605", "三道湖小学", "二年级", "一班",
         "滨河镇", "枣园村", "1队", "张三爷", "外公", "13800007777", "脱贫不稳定户",
         "吴包户", "13900000014"],
    ]:  # fmt: skip
        writer.writerow(row)
    return out.getvalue().encode("gbk")


async def test_a_gbk_csv_with_other_column_names_and_joined_group_names(db: Database) -> None:
    await run(db, township_workbook(), "滨河镇花名册.xlsx")
    report = await run(db, county_csv(), "学生信息.csv")

    assert [e.render(EN) for e in report.errors] == []
    assert report.counts["students"].created == 3
    students = await rows(
        db,
        "SELECT s.name, h.name, v.name, s.a9_flags, g.relation FROM students s"
        " JOIN units h ON h.id = s.household_unit_id JOIN units v ON v.id = h.parent_id"
        " JOIN guardians g ON g.student_id = s.id WHERE s.name LIKE '张%' ORDER BY s.id",
    )
    assert students == [
        ("张一", "1组", "三道湖村", "", "父亲"),
        ("张二", "1组", "三道湖村", "single_parent", "母亲"),
        ("张三", "一队", "枣园村", "unstable_poverty_exit", "外祖父"),
    ]
    assert report.counts["staff"].unchanged == 1  # 吴包户, named with their phone


def unknown_words_workbook() -> bytes:
    book = openpyxl.Workbook()
    staff = book.active
    staff.title = "人员"
    staff.append(["姓名", "手机", "角色", "单位"])
    for n in range(12):
        staff.append([f"干部{n}", f"1370000{n:04d}", "包片干部", "三道湖村"])
    staff.append(["甲", "13900009998", "村委会干部", "三到湖村/1组"])
    staff.append(["乙", "13900009999", "校工", "三道湖小学"])
    pupils = book.create_sheet("学生")
    pupils.append(["学籍号", "姓名", "学校", "年级", "班级", "困难类别"])
    pupils.append(["G640502201503059999", "丙", "三道湖小学", 3, 1, "服刑子女"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_unknown_words_are_grouped_with_a_suggestion_and_nothing_is_written(
    db: Database,
) -> None:
    await run(db, township_workbook(), "滨河镇花名册.xlsx")
    before = await rows(db, "SELECT COUNT(*) FROM people")
    audits = await db.fetchval("SELECT COUNT(*) FROM audit_log")

    report = await run(db, unknown_words_workbook(), "新名单.xlsx")

    assert not report.written
    assert await rows(db, "SELECT COUNT(*) FROM people") == before
    assert await db.fetchval("SELECT COUNT(*) FROM audit_log") == audits
    lines = render_report(report, ZH)
    assert lines[0].startswith("新名单.xlsx未导入任何内容：共16处问题")
    # twelve rows, one line, the largest group first, its rows capped
    assert lines[1] == (
        "工作表“人员”C列（角色），共12行（第2、3、4、5、6…行）："
        "“包片干部”不是已知的角色；是否指“包村干部”？"
    )
    text = "\n".join(lines)
    assert "“村委会干部”不是已知的角色；是否指“村委干部”？" in text
    assert "没有名为“三到湖村/1组”的单位；是否指“三道湖村/1组”？" in text  # near a stored one
    assert "“校工”不是已知的角色，请填写：管理员、区领导、" in text  # nothing near: the list
    assert "“服刑子女”不是第九条所列的困难类别；是否指“服刑人员子女”？" in text
    english = "\n".join(render_report(report, EN))
    assert "“包片干部” is not a known role; did you mean “包村干部”?" in english


async def test_a_county_adds_its_own_words_in_its_policy(db: Database) -> None:
    await run(db, township_workbook(), "滨河镇花名册.xlsx")
    vocabulary = vocabulary_from_data(
        {"roles": {"township_cadre": ["包片干部"], "village_cadre": ["村委会干部"]},
         "a9_categories": {"child_of_prisoner": ["服刑子女"]},
         "unit_kinds": {}, "headers": {"staff": {"phone": ["移动电话"]}}}
    )  # fmt: skip
    book = openpyxl.load_workbook(io.BytesIO(unknown_words_workbook()))
    book["人员"]["B1"] = "移动电话"
    book["人员"].delete_rows(15)  # 校工: not a role anywhere
    book["人员"]["D14"] = "三道湖村/1组"
    out = io.BytesIO()
    book.save(out)

    report = await run(db, out.getvalue(), "新名单.xlsx", vocabulary=vocabulary)

    assert [e.render(EN) for e in report.errors] == []
    assert report.counts["staff"].created == 13
    flags = await db.fetchval("SELECT a9_flags FROM students WHERE name = '丙'")
    assert flags == "child_of_prisoner"


async def test_check_writes_nothing_and_says_what_an_import_would_do(db: Database) -> None:
    report = await run(db, township_workbook(), "滨河镇花名册.xlsx", check=True)

    assert report.checked and not report.written and report.errors == []
    assert report.counts["students"].created == 3
    assert await db.fetchval("SELECT COUNT(*) FROM units") == 0
    assert await db.fetchval("SELECT COUNT(*) FROM audit_log") == 0
    text = "\n".join(render_report(report, ZH))
    assert "未写入任何内容" in text and "学生：新增3" in text


async def test_the_chat_answer_fits_one_message_and_counts_what_it_leaves_out(
    db: Database,
) -> None:
    await run(db, township_workbook(), "滨河镇花名册.xlsx")
    book = openpyxl.Workbook()
    pupils = book.active
    pupils.title = "学生"
    pupils.append(["学籍号", "姓名", "学校", "年级", "班级"])
    for n in range(400):  # 400 different unknown schools: 400 kinds of problem
        pupils.append([f"G6405022015{n:08d}", f"学生{n}", f"不存在的学校{n}", 3, 1])
    out = io.BytesIO()
    book.save(out)

    report = await run(db, out.getvalue(), "大名单.xlsx")
    message = render_message(report, ZH, escape=html.escape)

    assert len(message) <= 4096
    assert message.startswith("大名单.xlsx未导入任何内容：共400处问题")
    assert "另有" in message.splitlines()[-1] and "未列出" in message.splitlines()[-1]
    assert len(render_report(report, ZH, max_groups=10)) == 12


def test_the_built_in_vocabulary_has_the_measures_words() -> None:
    vocabulary = vocabulary_from_data()
    # A5 三包 as the measures write them
    assert vocabulary.code("roles", "乡镇干部包村") == "township_cadre"
    assert vocabulary.code("roles", "村干部包组（队）") == "village_cadre"
    assert vocabulary.code("roles", "组（队）干部包户") == "group_cadre"
    # A9 as Article 9 writes its categories, and the first word is the article's
    for word, code in {
        "突发严重困难户": "sudden_hardship",
        "脱贫不稳定户": "unstable_poverty_exit",
        "农村低保户家庭学生": "rural_subsistence",
        "残疾儿童少年": "disabled_child",
        "残疾人子女": "child_of_disabled",
        "服刑人员未成年子女": "child_of_prisoner",
        "留守儿童": "left_behind",
    }.items():
        assert vocabulary.code("a9_categories", word) == code
    assert vocabulary.name("a9_categories", "child_of_prisoner") == "服刑人员未成年子女"
    # every department the default policy routes to is found by its usual name
    names = {
        "civil_affairs": "区民政局", "public_security": "沙坡头区公安分局",
        "justice": "区司法局", "united_front": "区委统战部", "hr_social_security": "市人社局",
        "market_supervision": "市场监督管理局沙坡头分局", "cyberspace": "区委网信办",
        "rural_revitalisation": "区农业农村局", "youth_league": "团区委",
        "womens_federation": "区妇联", "education_bureau": "中卫市沙坡头区教育体育局",
    }  # fmt: skip
    for code, name in names.items():
        assert vocabulary.department_of(name) == code, name
    routed = {d for d in default_policy().departments.routed() if d not in ("school", "township")}
    assert routed <= set(names)


def test_a_county_vocabulary_with_mistakes_is_refused_with_each_one() -> None:
    with pytest.raises(PolicyError) as caught:
        vocabulary_from_data(
            {"roles": {"janitor": ["校工"], "village_cadre": ["组干部", 3]},
             "colours": {"red": ["红"]}, "grades": {"10": ["高一"]}}
        )  # fmt: skip
    problems = {p.key: p.render(EN) for p in caught.value.problems}
    assert set(problems) == {
        "vocabulary.roles.janitor",
        "vocabulary.roles.village_cadre[0]",
        "vocabulary.roles.village_cadre[1]",
        "vocabulary.colours",
        "vocabulary.grades.10",
    }
    assert "“组干部” already means group_cadre" in problems["vocabulary.roles.village_cadre[0]"]
    assert "unknown table" in problems["vocabulary.colours"]


def test_policy_check_validates_the_vocabulary(tmp_path: Path, capsys: Any) -> None:
    good = tmp_path / "county.toml"
    good.write_text('[vocabulary.roles]\ntownship_cadre = ["包片干部"]\n', encoding="utf-8")
    assert main(["policy", "check", str(good)]) == 0
    out = capsys.readouterr().out
    assert "包片干部" in out
    bad = tmp_path / "bad.toml"
    bad.write_text('[vocabulary.roles]\njanitor = ["校工"]\n', encoding="utf-8")
    assert main(["policy", "check", str(bad)]) == 1
    assert "vocabulary.roles.janitor" in capsys.readouterr().out


async def test_cli_import_check_writes_nothing(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "滨河镇花名册.xlsx"
    path.write_bytes(township_workbook())
    db_path = tmp_path / "cli.db"
    code = await asyncio.to_thread(main, ["--db", str(db_path), "import", str(path), "--check"])
    assert code == 0
    database = await Database.open(db_path)
    try:
        assert await database.fetchval("SELECT COUNT(*) FROM students") == 0
    finally:
        await database.close()
    assert path.name in capsys.readouterr().out


async def test_an_import_links_stored_departments_an_older_import_left_without_a_role(
    db: Database,
) -> None:
    """A6: an older import stored 区民政局 without a code, so its referrals reached nobody;
    the next import, of any sheet, links it by its name (and says so in the counts)."""
    units = UnitRepo(db)
    district = await units.add("district", "沙坡头区")
    await units.add("department", "区民政局", district)
    await units.add("department", "区公安分局", district, code="public_security")
    township = await units.add("township", "滨河镇", district)
    await units.add("school", "三道湖小学", township, section="primary")
    data = "姓名,手机,角色,单位\n郑校长,13900000020,校长,三道湖小学\n".encode("gbk")

    report = await run(db, data, "人员.csv")

    assert report.errors == [] and report.written
    assert report.counts["units"].updated == 1
    codes = await rows(db, "SELECT name, code FROM units WHERE kind = 'department' ORDER BY id")
    assert codes == [("区民政局", "civil_affairs"), ("区公安分局", "public_security")]
    audit = json.loads(await db.fetchval("SELECT detail FROM audit_log WHERE action = 'import'"))
    assert list(audit["updated"]["units"].values()) == [["code"]]


TREE = [
    ExistingUnit(1, "district", "沙坡头区", None, None, None),
    ExistingUnit(2, "township", "滨河镇", 1, None, None),
    ExistingUnit(3, "village", "三道湖村", 2, None, None),
    ExistingUnit(4, "group", "1组", 3, None, None),
    ExistingUnit(5, "village", "枣园村", 2, None, None),
    ExistingUnit(6, "group", "一队", 5, None, None),
    ExistingUnit(7, "group", "枣园村二队", 5, None, None),  # declared with its village's name
]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("三道湖村/1组", "滨河镇/三道湖村/1组"),
        ("三道湖村1组", "滨河镇/三道湖村/1组"),
        ("三道湖村一组", "滨河镇/三道湖村/1组"),
        ("三道湖1组", "滨河镇/三道湖村/1组"),
        ("三道湖村/第一组", "滨河镇/三道湖村/1组"),
        ("滨河镇/三道湖村1组", "滨河镇/三道湖村/1组"),
        ("枣园村1队", "滨河镇/枣园村/一队"),
        ("枣园/1组", "滨河镇/枣园村/一队"),
        ("枣园村/2队", "滨河镇/枣园村/枣园村二队"),
        ("滨河/三道湖", "滨河镇/三道湖村"),
    ],
)
def test_units_are_found_as_offices_write_them(text: str, found: str) -> None:
    tree = UnitTree(TREE)
    assert [n.path() for n in tree.find(tuple(text.split("/")))] == [found]


def test_an_ambiguous_group_says_which_units_it_may_mean() -> None:
    data = io.BytesIO()
    book = openpyxl.Workbook()
    book.active.append(["姓名", "手机", "角色", "单位"])
    book.active.append(["甲", "13900000001", "包户干部", "1组"])
    book.save(data)
    roster = read_roster(data.getvalue(), "x.xlsx", today=date(2024, 3, 1))
    [error] = resolve(roster, TREE).errors
    assert error.render(ZH).endswith(
        "名为“1组”的单位有2个（滨河镇/三道湖村/1组、滨河镇/枣园村/一队），"
        "请写明路径，如滨河镇/三道湖村/1组"
    )
