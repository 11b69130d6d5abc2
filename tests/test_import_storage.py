"""Roster import into a real SQLite file (issue 2): all or nothing, idempotent, one audit row."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.roster.importer import ImportReport, SkippedRow, import_roster
from kcbx.storage.case_plans import CasePlanRepo, PlanMark
from kcbx.storage.cases import CaseRepo
from kcbx.storage.db import Database
from kcbx.storage.people import PeopleRepo
from kcbx.storage.records.audit import AuditRepo
from kcbx.storage.roster_repo import Counts

T0 = datetime(2024, 3, 1, 1, 0, tzinfo=UTC)
ROSTER_TABLES = ("units", "people", "classes", "students", "guardians")
STUDENT_HEADER = [
    "学籍号", "姓名", "性别", "出生日期", "学校", "年级", "班级", "乡镇", "村", "组",
    "监护人", "关系", "监护人电话", "困难类别", "备注",
]  # fmt: skip


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "k.db")
    try:
        yield database
    finally:
        await database.close()


def workbook(students: Sequence[Sequence[object]] | None = None) -> bytes:
    """A district roster as an office sends it: title rows, merged cells, numbers as numbers."""
    book = openpyxl.Workbook()
    units = book.active
    units.title = "单位"
    units.append(["沙坡头区单位名册"])
    units.merge_cells("A1:E1")
    units.append(["类型", "名称", "上级", "学段", "代码"])
    for row in (
        ["区", "沙坡头区"],
        ["乡镇", "滨河镇", "沙坡头区"],
        ["村", "新墩村", "滨河镇"],
        ["组", "一组", "滨河镇/新墩村"],
        ["组", "二组", "滨河镇/新墩村"],
        ["村", "黄湾村", "滨河镇"],
        ["组", "一组", "滨河镇/黄湾村"],  # the same name under another village
        ["学校", "滨河小学", "滨河镇", "小学"],
        ["学校", "滨河中学", "滨河镇", "初中"],
        ["部门", "民政局", "沙坡头区", None, "civil_affairs"],
    ):
        units.append(row)
    staff = book.create_sheet("教职工")
    staff.append(["沙坡头区教职工名册"])
    staff.merge_cells("A1:E1")
    staff.append(["姓名", "手机号", "角色", "单位", "班级"])
    staff.append(["张三", 13912345678.0, "班主任", "滨河小学", "三年级(2)班、3年级1班"])
    staff.append(["李四", "１３９１２３４５６７９", "校长", "滨河小学", None])
    staff.append(["王五", 13912345670, "班主任", "滨河中学", "初一(1)班"])
    staff.append(["赵六", "13912345671", "组干部", "黄湾村/一组", None])
    pupils = book.create_sheet("学生")
    pupils.append(["沙坡头区2024年春季学期学生花名册"])
    pupils.merge_cells("A1:O1")
    pupils.append([])
    pupils.append(STUDENT_HEADER)
    for row in students if students is not None else STUDENTS:
        pupils.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


STUDENTS: list[list[object]] = [
    ["G640502201503051234", "王小明", "男", date(2015, 3, 5), "滨河小学", "三年级", "(2)班",
     "滨河镇", "新墩村", "1组", "王大、李花", "父亲、母亲", 13800001111.0, "留守儿童、低保户",
     None],
    ["Ｇ６４０５０２２０１５０６０７１２３４", "李 小 红", "女", 42166, "滨河小学", 3, 1,
     "滨河镇", "黄湾村", "一组", "李大", "父亲", "13800002222", None, "转入"],
    ["L640502201201011234", "马小军", "M", "2012.1.1", "滨河中学", "初一", "1班",
     None, "新墩村", "二组", "马大", "祖父", "0955-7654321", "孤儿", None],
]  # fmt: skip


async def run(db: Database, data: bytes, name: str = "花名册.xlsx", **kwargs: Any) -> ImportReport:
    clock = FakeClock(T0)
    return await import_roster(db, data, name, actor="cli:root", clock=clock, **kwargs)


async def dump(db: Database) -> dict[str, list[tuple[object, ...]]]:
    """The roster tables, row by row (to prove a failed or repeated import changed nothing)."""
    return {t: [tuple(r) for r in await db.fetchall(f"SELECT * FROM {t} ORDER BY id")]
            for t in ROSTER_TABLES}  # fmt: skip


async def test_import_writes_the_whole_district(db: Database) -> None:
    report = await run(db, workbook())

    assert report.errors == []
    assert report.written
    assert report.counts == {
        "units": Counts(created=10),
        "staff": Counts(created=4),
        "classes": Counts(created=3),
        "students": Counts(created=3),
    }
    rows = await db.fetchall(
        "SELECT s.registry_no, s.name, s.gender, s.birth_date, u.name AS school, s.grade,"
        " c.name AS class, h.name AS household, v.name AS village, s.a9_flags, s.note"
        " FROM students s JOIN units u ON u.id = s.school_id JOIN classes c ON c.id = s.class_id"
        " JOIN units h ON h.id = s.household_unit_id JOIN units v ON v.id = h.parent_id"
        " ORDER BY s.id"
    )
    assert [tuple(r) for r in rows] == [
        ("G640502201503051234", "王小明", "M", "2015-03-05", "滨河小学", 3, "2班", "一组",
         "新墩村", "rural_subsistence,left_behind", None),
        ("G640502201506071234", "李小红", "F", "2015-06-11", "滨河小学", 3, "1班", "一组",
         "黄湾村", "", "转入"),
        ("L640502201201011234", "马小军", "M", "2012-01-01", "滨河中学", 7, "1班", "二组",
         "新墩村", "orphan", None),
    ]  # fmt: skip
    guardians = await db.fetchall(
        "SELECT s.name, g.name, g.relation, g.phone FROM guardians g"
        " JOIN students s ON s.id = g.student_id ORDER BY g.id"
    )
    assert [tuple(g) for g in guardians] == [
        ("王小明", "王大", "父亲", "13800001111"),
        ("王小明", "李花", "母亲", None),
        ("李小红", "李大", "父亲", "13800002222"),
        ("马小军", "马大", "祖父", "0955-7654321"),
    ]
    teachers = await db.fetchall(
        "SELECT u.name, c.grade, c.name, p.name, p.phone FROM classes c"
        " JOIN units u ON u.id = c.school_id JOIN people p ON p.id = c.teacher_id"
        " ORDER BY u.name, c.grade, c.name"
    )
    assert [tuple(t) for t in teachers] == [
        ("滨河中学", 7, "1班", "王五", "13912345670"),
        ("滨河小学", 3, "1班", "张三", "13912345678"),
        ("滨河小学", 3, "2班", "张三", "13912345678"),
    ]
    cadre = await db.fetchone(
        "SELECT p.role, u.kind, v.name FROM people p JOIN units u ON u.id = p.unit_id"
        " JOIN units v ON v.id = u.parent_id WHERE p.phone = '13912345671'"
    )
    assert cadre is not None and tuple(cadre) == ("group_cadre", "group", "黄湾村")
    [audit] = await db.fetchall("SELECT * FROM audit_log WHERE action = 'import'")
    assert (audit["actor"], audit["entity"], audit["at"]) == (
        "cli:root",
        "roster",
        "2024-03-01T01:00:00+00:00",
    )
    detail = json.loads(audit["detail"])
    assert detail["file"] == "花名册.xlsx"
    assert detail["counts"]["students"] == {"created": 3, "updated": 0, "unchanged": 0}
    assert detail["created"]["students"] == [[1, 3]]


async def test_reimporting_the_same_file_changes_nothing(db: Database) -> None:
    data = workbook()
    await run(db, data)
    before = await dump(db)

    again = await run(db, data)

    assert again.errors == []
    assert again.counts == {
        "units": Counts(unchanged=10),
        "staff": Counts(unchanged=4),
        "classes": Counts(unchanged=3),
        "students": Counts(unchanged=3),
    }
    assert await dump(db) == before
    audits = await db.fetchall("SELECT detail FROM audit_log WHERE action = 'import'")
    assert len(audits) == 2
    assert json.loads(audits[1]["detail"])["created"] == {}


async def test_an_update_replaces_guardians_and_keeps_the_telegram_binding(db: Database) -> None:
    await run(db, workbook())
    await db.execute(
        "UPDATE people SET telegram_id = 777, status = 'revoked' WHERE phone = '13912345679'"
    )
    changed = [list(r) for r in STUDENTS]
    changed[0][6] = "1班"  # moved to another class
    changed[0][10:13] = ["王大", "父亲", "13800009999"]  # one guardian, a new phone
    book = openpyxl.load_workbook(io.BytesIO(workbook(changed)))
    book["教职工"]["A4"] = "李四四"  # the principal's name corrected
    out = io.BytesIO()
    book.save(out)

    report = await run(db, out.getvalue())

    assert report.counts["students"] == Counts(updated=1, unchanged=2)
    assert report.counts["staff"] == Counts(updated=1, unchanged=3)
    guardians = await db.fetchall(
        "SELECT g.name, g.phone FROM guardians g JOIN students s ON s.id = g.student_id"
        " WHERE s.registry_no = 'G640502201503051234'"
    )
    assert [tuple(g) for g in guardians] == [("王大", "13800009999")]
    principal = await db.fetchone(
        "SELECT name, telegram_id, status FROM people WHERE phone = '13912345679'"
    )
    assert principal is not None and tuple(principal) == ("李四四", 777, "revoked")
    last = await db.fetchone("SELECT detail FROM audit_log ORDER BY id DESC LIMIT 1")
    assert last is not None
    updated = json.loads(last["detail"])["updated"]
    assert updated["students"] == {"1": ["class_id", "guardians"]}
    assert updated["staff"] == {"2": ["name"]}


async def test_a_teacher_who_gives_up_a_class_is_unlinked(db: Database) -> None:
    await run(db, workbook())
    book = openpyxl.load_workbook(io.BytesIO(workbook()))
    book["教职工"]["E3"] = "三年级(2)班"  # 张三 keeps 3年级2班 only
    out = io.BytesIO()
    book.save(out)

    report = await run(db, out.getvalue())

    assert report.counts["classes"] == Counts(updated=1, unchanged=2)
    unlinked = await db.fetchone("SELECT teacher_id FROM classes WHERE grade = 3 AND name = '1班'")
    assert unlinked is not None and unlinked["teacher_id"] is None


async def test_invalid_rows_write_nothing_and_every_error_is_listed(db: Database) -> None:
    await run(db, workbook())
    before = await dump(db)
    bad = [list(r) for r in STUDENTS]
    bad[0][12] = "1380000111"  # ten digits
    bad[1][4] = "滨河一小"  # no such school
    bad[2][3] = "2099-01-01"  # born in the future
    bad.append(["G640502201503051234", "重复", "男", None, "滨河小学", 3, "2班", None, None, None,
                None, None, None, "富裕", None])  # fmt: skip

    report = await run(db, workbook(bad))

    assert not report.written
    assert report.skipped == []
    assert [(e.sheet, e.row, e.column) for e in report.errors] == [
        ("学生", 4, "M"),
        ("学生", 5, "E"),
        ("学生", 6, "D"),
        ("学生", 7, "A"),
        ("学生", 7, "N"),
    ]
    assert await dump(db) == before
    assert len(await db.fetchall("SELECT id FROM audit_log WHERE action = 'import'")) == 1


async def test_skip_invalid_imports_the_valid_rows(db: Database) -> None:
    bad = [list(r) for r in STUDENTS]
    bad[1][9] = "九组"  # no such group in 黄湾村
    report = await run(db, workbook(bad), skip_invalid=True)

    assert report.written
    assert [e.render(lambda s: s) for e in report.errors] == [
        "Sheet 学生, row 5, column J (组): 黄湾村 has no group named “九组”"
    ]
    assert report.skipped == [SkippedRow("学生", 5)]
    assert report.counts["students"] == Counts(created=2)
    names = await db.fetchall("SELECT name FROM students ORDER BY id")
    assert [n["name"] for n in names] == ["王小明", "马小军"]
    detail = json.loads((await db.fetchall("SELECT detail FROM audit_log"))[-1]["detail"])
    assert (detail["skipped"], detail["errors"]) == (1, 1)


async def test_a_gbk_csv_of_students(db: Database, tmp_path: Path) -> None:
    await run(db, workbook())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["沙坡头区学生名单"])
    writer.writerow(["全国学籍号", "学生姓名", "性别", "出生日期", "学校", "年级", "班级", "乡镇",
                     "村", "组", "监护人", "与学生关系", "家长电话", "困难类型"])  # fmt: skip
    writer.writerow(["G640502201503051234", "王小明", "男", "2015年3月5日", "滨河镇/滨河小学",
                     "三年级", "2班", "滨河镇", "新墩村", "一组", "王大、李花", "父亲、母亲",
                     "13800001111", "留守儿童，低保户"])  # fmt: skip
    writer.writerow(["G640502201803051234", "王小亮", "男", "20180305", "滨河小学",
                     "一年级", "3", "滨河镇", "新墩村", "二组", "王大", "父亲",
                     "13800001111", ""])  # fmt: skip
    path = tmp_path / "学生.csv"
    path.write_bytes(out.getvalue().encode("gbk"))

    report = await run(db, path, "学生.csv")

    assert report.errors == []
    assert report.counts["students"] == Counts(created=1, unchanged=1)
    assert report.counts["classes"] == Counts(created=1, unchanged=1)
    new = await db.fetchone("SELECT name, grade, birth_date FROM students WHERE id = 4")
    assert new is not None and tuple(new) == ("王小亮", 1, "2018-03-05")


async def test_progress_is_reported_up_to_the_total(db: Database) -> None:
    calls: list[tuple[int, int]] = []
    await run(db, workbook(), progress=lambda done, total: calls.append((done, total)))

    assert calls
    done = [d for d, _ in calls]
    assert done == sorted(done)
    assert calls[-1][0] == calls[-1][1]
    assert all(d <= t for d, t in calls)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\x00garbage" * 10, "This is not an Excel workbook (.xlsx), or it is damaged"),
        (
            b"x" * 5000,
            "The file is 4.9 KB; files over 4 KB are refused. Split it into smaller files.",
        ),
    ],
)
async def test_unreadable_or_oversized_files_are_refused(
    db: Database, data: bytes, problem: str
) -> None:
    report = await run(db, data, max_bytes=4096)

    assert not report.written
    assert [e.render(lambda s: s) for e in report.errors] == [f"File 花名册.xlsx: {problem}"]
    assert await dump(db) == {t: [] for t in ROSTER_TABLES}


async def test_an_oversized_file_on_disk_is_refused_before_reading(
    db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "big.xlsx"
    path.write_bytes(b"x" * 3 * 1024 * 1024)
    report = await run(db, path, "big.xlsx", max_bytes=2 * 1024 * 1024)
    assert [e.render(lambda s: s) for e in report.errors] == [
        "File big.xlsx: The file is 3 MB; files over 2 MB are refused. Split it into smaller files."
    ]
    missing = await run(db, tmp_path / "nowhere.xlsx", "nowhere.xlsx")
    assert [e.render(lambda s: s) for e in missing.errors] == [
        "File nowhere.xlsx: The file cannot be opened"
    ]


async def test_a_blank_department_code_keeps_the_stored_one(db: Database) -> None:
    await run(db, workbook())
    book = openpyxl.load_workbook(io.BytesIO(workbook()))
    assert book["单位"]["E12"].value == "civil_affairs"
    book["单位"]["E12"] = None  # 民政局's code left blank in a later file
    out = io.BytesIO()
    book.save(out)

    report = await run(db, out.getvalue())

    assert report.counts["units"] == Counts(unchanged=10)
    code = await db.fetchval("SELECT code FROM units WHERE name = '民政局'")
    assert code == "civil_affairs"


async def test_an_import_that_changes_a_student_marks_the_open_case_for_the_sweep(
    db: Database,
) -> None:
    """The sweep reads only the cases marked changed (migration 0011): an import that
    changes a student (here the A9 flags) marks the student's open case, one that changes
    nothing marks nothing, and any import marks the cases that wait for someone to tell."""
    await run(db, workbook())
    audit = AuditRepo(db)
    cases, plans = CaseRepo(db, audit), CasePlanRepo(db)
    student = await db.fetchval("SELECT id FROM students WHERE registry_no = 'L640502201201011234'")
    case = await cases.open_case(
        student_id=student, reported_by=None, absent_since=date(2024, 3, 1), cause="unknown",
        guardian_contact=None, note=None, now=T0, year=2024, actor="cli:test",
    )  # fmt: skip

    async def settle(waiting: bool = False) -> None:
        seen = await plans.to_look_at(T0)
        async with db.transaction():
            await plans.save([PlanMark(case.id, None, waiting, seen[case.id])], now=T0)
        assert await plans.to_look_at(T0) == {}

    await settle()
    await run(db, workbook())  # the same file again: nothing changed
    assert await plans.to_look_at(T0) == {}
    changed = [list(r) for r in STUDENTS]
    changed[2][13] = "孤儿、留守儿童"  # 马小军 is now also left behind (A9)
    await run(db, workbook(changed))
    assert set(await plans.to_look_at(T0)) == {case.id}
    await settle(waiting=True)
    await run(db, workbook(changed))  # nothing changed, but the case waits for people
    assert set(await plans.to_look_at(T0)) == {case.id}


async def test_a_staff_change_moves_the_counter_the_person_caches_read(db: Database) -> None:
    """A new name, role or unit from the roster drops every process's person cache
    (kcbx.bot.runtime.people_cache); an import that changes nobody does not."""
    people = PeopleRepo(db, AuditRepo(db))
    await run(db, workbook())
    before = await people.generation()
    await run(db, workbook())
    assert await people.generation() == before
    book = openpyxl.load_workbook(io.BytesIO(workbook()))
    book["教职工"]["A4"] = "李四四"  # the principal's name corrected
    out = io.BytesIO()
    book.save(out)
    await run(db, out.getvalue())
    assert await people.generation() == before + 1
