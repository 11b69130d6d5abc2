"""Time the handling of updates through the real bot, on a district and on a province.

    python tools/bench_updates.py                       # 50,000 and 1,000,000 students
    python tools/bench_updates.py --students 50000 --open 400

The database is built by tools/bench_summary.py's builder (units, staff, classes, students,
cases of the school year with their actions). The real bot (the composition root of
`kcbx run`) then polls the fake Bot API server on loopback, and people send commands and press
buttons; each figure is the time from the update being queued at the fake server to the
bot's answer arriving there: the whole round trip, long poll and HTTP included, so an upper
bound of what the handler itself costs. Flood control is off in the fake server here: we
time our handling, not Telegram's pacing. 20 runs each; median and 95th percentile.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from bench_summary import NOW, build  # noqa: E402

from kcbx.bot.domain.roles import Role  # noqa: E402
from kcbx.testing.fakebot import FakeBotApi, FakeUser  # noqa: E402
from kcbx.testing.harness import BotHarness  # noqa: E402

RUNS = 20


async def timed(action: Callable[[], Awaitable[object]], user: FakeUser) -> list[float]:
    times = []
    for _ in range(RUNS):
        user.inbox()
        start = time.perf_counter()
        await action()
        await user.next_message(timeout=120)
        times.append(time.perf_counter() - start)
    return times


def line(label: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"  {label:<38} median {statistics.median(times) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms"
    )


async def run(students: int, open_cases: int, townships: int, folder: Path) -> None:
    path = folder / f"bench-updates-{students}.db"
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    ids = await build(path, students, townships, 8, open_cases)
    print(f"{students:,} students, {open_cases:,} open cases: built in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    fake = FakeBotApi(token="123456:BENCH-token", bot_username="kcbx_bench_bot",
                      flood_control=False)  # fmt: skip
    async with BotHarness(path, NOW, fake=fake) as h:
        s = h.s
        principal = await s.people.get(ids["principal"])
        assert principal is not None and principal.unit_id is not None
        teacher = (await s.people.in_units([principal.unit_id], [Role.CLASS_TEACHER]))[0]
        cast = {
            "teacher": teacher.id,
            "principal": ids["principal"],
            "township": ids["township_leader"],
            "district": ids["district_leader"],
        }
        users: dict[str, FakeUser] = {}
        for n, (key, person_id) in enumerate(cast.items()):
            uid = 90_000 + n
            await s.people.bind_telegram(
                person_id, telegram_id=uid, chat_id=uid, lang="zh_CN", name=key, now=NOW
            )
            users[key] = fake.user(uid, started=True)
        results = [
            ("teacher /cases", await timed(lambda: users["teacher"].send("/cases"),
                                            users["teacher"])),
            ("teacher /report (class picker)", await timed(
                lambda: users["teacher"].send("/report"), users["teacher"])),
            ("teacher /cancel", await timed(lambda: users["teacher"].send("/cancel"),
                                             users["teacher"])),
            ("principal /cases", await timed(lambda: users["principal"].send("/cases"),
                                              users["principal"])),
            ("principal /summary", await timed(lambda: users["principal"].send("/summary"),
                                                users["principal"])),
            ("township leader /summary", await timed(
                lambda: users["township"].send("/summary"), users["township"])),
            ("district leader /summary", await timed(
                lambda: users["district"].send("/summary"), users["district"])),
            ("district leader /help", await timed(lambda: users["district"].send("/help"),
                                                   users["district"])),
        ]  # fmt: skip
        summary = next(
            m
            for m in reversed(users["district"].messages)
            if any(d.startswith("sum:") for d in m.button_data.values())
        )
        first = next(d for d in summary.button_data.values() if d.startswith("sum:"))
        leader = users["district"]
        presses = []
        for _ in range(RUNS // 2):
            for data in (first, "up"):
                if data == "up":  # the summary message now shows the township
                    data = next(d for d in summary.button_data.values() if d.startswith("sum:u:"))
                leader.inbox()
                start = time.perf_counter()
                await leader.press_data(data, summary)
                await leader.next_message(timeout=120)
                presses.append(time.perf_counter() - start)
        results.append(("district leader drills down and up", presses))
        for label, times in results:
            print(line(label, times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, help="one size only: this many students")
    parser.add_argument("--open", type=int, default=400, help="open cases (with --students)")
    parser.add_argument("--keep", type=Path, help="keep the database files in this folder")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="kcbx-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    if args.students:
        sizes = [(args.students, args.open, 12)]
    else:
        sizes = [(50_000, 400, 12), (1_000_000, 4_000, 120)]
    for students, open_cases, townships in sizes:
        asyncio.run(run(students, open_cases, townships, folder))


if __name__ == "__main__":
    main()
