"""kcbx beside its anchors, measured in the same run: the table of the README's "How fast".

    python tools/bench.py            # 50,000 students
    python tools/bench.py --big      # and 1,000,000 students (built once, cached in /tmp)

The databases are built by tools/bench_summary.py's builder and cached under
/tmp/kcbx-bench/ (each run works on a copy, so every run starts from the same data). Rows:

- a /report button step (the gate, one page of a class's students, the edit) through
  ``Application.process_update`` of the real bot (the composition root of ``kcbx run``) with an
  in-memory request object (no HTTP), against bare python-telegram-bot in the same process:
  an echo, and an answer+edit of a callback query, through the same request object;
- confirming a report (``report_absence``) one after another, and 100 teachers at once,
  against raw SQLite insert+commit (WAL, synchronous=FULL) on the same disk, measured beside
  each round (the disk is shared: its speed moves);
- the district /summary (after one sweep, as a running bot has made) against a raw GROUP BY
  count over the same tables, same connection;
- the RSS of a fresh process at start (what ``kcbx run`` imports and opens) and after a mixed
  run (/summary, /cases, /report with button steps, a sweep, an export), in a subprocess.

Each rate is the median of its rounds (the button step's 5, taken in turn with its anchors';
the confirmations' 3); each time the best of 3.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import logging
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from bench_summary import NOW, best, build  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters  # noqa: E402
from telegram.request import BaseRequest, RequestData  # noqa: E402

CACHE = Path(os.environ.get("KCBX_BENCH_CACHE", "/tmp/kcbx-bench"))  # one per worktree if several
SIZES = {50_000: (12, 8, 400), 1_000_000: (200, 12, 4_000)}  # townships, schools each, open
BOT = {"id": 1, "is_bot": True, "first_name": "kcbx", "username": "kcbx_bench_bot"}
TOKEN = "123456:BENCH-token"


class MemoryRequest(BaseRequest):
    """The Bot API in memory: every method succeeds; edits and sends return their message."""

    def __init__(self) -> None:
        self.message_id = 1000
        self.calls = 0
        self.shown: dict[int, dict[str, Any]] = {}  # chat -> text and keyboard last sent or edited

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        self.calls += 1
        name = url.rsplit("/", 1)[-1]
        params = json.loads(request_data.json_payload) if request_data else {}
        result: Any = True
        if name == "getMe":
            result = BOT
        elif name in ("sendMessage", "editMessageText", "sendDocument", "sendPhoto"):
            self.message_id += 1
            chat = int(params.get("chat_id", 1))
            result = {
                "message_id": params.get("message_id", self.message_id),
                "date": int(NOW.timestamp()),
                "chat": {"id": chat, "type": "private", "first_name": "t"},
                "from": BOT,
                "text": params.get("text", ""),
            }
            markup = params.get("reply_markup")
            if isinstance(markup, str):
                markup = json.loads(markup)
            if markup:
                result["reply_markup"] = markup
            self.shown[chat] = {"text": result["text"], "reply_markup": markup or {}}
        elif name == "getMyCommands":
            result = []
        return 200, json.dumps({"ok": True, "result": result}).encode()


def _user(uid: int) -> dict[str, Any]:
    return {"id": uid, "is_bot": False, "first_name": "t", "language_code": "zh-hans"}


def text_update(n: int, uid: int, text: str) -> dict[str, Any]:
    return {
        "update_id": n,
        "message": {
            "message_id": n,
            "date": int(NOW.timestamp()),
            "chat": {"id": uid, "type": "private", "first_name": "t"},
            "from": _user(uid),
            "text": text,
            **(
                {"entities": [{"type": "bot_command", "offset": 0, "length": len(text)}]}
                if text.startswith("/")
                else {}
            ),
        },
    }


KEYBOARD = {
    "inline_keyboard": [
        [{"text": f"学生{2 * r + c}", "callback_data": f"rep:s:{2 * r + c}"} for c in range(2)]
        for r in range(5)
    ]
    + [[{"text": "下一页 ›", "callback_data": "rep:c:1:1"}]]
    + [[{"text": "取消", "callback_data": "x"}]]
}


def button_update(
    n: int, uid: int, data: str, shown: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A press of ``data`` under the message on the screen: ``shown``, the text and keyboard the
    bot last sent there (Telegram's callback query carries the message as the bot made it),
    else a question under ten students' buttons."""
    message = shown or {"text": "哪位学生无故缺课？", "reply_markup": KEYBOARD}
    return {
        "update_id": n,
        "callback_query": {
            "id": str(n),
            "from": _user(uid),
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": 7,
                "date": int(NOW.timestamp()),
                "chat": {"id": uid, "type": "private", "first_name": "t"},
                "from": BOT,
                **message,
            },
        },
    }


