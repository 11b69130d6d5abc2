"""`kcbx db migrate` and `kcbx db copy`: the demo district moves from its SQLite file into
PostgreSQL, every table's count matches, and its summary and ledger read the same there."""

from __future__ import annotations

import asyncio
import io
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from kcbx.bot.cli.main import main
from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.domain.i18n import translator
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.caseviews import unit_tree
from kcbx.bot.services.ledger import export_for_unit
from kcbx.bot.services.summary import build_summary
from kcbx.bot.texts.summary import render_summary
from kcbx.storage.db import Database, SqliteDatabase, migration_files
from kcbx.storage.reports_repo import unit_scope

pytestmark = pytest.mark.single_backend  # it opens a file and a PostgreSQL database itself

ZH = translator("zh_CN")
AFTER = datetime(2024, 4, 8, 2, 0, tzinfo=UTC)  # after the demo's month


async def _summary_and_ledger(target: str) -> tuple[Any, ...]:
    """What the district's /summary says and every cell of its ledger, at AFTER."""
    services = await Services.open(Config(db_path=target), FakeClock(AFTER))
    try:
        tree = await unit_tree(services)
        district = next(u for u in tree.units.values() if u.kind == "district")
        summary = await build_summary(services, unit_scope(district), district, tree)
        reply = render_summary(summary, services.policy, ZH, "zh_CN", in_group=False)
        ledger = await export_for_unit(services, None, actor="cli:test", gettext=ZH)
        book = openpyxl.load_workbook(io.BytesIO(ledger.data))
        cells = {
            name: [list(row) for row in book[name].iter_rows(values_only=True)]
            for name in book.sheetnames
        }
        counts = (ledger.dropouts, ledger.suspected, ledger.actions, ledger.flags)
        return reply.text, reply.buttons, counts, cells
    finally:
        await services.close()


async def _counts(database: Database) -> dict[str, int]:
    return {
        t: int(await database.fetchval(f'SELECT COUNT(*) FROM "{t}"'))
        for t in await database.tables()
    }


async def test_the_demo_district_moves_into_postgresql_and_reads_the_same(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str], demo_month: dict[str, Path]
) -> None:
    file = str(tmp_path / "demo.db")  # a copy: the run's demo month is shared
    shutil.copyfile(demo_month["database"], file)
    before = await _summary_and_ledger(file)
    assert before[2][2] >= 1  # the demo recorded actions, so the ledger has rows to compare
    capsys.readouterr()

    # the CLI runs its own event loop: give it a thread
    assert await asyncio.to_thread(main, ["db", "copy", file, pg_url]) == 0
    printed = capsys.readouterr().out
    assert "every table's count matches" in printed

    source = await SqliteDatabase.connect(file, migrate=False)
    target = await Database.open(pg_url)
    try:
        counts = await _counts(source)
        assert await _counts(target) == counts
        assert counts["cases"] >= 3 and counts["actions"] > 10 and counts["outbox"] > 10
        assert counts["blobs"] >= 1 and counts["notices"] >= 2  # the PDFs, the notice numbers
        for table, rows in counts.items():
            if table != "schema_version":
                assert f"{rows:>9} -> {rows:>9}" in printed, table
        # new rows continue after the copied ids
        top = await target.fetchval("SELECT MAX(id) FROM units")
        async with target.transaction():
            new = await target.execute(
                "INSERT INTO units (kind, name, parent_id) VALUES ('department', '新部门', NULL)"
            )
        assert new == top + 1
        await target.execute("DELETE FROM units WHERE id = ?", (new,))
    finally:
        await target.close()
        await source.close()

    after = await _summary_and_ledger(pg_url)
    assert after == before

    # a second copy into the same database is refused and writes nothing
    assert await asyncio.to_thread(main, ["db", "copy", file, pg_url]) == 1
    assert "not empty" in capsys.readouterr().out


async def test_db_migrate_applies_what_is_pending_once(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    file = str(tmp_path / "k.db")
    latest = f"{migration_files()[-1][0]:04d}"
    assert await asyncio.to_thread(main, ["--db", file, "db", "migrate"]) == 0
    assert "applied migrations 0001, 0002" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["--db", file, "db", "migrate"]) == 0
    assert f"up to date (migration {latest})" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["--db", pg_url, "db", "migrate"]) == 0
    assert f"up to date (migration {latest})" in capsys.readouterr().out


async def test_db_copy_refuses_what_it_cannot_copy(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await asyncio.to_thread(main, ["db", "copy", str(tmp_path / "none.db"), pg_url]) == 2
    assert "not a SQLite file" in capsys.readouterr().out
    file = tmp_path / "old.db"
    old = await SqliteDatabase.connect(str(file), migrate=False)  # a file of no schema
    await old.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)"
    )
    await old.close()
    assert await asyncio.to_thread(main, ["db", "copy", str(file), pg_url]) == 1
    assert "db migrate` first" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["db", "copy", str(file), str(tmp_path / "x.db")]) == 2
    assert "not a PostgreSQL database" in capsys.readouterr().out


def test_kcbx_backup_sends_a_postgresql_database_to_pg_dump(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgresql://kcbx@127.0.0.1:5432/province"  # refused before any connection
    assert main(["--db", url, "backup", str(tmp_path / "copies")]) == 2
    assert "pg_dump" in capsys.readouterr().out
    assert main(["--db", url, "restore", str(tmp_path / "kcbx-x.db")]) == 2
    assert "pg_restore" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []
