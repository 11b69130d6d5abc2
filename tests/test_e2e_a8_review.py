"""End to end through the fake Bot API: a closing that changes accountability needs a second
person. 第八条 makes the class teacher's allowance depend on the school's A8.2 flag
("扣除校长及班主任当年津贴"), so the teacher's transfer of a flagged case is a proposal: the
case stays open and counted, and the flag stands, until the bureau confirms it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from kcbx.bot.domain.ladder.state import ActionKind
from kcbx.bot.services.accountability import district_flags
from kcbx.bot.services.caseviews import unit_tree
from kcbx.testing.fakebot import FakeUser
from kcbx.testing.harness import BotHarness
from kcbx.testing.seed import T0, District, small_district

TEACHER = "13900000022"  # 李老师, class 3-1 of 滨河小学
BUREAU = "13900000003"  # 教育局乙
PHOTO = b"\xff\xd8\xff\xe0" + b"letter of the receiving school" * 40


def sh(day: int, hour: int = 9) -> datetime:
    return datetime(2024, 3, day, hour, tzinfo=UTC) - timedelta(hours=8)


async def bind(harness: BotHarness, phone: str) -> FakeUser:
    user_id = int(phone[-4:]) + 1000
    await harness.bind_quietly(user_id, phone=phone)
    return harness.fake.user(user_id)


async def a82_flagged(harness: BotHarness, district: District) -> bool:
    flags, _facts, _enrolled = await district_flags(harness.s, await unit_tree(harness.s))
    school = district.units["binhe_primary"]
    return any(f.rule == "A8.2" and f.unit_id == school for f in flags)


async def test_a_teachers_transfer_of_a_flagged_case_waits_for_the_bureau(
    harness: BotHarness,
) -> None:
    s = harness.s
    d = await small_district(s, T0)
    teacher, bureau = await bind(harness, TEACHER), await bind(harness, BUREAU)
    case = await s.cases.open_case(
        student_id=d.students["张三"],
        reported_by=d.people[TEACHER],
        absent_since=date(2024, 2, 26),  # day 7 on 3月4日: a dropout with no measure
        cause="other",
        guardian_contact="unreached",
        note=None,
        now=s.clock.now(),
        year=2024,
        actor=f"person:{d.people[TEACHER]}",
    )
    await harness.set_time(sh(12, 10), sweep=False)
    assert await a82_flagged(harness, d)

    await teacher.send(f"/transfer {case.number}")
    await teacher.wait_for(lambda m: case.number in m.plain)
    await teacher.send("某市第一小学")
    await teacher.next_message()
    await teacher.send_photo(PHOTO)
    await teacher.wait_for(lambda m: "cl:s" in m.button_data.values())
    await teacher.press("cl:s")
    await teacher.wait_for(lambda m: "cl:n" in m.button_data.values())
    await teacher.press("cl:n")
    await teacher.wait_for(lambda m: "cl:ok" in m.button_data.values())
    await teacher.press("cl:ok")
    proposed = await teacher.wait_for(lambda m: case.number in m.plain and "等待" in m.plain)
    assert not proposed.buttons

    # Until confirmed: open, counted, flagged; the evidence is kept on the proposal.
    still = await s.cases.get(case.id)
    assert still is not None and still.status == "open"
    assert await a82_flagged(harness, d)
    review = await s.closure_reviews.pending_of_case(case.id)
    assert review is not None and review.proposed_by == d.people[TEACHER]
    assert [e.kind for e in await s.visits.evidence_of_case(case.id)] == ["photo"]

    # The bureau is asked; its confirmation closes the case, with both people on record.
    ask = await bureau.wait_for(lambda m: f"clr:ok:{review.id}" in m.button_data.values())
    assert case.number in ask.plain and "某市第一小学" in ask.plain
    await bureau.press(f"clr:ok:{review.id}")
    await bureau.wait_for(lambda m: case.number in m.plain and not m.buttons)
    closed = await s.cases.get(case.id)
    assert closed is not None and closed.status == "transferred"
    action = (await s.cases.actions(case.id))[-1]
    assert action.kind == ActionKind.TRANSFERRED
    assert action.actor_id == d.people[BUREAU]
    assert action.detail["proposed_by"] == d.people[TEACHER]
    assert action.detail["reviewer"] == d.people[BUREAU]
    assert action.detail["new_school"] == "某市第一小学"
    assert not await a82_flagged(harness, d)
    await teacher.wait_for(lambda m: case.number in m.plain and "教育局乙" in m.plain)

    # Decided once: a second (forged) press is refused, and nothing changes.
    assert not (await bureau.next_callback_answer()).show_alert  # the confirmation's answer
    await bureau.press_data(f"clr:ok:{review.id}", ask)
    assert (await bureau.next_callback_answer()).show_alert
    assert {e["action"] for e in await s.audit.entries(entity="case")} >= {
        "propose:transferred",
        "close:transferred",
    }
