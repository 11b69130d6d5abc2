"""The A8 ledger: each month's flags frozen with their evidence (0005), the school year's
record of findings, its year-start enrolment, the leaders' ranks and the transfers and
exemptions waiting for a second person (0013).

Insert-only. A month is frozen once, in one transaction with its audit entry; there is no
method to change or remove a frozen month or flag. Each month's digest is the SHA-256 of its
figures and flags and of the previous month's digest, so :meth:`AccountabilityRepo.verify`
finds a row edited outside the bot.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from kcbx.bot.domain.clock import from_iso, to_iso
from kcbx.storage.connection.rows import json_dict, optional, reader, written
from kcbx.storage.records.audit import AuditedRepo, actor_of


@dataclass(frozen=True)
class FrozenFlag:
    """One flag as frozen: the rule, the unit, the level and the evidence (JSON data)."""

    rule: str
    unit_id: int
    level: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FrozenMonth:
    period: str
    school_year: int
    as_of: datetime
    frozen_at: datetime
    enrolled: int
    dropouts: int
    digest: str
    flags: tuple[FrozenFlag, ...] = ()


@dataclass(frozen=True)
class YearFinding:
    """A finding of the school year's record: earned once, kept whatever happens later."""

    school_year: int
    rule: str
    unit_id: int
    level: str
    earned_at: datetime
    evidence: dict[str, Any] = field(default_factory=dict)
    id: int = 0
    recorded_at: datetime | None = None


@dataclass(frozen=True)
class YearEnrolment:
    """A8.1's denominator: a district's students when the school year began."""

    school_year: int
    district_id: int
    enrolled: int  # not exempt
    exempt: int
    taken_at: datetime


