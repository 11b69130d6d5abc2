"""The summary reads each open case's standing that the sweep keeps with the plan (migration
0033), and says exactly what the ladder computed again would say: after a change nobody has
swept yet (an action, a report, a return, a transfer, an import), and after a deadline or a
stage's midnight has passed since the last sweep. Then `kcbx doctor` finds a kept standing
that an outside write has broken, prints it and forgets it.

Each check renders the district's summary twice, once as it runs (the kept standings where
they hold) and once with the kept standings ignored (the ladder for every case), and wants
the same text.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kcbx.bot.cli.doctor import doctor
from kcbx.bot.cli.main import _with_services as with_services
from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.domain.i18n import translator
from kcbx.bot.domain.ladder.standing import loads
from kcbx.bot.domain.ladder.state import ActionKind, Stage
from kcbx.bot.engine.sweep import Sweeper
from kcbx.bot.engine.wake import rules_fingerprint
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Kept, Services
from kcbx.bot.services import caseviews
from kcbx.bot.services.summary import summary_view, warm_summaries
from kcbx.bot.texts.summary import render_summary
from kcbx.storage import rollups
from kcbx.storage.case_plans import mark_students_changed
from kcbx.testing.seed import District, small_district

SH = ZoneInfo("Asia/Shanghai")
ZH = translator("zh_CN")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """Day ``day`` of the story (0 = Monday 4 March 2024) at a local time."""
    return datetime.combine(date(2024, 3, 4) + timedelta(days=day), time(hour, minute), SH)


class World:
    def __init__(self, services: Services, clock: FakeClock, d: District) -> None:
        self.s, self.clock, self.d = services, clock, d
        self.sweeper = Sweeper(services)
        self.cases: dict[str, int] = {}

    async def report(self, name: str, since: date) -> None:
        case = await self.s.cases.open_case(
            student_id=self.d.students[name],
            reported_by=None,
            absent_since=since,
            cause="poverty" if name == "赵六" else "unknown",
            guardian_contact=None,
            note=None,
            now=self.clock.now(),
            year=2024,
            actor="cli:test",
        )
        self.cases[name] = case.id

    async def act(self, name: str, kind: str, phone: str = "13900000022") -> None:
        now = self.clock.now()
        await self.s.cases.record_action(
            self.cases[name], kind=kind, actor_id=self.d.people[phone], at=now, now=now
        )

    async def close(self, name: str, status: str) -> None:
        await self.s.cases.close(
            self.cases.pop(name), status=status, now=self.clock.now(), actor="cli:test"
        )

    async def sweep(self) -> None:
        await self.sweeper.run(self.clock.now())

    async def move(self, name: str) -> None:
        """The student changes school (and class), as an import records it."""
        db, student = self.s.db, self.d.students[name]
        school = await db.fetchval("SELECT school_id FROM students WHERE id = ?", (student,))
        other = await db.fetchone(
            "SELECT id, school_id, grade FROM classes WHERE school_id <> ? ORDER BY id", (school,)
        )
        assert other is not None
        async with db.transaction():
            await db.execute(
                "UPDATE students SET school_id = ?, class_id = ?, grade = ? WHERE id = ?",
                (other["school_id"], other["id"], other["grade"], student),
            )
            await rollups.recount(db)
            await mark_students_changed(db, [student])

    async def text(self, *, kept: bool = True) -> str:
        """The district leader's summary as sent, and how many cases it computed."""
        leader = await self.s.people.by_phone("13900000002")
        assert leader is not None
        kept = self.s.kept
        if not kept:  # and no school's part kept either (the kept ones stay for the next)
            self.s.reports.open_cases_kept = self.unkept  # type: ignore[method-assign]
            self.s.kept = Kept()
        try:
            found = await summary_view(self.s, leader, None)
        finally:
            self.s.reports.__dict__.pop("open_cases_kept", None)
            self.s.kept = kept
        assert found is not None
        rendered = render_summary(found.summary, self.s.policy, ZH, "zh_CN", in_group=False)
        return repr(rendered)

    async def unkept(self, scope: Any) -> list[tuple[Any, None]]:
        """The open cases without what the sweep keeps: the ladder for every one."""
        return [(row, None) for row in await self.s.reports.open_cases(scope)]

    async def kept(self) -> tuple[int, int]:
        """(open cases, of which computed now) as the summary reads them."""
        tree = await caseviews.unit_tree(self.s)
        cases, computed = await caseviews.open_cases_now(self.s, caseviews.EVERY_CASE, tree)
        return len(cases), computed

    async def same(self) -> None:
        assert await self.text() == await self.text(kept=False), self.clock.now()

    async def stored_stage(self, name: str) -> Stage:
        text = await self.s.db.fetchval(
            "SELECT standing FROM case_plans WHERE case_id = ?", (self.cases[name],)
        )
        standing = loads(text, rules_fingerprint(self.s.policy))
        assert standing is not None
        return standing.stage


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    clock = FakeClock(local(0, 9))
    services = await Services.open(Config(db_path=str(tmp_path / "kcbx.db")), clock)
    d = await small_district(services, clock.now())
    yield World(services, clock, d)
    await services.close()


