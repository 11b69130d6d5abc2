"""The audit log: who did or saw what of which record, and when. Append-only, and it shows.

Every row is a link of a hash chain: ``hash`` covers the row's content and ``prev_hash``, the
hash of the row before it; ``audit_head`` holds the last row. Editing a row breaks its hash,
deleting one breaks the next row's link, deleting the tail breaks the head. With a key
(``KCBX_AUDIT_KEY``, kept outside the database) the hashes are HMACs, so that someone who can
write the database file cannot forge a consistent chain either.

Writes are audited in the transaction of the write they describe. Reads of a child's personal
data (a case card, a list with names, photos, documents) are noted in memory and written in
batches (:meth:`AuditRepo.flush`, every few seconds and at shutdown), so that a button press
costs no extra database round trip.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kcbx.bot.domain.clock import to_iso
from kcbx.storage.case_plans import mark_changed_of
from kcbx.storage.connection.rows import Repo
from kcbx.storage.db import Database

GENESIS = "0" * 64
_VERIFY_CHUNK = 5000
# A read noted in memory is written at the latest with the next flush; this many at once
# are flushed at once, so a burst (a district's drill-down) does not grow without bound.
FLUSH_AT = 500


def actor_of(person_id: int | None) -> str:
    """The audit actor string of a person (or the system)."""
    return f"person:{person_id}" if person_id is not None else "system"


@dataclass(frozen=True)
class _Entry:
    at: str
    actor: str
    action: str
    entity: str
    entity_id: str | None
    detail: str
    student_id: int | None
    chat_id: int | None


@dataclass(frozen=True)
class AuditEvent:
    """An entry to write: at ``at``, ``actor`` did ``action`` to ``entity`` ``entity_id``."""

    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: object = None
    detail: dict[str, Any] | None = None


@dataclass(frozen=True)
class Verdict:
    """What `kcbx audit verify` found: the rows read, and the first that does not match."""

    rows: int
    head_hash: str
    bad_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.bad_id is None and not self.reason


def _entry(
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    detail: dict[str, Any] | None,
    student_id: int | None,
    chat_id: int | None,
) -> _Entry:
    return _Entry(
        to_iso(at),
        actor,
        action,
        entity,
        None if entity_id is None else str(entity_id),
        json.dumps(detail or {}, ensure_ascii=False, sort_keys=True),
        student_id,
        chat_id,
    )


class AuditRepo:
    def __init__(self, db: Database, key: str | None = None) -> None:
        self.db = db
        # the key travels with the connection, so every repository that audits uses it
        key = getattr(db, "audit_key", "") if key is None else key
        self._key = key.encode("utf-8")
        self._pending: list[_Entry] = []

    def _hash(self, prev: str, row_id: int, e: _Entry) -> str:
        fields = [row_id, e.at, e.actor, e.action, e.entity, e.entity_id, e.detail]
        fields += [e.student_id, e.chat_id, prev]
        payload = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if self._key:
            return hmac.new(self._key, payload, hashlib.sha256).hexdigest()
        return hashlib.sha256(payload).hexdigest()

    async def record(
        self,
        at: datetime,
        actor: str,
        action: str,
        entity: str,
        entity_id: object = None,
        detail: dict[str, Any] | None = None,
        *,
        student_id: int | None = None,
        chat_id: int | None = None,
    ) -> int:
        """Append one entry (call inside the transaction of the write it describes): at
        ``at``, ``actor`` did ``action`` to the ``entity`` ``entity_id``, with ``detail``;
        in that order, so that a short entry is written in one line."""
        entry = _entry(at, actor, action, entity, entity_id, detail, student_id, chat_id)
        async with self.db.transaction():
            return (await self._append([entry]))[-1]

    async def _append(self, entries: Sequence[_Entry]) -> list[int]:
        # Taking the head row first serialises writers (SQLite's write lock, PostgreSQL's row
        # lock), so two transactions never link to the same previous row.
        head = await self.db.fetchone(
            "UPDATE audit_head SET last_id = last_id + ? WHERE id = 1 RETURNING last_id, last_hash",
            (len(entries),),
        )
        assert head is not None, "audit_head is missing: migration 0015 did not run"
        first = int(head[0]) - len(entries) + 1
        prev = head[1] or GENESIS
        rows: list[tuple[Any, ...]] = []
        for offset, e in enumerate(entries):
            row_id = first + offset
            digest = self._hash(prev, row_id, e)
            content = (e.at, e.actor, e.action, e.entity, e.entity_id, e.detail)
            rows.append((row_id, *content, e.student_id, e.chat_id, prev, digest))
            prev = digest
        await self.db.executemany(
            "INSERT INTO audit_log (id, at, actor, action, entity, entity_id, detail,"
            " student_id, chat_id, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        await self.db.execute("UPDATE audit_head SET last_hash = ? WHERE id = 1", (prev,))
        return [r[0] for r in rows]

    # -- reads of a child's personal data -------------------------------------------------

    def viewed(
        self,
        *,
        at: datetime,
        actor: str,
        what: str,
        entity: str,
        entity_id: object = None,
        student_id: int | None = None,
        chat_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Note that someone saw a child's data; written with the next :meth:`flush`."""
        action = f"view:{what}"
        self._pending.append(
            _entry(at, actor, action, entity, entity_id, detail, student_id, chat_id)
        )

    @property
    def pending_reads(self) -> int:
        return len(self._pending)

    @property
    def should_flush(self) -> bool:
        return len(self._pending) >= FLUSH_AT

    async def flush(self) -> int:
        """Write the noted reads in one transaction; return how many."""
        if not self._pending:
            return 0
        batch, self._pending = self._pending, []
        try:
            async with self.db.transaction():
                await self._append(batch)
        except BaseException:
            self._pending[:0] = batch  # kept for the next flush
            raise
        return len(batch)

    # -- the chain ----------------------------------------------------------------------------

    async def seal(self) -> int:
        """Chain the rows written before the chain existed (once, when first opened)."""
        head = await self.db.fetchone("SELECT legacy_last_id FROM audit_head WHERE id = 1")
        if head is None:
            return 0
        async with self.db.transaction():
            rows = await self.db.fetchall(
                "SELECT * FROM audit_log WHERE hash IS NULL AND id <= ? ORDER BY id",
                (head[0],),
            )
            if not rows:
                return 0
            before = await self.db.fetchval(
                "SELECT hash FROM audit_log WHERE hash IS NOT NULL AND id < ?"
                " ORDER BY id DESC LIMIT 1",
                (rows[0]["id"],),
            )
            prev = before or GENESIS
            updates = []
            for row in rows:
                digest = self._hash(prev, row["id"], _stored(row))
                updates.append((prev, digest, row["id"]))
                prev = digest
            await self.db.executemany(
                "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?", updates
            )
            last = await self.db.fetchone("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
            assert last is not None
            await self.db.execute(
                "UPDATE audit_head SET last_id = ?, last_hash = ?, legacy_last_id = 0 WHERE id = 1",
                (last["id"], last["hash"]),
            )
        return len(rows)

    async def verify(self) -> Verdict:
        """Walk the chain from the first row; name the first row that does not match."""
        prev, count, after = GENESIS, 0, -1
        while True:
            rows = await self.db.fetchall(
                "SELECT * FROM audit_log WHERE id > ? ORDER BY id LIMIT ?", (after, _VERIFY_CHUNK)
            )
            for row in rows:
                count += 1
                if row["hash"] is None:
                    return Verdict(count, prev, row["id"], "not chained")
                if row["prev_hash"] != prev:
                    return Verdict(
                        count, prev, row["id"], "the row before it was changed or removed"
                    )
                if self._hash(prev, row["id"], _stored(row)) != row["hash"]:
                    return Verdict(count, prev, row["id"], "its content was changed")
                prev = row["hash"]
            if len(rows) < _VERIFY_CHUNK:
                break
            after = rows[-1]["id"]
        head = await self.db.fetchone("SELECT last_id, last_hash FROM audit_head WHERE id = 1")
        if head is not None and (head[1] or GENESIS) != prev:
            return Verdict(count, prev, None, "the newest rows were removed")
        return Verdict(count, prev)

    # -- reading the log ------------------------------------------------------------------

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
        return _decoded(reversed(await self.db.fetchall(sql, params)))

    async def of_student(self, student_id: int, *, limit: int = 1000) -> list[dict[str, Any]]:
        """Everything done to or seen of one student: the student, its cases, their records."""
        rows = await self.db.fetchall(
            "SELECT * FROM audit_log WHERE student_id = ?"
            " OR (entity = 'student' AND entity_id = ?)"
            " OR (entity = 'case' AND entity_id IN"
            "     (SELECT CAST(id AS TEXT) FROM cases WHERE student_id = ?))"
            " ORDER BY id DESC LIMIT ?",
            (student_id, str(student_id), student_id, limit),
        )
        return _decoded(reversed(rows))

    async def of_actor(self, actor: str, *, limit: int = 1000) -> list[dict[str, Any]]:
        """Everything one person did or saw, newest last."""
        rows = await self.db.fetchall(
            "SELECT * FROM audit_log WHERE actor = ? ORDER BY id DESC LIMIT ?", (actor, limit)
        )
        return _decoded(reversed(rows))


def _stored(row: Any) -> _Entry:
    return _Entry(
        row["at"],
        row["actor"],
        row["action"],
        row["entity"],
        row["entity_id"],
        row["detail"],
        row["student_id"],
        row["chat_id"],
    )


def _decoded(rows: Any) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        item = dict(row)
        item["detail"] = json.loads(item["detail"])
        out.append(item)
    return out


class AuditedRepo(Repo):
    """A repository whose writes are audited: the database, and the log its writes go to."""

    def __init__(self, db: Database, audit: AuditRepo) -> None:
        super().__init__(db)
        self.audit = audit

    async def _update_audited(
        self, sql: str, params: Sequence[Any], event: AuditEvent, *, case_of: str
    ) -> bool:
        """A guarded UPDATE of the record ``event`` names; if it changed the row, the case
        the record belongs to (``case_of``: its case id from its id) changed and ``event`` is
        audited, in the same transaction. Whether it changed."""
        async with self.db.transaction():
            changed = await self.db.execute(sql, params)
            if changed:
                await mark_changed_of(self.db, case_of, (event.entity_id,))
                e = event
                await self.audit.record(e.at, e.actor, e.action, e.entity, e.entity_id, e.detail)
        return bool(changed)
