"""Backups of the SQLite database: a consistent copy while the bot runs, verified, the last N kept.

SQLite's online backup API copies the database page by page under its own locks, so a copy
taken during a sweep holds either all of a transaction or none of it (WAL mode: readers never
wait for the writer). Each copy is checked (``PRAGMA integrity_check`` and the row counts of
the tables, compared with the source as it was copied) before older copies are removed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

PREFIX = "kcbx-"
SUFFIX = ".db"


class BackupError(Exception):
    """The copy could not be made or did not verify; the message says why in one line."""


@dataclass(frozen=True)
class Backup:
    path: Path
    tables: dict[str, int]  # rows per table in the copy
    removed: list[Path]  # older copies removed to keep the last N


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name"
        )
    ]
    return {n: conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}


def check(path: Path) -> dict[str, int]:
    """Integrity check and row counts of a database file; BackupError if it is damaged."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"{path}: cannot be opened ({exc})") from exc
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise BackupError(f"{path}: integrity check failed: {result}")
        counts = _counts(conn)
        if "schema_version" not in counts:
            raise BackupError(f"{path}: not a kcbx database")
        return counts
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: not a database ({exc})") from exc
    finally:
        conn.close()


def _copy(source: Path, target: Path) -> tuple[dict[str, int], dict[str, int]]:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            # One read transaction for the counts and the copy, so that both see the same
            # state: counting first opens the snapshot (WAL: the writer goes on meanwhile),
            # and the backup's single step reads through it.
            src.execute("BEGIN")
            expected = _counts(src)
            src.backup(dst)
            src.execute("COMMIT")
        finally:
            dst.close()
    finally:
        src.close()
    return expected, check(target)


def backup_copy(source: Path, folder: Path, *, now: datetime, keep: int = 7) -> Backup:
    """Copy `source` into `folder` as kcbx-YYYYmmdd-HHMMSS.db, verify it, keep the last `keep`."""
    if not source.is_file():
        raise BackupError(f"{source}: no such database file")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{PREFIX}{now:%Y%m%d-%H%M%S}{SUFFIX}"
    partial = target.with_suffix(".partial")
    try:
        expected, got = _copy(source, partial)
    except (sqlite3.Error, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup of {source} failed: {exc}") from exc
    if expected != got:
        partial.unlink(missing_ok=True)
        differ = sorted(k for k in expected.keys() | got.keys() if expected.get(k) != got.get(k))
        raise BackupError(f"backup of {source} does not match the source in {', '.join(differ)}")
    partial.replace(target)
    copies = sorted(folder.glob(f"{PREFIX}*{SUFFIX}"))
    removed = copies[: max(0, len(copies) - max(1, keep))]
    for old in removed:
        old.unlink()
    return Backup(target, got, removed)


def restore_copy(backup: Path, target: Path, *, force: bool = False) -> dict[str, int]:
    """Put a verified backup in place of `target`; refuse to overwrite one without `force`."""
    counts = check(backup)
    if target.exists() and not force:
        raise BackupError(f"{target} exists: stop the bot and restore with --force to overwrite it")
    partial = target.with_name(target.name + ".restoring")
    src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    for stale in (Path(f"{target}-wal"), Path(f"{target}-shm")):
        stale.unlink(missing_ok=True)
    partial.replace(target)
    return counts


async def backup_async(source: Path, folder: Path, *, now: datetime, keep: int = 7) -> Backup:
    """The same, off the event loop (the bot keeps answering while the copy is made)."""
    return await asyncio.to_thread(backup_copy, source, folder, now=now, keep=keep)
