"""The indexed sweep sends exactly what a full sweep sends (the plan index, migration 0011).

Two copies of one district live the same 33 days side by side: the same cases reported, the
same actions recorded, the same people joining late, a case closed. One is swept by the
minute sweeper, which reads only the cases whose instant has come or which changed; the other
by a full pass over every open case at the same instants. After every sweep both outboxes and
both reminder histories must be the same, row for row.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kcbx.bot.domain.clock import FakeClock, to_iso
from kcbx.bot.domain.ladder.state import ActionKind
from kcbx.bot.engine.sweep import Sweeper
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.testing.seed import T0, District, small_district

SH = ZoneInfo("Asia/Shanghai")
DAYS = 33


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """Day ``day`` of the story (0 = Monday 4 March 2024) at a local time."""
    return datetime.combine(date(2024, 3, 4) + timedelta(days=day), time(hour, minute), SH)


class Copy:
    """One copy of the district and the sweeper that sweeps it."""

    def __init__(self, services: Services, d: District, sweeper: Sweeper) -> None:
        self.s, self.d, self.sweeper = services, d, sweeper
        self.cases: dict[str, int] = {}

    async def bind(self, phone: str, user: int, now: datetime) -> None:
        person = await self.s.people.by_phone(phone)
        assert person is not None
        await self.s.people.bind_telegram(
            person.id, telegram_id=user, chat_id=user, lang="zh_CN", name="", now=now
        )

    async def report(self, name: str, since: date, now: datetime) -> None:
        case = await self.s.cases.open_case(
            student_id=self.d.students[name],
            reported_by=None,
            absent_since=since,
            cause="poverty" if name == "赵六" else "unknown",
            guardian_contact=None,
            note=None,
            now=now,
            year=2024,
            actor="cli:test",
        )
        self.cases[name] = case.id

    async def act(self, name: str, kind: str, now: datetime) -> None:
        await self.s.cases.record_action(
            self.cases[name], kind=kind, actor_id=None, at=now, now=now
        )

    async def close(self, name: str, now: datetime) -> None:
        await self.s.cases.close(self.cases[name], status="returned", now=now, actor="cli:test")

    async def back(self, name: str, now: datetime) -> None:
        """A7.6 by its action, then closed: the A4.2 check-ins follow."""
        await self.act(name, ActionKind.RETURNED, now)
        await self.close(name, now)

    async def check_in(self, name: str, now: datetime) -> None:
        """A4.2: the week's check-in, a call that reached the family."""
        await self.s.cases.record_action(
            self.cases[name],
            kind=ActionKind.PHONE_CALL,
            actor_id=None,
            at=now,
            now=now,
            rule="A4.2",
            detail={"task": "A4.2-7", "outcome": "settled"},
        )

    async def outbox(self) -> list[tuple[object, ...]]:
        rows = await self.s.db.fetchall(
            "SELECT dedup_key, chat_id, kind, payload, next_attempt_at, status FROM outbox"
            " ORDER BY dedup_key"
        )
        return [tuple(r) for r in rows]

    async def told(self) -> list[tuple[object, ...]]:
        rows = await self.s.db.fetchall(
            "SELECT case_id, task_key, round, kind, person_id, outbox_key, at"
            " FROM reminder_sends ORDER BY case_id, task_key, round, kind, person_id"
        )
        return [tuple(r) for r in rows]


Event = Callable[[Copy, datetime], Awaitable[None]]

