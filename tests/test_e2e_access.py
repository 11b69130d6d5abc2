"""End to end (issue 2): strangers are refused, invitations bind once, /help and /lang."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.domain.roles import Role
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.people_cache import SHARED_SECONDS, PersonCache
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.access import create_invitation
from kcbx.storage.db import Database
from kcbx.storage.people import PeopleRepo, people_changed
from kcbx.storage.records.audit import AuditRepo
from kcbx.testing.fakebot import FakeUser
from kcbx.testing.harness import BotHarness
from kcbx.testing.seed import T0, small_district


async def test_only_invited_people_get_in(harness: BotHarness) -> None:
    await small_district(harness.s, T0)
    stranger = harness.fake.user(500, first_name="路人", language_code="zh-hans")
    await stranger.send("/start")
    refusal = await stranger.next_message()
    assert "邀请" in refusal.plain
    await stranger.send("/help")
    assert "仅供受邀" in (await stranger.next_message()).plain
    await stranger.send("/start forged_code_123")
    assert "无效" in (await stranger.next_message()).plain

    invitation = await create_invitation(
        harness.s,
        role=Role.CLASS_TEACHER,
        unit_text="",
        name=None,
        phone="13900000022",
        actor="cli:test",
    )
    assert invitation.link == f"https://t.me/kcbx_bot?start={invitation.code}"
    teacher = harness.fake.user(501, first_name="李", language_code="zh-hans")
    await teacher.send(f"/start {invitation.code}")
    welcome = await teacher.next_message()
    assert "李老师" in welcome.plain and "班主任" in welcome.plain and "滨河小学" in welcome.plain
    # the per-chat menu shows the teacher's commands, in Chinese
    menu = harness.fake.commands(scope={"type": "chat", "chat_id": 501})
    assert {c["command"] for c in menu} >= {"help", "lang"}
    assert "invite" not in {c["command"] for c in menu}

    # the same code again, from another account: refused, revealing nothing
    await stranger.send(f"/start {invitation.code}")
    assert "无效" in (await stranger.next_message()).plain

    await teacher.send("/help")
    help_text = (await teacher.next_message()).plain
    assert "班主任" in help_text and "/lang" in help_text and "/invite" not in help_text

    await teacher.send("/lang en")
    assert "English" in (await teacher.next_message()).plain
    await teacher.send("/help")
    english = (await teacher.next_message()).plain
    assert "class teacher" in english and "Switch language" in english

    # an unknown command and stray text get a helpful answer, not silence
    await teacher.send("/frobnicate")
    assert "/help" in (await teacher.next_message()).plain
    await teacher.send("hello?")
    assert "/help" in (await teacher.next_message()).plain


async def test_revoked_person_is_locked_out_at_once(harness: BotHarness) -> None:
    await small_district(harness.s, T0)
    admin = await harness.join(601, role=Role.ADMIN, phone="13900000001")
    teacher = await harness.join(602, role=Role.CLASS_TEACHER, phone="13900000023")
    await admin.send("/revoke 13900000023")
    assert "已停用" in (await admin.next_message()).plain
    await teacher.send("/help")
    assert "仅供受邀" in (await teacher.next_message()).plain
    entries = await harness.s.audit.entries(action="revoke")
    assert entries and entries[-1]["actor"].startswith("person:")


async def test_admin_invites_in_chat_and_others_cannot(harness: BotHarness) -> None:
    await small_district(harness.s, T0)
    admin = await harness.join(701, role=Role.ADMIN, phone="13900000001")
    await admin.send("/invite village_cadre 新墩村/二组 陈干部")
    reply = await admin.next_message()
    assert "https://t.me/kcbx_bot?start=" in reply.plain
    code = reply.plain.rsplit("start=", 1)[1].split()[0]
    cadre = harness.fake.user(702, first_name="陈")
    await cadre.send(f"/start {code}")
    assert "陈干部" in (await cadre.next_message()).plain
    await cadre.send("/invite admin 沙坡头区 坏人")
    assert "无权" in (await cadre.next_message()).plain
    await admin.send("/invite principal 不存在的学校")
    assert "没有名为" in (await admin.next_message()).plain


THURSDAY = datetime(2024, 3, 7, 1, 0, tzinfo=UTC)  # a school day
TEACHER = "13900000022"  # 李老师, class 3-1: 张三, 李四, 王五, <小明>


async def _reporting(harness: BotHarness, user_id: int) -> FakeUser:
    """A class teacher in the middle of /report, past a press that needed who they are."""
    teacher = await harness.join(user_id, role=Role.CLASS_TEACHER, phone=TEACHER)
    await teacher.send("/report")
    await teacher.wait_for(lambda m: "哪位学生" in m.plain)
    await teacher.press("张三")
    await teacher.wait_for(lambda m: "从哪天开始" in m.plain)
    return teacher


async def _refused(teacher: FakeUser, data: str) -> bool:
    """Whether the press of ``data`` was answered with the refusal for strangers."""
    answer = await teacher.next_callback_answer()
    while answer.data != data:
        answer = await teacher.next_callback_answer()
    return answer.show_alert and "仅供受邀" in (answer.text or "")


async def test_a_revoked_person_is_locked_out_at_once_despite_the_cache(
    harness: BotHarness,
) -> None:
    """The press before the revocation works (the person is now cached), the one after
    it is refused, with the draft's buttons still on screen."""
    await small_district(harness.s, T0)
    harness.clock.set(THURSDAY)
    admin = await harness.join(611, role=Role.ADMIN, phone="13900000001")
    teacher = await _reporting(harness, 612)
    assert await harness.s.persons.by_telegram(612) is not None
    await admin.send(f"/revoke {TEACHER}")
    assert "已停用" in (await admin.next_message()).plain
    await teacher.press("今天")
    assert await _refused(teacher, "rep:d:0")
    assert await harness.s.db.fetchval("SELECT COUNT(*) FROM cases") == 0


