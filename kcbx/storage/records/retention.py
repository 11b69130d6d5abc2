"""Retention in the database: finding closed cases that are due, and reducing them.

Each reduction is written with its audit row in one transaction, a batch of cases at a time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from kcbx.bot.domain.clock import to_iso
from kcbx.bot.domain.retention import DETAILS, DOCUMENTS, PHOTOS, reduced_detail
from kcbx.storage.records.audit import AuditedRepo

_MARK = {
    PHOTOS: "photos_purged_at",
    DOCUMENTS: "documents_purged_at",
    DETAILS: "details_reduced_at",
}


@dataclass(frozen=True)
class DueCase:
    id: int
    number: str
    student_id: int
    closed_at: str


@dataclass(frozen=True)
class Reduction:
    case: DueCase
    files: int  # photos, evidence files or documents emptied
    size: int  # bytes removed
    fields: int  # texts removed (details)


def _marks(n: int) -> str:
    return ", ".join("?" * n)


class RetentionRepo(AuditedRepo):
    async def due(self, kind: str, closed_before: datetime, limit: int = 200) -> list[DueCase]:
        """Closed cases, closed before the instant, not yet reduced for `kind`, oldest first."""
        rows = await self.db.fetchall(
            "SELECT id, number, student_id, closed_at FROM cases"
            f" WHERE status <> 'open' AND closed_at < ? AND {_MARK[kind]} IS NULL"
            " ORDER BY closed_at, id LIMIT ?",
            (to_iso(closed_before), limit),
        )
        return [DueCase(r["id"], r["number"], r["student_id"], r["closed_at"]) for r in rows]

    async def photo_sizes(self, case: DueCase) -> tuple[int, int]:
        row = await self.db.fetchone(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(b.data)), 0) FROM evidence e"
            " JOIN blobs b ON b.id = e.blob_id WHERE e.case_id = ? AND e.purged_at IS NULL",
            (case.id,),
        )
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def document_ids(self, case: DueCase) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT receipt_blob_id, pdf_blob_id, docx_blob_id FROM notices WHERE case_id = ?",
            (case.id,),
        )
        return [b for r in rows for b in tuple(r) if b is not None]

    async def _blob_sizes(self, ids: Sequence[int]) -> int:
        if not ids:
            return 0
        size = await self.db.fetchval(
            f"SELECT COALESCE(SUM(LENGTH(data)), 0) FROM blobs WHERE id IN ({_marks(len(ids))})",
            list(ids),
        )
        return int(size or 0)

    async def plan(self, kind: str, case: DueCase) -> Reduction:
        """What reducing `case` for `kind` would remove (the dry run)."""
        if kind == PHOTOS:
            files, size = await self.photo_sizes(case)
            return Reduction(case, files, size, 0)
        if kind == DOCUMENTS:
            ids = await self.document_ids(case)
            return Reduction(case, len(ids), await self._blob_sizes(ids), 0)
        fields = sum(1 for _ in await self._detail_changes(case))
        if await self.db.fetchval("SELECT note FROM cases WHERE id = ?", (case.id,)):
            fields += 1
        return Reduction(case, 0, 0, fields)

    async def _detail_changes(self, case: DueCase) -> list[tuple[str, int]]:
        rows = await self.db.fetchall(
            "SELECT id, detail FROM actions WHERE case_id = ? ORDER BY id", (case.id,)
        )
        changes = []
        for row in rows:
            detail = json.loads(row["detail"] or "{}")
            reduced = reduced_detail(detail)
            if reduced != detail:
                changes.append((json.dumps(reduced, ensure_ascii=False, sort_keys=True), row["id"]))
        return changes

    async def reduce(self, kind: str, case: DueCase, *, now: datetime, actor: str) -> Reduction:
        """Reduce one case for `kind`, with its audit row, in one transaction."""
        async with self.db.transaction():
            done = await self.plan(kind, case)
            if kind == PHOTOS:
                await self._purge_photos(case, now)
            elif kind == DOCUMENTS:
                await self._purge_documents(case)
            else:
                await self._reduce_details(case)
            await self.db.execute(
                f"UPDATE cases SET {_MARK[kind]} = ? WHERE id = ?", (to_iso(now), case.id)
            )
            detail = {"files": done.files, "bytes": done.size, "fields": done.fields}
            await self.audit.record(
                now, actor, f"retention:{kind}", "case", case.id, detail, student_id=case.student_id
            )
        return done

    async def _purge_photos(self, case: DueCase, now: datetime) -> None:
        # A blob shared with a record of another case that still keeps its photos stays.
        await self.db.execute(
            "UPDATE blobs SET data = ? WHERE id IN (SELECT blob_id FROM evidence"
            " WHERE case_id = ?) AND NOT EXISTS (SELECT 1 FROM evidence o"
            " WHERE o.blob_id = blobs.id AND o.case_id <> ? AND o.purged_at IS NULL)",
            (b"", case.id, case.id),
        )
        await self.db.execute(
            "UPDATE evidence SET purged_at = ?, file_id = NULL, file_unique_id = NULL"
            " WHERE case_id = ?",
            (to_iso(now), case.id),
        )

    async def _purge_documents(self, case: DueCase) -> None:
        ids = await self.document_ids(case)
        await self.db.execute(
            "UPDATE notices SET receipt_blob_id = NULL, pdf_blob_id = NULL, docx_blob_id = NULL"
            " WHERE case_id = ?",
            (case.id,),
        )
        if ids:
            await self.db.execute(
                f"DELETE FROM blobs WHERE id IN ({_marks(len(ids))})"
                " AND NOT EXISTS (SELECT 1 FROM evidence e WHERE e.blob_id = blobs.id)"
                " AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.receipt_blob_id = blobs.id"
                " OR n.pdf_blob_id = blobs.id OR n.docx_blob_id = blobs.id)",
                ids,
            )

    async def _reduce_details(self, case: DueCase) -> None:
        changes = await self._detail_changes(case)
        if changes:
            await self.db.executemany("UPDATE actions SET detail = ? WHERE id = ?", changes)
        # guardian_contact stays: it is a code (reached, refused ...), the evidence of the call
        await self.db.execute("UPDATE cases SET note = NULL WHERE id = ?", (case.id,))
