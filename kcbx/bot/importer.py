"""Roster import (issue 2): read a file, check it whole, then upsert it in one transaction.

Nothing is written unless every row is valid; with ``skip_invalid`` the valid rows are written
and the invalid ones are listed. One audit row records what the import changed.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from kcbx.bot.domain.clock import Clock, SystemClock
from kcbx.bot.domain.i18n import N_
from kcbx.bot.roster import (
    DEFAULT_MAX_BYTES,
    Progress,
    Roster,
    RosterError,
    check_size,
    read_roster,
    resolve,
)
from kcbx.storage.db import Database
from kcbx.storage.roster_repo import KINDS, Counts, RosterRepo


@dataclass(frozen=True)
class SkippedRow:
    sheet: str  # sheet name, or the file name for a CSV file
    row: int


@dataclass
class ImportReport:
    """What an import did: counts per kind, every error, the rows left out."""

    file: str
    counts: dict[str, Counts] = field(default_factory=lambda: {k: Counts() for k in KINDS})
    errors: list[RosterError] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)
    rows: int = 0  # data rows in the file
    written: bool = False  # False: the database was not touched

    @property
    def ok(self) -> bool:
        return not self.errors


async def import_roster(
    db: Database,
    path_or_bytes: str | Path | bytes,
    filename: str,
    *,
    actor: str,
    skip_invalid: bool = False,
    progress: Progress | None = None,
    clock: Clock | None = None,
    timezone: tzinfo | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ImportReport:
    """Import a roster file (.xlsx or .csv) of units, staff and students.

    ``progress(processed, total)`` counts the file's rows as they are read, then the records as
    they are written; ``total`` is an estimate until the file has been read. It is called on the
    event loop's thread.
    """
    clock = clock or SystemClock()
    report = ImportReport(filename)
    data = await _load(path_or_bytes, filename, max_bytes, report)
    if data is None:
        return report
    loop = asyncio.get_running_loop()

    def reading(done: int, estimate: int) -> None:
        if progress is not None:
            loop.call_soon_threadsafe(progress, done, 2 * estimate)

    today = clock.now().astimezone(timezone or ZoneInfo("Asia/Shanghai")).date()
    # openpyxl is CPU-bound: read in a worker thread so the bot keeps answering meanwhile
    roster = await asyncio.to_thread(
        read_roster,
        data,
        filename,
        today=today,
        max_bytes=max_bytes,
        progress=reading if progress is not None else None,
    )
    report.rows = roster.rows
    report.errors.extend(roster.errors)
    if roster.fatal:
        return report
    repo = RosterRepo(db)
    async with db.transaction():
        resolution = resolve(roster, await repo.units())
        report.errors.extend(resolution.errors)
        report.errors.sort(key=_error_order(roster))
        bad = roster.bad_rows | resolution.bad_rows
        if report.errors and not skip_invalid:
            return report
        report.skipped = [SkippedRow(sheet, row) for sheet, row in sorted(bad)]
        total = roster.lines + resolution.plan.size()

        def writing(done: int) -> None:
            if progress is not None:
                progress(roster.lines + done, total)

        writing(0)
        source = {
            "file": filename,
            "sha256": hashlib.sha256(data).hexdigest(),
            "rows": roster.rows,
            "skipped": len(bad),
            "errors": len(report.errors),
        }
        now = clock.now()
        report.counts = await repo.apply(
            resolution.plan, actor=actor, now=now, source=source, progress=writing
        )
        report.written = True
    writing(resolution.plan.size())
    return report


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


KIND_LABELS = {
    "units": N_("units"),
    "staff": N_("staff"),
    "classes": N_("classes"),
    "students": N_("students"),
}


def render_report(report: ImportReport, gettext: Callable[[str], str]) -> list[str]:
    """The outcome as lines of plain text: counts, then every error (callers page and escape)."""
    t = gettext
    lines: list[str] = []
    if report.written:
        lines.append(t("Imported {file}:").format(file=report.file))
        for kind, label in KIND_LABELS.items():
            c = report.counts.get(kind, Counts())
            lines.append(
                t("{kind}: {created} new, {updated} updated, {unchanged} unchanged").format(
                    kind=t(label), created=c.created, updated=c.updated, unchanged=c.unchanged
                )
            )
    else:
        lines.append(
            t(
                "Nothing was imported from {file}: {count} problems. "
                "Correct them and send it again."
            ).format(file=report.file, count=len(report.errors))
        )
    if report.written and report.errors:
        lines.append(
            t("{count} rows were skipped because of these problems:").format(
                count=len(report.skipped)
            )
        )
    lines.extend(error.render(t) for error in report.errors)
    return lines