async def test_a_revocation_by_another_process_is_seen_within_the_bound(
    harness: BotHarness,
) -> None:
    """Another instance (or the CLI) revokes: the bot's cache reads the shared counter again
    at most SHARED_SECONDS later; with 0 it reads it at every update."""
    await small_district(harness.s, T0)
    harness.clock.set(THURSDAY)
    ticks = [0.0]
    harness.s.persons = PersonCache(harness.s.people, harness.s.db, monotonic=lambda: ticks[0])
    teacher = await _reporting(harness, 613)
    person = await harness.s.people.by_phone(TEACHER)
    assert person is not None
    other = await Database.open(harness.db_path)  # another process's connection
    try:
        await PeopleRepo(other, AuditRepo(other)).revoke(person.id, actor="cli:test", now=THURSDAY)
    finally:
        await other.close()
    ticks[0] += SHARED_SECONDS
    await teacher.press("今天")
    assert await _refused(teacher, "rep:d:0")


async def test_a_strict_cache_reads_the_counter_at_every_update(tmp_path: Path) -> None:
    services = await Services.open(Config(db_path=str(tmp_path / "k.db")), FakeClock(T0))
    other = await Database.open(tmp_path / "k.db")
    try:
        await small_district(services, T0)
        person = await services.people.by_phone(TEACHER)
        assert person is not None
        await services.people.bind_telegram(
            person.id, telegram_id=614, chat_id=614, lang="zh_CN", name="李", now=T0
        )
        strict = PersonCache(services.people, services.db, shared_seconds=0)
        assert (await strict.by_telegram(614)).active  # type: ignore[union-attr]
        # a new role from another process's roster import moves the same counter
        async with other.transaction():
            await other.execute("UPDATE people SET role = 'principal' WHERE id = ?", (person.id,))
            await people_changed(other)
        found = await strict.by_telegram(614)
        assert found is not None and found.role == Role.PRINCIPAL
    finally:
        await other.close()
        await services.close()
