"""The ledger (台账) workbook (issue 5): sheets, Chinese headers, one case's row, print setup,
the CLI, and the audit entry of every export. Real SQLite file, controlled clock."""

from __future__ import annotations

import asyncio
import io
import re
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from kcbx.bot.cli.main import main
from kcbx.bot.documents.protect import decrypt
from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.domain.i18n import translator
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.accountability import freeze_due_months
from kcbx.bot.services.ledger import export_for_person, export_for_unit
from kcbx.bot.services.notices import number_document
from kcbx.testing.seed import T0, District, small_district

ZH = translator("zh_CN")
EN = translator("en")
HEADERS = [
    "序号",
    "案件编号",
    "乡镇",
    "学校",
    "年级班级",
    "学生姓名",
    "性别",
    "出生日期",
    "学籍号（身份证号）",
    "家庭住址",
    "监护人姓名",
    "与学生关系",
    "监护人联系电话",
    "班主任",
    "包村干部",
    "包组干部",
    "包户干部",
    "弱势群体类别（第九条）",
    "缺课原因",
    "缺课起始日",
    "报告日期",
    "类别",
    "状态",
    "辍学标注日",
    "劝返及处置情况（日期、事项、责任人、结果）",
    "限期入学通知书文号",
    "通知书送达日期",
    "复学期限",
    "责令改正通知书（文号、送达日期、期限）",
    "复学日期",
    "去向",
    "复学后跟踪",
    "责任追究（第八条）",
]
CODE = re.compile(r"[a-z_]{3,}|\bA\d")  # an English code or a rule ID left in a cell


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[Services, FakeClock, District]]:
    clock = FakeClock(T0)
    services = await Services.open(Config(db_path=str(tmp_path / "kcbx.db")), clock)
    district = await small_district(services, T0)
    yield services, clock, district
    await services.close()


async def seed_cases(services: Services, clock: FakeClock, district: District) -> None:
    """张三: absent since 20 Feb, phoned by 李老师, visited (the guardians refused), a dropout
    since 27 Feb, a notice delivered; 王五 (A9): absent since 10 March; 孙八: back on
    10 March after 12 days; 李四: back on day 2, then absent again. The clock ends on 12 March."""
    teacher = district.people["13900000022"]
    cadre = district.people["13900000014"]

    async def open_case(name: str, on: date, cause: str, by: int | None) -> int:
        case = await services.cases.open_case(
            student_id=district.students[name],
            reported_by=by,
            absent_since=on,
            cause=cause,
            guardian_contact=None,
            note=None,
            now=datetime.combine(on, time(2), tzinfo=UTC),
            year=2024,
            actor=f"person:{by}" if by else "cli:test",
        )
        return case.id

    zhang = await open_case("张三", date(2024, 2, 20), "weariness", teacher)
    await services.cases.record_action(
        zhang,
        kind="phone_call",
        actor_id=teacher,
        at=datetime(2024, 2, 20, 3, 0, tzinfo=UTC),
        now=datetime(2024, 2, 20, 3, 5, tzinfo=UTC),
        rule="A7.1",
        detail={"note": "家长称孩子不愿上学"},
    )
    await services.cases.record_action(
        zhang,
        kind="home_visit",
        actor_id=cadre,
        at=datetime(2024, 2, 23, 4, 0, tzinfo=UTC),
        now=datetime(2024, 2, 23, 4, 5, tzinfo=UTC),
        rule="A5.1",
        detail={"met": "guardians", "outcome": "refused", "cause": "parents_unwilling"},
    )
    wang = await open_case("王五", date(2024, 3, 10), "unknown", teacher)
    sun = await open_case("孙八", date(2024, 2, 27), "poverty", None)
    li = await open_case("李四", date(2024, 3, 1), "illness", teacher)
    clock.set(datetime(2024, 3, 3, 2, 0, tzinfo=UTC))
    await services.cases.close(li, status="returned", now=clock.now(), actor="cli:test")
    await open_case("李四", date(2024, 3, 8), "unknown", teacher)
    clock.set(datetime(2024, 3, 7, 2, 0, tzinfo=UTC))
    case = await services.cases.get(zhang)
    assert case is not None and wang
    notice = await number_document(services, case, "notice")
    assert notice is not None
    async with services.db.transaction():
        await services.db.execute(
            "UPDATE notices SET status = 'delivered', delivered_on = ?, deadline = ? WHERE id = ?",
            ("2024-03-07", "2024-03-14", notice.id),
        )
    clock.set(datetime(2024, 3, 10, 2, 0, tzinfo=UTC))
    await services.cases.close(sun, status="returned", now=clock.now(), actor="cli:test")
    clock.set(datetime(2024, 3, 12, 2, 0, tzinfo=UTC))


