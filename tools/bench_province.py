"""A province on SQLite and on PostgreSQL, side by side, each beside its raw-engine anchor.

    python tools/bench_province.py                      # 22 counties, 1,000,000 students
    python tools/bench_province.py --students 100000    # a quick run, the same shape
    python tools/bench_province.py --pg postgresql://postgres@127.0.0.1:5432/postgres

The province is tools/bench_sweep.py's (every staff member bound to Telegram, open cases over
the last five weeks with some actions), 22 counties of ``--students / 22`` each and
``--open`` open cases (default a tenth of the students, as bench_sweep's 1M province). It is
written into a SQLite file with executemany by bench_sweep's builder, then into a fresh
PostgreSQL database (created on the ``--pg`` server, dropped at the end) with COPY. On each
engine, in this order:

- build: writing the province into the migrated schema (its indexes, then ANALYZE); anchor:
  the same students' rows into a table without indexes, through the raw driver;
- the minute sweep (bench_sweep.Bench: a catch-up first, without the features' hooks, then
  idle and with 10 changed cases, median of five); anchor: every open case with its actions
  read once through the raw driver;
- a district's /summary, and the province's (the 22 districts' one after another: the model
  has no unit above a district); anchor: the same counts as raw GROUP BY queries;
- a district's ledger (/export, the xlsx); anchor: its cases with their students, raw;
- durable confirmations/s (report_absence, one teacher after another; SQLite
  synchronous=FULL, PostgreSQL synchronous_commit=on); anchor: a raw insert+commit loop.

Raw means the sqlite3 module or an asyncpg connection of its own, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from bench import raw_commits, teachers  # noqa: E402
from bench_summary import ZH, best  # noqa: E402
from bench_sweep import NOW, Bench  # noqa: E402
from bench_sweep import build as build_sqlite  # noqa: E402

from kcbx.bot.domain.clock import FakeClock  # noqa: E402
from kcbx.bot.runtime.config import Config  # noqa: E402
from kcbx.bot.runtime.services import Services  # noqa: E402
from kcbx.bot.services.ledger import export_for_person  # noqa: E402
from kcbx.bot.services.reporting import ReportDraft, report_absence  # noqa: E402
from kcbx.bot.services.summary import summary_view  # noqa: E402
from kcbx.bot.texts.summary import render_summary  # noqa: E402
from kcbx.storage.db import Database  # noqa: E402

COUNTIES = 22
CONFIRMATIONS = 150
BENCH_DB = "kcbx_bench_province"
OPEN_CASES = (
    "SELECT c.id, c.student_id, c.absent_since, c.reported_at, c.cause, c.status,"
    " a.kind, a.at FROM cases c LEFT JOIN actions a ON a.case_id = c.id"
    " WHERE c.status = 'open'"
)
# the counts a summary makes, raw: students by school and grade, cases by school and status
_IN_DISTRICT = (
    " WHERE s.school_id IN (SELECT u.id FROM units u JOIN units t ON t.id = u.parent_id"
    " WHERE t.parent_id = {p})"
)
STUDENT_COUNTS = "SELECT s.school_id, s.grade, COUNT(*) FROM students s{where} GROUP BY 1, 2"
CASE_COUNTS = (
    "SELECT s.school_id, c.status, COUNT(*) FROM cases c JOIN students s ON s.id = c.student_id"
    "{where} GROUP BY 1, 2"
)
LEDGER_ROWS = (
    "SELECT c.*, s.name, s.registry_no, s.grade FROM cases c"
    " JOIN students s ON s.id = c.student_id{where} ORDER BY c.id"
)

Row = tuple[str, float, float]  # what, kcbx, anchor
Timed = Callable[[], Awaitable[Any]]


# --- the raw anchors ------------------------------------------------------------------------


class Raw:
    """The raw driver of one engine: the sqlite3 module, or an asyncpg connection."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.pg: asyncpg.Connection | None = None

    async def __aenter__(self) -> Raw:
        if self.target.startswith("postgresql"):
            self.pg = await asyncpg.connect(self.target)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.pg is not None:
            await self.pg.close()

    async def rows(self, sql: str, *params: Any) -> list[Any]:
        if self.pg is not None:
            numbered = sql
            for n in range(1, len(params) + 1):
                numbered = numbered.replace("?", f"${n}", 1)
            return list(await self.pg.fetch(numbered, *params))
        conn = sqlite3.connect(self.target)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    async def commits_per_second(self, folder: Path, count: int = 300) -> float:
        """Insert+commit, one row a transaction, durable (the median of three rounds)."""
        if self.pg is None:
            return statistics.median(raw_commits(folder, count) for _ in range(3))
        await self.pg.execute(
            "CREATE TABLE IF NOT EXISTS raw_commits (id BIGSERIAL PRIMARY KEY, student BIGINT,"
            " at TEXT, note TEXT)"
        )
        rates = []
        for _ in range(3):
            started = time.perf_counter()
            for n in range(count):
                async with self.pg.transaction():
                    await self.pg.execute(
                        "INSERT INTO raw_commits (student, at, note) VALUES ($1, $2, $3)",
                        n,
                        str(NOW),
                        "x",
                    )
            rates.append(count / (time.perf_counter() - started))
        await self.pg.execute("DROP TABLE raw_commits")
        return statistics.median(rates)

    async def bulk_students(self, source: Path) -> float:
        """Seconds to write the province's students into a table without indexes."""
        columns, chunks = _columns(source, "students"), _chunks(source, "students")
        started = time.perf_counter()
        if self.pg is None:
            conn = sqlite3.connect(Path(self.target).with_name("raw-bulk.db"))
            conn.execute(f"CREATE TABLE raw_students ({', '.join(columns)})")
            marks = ", ".join("?" for _ in columns)
            with conn:
                for chunk in chunks:
                    conn.executemany(f"INSERT INTO raw_students VALUES ({marks})", chunk)
            seconds = time.perf_counter() - started
            conn.close()
            Path(self.target).with_name("raw-bulk.db").unlink()
            return seconds
        await self.pg.execute("CREATE TABLE raw_students AS SELECT * FROM students WITH NO DATA")
        async with self.pg.transaction():
            for chunk in chunks:
                await self.pg.copy_records_to_table("raw_students", records=chunk, columns=columns)
        seconds = time.perf_counter() - started
        await self.pg.execute("DROP TABLE raw_students")
        return seconds


