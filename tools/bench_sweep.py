"""Time the sweep (issue 3) on a generated district and province.

    python tools/bench_sweep.py [--only district|province] [--bare] [--keep DIR]

Builds, with executemany into a fresh SQLite file (the real migrations):
- a district of 50,000 students with about 500 open cases;
- a province of 1,000,000 students (20 districts) with about 10,000 open cases;
every staff member bound to Telegram, cases spread over the last five weeks with some
actions recorded. Then it times, at 08:00 on a Monday:
1. the first sweep: every task due since the reports at once (first-due hooks, reminders,
   escalations, digests, one transaction of outbox rows);
2. an idle sweep a minute later, where nothing new is due (the cost of each minute: the
   sweeper skips the cases that have not changed and where nothing can be due yet);
3. the same with the outbox drained (rows marked sent), as in steady running;
4. an idle *full* sweep (a new sweeper looks at every case: after a restart, and every
   30 minutes, staggered).
``--bare`` leaves the features' hooks out (issue 4's referrals and 三包 chain, issue 6's
notices with their documents): the sweep's own cost.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kcbx.bot.domain.clock import FakeClock, to_iso  # noqa: E402
from kcbx.bot.domain.policy import CAUSES  # noqa: E402
from kcbx.bot.engine.sweep import Sweeper  # noqa: E402
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


async def measure(path: Path, bare: bool) -> dict[str, str]:
    clock = FakeClock(NOW)
    services = await Services.open(Config(db_path=str(path)), clock)
    if not bare:
        register_features(services)
    sweeper = Sweeper(services)  # as the bot's job keeps one

    async def timed(label: str, sweeper: Sweeper) -> None:
        started = time.perf_counter()
        report = await sweeper.run(clock.now())
        seconds = time.perf_counter() - started
        figures[label] = f"{seconds:.2f} s ({report.summary()}; {report.skipped} skipped)"

    try:
        figures: dict[str, str] = {}
        await timed("first sweep (everything due at once)", sweeper)
        clock.advance(timedelta(minutes=1))
        await timed("idle sweep a minute later", sweeper)
        async with services.db.transaction():
            await services.db.execute(
                "UPDATE outbox SET status = 'sent', sent_at = ? WHERE status = 'pending'",
                (to_iso(clock.now()),),
            )
        clock.advance(timedelta(minutes=1))
        await timed("idle sweep, outbox drained", sweeper)
        clock.advance(timedelta(minutes=1))
        await timed("idle full sweep (as after a restart)", Sweeper(services))
        return figures
    finally:
        await services.close()


def run(name: str, districts: int, per_district: int, cases: int, args: argparse.Namespace) -> None:
    folder = Path(args.keep or tempfile.mkdtemp(prefix="kcbx-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.db"
    path.unlink(missing_ok=True)
    built = build(path, districts, per_district, cases)
    print(
        f"{name}: {built.students:,} students, {built.cases:,} open cases, "
        f"{built.people:,} people; generated in {built.seconds:.1f} s ({path})"
    )
    figures = asyncio.run(measure(path, args.bare))
    for label, value in figures.items():
        print(f"  {label}: {value}")
    if not args.keep:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("district", "province"))
    parser.add_argument("--bare", action="store_true", help="without the features' hooks")
    parser.add_argument("--keep", help="keep the databases in this folder")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(f"sweep at {NOW:%Y-%m-%d %H:%M} (Asia/Shanghai), features {'off' if args.bare else 'on'}")
    if args.only in (None, "district"):
        run("district", 1, 50_000, 500, args)
    if args.only in (None, "province"):
        run("province", 20, 50_000, 10_000, args)


if __name__ == "__main__":
    main()