def cells(sheet: Any) -> list[str]:
    return [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]


async def test_every_case_is_on_the_ledger_in_the_counties_columns(
    world: tuple[Services, FakeClock, District],
) -> None:
    services, clock, district = world
    await seed_cases(services, clock, district)
    assert await freeze_due_months(services) == ["2024-02"]
    leader = await services.people.by_phone("13900000002")
    assert leader is not None
    ledger = await export_for_person(services, leader, gettext=ZH)
    assert ledger is not None and ledger.filename == "控辍保学台账_沙坡头区_20240312.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(ledger.data))
    assert book.sheetnames == ["控辍保学台账", "劝返处置记录", "责任追究（第八条）", "说明"]
    sheet = book["控辍保学台账"]
    assert [c.value for c in sheet[1]] == HEADERS
    assert sheet.freeze_panes == "A2"
    assert sheet.page_setup.orientation == "landscape"
    assert int(sheet.page_setup.paperSize) == 9  # A4
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$1:$1"
    column = {name: index for index, name in enumerate(HEADERS)}
    rows = [
        dict(zip(HEADERS, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)
    ]
    # written row by row (a write-only workbook): the filter, widths and header still there
    assert sheet.auto_filter.ref == f"A1:AG{len(rows) + 1}"
    assert sheet.column_dimensions["Y"].width == 46 and sheet.oddFooter.center.text
    assert sheet["A1"].font.bold and sheet["T2"].alignment.wrap_text
    # every case from its report, one row per child per case: 李四 twice (back on day 2)
    assert sorted(r["学生姓名"] for r in rows) == ["孙八", "张三", "李四", "李四", "王五"]
    assert len({r["案件编号"] for r in rows}) == 5
    zhang = next(r for r in rows if r["学生姓名"] == "张三")
    assert zhang["案件编号"] == "KC-2024-0001" and zhang["性别"] == "女"
    assert zhang["乡镇"] == "滨河镇" and zhang["学校"] == "滨河小学"
    assert zhang["年级班级"] == "三年级1班" and zhang["家庭住址"] == "滨河镇新墩村一组"
    assert zhang["出生日期"].date() == date(2015, 1, 1)
    assert zhang["学籍号（身份证号）"].startswith("G640501")
    assert (zhang["监护人姓名"], zhang["与学生关系"]) == ("张父", "父亲")
    assert zhang["监护人联系电话"] == "13700000000"
    assert zhang["班主任"] == "李老师\n13900000022"
    assert (zhang["包村干部"], zhang["包组干部"], zhang["包户干部"]) == (
        "包村干部",
        "包组干部",
        "包户干部",
    )
    assert zhang["缺课原因"] == ZH("weariness of school or learning difficulty")
    assert zhang["类别"] == "辍学" and zhang["状态"] == "办理中：限期入学通知书"
    assert zhang["缺课起始日"].date() == date(2024, 2, 20)
    assert zhang["辍学标注日"].date() == date(2024, 2, 27)
    history = zhang["劝返及处置情况（日期、事项、责任人、结果）"]
    assert "2024年2月20日 11:00 电话联系监护人（李老师）：家长称孩子不愿上学" in history
    assert "见到监护人" in history and "拒绝" in history
    assert ZH("parents unwilling") in history
    assert zhang["限期入学通知书文号"] == "沙教控辍〔2024〕1号"
    assert zhang["通知书送达日期"].date() == date(2024, 3, 7)
    assert zhang["复学期限"].date() == date(2024, 3, 14)
    assert zhang["复学日期"] is None
    assert "第八条" in zhang["责任追究（第八条）"] and "2024年2月" in zhang["责任追究（第八条）"]
    date_cell = sheet.cell(row=2, column=column["缺课起始日"] + 1)
    assert date_cell.number_format == 'yyyy"年"m"月"d"日"'  # shown as 2024年2月20日
    sun = next(r for r in rows if r["学生姓名"] == "孙八")
    assert sun["状态"] == "已结案：已复学" and sun["复学日期"].date() == date(2024, 3, 10)
    assert sun["去向"] == "在校" and sun["类别"] == "辍学"  # back after day 7
    assert "复学后未再缺课" in sun["复学后跟踪"]
    first, again = sorted((r for r in rows if r["学生姓名"] == "李四"), key=lambda r: r["案件编号"])
    assert first["类别"] == "疑似辍学" and first["复学日期"].date() == date(2024, 3, 3)
    assert first["复学后跟踪"] == f"2024年3月8日起再次缺课（{again['案件编号']}）"
    wang = next(r for r in rows if r["学生姓名"] == "王五")
    assert "留守儿童" in wang["弱势群体类别（第九条）"] and wang["类别"] == "疑似辍学"
    for value in cells(sheet) + cells(book["劝返处置记录"]) + cells(book["责任追究（第八条）"])[7:]:
        assert not CODE.search(value), value  # codes translated, rules as 第七条
    actions = list(book["劝返处置记录"].iter_rows(min_row=2, values_only=True))
    call = next(a for a in actions if a[0] == "KC-2024-0001" and a[6] == "李老师")
    assert call[5] == "第七条" and call[7] == "班主任" and "不愿上学" in str(call[9])
    visit = next(a for a in actions if a[6] == "包户干部")
    assert visit[5] == "第五条" and "见到监护人" in str(visit[9])
    flags = list(book["责任追究（第八条）"].iter_rows(min_row=2, values_only=True))
    assert {(r[0], r[1], r[3]) for r in flags} == {
        ("2024年2月", "第八条", "沙坡头区"),
        ("本月（尚未固化）", "第八条", "沙坡头区"),
    }
    entry = (await services.audit.entries(action="export"))[-1]
    assert entry["actor"] == f"person:{leader.id}"
    assert entry["detail"]["scope"] == "沙坡头区" and entry["detail"]["cases"] == 5
    # the counts of the summary (A7.3's dropouts not returned: 孙八 is back at school)
    detail = entry["detail"]
    assert (detail["open"], detail["dropouts"], detail["suspected"]) == (3, 1, 2)
    assert detail["returned"] == 2 and ledger.counts.notice == 1


async def test_the_ledger_is_in_the_readers_language_and_scoped(
    world: tuple[Services, FakeClock, District],
) -> None:
    services, clock, district = world
    await seed_cases(services, clock, district)
    principal = await services.people.by_phone("13900000030")  # 文昌中学
    assert principal is not None
    ledger = await export_for_person(services, principal, gettext=EN)
    assert ledger is not None
    # English words, the school's name as it is: no Chinese that is not a name
    assert ledger.filename == "Dropout-control-ledger_文昌中学_20240312.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(ledger.data))
    sheet = book["Dropout-control ledger"]
    assert book.sheetnames[0] == "Dropout-control ledger"
    assert sheet["B1"].value == "Case number" and sheet["C1"].value == "Township"
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [r[5] for r in rows] == ["孙八"]
    assert rows[0][4] == "七年级1班"  # as the school writes it
    assert rows[0][22] == "closed: back at school" and rows[0][30] == "at school"
    assert sheet.cell(row=2, column=20).number_format == "yyyy-mm-dd"
    teacher = await services.people.by_phone("13900000022")
    assert teacher is not None
    assert await export_for_person(services, teacher, gettext=ZH) is None


async def test_kcbx_export_writes_the_file_and_audits_it(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")
    clock = FakeClock(T0)
    services = await Services.open(Config(db_path=db), clock)
    try:
        district = await small_district(services, T0)
        await seed_cases(services, clock, district)
        ledger = await export_for_unit(services, "滨河镇", actor="cli:test", gettext=ZH)
        assert (ledger.cases, ledger.dropouts, ledger.suspected) == (4, 1, 2)
    finally:
        await services.close()
    target = tmp_path / "台账.xlsx"
    # the CLI runs its own event loop: give it a thread
    assert (
        await asyncio.to_thread(
            main, ["--db", db, "export", str(target), "--scope", "滨河小学", "--password", "pw"]
        )
        == 0
    )
    with pytest.raises(zipfile.BadZipFile):  # encrypted: it opens only with the password
        openpyxl.load_workbook(target)
    book = openpyxl.load_workbook(io.BytesIO(decrypt(target.read_bytes(), "pw")))
    # the CLI runs on the real clock: school years after March 2024, the open cases are
    # dropouts and the cases closed in 2024 belong to an earlier year's ledger
    rows = list(book["控辍保学台账"].iter_rows(min_row=2, values_only=True))
    assert [(r[5], r[21]) for r in rows] == [("张三", "辍学"), ("李四", "辍学"), ("王五", "辍学")]
    assert (
        await asyncio.to_thread(
            main, ["--db", db, "export", str(target), "--scope", "没有这个学校"]
        )
        == 1
    )
    services = await Services.open(Config(db_path=db), clock)
    try:
        entries = await services.audit.entries(action="export")
    finally:
        await services.close()
    assert [e["detail"]["scope"] for e in entries] == ["滨河镇", "滨河镇/滨河小学"]
    assert entries[-1]["actor"].startswith("cli:") and entries[-1]["detail"]["via"] == "cli"
