"""End to end (issue 2): a roster is imported, on the command line and by an administrator in
chat; the people on it are invited and find their way in."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from openpyxl import load_workbook

from kcbx.bot.cli.main import main as cli
from kcbx.bot.domain.roles import Role
from kcbx.demo.roster import build_roster
from kcbx.testing.harness import BotHarness
from kcbx.testing.seed import T0


def _roster_file(tmp_path: Path, students: int = 60) -> tuple[Path, dict[str, str]]:
    roster = build_roster(students=students)
    path = tmp_path / "花名册.xlsx"
    path.write_bytes(roster.to_xlsx())
    teacher = next(s for s in roster.staff if s["角色"] == "班主任")
    return path, teacher


async def test_imported_teacher_is_invited_and_finds_their_way(tmp_path: Path) -> None:
    db = tmp_path / "kcbx.db"
    path, teacher = _roster_file(tmp_path)
    assert await asyncio.to_thread(cli, ["--db", str(db), "import", str(path)]) == 0
    assert await asyncio.to_thread(cli, ["--db", str(db), "import", str(path)]) == 0  # idempotent
    async with BotHarness(db, T0) as h:
        students = await h.s.db.fetchval("SELECT COUNT(*) FROM students")
        assert students > 40
        audit = await h.s.audit.entries(action="import")
        assert len(audit) == 2 and audit[0]["actor"].startswith("cli:")

        stranger = h.fake.user(900, first_name="路人")
        await stranger.send("/start")
        assert "邀请" in (await stranger.next_message()).plain

        from kcbx.bot.services.access import create_invitation

        invitation = await create_invitation(
            h.s,
            role=Role.CLASS_TEACHER,
            unit_text="",
            name=None,
            phone=teacher["手机"],
            actor="cli:test",
        )
        user = h.fake.user(901, first_name="老师", language_code="zh-hans")
        await user.send(f"/start {invitation.code}")
        welcome = await user.next_message()
        assert teacher["姓名"] in welcome.plain and "班主任" in welcome.plain
        await stranger.send(f"/start {invitation.code}")
        assert "无效" in (await stranger.next_message()).plain
        await user.send("/help")
        help_text = (await user.next_message()).plain
        assert "/report" in help_text and "/cases" in help_text and "/invite" not in help_text
        assert "报告" in help_text
        await user.send("/lang en")
        await user.next_message()
        await user.send("/help")
        assert "class teacher" in (await user.next_message()).plain


async def test_admin_imports_in_chat_and_bad_rows_write_nothing(tmp_path: Path) -> None:
    db = tmp_path / "kcbx.db"
    path, _teacher = _roster_file(tmp_path)
    assert await asyncio.to_thread(cli, ["--db", str(db), "import", str(path)]) == 0
    async with BotHarness(db, T0) as h:
        admin_phone = next(p for p in (await h.s.people.list_all()) if p.role == Role.ADMIN).phone
        assert admin_phone
        admin = await h.join(950, role=Role.ADMIN, phone=admin_phone)
        before = await h.s.db.fetchval("SELECT COUNT(*) FROM students")

        # a workbook with two bad student rows: nothing is written, every error is listed
        wb = load_workbook(path)
        ws = wb["学生"]
        header = [c.value for c in ws[2]]
        good = [c.value for c in ws[3]]
        bad_date = list(good)
        bad_date[header.index("学籍号")] = "G640502201201019999"
        bad_date[header.index("出生日期")] = "2012年13月40日"
        bad_school = list(good)
        bad_school[header.index("学籍号")] = "G640502201201019998"
        bad_school[header.index("学校")] = "不存在的学校"
        new_one = list(good)
        new_one[header.index("学籍号")] = "G640502201201019997"
        new_one[header.index("姓名")] = "新同学"
        for row in (bad_date, bad_school, new_one):
            ws.append(row)
        out = io.BytesIO()
        wb.save(out)
        await admin.send_document(out.getvalue(), "学生更新.xlsx")
        refusal = await admin.wait_for(lambda m: "未导入" in m.plain)
        assert "2处问题" in refusal.plain
        assert "学生" in refusal.plain and "出生日期" in refusal.plain and "学校" in refusal.plain
        assert await h.s.db.fetchval("SELECT COUNT(*) FROM students") == before

        await admin.press("只导入无误的行")
        done = await admin.wait_for(lambda m: "已导入" in m.plain)
        assert "跳过了2行" in done.plain
        assert await h.s.db.fetchval("SELECT COUNT(*) FROM students") == before + 1

        # an oversized file is refused before it is downloaded
        await admin.send_document(b"x", "big.xlsx", file_size=30 * 1024 * 1024)
        assert "过大" in (await admin.next_message()).plain

        # a non-administrator's spreadsheet imports nothing
        teacher = next(p for p in await h.s.people.list_all() if p.role == Role.CLASS_TEACHER)
        assert teacher.phone
        user = await h.join(951, role=Role.CLASS_TEACHER, phone=teacher.phone)
        await user.send_document(out.getvalue(), "学生更新.xlsx")
        assert "无权" in (await user.next_message()).plain
