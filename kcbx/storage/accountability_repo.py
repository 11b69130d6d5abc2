"""The frozen A8 ledger (0005): each month's accountability flags with their evidence.

Insert-only. A month is frozen once, in one transaction with its audit entry; there is no
method to change or remove a frozen month or flag. Each month's digest is the SHA-256 of its
figures and flags and of the previous month's digest, so :meth:`AccountabilityRepo.verify`
finds a row edited outside the bot.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kcbx.bot.domain.clock import from_iso, to_iso
from kcbx.storage.audit import AuditRepo
from kcbx.storage.db import Database


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


class AccountabilityRepo:
    def __init__(self, db: Database, audit: AuditRepo) -> None:
        self.db = db
        self.audit = audit

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
            await self.audit.record(
                at=now,
                actor=actor,
                action="a8_freeze",
                entity="a8_month",
                entity_id=period,
                detail={
                    "flags": [[f.rule, f.unit_id, f.level] for f in flags],
                    "digest": digest,
                },
            )
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


__all__ = ["AccountabilityRepo", "FrozenFlag", "FrozenMonth", "month_digest"]
