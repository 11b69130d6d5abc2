"""Count what each person receives over a 33-day ladder with 300 open cases (A7, A8).

    python tools/count_messages.py [--root TREE] [--cases 300] [--days 33] [--every 15]
                                   [--jobs sweep|all] [--returned N]

Builds the small test district (kcbx/testing/seed.py) in a fresh SQLite file, adds 60
classes of 滨河小学 with 300 students (causes cycling through A6's, one in ten with A9
flags), binds every person to Telegram, and reports all 300 absent on Monday 4 March 2024
between 09:00 and 14:00. Nobody acts: the worst case. The clock then moves in steps of
``--every`` minutes for ``--days`` days; at each step the sweep runs (``--jobs all``: the
digests and A8 warnings too). ``--returned N``: the first N children are back at school on
Tuesday 5 March at 10:00 (A7.6) and nobody checks in on them after (A4.2). Nothing is
delivered: each outbox row is one message.

Prints the largest number of messages one person got in one day and in one sweep, with who
and when, the top five of the day, and per-item escalations to the district leader.
``--root /work/main`` measures another checkout of kcbx (its own code, this script).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")
START = datetime(2024, 3, 4, 9, 0, tzinfo=SH)  # a Monday


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent))
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--days", type=int, default=33)
    parser.add_argument("--every", type=int, default=15, help="minutes between sweeps")
    parser.add_argument("--jobs", choices=("sweep", "all"), default="sweep")
    parser.add_argument("--returned", type=int, default=0, help="children back on day 1")
    return parser.parse_args()


async def _build(services: Any, cases: int) -> None:
    from kcbx.bot.domain.clock import to_iso
    from kcbx.bot.domain.policy.tree import CAUSES
    from kcbx.testing.seed import T0, small_district

    d = await small_district(services, T0)
    now = to_iso(T0)
    school = d.units["binhe_primary"]
    causes = [c for c in CAUSES if c != "unknown"] + ["unknown"]
    students = []
    async with services.db.transaction():
        for i in range(cases // 5):
            teacher = await services.db.execute(
                "INSERT INTO people (name, phone, role, unit_id, created_at)"
                " VALUES (?, ?, 'class_teacher', ?, ?)",
                (f"老师{i}", f"1580000{i:04d}", school, now),
            )
            klass = await services.db.execute(
                "INSERT INTO classes (school_id, grade, name, teacher_id) VALUES (?, ?, ?, ?)",
                (school, 1 + i % 6, f"{i + 10}班", teacher),
            )
            for j in range(5):
                n = i * 5 + j
                students.append(
                    await services.db.execute(
                        "INSERT INTO students (registry_no, name, school_id, class_id, grade,"
                        " household_unit_id, a9_flags, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            f"C{n:06d}",
                            f"学生{n}",
                            school,
                            klass,
                            1 + i % 6,
                            d.units["xindun/1"],
                            "orphan" if n % 10 == 0 else "",
                            now,
                        ),
                    )
                )
        await services.db.execute(
            "UPDATE people SET telegram_id = id + 100000, chat_id = id + 100000, lang = 'zh_CN'"
        )
    for n, student in enumerate(students):
        when = START + timedelta(minutes=n)
        services.clock.set(when)
        await services.cases.open_case(
            student_id=student,
            reported_by=None,
            absent_since=when.date(),
            cause=causes[n % len(causes)],
            guardian_contact=None,
            note=None,
            now=when,
            year=2024,
            actor="cli:count",
        )


async def _run(args: argparse.Namespace) -> None:
    from kcbx.bot.domain.clock import FakeClock
    from kcbx.bot.engine.digests import run_digests
    from kcbx.bot.engine.sweep import Sweeper
    from kcbx.bot.engine.wiring import register_features
    from kcbx.bot.runtime.config import Config
    from kcbx.bot.runtime.services import Services

    with tempfile.TemporaryDirectory() as tmp:
        config = Config(db_path=str(Path(tmp) / "count.db"), sweep_seconds=0)
        clock = FakeClock(START)
        services = await Services.open(config, clock)
        try:
            register_features(services)
            await _build(services, args.cases)
            sweeper = Sweeper(services)
            started = time.perf_counter()
            moment = START
            end = START + timedelta(days=args.days)
            back = START + timedelta(days=1, hours=1)
            while moment <= end:
                clock.set(moment)
                if args.returned and moment >= back:
                    await _back(services, args.returned, back)
                    args.returned = 0
                await sweeper.run(moment)
                if args.jobs == "all":
                    await run_digests(services)
                moment += timedelta(minutes=args.every)
            rows = await services.db.fetchall(
                "SELECT o.person_id, o.created_at, o.next_attempt_at, o.dedup_key, p.name,"
                " p.role FROM outbox o JOIN people p ON p.id = o.person_id"
            )
            _report(rows, time.perf_counter() - started, args)
        finally:
            await services.close()


async def _back(services: Any, count: int, when: datetime) -> None:
    """The first ``count`` open cases closed by a return (A7.6) at ``when``."""
    for case in (await services.cases.open_cases())[:count]:
        await services.cases.record_action(
            case.id, kind="returned", actor_id=None, at=when, now=when, rule="A7.6"
        )
        await services.cases.close(case.id, status="returned", now=when, actor="cli:count")


def _report(rows: list[Any], seconds: float, args: argparse.Namespace) -> None:
    per_day: Counter[tuple[str, str, str]] = Counter()
    per_sweep: Counter[tuple[str, str, str]] = Counter()
    district_items = 0
    for person_id, created, not_before, key, name, role in rows:
        sent = max(datetime.fromisoformat(created), datetime.fromisoformat(not_before))
        who = f"{name} ({role}, #{person_id})"
        per_day[(who, sent.astimezone(SH).strftime("%Y-%m-%d %a"), role)] += 1
        per_sweep[(who, datetime.fromisoformat(created).astimezone(SH).isoformat(), role)] += 1
        if role == "district_leader" and key.startswith(("e:", "r:", "u:")):
            district_items += 1
    print(
        f"{args.cases} cases, {args.days} days, a sweep every {args.every} min "
        f"({args.jobs}): {len(rows)} messages in {seconds:.0f} s"
    )
    (who, day, _), most = per_day.most_common(1)[0] if per_day else (("-", "-", ""), 0)
    print(f"most messages to one person in one day: {most} ({who}, {day})")
    (who, at, _), most = per_sweep.most_common(1)[0] if per_sweep else (("-", "-", ""), 0)
    print(f"most messages to one person in one sweep: {most} ({who}, {at})")
    print("top five person-days:")
    for (who, day, _), count in per_day.most_common(5):
        print(f"  {count:5d}  {day}  {who}")
    print(
        f"per-item messages (reminder, escalation, hand-over) to the district leader: "
        f"{district_items}"
    )


def main() -> None:
    args = _args()
    sys.path.insert(0, args.root)
    asyncio.run(_run(args))


if __name__ == "__main__":
    main()
