"""The sweeper on a real SQLite file (issue 3): it looks again only at what changed or fell
due, never misses a step for it, and writes each round once; the operators' dry run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.domain.ladder import ActionKind
from kcbx.bot.domain.model import Case
from kcbx.bot.domain.policy import default_policy
from kcbx.bot.engine.sweep import Sweeper, forecast, next_tick
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.testing.seed import T0, District, small_district

SH = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, minute, tzinfo=SH)


class World:
    def __init__(self, services: Services, d: District) -> None:
        self.s, self.d = services, d

    async def open(self, name: str, when: datetime = T0) -> Case:
        return await self.s.cases.open_case(
            student_id=self.d.students[name],
            reported_by=None,
            absent_since=date(2024, 3, 4),
            cause="unknown",
            guardian_contact=None,
            note=None,
            now=when,
            year=2024,
            actor="cli:test",
        )

    async def queued(self) -> list[str]:
        rows = await self.s.db.fetchall("SELECT dedup_key FROM outbox ORDER BY id")
        return [r[0] for r in rows]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    services = await Services.open(Config(db_path=str(tmp_path / "k.db")), FakeClock(T0))
    d = await small_district(services, T0)
    for user, phone in ((22, "13900000022"), (20, "13900000020"), (23, "13900000023")):
        person = await services.people.by_phone(phone)
        assert person is not None
        await services.people.bind_telegram(
            person.id, telegram_id=user, chat_id=user, lang="zh_CN", name="", now=T0
        )
    yield World(services, d)
    await services.close()


async def test_unchanged_cases_are_skipped_until_their_next_event(world: World) -> None:
    first = await world.open("张三")  # reported Monday 09:00: the call is due at 13:00
    second = await world.open("赵六")
    sweeper = Sweeper(world.s)
    report = await sweeper.run(at(4, 9, 1))
    assert report.cases == 2 and report.skipped == 0 and report.queued == 0
    assert (await sweeper.run(at(4, 9, 2))).skipped == 2  # nothing can happen before 13:00

    # an action recorded on one case: that case is looked at again, the other is not
    await world.s.cases.record_action(
        first.id, kind=ActionKind.PHONE_CALL, actor_id=None, at=at(4, 9, 3), now=at(4, 9, 3)
    )
    report = await sweeper.run(at(4, 9, 4))
    assert report.skipped == 1 and report.due == 0
    # the case row changed (the cause is known now): looked at again
    await world.s.cases.set_cause(second.id, "poverty", actor="cli:test", now=at(4, 9, 5))
    assert (await sweeper.run(at(4, 9, 6))).skipped == 1

    # 13:00: the second case's call falls due and is queued exactly then, once
    assert (await sweeper.run(at(4, 12, 59))).queued == 0
    report = await sweeper.run(at(4, 13, 0))
    assert report.queued == 1 and report.skipped == 1
    teacher = await world.s.people.by_phone("13900000023")  # 赵老师, 赵六's class teacher
    assert teacher is not None
    key = f"r:{second.id}:A7.1-call@2024-03-04T05:00:00+00:00:1:{teacher.id}"
    assert await world.queued() == [key]
    assert (await sweeper.run(at(4, 13, 1))).skipped == 2
    # a new sweeper (a restart) looks at everything and queues nothing twice
    report = await Sweeper(world.s).run(at(4, 13, 2))
    assert report.skipped == 0 and report.queued == 0


async def test_a_change_it_cannot_see_is_picked_up_within_the_recheck(world: World) -> None:
    case = await world.open("张三")
    sweeper = Sweeper(world.s)
    await sweeper.run(at(4, 9, 1))
    async with world.s.db.transaction():  # a roster import makes the student vulnerable (A9)
        await world.s.db.execute(
            "UPDATE students SET a9_flags = 'orphan' WHERE id = ?", (world.d.students["张三"],)
        )
    assert (await sweeper.run(at(4, 9, 2))).skipped == 1
    report = await sweeper.run(at(4, 9, 1) + Sweeper.RECHECK)
    assert report.skipped == 0
    # relief is owed from the report (A9); no liaison has joined, so nobody can be told yet
    assert sorted(report.unassigned) == [
        f"{case.number} A9-{code}"
        for code in ("civil_affairs", "rural_revitalisation", "womens_federation", "youth_league")
    ]


async def test_what_falls_due_at_night_waits_for_the_morning(world: World) -> None:
    for name in ("张三", "李四"):
        await world.open(name, at(4, 17))  # calls due at 21:00
    sweeper = Sweeper(world.s)
    for moment in (at(4, 17, 30), at(4, 20, 30), at(4, 21, 30), at(5, 0), at(5, 7, 50)):
        assert (await sweeper.run(moment)).queued == 0
    report = await sweeper.run(at(5, 7, 59))
    assert report.queued == 0 and report.skipped == 2
    report = await sweeper.run(at(5, 8))
    assert report.queued == 1 and report.digests == 1  # one message for both
    assert (await world.queued())[0].startswith("d:")
    rows = await world.s.reminder_history.sends_of_message((await world.queued())[0])
    assert sorted(r.case_id for r in rows) == [1, 2]


def test_next_tick() -> None:
    p = default_policy()
    assert next_tick(at(4, 9, 1), p) == at(4, 18)
    assert next_tick(at(4, 18), p) == at(5, 0)
    assert next_tick(at(4, 23, 59), p) == at(5, 0)
    assert next_tick(at(5, 0), p) == at(5, 8)


async def test_the_dry_run_writes_nothing_and_foresees_the_sweep(world: World) -> None:
    await world.open("张三")
    await world.open("孙八")  # 文昌中学: nobody there is bound to Telegram
    steps = await forecast(world.s, at(4, 9), days=3)
    assert await world.queued() == [] and await world.s.reminder_history.of_cases([1, 2]) == {}
    seen = [
        (s.at.astimezone(SH), s.case.number, s.task.code, [n.due.recipient.name for n in s.notices])
        for s in steps
    ]
    assert seen[:3] == [
        (at(4, 13), "KC-2024-0001", "A7.1-call", ["李老师"]),
        (at(4, 13), "KC-2024-0002", "A7.1-call", []),  # nobody can be told: listed once
        (at(5, 13), "KC-2024-0001", "A7.1-call", ["李老师"]),
    ]
    # and the real sweeps do what it foresaw, at those times
    sweeper = Sweeper(world.s)
    fired = []
    moment = at(4, 9)
    while moment < at(7, 9):
        report = await sweeper.run(moment)
        fired += [(moment, s.case.number, s.task.code) for s in report.steps]
        moment += timedelta(minutes=30)
    foreseen = [(s.at.astimezone(SH), s.case.number, s.task.code) for s in steps if s.notices]
    assert fired == foreseen
