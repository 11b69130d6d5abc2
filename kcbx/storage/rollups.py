"""Per-school counts kept beside the rows they count (migration 0026), and their recount.

A leader's summary of a district or a province reads ``school_rollups`` (one row per
school) instead of counting a million students: enrolled, exempt (A3), and the cases by
status (open, returned, exempt, transferred) at the student's school. A township's or a
district's figure is the sum of its schools' rows, so a school that moves to another
township takes its counts along.

Every write that changes a count changes it in the same transaction:

* a case opened or closed moves one count (:func:`case_opened`, :func:`case_closed`): an
  ``n = n + 1`` on the school's row, which concurrent writers apply one after the other;
* a student's record changed (an import, an exemption) recounts the schools concerned
  (:func:`recount_students`, :func:`recount`): their rows are locked first, so that on
  PostgreSQL the recount sees every transaction that committed before it.

``kcbx doctor`` recounts everything from the base tables (:func:`recount_all`), compares
(:func:`differences`) and, told to, writes the recount (:func:`repair`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from kcbx.storage.db import Database
from kcbx.storage.records.audit import AuditRepo
from kcbx.storage.units import SUBTREE_CTE

# the columns of school_rollups after school_id, in order
MEASURES = ("students", "exempt", "open_cases", "returned", "exempted", "transferred")
# a case's status -> the column that counts it
STATUS_COLUMN = {
    "open": "open_cases",
    "returned": "returned",
    "exempt": "exempted",
    "transferred": "transferred",
}
CHUNK = 500  # ids per IN (...) list

Counts = dict[str, int]  # measure -> count, for one school


@dataclass(frozen=True)
class Difference:
    """One count of one school that the rollup holds (``stored``) and the recount finds."""

    school_id: int
    measure: str
    stored: int
    counted: int


def _marks(ids: Sequence[object]) -> str:
    return ",".join("?" * len(ids))


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    unique = sorted(set(ids))
    return [unique[i : i + CHUNK] for i in range(0, len(unique), CHUNK)]


async def _move(db: Database, case_id: int, deltas: Mapping[str, int]) -> None:
    """Add to counts of the school of a case's student (one statement)."""
    columns = list(deltas)
    sets = ", ".join(f"{c} = school_rollups.{c} + excluded.{c}" for c in columns)
    await db.execute(
        f"INSERT INTO school_rollups (school_id, {', '.join(columns)})"
        f" SELECT s.school_id, {', '.join('?' * len(columns))}"
        " FROM cases c JOIN students s ON s.id = c.student_id"
        f" WHERE c.id = ? ON CONFLICT (school_id) DO UPDATE SET {sets}",
        (*deltas.values(), case_id),
    )


async def case_opened(db: Database, case_id: int) -> None:
    """A case was opened (call inside its transaction)."""
    await _move(db, case_id, {"open_cases": 1})


async def case_closed(db: Database, case_id: int, status: str) -> None:
    """An open case was closed as ``status`` (call inside its transaction)."""
    await _move(db, case_id, {"open_cases": -1, STATUS_COLUMN[status]: 1})


# --- recounting ---------------------------------------------------------------------------


def _count_sql(where: str) -> tuple[str, str]:
    students = (
        "SELECT s.school_id, COUNT(*), SUM(CASE WHEN s.exempt <> 0 THEN 1 ELSE 0 END)"
        f" FROM students s{where} GROUP BY s.school_id"
    )
    cases = (
        "SELECT s.school_id, c.status, COUNT(*) FROM cases c JOIN students s"
        f" ON s.id = c.student_id{where} GROUP BY s.school_id, c.status"
    )
    return students, cases


async def _counted(db: Database, schools: list[int] | None) -> dict[int, Counts]:
    """The counts from the base tables: of these schools, or of every school."""
    where = f" WHERE s.school_id IN ({_marks(schools)})" if schools is not None else ""
    params = schools or []
    students, cases = _count_sql(where)
    out: dict[int, Counts] = {}
    for row in await db.fetchall(students, params):
        out[int(row[0])] = {**dict.fromkeys(MEASURES, 0), "students": int(row[1])}
        out[int(row[0])]["exempt"] = int(row[2] or 0)
    for row in await db.fetchall(cases, params):
        column = STATUS_COLUMN.get(row[1])
        if column is not None:
            counts = out.setdefault(int(row[0]), dict.fromkeys(MEASURES, 0))
            counts[column] += int(row[2])
    return out


