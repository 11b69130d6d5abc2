"""The notices' files owed to people (migration 0011): recorded by the sweep with the
reminder they follow, queued into the outbox by the worker once the document is rendered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kcbx.bot.domain.clock import to_iso
from kcbx.storage.db import Database


@dataclass(frozen=True)
class NoticeFile:
    """One file of one notice for one person, under the outbox key it will be sent with."""

    outbox_key: str
    notice_id: int
    format: str  # pdf | docx
    person_id: int
    chat_id: int
    case_id: int | None
    caption: str


def _file(row: Any) -> NoticeFile:
    return NoticeFile(
        outbox_key=row["outbox_key"],
        notice_id=row["notice_id"],
        format=row["format"],
        person_id=row["person_id"],
        chat_id=row["chat_id"],
        case_id=row["case_id"],
        caption=row["caption"],
    )


class NoticeFileRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_many(self, files: Sequence[NoticeFile], *, now: datetime) -> int:
        """Record files owed, once per outbox key (joins the sweep's transaction)."""
        if not files:
            return 0
        async with self.db.transaction() as conn:
            cursor = await conn.executemany(
                "INSERT INTO notice_files (outbox_key, notice_id, format, person_id, chat_id,"
                " case_id, caption, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (outbox_key) DO NOTHING",
                [
                    (
                        *(f.outbox_key, f.notice_id, f.format, f.person_id, f.chat_id),
                        *(f.case_id, f.caption, to_iso(now)),
                    )
                    for f in files
                ],
            )
            try:
                return max(int(cursor.rowcount), 0)
            finally:
                await cursor.close()

    async def pending(self, limit: int) -> list[NoticeFile]:
        """The oldest files not queued yet."""
        rows = await self.db.fetchall(
            "SELECT * FROM notice_files WHERE queued_at IS NULL ORDER BY created_at, outbox_key"
            " LIMIT ?",
            (limit,),
        )
        return [_file(r) for r in rows]

    async def mark_queued(self, keys: Sequence[str], *, now: datetime) -> None:
        """The files went into the outbox (or were dropped: their notice was replaced)."""
        await self.db.executemany(
            "UPDATE notice_files SET queued_at = ? WHERE outbox_key = ?",
            [(to_iso(now), k) for k in keys],
        )