# What happens in the story, at which local instant (the same in both copies).
STORY: list[tuple[datetime, Event]] = [
    (local(0, 9), lambda c, now: c.report("张三", date(2024, 3, 4), now)),
    (local(0, 11), lambda c, now: c.report("赵六", date(2024, 3, 1), now)),
    (local(0, 11, 30), lambda c, now: c.act("张三", ActionKind.PHONE_CALL, now)),
    (local(1, 10), lambda c, now: c.report("王五", date(2024, 3, 5), now)),  # A9 relief
    (local(2, 15), lambda c, now: c.act("赵六", ActionKind.HOME_VISIT, now)),
    (local(2, 17, 20), lambda c, now: c.report("孙八", date(2024, 3, 6), now)),  # evening
    (local(3, 9, 40), lambda c, now: c.report("周九", date(2024, 3, 7), now)),
    (local(4, 10), lambda c, now: c.act("张三", ActionKind.PERSUASION, now)),
    (local(4, 11), lambda c, now: c.back("周九", now)),  # A4.2: checked in on day 10
    (local(4, 14), lambda c, now: c.bind("13900000030", 30, now)),  # 文昌校长 joins
    (local(6, 9), lambda c, now: c.bind("13900000031", 31, now)),  # 孙老师 joins
    (local(8, 16), lambda c, now: c.act("赵六", ActionKind.REGISTRY_MARK, now)),
    (local(9, 11), lambda c, now: c.close("王五", now)),  # A4.2: never checked in
    (local(10, 16, 30), lambda c, now: c.check_in("周九", now)),
    (local(12, 10), lambda c, now: c.bind("13900000040", 40, now)),  # a liaison joins
    (local(16, 15), lambda c, now: c.act("张三", ActionKind.NOTICE_ISSUED, now)),
]
BOUND = [("13900000002", 2), ("13900000003", 3), ("13900000010", 10), ("13900000012", 12),
         ("13900000014", 14), ("13900000020", 20), ("13900000021", 21), ("13900000022", 22),
         ("13900000023", 23)]  # fmt: skip


def instants() -> list[datetime]:
    """Every third hour at :07, the day's ticks (00:00, 08:00, 18:00, 20:00) and the
    story's instants, over the 33 days."""
    out = {e for e, _ in STORY}
    for day in range(DAYS):
        out |= {local(day, h, 7) for h in range(day % 3, 24, 3)}
        out |= {local(day, h) for h in (0, 8, 18, 20)}
    return sorted(out)


@pytest.fixture
async def copies(tmp_path: Path) -> AsyncIterator[tuple[Copy, Copy]]:
    made: list[Copy] = []
    for name, full in (("indexed", False), ("full", True)):
        services = await Services.open(Config(db_path=str(tmp_path / f"{name}.db")), FakeClock(T0))
        d = await small_district(services, T0)
        copy = Copy(services, d, Sweeper(services, full=full))
        for phone, user in BOUND:
            await copy.bind(phone, user, T0)
        made.append(copy)
    yield made[0], made[1]
    for copy in made:
        await copy.s.close()


async def test_the_indexed_sweep_sends_what_the_full_sweep_sends(copies: tuple[Copy, Copy]) -> None:
    indexed, full = copies
    events = dict(STORY)
    looked = skipped = 0
    for now in instants():
        for copy in (indexed, full):
            if now in events:
                await events[now](copy, now)
        mine = await indexed.sweeper.run(now)
        theirs = await full.sweeper.run(now)
        assert mine.queued == theirs.queued, now
        assert await indexed.outbox() == await full.outbox(), now
        assert set(mine.unassigned) <= set(theirs.unassigned), now  # retried on a change
        looked += mine.cases - mine.skipped
        skipped += mine.skipped
    told = await indexed.told()
    assert told == await full.told()
    checked = {(row[0], str(row[1]).split("@")[0], row[3]) for row in told if "A4.2" in str(row[1])}
    wang, zhou = indexed.cases["王五"], indexed.cases["周九"]
    assert {(wang, "A4.2-7", "remind"), (wang, "A4.2-7", "escalated")} <= checked
    assert (zhou, "A4.2-7", "remind") in checked and (zhou, "A4.2-7", "escalated") not in checked
    sent = await indexed.outbox()
    kinds = {key.split(":")[0] for key, *_ in sent}
    assert len(sent) > 60 and {"r", "e", "d"} <= kinds  # reminders, escalations, digests
    assert skipped > 10 * looked  # and it did so reading a fraction of the cases


