"""End to end (issue 3): the buttons of a reminder, forged presses, /cases and the case card,
and a relapse reported in chat.

The reminders here are built by the test and sent through the outbox (not by the sweep), so
that the buttons are tested on their own: "Received" (ack:), the task's action (do:), "Back
at school" (ret:, A7.6) and "Open the case" (case:).
"""

from __future__ import annotations

from datetime import date, timedelta

from kcbx.bot.domain.caseactions import reminder_buttons
from kcbx.bot.domain.i18n import translator
from kcbx.bot.domain.model import Case
from kcbx.bot.services.cases import confirm_return
from kcbx.bot.services.reporting import ReportDraft, report_absence
from kcbx.storage.outbox import OutgoingMessage
from kcbx.testing.fakebot import CallbackAnswer, FakeUser, SentMessage
from kcbx.testing.harness import BotHarness
from kcbx.testing.seed import T0, District, small_district

TEACHER = "13900000022"  # 李老师, class 3-1: 张三, 李四, 王五, <小明>
OTHER_TEACHER = "13900000023"  # 赵老师, class 3-2: 赵六, 钱七
MIDDLE_TEACHER = "13900000031"  # 孙老师, 文昌中学 7-1: 孙八, 周九
PRINCIPAL = "13900000020"  # 王校长, 滨河小学
SCHOOL_LEAD = "13900000021"  # 控辍专干, 滨河小学
BUREAU = "13900000003"  # 教育局乙
LIAISON = "13900000041"  # 公安联络员 (nothing referred)
ZH = translator("zh_CN")
DENIED = "您无权查看此内容。"


async def _person(harness: BotHarness, user_id: int, phone: str) -> FakeUser:
    await harness.bind_quietly(user_id, phone=phone)
    return harness.fake.user(user_id)


async def _open(
    harness: BotHarness,
    d: District,
    name: str,
    reporter: str,
    *,
    since: date = date(2024, 3, 4),
    contact: str = "agreed",
) -> Case:
    person = await harness.s.people.by_phone(reporter)
    assert person is not None
    draft = ReportDraft(d.students[name], since, "unknown", contact, None)
    result = await report_absence(harness.s, person, draft)
    assert result.created
    return result.case


async def _remind(
    harness: BotHarness, user: FakeUser, phone: str, case: Case, code: str, key: str
) -> SentMessage:
    """A reminder-like message with the standard buttons, delivered through the outbox."""
    person = await harness.s.people.by_phone(phone)
    assert person is not None
    text = f"⏰ <b>{case.number}</b> 张三：请完成 {code}"
    await harness.s.outbox.enqueue(
        key=key,
        chat_id=user.id,
        message=OutgoingMessage(text=text, buttons=reminder_buttons(case.id, code, ZH)),
        now=harness.clock.now(),
        person_id=person.id,
        case_id=case.id,
    )
    await harness.deliver()
    return await user.wait_for(lambda m: case.number in m.plain and code in m.plain)


async def _answer(user: FakeUser, data: str | None = None) -> CallbackAnswer:
    """The bot's next answer to a press (to the press of ``data``, skipping earlier ones)."""
    while True:
        answer = await user.next_callback_answer()
        if data is None or answer.data == data:
            return answer


async def _kinds(harness: BotHarness, case: Case) -> list[tuple[str, str | None]]:
    return [(a.kind, a.rule) for a in await harness.s.cases.actions(case.id)]


