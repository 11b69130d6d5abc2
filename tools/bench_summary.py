"""Time the leaders' summary (issue 5) on a generated district and a generated province.

    python tools/bench_summary.py                       # both sizes below
    python tools/bench_summary.py --students 50000 --open 400
    python tools/bench_summary.py --keep DIR            # keep the database files

For each size it writes a fresh SQLite file (units, staff, classes, students, cases of the
school year, open and closed, with their actions and referrals), then times what a leader
waits for: /summary of the district, of a township and of a school (the SQL counts plus the
ladder over the open cases), the chart's data and picture, the ledger, the month-end freeze
and the A8 warnings pass. Each figure is the best of three runs (the first run warms SQLite's
cache, as a running bot's would be).

The data is written with plain SQL (a bench, like kcbx/testing/seed.py); the timed code is
the bot's own.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kcbx.bot.documents.summary_chart import summary_chart  # noqa: E402
from kcbx.bot.domain.clock import FakeClock, to_iso  # noqa: E402
from kcbx.bot.domain.i18n import translator  # noqa: E402
from kcbx.bot.engine.a8_warnings import queue_warnings  # noqa: E402
from kcbx.bot.runtime.config import Config  # noqa: E402
from kcbx.bot.runtime.services import Services  # noqa: E402
from kcbx.bot.services.accountability import freeze_month  # noqa: E402
from kcbx.bot.services.ledger import export_for_person  # noqa: E402
from kcbx.bot.services.summary import summary_view, unit_tree  # noqa: E402
from kcbx.bot.texts.summary import render_summary  # noqa: E402
from kcbx.storage import rollups  # noqa: E402

NOW = datetime(2024, 3, 20, 1, 0, tzinfo=UTC)  # Wednesday 20 March 2024, 09:00 in Shanghai
SURNAMES = "王李张刘陈杨马赵黄周吴徐孙胡朱高林何郭罗"
GIVEN = "小明红华军芳伟丽强敏静磊洋艳勇杰娟涛超霞平刚桂英"
FLAGS = ["left_behind", "rural_subsistence", "single_parent", "orphan", "disabled_child"]
CAUSES = ["unknown", "weariness", "child_labour", "poverty", "parents_unwilling", "internet"]
KINDS = ["phone_call", "home_visit", "persuasion", "registry_mark", "reported_up",
         "joint_persuasion", "note"]  # fmt: skip
ZH = translator("zh_CN")


async def build(
    path: Path, students: int, townships: int, schools_each: int, open_cases: int
) -> dict[str, int]:
    """Write the database; return the ids of the people to time with."""
    rng = random.Random(5)
    services = await Services.open(Config(db_path=str(path)), FakeClock(NOW))
    db = services.db
    stamp = to_iso(NOW)
    ids: dict[str, int] = {}
    async with db.transaction():
        district = await db.execute(
            "INSERT INTO units (kind, name) VALUES ('district', '沙坡头区')"
        )
        civil = await db.execute(
            "INSERT INTO units (kind, name, parent_id, code) VALUES ('department', '区民政局', ?,"
            " 'civil_affairs')",
            (district,),
        )
        groups: list[int] = []
        schools: list[tuple[int, str]] = []
        township_ids: list[int] = []
        for t in range(townships):
            township = await db.execute(
                "INSERT INTO units (kind, name, parent_id) VALUES ('township', ?, ?)",
                (f"第{t + 1}镇", district),
            )
            township_ids.append(township)
            for v in range(8):
                village = await db.execute(
                    "INSERT INTO units (kind, name, parent_id) VALUES ('village', ?, ?)",
                    (f"{t + 1}镇{v + 1}村", township),
                )
                for g in range(5):
                    groups.append(
                        await db.execute(
                            "INSERT INTO units (kind, name, parent_id) VALUES ('group', ?, ?)",
                            (f"{g + 1}组", village),
                        )
                    )
            for s in range(schools_each):
                section = "junior" if s % 4 == 3 else "primary"
                school = await db.execute(
                    "INSERT INTO units (kind, name, parent_id, section) VALUES ('school', ?, ?, ?)",
                    (
                        f"{t + 1}镇第{s + 1}{'中学' if section == 'junior' else '小学'}",
                        township,
                        section,
                    ),
                )
                schools.append((school, section))
        people = [("区长", "district_leader", district), ("教育局", "bureau_staff", district)]
        people += [("民政", "department_liaison", civil)]
        people += [(f"镇长{t}", "township_leader", t) for t in township_ids]
        people += [(f"校长{s}", "principal", s) for s, _ in schools]
        for name, role, unit in people:
            pid = await db.execute(
                "INSERT INTO people (name, phone, role, unit_id, created_at, chat_id, telegram_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, None, role, unit, stamp, None, None),
            )
            ids.setdefault(role, pid)
        classes: dict[int, list[tuple[int, int]]] = {}
        for school, section in schools:
            grades = range(7, 10) if section == "junior" else range(1, 7)
            for grade in grades:
                for c in range(3):
                    teacher = await db.execute(
                        "INSERT INTO people (name, role, unit_id, created_at)"
                        " VALUES (?, 'class_teacher', ?, ?)",
                        (f"老师{school}-{grade}-{c}", school, stamp),
                    )
                    cid = await db.execute(
                        "INSERT INTO classes (school_id, grade, name, teacher_id)"
                        " VALUES (?, ?, ?, ?)",
                        (school, grade, f"{c + 1}班", teacher),
                    )
                    classes.setdefault(school, []).append((cid, grade))
        batch = []
        for n in range(students):
            school, _section = schools[n % len(schools)]
            cid, grade = rng.choice(classes[school])
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(2))
            flags = rng.choice(FLAGS) if rng.random() < 0.05 else ""
            batch.append(
                (
                    f"G{n:018d}",
                    name,
                    "MF"[n % 2],
                    school,
                    cid,
                    grade,
                    rng.choice(groups),
                    flags,
                    stamp,
                )
            )
        await db.executemany(
            "INSERT INTO students (registry_no, name, gender, school_id, class_id, grade,"
            " household_unit_id, a9_flags, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            batch,
        )
        # cases of the school year: the open ones, and four times as many closed
        picked = rng.sample(range(1, students + 1), open_cases * 5)
        actions = []
        referrals = []
        for seq, student in enumerate(picked, start=1):
            since = NOW.date() - timedelta(days=rng.randint(0, 120))
            reported = datetime.combine(since, datetime.min.time(), tzinfo=UTC) + timedelta(hours=2)
            is_open = seq <= open_cases
            status = "open" if is_open else rng.choice(["returned"] * 8 + ["exempt", "transferred"])
            closed = (
                None if is_open else to_iso(min(NOW, reported + timedelta(days=rng.randint(1, 30))))
            )
            case = await db.execute(
                "INSERT INTO cases (number, year, seq, student_id, absent_since, reported_at,"
                " cause, status, closed_at) VALUES (?, 2024, ?, ?, ?, ?, ?, ?, ?)",
                (
                    f"KC-2024-{seq:05d}",
                    seq,
                    student,
                    since.isoformat(),
                    to_iso(reported),
                    rng.choice(CAUSES),
                    status,
                    closed,
                ),
            )
            for k in range(rng.randint(0, 5)):
                at = to_iso(min(NOW, reported + timedelta(days=k, hours=1)))
                actions.append((case, rng.choice(KINDS), ids["principal"], at, at, "{}"))
            if rng.random() < 0.3:
                referrals.append((case, civil, "poverty", to_iso(reported)))
        await db.executemany(
            "INSERT INTO actions (case_id, kind, actor_id, at, recorded_at, detail)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            actions,
        )
        await db.executemany(
            "INSERT INTO referrals (case_id, department_id, reason, created_at)"
            " VALUES (?, ?, ?, ?)",
            referrals,
        )
        await rollups.recount(db)  # written with plain SQL: the schools' counts (0026)
    await services.close()
    return ids


async def best(what: Callable[[], Awaitable[Any]], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await what()
        times.append(time.perf_counter() - started)
    return min(times)


async def measure(path: Path, ids: dict[str, int]) -> list[tuple[str, float, str]]:
    clock = FakeClock(NOW)
    services = await Services.open(Config(db_path=str(path)), clock)
    out: list[tuple[str, float, str]] = []
    try:
        people = {role: await services.people.get(pid) for role, pid in ids.items()}
        leader, township, principal = (
            people["district_leader"],
            people["township_leader"],
            people["principal"],
        )
        assert leader and township and principal
        district = leader.unit_id
        assert district is not None
        for label, person in (("district", leader), ("township", township), ("school", principal)):
            holder: list[Any] = []

            async def summary(person: Any = person, holder: list[Any] = holder) -> None:
                found = await summary_view(services, person, None)
                assert found is not None
                holder[:] = [
                    render_summary(found.summary, services.policy, ZH, "zh_CN", in_group=False)
                ]

            seconds = await best(summary)
            view = holder[0]
            out.append((f"/summary ({label})", seconds, f"{len(view.text)} chars"))
        out.append(
            (
                "chart (district)",
                await best(
                    lambda: summary_chart(services, leader, district, gettext=ZH, lang="zh_CN")
                ),
                "PNG",
            )
        )
        ledger_rows: list[str] = []

        async def ledger() -> None:
            made = await export_for_person(services, principal, gettext=ZH)
            assert made is not None
            ledger_rows[:] = [f"{made.cases} cases"]

        out.append(("/export (school)", await best(ledger, 1), ledger_rows[0]))

        async def district_ledger() -> None:
            made = await export_for_person(services, leader, gettext=ZH)
            assert made is not None
            ledger_rows[:] = [f"{made.cases} cases, {len(made.data) // 1024} KiB"]

        out.append(("/export (district)", await best(district_ledger, 1), ledger_rows[0]))
        tree = await unit_tree(services)
        started = time.perf_counter()
        await freeze_month(services, "2024-02", tree)
        out.append(("A8 freeze of one month", time.perf_counter() - started, "as of 1 March"))
        started = time.perf_counter()
        queued = await queue_warnings(services)
        out.append(("A8 warnings pass", time.perf_counter() - started, f"{queued} queued"))
    finally:
        await services.close()
    return out


async def bench(
    students: int, townships: int, schools_each: int, open_cases: int, keep: Path | None
) -> None:
    folder = keep or Path(tempfile.mkdtemp(prefix="kcbx-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"summary-{students}.db"
    path.unlink(missing_ok=True)
    started = time.perf_counter()
    ids = await build(path, students, townships, schools_each, open_cases)
    built = time.perf_counter() - started
    print(
        f"\n{students:,} students, {townships} townships, {townships * schools_each} schools, "
        f"{open_cases:,} open cases (+{open_cases * 4:,} closed this year); built in {built:.1f} s"
    )
    for what, seconds, note in await measure(path, ids):
        print(f"  {what:<26} {seconds * 1000:8.0f} ms   {note}")
    if keep is None:
        for file in folder.iterdir():
            file.unlink()
        folder.rmdir()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, help="one size only: this many students")
    parser.add_argument("--open", type=int, default=400, help="open cases (with --students)")
    parser.add_argument("--townships", type=int, default=12)
    parser.add_argument("--schools", type=int, default=8, help="schools per township")
    parser.add_argument("--keep", type=Path, help="keep the database files in this folder")
    args = parser.parse_args()
    sizes = (
        [(args.students, args.townships, args.schools, args.open)]
        if args.students
        else [(50_000, 12, 8, 400), (1_000_000, 200, 12, 4_000)]
    )
    for students, townships, schools, open_cases in sizes:
        asyncio.run(bench(students, townships, schools, open_cases, args.keep))


if __name__ == "__main__":
    main()
