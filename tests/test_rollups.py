"""The summaries' per-school rollups (migration 0026) equal a recount from the students and
cases after a random mix of what moves them, each through the real services: reports,
returns (A7.6), transfers and exemptions (A3, the student's exempt flag), and roster imports
that add students and move them between schools. Then `kcbx doctor` finds a broken count,
prints it on one line and repairs it, audited."""

from __future__ import annotations

import asyncio
import io
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from kcbx.bot.cli.main import main as cli
from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.domain.model import Person
from kcbx.bot.roster.importer import import_roster
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.cases import confirm_return
from kcbx.bot.services.closures import EXEMPT, TRANSFERRED, ClosureDraft, close_case, decide_review
from kcbx.bot.services.reporting import ReportDraft, report_absence
from kcbx.storage import rollups
from kcbx.storage.db import Database
from kcbx.storage.visits import EvidenceFile

T0 = datetime(2024, 3, 4, 1, 0, tzinfo=UTC)  # Monday 4 March 2024, 09:00 in Shanghai
SCHOOLS = {"滨河小学": "滨河镇", "滨河中学": "滨河镇", "文昌小学": "文昌镇"}
PRINCIPALS = {"滨河小学": "13900000101", "滨河中学": "13900000102", "文昌小学": "13900000103"}
BUREAU = "13900000100"
GROUPS = ["滨河镇/新墩村/一组", "滨河镇/新墩村/二组", "文昌镇/黄湾村/一组"]


def roster(students: dict[str, tuple[str, int, str]]) -> bytes:
    """The district's roster: units, the principals and the bureau, and ``students``
    (registry number -> school, grade, household group)."""
    book = openpyxl.Workbook()
    units = book.active
    assert units is not None
    units.title = "单位"
    units.append(["类型", "名称", "上级", "学段"])
    units.append(["区", "沙坡头区"])
    for township in ("滨河镇", "文昌镇"):
        units.append(["乡镇", township, "沙坡头区"])
    units.append(["村", "新墩村", "滨河镇"])
    units.append(["村", "黄湾村", "文昌镇"])
    for group in GROUPS:
        township, village, name = group.split("/")
        units.append(["组", name, f"{township}/{village}"])
    for school, township in SCHOOLS.items():
        units.append(["学校", school, township, "初中" if "中学" in school else "小学"])
    staff = book.create_sheet("教职工")
    staff.append(["姓名", "手机号", "角色", "单位"])
    staff.append(["教育局干部", BUREAU, "教育局", "沙坡头区"])
    for school, phone in PRINCIPALS.items():
        staff.append([f"{school}校长", phone, "校长", school])
    pupils = book.create_sheet("学生")
    pupils.append(["学籍号", "姓名", "性别", "学校", "年级", "班级", "乡镇", "村", "组"])
    for number, (school, grade, group) in sorted(students.items()):
        township, village, name = group.split("/")
        pupils.append([number, f"学生{number[-3:]}", "男", school, grade, "1班", township,
                       village, name])  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def pupil(rng: random.Random) -> tuple[str, int, str]:
    school = rng.choice(list(SCHOOLS))
    return school, (7 if "中学" in school else 3), rng.choice(GROUPS)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[Services, FakeClock]]:
    clock = FakeClock(T0)
    services = await Services.open(Config(db_path=str(tmp_path / "kcbx.db")), clock)
    yield services, clock
    await services.close()


async def imported(services: Services, students: dict[str, tuple[str, int, str]]) -> None:
    report = await import_roster(
        services.db, roster(students), "花名册.xlsx", actor="cli:test", clock=services.clock
    )
    assert report.errors == [] and report.written


async def person(services: Services, phone: str) -> Person:
    found = await services.people.by_phone(phone)
    assert found is not None
    return found


async def agree(db: Database) -> dict[int, rollups.Counts]:
    stored, counted = await rollups.recount_all(db)
    assert rollups.differences(stored, counted) == []
    return stored


async def school_of(services: Services, student_id: int) -> str:
    student = await services.students.get(student_id)
    assert student is not None
    unit = await services.units.get(student.school_id)
    assert unit is not None
    return unit.name


