"""The ledger (台账) workbook (issue 5): sheets, Chinese headers, one case's row, print setup,
the CLI, and the audit entry of every export. Real SQLite file, controlled clock."""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest

from kcbx.bot.cli.main import main
from kcbx.bot.documents.ledger import export_for_person, export_for_unit
from kcbx.bot.documents.protect import decrypt
from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.domain.i18n import translator
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.accountability import freeze_due_months
from kcbx.testing.seed import T0, District, small_district

ZH = translator("zh_CN")
EN = translator("en")
HEADERS = [
    "序号",
    "案件编号",
    "学生姓名",
    "性别",
    "学籍号",
    "学校",
    "年级班级",
    "家庭所在地（组）",
    "困难群体（A9）",
    "缺课原因",
    "当前阶段",
    "状态",
    "缺课起始日",
    "报告日期",
    "辍学标注日",
    "结案日期",
    "天数",
    "劝返及处置记录（时间、事项、记录人）",
    "责任追究（A8）",
]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[Services, FakeClock, District]]:
    clock = FakeClock(T0)
    services = await Services.open(Config(db_path=str(tmp_path / "kcbx.db")), clock)
    district = await small_district(services, T0)
    yield services, clock, district
    await services.close()


async def seed_cases(services: Services, clock: FakeClock, district: District) -> None:
    """张三: absent since 20 Feb, phoned by 李老师, a dropout since 27 Feb; 王五 (A9): absent
    since 10 March; 孙八: returned on 10 March after 12 days. The clock ends on 12 March."""
    teacher = district.people["13900000022"]
    zhang = await services.cases.open_case(
        student_id=district.students["张三"],
        reported_by=teacher,
        absent_since=date(2024, 2, 20),
        cause="weariness",
        guardian_contact=None,
        note=None,
        now=datetime(2024, 2, 20, 2, 0, tzinfo=UTC),
        year=2024,
        actor=f"person:{teacher}",
    )
    await services.cases.record_action(
        zhang.id,
        kind="phone_call",
        actor_id=teacher,
        at=datetime(2024, 2, 20, 3, 0, tzinfo=UTC),
        now=datetime(2024, 2, 20, 3, 5, tzinfo=UTC),
        rule="A7.1",
        detail={"note": "家长称孩子不愿上学"},
    )
    await services.cases.open_case(
        student_id=district.students["王五"],
        reported_by=teacher,
        absent_since=date(2024, 3, 10),
        cause="unknown",
        guardian_contact=None,
        note=None,
        now=datetime(2024, 3, 11, 2, 0, tzinfo=UTC),
        year=2024,
        actor=f"person:{teacher}",
    )
    sun = await services.cases.open_case(
        student_id=district.students["孙八"],
        reported_by=None,
        absent_since=date(2024, 2, 27),
        cause="poverty",
        guardian_contact=None,
        note=None,
        now=datetime(2024, 2, 27, 2, 0, tzinfo=UTC),
        year=2024,
        actor="cli:test",
    )
    clock.set(datetime(2024, 3, 10, 2, 0, tzinfo=UTC))
    await services.cases.close(sun.id, status="returned", now=clock.now(), actor="cli:test")
    clock.set(datetime(2024, 3, 12, 2, 0, tzinfo=UTC))


async def test_the_workbook_has_its_sheets_headers_and_one_cases_row(
    world: tuple[Services, FakeClock, District],
) -> None:
    services, clock, district = world
    await seed_cases(services, clock, district)
    assert await freeze_due_months(services) == ["2024-02"]
    leader = await services.people.by_phone("13900000002")
    assert leader is not None
    ledger = await export_for_person(services, leader, gettext=ZH)
    assert ledger is not None and ledger.filename.endswith("-沙坡头区-20240312.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(ledger.data))
    assert book.sheetnames == [
        "辍学学生台账",
        "疑似辍学学生台账",
        "劝返处置记录",
        "责任追究（A8）",
        "说明",
    ]
    sheet = book["辍学学生台账"]
    assert [c.value for c in sheet[1]] == HEADERS
    assert sheet.freeze_panes == "A2"
    assert sheet.page_setup.orientation == "landscape"
    assert int(sheet.page_setup.paperSize) == 9  # A4
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$1:$1"
    assert sheet.column_dimensions["R"].width >= 40  # the actions column is wide
    rows = {row[2]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"张三", "孙八"}  # 孙八 returned after day 7: still on this year's ledger
    zhang = rows["张三"]
    assert zhang[1] == "KC-2024-0001" and zhang[3] == "女" and zhang[5] == "滨河小学"
    assert zhang[6] == "3年级1班" and zhang[7] == "滨河镇/新墩村/一组"
    assert zhang[9] == ZH("weariness of school or learning difficulty")
    assert zhang[10] == "限期入学通知书" and zhang[11] == "办理中"
    assert zhang[12].date() == date(2024, 2, 20) and zhang[14].date() == date(2024, 2, 27)
    assert zhang[15] is None and zhang[16] == 21  # day 21 on 12 March
    assert "李老师" in str(zhang[17]) and "2024-02-20 11:00" in str(zhang[17])
    # a phone call counts as persuasion (no A8.2); 1 dropout of 8 pupils is over 1% (A8.1)
    assert zhang[18] == "A8.1 (2024-02), A8.1"
    assert sheet.cell(row=2, column=13).number_format == "yyyy-mm-dd"
    sun = rows["孙八"]
    assert sun[11] == "已结案：已复学" and sun[15].date() == date(2024, 3, 10)
    suspected = book["疑似辍学学生台账"]
    assert [r[2] for r in suspected.iter_rows(min_row=2, values_only=True)] == ["王五"]
    wang = next(suspected.iter_rows(min_row=2, values_only=True))
    assert "留守儿童" in str(wang[8])
    actions = book["劝返处置记录"]
    action_rows = list(actions.iter_rows(min_row=2, values_only=True))
    assert action_rows[0][0] == "KC-2024-0001" and action_rows[0][6] == "李老师"
    assert action_rows[0][7] == "班主任" and "不愿上学" in str(action_rows[0][9])
    flags = [r for r in book["责任追究（A8）"].iter_rows(min_row=2, values_only=True)]
    assert {(r[0], r[1], r[2]) for r in flags} == {
        ("2024-02", "A8.1", "沙坡头区"),
        ("本月（尚未固化）", "A8.1", "沙坡头区"),
    }
    entry = (await services.audit.entries(action="export"))[-1]
    assert entry["actor"] == f"person:{leader.id}"
    assert entry["detail"]["scope"] == "沙坡头区" and entry["detail"]["dropouts"] == 2


async def test_the_ledger_is_in_the_readers_language_and_scoped(
    world: tuple[Services, FakeClock, District],
) -> None:
    services, clock, district = world
    await seed_cases(services, clock, district)
    principal = await services.people.by_phone("13900000030")  # 文昌中学
    assert principal is not None
    ledger = await export_for_person(services, principal, gettext=EN)
    assert ledger is not None
    book = openpyxl.load_workbook(io.BytesIO(ledger.data))
    assert book.sheetnames[0] == "Dropout ledger"
    assert book["Dropout ledger"]["B1"].value == "Case number"
    names = [r[2] for r in book["Dropout ledger"].iter_rows(min_row=2, values_only=True)]
    assert names == ["孙八"]
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
        assert ledger.dropouts == 1 and ledger.suspected == 1
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
    # the CLI runs on the real clock: long after March 2024, both open cases are dropouts
    names = [r[2] for r in book["辍学学生台账"].iter_rows(min_row=2, values_only=True)]
    assert names == ["张三", "王五"]
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