async def rate(app: Any, updates: list[dict[str, Any]]) -> float:
    """Updates a second through process_update (de-serialising each, as the updater does)."""
    started = time.perf_counter()
    for raw in updates:
        await app.process_update(Update.de_json(raw, app.bot))
    return len(updates) / (time.perf_counter() - started)


async def interleaved(
    runs: dict[str, tuple[Any, Callable[[int], list[dict[str, Any]]]]], rounds: int = 5
) -> dict[str, float]:
    """The median rate of each run, their rounds taken in turn (one round of each, then the
    next): on a machine shared with others, the load moves within a run, and a kcbx measured
    after its anchor would be measured under another load."""
    for app, make in runs.values():
        await rate(app, make(0)[:20])  # warm up
    found: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(1, rounds + 1):
        for name, (app, make) in runs.items():
            found[name].append(await rate(app, make(r)))
    return {name: statistics.median(rates) for name, rates in found.items()}


def bare_app(request: MemoryRequest) -> Any:
    app = Application.builder().token(TOKEN).request(request).get_updates_request(request).build()

    async def echo(update: Update, _context: Any) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(update.message.text)

    async def answer_edit(update: Update, _context: Any) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text("哪位学生无故缺课？", reply_markup=query.message.reply_markup)  # type: ignore[union-attr]

    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(answer_edit))
    return app


async def kcbx_app(path: Path, request: MemoryRequest) -> tuple[Any, Any]:
    """The bot as `kcbx run` builds it, its services opened, fed through ``request``."""
    from kcbx.bot.domain.clock import FakeClock
    from kcbx.bot.engine.wiring import register_features
    from kcbx.bot.runtime.config import Config
    from kcbx.bot.runtime.services import Services
    from kcbx.handlers import app as composition
    from kcbx.handlers.context import SERVICES_KEY

    # Telegram's pacing (30 messages a second) is off: we time our handling, not the limiter
    config = Config(
        telegram_token=TOKEN,
        db_path=str(path),
        sweep_seconds=0,
        overall_max_rate=0,
        group_max_rate=0,
    )
    clock = FakeClock(NOW)
    services = await Services.open(config, clock)
    original = Application.builder

    def builder() -> Any:  # the same builder, with the in-memory request object
        return original().request(request).get_updates_request(request)

    Application.builder = builder  # type: ignore[method-assign]
    own = composition.http_request  # the request objects kcbx sets on the builder itself
    composition.http_request = lambda **_: request  # type: ignore[assignment]
    try:
        app = composition.build_application(config, clock=clock, services=services)
    finally:
        Application.builder = original  # type: ignore[method-assign]
        composition.http_request = own  # type: ignore[assignment]
    await app.initialize()
    register_features(services)
    app.bot_data[SERVICES_KEY] = services
    app.bot_data["kcbx.default_language"] = config.default_language
    return app, services


async def bind(services: Any, person_id: int, uid: int) -> None:
    await services.people.bind_telegram(
        person_id, telegram_id=uid, chat_id=uid, lang="zh_CN", name=str(uid), now=NOW
    )


async def teachers(services: Any, count: int) -> list[tuple[int, int]]:
    """(teacher, class) pairs of the first ``count`` classes."""
    rows = await services.db.fetchall(
        "SELECT teacher_id, id FROM classes ORDER BY id LIMIT ?", (count,)
    )
    return [(r["teacher_id"], r["id"]) for r in rows]


