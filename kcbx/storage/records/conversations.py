"""Conversations in progress, kept in the database so that a restart does not lose them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kcbx.bot.domain.clock import from_iso, to_iso
from kcbx.storage.connection.rows import Repo


@dataclass(frozen=True)
class StoredState:
    key: str
    value: bytes
    updated_at: datetime


class ConversationStateRepo(Repo):
    async def load(self, kind: str) -> list[StoredState]:
        rows = await self.db.fetchall(
            "SELECT key, value, updated_at FROM conversation_state WHERE kind = ?", (kind,)
        )
        return [StoredState(r["key"], bytes(r["value"]), from_iso(r["updated_at"])) for r in rows]

    async def save(self, kind: str, key: str, value: bytes | None, now: datetime) -> None:
        """Keep `value` under (kind, key); None forgets it."""
        async with self.db.transaction():
            if value is None:
                await self.db.execute(
                    "DELETE FROM conversation_state WHERE kind = ? AND key = ?", (kind, key)
                )
                return
            await self.db.execute(
                "INSERT INTO conversation_state (kind, key, value, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (kind, key)"
                " DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (kind, key, value, to_iso(now)),
            )
