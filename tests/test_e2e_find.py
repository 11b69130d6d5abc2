"""End to end: /find a student or case by name, pinyin initials, case number or registry
number, within the person's scope only; never in a group; every student shown is audited."""

from __future__ import annotations

from datetime import date

from kcbx.bot.services.cases import ReportDraft, report_absence
from kcbx.testing.harness import BotHarness
from kcbx.testing.seed import T0, small_district

TEACHER = "13900000022"  # 李老师, class 3-1: 张三, 李四, 王五, <小明>
OTHER_TEACHER = "13900000023"  # 赵老师, class 3-2: 赵六, 钱七
BUREAU = "13900000003"


async def test_find_by_name_initials_number_within_scope(harness: BotHarness) -> None:
    s = harness.s
    d = await small_district(s, T0)
    reporter = await s.people.by_phone(TEACHER)
    assert reporter is not None
    draft = ReportDraft(d.students["张三"], date(2024, 3, 4), "unknown", "agreed", None)
    case = (await report_absence(s, reporter, draft)).case
    await harness.bind_quietly(961, phone=TEACHER)
    await harness.bind_quietly(962, phone=OTHER_TEACHER)
    await harness.bind_quietly(963, phone=BUREAU)
    teacher, other, bureau = (harness.fake.user(i) for i in (961, 962, 963))

    await teacher.send("/find zs")
    found = await teacher.next_message()
    assert "张三" in found.plain and case.number in found.plain and "未结" in found.plain
    assert found.buttons == [case.number]
    await teacher.press(case.number, found)  # the button opens the case card
    await teacher.wait_for(lambda m: "张三" in m.plain and m is not found)

    await teacher.send("/find 王")
    assert "王五" in (await teacher.next_message()).plain
    await teacher.send(f"/find {case.number.lower()}")
    assert "张三" in (await teacher.next_message()).plain
    registry = (await s.students.get(d.students["李四"])).registry_no  # type: ignore[union-attr]
    await teacher.send(f"/find {registry}")
    assert "李四" in (await teacher.next_message()).plain

    # another class's teacher finds nothing of this class, by name, initials or number
    for query in ("张三", "zs", case.number, registry):
        await other.send(f"/find {query}")
        answer = await other.next_message()
        assert answer.plain.startswith("您的范围内没有") and not answer.buttons, query
    await bureau.send("/find 三")
    assert "张三" in (await bureau.next_message()).plain

    group = harness.fake.group(-100555, "工作群")
    await bureau.send("/find 张三", chat=group)
    reply = await group.wait_for(lambda m: "/find" in m.plain)
    assert "张三" not in reply.plain

    await s.audit.flush()
    seen = [e for e in await s.audit.of_student(d.students["张三"]) if e["action"] == "view:list"]
    assert {e["chat_id"] for e in seen} == {961, 963}