async def test_a_stage_reached_at_midnight_shows_before_any_sweep(world: World) -> None:
    """Day 7 begins at midnight (A7.3): the kept standing says A7.2 until then, and the
    summary says dropout from 00:00 although nobody has swept since 23:00."""
    await world.report("张三", date(2024, 3, 1))  # day 3 on Monday: A7.2
    await world.report("孙八", date(2024, 3, 4))
    await world.act("孙八", ActionKind.PHONE_CALL, "13900000031")
    await world.sweep()
    assert await world.kept() == (2, 0)  # both read from the plan
    await world.same()
    world.clock.set(local(3, 23))  # Thursday 23:00: day 6
    await world.sweep()
    assert await world.stored_stage("张三") == Stage.PERSUASION
    world.clock.set(local(4, 0, 5))  # Friday 00:05: day 7, not swept yet
    assert await world.stored_stage("张三") == Stage.PERSUASION
    assert (await world.kept())[1] >= 1  # its standing no longer holds: computed
    text = await world.text()
    assert text == await world.text(kept=False)
    tree = await caseviews.unit_tree(world.s)
    cases, _ = await caseviews.open_cases_now(world.s, caseviews.EVERY_CASE, tree)
    assert {c.row.student_name: c.stage for c in cases}["张三"] == Stage.DROPOUT
    await world.sweep()
    assert await world.stored_stage("张三") == Stage.DROPOUT
    assert await world.kept() == (2, 0)


async def test_a_change_shows_before_any_sweep(world: World) -> None:
    """A registry mark reaches A7.3 at once; a return closes the case; the student's A9
    flags change: the summary says so at once, the kept standings still saying otherwise."""
    await world.report("李四", date(2024, 3, 4))
    await world.report("王五", date(2024, 3, 1))
    await world.sweep()
    await world.same()
    await world.act("李四", ActionKind.REGISTRY_MARK, "13900000021")
    assert await world.stored_stage("李四") == Stage.DAY0
    assert await world.kept() == (2, 1)
    await world.same()
    await world.close("王五", "returned")
    assert await world.kept() == (1, 1)
    await world.same()
    await world.sweep()
    assert await world.kept() == (1, 0)
    await world.s.db.execute(  # a write around the repositories: no case marked changed
        "UPDATE students SET a9_flags = 'orphan' WHERE id = ?", (world.d.students["李四"],)
    )
    assert await world.kept() == (1, 1)  # its facts are not those it was computed from
    await world.same()
    await mark_students_changed(world.s.db, [world.d.students["李四"]])  # as an import does
    await world.sweep()
    assert await world.stored_stage("李四") == Stage.DROPOUT
    assert await world.kept() == (1, 0)


async def test_a_random_week_says_what_the_ladder_says(world: World) -> None:
    """Reports (some days late), persuasion, registry marks, notices, returns and transfers
    at random hours over about a week, swept at random: after every step the summary is the
    ladder's."""
    rng = random.Random(3)
    names = list(world.d.students)
    kinds = [
        ActionKind.PHONE_CALL,
        ActionKind.HOME_VISIT,
        ActionKind.PERSUASION,
        ActionKind.REGISTRY_MARK,
        ActionKind.NOTICE_ISSUED,
    ]
    now = local(0, 9)
    steps = {"sweep": 0, "hours": 0, "report": 0, "act": 0, "close": 0, "move": 0}
    reused = 0
    for _step in range(60):
        what = rng.choice(["sweep", "hours", "hours", "report", "act", "act", "close", "move"])
        absent = [n for n in names if n not in world.cases]
        if what == "report" and absent:
            since = now.astimezone(SH).date() - timedelta(days=rng.randint(0, 9))
            await world.report(rng.choice(absent), since)
        elif what == "act" and world.cases:
            await world.act(rng.choice(sorted(world.cases)), rng.choice(kinds))
        elif what == "close" and world.cases and rng.random() < 0.4:
            name = rng.choice(sorted(world.cases))
            await world.close(name, rng.choice(["returned", "transferred"]))
        elif what == "sweep":
            await world.sweep()
        elif what == "move":
            await world.move(rng.choice(names))
        else:
            what = "hours"
            now += timedelta(hours=rng.choice([1, 5, 11, 23, 37]))
            world.clock.set(now)
        steps[what] += 1
        before = dict(world.s.kept.parts)
        await world.same()
        reused += sum(1 for k, part in world.s.kept.parts.items() if before.get(k) is part)
    assert min(steps.values()) > 0, steps
    assert reused > 3, reused  # the schools' kept parts were read, not only computed