async def button_rows(path: Path) -> list[tuple[str, float, str, float]]:
    request = MemoryRequest()
    bare = bare_app(request)
    await bare.initialize()
    app, services = await kcbx_app(path, request)
    try:
        ((teacher, class_id),) = await teachers(services, 1)
        uid = 90_001
        await bind(services, teacher, uid)
        await app.process_update(Update.de_json(text_update(1, uid, "/report"), app.bot))
        pages = []  # the class's first two pages as the bot shows them
        for page in (0, 1):
            press = button_update(2 + page, uid, f"rep:c:{class_id}:{page}")
            await app.process_update(Update.de_json(press, app.bot))
            pages.append(request.shown[uid])

        def presses(r: int) -> list[dict[str, Any]]:  # to the other page, from the one shown
            return [
                button_update(
                    10_000 * (r + 1) + n, uid, f"rep:c:{class_id}:{n % 2}", pages[1 - n % 2]
                )
                for n in range(500)
            ]

        def edits(r: int) -> list[dict[str, Any]]:  # the same message, answered and edited
            return [button_update(n, 5, "rep:c:1:1", pages[n % 2]) for n in range(500)]

        rates = await interleaved(
            {
                "echo": (bare, lambda r: [text_update(n, 5, "你好") for n in range(500)]),
                "edit": (bare, edits),
                "step": (app, presses),
            }
        )
    finally:
        await bare.shutdown()
        await app.shutdown()
        await services.close()
    return [
        ("a /report button step", rates["step"], "bare PTB echo", rates["echo"]),
        ("a /report button step", rates["step"], "bare PTB answer+edit", rates["edit"]),
    ]


def raw_commits(folder: Path, count: int = 300) -> float:
    path = folder / f"raw-full-{os.getpid()}.db"
    for stale in folder.glob(path.name + "*"):
        stale.unlink()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, student INTEGER, at TEXT, note TEXT)")
    started = time.perf_counter()
    for n in range(count):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (student, at, note) VALUES (?, ?, ?)", (n, str(NOW), "x"))
        conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    for done in folder.glob(path.name + "*"):
        done.unlink()
    return count / seconds


async def confirm_rows(path: Path) -> list[tuple[str, float, str, float]]:
    from kcbx.bot.domain.clock import FakeClock
    from kcbx.bot.runtime.config import Config
    from kcbx.bot.runtime.services import Services
    from kcbx.bot.services.reporting import ReportDraft, report_absence

    config = Config(db_path=str(path))
    services = await Services.open(config, FakeClock(NOW))
    raws: list[float] = []  # measured beside each round: the shared disk's speed moves
    try:
        mode = (await services.db.fetchone("PRAGMA synchronous"))[0]
        pairs = await teachers(services, 400)
        spare = await services.db.fetchall(
            "SELECT s.id, c.teacher_id FROM students s JOIN classes c ON c.id = s.class_id"
            " WHERE s.id NOT IN (SELECT student_id FROM cases) AND c.id <= ?"
            " ORDER BY s.id",
            (pairs[-1][1],),
        )
        people = {t: await services.people.get(t) for t, _ in pairs}
        queue = [(people[r["teacher_id"]], r["id"]) for r in spare]
        since = NOW.date() - timedelta(days=2)

        async def confirm(person: Any, student: int) -> None:
            draft = ReportDraft(student, absent_since=since, cause="weariness", contact="agreed")
            result = await report_absence(services, person, draft)
            assert result.created

        rounds = []
        for _ in range(3):
            raws.append(raw_commits(path.parent))
            batch, queue = queue[:150], queue[150:]
            started = time.perf_counter()
            for person, student in batch:
                await confirm(person, student)
            rounds.append(len(batch) / (time.perf_counter() - started))
        sequential = statistics.median(rounds)
        at_once = []
        for _ in range(3):
            batch, rest = [], []
            seen: set[int] = set()
            for person, student in queue:
                if person.id in seen or len(batch) == 100:
                    rest.append((person, student))
                else:
                    seen.add(person.id)
                    batch.append((person, student))
            queue = rest
            raws.append(raw_commits(path.parent))
            started = time.perf_counter()
            await asyncio.gather(*(confirm(p, s) for p, s in batch))
            at_once.append(len(batch) / (time.perf_counter() - started))
        together = statistics.median(at_once)
    finally:
        await services.close()
    raw = statistics.median(raws)
    anchor = f"raw SQLite insert+commit, WAL, FULL (kcbx: synchronous={mode})"
    return [
        ("confirmations/s (one teacher after another)", sequential, anchor, raw),
        ("confirmations/s (100 teachers at once)", together, anchor, raw),
    ]


async def swept(services: Any) -> None:
    """One sweep, as `kcbx run` makes every minute: it keeps each open case's plan and the
    standing the summary reads (the bench's data has never been swept)."""
    from kcbx.bot.engine.sweep import Sweeper

    quiet = logging.getLogger("kcbx.bot.engine.sweep")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "nobody to tell": the bench's staff are not bound
    try:
        await Sweeper(services).run(NOW)
    finally:
        quiet.setLevel(level)


async def summary_rows(path: Path) -> list[tuple[str, float, str, float]]:
    from kcbx.bot.domain.clock import FakeClock
    from kcbx.bot.domain.i18n import translator
    from kcbx.bot.runtime.config import Config
    from kcbx.bot.runtime.services import Services
    from kcbx.bot.services.summary import summary_view, warm_summaries
    from kcbx.bot.texts.summary import render_summary
    from kcbx.storage.case_plans import mark_changed

    services = await Services.open(Config(db_path=str(path)), FakeClock(NOW))
    zh = translator("zh_CN")
    try:
        row = await services.db.fetchone(
            "SELECT id FROM people WHERE role = 'district_leader' ORDER BY id LIMIT 1"
        )
        leader = await services.people.get(row[0])
        await swept(services)

        async def summary() -> None:
            found = await summary_view(services, leader, None)
            assert found is not None
            render_summary(found.summary, services.policy, zh, "zh_CN", in_group=False)

        async def raw() -> None:
            await services.db.fetchall(
                "SELECT school_id, grade, COUNT(*) FROM students GROUP BY school_id, grade"
            )
            await services.db.fetchall(
                "SELECT s.school_id, c.status, COUNT(*) FROM cases c"
                " JOIN students s ON s.id = c.student_id WHERE c.year = 2024"
                " GROUP BY s.school_id, c.status"
            )

        anchor = await best(raw)
        services.kept.clear()  # the first summary after a start: nothing kept yet
        cold = await best(summary, runs=1)
        await warm_summaries(services)  # what the sweep job leaves behind it
        kcbx = await best(summary)
        changed = []  # a write about one open case at each of ten schools since the sweep
        rows = await services.db.fetchall(
            "SELECT MIN(c.id) FROM cases c JOIN students s ON s.id = c.student_id"
            " WHERE c.status = 'open' GROUP BY s.school_id ORDER BY s.school_id LIMIT 10"
        )
        for (case_id,) in rows:
            async with services.db.transaction():
                await mark_changed(services.db, [case_id])
            changed.append(await best(summary, runs=1))
    finally:
        await services.close()
    anchor_ms = anchor * 1000
    return [
        ("district /summary after a sweep (ms)", kcbx * 1000, "raw GROUP BY count (ms)", anchor_ms),
        (
            "district /summary, a case written about since (ms)",
            statistics.median(changed) * 1000,
            "raw GROUP BY count (ms)",
            anchor_ms,
        ),
        (
            "district /summary, the first after a start (ms)",
            cold * 1000,
            "raw GROUP BY count (ms)",
            anchor_ms,
        ),
    ]


