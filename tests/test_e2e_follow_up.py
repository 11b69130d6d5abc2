"""End to end: the A4.2 check-ins after a return (加强复学学生心理疏导), through the fake Bot
API with a controlled clock.

The teacher is reminded of a case, the child comes back ([已返校]), and a week later the
class teacher gets the check-in the working day before it is due, records it with one
question, and hears no more of it; a month later the second one comes. Where the teacher
does not record it, the reminder is escalated once, to the school lead (never the principal),
and the school lead's weekly digest counts the return that was not followed up.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from test_e2e_tasks import LEAD, PRINCIPAL, TEACHER, Inbox, bind, live, open_case, printed

from kcbx.bot.domain.model import Case
from kcbx.bot.engine.digests import run_digests
from kcbx.testing.fakebot import FakeUser
from kcbx.testing.fakebot.records import SentMessage
from kcbx.testing.harness import BotHarness
from kcbx.testing.seed import T0, small_district

SH = ZoneInfo("Asia/Shanghai")
CHECK_IN = "复学回访"


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=SH)


async def reported_and_back(harness: BotHarness) -> tuple[Case, FakeUser, Inbox]:
    """张三 reported Monday 4 March 09:00; the teacher confirms the return at 12:30 from
    the call's reminder."""
    s = harness.s
    d = await small_district(s, T0)
    await bind(harness, TEACHER, LEAD, PRINCIPAL)
    inbox = Inbox(harness, (TEACHER, LEAD, PRINCIPAL))
    case = await open_case(s, d.students["张三"], at(3, 4, 9))
    await live(harness, inbox, at(3, 4, 9), at(3, 4, 12, 30))
    teacher = harness.fake.user(TEACHER[0])
    reminder = next(m for m in teacher.messages if "电话" in m.plain)
    await teacher.press("已返校", reminder)
    ask = await teacher.wait_for(lambda m: "已返校？" in m.plain)
    await teacher.press("是，已返校", ask)
    await teacher.wait_for(lambda m: m is ask and "已关闭" in m.plain)
    closed = await s.cases.get(case.id)
    assert closed is not None and closed.status == "returned"
    return closed, teacher, inbox


def check_ins(inbox: Inbox, who: tuple[int, str], since: datetime) -> list[datetime]:
    return [r.when for r in inbox.of(who) if r.when >= since and CHECK_IN in r.plain]


async def test_the_teacher_checks_in_a_week_and_a_month_after_the_return(
    harness: BotHarness,
) -> None:
    case, teacher, inbox = await reported_and_back(harness)
    back = at(3, 4, 13)
    await live(harness, inbox, back, at(3, 11, 10))

    # day 7 is Monday 11 March: told on Friday at 16:00, before it is due; nothing at the
    # weekend
    [told] = [r for r in inbox.of(TEACHER) if r.when >= back and CHECK_IN in r.plain]
    assert told.when == at(3, 8, 16) and told.when.weekday() < 5
    assert printed(told.plain, "期限：") == [at(3, 11, 18)]
    assert "心理疏导" in told.plain and "已复学" in told.plain
    assert [r for r in inbox.items if r.when.weekday() >= 5] == []
    message = _message_with(teacher, "记录复学回访")
    assert "已返校" not in message.buttons  # the case is closed already

    # one question, one tap: the check-in is recorded
    await teacher.press("记录复学回访", message)
    ask = await teacher.wait_for(lambda m: "学生复学后情况如何" in m.plain)
    assert ask.buttons == ["已联系上：学生复学后适应良好", "已联系上：学生仍需心理疏导", "未联系上"]
    await teacher.press("已联系上：学生复学后适应良好", ask)
    await teacher.wait_for(lambda m: m is message and "李老师已于" in m.plain)
    assert "记录复学回访" not in message.buttons
    [call] = [a for a in await harness.s.cases.actions(case.id) if a.rule == "A4.2"]
    assert (call.kind, call.detail["outcome"], call.detail["task"]) == (
        "phone_call",
        "settled",
        "A4.2-7",
    )

    # nothing more about it: no second reminder, no escalation
    await live(harness, inbox, at(3, 11, 10, 30), at(3, 13, 20))
    assert check_ins(inbox, TEACHER, at(3, 11, 10, 30)) == []
    assert check_ins(inbox, LEAD, back) == [] and check_ins(inbox, PRINCIPAL, back) == []

    # the card shows the evidence
    await teacher.press("查看案件", message)
    brief = await teacher.wait_for(lambda m: "已复学" in m.plain and "详情" in m.buttons)
    assert "• 复学回访" in brief.plain  # the month's check-in, still ahead
    await teacher.press("详情", brief)
    card = await teacher.wait_for(lambda m: "✓ 已回访" in m.plain)
    assert "李老师" in card.plain.split("✓ 已回访", 1)[1].splitlines()[0]
    inbox.collect()

    # day 30 is Wednesday 3 April: the second check-in on Tuesday at 16:00
    await live(harness, inbox, at(4, 1, 8), at(4, 2, 17))
    month = [r for r in inbox.of(TEACHER) if r.when >= at(4, 1, 8) and CHECK_IN in r.plain]
    assert [r.when for r in month] == [at(4, 2, 16)]
    assert printed(month[0].plain, "期限：") == [at(4, 3, 18)]


async def test_a_return_not_followed_up_goes_to_the_school_lead_and_no_higher(
    harness: BotHarness,
) -> None:
    case, _teacher, inbox = await reported_and_back(harness)
    back = at(3, 4, 13)
    await live(harness, inbox, back, at(3, 13, 20))

    # reminded before it is due and once after; then the school lead is asked, once
    assert check_ins(inbox, TEACHER, back)[:2] == [at(3, 8, 16), at(3, 12, 12)]
    escalated = [r for r in inbox.of(LEAD) if r.when >= back and CHECK_IN in r.plain]
    assert [r.when for r in escalated] == [at(3, 12, 16)]
    assert "报请督办" in escalated[0].plain and "李老师" in escalated[0].plain
    assert check_ins(inbox, PRINCIPAL, back) == []

    # Monday: the school lead's digest counts the return that was not followed up
    await harness.set_time(at(3, 18, 8, 5), sweep=False)
    report = await run_digests(harness.s)
    assert report.follow_ups == 1
    await harness.deliver()
    inbox.collect()
    [digest] = [r for r in inbox.of(LEAD) if r.when >= at(3, 18, 8) and CHECK_IN in r.plain]
    assert "滨河小学：复学学生未回访1人" in digest.plain
    assert case.number in digest.plain and "张三" in digest.plain
    assert check_ins(inbox, PRINCIPAL, back) == []
    await harness.set_time(at(3, 18, 10, 5), sweep=False)
    assert (await run_digests(harness.s)).follow_ups == 0  # once a week


def _message_with(user: FakeUser, button: str) -> SentMessage:
    return next(m for m in reversed(user.messages) if button in m.buttons)
