"""Roster import: read a file, check it whole, then upsert it in one transaction.

Nothing is written unless every row is valid; with ``skip_invalid`` the valid rows are written
and the invalid ones are listed; with ``check`` the import runs to the end and is rolled back,
so the report says what it would change and nothing is written. One audit row records what an
import changed. Warnings (a routed department left without a unit or a liaison) never stop it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from kcbx.bot.domain.clock import Clock, SystemClock
from kcbx.bot.domain.i18n import N_
from kcbx.bot.domain.policy.reading import default_policy
from kcbx.bot.domain.policy.tree import Policy
from kcbx.bot.roster.departments import department_warnings
from kcbx.bot.roster.errors import RosterError
from kcbx.bot.roster.layout import DEFAULT_MAX_BYTES
from kcbx.bot.roster.reader import check_size, read_roster
from kcbx.bot.roster.records import Progress, Roster
from kcbx.bot.roster.resolver import resolve
from kcbx.bot.roster.vocabulary import Vocabulary, default_vocabulary
from kcbx.storage.db import Database
from kcbx.storage.roster_repo import KINDS, Counts, RosterRepo


@dataclass(frozen=True)
class SkippedRow:
    sheet: str  # sheet name, or the file name for a CSV file
    row: int


@dataclass
class ImportReport:
    """What an import did: counts per kind, every error and warning, the rows left out."""

    file: str
    counts: dict[str, Counts] = field(default_factory=lambda: {k: Counts() for k in KINDS})
    errors: list[RosterError] = field(default_factory=list)
    warnings: list[RosterError] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)
    rows: int = 0  # data rows in the file
    written: bool = False  # False: the database was not touched
    checked: bool = False  # True: a check (--check): counts are what an import would do

    @property
    def ok(self) -> bool:
        return not self.errors


class _RollBack(Exception):
    """Ends a check's transaction: everything it wrote is undone."""


async def import_roster(
    db: Database,
    path_or_bytes: str | Path | bytes,
    filename: str,
    *,
    actor: str,
    skip_invalid: bool = False,
    check: bool = False,
    progress: Progress | None = None,
    clock: Clock | None = None,
    timezone: tzinfo | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    vocabulary: Vocabulary | None = None,
    policy: Policy | None = None,
) -> ImportReport:
    """Import (or with ``check``, only check) a roster file (.xlsx or .csv).

    ``progress(processed, total)`` counts the file's rows as they are read, then the records as
    they are written; ``total`` is an estimate until the file has been read. It is called on the
    event loop's thread.
    """
    clock = clock or SystemClock()
    report = ImportReport(filename, checked=check)
    data = await _load(path_or_bytes, filename, max_bytes, report)
    if data is None:
        return report
    loop = asyncio.get_running_loop()

    def reading(done: int, estimate: int) -> None:
        if progress is not None:
            loop.call_soon_threadsafe(progress, done, 2 * estimate)

    vocabulary = vocabulary or default_vocabulary()
    today = clock.now().astimezone(timezone or ZoneInfo("Asia/Shanghai")).date()
    # openpyxl is CPU-bound: read in a worker thread so the bot keeps answering meanwhile
    roster = await asyncio.to_thread(
        read_roster,
        data,
        filename,
        today=today,
        max_bytes=max_bytes,
        progress=reading if progress is not None else None,
        vocabulary=vocabulary,
    )
    report.rows = roster.rows
    report.errors.extend(roster.errors)
    if roster.fatal:
        return report
    with contextlib.suppress(_RollBack):  # a check ends by undoing what it wrote
        await _write(
            db, roster, report, data, actor, skip_invalid, clock, progress, policy, vocabulary
        )
    return report


async def _write(
    db: Database,
    roster: Roster,
    report: ImportReport,
    data: bytes,
    actor: str,
    skip_invalid: bool,
    clock: Clock,
    progress: Progress | None,
    policy: Policy | None,
    vocabulary: Vocabulary,
) -> None:
    """Resolve the names and write the plan, in one transaction (rolled back for a check)."""
    repo = RosterRepo(db)
    async with db.transaction():
        people = await repo.people()
        resolution = resolve(roster, await repo.units(), people, vocabulary)
        report.errors.extend(resolution.errors)
        report.errors.sort(key=_error_order(roster))
        bad = roster.bad_rows | resolution.bad_rows
        if report.checked or not report.errors or skip_invalid:  # what the import leaves
            report.warnings = roster.warnings + department_warnings(
                roster, resolution.tree, people, resolution.plan, policy or default_policy()
            )
        if report.errors and not skip_invalid:
            return
        report.skipped = [SkippedRow(sheet, row) for sheet, row in sorted(bad)]
        total = roster.lines + resolution.plan.size()

        def writing(done: int) -> None:
            if progress is not None:
                progress(roster.lines + done, total)

        writing(0)
        source = {
            "file": roster.file,
            "sha256": hashlib.sha256(data).hexdigest(),
            "rows": roster.rows,
            "skipped": len(bad),
            "errors": len(report.errors),
        }
        report.counts = await repo.apply(
            resolution.plan, actor=actor, now=clock.now(), source=source, progress=writing
        )
        if report.checked:
            raise _RollBack
        report.written = True
    writing(resolution.plan.size())


async def _load(
    path_or_bytes: str | Path | bytes, filename: str, max_bytes: int, report: ImportReport
) -> bytes | None:
    """The file's bytes, or None with an error in the report (too large, unreadable)."""
    if isinstance(path_or_bytes, bytes | bytearray):
        too_big = check_size(len(path_or_bytes), filename, max_bytes)
        if too_big is not None:
            report.errors.append(too_big)
            return None
        return bytes(path_or_bytes)
    path = Path(path_or_bytes)
    try:
        size = (await asyncio.to_thread(path.stat)).st_size
        too_big = check_size(size, filename, max_bytes)
        if too_big is not None:
            report.errors.append(too_big)
            return None
        return await asyncio.to_thread(path.read_bytes)
    except OSError:
        report.errors.append(RosterError(N_("The file cannot be opened"), {}, filename))
        return None


def _error_order(roster: Roster) -> Callable[[RosterError], tuple[int, int, str]]:
    """Errors in file order: by sheet as the workbook has them, then row, then column."""
    order = {sheet.name: i for i, sheet in enumerate(roster.sheets)}

    def key(error: RosterError) -> tuple[int, int, str]:
        column = error.column or ""
        return (order.get(error.sheet, -1), error.row or 0, f"{len(column):02}{column}")

    return key