def _columns(source: Path, table: str) -> list[str]:
    conn = sqlite3.connect(source)
    try:
        return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
    finally:
        conn.close()


def _chunks(source: Path, table: str, size: int = 50_000) -> Iterator[list[tuple[Any, ...]]]:
    conn = sqlite3.connect(source)
    try:
        cursor = conn.execute(f"SELECT * FROM {table}")
        while chunk := cursor.fetchmany(size):
            yield chunk
    finally:
        conn.close()


# --- the province on PostgreSQL -------------------------------------------------------------


async def fresh_database(server: str) -> str:
    """An empty, migrated database on the server; its URL."""
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {BENCH_DB}")
    finally:
        await admin.close()
    parts = urlsplit(server)
    url = urlunsplit((parts.scheme, parts.netloc, "/" + BENCH_DB, parts.query, ""))
    db = await Database.open(url)
    await db.close()
    return url


async def drop_database(server: str) -> None:
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    finally:
        await admin.close()


async def copy_province(source: Path, url: str) -> float:
    """Write every table the builder filled into the PostgreSQL database with COPY."""
    conn = sqlite3.connect(source)
    filled = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND name <> 'schema_version'"
        )
        if conn.execute(f"SELECT 1 FROM {name} LIMIT 1").fetchone()
    ]
    conn.close()
    started = time.perf_counter()
    pg = await asyncpg.connect(url)
    try:
        async with pg.transaction():
            for table in filled:
                if await pg.fetchval(f"SELECT 1 FROM {table} LIMIT 1"):
                    continue  # written by the migrations themselves
                columns = _columns(source, table)
                for chunk in _chunks(source, table):
                    await pg.copy_records_to_table(table, records=chunk, columns=columns)
        await pg.execute("ANALYZE")
    finally:
        await pg.close()
    db = await Database.open(url, migrate=False)
    try:
        await db.sync_identities()  # type: ignore[attr-defined]
    finally:
        await db.close()
    return time.perf_counter() - started


