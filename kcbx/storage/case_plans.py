"""When the sweep must look at each open case again (migration 0011).

``wake_at`` is the next instant anything about the case can change without anyone acting;
``changed`` is bumped by every write that can change what is owed on the case (a recorded
action, a visit, a referral, a notice, the case itself, the student's record), in the same
transaction as that write. The minute sweep reads the cases whose instant has come or which
changed (two indexed queries) and nothing else. ``waiting`` marks the cases with a task due
and nobody to tell: a change among the people or units (someone joins, an import) marks them
changed, so they are looked at again at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from kcbx.bot.domain.clock import to_iso
from kcbx.storage.connection.rows import Repo
from kcbx.storage.db import Database

CHUNK = 500  # ids per IN (...) list


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    unique = sorted(set(ids))
    return [unique[i : i + CHUNK] for i in range(0, len(unique), CHUNK)]


_BUMP = (
    "INSERT INTO case_plans (case_id, changed) VALUES (?, 1)"
    " ON CONFLICT (case_id) DO UPDATE SET changed = case_plans.changed + 1"
)


async def mark_changed(db: Database, case_ids: Iterable[int]) -> None:
    """Something about these cases changed: the next sweep looks at them (call inside the
    write's transaction)."""
    ids = sorted(set(case_ids))
    if ids:
        await db.executemany(_BUMP, [(i,) for i in ids])


async def mark_changed_of(db: Database, select: str, params: Sequence[object]) -> None:
    """The cases that ``select`` (one column of case ids) names changed."""
    await mark_changed(db, [int(r[0]) for r in await db.fetchall(select, params)])


async def mark_planned_changed(db: Database, select: str, params: Sequence[object]) -> None:
    """The cases that ``select`` names changed, those still in the plan only (closed cases
    are there while a return's check-ins are owed, A4.2)."""
    await db.execute(
        f"UPDATE case_plans SET changed = changed + 1 WHERE case_id IN ({select})", params
    )


async def mark_students_changed(db: Database, student_ids: Iterable[int]) -> None:
    """The students' records changed (an import, an exemption): their open cases."""
    for chunk in _chunks(student_ids):
        rows = await db.fetchall(
            "SELECT id FROM cases WHERE status = 'open' AND student_id IN"
            f" ({','.join('?' * len(chunk))})",
            chunk,
        )
        await mark_changed(db, [r[0] for r in rows])


async def mark_actors_changed(db: Database, person_ids: Iterable[int]) -> None:
    """These people's roles changed: the cases they acted on (the ladder reads the role of
    who recorded an action, A6)."""
    for chunk in _chunks(person_ids):
        marks = ",".join("?" * len(chunk))
        await mark_planned_changed(
            db, f"SELECT DISTINCT case_id FROM actions WHERE actor_id IN ({marks})", chunk
        )


async def mark_waiting_changed(db: Database) -> None:
    """People or units changed: the cases with nobody to tell are looked at again."""
    await db.execute("UPDATE case_plans SET changed = changed + 1 WHERE waiting = 1")


@dataclass(frozen=True)
class PlanMark:
    """What the sweep decided about one case it looked at."""

    case_id: int
    wake_at: datetime | None  # None: nothing can change until someone acts
    waiting: bool
    seen: int  # the ``changed`` value the sweep read: cleared only if still the same
    standing: str | None = None  # what a summary reads of the case (migration 0033)


class CasePlanRepo(Repo):
    async def to_look_at(self, now: datetime) -> dict[int, int]:
        """Cases changed or whose instant has come, with the ``changed`` value seen."""
        found: dict[int, int] = {}
        for sql, params in (
            ("SELECT case_id, changed FROM case_plans WHERE changed > 0", ()),
            ("SELECT case_id, changed FROM case_plans WHERE wake_at <= ?", (to_iso(now),)),
        ):
            for row in await self.db.fetchall(sql, params):
                found[int(row[0])] = int(row[1])
        return found

    async def every_case(self) -> dict[int, int]:
        """Every case in the plan (a full pass: the open ones, and those closed since the
        last sweep), with the ``changed`` value seen; open cases without a row get one."""
        await self.adopt_missing()
        rows = await self.db.fetchall("SELECT case_id, changed FROM case_plans")
        return {int(r[0]): int(r[1]) for r in rows}

    async def adopt_missing(self) -> None:
        """Plan rows for open cases that have none (inserted around the repositories)."""
        async with self.db.transaction():
            await self.db.execute(
                "INSERT INTO case_plans (case_id, changed) SELECT id, 1 FROM cases c"
                " WHERE c.status = 'open'"
                " AND NOT EXISTS (SELECT 1 FROM case_plans p WHERE p.case_id = c.id)"
            )

    async def count(self) -> int:
        """The cases in the plan: the open ones, and those closed since the last sweep."""
        return int(await self.db.fetchval("SELECT COUNT(*) FROM case_plans"))

    async def save(self, marks: Sequence[PlanMark], *, now: datetime) -> None:
        """Record when to look at each case again (call in the sweep's transaction)."""
        if not marks:
            return
        stamp = to_iso(now)
        await self.db.executemany(
            "UPDATE case_plans SET wake_at = ?, waiting = ?, swept_at = ?, standing = ?,"
            " looks = looks + 1,"
            " changed = CASE WHEN changed = ? THEN 0 ELSE changed END WHERE case_id = ?",
            [
                (
                    to_iso(m.wake_at) if m.wake_at else None,
                    1 if m.waiting else 0,
                    stamp,
                    m.standing,
                    m.seen,
                    m.case_id,
                )
                for m in marks
            ],
        )

    async def drop_standings(self, case_ids: Iterable[int]) -> None:
        """Forget the kept standings of these cases: a summary computes them, and the next
        sweep looks at the cases and keeps them again."""
        async with self.db.transaction():
            await self.db.executemany(
                "UPDATE case_plans SET standing = NULL, changed = changed + 1 WHERE case_id = ?",
                [(i,) for i in sorted(set(case_ids))],
            )

    async def forget(self, case_ids: Iterable[int]) -> None:
        """Closed cases leave the plan (call in the sweep's transaction)."""
        ids = sorted(set(case_ids))
        if ids:
            await self.db.executemany(
                "DELETE FROM case_plans WHERE case_id = ?", [(i,) for i in ids]
            )

    async def fingerprint(self) -> str | None:
        return await self.db.fetchval("SELECT value FROM sweep_meta WHERE name = 'rules'")

    async def set_fingerprint(self, value: str) -> None:
        async with self.db.transaction():
            await self.db.execute(
                "INSERT INTO sweep_meta (name, value) VALUES ('rules', ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (value,),
            )
