"""Time the sweep at 10,000 and 100,000 open cases, beside a raw SQLite anchor.

    python tools/bench_sweep.py [--sizes 10000,100000] [--bare] [--cache DIR]
                                [--bare-catchup-above N] [--settled]

For each size, a province is generated with executemany into a SQLite file (the real
migrations; cached under ``--cache`` and copied for each run, since 100,000 open cases take a
while to build): 25,000 students per district, every staff member bound to Telegram, the open
cases spread over the last five weeks with some actions recorded. Then, at 08:00 on a Monday:

1. catch-up: the first sweep, everything due since the reports at once (first-due hooks,
   reminders, escalations, digests, notices): the time until the first message is queued,
   and the whole sweep;
2. idle: a minute later, the outbox drained, nothing new due (the cost of each minute);
3. 10 changed: an action recorded on each of 10 cases, then the next minute's sweep;
4. restart: the services closed and opened again and a new sweeper (as after ``kcbx run``
   restarts), the next minute.
Idle and 10 changed are the median of five minutes, restart of three.

The anchor is a raw sqlite3 query over the same tables, in the same run: every open case with
its actions, read once. Each figure is also given as a ratio to it, so that runs on different
machines (or main against a branch) compare. ``--bare`` leaves the features' hooks out (the
referrals and the 三包 chain, the notices): the sweep's own cost. ``--bare-catchup-above N``
runs the catch-up of larger sizes without the features (they are on again from the idle
sweep), where rendering every notice inside the sweep would take hours. ``--settled`` skips
the catch-up (20 minutes at 100,000 open cases on 2 cores): every plan is marked swept, due
after the horizon, under today's rules, as a long-running bot's index stands between its
cases' steps; idle, 10 changed and restart then take minutes to measure.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import random
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kcbx.bot.domain.clock import FakeClock, to_iso  # noqa: E402
from kcbx.bot.domain.policy.tree import CAUSES  # noqa: E402
from kcbx.bot.engine.sweep import Sweeper  # noqa: E402
from kcbx.bot.engine.wake import rules_fingerprint  # noqa: E402
from kcbx.bot.engine.wiring import register_features  # noqa: E402
from kcbx.bot.runtime.config import Config  # noqa: E402
from kcbx.bot.runtime.services import Services  # noqa: E402
from kcbx.storage.db import Database  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 4, 8, 8, 0, tzinfo=SH)  # a Monday morning, 08:00
DEPARTMENTS = (
    "education_bureau",
    "civil_affairs",
    "public_security",
    "justice",
    "united_front",
    "hr_social_security",
    "market_supervision",
    "cyberspace",
    "rural_revitalisation",
    "youth_league",
    "womens_federation",
)
TOWNSHIPS, VILLAGES, GROUPS, SCHOOLS, CLASS_SIZE = 8, 12, 6, 24, 40
KINDS = ("phone_call", "home_visit", "persuasion", "registry_mark", "reported_up")


@dataclass
class Built:
    students: int
    cases: int
    people: int
    seconds: float


class Ids:
    def __init__(self) -> None:
        self.unit = self.person = self.klass = self.student = 0

    def next(self, kind: str) -> int:
        value = getattr(self, kind) + 1
        setattr(self, kind, value)
        return value


def build(path: Path, districts: int, per_district: int, cases: int, seed: int = 3) -> Built:
    """Write the province: units, people, classes, students, open cases and some actions."""
    started = time.perf_counter()
    asyncio.run(_migrate(path))
    rng = random.Random(seed)
    ids = Ids()
    now = to_iso(NOW)
    units: list[tuple[object, ...]] = []
    people: list[tuple[object, ...]] = []
    classes: list[tuple[object, ...]] = []
    students: list[tuple[object, ...]] = []

    def unit(kind: str, name: str, parent: int | None, section: str | None = None,
             code: str | None = None) -> int:  # fmt: skip
        uid = ids.next("unit")
        units.append((uid, kind, name, parent, section, code))
        return uid

    def person(role: str, unit_id: int) -> int:
        pid = ids.next("person")
        people.append((pid, f"人员{pid}", f"1{pid:010d}", role, unit_id, pid, pid, "zh_CN", now))
        return pid

    student_no = 0
    for d in range(districts):
        district = unit("district", f"区{d}", None)
        person("bureau_staff", district)
        person("district_leader", district)
        for code in DEPARTMENTS:
            person("department_liaison", unit("department", f"{code}{d}", district, code=code))
        groups: list[int] = []
        schools: list[int] = []
        for t in range(TOWNSHIPS):
            township = unit("township", f"镇{d}-{t}", district)
            person("township_leader", township)
            for v in range(VILLAGES):
                village = unit("village", f"村{v}", township)
                person("township_cadre", village)
                for g in range(GROUPS):
                    group = unit("group", f"{g}组", village)
                    person("village_cadre", group)
                    person("group_cadre", group)
                    groups.append(group)
            for s in range(SCHOOLS // TOWNSHIPS):
                school = unit("school", f"校{t}-{s}", township, section="primary")
                person("principal", school)
                person("school_lead", school)
                schools.append(school)
        per_school = per_district // len(schools)
        for school in schools:
            for c in range((per_school + CLASS_SIZE - 1) // CLASS_SIZE):
                teacher = person("class_teacher", school)
                klass = ids.next("klass")
                grade = 1 + c % 6
                classes.append((klass, school, grade, f"{c}班", teacher))
                for _ in range(min(CLASS_SIZE, per_school - c * CLASS_SIZE)):
                    student_no += 1
                    sid = ids.next("student")
                    flags = "left_behind" if rng.random() < 0.05 else ""
                    students.append(
                        (sid, f"G{sid:018d}", f"学生{sid}", school, klass, grade,
                         rng.choice(groups), flags, now)
                    )  # fmt: skip
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    with conn:
        conn.executemany(
            "INSERT INTO units (id, kind, name, parent_id, section, code) VALUES (?,?,?,?,?,?)",
            units,
        )
        conn.executemany(
            "INSERT INTO people (id, name, phone, role, unit_id, telegram_id, chat_id, lang,"
            " created_at) VALUES (?,?,?,?,?,?,?,?,?)",
            people,
        )
        conn.executemany(
            "INSERT INTO classes (id, school_id, grade, name, teacher_id) VALUES (?,?,?,?,?)",
            classes,
        )
        conn.executemany(
            "INSERT INTO students (id, registry_no, name, school_id, class_id, grade,"
            " household_unit_id, a9_flags, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
            students,
        )
        case_rows, action_rows = [], []
        causes = [c for c in CAUSES if c != "other"]
        for n, sid in enumerate(rng.sample(range(1, student_no + 1), cases), start=1):
            since = NOW.date() - timedelta(days=rng.randint(0, 35))
            reported = datetime.combine(since, datetime.min.time(), SH) + timedelta(hours=9)
            case_rows.append(
                (n, f"KC-2024-{n:05d}", 2024, n, sid, since.isoformat(), to_iso(reported),
                 rng.choice(causes))
            )  # fmt: skip
            for kind in rng.sample(KINDS, rng.randint(0, 3)):
                when = reported + timedelta(hours=rng.randint(1, 60))
                if when < NOW:
                    action_rows.append((n, kind, to_iso(when), to_iso(when)))
        conn.executemany(
            "INSERT INTO cases (id, number, year, seq, student_id, absent_since, reported_at,"
            " cause) VALUES (?,?,?,?,?,?,?,?)",
            case_rows,
        )
        conn.executemany(
            "INSERT INTO actions (case_id, kind, at, recorded_at) VALUES (?,?,?,?)", action_rows
        )
    conn.execute("ANALYZE")
    conn.close()
    return Built(student_no, cases, len(people), time.perf_counter() - started)


async def _migrate(path: Path) -> None:
    db = await Database.open(path)
    await db.close()


def migrations_digest() -> str:
    folder = ROOT / "kcbx" / "storage" / "migrations"
    names = "\n".join(sorted(p.name for p in folder.glob("*.sql")))
    return hashlib.sha256(names.encode()).hexdigest()[:10]


def cached_province(cache: Path, size: int) -> tuple[Path, str]:
    """The generated province with ``size`` open cases, built once per schema."""
    cache.mkdir(parents=True, exist_ok=True)
    districts = max(1, size // 2_500)
    path = cache / f"province-{size}-{migrations_digest()}.db"
    if path.exists():
        return path, f"cached {path}"
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    built = build(partial, districts, 25_000, size)
    partial.rename(path)
    return path, (
        f"{built.students:,} students, {built.cases:,} open cases, {built.people:,} people; "
        f"built in {built.seconds:.0f} s ({path})"
    )


def anchor(path: Path) -> float:
    """Seconds to read every open case with its actions in raw sqlite3 (best of three)."""
    best = float("inf")
    for _ in range(3):
        conn = sqlite3.connect(path)
        started = time.perf_counter()
        conn.execute(
            "SELECT c.id, c.student_id, c.absent_since, c.reported_at, c.cause, c.status,"
            " a.kind, a.at FROM cases c LEFT JOIN actions a ON a.case_id = c.id"
            " WHERE c.status = 'open'"
        ).fetchall()
        best = min(best, time.perf_counter() - started)
        conn.close()
    return best


@dataclass
class Figure:
    seconds: float
    note: str


class Bench:
    """One province: the sweeps in order, on a copy of the cached file (or a PostgreSQL
    database's URL: tools/bench_province.py)."""

    def __init__(
        self, path: Path | str, *, bare: bool, bare_catchup: bool, settled: bool = False
    ) -> None:
        self.path, self.bare, self.bare_catchup = path, bare, bare_catchup
        self.settled = settled
        self.clock = FakeClock(NOW)
        self.figures: dict[str, Figure] = {}
        self.before: Callable[[], Awaitable[None]] | None = None
        self.restarts: list[float] = []
        self.sweeper: Sweeper

    async def open(self, features: bool) -> Services:
        services = await Services.open(Config(db_path=str(self.path)), self.clock)
        if features:
            register_features(services)
        return services

    async def timed(
        self, label: str, sweeper: Sweeper, first: list[float] | None = None, repeat: int = 1
    ) -> None:
        """Time ``repeat`` sweeps a minute apart (before each, ``self.before``); the median."""
        times: list[float] = []
        note = ""
        for n in range(repeat):
            if n:
                self.clock.advance(timedelta(minutes=1))
            if self.before is not None:
                await self.before()
            started = time.perf_counter()
            report = await sweeper.run(self.clock.now())
            times.append(time.perf_counter() - started)
            note = f"{report.summary()}; {report.skipped} skipped"
            if first is not None:
                to_first = (first[0] - started) if first else times[-1]
                self.figures["catch-up: until the first message is queued"] = Figure(to_first, "")
        if repeat > 1:
            note += f" (median of {repeat})"
        self.figures[label] = Figure(statistics.median(times), note)

    async def run(self) -> dict[str, Figure]:
        features = not self.bare
        services = await self.open(features and not self.bare_catchup)
        if self.settled:
            await settle(services)
        else:
            first: list[float] = []
            spy_first_enqueue(services, first)
            await self.timed("catch-up: the whole sweep", Sweeper(services), first)
        await drain(services, self.clock.now())
        if self.bare_catchup and features:
            await services.close()
            services = await self.open(True)
        sweeper = Sweeper(services)  # as the bot's job keeps one
        self.clock.advance(timedelta(minutes=1))
        await sweeper.run(self.clock.now())  # settles what the catch-up's writes changed
        await drain(services, self.clock.now())
        self.clock.advance(timedelta(minutes=1))
        await self.timed("idle minute sweep", sweeper, repeat=5)
        self.clock.advance(timedelta(minutes=1))

        async def change() -> None:
            await change_cases(services, self.clock.now(), 10)

        self.before = change
        await self.timed("sweep with 10 changed cases", sweeper, repeat=5)
        self.before = None
        await drain(services, self.clock.now())
        await services.close()
        self.clock.advance(timedelta(minutes=1))

        async def restart() -> None:
            nonlocal services
            await services.close()
            services = await self.open(features)
            self.sweeper = Sweeper(services)

        services = await self.open(features)
        for n in range(3):  # the median of three restarts
            if n:
                self.clock.advance(timedelta(minutes=1))
            await restart()
            started = time.perf_counter()
            report = await self.sweeper.run(self.clock.now())
            self.restarts.append(time.perf_counter() - started)
        note = f"{report.summary()}; {report.skipped} skipped (median of 3)"
        self.figures["restart sweep"] = Figure(statistics.median(self.restarts), note)
        await services.close()
        return self.figures


async def settle(services: Services) -> None:
    """Every open case planned and swept under today's rules, nothing due for a year."""
    await services.case_plans.adopt_missing()
    async with services.db.transaction():
        await services.db.execute(
            "UPDATE case_plans SET wake_at = ?, changed = 0", ("2030-01-01T00:00:00+00:00",)
        )
    await services.case_plans.set_fingerprint(rules_fingerprint(services.policy))


def spy_first_enqueue(services: Services, first: list[float]) -> None:
    """Note when the first outbox row is written (the catch-up's first message)."""
    original: Callable[..., Awaitable[int]] = services.outbox.enqueue_many

    async def enqueue_many(items: Any, *, now: datetime) -> int:
        count = await original(items, now=now)
        if count and not first:
            first.append(time.perf_counter())
        return count

    services.outbox.enqueue_many = enqueue_many  # type: ignore[method-assign]


async def drain(services: Services, now: datetime) -> None:
    """Everything queued counts as sent, and the log checkpointed, as in steady running."""
    async with services.db.transaction():
        await services.db.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ? WHERE status = 'pending'",
            (to_iso(now),),
        )
    if services.db.dialect == "sqlite":
        await services.db.fetchall("PRAGMA wal_checkpoint(TRUNCATE)")