# --- what is timed --------------------------------------------------------------------------


async def sweep_rows(target: str, raw: Raw) -> list[Row]:
    figures = await Bench(target, bare=False, bare_catchup=True).run()
    anchor = await best(lambda: raw.rows(OPEN_CASES))
    for label, figure in figures.items():
        print(f"    {label}: {figure.seconds * 1000:,.0f} ms  {figure.note}", flush=True)
    return [
        ("minute sweep, idle (ms)", figures["idle minute sweep"].seconds * 1000, anchor * 1000),
        (
            "minute sweep, 10 changed cases (ms)",
            figures["sweep with 10 changed cases"].seconds * 1000,
            anchor * 1000,
        ),
    ]


async def summary_rows(services: Services, raw: Raw) -> list[Row]:
    leaders = [
        await services.people.get(int(r[0]))
        for r in await services.db.fetchall(
            "SELECT id FROM people WHERE role = 'district_leader' ORDER BY id"
        )
    ]

    async def summary(person: Any) -> None:
        found = await summary_view(services, person, None)
        assert found is not None
        render_summary(found.summary, services.policy, ZH, "zh_CN", in_group=False)

    async def province() -> None:
        for leader in leaders:
            await summary(leader)

    first = leaders[0]
    assert first is not None and first.unit_id is not None
    district = _IN_DISTRICT.format(p=int(first.unit_id))

    async def counts(where: str) -> None:
        await raw.rows(STUDENT_COUNTS.format(where=where))
        await raw.rows(CASE_COUNTS.format(where=where))

    return [
        (
            "a district's /summary (ms)",
            await best(lambda: summary(first)) * 1000,
            await best(lambda: counts(district)) * 1000,
        ),
        (
            f"the province's: {len(leaders)} districts' /summary (ms)",
            await best(province, 1) * 1000,
            await best(lambda: counts("")) * 1000,
        ),
    ]


async def ledger_row(services: Services, raw: Raw) -> Row:
    row = await services.db.fetchone(
        "SELECT id FROM people WHERE role = 'district_leader' ORDER BY id LIMIT 1"
    )
    leader = await services.people.get(int(row[0]))
    assert leader is not None and leader.unit_id is not None
    made: list[str] = []

    async def export() -> None:
        ledger = await export_for_person(services, leader, gettext=ZH)
        assert ledger is not None
        made[:] = [f"{ledger.cases} cases, {len(ledger.data) // 1024} KiB"]

    seconds = await best(export, 2)  # the first also imports openpyxl
    where = _IN_DISTRICT.format(p=int(leader.unit_id))
    anchor = await best(lambda: raw.rows(LEDGER_ROWS.format(where=where)))
    print(f"    ledger: {made[0]}", flush=True)
    return ("a district's ledger export (ms)", seconds * 1000, anchor * 1000)


async def confirm_row(services: Services, raw: Raw, folder: Path) -> Row:
    pairs = await teachers(services, 400)
    spare = await services.db.fetchall(
        "SELECT s.id, c.teacher_id FROM students s JOIN classes c ON c.id = s.class_id"
        " LEFT JOIN cases k ON k.student_id = s.id WHERE k.id IS NULL AND c.id <= ?"
        " ORDER BY s.id LIMIT ?",
        (pairs[-1][1], CONFIRMATIONS),
    )
    people = {t: await services.people.get(t) for t, _ in pairs}
    since = NOW.date() - timedelta(days=2)
    started = time.perf_counter()
    for r in spare:
        draft = ReportDraft(r[0], absent_since=since, cause="weariness", contact="agreed")
        result = await report_absence(services, people[r[1]], draft)  # type: ignore[arg-type]
        assert result.created
    rate = len(spare) / (time.perf_counter() - started)
    return ("durable confirmations/s", rate, await raw.commits_per_second(folder))


