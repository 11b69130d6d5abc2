"""The register of notices to enrol by a deadline (A7.4) and orders to correct (A7.5).

Numbers never repeat and never skip: a number is the series' counter row incremented in the
transaction that inserts the document (kcbx.storage.counters: no other writer takes a number
of the series until it commits, and a rollback gives the number back), and
``UNIQUE (kind, year, seq)`` would refuse a duplicate even so. A number, once allocated, stays
in the register: a document made by mistake is re-issued under a new number that points to
the one it replaces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from kcbx.bot.domain.clock import from_iso, to_iso
from kcbx.bot.domain.model import Notice, Person
from kcbx.storage.connection.rows import Repo, insert_new, optional, reader, written
from kcbx.storage.counters import take_next
from kcbx.storage.records.audit import AuditedRepo, AuditEvent
from kcbx.storage.students import scope_clause

KINDS = ("notice", "correction")
_CASE_OF = "SELECT case_id FROM notices WHERE id = ?"


_notice = reader(
    Notice,
    created_at=from_iso,
    issue_date=date.fromisoformat,
    issued_at=optional(from_iso),
    deadline=optional(date.fromisoformat),
    delivered_on=optional(date.fromisoformat),
)


class _Numbering(NamedTuple):
    """How a new document is numbered and dated, and who asked for it (for the audit)."""

    year: int
    number: Callable[[int], str]  # the printed number of a sequence number
    issue_date: date
    now: datetime
    actor: str


class NoticeRepo(AuditedRepo):
    async def get(self, notice_id: int) -> Notice | None:
        return await _notice.one(self.db, "SELECT * FROM notices WHERE id = ?", (notice_id,))

    async def of_case(self, case_id: int) -> list[Notice]:
        """Every document of a case, replaced ones included, in the order they were numbered."""
        return await _notice.all(
            self.db, "SELECT * FROM notices WHERE case_id = ? ORDER BY created_at, id", (case_id,)
        )

    async def current(self, case_id: int, kind: str) -> Notice | None:
        """The latest document of a kind on a case that has not been replaced."""
        return await _notice.one(
            self.db,
            "SELECT * FROM notices WHERE case_id = ? AND kind = ? AND status <> 'replaced'"
            " ORDER BY created_at DESC, id DESC LIMIT 1",
            (case_id, kind),
        )

    async def numbers(self, kind: str, year: int) -> list[int]:
        """The sequence numbers of a kind's documents in a year, in order (register checks)."""
        rows = await self.db.fetchall(
            "SELECT seq FROM notices WHERE kind = ? AND year = ? ORDER BY seq", (kind, year)
        )
        return [int(r[0]) for r in rows]

    async def open_document(
        self,
        case_id: int,
        kind: str,
        *,
        year: int,
        number: Callable[[int], str],
        issue_date: date,
        task: str | None,
        cites_id: int | None,
        reuse_delivered: bool,
        now: datetime,
        actor: str,
    ) -> tuple[Notice, bool]:
        """The case's current document of ``kind``, or a new one with the year's next number.

        A current document is reused (so every recipient of a task gets the same number)
        unless it is delivered and ``reuse_delivered`` is false: a renewed order to correct
        (A7.5 again) is a new document. Returns the document and whether it is new.
        """
        if kind not in KINDS:
            raise ValueError(kind)
        async with self.db.transaction():
            current = await self.current(case_id, kind)
            if current is not None and (reuse_delivered or not current.delivered):
                return current, False
            numbering = _Numbering(year, number, issue_date, now, actor)
            notice = await self._allocate(
                case_id, kind, numbering, task=task, cites_id=cites_id, replaces=None
            )
        return notice, True

    async def reissue(
        self,
        old: Notice,
        *,
        year: int,
        number: Callable[[int], str],
        issue_date: date,
        now: datetime,
        actor: str,
    ) -> Notice | None:
        """Replace a document by a new one with a new number; None if it was replaced already.

        The old row is kept, marked 'replaced', and the new one points to it.
        """
        async with self.db.transaction():
            changed = await self.db.execute(
                "UPDATE notices SET status = 'replaced' WHERE id = ? AND status <> 'replaced'",
                (old.id,),
            )
            if not changed:
                return None
            numbering = _Numbering(year, number, issue_date, now, actor)
            return await self._allocate(
                old.case_id, old.kind, numbering, task=old.task, cites_id=old.cites_id, replaces=old
            )

    async def _allocate(
        self,
        case_id: int,
        kind: str,
        numbering: _Numbering,
        *,
        task: str | None,
        cites_id: int | None,
        replaces: Notice | None,
    ) -> Notice:
        """Insert the next number of (kind, year); call inside a transaction."""
        year, number, issue_date, now, actor = numbering
        highest = await self.db.fetchval(
            "SELECT COALESCE(MAX(seq), 0) FROM notices WHERE kind = ? AND year = ?", (kind, year)
        )
        seq = await take_next(self.db, f"notice:{kind}:{year}", highest=int(highest))
        printed = number(seq)
        notice_id = await self.db.execute(
            "INSERT INTO notices (case_id, kind, year, seq, number, replaces_id, cites_id, task,"
            " created_at, created_by, issue_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                case_id,
                kind,
                year,
                seq,
                printed,
                replaces.id if replaces else None,
                cites_id,
                task,
                to_iso(now),
                actor,
                issue_date.isoformat(),
            ),
        )
        detail = {
            "notice_id": notice_id,
            "kind": kind,
            "number": printed,
            "replaces": replaces.number if replaces else None,
        }
        await self.audit.record(
            now, actor, "notice:reissue" if replaces else "notice:number", "case", case_id, detail
        )
        return written(await self.get(notice_id))

    async def attach_documents(
        self, notice_id: int, *, pdf_blob_id: int, docx_blob_id: int, now: datetime
    ) -> bool:
        """Keep the rendered files with the number; False if another render came first."""
        async with self.db.transaction():
            changed = await self.db.execute(
                "UPDATE notices SET pdf_blob_id = ?, docx_blob_id = ?"
                " WHERE id = ? AND pdf_blob_id IS NULL",
                (pdf_blob_id, docx_blob_id, notice_id),
            )
            if changed:
                detail = {"pdf": pdf_blob_id, "docx": docx_blob_id}
                await self.audit.record(now, "system", "notice:render", "notice", notice_id, detail)
        return bool(changed)

    async def mark_issued(self, notice_id: int, *, person_id: int, now: datetime) -> bool:
        """Record that a drafted document was signed and stamped; False if it was not a draft."""
        return await self._update_audited(
            "UPDATE notices SET status = 'issued', issued_by = ?, issued_at = ?"
            " WHERE id = ? AND status = 'drafted'",
            (person_id, to_iso(now), notice_id),
            AuditEvent(now, f"person:{person_id}", "notice:issue", "notice", notice_id),
            case_of=_CASE_OF,
        )

    async def mark_delivered(
        self,
        notice_id: int,
        *,
        delivered_on: date,
        delivered_to: str,
        person_id: int,
        receipt_blob_id: int,
        deadline: date,
        action_id: int,
        now: datetime,
    ) -> bool:
        """Record the delivery with its proof; False if the document is delivered or replaced.

        A document delivered before anyone pressed "issued" counts as issued by the person
        who delivered it.
        """
        detail = {
            "delivered_on": delivered_on.isoformat(),
            "deadline": deadline.isoformat(),
            "receipt_blob_id": receipt_blob_id,
            "action_id": action_id,
        }
        return await self._update_audited(
            "UPDATE notices SET status = 'delivered', delivered_on = ?, delivered_to = ?,"
            " delivered_by = ?, delivery_recorded_at = ?, receipt_blob_id = ?, deadline = ?,"
            " action_id = ?, issued_by = COALESCE(issued_by, ?),"
            " issued_at = COALESCE(issued_at, ?)"
            " WHERE id = ? AND status IN ('drafted', 'issued')",
            (
                delivered_on.isoformat(),
                delivered_to,
                person_id,
                to_iso(now),
                receipt_blob_id,
                deadline.isoformat(),
                action_id,
                person_id,
                to_iso(now),
                notice_id,
            ),
            AuditEvent(now, f"person:{person_id}", "notice:deliver", "notice", notice_id, detail),
            case_of=_CASE_OF,
        )

    async def pending_visible(self, person: Person, *, limit: int = 200) -> list[Notice]:
        """Documents of open cases the person may see that are not yet delivered, oldest first."""
        return await self._open_visible(
            person, "n.status IN ('drafted', 'issued')", "n.created_at, n.id", limit
        )

    async def running_visible(self, person: Person, *, limit: int = 200) -> list[Notice]:
        """Delivered documents of open cases the person may see, the latest of each kind."""
        latest = (
            "n.status = 'delivered'"
            " AND NOT EXISTS (SELECT 1 FROM notices later WHERE later.case_id = n.case_id"
            " AND later.kind = n.kind AND later.status <> 'replaced' AND later.id > n.id)"
        )
        return await self._open_visible(person, latest, "n.deadline, n.id", limit)

    async def _open_visible(
        self, person: Person, condition: str, order: str, limit: int
    ) -> list[Notice]:
        """Documents that meet ``condition`` (SQL on ``n``), of open cases the person may see."""
        clause, params = scope_clause(person)
        return await _notice.all(
            self.db,
            "SELECT n.* FROM notices n JOIN cases c ON c.id = n.case_id"
            " JOIN students s ON s.id = c.student_id"
            f" WHERE c.status = 'open' AND {condition} AND {clause}"
            f" ORDER BY {order} LIMIT ?",
            [*params, limit],
        )


# --- the files owed (migration 0011): recorded by the sweep, queued by the worker ---


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


_file = reader(NoticeFile)


class NoticeFileRepo(Repo):
    async def add_many(self, files: Sequence[NoticeFile], *, now: datetime) -> int:
        """Record files owed, once per outbox key (joins the sweep's transaction)."""
        return await insert_new(
            self.db,
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

    async def pending(self, limit: int) -> list[NoticeFile]:
        """The oldest files not queued yet."""
        return await _file.all(
            self.db,
            "SELECT * FROM notice_files WHERE queued_at IS NULL ORDER BY created_at, outbox_key"
            " LIMIT ?",
            (limit,),
        )

    async def mark_queued(self, keys: Sequence[str], *, now: datetime) -> None:
        """The files went into the outbox (or were dropped: their notice was replaced)."""
        await self.db.executemany(
            "UPDATE notice_files SET queued_at = ? WHERE outbox_key = ?",
            [(to_iso(now), k) for k in keys],
        )
