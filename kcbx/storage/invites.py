"""One-time, expiring invitations: the only way into the bot."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum

from kcbx.bot.domain.clock import from_iso, to_iso
from kcbx.storage.records.audit import AuditedRepo


class InviteResult(StrEnum):
    OK = "ok"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"


def code_hash(code: str) -> str:
    """Invites are stored hashed: a copy of the database gives no usable link."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


class InviteRepo(AuditedRepo):
    async def create(
        self, *, code: str, person_id: int, actor: str, now: datetime, expires_at: datetime
    ) -> None:
        async with self.db.transaction():
            await self.db.execute(
                "INSERT INTO invites (code, person_id, created_by, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (code_hash(code), person_id, actor, to_iso(now), to_iso(expires_at)),
            )
            await self.audit.record(
                now, actor, "invite", "person", person_id, {"expires_at": to_iso(expires_at)}
            )

    async def consume(
        self, code: str, *, telegram_id: int, now: datetime
    ) -> tuple[InviteResult, int | None]:
        """Use an invite once: (result, person_id). Atomic, so a code binds one account."""
        async with self.db.transaction():
            row = await self.db.fetchone(
                "SELECT i.*, p.status FROM invites i JOIN people p ON p.id = i.person_id"
                " WHERE i.code = ?",
                (code_hash(code),),
            )
            if row is None:
                return InviteResult.UNKNOWN, None
            if row["used_at"] is not None:
                return InviteResult.USED, None
            if row["status"] != "active":
                return InviteResult.REVOKED, None
            if from_iso(row["expires_at"]) <= now:
                return InviteResult.EXPIRED, None
            await self.db.execute(
                "UPDATE invites SET used_at = ?, used_by = ? WHERE code = ?",
                (to_iso(now), telegram_id, code_hash(code)),
            )
            await self.audit.record(
                at=now,
                actor=f"person:{row['person_id']}",
                action="accept_invite",
                entity="person",
                entity_id=row["person_id"],
                detail={"telegram_id": telegram_id},
            )
            return InviteResult.OK, int(row["person_id"])