async def measure(target: str, folder: Path, built: float, bulk: float) -> list[Row]:
    rows: list[Row] = [("build the province (s)", built, bulk)]
    async with Raw(target) as raw:
        print("  sweeps", flush=True)
        rows += await sweep_rows(target, raw)
        services = await Services.open(Config(db_path=target), FakeClock(NOW))
        try:
            print("  summaries, ledger, confirmations", flush=True)
            rows += await summary_rows(services, raw)
            rows.append(await ledger_row(services, raw))
            rows.append(await confirm_row(services, raw, folder))
        finally:
            await services.close()
    return rows


# --- the table ------------------------------------------------------------------------------


def table(students: int, open_cases: int, engines: dict[str, list[Row]]) -> None:
    names = list(engines)
    print(
        f"\n{COUNTIES} counties, {students:,} students, {open_cases:,} open cases"
        f" ({', '.join(names)}; anchors: the raw driver in the same run)\n"
    )
    head = " | ".join(f"{n} | {n} anchor | ratio" for n in names)
    print(f"| what | {head} |")
    print("|---" * (1 + 3 * len(names)) + "|")
    first = engines[names[0]]
    for i, (what, _k, _a) in enumerate(first):
        cells = []
        for name in names:
            _w, kcbx, anchor = engines[name][i]
            ratio = kcbx / anchor
            cells.append(f"{kcbx:,.1f} | {anchor:,.1f} | {ratio:.{2 if ratio >= 0.1 else 3}f}×")
        print(f"| {what} | {' | '.join(cells)} |")


async def run(students: int, open_cases: int, server: str | None, folder: Path) -> None:
    path = folder / "province.db"
    print(f"building {students:,} students, {open_cases:,} open cases on SQLite", flush=True)
    built = await asyncio.to_thread(build_sqlite, path, COUNTIES, students // COUNTIES, open_cases)
    async with Raw(str(path)) as raw:
        bulk = await raw.bulk_students(path)
    print(f"  built in {built.seconds:.0f} s ({built.people:,} people)", flush=True)
    engines: dict[str, list[Row]] = {}
    pristine = folder / "province-built.db"
    pristine.unlink(missing_ok=True)
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    src = sqlite3.connect(path)
    dst = sqlite3.connect(pristine)
    src.backup(dst)  # the PostgreSQL copy starts from the same province
    src.close()
    dst.close()
    engines["SQLite"] = await measure(str(path), folder, built.seconds, bulk)
    if server is not None:
        url = await fresh_database(server)
        try:
            print("copying the province into PostgreSQL", flush=True)
            seconds = await copy_province(pristine, url)
            async with Raw(url) as raw:
                bulk = await raw.bulk_students(pristine)
            print(f"  copied in {seconds:.0f} s", flush=True)
            engines["PostgreSQL"] = await measure(url, folder, seconds, bulk)
        finally:
            await drop_database(server)
    table(students, open_cases, engines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, help="open cases (default: a tenth of the students)")
    parser.add_argument(
        "--pg",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server's URL (its database is only used to create the bench's)",
    )
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--dir", type=Path, help="where the SQLite files go (default: a temp)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    folder = args.dir or Path(tempfile.mkdtemp(prefix="kcbx-province-"))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("province*.db*"):
        stale.unlink()
    open_cases = args.open if args.open is not None else args.students // 10
    asyncio.run(run(args.students, open_cases, None if args.no_pg else args.pg, folder))


if __name__ == "__main__":
    main()
