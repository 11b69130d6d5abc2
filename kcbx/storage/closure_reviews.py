"""Transfers and exemptions waiting for a second person (0013 ``closure_reviews``).

A proposal is written with its evidence on a note action of the case (the case stays open);
it is decided once, confirmed or rejected, by someone other than the proposer. Every write is
audited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kcbx.bot.domain.clock import from_iso, to_iso
from kcbx.storage.audit import AuditRepo, actor_of
from kcbx.storage.db import Database

PENDING, CONFIRMED, REJECTED = "pending", "confirmed", "rejected"


class ReviewTaken(Exception):
    """The case already has a proposal waiting, or the proposal was decided already."""


@dataclass(frozen=True)
class ClosureReview:
    id: int
    case_id: int
    how: str  # exempt | transferred
    proposed_by: int
    proposed_at: datetime
    action_id: int  # the proposal's note action (its evidence hangs on it)
    detail: dict[str, Any] = field(default_factory=dict)
    reviewer_unit: int | None = None  # the receiving school, which may confirm a transfer
    status: str = PENDING
    decided_by: int | None = None
    decided_at: datetime | None = None


def _review(row: Any) -> ClosureReview:
    return ClosureReview(
        id=row["id"],
        case_id=row["case_id"],
        how=row["how"],
        proposed_by=row["proposed_by"],
        proposed_at=from_iso(row["proposed_at"]),
        action_id=row["action_id"],
        detail=json.loads(row["detail"] or "{}"),
        reviewer_unit=row["reviewer_unit"],
        status=row["status"],
        decided_by=row["decided_by"],
        decided_at=from_iso(row["decided_at"]) if row["decided_at"] else None,
    )


class ClosureReviewRepo:
    def __init__(self, db: Database, audit: AuditRepo) -> None:
        self.db = db
        self.audit = audit

    async def propose(
        self,
        *,
        case_id: int,
        how: str,
        proposed_by: int,
        action_id: int,
        detail: dict[str, Any],
        reviewer_unit: int | None,
        now: datetime,
    ) -> ClosureReview:
        """Write a proposal (call inside the transaction that recorded its action)."""
        if await self.pending_of_case(case_id) is not None:
            raise ReviewTaken(case_id)
        review_id = await self.db.execute(
            "INSERT INTO closure_reviews (case_id, how, proposed_by, proposed_at, action_id,"
            " detail, reviewer_unit) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                case_id,
                how,
                proposed_by,
                to_iso(now),
                action_id,
                json.dumps(detail, ensure_ascii=False),
                reviewer_unit,
            ),
        )
        await self.audit.record(
            at=now,
            actor=actor_of(proposed_by),
            action=f"propose:{how}",
            entity="case",
            entity_id=case_id,
            detail={"review": review_id, "action_id": action_id},
        )
        found = await self.get(review_id)
        assert found is not None
        return found

    async def get(self, review_id: int) -> ClosureReview | None:
        row = await self.db.fetchone("SELECT * FROM closure_reviews WHERE id = ?", (review_id,))
        return _review(row) if row else None

    async def pending_of_case(self, case_id: int) -> ClosureReview | None:
        row = await self.db.fetchone(
            "SELECT * FROM closure_reviews WHERE case_id = ? AND status = 'pending'", (case_id,)
        )
        return _review(row) if row else None

    async def decide(self, review_id: int, status: str, *, by: int, now: datetime) -> None:
        """Confirm or reject a pending proposal once (ReviewTaken if decided already)."""
        changed = await self.db.execute(
            "UPDATE closure_reviews SET status = ?, decided_by = ?, decided_at = ?"
            " WHERE id = ? AND status = 'pending'",
            (status, by, to_iso(now), review_id),
        )
        if not changed:
            raise ReviewTaken(review_id)
        await self.audit.record(
            at=now,
            actor=actor_of(by),
            action=f"review:{status}",
            entity="closure_review",
            entity_id=review_id,
            detail={},
        )


__all__ = [
    "CONFIRMED",
    "PENDING",
    "REJECTED",
    "ClosureReview",
    "ClosureReviewRepo",
    "ReviewTaken",
]