async def _rows(
    db: Database, where: str, params: Sequence[object], *, lock: bool = False
) -> list[tuple[int, tuple[int, ...]]]:
    """(school, its MEASURES) of the rollup rows ``where`` names, in school order."""
    rows = await db.fetchall(
        f"SELECT school_id, {', '.join(MEASURES)} FROM school_rollups{where}"
        " ORDER BY school_id" + (db.for_update() if lock else ""),
        params,
    )
    return [(int(r[0]), tuple(int(v) for v in tuple(r)[1:])) for r in rows]


async def _stored(db: Database, schools: list[int] | None, *, lock: bool) -> dict[int, Counts]:
    where = f" WHERE school_id IN ({_marks(schools)})" if schools is not None else ""
    rows = await _rows(db, where, schools or [], lock=lock)
    return {school: dict(zip(MEASURES, counts, strict=True)) for school, counts in rows}


def differences(stored: Mapping[int, Counts], counted: Mapping[int, Counts]) -> list[Difference]:
    """Every count on which the rollup and the recount disagree (a missing row holds zeros)."""
    zeros = dict.fromkeys(MEASURES, 0)
    out = []
    for school_id in sorted(set(stored) | set(counted)):
        have, want = stored.get(school_id, zeros), counted.get(school_id, zeros)
        out += [Difference(school_id, m, have[m], want[m]) for m in MEASURES if have[m] != want[m]]
    return out


async def _write(db: Database, found: list[Difference], counted: Mapping[int, Counts]) -> None:
    zeros = dict.fromkeys(MEASURES, 0)
    columns = ", ".join(MEASURES)
    updates = ", ".join(f"{m} = excluded.{m}" for m in MEASURES)
    rows = [
        (school_id, *(counted.get(school_id, zeros)[m] for m in MEASURES))
        for school_id in sorted({d.school_id for d in found})
    ]
    await db.executemany(
        f"INSERT INTO school_rollups (school_id, {columns}) VALUES (?, {_marks(MEASURES)})"
        f" ON CONFLICT (school_id) DO UPDATE SET {updates}",
        rows,
    )


async def recount(db: Database, schools: Iterable[int] | None = None) -> list[Difference]:
    """Recount these schools (every school when None) in one transaction, the rows locked
    first; write what differs and return it."""
    found: list[Difference] = []
    async with db.transaction():
        for chunk in _chunks(schools) if schools is not None else [None]:
            stored = await _stored(db, chunk, lock=True)
            counted = await _counted(db, chunk)
            diffs = differences(stored, counted)
            if diffs:
                await _write(db, diffs, counted)
            found += diffs
    return found


async def recount_students(db: Database, student_ids: Iterable[int]) -> None:
    """These students' records changed (an exemption): recount their schools."""
    schools: set[int] = set()
    for chunk in _chunks(student_ids):
        rows = await db.fetchall(
            f"SELECT DISTINCT school_id FROM students WHERE id IN ({_marks(chunk)})", chunk
        )
        schools |= {int(r[0]) for r in rows}
    if schools:
        await recount(db, schools)


async def recount_all(db: Database) -> tuple[dict[int, Counts], dict[int, Counts]]:
    """(the rollups, the recount from the base tables) of every school. The rows are locked
    first, so no write that moves a count commits between the two reads."""
    async with db.transaction():
        return await _stored(db, None, lock=True), await _counted(db, None)


async def repair(db: Database, audit: AuditRepo, *, actor: str, now: datetime) -> list[Difference]:
    """Rewrite every count that differs from the recount, audited in the same transaction."""
    async with db.transaction():
        found = await recount(db)
        if found:
            await audit.record(
                at=now,
                actor=actor,
                action="repair_rollups",
                entity="school_rollups",
                detail={"count": len(found), "first": [asdict(d) for d in found[:100]]},
            )
    return found


async def counts_within(db: Database, unit_id: int | None) -> dict[int, tuple[int, ...]]:
    """The rollups of the schools in a unit's subtree (of every school when None), each as a
    tuple of :data:`MEASURES`: what moves when a case is opened or closed at the school or
    one of its students comes or goes."""
    if unit_id is None:
        return dict(await _rows(db, "", ()))
    where = f" WHERE school_id IN ({SUBTREE_CTE} SELECT id FROM subtree)"
    return dict(await _rows(db, where, (unit_id,)))


async def totals(db: Database, schools: Iterable[int]) -> dict[int, Counts]:
    """The rollups of these schools (schools without a row are left out)."""
    out: dict[int, Counts] = {}
    for chunk in _chunks(schools):
        out.update(await _stored(db, chunk, lock=False))
    return out


__all__ = [
    "MEASURES",
    "Difference",
    "case_closed",
    "case_opened",
    "counts_within",
    "differences",
    "recount",
    "recount_all",
    "recount_students",
    "repair",
    "totals",
]
