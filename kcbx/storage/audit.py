"""The audit log: who did what to which record, and when. Append-only."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from kcbx.bot.domain.clock import to_iso
from kcbx.storage.db import Database


def actor_of(person_id: int | None) -> str:
    """The audit actor string of a person (or the system)."""
    return f"person:{person_id}" if person_id is not None else "system"


class AuditRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        entity: str,
        entity_id: object = None,
        detail: dict[str, Any] | None = None,
    ) -> int:
        """Append one entry (call inside the transaction of the write it describes)."""
        async with self.db.transaction():
            return await self.db.execute(
                "INSERT INTO audit_log (at, actor, action, entity, entity_id, detail)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    to_iso(at),
                    actor,
                    action,
                    entity,
                    None if entity_id is None else str(entity_id),
                    json.dumps(detail or {}, ensure_ascii=False, sort_keys=True),
                ),
            )

    async def entries(
        self, *, entity: str | None = None, action: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """The newest entries, optionally of one entity or action, newest last."""
        sql = "SELECT * FROM audit_log WHERE 1=1"
        params: list[Any] = []
        if entity:
            sql += " AND entity = ?"
            params.append(entity)
        if action:
            sql += " AND action = ?"
            params.append(action)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        rows = await self.db.fetchall(sql, params)
        out = []
        for row in reversed(rows):
            item = dict(row)
            item["detail"] = json.loads(item["detail"])
            out.append(item)
        return out
