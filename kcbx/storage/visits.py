"""Visits and other records with evidence, and closing a case as exempt or transferred.

Each write is one transaction: the action (append-only, ``cases.record_action``), its
evidence files (kept in ``blobs``), and for a closure the case's status and the student's
exempt flag. Nothing is half-written: if any part fails, none of it is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict, Unpack

from kcbx.bot.domain.clock import from_iso, to_iso
from kcbx.bot.domain.model import Action, Case
from kcbx.storage import rollups
from kcbx.storage.case_plans import mark_students_changed
from kcbx.storage.cases import CaseRepo
from kcbx.storage.connection.rows import reader
from kcbx.storage.db import Database
from kcbx.storage.outbox import OutboxRepo
from kcbx.storage.records.audit import AuditRepo, actor_of


@dataclass(frozen=True)
class EvidenceFile:
    """A photo or document received in chat, downloaded and ready to keep."""

    kind: str  # photo | document
    data: bytes
    filename: str
    mime: str
    file_id: str | None = None
    file_unique_id: str | None = None


@dataclass(frozen=True)
class Evidence:
    id: int
    case_id: int
    action_id: int
    kind: str
    blob_id: int
    file_id: str | None
    filename: str
    mime: str
    size: int
    created_at: datetime


class ActionRecorded(TypedDict):
    """What was done on a case, as :meth:`VisitRepo.record` and
    :meth:`VisitRepo.close_case` take it: the action's fields and its evidence."""

    kind: str
    actor_id: int
    at: datetime
    now: datetime
    rule: str | None
    detail: dict[str, Any]
    evidence: list[EvidenceFile]


class CaseNotOpen(Exception):
    """The case was closed meanwhile (by someone else, or a second press)."""


_evidence = reader(Evidence, created_at=from_iso)


class VisitRepo:
    def __init__(self, db: Database, cases: CaseRepo, outbox: OutboxRepo, audit: AuditRepo) -> None:
        self.db = db
        self.cases = cases
        self.outbox = outbox
        self.audit = audit

    async def record(
        self, case_id: int, *, corrects_id: int | None = None, **action: Unpack[ActionRecorded]
    ) -> Action:
        """Record what was done on an open case, with its evidence, in one transaction."""
        async with self.db.transaction():
            _case, recorded = await self._on_open(case_id, action, corrects_id)
        return recorded

    async def close_case(
        self,
        case_id: int,
        *,
        status: str,
        mark_exempt: bool = False,
        **action: Unpack[ActionRecorded],
    ) -> Action:
        """Close an open case as exempt (A3) or transferred, with the action and evidence.

        ``mark_exempt`` sets the student's exempt flag (A3: not a dropout, counted apart).
        Raises CaseNotOpen when the case is closed already.
        """
        now, actor = action["now"], actor_of(action["actor_id"])
        async with self.db.transaction():
            case, recorded = await self._on_open(case_id, action)
            if not await self.cases.close(case_id, status=status, now=now, actor=actor):
                raise CaseNotOpen(case_id)
            if mark_exempt:
                await self.db.execute(
                    "UPDATE students SET exempt = 1, updated_at = ? WHERE id = ?",
                    (to_iso(now), case.student_id),
                )
                await mark_students_changed(self.db, [case.student_id])
                await rollups.recount_students(self.db, [case.student_id])
                await self.audit.record(
                    at=now,
                    actor=actor,
                    action="exempt",
                    entity="student",
                    entity_id=case.student_id,
                    detail={"case_id": case_id, "action_id": recorded.id},
                )
        return recorded

    async def _on_open(
        self, case_id: int, action: ActionRecorded, corrects_id: int | None = None
    ) -> tuple[Case, Action]:
        """The case, if open (else CaseNotOpen), and the action recorded on it with its
        evidence kept; call inside a transaction."""
        case = await self.cases.get(case_id)
        if case is None or not case.is_open:
            raise CaseNotOpen(case_id)
        actor_id, now = action["actor_id"], action["now"]
        recorded = await self.cases.record_action(
            case_id,
            kind=action["kind"],
            actor_id=actor_id,
            at=action["at"],
            now=now,
            rule=action["rule"],
            detail=action["detail"],
            corrects_id=corrects_id,
        )
        await self._keep(case_id, recorded.id, action["evidence"], actor_id=actor_id, now=now)
        return case, recorded

    async def _keep(
        self,
        case_id: int,
        action_id: int,
        files: list[EvidenceFile],
        *,
        actor_id: int,
        now: datetime,
    ) -> None:
        kept = []
        for item in files:
            blob_id = await self.outbox.put_blob(
                data=item.data, filename=item.filename, mime=item.mime, now=now
            )
            evidence_id = await self.db.execute(
                "INSERT INTO evidence (case_id, action_id, kind, blob_id, file_id,"
                " file_unique_id, filename, mime, size, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    case_id,
                    action_id,
                    item.kind,
                    blob_id,
                    item.file_id,
                    item.file_unique_id,
                    item.filename,
                    item.mime,
                    len(item.data),
                    to_iso(now),
                ),
            )
            kept.append(evidence_id)
        if kept:
            detail = {"action_id": action_id, "evidence": kept}
            await self.audit.record(now, actor_of(actor_id), "evidence", "case", case_id, detail)

    async def evidence_of_case(self, case_id: int) -> list[Evidence]:
        return await _evidence.all(
            self.db, "SELECT * FROM evidence WHERE case_id = ? ORDER BY id", (case_id,)
        )

    async def evidence_of_action(self, action_id: int) -> list[Evidence]:
        return await _evidence.all(
            self.db, "SELECT * FROM evidence WHERE action_id = ? ORDER BY id", (action_id,)
        )
