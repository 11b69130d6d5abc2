"""End to end: buttons only for what can still be done (docs/texts.md, "On a phone").

A press on a button whose task someone else did gets a short answer (who, when) and its
message loses the dead buttons; a numbered item acknowledged is named with the time of the
tap; a referral's [接收] goes once accepted, and acting on the referral accepts it (A6).
"""

from __future__ import annotations

from datetime import date, timedelta

from kcbx.bot.domain.caseactions import do_data, reminder_buttons
from kcbx.bot.domain.i18n import translator
from kcbx.bot.domain.model import Case
from kcbx.bot.services.reporting import ReportDraft, report_absence
from kcbx.bot.texts.referrals import accept_data
from kcbx.storage.outbox import OutgoingMessage
from kcbx.testing.fakebot import CallbackAnswer, FakeUser, SentMessage
from kcbx.testing.harness import BotHarness
from kcbx.testing.seed import T0, District, small_district

TEACHER = "13900000022"  # 李老师, class 3-1: 张三, 李四
LEAD = "13900000021"  # 控辍专干 of 滨河小学
JUSTICE = "13900000042"  # 司法联络员
ZH = translator("zh_CN")


async def _person(harness: BotHarness, user_id: int, phone: str) -> FakeUser:
    await harness.bind_quietly(user_id, phone=phone)
    return harness.fake.user(user_id)


async def _open(harness: BotHarness, d: District, name: str, cause: str = "unknown") -> Case:
    person = await harness.s.people.by_phone(TEACHER)
    assert person is not None
    draft = ReportDraft(d.students[name], date(2024, 3, 4), cause, "notyet", None)
    result = await report_absence(harness.s, person, draft)
    return result.case


async def _send(
    harness: BotHarness, user: FakeUser, phone: str, text: str, buttons: object, key: str
) -> SentMessage:
    """A message with these buttons, delivered through the outbox as the sweep's are."""
    person = await harness.s.people.by_phone(phone)
    assert person is not None
    await harness.s.outbox.enqueue(
        key=key,
        chat_id=user.id,
        message=OutgoingMessage(text=text, buttons=buttons),  # type: ignore[arg-type]
        now=harness.clock.now(),
        person_id=person.id,
    )
    await harness.deliver()
    return await user.wait_for(lambda m: text.split("\n")[0] in m.plain)


async def _answer(user: FakeUser, data: str) -> CallbackAnswer:
    while True:
        answer = await user.next_callback_answer()
        if answer.data == data:
            return answer


async def test_a_task_done_by_someone_else_and_a_numbered_item_received(
    harness: BotHarness,
) -> None:
    d = await small_district(harness.s, T0)
    teacher = await _person(harness, 951, TEACHER)
    lead = await _person(harness, 952, LEAD)
    zhang = await _open(harness, d, "张三")
    li = await _open(harness, d, "李四")
    call = "A7.1-call"
    teachers = await _send(
        harness,
        teacher,
        TEACHER,
        "⏰ 张三：请电话联系监护人",
        reminder_buttons(zhang.id, call, ZH),
        "t",
    )
    digest = (  # a digest's rows: one numbered button an item
        (("1.收到", f"ack:{zhang.id}:{call}"),),
        (("2.收到", f"ack:{li.id}:{call}"),),
    )
    listed = await _send(
        harness, teacher, TEACHER, "📋 您有2项待办事项\n1. 张三\n2. 李四", digest, "d"
    )
    leads = await _send(
        harness,
        lead,
        LEAD,
        "⏰ 张三：请电话联系监护人（专干）",
        reminder_buttons(zhang.id, call, ZH),
        "l",
    )

    # the lead phones at 09:07 (the tap's own minute, not a rounded or a scheduled one)
    harness.clock.advance(timedelta(minutes=7))
    await lead.press("已电话联系监护人", leads)
    ask = await lead.wait_for(lambda m: "是否联系上监护人" in m.plain)
    await lead.press("已联系上：拒绝", ask)
    await lead.wait_for(lambda m: m is leads and "电话联系监护人：控辍专干已于09:07记录" in m.plain)

    # 14 minutes later the teacher presses the same task on her own reminder
    harness.clock.advance(timedelta(minutes=14))
    await teacher.press("已电话联系监护人", teachers)
    answer = await _answer(teacher, f"do:{zhang.id}:{call}")
    assert answer.text == "此项已由控辍专干于09:07完成。" and answer.show_alert
    edited = await teacher.wait_for(lambda m: m is teachers and "控辍专干已于09:07记录" in m.plain)
    assert "已电话联系监护人" not in edited.buttons and "收到" not in edited.buttons
    assert edited.buttons == ["已返校", "查看案件"]  # what she can still do

    # the second item of a list, received at 09:21: named, with the time of the tap
    await teacher.press("2.收到", listed)
    assert (await _answer(teacher, f"ack:{li.id}:{call}")).text == "已记录。"
    line = "✓ 第2项已收到：电话联系监护人李四（三年级1班）；李老师，09:21"
    received = await teacher.wait_for(lambda m: m is listed and line in m.plain)
    assert received.buttons == ["1.收到"]  # the rest of the list keeps its button
    assert "1. 张三" in received.plain

    # a task no longer owed (forged, or superseded): said so, the message says it is old
    stale = f"do:{zhang.id}:A7.3-mark"
    await teacher.press_data(stale, received)
    assert (await _answer(teacher, stale)).text == "此事项已无需办理，未作记录。"
    old_mark = await _send(
        harness, teacher, TEACHER, "⏰ 张三：辍学标注", ((("已作辍学标注", stale),),), "m"
    )
    await teacher.press("已作辍学标注", old_mark)
    assert (await _answer(teacher, stale)).text == "此事项已无需办理，未作记录。"
    out = await teacher.wait_for(lambda m: m is old_mark and "⌛ 此消息已过时：辍学标注" in m.plain)
    assert out.buttons == []

    # item 1 was done by the lead meanwhile: its press says so and the list says by whom
    await teacher.press("1.收到", received)
    answer = await _answer(teacher, f"ack:{zhang.id}:{call}")
    assert answer.text == "此项已由控辍专干于09:07完成。"
    line = "✓ 第1项已办理：电话联系监护人，张三（三年级1班）；控辍专干，09:07"
    done = await teacher.wait_for(lambda m: m is listed and line in m.plain)
    assert done.buttons == [] and "第2项已收到" in done.plain

    # the case closes; a press on its old reminder says since when, keeping only the case
    harness.clock.advance(timedelta(minutes=9))
    await harness.s.cases.close(zhang.id, status="returned", now=harness.clock.now(), actor="t")
    await teacher.press_data(f"ret:{zhang.id}", teachers)
    assert "已关闭" in ((await _answer(teacher, f"ret:{zhang.id}")).text or "")
    closed = await teacher.wait_for(lambda m: m is teachers and "已于09:30关闭" in m.plain)
    assert closed.buttons == ["查看案件"]