async def change_cases(services: Services, now: datetime, count: int) -> None:
    """A phone call recorded on ``count`` open cases, as teachers do through the bot."""
    cases = await services.cases.open_cases()
    for case in random.Random(5).sample(cases, count):
        await services.cases.record_action(
            case.id, kind="phone_call", actor_id=None, at=now, now=now
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="open cases, comma-separated")
    parser.add_argument("--bare", action="store_true", help="without the features' hooks")
    parser.add_argument("--cache", default="/tmp/kcbx-bench-cache", help="built databases")
    parser.add_argument("--bare-catchup-above", type=int, default=None, metavar="N")
    parser.add_argument("--settled", action="store_true", help="skip the catch-up (see above)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"sweep at {NOW:%Y-%m-%d %H:%M} (Asia/Shanghai), features {'off' if args.bare else 'on'}")
    cache = Path(args.cache)
    results: dict[int, dict[str, Figure]] = {}
    anchors: dict[int, float] = {}
    for size in sizes:
        source, how = cached_province(cache, size)
        print(f"{size:,} open cases: {how}", flush=True)
        work = cache / f"work-{size}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(work) + suffix).unlink(missing_ok=True)
        shutil.copyfile(source, work)
        anchors[size] = anchor(work)
        bare_catchup = args.bare_catchup_above is not None and size > args.bare_catchup_above
        bench = Bench(work, bare=args.bare, bare_catchup=bare_catchup, settled=args.settled)
        results[size] = asyncio.run(bench.run())
        for label, figure in results[size].items():
            print(f"  {label}: {figure.seconds * 1000:,.1f} ms  {figure.note}", flush=True)
        if bare_catchup:
            print("  (catch-up without the features' hooks)")
        for suffix in ("", "-wal", "-shm"):
            Path(str(work) + suffix).unlink(missing_ok=True)
    print_table(sizes, results, anchors)


def print_table(
    sizes: list[int], results: dict[int, dict[str, Figure]], anchors: dict[int, float]
) -> None:
    labels = list(results[sizes[0]])
    width = max(len(label) for label in labels) + 2
    print()
    print("".ljust(width) + "".join(f"{s:>14,} open {'(x anchor)':>11}" for s in sizes))
    print(
        "anchor: raw read".ljust(width)
        + "".join(f"{anchors[s] * 1000:>14,.1f} ms{'':>11}" for s in sizes)
    )
    for label in labels:
        cells = ""
        for s in sizes:
            figure = results[s][label]
            cells += f"{figure.seconds * 1000:>14,.1f} ms {figure.seconds / anchors[s]:>9.2f}x"
        print(label.ljust(width) + cells)


if __name__ == "__main__":
    main()
