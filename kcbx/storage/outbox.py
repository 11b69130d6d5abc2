"""The outbox: messages waiting to be delivered, each with a unique key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kcbx.bot.domain.clock import to_iso
from kcbx.storage.connection.rows import insert_new
from kcbx.storage.db import Database


@dataclass(frozen=True)
class OutgoingMessage:
    """What to send: text (HTML) with optional inline buttons, or a document/photo."""

    text: str = ""
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()
    blob_id: int | None = None
    kind: str = "text"  # text | document | photo

    def to_json(self) -> str:
        return json.dumps(
            {
                "text": self.text,
                "buttons": [[list(b) for b in row] for row in self.buttons],
                "blob_id": self.blob_id,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_row(cls, kind: str, payload: str) -> OutgoingMessage:
        data = json.loads(payload)
        buttons = tuple(tuple((b[0], b[1]) for b in row) for row in data.get("buttons") or [])
        return cls(
            text=data.get("text", ""), buttons=buttons, blob_id=data.get("blob_id"), kind=kind
        )


@dataclass(frozen=True)
class Queued:
    """One message for :meth:`OutboxRepo.enqueue_many`."""

    key: str
    chat_id: int
    message: OutgoingMessage
    person_id: int | None = None
    case_id: int | None = None
    not_before: datetime | None = None


@dataclass(frozen=True)
class OutboxItem:
    id: int
    dedup_key: str
    person_id: int | None
    chat_id: int
    case_id: int | None
    message: OutgoingMessage
    attempts: int
    status: str
    interrupted: int = 0  # times a crash left it in flight (sent again once, never twice)


def _item(row: Any) -> OutboxItem:
    return OutboxItem(
        id=row["id"],
        dedup_key=row["dedup_key"],
        person_id=row["person_id"],
        chat_id=row["chat_id"],
        case_id=row["case_id"],
        message=OutgoingMessage.from_row(row["kind"], row["payload"]),
        attempts=row["attempts"],
        status=row["status"],
        interrupted=row["interrupted"],
    )


class OutboxRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def enqueue(
        self,
        *,
        key: str,
        chat_id: int,
        message: OutgoingMessage,
        now: datetime,
        not_before: datetime | None = None,
        person_id: int | None = None,
        case_id: int | None = None,
    ) -> bool:
        """Queue a message once per key; False if that key was queued before (also by a
        concurrent transaction: the key's unique index decides, not a read before)."""
        queued = Queued(key, chat_id, message, person_id, case_id, not_before)
        return await self.enqueue_many([queued], now=now) == 1

    async def enqueue_many(self, items: Sequence[Queued], *, now: datetime) -> int:
        """Queue many messages at once, each once per key; returns how many were new.

        Joins the caller's transaction: the sweep queues its reminders in the same
        transaction as the rounds they carry."""
        rows = [
            (
                item.key,
                item.person_id,
                item.chat_id,
                item.case_id,
                item.message.kind,
                item.message.to_json(),
                to_iso(now),
                to_iso(item.not_before or now),
            )
            for item in items
        ]
        return await insert_new(
            self.db,
            "INSERT INTO outbox (dedup_key, person_id, chat_id, case_id, kind, payload,"
            " created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (dedup_key) DO NOTHING",
            rows,
        )

    async def has_key(self, key: str) -> bool:
        return bool(await self.db.fetchval("SELECT 1 FROM outbox WHERE dedup_key = ?", (key,)))

    async def due(self, now: datetime, limit: int = 200) -> list[OutboxItem]:
        """Pending messages whose time has come: first those a crash interrupted in flight
        (in the order they were claimed, the newest claim last), then the oldest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?"
            " ORDER BY interrupted DESC, CASE WHEN interrupted > 0 THEN claimed_at END,"
            " next_attempt_at, id LIMIT ?",
            (to_iso(now), limit),
        )
        return [_item(r) for r in rows]

    async def claim(
        self, item_id: int, *, holder: str, now: datetime, fenced: bool = False
    ) -> bool:
        """Take one pending row as its request leaves (again, if the channel retries it);
        False if it is no longer pending (withdrawn, or taken by another sender). Checked by
        row count, and the row locked ``FOR UPDATE SKIP LOCKED`` (a row another sender is
        claiming is skipped, not waited for), so two senders never share one. ``fenced``:
        only while ``holder`` holds a lease in ``leases`` (an instance whose lease was taken
        over claims nothing)."""
        fence = " AND EXISTS (SELECT 1 FROM leases WHERE holder = ?)" if fenced else ""
        async with self.db.transaction():
            claimed = await self.db.execute(
                "UPDATE outbox SET attempts = attempts + CASE WHEN status = 'pending' THEN 1"
                " ELSE 0 END, status = 'sending', claimed_by = ?, claimed_at = ? WHERE id IN"
                " (SELECT id FROM outbox WHERE id = ? AND (status = 'pending'"
                " OR (status = 'sending' AND claimed_by = ?))"
                + self.db.for_update(skip_locked=True)
                + ")"
                + fence,
                (holder, to_iso(now), item_id, holder, *((holder,) if fenced else ())),
            )
        return claimed == 1

    async def mark_sending(self, item_id: int) -> None:
        """A claim by nobody in particular (as a sender that then died would leave it)."""
        async with self.db.transaction():
            await self.db.execute(
                "UPDATE outbox SET status = 'sending', attempts = attempts + 1 WHERE id = ?",
                (item_id,),
            )

    async def in_flight(self) -> list[OutboxItem]:
        """Rows left 'sending': claimed by a sender that did not record what happened."""
        rows = await self.db.fetchall(
            "SELECT * FROM outbox WHERE status = 'sending' ORDER BY claimed_at, id"
        )
        return [_item(r) for r in rows]

    async def recover(self, item_id: int, *, resend: bool, error: str) -> None:
        """A row a crash interrupted in flight: pending again (once), or closed as 'failed'
        when it was interrupted before (it may have gone out twice already)."""
        async with self.db.transaction():
            if resend:
                await self.db.execute(
                    "UPDATE outbox SET status = 'pending', interrupted = interrupted + 1,"
                    " last_error = ? WHERE id = ? AND status = 'sending'",
                    (error[:500], item_id),
                )
            else:
                await self.db.execute(
                    "UPDATE outbox SET status = 'failed', interrupted = interrupted + 1,"
                    " last_error = ? WHERE id = ? AND status = 'sending'",
                    (error[:500], item_id),
                )

    async def mark_sent(self, item_id: int, *, message_id: int, now: datetime) -> None:
        async with self.db.transaction():
            await self.db.execute(
                "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?,"
                " last_error = NULL WHERE id = ?",
                (to_iso(now), message_id, item_id),
            )

    async def retry_later(self, item_id: int, *, when: datetime, error: str) -> None:
        async with self.db.transaction():
            await self.db.execute(
                "UPDATE outbox SET status = 'pending', next_attempt_at = ?, last_error = ?"
                " WHERE id = ? AND status IN ('pending', 'sending')",
                (to_iso(when), error[:500], item_id),
            )

    async def mark_final(self, item_id: int, *, status: str, error: str) -> None:
        """'failed' (Telegram refused the message) or 'unreachable' (403)."""
        async with self.db.transaction():
            await self.db.execute(
                "UPDATE outbox SET status = ?, last_error = ? WHERE id = ?",
                (status, error[:500], item_id),
            )

    async def cancel_for_case(self, case_id: int, prefix: str = "") -> int:
        """Withdraw pending messages of a closed case (a child back needs no reminder)."""
        async with self.db.transaction():
            return await self.db.execute(
                "UPDATE outbox SET status = 'cancelled' WHERE case_id = ? AND status = 'pending'"
                " AND dedup_key LIKE ?",
                (case_id, prefix + "%"),
            )

    async def recipients_of_case(self, case_id: int) -> list[tuple[int, int]]:
        """(person id, chat id) of the people a message about a case was delivered to."""
        rows = await self.db.fetchall(
            "SELECT DISTINCT person_id, chat_id FROM outbox WHERE case_id = ?"
            " AND status = 'sent' AND person_id IS NOT NULL ORDER BY person_id, chat_id",
            (case_id,),
        )
        return [(int(r[0]), int(r[1])) for r in rows]

    async def per_person_since(self, since: datetime, person_ids: Iterable[int]) -> dict[int, int]:
        """How many messages each of these people was queued from ``since`` on (not
        cancelled): read through the (person, created) index, so the sweep's daily budget
        costs the people it tells, not every message queued today."""
        counts: dict[int, int] = {}
        ids = sorted(set(person_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = await self.db.fetchall(
                "SELECT person_id, COUNT(*) FROM outbox"
                f" WHERE person_id IN ({','.join('?' * len(chunk))})"
                " AND created_at >= ? AND status <> 'cancelled' GROUP BY person_id",
                (*chunk, to_iso(since)),
            )
            counts |= {int(r[0]): int(r[1]) for r in rows}
        return counts

    async def counts(self) -> dict[str, int]:
        rows = await self.db.fetchall("SELECT status, COUNT(*) FROM outbox GROUP BY status")
        return {r[0]: r[1] for r in rows}

    async def put_blob(self, *, data: bytes, filename: str, mime: str, now: datetime) -> int:
        digest = hashlib.sha256(data).hexdigest()
        async with self.db.transaction():
            return await self.db.execute(
                "INSERT INTO blobs (sha256, filename, mime, data, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (digest, filename, mime, data, to_iso(now)),
            )

    async def blob(self, blob_id: int) -> tuple[bytes, str, str] | None:
        row = await self.db.fetchone(
            "SELECT data, filename, mime FROM blobs WHERE id = ?", (blob_id,)
        )
        return (bytes(row[0]), row[1], row[2]) if row else None