async def test_rollups_equal_a_recount_after_a_random_mix(
    world: tuple[Services, FakeClock],
) -> None:
    services, clock = world
    rng = random.Random(15)
    students = {f"G6405022015{n:08d}": pupil(rng) for n in range(30)}
    await imported(services, students)
    await agree(services.db)
    bureau = await person(services, BUREAU)
    photo = EvidenceFile("photo", b"\xff\xd8letter", "letter.jpg", "image/jpeg")
    done: dict[str, int] = {}
    for _step in range(60):
        clock.advance(timedelta(hours=rng.choice([1, 3, 20])))
        ids = [
            r[0]
            for r in await services.db.fetchall(
                "SELECT id FROM students WHERE exempt = 0 ORDER BY id"
            )
        ]
        open_ = [
            r[0] for r in await services.db.fetchall("SELECT id FROM cases WHERE status = 'open'")
        ]
        move = rng.choice(["report"] * 3 + ["return", "transfer", "exempt", "import"])
        if move == "report":
            student = rng.choice(ids)
            principal = await person(services, PRINCIPALS[await school_of(services, student)])
            draft = ReportDraft(student, clock.now().date(), cause="weariness", contact="agreed")
            await report_absence(services, principal, draft)
        elif move == "import":  # new pupils, and some move to another school
            for number in rng.sample(sorted(students), 4):
                students[number] = pupil(rng)
            students[f"G6405022016{len(students):08d}"] = pupil(rng)
            await imported(services, students)
        elif open_:
            case = await services.cases.get(rng.choice(open_))
            assert case is not None
            principal = await person(
                services, PRINCIPALS[await school_of(services, case.student_id)]
            )
            if move == "return":
                await confirm_return(services, principal, case.id, confirmed=True)
            else:
                how = TRANSFERRED if move == "transfer" else EXEMPT
                draft = ClosureDraft(case.id, how, new_school="外县实验小学", evidence=[photo],
                                     condition="illness")  # fmt: skip
                outcome = await close_case(services, principal, draft)
                if outcome.review is not None:
                    await decide_review(services, bureau, outcome.review.id, confirm=True)
        else:
            continue
        done[move] = done.get(move, 0) + 1
        await agree(services.db)
    assert set(done) == {"report", "return", "transfer", "exempt", "import"}
    stored = await agree(services.db)
    assert sum(c["students"] for c in stored.values()) == len(students)
    assert sum(c["exempt"] for c in stored.values()) > 0
    assert sum(c["transferred"] for c in stored.values()) == done["transfer"]


async def _broken(path: Path) -> None:
    """A district whose rollups an outside write has broken (a row gone, a count off)."""
    services = await Services.open(Config(db_path=str(path)), FakeClock(T0))
    try:
        rng = random.Random(7)
        await imported(services, {f"G6405022015{n:08d}": pupil(rng) for n in range(12)})
        await services.db.execute(
            "UPDATE school_rollups SET students = students + 2 WHERE school_id ="
            " (SELECT id FROM units WHERE name = '滨河小学')"
        )
        await services.db.execute(
            "DELETE FROM school_rollups WHERE school_id = (SELECT id FROM units WHERE name = ?)",
            ("文昌小学",),
        )
    finally:
        await services.close()


async def _repairs(path: Path) -> list[str]:
    services = await Services.open(Config(db_path=str(path)), FakeClock(T0))
    try:
        await agree(services.db)
        rows = await services.db.fetchall(
            "SELECT actor, detail FROM audit_log WHERE action = 'repair_rollups'"
        )
        return [f"{r[0]} {r[1]}" for r in rows]
    finally:
        await services.close()


def test_doctor_prints_each_difference_and_repairs_it_audited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KCBX_DB", raising=False)
    path = tmp_path / "kcbx.db"
    asyncio.run(_broken(path))
    assert cli(["--db", str(path), "doctor"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any(ln.endswith("滨河小学: students rollup " + ln.split("rollup ")[1]) for ln in lines)
    assert next(ln for ln in lines if "滨河小学" in ln).startswith("school ")
    assert any("文昌小学: students rollup 0, recount" in ln for ln in lines)
    assert lines[-1].endswith("kcbx doctor --repair")
    assert cli(["--db", str(path), "doctor", "--repair"]) == 0
    assert "audited as repair_rollups" in capsys.readouterr().out
    assert cli(["--db", str(path), "doctor"]) == 0
    assert capsys.readouterr().out.startswith("rollups agree with a recount: 3 schools")
    [audited] = asyncio.run(_repairs(path))
    assert audited.startswith("cli:") and '"count":' in audited