async def test_received_action_and_back_at_school(harness: BotHarness) -> None:
    d = await small_district(harness.s, T0)
    teacher = await _person(harness, 901, TEACHER)
    principal = await _person(harness, 902, PRINCIPAL)
    case = await _open(harness, d, "张三", TEACHER, contact="notyet")
    reminder = await _remind(harness, teacher, TEACHER, case, "A7.1-call", "test:call")
    assert reminder.buttons == ["收到", "已电话联系监护人", "已返校", "查看案件"]
    await _remind(harness, principal, PRINCIPAL, case, "A7.1-call", "test:cc")
    later = OutgoingMessage(text=f"<b>{case.number}</b> later")
    await harness.s.outbox.enqueue(
        key="test:later",
        chat_id=teacher.id,
        message=later,
        now=harness.clock.now(),
        not_before=harness.clock.now() + timedelta(days=1),
        case_id=case.id,
    )

    # "Received": an acknowledged action naming the task; the button goes
    await teacher.press("收到", reminder)
    assert (await _answer(teacher)).text == "已记录。"
    await teacher.wait_for(lambda m: m is reminder and "已收到提醒：李老师已于" in m.plain)
    assert reminder.buttons == ["已电话联系监护人", "已返校", "查看案件"]
    [ack] = await harness.s.cases.actions(case.id)
    assert (ack.kind, ack.detail, ack.rule) == ("acknowledged", {"task": "A7.1-call"}, "A7.1")
    await teacher.press_data(f"ack:{case.id}:A7.1-call", reminder)  # again: nothing twice
    assert (await _answer(teacher)).text == "此提醒已由李老师于09:00收到。"
    assert await _kinds(harness, case) == [("acknowledged", "A7.1")]

    # the task's action: A7.1's phone call
    harness.clock.advance(timedelta(minutes=30))
    await teacher.press("已电话联系监护人", reminder)  # first the one question of a call
    ask = await teacher.wait_for(lambda m: "是否联系上监护人" in m.plain)
    assert ask.buttons == [
        "已联系上：同意送孩子返校",
        "已联系上：拒绝",
        "已联系上：尚未决定",
        "未联系上",
    ]
    await teacher.press("已联系上：同意送孩子返校", ask)
    assert (await _answer(teacher, f"cal:{case.id}:agreed")).text == "已记录。"
    await teacher.wait_for(lambda m: m is reminder and "电话联系监护人：李老师已于" in m.plain)
    assert ask.buttons == []
    call = (await harness.s.cases.actions(case.id))[-1]
    assert call.detail["outcome"] == "agreed"
    assert "电话联系监护人：李老师已于09:30记录" in reminder.plain  # the press's own time
    assert reminder.buttons == ["已返校", "查看案件"]
    await teacher.press_data(f"do:{case.id}:A7.1-call", reminder)
    assert (await _answer(teacher)).text == "此项已由李老师于09:30完成。"
    assert await _kinds(harness, case) == [("acknowledged", "A7.1"), ("phone_call", "A7.1")]

    # "Back at school" asks first; "Not yet" leaves the case open
    await teacher.press("已返校", reminder)
    ask = await teacher.wait_for(lambda m: "确认" in m.plain and "已返校？" in m.plain)
    assert ask.buttons == ["是，已返校", "还没有"]
    await teacher.press("还没有", ask)
    await teacher.wait_for(lambda m: m is ask and "未确认" in m.plain)
    assert (await harness.s.cases.get(case.id)).is_open  # type: ignore[union-attr]

    await teacher.press("已返校", reminder)
    ask = await teacher.wait_for(lambda m: m is not ask and "已返校？" in m.plain)
    await teacher.press("是，已返校", ask)
    assert (await _answer(teacher, f"ret:{case.id}:y")).text == "已记录。"
    await teacher.wait_for(lambda m: m is ask and f"案件{case.number}已关闭" in m.plain)
    await teacher.wait_for(lambda m: m is reminder and "复学：李老师已于" in m.plain)
    assert reminder.buttons == ["查看案件"] and ask.buttons == []
    closed = await harness.s.cases.get(case.id)
    assert closed is not None and closed.status == "returned" and closed.closed_at is not None
    assert (await _kinds(harness, case))[-1] == ("returned", "A7.6")
    row = await harness.s.db.fetchone("SELECT status FROM outbox WHERE dedup_key = 'test:later'")
    assert row is not None and row["status"] == "cancelled"  # A7.6: no more reminders
    assert (await harness.s.audit.entries(entity="case", action="close:returned"))[-1][
        "actor"
    ].startswith("person:")

    # a second press of any button of the closed case records nothing
    for data in (f"ret:{case.id}:y", f"ret:{case.id}", f"do:{case.id}:A7.1-call"):
        await teacher.press_data(data, reminder)
        assert f"案件{case.number}已关闭" in ((await _answer(teacher, data)).text or "")
    assert [k for k, _ in await _kinds(harness, case)].count("returned") == 1

    # those who were reminded hear that the case is closed
    await harness.deliver()
    told = await principal.wait_for(lambda m: "已返校，由李老师确认" in m.plain)
    assert case.number in told.plain and told.buttons == []


