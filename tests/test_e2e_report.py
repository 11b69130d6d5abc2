"""End to end (issue 3, A7.1): a class teacher or the school reports an absence in chat.

The real bot over HTTP against the strict fake Bot API server, with a controlled clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kcbx.testing.fakebot import CallbackAnswer, FakeUser, SentMessage
from kcbx.testing.harness import BotHarness
from kcbx.testing.seed import T0, small_district

# Thursday 7 March 2024, 09:00 in Asia/Shanghai: 3月5日 and 3.5 are this week
THURSDAY = datetime(2024, 3, 7, 1, 0, tzinfo=UTC)
TEACHER = "13900000022"  # 李老师, class 3-1 of 滨河小学: 张三, 李四, 王五, <小明>
OTHER_TEACHER = "13900000023"  # 赵老师, class 3-2: 赵六, 钱七
PRINCIPAL = "13900000020"  # 王校长, 滨河小学


async def _person(harness: BotHarness, user_id: int, phone: str) -> FakeUser:
    await harness.bind_quietly(user_id, phone=phone)
    return harness.fake.user(user_id)


async def _says(user: FakeUser, *words: str) -> SentMessage:
    """The next message (new or edited) that contains all ``words``."""
    return await user.wait_for(lambda m: all(w in m.plain for w in words))


async def _cases(harness: BotHarness) -> list[dict[str, object]]:
    rows = await harness.s.db.fetchall("SELECT * FROM cases ORDER BY id")
    return [dict(r) for r in rows]


async def test_report_from_the_class_buttons_with_typed_dates(harness: BotHarness) -> None:
    d = await small_district(harness.s, T0)
    harness.clock.set(THURSDAY)
    teacher = await _person(harness, 801, TEACHER)

    await teacher.send("/report")
    picker = await _says(teacher, "哪位学生")
    assert picker.buttons == ["<小明>", "张三", "李四", "王五", "取消"]  # their class only
    await teacher.press("张三")
    await _says(teacher, "张三", "从哪天开始")

    # dates that cannot be an absence get a clear answer, and the question stays open
    await teacher.send("2024-03-09")
    assert "将来" in (await teacher.next_message()).plain
    await teacher.send("2024-02-28")
    assert "早于本学期开学日期（3月1日（周五））" in (await teacher.next_message()).plain
    await teacher.send("下周")
    assert "无法识别" in (await teacher.next_message()).plain
    await teacher.send("3月5日")
    await _says(teacher, "自3月5日（周二）起缺课", "缺课原因")

    # text where a button is expected gets a hint
    await teacher.send("不太清楚")
    assert "请使用上方的按钮" in (await teacher.next_message()).plain
    await teacher.press("原因尚未查明")
    await _says(teacher, "是否已电话联系监护人")
    await teacher.press("已联系上：同意送孩子返校")
    await _says(teacher, "补充简短说明")
    await teacher.press("跳过")
    summary = await _says(teacher, "请核对并确认报告")
    assert "张三（三年级1班）" in summary.plain
    assert "3月5日（周二）" in summary.plain
    assert "原因尚未查明" in summary.plain and "同意送孩子返校" in summary.plain
    assert await _cases(harness) == []  # nothing is written before "Confirm"

    await teacher.press("确认报告")
    done = await _says(teacher, "立案")
    assert "KC-2024-0001" in done.plain and "<b>KC-2024-0001</b>" in (done.text or "")
    # the steps ahead with their dates (absent since Tue 5 Mar, reported Thu 7 Mar)
    steps = [line for line in done.plain.splitlines() if line.startswith("• ")]
    assert [s.split("：")[0] for s in steps] == [
        "• 3月11日（周一）",  # A7.1: the visit within 2 days, moved off the weekend
        "• 3月8日（周五）",  # A7.2: day 3
        "• 3月12日（周二）",  # A7.3: day 7
        "• 3月20日（周三）",  # A7.4: day 15
    ]
    assert [s.rsplit("（", 1)[1] for s in steps] == [
        "第七条）"
    ] * 4  # A7.1-A7.4, as the measures cite them
    assert done.buttons == ["查看案件"]

    [case] = await _cases(harness)
    assert case["number"] == "KC-2024-0001" and case["student_id"] == d.students["张三"]
    assert case["absent_since"] == "2024-03-05" and case["cause"] == "unknown"
    assert case["guardian_contact"] == "agreed" and case["reported_by"] == d.people[TEACHER]
    actions = await harness.s.cases.actions(int(str(case["id"])))
    assert [(a.kind, a.rule) for a in actions] == [("phone_call", "A7.1")]  # reached: A7.1
    opened = await harness.s.audit.entries(entity="case", action="open_case")
    assert opened and opened[-1]["detail"]["number"] == "KC-2024-0001"
    assert opened[-1]["actor"] == f"person:{d.people[TEACHER]}"

    # a student with an open case is not reported twice: the open case is shown instead
    await teacher.send("/report")
    await _says(teacher, "哪位学生")
    await teacher.press("张三")
    instead = await _says(teacher, "已有办理中的案件")
    assert "KC-2024-0001" in instead.plain and "第2天" in instead.plain
    assert instead.buttons == ["查看案件"]
    assert len(await _cases(harness)) == 1


async def test_pick_by_pinyin_initials_or_a_fragment(harness: BotHarness) -> None:
    await small_district(harness.s, T0)
    harness.clock.set(THURSDAY)
    teacher = await _person(harness, 802, TEACHER)

    await teacher.send("/report")
    await _says(teacher, "哪位学生")
    await teacher.send("zs")  # pinyin initials: 张三
    await _says(teacher, "张三", "从哪天开始")
    await teacher.send("/cancel")
    assert "已取消" in (await teacher.next_message()).plain

    await teacher.send("/report")
    await _says(teacher, "哪位学生")
    await teacher.send("四")  # a fragment of the name: 李四
    await _says(teacher, "李四", "从哪天开始")
    await teacher.send("/cancel")
    await _says(teacher, "已取消")

    await teacher.send("/report")
    await _says(teacher, "哪位学生")
    await teacher.send("赵六")  # another class's student is not among theirs
    assert "未找到" in (await teacher.next_message()).plain


async def test_a_name_with_markup_is_shown_as_typed(harness: BotHarness) -> None:
    await small_district(harness.s, T0)
    harness.clock.set(THURSDAY)
    teacher = await _person(harness, 807, TEACHER)
    await teacher.send("/report")
    await _says(teacher, "哪位学生")
    await teacher.send("小明")
    asked = await _says(teacher, "<小明>", "从哪天开始")
    assert "<b>&lt;小明&gt;</b>" in (asked.text or "")  # escaped in the HTML it was sent as
    await teacher.send("3.5")
    await _says(teacher, "自3月5日（周二）起缺课")
    await teacher.press("原因尚未查明")
    await _says(teacher, "是否已电话联系监护人")
    await teacher.press("尚未电话联系")
    await _says(teacher, "补充简短说明")
    await teacher.send("<b>在外地</b> 打工")
    summary = await _says(teacher, "请核对并确认报告")
    assert "<b>在外地</b> 打工" in summary.plain  # shown as typed, not as markup
    await teacher.press("确认报告")
    done = await _says(teacher, "立案")
    assert "<小明>" in done.plain and "&lt;小明&gt;" in (done.text or "")
    [case] = await _cases(harness)
    assert case["guardian_contact"] == "notyet" and case["note"] == "<b>在外地</b> 打工"
    assert await harness.s.cases.actions(int(str(case["id"]))) == []  # not phoned: no A7.1 call


async def test_an_iso_date_is_read(harness: BotHarness) -> None:
    await small_district(harness.s, T0)
    harness.clock.set(THURSDAY)
    teacher = await _person(harness, 808, TEACHER)
    await teacher.send("/report")
    await _says(teacher, "哪位学生")
    await teacher.send("ls")
    await _says(teacher, "李四", "从哪天开始")
    await teacher.send("2024-03-05")
    await _says(teacher, "自3月5日（周二）起缺课")


async def test_cancel_leaves_nothing_and_a_restart_keeps_the_draft(harness: BotHarness) -> None:
    await small_district(harness.s, T0)
    teacher = await _person(harness, 803, TEACHER)

    async def to_summary() -> SentMessage:
        await teacher.send("/report")
        await _says(teacher, "哪位学生")
        await teacher.press("王五")
        await _says(teacher, "从哪天开始")
        await teacher.press("今天")
        await _says(teacher, "缺课原因")
        await teacher.press("原因尚未查明")
        await _says(teacher, "是否已电话联系监护人")
        await teacher.press("已拨打，未联系上")
        await _says(teacher, "补充简短说明")
        await teacher.press("跳过")
        return await _says(teacher, "请核对并确认报告")

    summary = await to_summary()
    await teacher.send("/cancel")
    await _says(teacher, "已取消，未保存任何内容")
    await teacher.press("确认报告", summary)  # the old summary's button
    await _next_answer(teacher, "该报告已结束")
    assert await _cases(harness) == []

    summary = await to_summary()
    await harness.restart()  # the bot goes down half-way: the draft and its step are kept
    await harness.deliver()
    await _says(teacher, "报告已为您保留")
    await teacher.press("确认报告", summary)
    await _says(teacher, "立案，案件编号")
    assert len(await _cases(harness)) == 1


async def test_a_draft_older_than_the_timeout_does_not_come_back(harness: BotHarness) -> None:
    await small_district(harness.s, T0)
    teacher = await _person(harness, 805, TEACHER)
    await teacher.send("/report")
    await _says(teacher, "哪位学生")
    await teacher.press("王五")
    await _says(teacher, "从哪天开始")
    await harness.stop_bot()
    harness.clock.advance(timedelta(minutes=31))  # down for longer than the conversation waits
    await harness.start_bot()
    await harness.deliver()
    await _says(teacher, "未保存任何内容")
    await teacher.press("今天")
    assert await _cases(harness) == []
    assert await harness.s.db.fetchval("SELECT COUNT(*) FROM conversation_state") == 0


async def _next_answer(user: FakeUser, words: str) -> CallbackAnswer:
    """The next answer to a button press that contains ``words``."""
    while True:
        answer = await user.next_callback_answer()
        if answer.text and words in answer.text:
            return answer


async def test_principal_picks_a_class_then_a_student(harness: BotHarness) -> None:
    await small_district(harness.s, T0)
    principal = await _person(harness, 804, PRINCIPAL)
    await principal.send("/report")
    classes = await _says(principal, "请选择班级")
    assert classes.buttons == ["三年级1班", "三年级2班", "取消"]
    await principal.press("三年级2班")
    students = await _says(principal, "请从下方选择")
    assert students.buttons == ["赵六", "钱七", "« 班级列表", "取消"]
    await principal.press("赵六")
    await _says(principal, "赵六", "从哪天开始")
    await principal.press("昨天")
    await _says(principal, "自3月3日（周日）起缺课")


async def test_only_school_staff_report_and_only_in_private(harness: BotHarness) -> None:
    await small_district(harness.s, T0)
    cadre = await _person(harness, 805, "13900000014")  # a group cadre
    await cadre.send("/report")
    assert "只有班主任" in (await cadre.next_message()).plain
    teacher = await _person(harness, 806, TEACHER)
    group = harness.fake.group(-100, "滨河小学教师群")
    await teacher.send("/report", chat=group)
    assert "私聊" in (await group.next_message()).plain


async def test_a_long_class_is_paged_and_several_matches_are_listed(harness: BotHarness) -> None:
    d = await small_district(harness.s, T0)
    async with harness.s.db.transaction():
        for n in range(13):
            await harness.s.db.execute(
                "INSERT INTO students (registry_no, name, school_id, class_id, grade,"
                " updated_at) VALUES (?, ?, ?, ?, 3, '2024-03-01T00:00:00+00:00')",
                (
                    f"X{n:03d}",
                    f"张小{'一二三四五六七八九十'[n % 10]}{n}",
                    d.units["binhe_primary"],
                    d.classes["3-1"],
                ),
            )
    teacher = await _person(harness, 809, TEACHER)
    await teacher.send("/report")
    first = await _says(teacher, "哪位学生")
    # six buttons a message: four students, [更多] and Cancel (docs/texts.md)
    assert len(first.buttons) == 6 and first.buttons[-2:] == ["更多", "取消"]
    page_one = first.buttons[:4]
    await teacher.press("更多", first)
    second = await teacher.wait_for(lambda m: m is first and m.buttons[:4] != page_one)
    assert len(second.buttons) == 6 and not set(second.buttons[:4]) & set(page_one)
    eighth = second.buttons[3]  # the eighth student of the class
    # a forged page (or one of a list that shrank) is answered, and the list starts again
    await teacher.press_data(f"rep:c:{d.classes['3-1']}:99", first)
    stale = await teacher.next_callback_answer()
    while stale.data != f"rep:c:{d.classes['3-1']}:99":
        stale = await teacher.next_callback_answer()
    assert stale.text == "列表已变化，此页已不存在，请重新选择。" and stale.show_alert
    await teacher.wait_for(lambda m: m is first and m.buttons[:4] == page_one)
    await teacher.press("更多", first)
    await teacher.wait_for(lambda m: m is first and eighth in m.buttons)
    assert all(len(d.encode()) < 64 for d in first.button_data.values())

    await teacher.send("zx")  # 张小…: several students match, listed with their class
    several = await _says(teacher, "13名学生相符")
    assert "张小一0（三年级1班）" in several.buttons and len(several.buttons) == 6
    await teacher.send("张小一")  # typed more: fewer match
    fewer = await _says(teacher, "有多名学生相符")
    assert "张小一0（三年级1班）" in fewer.buttons
    await teacher.press(eighth, first)  # the eighth student, from the second page
    await _says(teacher, eighth, "从哪天开始")
