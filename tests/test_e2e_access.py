"""End to end (issue 2): strangers are refused, invitations bind once, /help and /lang."""

from __future__ import annotations

from kcbx.bot.domain.roles import Role
from kcbx.bot.services.access import create_invitation
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