def rss_kb() -> tuple[int, int]:
    status = Path("/proc/self/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


async def mixed(path: Path) -> None:
    """In a fresh process: RSS at start, and after /summary, /cases, /report, a sweep, an export."""
    import kcbx.bot.cli.main  # noqa: F401  (what `kcbx run` imports)

    request = MemoryRequest()
    app, services = await kcbx_app(path, request)
    start = rss_kb()
    from kcbx.bot.domain.i18n import translator
    from kcbx.bot.engine.sweep import sweep
    from kcbx.bot.services.ledger import export_for_person

    try:
        leader_row = await services.db.fetchone(
            "SELECT id FROM people WHERE role = 'district_leader' ORDER BY id LIMIT 1"
        )
        principal_row = await services.db.fetchone(
            "SELECT id FROM people WHERE role = 'principal' ORDER BY id LIMIT 1"
        )
        ((teacher, class_id),) = await teachers(services, 1)
        cast = {"leader": leader_row[0], "principal": principal_row[0], "teacher": teacher}
        uids = {}
        for n, (key, pid) in enumerate(cast.items()):
            uids[key] = 91_000 + n
            await bind(services, pid, uids[key])
        n = 0

        async def send(key: str, text: str) -> None:
            nonlocal n
            n += 1
            await app.process_update(Update.de_json(text_update(n, uids[key], text), app.bot))

        async def press(key: str, data: str) -> None:
            nonlocal n
            n += 1
            await app.process_update(Update.de_json(button_update(n, uids[key], data), app.bot))

        for _ in range(3):
            await send("leader", "/summary")
            await send("principal", "/summary")
            await send("principal", "/cases")
            await send("teacher", "/cases")
            await send("teacher", "/report")
            for page in range(20):
                await press("teacher", f"rep:c:{class_id}:{page % 2}")
            await send("teacher", "/cancel")
        steps = {"updates": rss_kb()[0]}
        await sweep(services, NOW)
        steps["sweep"] = rss_kb()[0]
        leader = await services.people.get(cast["leader"])
        assert leader is not None
        await export_for_person(services, leader, gettext=translator("zh_CN"))
        after = rss_kb()
        steps["export"] = after[0]
    finally:
        await app.shutdown()
        await services.close()
    print(json.dumps({"start": start[0], "after": after[0], "peak": after[1], "steps": steps}))


def rss_rows(path: Path) -> list[tuple[str, float, str, float]]:
    done = subprocess.run(
        [sys.executable, __file__, "--rss", str(path)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    steps = ", ".join(f"{k} {v / 1024:.0f}" for k, v in figures["steps"].items())
    print(f"RSS after each part of the mixed run (MB): {steps}")
    return [
        ("RSS at start (MB)", figures["start"] / 1024, "target (MB)", 200.0),
        ("RSS after the mixed run (MB)", figures["after"] / 1024, "target (MB)", 200.0),
        ("RSS peak of the mixed run (MB)", figures["peak"] / 1024, "target (MB)", 200.0),
    ]


def database(students: int) -> Path:
    """A working copy of the cached database of ``students`` (built on first use)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    cached = CACHE / f"students-{students}.db"
    with open(CACHE / f"students-{students}.lock", "w") as lock:  # one builder at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not cached.exists():
            _build(cached, students)
    work = CACHE / f"work-{students}-{os.getpid()}.db"  # several benches may run at once
    for stale in CACHE.glob(work.name + "*"):
        stale.unlink()
    shutil.copyfile(cached, work)
    return work


def _build(cached: Path, students: int) -> None:
    """Build the cached database of ``students`` (under the caller's lock)."""
    townships, schools, open_cases = SIZES[students]
    started = time.perf_counter()
    partial = cached.with_suffix(".building")
    for stale in CACHE.glob(partial.name + "*"):
        stale.unlink()
    asyncio.run(build(partial, students, townships, schools, open_cases))
    conn = sqlite3.connect(partial)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    partial.rename(cached)
    print(f"built {students:,} students in {time.perf_counter() - started:.0f} s: {cached}")


def table(students: int, rows: list[tuple[str, float, str, float]]) -> None:
    print(f"\n{students:,} students")
    print("| what | kcbx | anchor in the same run | ratio |")
    print("|---|---|---|---|")
    for what, kcbx, anchor, value in rows:
        print(f"| {what} | {kcbx:,.1f} | {anchor}: {value:,.1f} | {kcbx / value:.2f}× |")


async def run(students: int, path: Path, only: set[str]) -> None:
    rows: list[tuple[str, float, str, float]] = []
    if "button" in only:
        rows += await button_rows(path)
    if "confirm" in only:
        rows += await confirm_rows(path)
    if "summary" in only:
        rows += await summary_rows(path)
    if "rss" in only:
        rows += rss_rows(path)
    table(students, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", action="store_true", help="also 1,000,000 students")
    parser.add_argument("--only", default="button,confirm,summary,rss", help="rows to measure")
    parser.add_argument("--rss", type=Path, help=argparse.SUPPRESS)  # the subprocess
    args = parser.parse_args()
    if args.rss:
        asyncio.run(mixed(args.rss))
        return
    only = set(args.only.split(","))
    for students in [50_000, 1_000_000] if args.big else [50_000]:
        work = database(students)
        try:
            asyncio.run(run(students, work, only))
        finally:
            for copy in CACHE.glob(work.name + "*"):
                copy.unlink()


if __name__ == "__main__":
    main()