async def test_a_catch_up_in_chunks_tells_each_person_each_thing_once(
    copies: tuple[Copy, Copy],
) -> None:
    """A catch-up sweeps a few cases at a time, each chunk in its own transaction: every
    notification goes in exactly one message, and the chunks together send what one
    sweep sends, only in more messages."""
    chunked, whole = copies
    chunked.sweeper.CHUNK = 1
    for copy in (chunked, whole):
        for name in ("张三", "李四", "赵六", "王五"):
            await copy.report(name, date(2024, 3, 4), local(0, 9))
    late = local(12, 9)  # everything due over twelve days, at once
    report = await chunked.sweeper.run(late)
    assert report.queued == len(await chunked.outbox())
    told = await chunked.told()
    assert len(told) == len({row[:5] for row in told})  # nobody told one thing twice
    carried = {row[5] for row in told}
    first_pages = {key for key, *_ in await chunked.outbox() if not key.startswith("d:")}
    first_pages |= {key for key, *_ in await chunked.outbox() if key.endswith(":1")}
    assert carried == first_pages  # and no message repeats what another one said
    await whole.sweeper.run(late)
    assert [row[:5] for row in told] == [row[:5] for row in await whole.told()]
    # each person reads of each case as often as from the one sweep: nothing said twice
    assert await mentions(chunked) == await mentions(whole)


async def mentions(copy: Copy) -> Counter[tuple[object, str]]:
    """How often each chat reads each case number, over all its messages."""
    return Counter(
        (chat, number)
        for _key, chat, _kind, payload, *_ in await copy.outbox()
        for number in re.findall(r"KC-\d{4}-\d{4}", str(payload))
    )


async def plan_row(copy: Copy, name: str) -> tuple[object, ...] | None:
    row = await copy.s.db.fetchone(
        "SELECT wake_at, changed FROM case_plans WHERE case_id = ?", (copy.cases[name],)
    )
    return tuple(row) if row is not None else None


async def test_a_return_is_woken_for_its_check_ins_and_then_leaves_the_plan(
    copies: tuple[Copy, Copy],
) -> None:
    """A4.2: a returned case stays in the plan index, woken at each check-in's first notice;
    once both check-ins are recorded it leaves the plan. One never checked in leaves once
    its last check-in has been escalated (to the school lead), and nothing follows. A child
    absent again has a new case: the old one's check-ins give way to its ladder."""
    copy = copies[0]
    for name in ("张三", "王五", "李四"):
        await copy.report(name, date(2024, 3, 4), local(0, 9))
        await copy.back(name, local(0, 14))
    relapsed = copy.cases["李四"]
    await copy.sweeper.run(local(0, 15))
    assert await plan_row(copy, "李四") is not None
    await copy.report("李四", date(2024, 3, 6), local(2, 9))  # absent again
    await copy.sweeper.run(local(2, 9, 5))
    row = await copy.s.db.fetchone("SELECT 1 FROM case_plans WHERE case_id = ?", (relapsed,))
    assert row is None
    friday = to_iso(local(4, 16))  # day 7 is Monday 11 March: told Friday at 16:00
    assert await plan_row(copy, "张三") == (friday, 0)
    await copy.sweeper.run(local(4, 16))
    await copy.check_in("张三", local(4, 17))
    await copy.sweeper.run(local(4, 17, 5))
    tuesday = to_iso(local(29, 16))  # day 30 is Wednesday 3 April: told Tuesday at 16:00
    assert await plan_row(copy, "张三") == (tuesday, 0)
    await copy.s.cases.record_action(
        copy.cases["张三"],
        kind=ActionKind.HOME_VISIT,
        actor_id=None,
        at=local(29, 10),
        now=local(29, 10),
        detail={"met": "both"},
    )
    await copy.sweeper.run(local(29, 10, 5))
    assert await plan_row(copy, "张三") is None  # both check-ins done: no more waking

    moment = local(5, 8)
    while moment <= local(40, 8):
        await copy.sweeper.run(moment)
        moment += timedelta(hours=2)
    assert await plan_row(copy, "王五") is None
    told = [row for row in await copy.told() if row[0] == copy.cases["王五"]]
    escalations = [row for row in told if row[3] == "escalated"]
    assert {str(row[1]).split("@")[0] for row in escalations} == {"A4.2-7", "A4.2-30"}
    last = max(str(row[6]) for row in escalations)  # Sunday 7 April, a swapped working day
    assert last == to_iso(local(34, 16)) and max(str(row[6]) for row in told) == last
    assert not [row for row in await copy.told() if row[0] == relapsed]