async def test_who_may_record_which_step(harness: BotHarness) -> None:
    d = await small_district(harness.s, T0)
    teacher = await _person(harness, 911, TEACHER)
    lead = await _person(harness, 912, SCHOOL_LEAD)
    case = await _open(harness, d, "李四", TEACHER)
    reminder = await _remind(harness, teacher, TEACHER, case, "A7.1-call", "test:1")

    # A7.3's mark has not appeared on day 0: a forged do: for it is stale
    await teacher.press_data(f"do:{case.id}:A7.3-mark", reminder)
    assert (await _answer(teacher)).text == "此事项已无需办理，未作记录。"
    # day 3: A7.2 is the school's; the class teacher may not record it, the lead may
    harness.clock.advance(timedelta(days=3))
    await teacher.press_data(f"do:{case.id}:A7.2", reminder)
    assert (await _answer(teacher)).text == "您的角色不能记录此步骤。"
    lead_reminder = await _remind(harness, lead, SCHOOL_LEAD, case, "A7.2", "test:2")
    assert lead_reminder.buttons == ["收到", "已组织劝返", "已返校", "查看案件"]
    await lead.press("已组织劝返", lead_reminder)
    assert (await _answer(lead)).text == "已记录。"
    actions = await harness.s.cases.actions(case.id)
    assert [(a.kind, a.rule, a.detail.get("task")) for a in actions][-1] == (
        "persuasion",
        "A7.2",
        "A7.2",
    )
    assert actions[-1].actor_id == d.people[SCHOOL_LEAD]


async def test_forged_buttons_reveal_nothing_and_record_nothing(harness: BotHarness) -> None:
    d = await small_district(harness.s, T0)
    case = await _open(harness, d, "张三", TEACHER)
    before = await _kinds(harness, case)
    for user_id, phone in ((921, OTHER_TEACHER), (922, MIDDLE_TEACHER), (923, LIAISON)):
        stranger = await _person(harness, user_id, phone)
        await stranger.send("/help")
        message = await stranger.next_message()
        for data in (
            f"case:{case.id}",
            f"ack:{case.id}:A7.1-call",
            f"do:{case.id}:A7.1-call",
            f"ret:{case.id}",
            f"ret:{case.id}:y",
            "case:99999",
            "do:99999:A7.1-call",
        ):
            await stranger.press_data(data, message)
            answer = await _answer(stranger)
            assert (answer.text, answer.show_alert) == (DENIED, True), data
        assert all("张三" not in m.plain and case.number not in m.plain for m in stranger.messages)
    assert await _kinds(harness, case) == before
    assert (await harness.s.cases.get(case.id)).is_open  # type: ignore[union-attr]