def _canonical(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def month_digest(
    previous: str,
    *,
    period: str,
    as_of: str,
    enrolled: int,
    dropouts: int,
    flags: Sequence[FrozenFlag],
) -> str:
    """The chained digest of one frozen month."""
    body = {
        "previous": previous,
        "period": period,
        "as_of": as_of,
        "enrolled": enrolled,
        "dropouts": dropouts,
        "flags": [
            [f.rule, f.unit_id, f.level, f.evidence]
            for f in sorted(flags, key=lambda f: (f.rule, f.unit_id))
        ],
    }
    return hashlib.sha256(_canonical(body).encode("utf-8")).hexdigest()


class AccountabilityRepo(AuditedRepo):
    async def frozen_periods(self) -> set[str]:
        rows = await self.db.fetchall("SELECT period FROM a8_months")
        return {r[0] for r in rows}

    async def freeze_month(
        self,
        *,
        period: str,
        school_year: int,
        as_of: datetime,
        enrolled: int,
        dropouts: int,
        flags: Sequence[FrozenFlag],
        now: datetime,
        actor: str = "system",
    ) -> bool:
        """Freeze a month's flags once; False (and nothing written) if it is frozen already."""
        async with self.db.transaction():
            if await self.db.fetchval("SELECT 1 FROM a8_months WHERE period = ?", (period,)):
                return False
            previous = await self.db.fetchval(
                "SELECT digest FROM a8_months WHERE period < ? ORDER BY period DESC LIMIT 1",
                (period,),
            )
            as_of_text = to_iso(as_of)
            digest = month_digest(
                previous or "",
                period=period,
                as_of=as_of_text,
                enrolled=enrolled,
                dropouts=dropouts,
                flags=flags,
            )
            await self.db.execute(
                "INSERT INTO a8_months (period, school_year, as_of, frozen_at, enrolled,"
                " dropouts, digest) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (period, school_year, as_of_text, to_iso(now), enrolled, dropouts, digest),
            )
            await self.db.executemany(
                "INSERT INTO a8_flags (period, rule, unit_id, level, evidence)"
                " VALUES (?, ?, ?, ?, ?)",
                [(period, f.rule, f.unit_id, f.level, _canonical(f.evidence)) for f in flags],
            )
            detail = {
                "flags": [[f.rule, f.unit_id, f.level] for f in flags],
                "digest": digest,
            }
            await self.audit.record(now, actor, "a8_freeze", "a8_month", period, detail)
        return True

    async def months(self, *, school_year: int | None = None) -> list[FrozenMonth]:
        """Frozen months (of one school year), oldest first, each with its flags."""
        sql = "SELECT * FROM a8_months"
        params: list[object] = []
        if school_year is not None:
            sql += " WHERE school_year = ?"
            params.append(school_year)
        rows = await self.db.fetchall(sql + " ORDER BY period", params)
        if not rows:
            return []
        periods = [r["period"] for r in rows]
        marks = ",".join("?" * len(periods))
        flag_rows = await self.db.fetchall(
            f"SELECT * FROM a8_flags WHERE period IN ({marks}) ORDER BY period, rule, unit_id",
            periods,
        )
        by_period: dict[str, list[FrozenFlag]] = {}
        for f in flag_rows:
            by_period.setdefault(f["period"], []).append(
                FrozenFlag(f["rule"], f["unit_id"], f["level"], json.loads(f["evidence"]))
            )
        return [
            FrozenMonth(
                period=r["period"],
                school_year=r["school_year"],
                as_of=from_iso(r["as_of"]),
                frozen_at=from_iso(r["frozen_at"]),
                enrolled=r["enrolled"],
                dropouts=r["dropouts"],
                digest=r["digest"],
                flags=tuple(by_period.get(r["period"], [])),
            )
            for r in rows
        ]

    # --- the school year's record (0013) ---------------------------------------------------

    async def record_findings(
        self, findings: Sequence[YearFinding], *, now: datetime, actor: str = "system"
    ) -> list[YearFinding]:
        """Write the findings not recorded yet (one per year, rule, unit and level); the new."""
        new: list[YearFinding] = []
        async with self.db.transaction():
            for f in findings:
                key = (f.school_year, f.rule, f.unit_id, f.level)
                if await self.db.fetchval(
                    "SELECT 1 FROM a8_findings WHERE school_year = ? AND rule = ?"
                    " AND unit_id = ? AND level = ?",
                    key,
                ):
                    continue
                row_id = await self.db.execute(
                    "INSERT INTO a8_findings (school_year, rule, unit_id, level, earned_at,"
                    " recorded_at, evidence) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (*key, to_iso(f.earned_at), to_iso(now), _canonical(f.evidence)),
                )
                new.append(replace(f, id=int(row_id), recorded_at=now))
            if new:
                detail = {"findings": [[f.id, f.rule, f.unit_id, f.level] for f in new]}
                await self.audit.record(
                    now, actor, "a8_finding", "a8_year", str(new[0].school_year), detail
                )
        return new

    async def findings(self, *, school_year: int) -> list[YearFinding]:
        """The school year's findings, in the order they were earned."""
        rows = await self.db.fetchall(
            "SELECT * FROM a8_findings WHERE school_year = ? ORDER BY earned_at, rule, unit_id",
            (school_year,),
        )
        return [
            YearFinding(
                school_year=r["school_year"],
                rule=r["rule"],
                unit_id=r["unit_id"],
                level=r["level"],
                earned_at=from_iso(r["earned_at"]),
                evidence=json.loads(r["evidence"]),
                id=r["id"],
                recorded_at=from_iso(r["recorded_at"]),
            )
            for r in rows
        ]

    async def enrolment(self, *, school_year: int) -> dict[int, YearEnrolment]:
        rows = await self.db.fetchall(
            "SELECT * FROM a8_enrolment WHERE school_year = ?", (school_year,)
        )
        return {
            r["district_id"]: YearEnrolment(
                r["school_year"],
                r["district_id"],
                r["enrolled"],
                r["exempt"],
                from_iso(r["taken_at"]),
            )
            for r in rows
        }

    async def take_enrolment(
        self, school_year: int, district_id: int, *, enrolled: int, exempt: int, now: datetime
    ) -> bool:
        """Keep a district's year-start enrolment once (False: taken already)."""
        async with self.db.transaction():
            taken = not await self.db.fetchval(
                "SELECT 1 FROM a8_enrolment WHERE school_year = ? AND district_id = ?",
                (school_year, district_id),
            )
            if taken:
                await self.db.execute(
                    "INSERT INTO a8_enrolment (school_year, district_id, enrolled, exempt,"
                    " taken_at) VALUES (?, ?, ?, ?, ?)",
                    (school_year, district_id, enrolled, exempt, to_iso(now)),
                )
                detail = {"school_year": school_year, "enrolled": enrolled, "exempt": exempt}
                await self.audit.record(now, "system", "a8_enrolment", "unit", district_id, detail)
        return taken

    async def checked_until(self, name: str) -> datetime | None:
        value = await self.db.fetchval("SELECT at FROM a8_checks WHERE name = ?", (name,))
        return from_iso(value) if value else None

    async def set_checked(self, name: str, at: datetime) -> None:
        await self.db.execute(
            "INSERT INTO a8_checks (name, at) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET at = excluded.at",
            (name, to_iso(at)),
        )

    async def warned(self, keys: Iterable[str]) -> set[str]:
        """Which of these warning keys were told in a digest already."""
        wanted = sorted(set(keys))
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = await self.db.fetchall(
                "SELECT warning_key FROM a8_warned"
                f" WHERE warning_key IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            found |= {r[0] for r in rows}
        return found

    async def mark_warned(self, keys: Iterable[str], person_id: int, *, now: datetime) -> None:
        await self.db.executemany(
            "INSERT INTO a8_warned (warning_key, person_id, told_at) VALUES (?, ?, ?)"
            " ON CONFLICT (warning_key) DO NOTHING",
            [(k, person_id, to_iso(now)) for k in sorted(set(keys))],
        )

    # --- leaders: main (chief) and in charge (deputy) ----------------------------------------

    async def leader_ranks(self, person_ids: Iterable[int]) -> dict[int, str]:
        ids = sorted(set(person_ids))
        if not ids:
            return {}
        rows = await self.db.fetchall(
            f"SELECT id, leader_rank FROM people WHERE id IN ({','.join('?' * len(ids))})"
            " AND leader_rank IS NOT NULL",
            ids,
        )
        return {r["id"]: r["leader_rank"] for r in rows}

    async def set_leader_rank(
        self, person_id: int, rank: str | None, *, actor: str, now: datetime
    ) -> bool:
        """Mark a leader as the main one ('chief') or the one in charge ('deputy')."""
        async with self.db.transaction():
            changed = await self.db.execute(
                "UPDATE people SET leader_rank = ? WHERE id = ?", (rank, person_id)
            )
            if changed:
                await self.audit.record(
                    now, actor, "leader_rank", "person", person_id, {"rank": rank}
                )
        return bool(changed)

    async def verify(self) -> list[str]:
        """The periods whose stored digest does not match their rows (empty: all intact)."""
        broken: list[str] = []
        previous = ""
        for month in await self.months():
            expected = month_digest(
                previous,
                period=month.period,
                as_of=to_iso(month.as_of),
                enrolled=month.enrolled,
                dropouts=month.dropouts,
                flags=month.flags,
            )
            if expected != month.digest:
                broken.append(month.period)
            previous = month.digest
        return broken


# --- closings awaiting a second person (0013 closure_reviews) --------------------------------
# A proposal is written with its evidence on a note action of the case (the case stays open);
# it is decided once, confirmed or rejected, by someone other than the proposer.

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


_review = reader(
    ClosureReview,
    proposed_at=from_iso,
    detail=json_dict,
    decided_at=optional(from_iso),
)


class ClosureReviewRepo(AuditedRepo):
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
        return written(await self.get(review_id))

    async def get(self, review_id: int) -> ClosureReview | None:
        return await _review.one(
            self.db, "SELECT * FROM closure_reviews WHERE id = ?", (review_id,)
        )

    async def pending_of_case(self, case_id: int) -> ClosureReview | None:
        return await _review.one(
            self.db,
            "SELECT * FROM closure_reviews WHERE case_id = ? AND status = 'pending'",
            (case_id,),
        )

    async def decide(self, review_id: int, status: str, *, by: int, now: datetime) -> None:
        """Confirm or reject a pending proposal once (ReviewTaken if decided already)."""
        async with self.db.transaction():
            changed = await self.db.execute(
                "UPDATE closure_reviews SET status = ?, decided_by = ?, decided_at = ?"
                " WHERE id = ? AND status = 'pending'",
                (status, by, to_iso(now), review_id),
            )
            if not changed:
                raise ReviewTaken(review_id)
            await self.audit.record(
                now, actor_of(by), f"review:{status}", "closure_review", review_id, {}
            )


__all__ = [
    "CONFIRMED",
    "PENDING",
    "REJECTED",
    "AccountabilityRepo",
    "ClosureReview",
    "ClosureReviewRepo",
    "FrozenFlag",
    "FrozenMonth",
    "ReviewTaken",
    "YearEnrolment",
    "YearFinding",
    "month_digest",
]
