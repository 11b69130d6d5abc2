"""Referrals (A6, A9): a case brought to a department that owns its cause, or for relief.

A department's liaison sees only the cases referred to it and not withdrawn
(``students.scope_clause``); every change of a referral is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kcbx.bot.domain.clock import from_iso, to_iso
from kcbx.storage.case_plans import mark_changed
from kcbx.storage.connection.rows import optional, reader
from kcbx.storage.records.audit import AuditedRepo, AuditEvent

OPEN, ACCEPTED, CLOSED, WITHDRAWN = "open", "accepted", "closed", "withdrawn"
_CASE_OF = "SELECT case_id FROM referrals WHERE id = ?"
STANDING = (OPEN, ACCEPTED)  # a referral the department still has to act on


@dataclass(frozen=True)
class Referral:
    id: int
    case_id: int
    department_id: int
    department_code: str | None
    reason: str  # the cause code, or 'a9'
    created_at: datetime
    status: str
    accepted_by: int | None
    accepted_at: datetime | None

    @property
    def standing(self) -> bool:
        return self.status in STANDING


@dataclass(frozen=True)
class InboxItem:
    """One line of a department's inbox: the referral and the case facts it may know."""

    referral: Referral
    case_number: str
    case_status: str
    cause: str
    student_id: int
    student_name: str


_SELECT = (
    "SELECT r.*, u.code AS department_code FROM referrals r JOIN units u ON u.id = r.department_id"
)


_referral = reader(Referral, created_at=from_iso, accepted_at=optional(from_iso))


class ReferralRepo(AuditedRepo):
    async def department_unit(self, code: str, district_id: int | None = None) -> int | None:
        """The unit of the department with this A6 code, preferably the district's own (as
        the sweep chooses whom to tell: ``recipients.Directory.department``)."""
        value = await self.db.fetchval(
            "SELECT id FROM units WHERE kind = 'department' AND code = ?"
            " ORDER BY CASE WHEN parent_id = ? THEN 0 ELSE 1 END, id LIMIT 1",
            (code, district_id),
        )
        return int(value) if value is not None else None

    async def get(self, referral_id: int) -> Referral | None:
        return await _referral.one(self.db, _SELECT + " WHERE r.id = ?", (referral_id,))

    async def of_case(self, case_id: int, *, with_withdrawn: bool = False) -> list[Referral]:
        sql = _SELECT + " WHERE r.case_id = ?"
        if not with_withdrawn:
            sql += " AND r.status <> 'withdrawn'"
        return await _referral.all(self.db, sql + " ORDER BY r.id", (case_id,))

    async def refer(
        self, case_id: int, department_id: int, *, reason: str, now: datetime, actor: str
    ) -> Referral | None:
        """Refer a case to a department (A6, A9), or refer it again after a withdrawal.

        Returns the referral when it was opened now, None when it already stood.
        """
        async with self.db.transaction():
            row = await self.db.fetchone(
                "SELECT id, status FROM referrals WHERE case_id = ? AND department_id = ?",
                (case_id, department_id),
            )
            if row is None:
                referral_id = await self.db.execute(
                    "INSERT INTO referrals (case_id, department_id, reason, created_at, status,"
                    " status_at) VALUES (?, ?, ?, ?, 'open', ?)",
                    (case_id, department_id, reason, to_iso(now), to_iso(now)),
                )
            elif row["status"] in (WITHDRAWN, CLOSED):
                referral_id = int(row["id"])
                await self.db.execute(
                    "UPDATE referrals SET status = 'open', reason = ?, status_at = ?,"
                    " accepted_by = NULL, accepted_at = NULL WHERE id = ?",
                    (reason, to_iso(now), referral_id),
                )
            else:
                return None
            detail = {
                "referral_id": referral_id,
                "department_id": department_id,
                "reason": reason,
            }
            await self.audit.record(now, actor, "refer", "case", case_id, detail)
        return await self.get(referral_id)

    async def withdraw(self, referral_id: int, *, why: str, now: datetime, actor: str) -> bool:
        """The cause no longer concerns the department: it no longer sees the case."""
        return await self._set_status(referral_id, WITHDRAWN, now=now, actor=actor, why=why)

    async def accept(self, referral_id: int, *, person_id: int, now: datetime) -> bool:
        """The department takes the case on; False unless it was open."""
        return await self._update_audited(
            "UPDATE referrals SET status = 'accepted', accepted_by = ?, accepted_at = ?,"
            " status_at = ? WHERE id = ? AND status = 'open'",
            (person_id, to_iso(now), to_iso(now), referral_id),
            AuditEvent(now, f"person:{person_id}", "referral:accepted", "referral", referral_id),
            case_of=_CASE_OF,
        )

    async def close_of_case(self, case_id: int, *, now: datetime, actor: str) -> int:
        """The case closed (exempt, transferred): its standing referrals close with it."""
        async with self.db.transaction():
            changed = await self.db.execute(
                "UPDATE referrals SET status = 'closed', status_at = ?"
                " WHERE case_id = ? AND status IN ('open', 'accepted')",
                (to_iso(now), case_id),
            )
            if changed:
                await mark_changed(self.db, [case_id])
                await self.audit.record(
                    now, actor, "referrals:closed", "case", case_id, {"count": changed}
                )
        return changed

    async def _set_status(
        self, referral_id: int, status: str, *, now: datetime, actor: str, why: str
    ) -> bool:
        return await self._update_audited(
            "UPDATE referrals SET status = ?, status_at = ?"
            " WHERE id = ? AND status IN ('open', 'accepted')",
            (status, to_iso(now), referral_id),
            AuditEvent(now, actor, f"referral:{status}", "referral", referral_id, {"why": why}),
            case_of=_CASE_OF,
        )

    async def inbox(self, department_id: int, *, limit: int, offset: int = 0) -> list[InboxItem]:
        """A department's referrals, not withdrawn: open cases first, then the newest."""
        rows = await self.db.fetchall(
            "SELECT r.*, u.code AS department_code, c.number AS case_number,"
            " c.status AS case_status, c.cause AS cause, s.id AS student_id,"
            " s.name AS student_name"
            " FROM referrals r JOIN units u ON u.id = r.department_id"
            " JOIN cases c ON c.id = r.case_id JOIN students s ON s.id = c.student_id"
            " WHERE r.department_id = ? AND r.status <> 'withdrawn'"
            " ORDER BY CASE WHEN c.status = 'open' THEN 0 ELSE 1 END,"
            " CASE r.status WHEN 'open' THEN 0 WHEN 'accepted' THEN 1 ELSE 2 END,"
            " r.created_at DESC, r.id DESC LIMIT ? OFFSET ?",
            (department_id, limit, offset),
        )
        return [
            InboxItem(
                referral=_referral(r),
                case_number=r["case_number"],
                case_status=r["case_status"],
                cause=r["cause"],
                student_id=r["student_id"],
                student_name=r["student_name"],
            )
            for r in rows
        ]

    async def count_inbox(self, department_id: int) -> int:
        return int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM referrals WHERE department_id = ? AND status <> 'withdrawn'",
                (department_id,),
            )
        )
