"""End to end (issue 5): what leaders get without asking, through the outbox, exactly once.

The weekly summary from Monday 08:00 (caught up later in the week after downtime), each
school's monthly report to the bureau on the 1st, and the A8 warnings before a flag is earned.
The clock is controlled; the job's pass (run_digests) is called as the scheduler would.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from kcbx.bot.engine.digests import DigestState, run_digests
from kcbx.testing.fakebot import FakeUser
from kcbx.testing.harness import BotHarness
from kcbx.testing.seed import T0, District, small_district


async def seed(harness: BotHarness) -> District:
    district = await small_district(harness.s, T0)
    for name, since in (
        ("张三", date(2024, 2, 26)),
        ("王五", date(2024, 3, 1)),
        ("孙八", date(2024, 2, 13)),
    ):
        await harness.s.cases.open_case(
            student_id=district.students[name],
            reported_by=None,
            absent_since=since,
            cause="unknown",
            guardian_contact=None,
            note=None,
            now=T0,
            year=2024,
            actor="cli:test",
        )
    return district


async def bind(harness: BotHarness, user_id: int, phone: str) -> FakeUser:
    await harness.bind_quietly(user_id, phone=phone)
    return harness.fake.user(user_id)


async def run(harness: BotHarness, state: DigestState | None = None) -> int:
    report = await run_digests(harness.s, state)
    await harness.deliver()
    return report.weekly + report.monthly


def weekly(user: FakeUser) -> list[str]:
    return [m.plain for m in user.messages if "每周汇总" in m.plain]


async def test_the_weekly_summary_goes_once_a_week_from_monday_8_oclock(
    harness: BotHarness,
) -> None:
    await seed(harness)
    leader = await bind(harness, 901, "13900000002")
    township = await bind(harness, 902, "13900000011")
    principal = await bind(harness, 903, "13900000020")
    bureau = await bind(harness, 904, "13900000003")
    teacher = await bind(harness, 905, "13900000022")
    assert await run(harness) == 4  # Monday 4 March, 09:00
    for user in (leader, township, principal, bureau):
        assert len(weekly(user)) == 1
    assert weekly(teacher) == []
    assert "3月4日（周一）起的一周" in weekly(leader)[0]
    assert "控辍保学汇总：沙坡头区" in weekly(leader)[0]
    assert "控辍保学汇总：滨河镇/滨河小学" in weekly(principal)[0]
    assert "孙八" not in weekly(principal)[0]
    assert await run(harness) == 0  # once a week
    harness.clock.set(datetime(2024, 3, 6, 2, 0, tzinfo=UTC))  # Wednesday
    assert await run(harness) == 0
    harness.clock.set(datetime(2024, 3, 10, 23, 59, tzinfo=UTC))  # Monday 11 March, 07:59
    assert await run(harness) == 0
    harness.clock.set(datetime(2024, 3, 11, 0, 0, tzinfo=UTC))  # 08:00
    assert await run(harness) == 4
    assert "3月11日" in weekly(leader)[1]
    # the bot is down all Monday and Tuesday of the next week: it catches up on Wednesday
    await harness.restart()
    harness.clock.set(datetime(2024, 3, 20, 2, 0, tzinfo=UTC))
    assert await run(harness) == 4
    assert "3月18日" in weekly(leader)[2]
    keys = {
        k for k in [f"wk:{p}:2024-W12" for p in range(1, 30)] if await harness.s.outbox.has_key(k)
    }
    assert len(keys) == 4


async def test_each_schools_monthly_report_goes_to_the_bureau_once(harness: BotHarness) -> None:
    district = await seed(harness)
    bureau = await bind(harness, 911, "13900000003")
    principal = await bind(harness, 912, "13900000020")
    harness.clock.set(datetime(2024, 3, 31, 23, 0, tzinfo=UTC))  # 1 April, 07:00: not yet
    state = DigestState()
    report = await run_digests(harness.s, state)
    assert report.monthly == 0 and report.frozen == ["2024-03"]  # the month is frozen first
    harness.clock.set(datetime(2024, 4, 1, 1, 0, tzinfo=UTC))  # 09:00
    report = await run_digests(harness.s, state)
    await harness.deliver()
    assert report.monthly == 2  # 滨河小学 and 文昌中学 had cases in March; nobody else
    reports = [m.plain for m in bureau.messages if "学校月报" in m.plain]
    assert len(reports) == 2
    binhe = next(r for r in reports if "滨河小学" in r)
    assert "2024年3月" in binhe and "本月新报2件" in binhe and "月底未结案件2件" in binhe
    assert (
        "张三" in binhe and "辍学且无劝返记录" in binhe
    )  # A8.2: 张三's dropout without persuasion, frozen
    assert [m for m in principal.messages if "学校月报" in m.plain] == []
    key = f"mo:{district.units['binhe_primary']}:2024-03:{district.people['13900000003']}"
    assert await harness.s.outbox.has_key(key)
    # again, with a fresh memory (a restart): nothing twice
    assert (await run_digests(harness.s, DigestState())).monthly == 0


async def test_leaders_are_warned_before_a_flag_and_only_once(harness: BotHarness) -> None:
    district = await seed(harness)
    principal = await bind(harness, 921, "13900000020")
    teacher = await bind(harness, 922, "13900000022")  # 王五's class teacher
    await run_digests(harness.s)
    await harness.deliver()
    # one digest for the principal (A8 warnings are bundled per person, not sent per case)
    digests = [m for m in principal.messages if "责任追究预警" in m.plain]
    assert len(digests) == 1
    texts = [m.plain for m in digests]
    digest = texts[0]
    # 王五 (day 3) has no persuasion: the warning names the day before the dropout mark
    assert "KC-2024-0002" in digest and "3月7日" in digest and "第八条" in digest
    # 张三 is a dropout without persuasion: the school is flagged, and told of the freeze
    assert "KC-2024-0001" in digest and "3月31日" in digest
    assert any("KC-2024-0002" in m.plain for m in teacher.messages)
    # each case's card opens from the digest
    assert sorted(digests[0].button_data.values()) == ["case:1", "case:2"]
    # an hour later: computed again, nothing sent twice
    harness.clock.set(datetime(2024, 3, 4, 3, 0, tzinfo=UTC))
    report = await run_digests(harness.s)
    await harness.deliver()
    assert report.warnings == 0
    assert len([m for m in principal.messages if "责任追究预警" in m.plain]) == len(texts)
    del district


async def test_low_priority_digests_come_at_most_once_a_day_per_person(
    harness: BotHarness,
) -> None:
    """A8 warnings are low priority: a new case reported each weekday brings new warnings
    every day, yet each person gets one digest a day at most (the week's on Monday, and
    between weeks one a day only for what cannot wait), never one message per case."""
    district = await small_district(harness.s, T0)
    people = {
        921: await bind(harness, 921, "13900000020"),  # the principal
        922: await bind(harness, 922, "13900000022"),  # the class teacher of 3-1
        923: await bind(harness, 923, "13900000021"),  # the school lead
    }
    names = ("张三", "李四", "王五", "赵六", "钱七")
    sh = ZoneInfo("Asia/Shanghai")
    days: dict[int, Counter[date]] = {uid: Counter() for uid in people}
    principal: list[str] = []
    moment = datetime(2024, 3, 4, 8, tzinfo=sh)
    while moment < datetime(2024, 3, 13, 8, tzinfo=sh):
        if moment.hour == 9 and moment.weekday() < len(names) and moment.day < 11:
            await harness.s.cases.open_case(
                student_id=district.students[names[moment.weekday()]],
                reported_by=None,
                absent_since=moment.date(),
                cause="unknown",
                guardian_contact=None,
                note=None,
                now=moment,
                year=2024,
                actor="cli:test",
            )
        harness.clock.set(moment)
        seen = {uid: len(user.messages) for uid, user in people.items()}
        await run_digests(harness.s)
        await harness.deliver()
        for uid, user in people.items():
            new = [m.plain for m in user.messages[seen[uid] :] if "责任追究预警" in m.plain]
            days[uid][moment.date()] += len(new)
            if uid == 921:
                principal += new
        moment += timedelta(hours=1)
    for uid, counted in days.items():
        assert sum(counted.values()) and max(counted.values()) == 1, (uid, counted)
    assert len(principal) >= 2  # new warnings came on more than one day
    assert any(sum(n in text for n in ("KC-2024-0001", "KC-2024-0002")) == 2 for text in principal)