async def test_cases_lists_the_scope_and_the_card_shows_the_history(harness: BotHarness) -> None:
    d = await small_district(harness.s, T0)
    first = await _open(harness, d, "张三", TEACHER)
    await _open(harness, d, "赵六", OTHER_TEACHER, contact="notyet")
    await _open(harness, d, "孙八", MIDDLE_TEACHER, contact="notyet")
    teacher = await _person(harness, 931, TEACHER)
    principal = await _person(harness, 932, PRINCIPAL)
    bureau = await _person(harness, 933, BUREAU)

    await teacher.send("/cases")
    mine = await teacher.next_message()
    assert "共1件" in mine.plain and "张三" in mine.plain
    assert "赵六" not in mine.plain and "孙八" not in mine.plain
    assert mine.buttons == ["张三（0001）"]  # at most 12 characters
    await principal.send("/cases")
    school = await principal.next_message()
    assert "共2件" in school.plain and "赵六" in school.plain and "孙八" not in school.plain
    await bureau.send("/cases")
    assert "共3件" in (await bureau.next_message()).plain

    # the case card: history with authors and times
    harness.clock.advance(timedelta(days=3, hours=1))  # Thu 7 Mar 10:00, day 3
    lead = await harness.s.people.by_phone(SCHOOL_LEAD)
    assert lead is not None
    await harness.s.cases.record_action(
        first.id,
        kind="persuasion",
        actor_id=lead.id,
        at=harness.clock.now(),
        now=harness.clock.now(),
        rule="A7.2",
    )
    await teacher.press("张三（0001）", mine)
    brief = await teacher.wait_for(lambda m: "案件KC-2024-0001 · 办理中" in m.plain)
    assert len(brief.plain.splitlines()) <= 12 and "办理记录" not in brief.plain
    assert "最近：3月7日（周四）10:00 控辍专干" in brief.plain  # the last thing done
    assert brief.buttons == ["记录家访", "已返校", "详情", "« 我的案件"]  # A7.1's visit is open
    await teacher.press("详情", brief)
    card = await teacher.wait_for(lambda m: "办理记录" in m.plain)
    assert "案件KC-2024-0001 · 办理中" in card.plain
    assert "张三（三年级1班），滨河小学" in card.plain
    assert "滨河镇/新墩村/一组" in card.plain and "张父（父亲），电话13700000000" in card.plain
    assert "阶段：学校劝返，第3天" in card.plain
    assert "⚠ 请及时家访" in card.plain and "期限3月6日（周三）18:00" in card.plain  # overdue
    assert "3月4日（周一）09:00 李老师（班主任）：电话联系监护人" in card.plain
    assert "3月7日（周四）10:00 控辍专干（" in card.plain and "学校劝返" in card.plain
    assert "✓ 已电话联系监护人" in card.plain and "学校劝返" in card.plain  # A7.1, A7.2
    assert card.buttons == ["记录家访", "已返校", "« 我的案件"]  # A7.1's visit is still open

    # a department liaison sees a case once it is referred (A6), without the guardians'
    # phone numbers or what they said (need to know)
    await harness.s.db.execute(
        "INSERT INTO referrals (case_id, department_id, reason, created_at)"
        " VALUES (?, ?, 'missing', '2024-03-07T02:00:00+00:00')",
        (first.id, d.units["dept:public_security"]),
    )
    liaison = await _person(harness, 934, LIAISON)
    await liaison.send("/cases")
    referred = await liaison.next_message()
    assert "共1件" in referred.plain and "张三" in referred.plain
    await liaison.press("张三（0001）", referred)
    await liaison.press("详情", await liaison.wait_for(lambda m: "详情" in m.buttons))
    seen = await liaison.wait_for(lambda m: "办理记录" in m.plain)
    assert "张父（父亲）" in seen.plain and "13700000000" not in seen.plain
    assert "同意送孩子返校" not in seen.plain and "已返校" not in seen.buttons

    group = harness.fake.group(-200, "滨河小学教师群")
    await teacher.send("/cases", chat=group)
    count = await group.next_message()
    assert "1件" in count.plain and "张三" not in count.plain  # groups get counts only


async def test_a_relapse_reported_in_chat_continues_the_ladder(harness: BotHarness) -> None:
    d = await small_district(harness.s, T0)
    teacher = await _person(harness, 941, TEACHER)
    first = await _open(harness, d, "张三", TEACHER)
    harness.clock.advance(timedelta(days=10))  # Thu 14 Mar: day 10, past A7.3
    person = await harness.s.people.by_phone(TEACHER)
    assert person is not None
    await confirm_return(harness.s, person, first.id, confirmed=True)
    harness.clock.advance(timedelta(days=6))  # Wed 20 Mar: absent again

    await teacher.send("/report")
    await teacher.wait_for(lambda m: "哪位学生" in m.plain)
    await teacher.press("张三")
    await teacher.wait_for(lambda m: "从哪天开始" in m.plain)
    await teacher.press("今天")
    await teacher.wait_for(lambda m: "缺课原因" in m.plain)
    await teacher.press("原因尚未查明")
    await teacher.wait_for(lambda m: "是否已电话联系监护人" in m.plain)
    await teacher.press("尚未电话联系")
    await teacher.wait_for(lambda m: "补充简短说明" in m.plain)
    await teacher.press("跳过")
    summary = await teacher.wait_for(lambda m: "请核对并确认报告" in m.plain)
    assert "3月14日（周四）复学（案件KC-2024-0001）" in summary.plain
    assert "本案从第10天" in summary.plain
    await teacher.press("确认报告")
    done = await teacher.wait_for(lambda m: "立案" in m.plain)
    assert "KC-2024-0002" in done.plain
    assert done.plain.count("即日") == 2  # A7.2 and A7.3 are owed at once again
    row = await harness.s.db.fetchone("SELECT * FROM cases WHERE number = 'KC-2024-0002'")
    assert row is not None and (row["reopened_from"], row["carried_days"]) == (first.id, 10)

    await teacher.press("查看案件", done)
    card = await teacher.wait_for(lambda m: "办理记录" in m.plain)
    assert "接续案件KC-2024-0001" in card.plain and "第10天" in card.plain
