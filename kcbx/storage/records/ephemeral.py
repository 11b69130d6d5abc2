"""Messages the bot deletes after a while (the password of a protected export), durably: a
restart or a crash still deletes them when their time comes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kcbx.bot.domain.clock import to_iso
from kcbx.storage.connection.rows import Repo


@dataclass(frozen=True)
class Ephemeral:
    id: int
    chat_id: int
    message_id: int


class EphemeralRepo(Repo):
    async def add(self, chat_id: int, message_id: int, delete_at: datetime) -> None:
        async with self.db.transaction():
            await self.db.execute(
                "INSERT INTO ephemeral_messages (chat_id, message_id, delete_at) VALUES (?, ?, ?)",
                (chat_id, message_id, to_iso(delete_at)),
            )

    async def due(self, now: datetime, limit: int = 100) -> list[Ephemeral]:
        rows = await self.db.fetchall(
            "SELECT id, chat_id, message_id FROM ephemeral_messages"
            " WHERE deleted_at IS NULL AND delete_at <= ? ORDER BY delete_at LIMIT ?",
            (to_iso(now), limit),
        )
        return [Ephemeral(r["id"], r["chat_id"], r["message_id"]) for r in rows]

    async def done(self, item_id: int, now: datetime) -> None:
        async with self.db.transaction():
            await self.db.execute(
                "UPDATE ephemeral_messages SET deleted_at = ? WHERE id = ?", (to_iso(now), item_id)
            )