async def test_a_referrals_accept_goes_once_accepted_and_acting_accepts(
    harness: BotHarness,
) -> None:
    s = harness.s
    d = await small_district(s, T0)
    justice = await _person(harness, 961, JUSTICE)
    case = await _open(harness, d, "张三", cause="parents_unwilling")  # A6: justice
    harness.clock.advance(timedelta(days=7))  # day 7: the department's task (A7.3, A6)
    first = await s.referrals.refer(
        case.id, d.units["dept:justice"], reason="parents_unwilling", now=T0, actor="t"
    )
    assert first is not None
    task = "A6-justice"
    buttons = (
        (
            (ZH("Accept"), accept_data(first.id)),
            (ZH("Our department acted"), do_data(case.id, task)),
        ),
    )
    old = await _send(harness, justice, JUSTICE, "⏰ 部门转介：张三", buttons, "r1")
    again = await _send(harness, justice, JUSTICE, "⏰ 第2次提醒：张三", buttons, "r2")
    assert len(old.buttons) == 2

    await justice.press("接收", old)
    assert (
        await _answer(justice, accept_data(first.id))
    ).text == "已接收。请记录本部门开展的工作。"
    accepted = await justice.wait_for(
        lambda m: m is old and "✓ 已接收转介：司法联络员，09:00" in m.plain
    )
    assert accepted.buttons == ["本部门已介入"]  # [接收] is no longer offered
    await justice.press("接收", again)  # the same, on another message: who did, when
    answer = await _answer(justice, accept_data(first.id))
    assert answer.text == "此转介已由司法联络员于09:00接收。" and answer.show_alert
    await justice.wait_for(lambda m: m is again and m.buttons == ["本部门已介入"])

    # acting on a referral that is still open accepts it too: a new one, acted on at once
    await s.referrals.withdraw(first.id, why="t", now=harness.clock.now(), actor="t")
    second = await s.referrals.refer(
        case.id, d.units["dept:justice"], reason="parents_unwilling", now=T0, actor="t"
    )
    assert second is not None and second.status == "open"
    buttons = (
        (
            (ZH("Accept"), accept_data(second.id)),
            (ZH("Our department acted"), do_data(case.id, task)),
        ),
    )
    third = await _send(harness, justice, JUSTICE, "⏰ 部门转介（再次）：张三", buttons, "r3")
    harness.clock.advance(timedelta(minutes=5))
    await justice.press("本部门已介入", third)
    assert (await _answer(justice, do_data(case.id, task))).text == "已记录。"
    done = await justice.wait_for(
        lambda m: m is third and "部门介入：司法联络员已于09:05记录" in m.plain
    )
    assert done.buttons == []  # nothing left to do here: no [接收] after acting
    [referral] = await s.referrals.of_case(case.id)
    assert referral.status == "accepted"