async def _broken(path: Path) -> int:
    """A swept district whose kept standing an outside write has broken (another stage)."""
    clock = FakeClock(local(0, 9))
    services = await Services.open(Config(db_path=str(path)), clock)
    try:
        world = World(services, clock, await small_district(services, clock.now()))
        await world.report("张三", date(2024, 3, 1))
        await world.report("孙八", date(2024, 3, 4))
        await world.sweep()
        case_id = world.cases["张三"]
        text = await services.db.fetchval(
            "SELECT standing FROM case_plans WHERE case_id = ?", (case_id,)
        )
        await services.db.execute(
            "UPDATE case_plans SET standing = ? WHERE case_id = ?",
            (text.replace('"stage":"persuasion"', '"stage":"notice"'), case_id),
        )
        return case_id
    finally:
        await services.close()


def test_doctor_finds_a_broken_standing_and_forgets_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kcbx.db"
    case_id = asyncio.run(_broken(path))

    def doctor_at(now: datetime, *flags: str) -> int:  # `kcbx doctor` on the story's clock
        args = argparse.Namespace(repair="--repair" in flags)
        config = Config(db_path=str(path))
        return doctor(
            args, config, lambda c, w: asyncio.run(with_services(c, w, FakeClock(now))), "cli:test"
        )

    assert doctor_at(local(0, 10)) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("rollups agree with a recount")
    assert f"case {case_id} " in lines[-2] and "kept notice" in lines[-2]
    assert "ladder persuasion" in lines[-2]
    assert lines[-1] == "1 standings differ (2 kept); kcbx doctor --repair"
    assert doctor_at(local(0, 10), "--repair") == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("forgot 1 standings")
    assert doctor_at(local(0, 10)) == 0
    assert "standings agree with the ladder: 1 open cases" in capsys.readouterr().out


async def test_after_a_sweep_a_summary_computes_only_what_moved(world: World) -> None:
    """The sweep job brings every school's part up to date: the next summary reads no open
    case; after an action at one school, only that school's cases are read again."""
    for name, since in (("张三", 1), ("孙八", 2), ("周九", 4)):
        await world.report(name, date(2024, 3, since))
    await world.sweep()
    assert await warm_summaries(world.s) == 2
    reads: list[tuple[object, ...]] = []
    kept = world.s.reports.open_cases_kept

    async def counted(scope: Any) -> Any:
        reads.append(scope.params)
        return await kept(scope)

    async def text() -> str:  # the summary, counting the reads of open cases
        world.s.reports.open_cases_kept = counted  # type: ignore[method-assign]
        return await world.text()

    first = await text()
    assert reads == []
    await world.act("孙八", ActionKind.HOME_VISIT, "13900000021")
    await text()
    assert reads == [(world.d.units["wenchang_middle"],)]
    # a write and a look of the sweep in the same second, between two summaries
    await world.sweep()
    await warm_summaries(world.s)
    await world.act("张三", ActionKind.PHONE_CALL, "13900000021")
    await world.sweep()
    await text()
    assert reads[1:] == [(world.d.units["binhe_primary"],)]
    assert "张三" in first.split("缺课时间最长")[1].split("·")[1]  # the longest absent
    await world.same()


async def test_a_trees_summary_counts_its_own_schools_only(world: World) -> None:
    """Two districts at the top of two trees: the kept parts of one are not the other's."""
    other = await world.s.units.add("district", "中宁县")
    township = await world.s.units.add("township", "石空镇", other)
    school = await world.s.units.add("school", "石空小学", township, section="primary")
    db = world.s.db
    async with db.transaction():
        student = await db.execute(
            "INSERT INTO students (registry_no, name, gender, birth_date, school_id, grade,"
            " household_unit_id, a9_flags, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, '', ?)",
            ("G640521201501010999", "马十", "M", "2015-01-01", school, 3, township, "2024-03-01"),
        )
        await rollups.recount(db)
    world.d.students["马十"] = student
    await world.report("马十", date(2024, 3, 1))
    await world.report("张三", date(2024, 3, 4))
    await world.sweep()
    assert await warm_summaries(world.s) == 2  # a school of each tree
    text = await world.text()
    assert "马十" not in text and "石空" not in text
    assert "张三" in text
    await world.same()
