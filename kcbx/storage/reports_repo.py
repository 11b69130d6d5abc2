"""Aggregate reads for summaries, charts, the ledger and the digests.

Everything that counts is counted here, in SQL (``GROUP BY school``, ``SUM(CASE ...)``), so a
summary of a province costs a handful of queries whatever the number of students; the Python
above it works per open case and per unit, never per student. Portable SQL: ISO-8601 text
compares as time, ``WITH RECURSIVE`` for subtrees, ``||`` and ``CAST`` for keys.

A :class:`ReportScope` is a condition on ``students s``: the asker's (``scope_clause``), a
unit's (the CLI's ``--scope``), or both (a drill-down).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from kcbx.bot.domain.clock import from_iso, to_iso
from kcbx.bot.domain.model import Action, Person, Unit
from kcbx.storage.connection.rows import Repo, comma_list, json_dict, optional, reader, zero_if_null
from kcbx.storage.directory import DirectoryRepo, _chunks, _marks
from kcbx.storage.students import scope_clause
from kcbx.storage.units import SUBTREE_CTE


@dataclass(frozen=True)
class ReportScope:
    """Which students a report covers: a SQL condition on ``students s`` and its unit.

    A unit's scope (:func:`unit_scope`) also says which subtree it is (``subtree``) and
    whether that subtree is the top of its tree (``top``), so that students can be counted
    through the index that is small for it (see :meth:`ReportsRepo.enrolled_by_school`).
    """

    unit_id: int
    clause: str
    params: tuple[object, ...] = ()
    subtree: int | None = None
    top: bool = False

    def narrowed(self, other: ReportScope) -> ReportScope:
        """Both conditions (a drill-down: the asker's scope and the unit pressed)."""
        return ReportScope(
            other.unit_id, f"({self.clause}) AND ({other.clause})", self.params + other.params
        )


def person_scope(person: Person) -> ReportScope:
    """A person's scope (``students.scope_clause``): what they may see, at their unit."""
    clause, params = scope_clause(person)
    return ReportScope(person.unit_id or 0, clause, tuple(params))


def unit_scope(unit: Unit) -> ReportScope:
    """A unit's students: a school's pupils; a township's or district's schools and
    households (as a township leader's or district leader's scope)."""
    if unit.kind == "school":
        return ReportScope(unit.id, "s.school_id = ?", (unit.id,))
    return ReportScope(
        unit.id,
        f"(s.school_id IN ({SUBTREE_CTE} SELECT id FROM subtree)"
        f" OR s.household_unit_id IN ({SUBTREE_CTE} SELECT id FROM subtree))",
        (unit.id, unit.id),
        subtree=unit.id,
        top=unit.parent_id is None,
    )


def outside_scope(unit: Unit) -> ReportScope:
    """The children of a unit's households who study at schools outside it."""
    return ReportScope(
        unit.id,
        f"(s.household_unit_id IN ({SUBTREE_CTE} SELECT id FROM subtree)"
        f" AND s.school_id NOT IN ({SUBTREE_CTE} SELECT id FROM subtree))",
        (unit.id, unit.id),
    )


@dataclass(frozen=True)
class CaseRow:
    """A case with what reports need of its student (no guardian data)."""

    id: int
    number: str
    student_id: int
    student_name: str
    gender: str | None
    registry_no: str
    grade: int | None
    class_name: str | None
    teacher_id: int | None
    school_id: int
    household_unit_id: int | None
    a9_flags: tuple[str, ...]
    absent_since: date
    reported_at: datetime
    cause: str
    status: str
    closed_at: datetime | None
    reopened_from: int | None
    carried_days: int


@dataclass(frozen=True)
class ActionRecord(Action):
    """An action with the name and role of who recorded it (for ledgers and evidence)."""

    actor_name: str = ""
    actor_role: str | None = None
    actor_unit_id: int | None = None  # where the actor sits (whose measure it is, A8)


@dataclass(frozen=True)
class SchoolActivity:
    """Counts of one school's cases over periods (new, closed by kind)."""

    school_id: int
    new_today: int = 0
    new_week: int = 0
    returned_month: int = 0
    exempt_year: int = 0
    transferred_year: int = 0
    returned_year: int = 0


@dataclass(frozen=True)
class MonthActivity:
    """One school's month: cases reported, returned, exempt, transferred; open at its end."""

    school_id: int
    new: int
    returned: int
    exempt: int
    transferred: int
    open_at_end: int


# Cases drive every query about cases: they are few (thousands) where students are many
# (a million). ``CROSS JOIN`` is plain SQL (PostgreSQL plans it as any join); SQLite takes it
# as "cases first" and probes the scope's id lists per case instead of walking the students.
CASES_THEN_STUDENTS = " FROM cases c CROSS JOIN students s"
_CASE_COLUMNS = (
    "SELECT c.*, s.name AS student_name, s.gender, s.registry_no, s.grade, s.school_id,"
    " s.household_unit_id, s.a9_flags, cl.name AS class_name, cl.teacher_id"
)
_CASE_JOINS = CASES_THEN_STUDENTS + " LEFT JOIN classes cl ON cl.id = s.class_id"
_CASE_SELECT = _CASE_COLUMNS + _CASE_JOINS + " WHERE s.id = c.student_id"


_case_row = reader(
    CaseRow,
    {"carried_days": 0},
    a9_flags=comma_list,
    absent_since=date.fromisoformat,
    reported_at=from_iso,
    closed_at=optional(from_iso),
    carried_days=zero_if_null,
)


def _units(rows: Iterable[Any]) -> dict[int, Unit]:
    return {
        r["id"]: Unit(r["id"], r["kind"], r["name"], r["parent_id"], r["section"], r["code"])
        for r in rows
    }


_action_record = reader(
    ActionRecord,
    actor_name=lambda name: name or "",
    at=from_iso,
    recorded_at=from_iso,
    detail=json_dict,
)


EVERYONE = ReportScope(0, "1 = 1", ())


class ReportsRepo(Repo):
    async def whole(self, scope: ReportScope) -> ReportScope:
        """The scope, or every student when it is the top of the only tree: the same rows,
        without walking the tree (tens of thousands of units in a province) in SQL."""
        if (
            scope.top
            and await self.db.fetchval("SELECT COUNT(*) FROM units WHERE parent_id IS NULL") == 1
        ):
            return EVERYONE
        return scope

    # --- the units --------------------------------------------------------------------------

    async def roots(self) -> list[Unit]:
        """The units at the top of a tree (a district, or a city above its districts)."""
        return list(
            _units(
                await self.db.fetchall("SELECT * FROM units WHERE parent_id IS NULL ORDER BY id")
            ).values()
        )

    async def all_units(self) -> dict[int, Unit]:
        """Every unit by id (tens of thousands in a province: one query, for one report)."""
        return _units(await self.db.fetchall("SELECT * FROM units"))

    async def units_around(self, root: int) -> dict[int, Unit]:
        """A unit's subtree, the units above it, and the departments (a report below the
        top needs no more to start with)."""
        rows = await self.db.fetchall(
            f"{SUBTREE_CTE} SELECT * FROM units WHERE id IN (SELECT id FROM subtree)"
            " OR kind = 'department'",
            (root,),
        )
        found = _units(rows)
        found.update(await self.lineages([root]))
        return found

    async def units_to_schools(self, root: int) -> dict[int, Unit]:
        """A unit's subtree down to its schools (no villages or groups: a summary names those
        only where a task is owed), the units above it, and the departments."""
        kinds = "kind IN ('district', 'township', 'school')"
        top = await self.db.fetchval("SELECT parent_id IS NULL FROM units WHERE id = ?", (root,))
        if top and await self.whole(ReportScope(root, "", top=True)) is EVERYONE:
            return _units(
                await self.db.fetchall(f"SELECT * FROM units WHERE kind = 'department' OR {kinds}")
            )
        rows = await self.db.fetchall(
            f"{SUBTREE_CTE} SELECT * FROM units WHERE kind = 'department'"
            f" OR {kinds} AND id IN (SELECT id FROM subtree)",
            (root,),
        )
        found = _units(rows)
        found.update(await self.lineages([root]))
        return found

    async def units_digest(self) -> tuple[int, ...]:
        """A digest of the unit tree that moves when a unit is added, removed, moved or
        changes section or code (an import adds units and sets those; nothing renames or moves
        one but a hand in the database, and a name of another length shows too)."""
        row = await self.db.fetchone(
            "SELECT COUNT(*), SUM(id * COALESCE(parent_id, 0)),"
            " SUM(id * LENGTH(COALESCE(section, ''))), SUM(id * LENGTH(COALESCE(code, ''))),"
            " SUM(id * LENGTH(name)) FROM units"
        )
        return tuple(int(v or 0) for v in tuple(row or ()))

    async def open_digest(self, within: int | None) -> dict[int, tuple[int, ...]]:
        """Per school (of the subtree of ``within``; of every unit when None), a digest of
        its open cases' plan rows: how many, their ids, the writes and the sweep's looks
        since (migrations 0011, 0035). It moves whenever a case of the school is opened,
        closed, moved, written about or looked at; a case without a plan row counts as
        written about."""
        where: str = ""
        params: tuple[object, ...] = ()
        if within is not None:
            where, params = f" AND s.school_id IN ({SUBTREE_CTE} SELECT id FROM subtree)", (within,)
        rows = await self.db.fetchall(
            "SELECT s.school_id, COUNT(*), SUM(c.id), SUM(COALESCE(p.changed, 1)),"
            " SUM(COALESCE(p.looks, 0))"
            + CASES_THEN_STUDENTS
            + " LEFT JOIN case_plans p ON p.case_id = c.id"
            " WHERE s.id = c.student_id AND c.status = 'open'" + where + " GROUP BY s.school_id",
            params,
        )
        return {int(r[0]): tuple(int(v or 0) for v in tuple(r)[1:]) for r in rows}

    async def lineages(self, unit_ids: Iterable[int]) -> dict[int, Unit]:
        """The units and every unit above them."""
        found: dict[int, Unit] = {}
        for chunk in _chunks(unit_ids):
            rows = await self.db.fetchall(
                "WITH RECURSIVE up(id) AS ("
                f" SELECT id FROM units WHERE id IN ({_marks(chunk)})"
                " UNION SELECT u.parent_id FROM units u JOIN up ON u.id = up.id"
                " WHERE u.parent_id IS NOT NULL)"
                " SELECT * FROM units WHERE id IN (SELECT id FROM up)",
                chunk,
            )
            found.update(_units(rows))
        return found

    async def sees_school(self, scope: ReportScope, school_id: int) -> bool:
        """Whether the scope holds any student of the school (a drill-down's check)."""
        found = await self.db.fetchval(
            f"SELECT 1 FROM students s WHERE s.school_id = ? AND ({scope.clause}) LIMIT 1",
            [school_id, *scope.params],
        )
        return bool(found)

    # --- cases ------------------------------------------------------------------------------

    async def open_cases(
        self, scope: ReportScope, *, as_of: datetime | None = None
    ) -> list[CaseRow]:
        """The open cases of the scope; with ``as_of``, the cases open at that instant
        (reported by then and not closed by then), as a month-end freeze needs them."""
        scope = await self.whole(scope)
        if as_of is None:
            sql = _CASE_SELECT + f" AND c.status = 'open' AND ({scope.clause})"
            params: list[object] = [*scope.params]
        else:
            moment = to_iso(as_of)
            sql = (
                _CASE_SELECT + " AND c.reported_at <= ?"
                " AND (c.closed_at IS NULL OR c.closed_at > ?)"
                f" AND ({scope.clause})"
            )
            params = [moment, moment, *scope.params]
        return await _case_row.all(self.db, sql + " ORDER BY c.absent_since, c.id", params)

    async def open_cases_kept(self, scope: ReportScope) -> list[tuple[CaseRow, str | None]]:
        """The open cases of the scope (as :meth:`open_cases`), each with the standing the
        sweep keeps for it if the case is unchanged since (migration 0033): one query."""
        scope = await self.whole(scope)
        rows = await self.db.fetchall(
            _CASE_COLUMNS
            + ", p.standing AS kept_standing"
            + _CASE_JOINS
            + " LEFT JOIN case_plans p ON p.case_id = c.id AND p.changed = 0"
            f" WHERE s.id = c.student_id AND c.status = 'open' AND ({scope.clause})"
            " ORDER BY c.absent_since, c.id",
            scope.params,
        )
        return [(_case_row(r), r["kept_standing"]) for r in rows]

    async def open_cases_of_school(
        self, scope: ReportScope, school_id: int, *, limit: int, offset: int
    ) -> tuple[list[CaseRow], int]:
        """One page of a school's open cases in the scope, longest absent first, and the count."""
        where = f" AND c.status = 'open' AND s.school_id = ? AND ({scope.clause})"
        params = [school_id, *scope.params]
        total = int(
            await self.db.fetchval(
                "SELECT COUNT(*)" + CASES_THEN_STUDENTS + " WHERE s.id = c.student_id" + where,
                params,
            )
        )
        rows = await self.db.fetchall(
            _CASE_SELECT + where + " ORDER BY c.absent_since, c.id LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [_case_row(r) for r in rows], total

    async def case(self, case_id: int) -> CaseRow | None:
        return await _case_row.one(self.db, _CASE_SELECT + " AND c.id = ?", (case_id,))

    async def ledger_cases(self, scope: ReportScope, *, closed_since: datetime) -> list[CaseRow]:
        """Open cases, and cases closed since ``closed_since`` (the school year), of a scope."""
        return await _case_row.all(
            self.db,
            _CASE_SELECT + " AND (c.status = 'open' OR c.closed_at >= ?)"
            f" AND ({scope.clause}) ORDER BY s.school_id, c.absent_since, c.id",
            [to_iso(closed_since), *scope.params],
        )

    async def actions_of(
        self, case_ids: Iterable[int], *, recorded_until: datetime | None = None
    ) -> dict[int, list[ActionRecord]]:
        """Every action of the cases with who recorded it; with ``recorded_until``, only
        what had been recorded by then (a month-end freeze ignores later, back-dated records)."""
        out: dict[int, list[ActionRecord]] = {}
        sql = (
            "SELECT a.*, p.name AS actor_name, p.role AS actor_role,"
            " p.unit_id AS actor_unit_id FROM actions a"
            " LEFT JOIN people p ON p.id = a.actor_id WHERE a.case_id IN ({marks})"
        )
        for r in await self._of_cases(case_ids, sql, "a.recorded_at", recorded_until, "a.at, a.id"):
            out.setdefault(r["case_id"], []).append(_action_record(r))
        return out

    async def referred_departments(
        self, case_ids: Iterable[int], *, until: datetime | None = None
    ) -> dict[int, list[int]]:
        """The department units each case is referred to (not withdrawn), A6/A8.5."""
        out: dict[int, list[int]] = {}
        sql = (
            "SELECT case_id, department_id FROM referrals"
            " WHERE case_id IN ({marks}) AND status <> 'withdrawn'"
        )
        for r in await self._of_cases(case_ids, sql, "created_at", until, "department_id"):
            out.setdefault(r["case_id"], []).append(int(r["department_id"]))
        return out

    async def _of_cases(
        self, case_ids: Iterable[int], sql: str, stamp: str, until: datetime | None, order: str
    ) -> list[Any]:
        """The rows of ``sql`` for the cases (``{marks}``: a chunk of their ids at a time),
        only those whose ``stamp`` is not after ``until`` if given, in ``order`` per chunk."""
        rows: list[Any] = []
        for chunk in _chunks(case_ids):
            query = sql.format(marks=_marks(chunk))
            params: list[object] = [*chunk]
            if until is not None:
                query += f" AND {stamp} <= ?"
                params.append(to_iso(until))
            rows.extend(await self.db.fetchall(query + f" ORDER BY {order}", params))
        return rows

    # --- counts -----------------------------------------------------------------------------

    async def district_enrolment(self, district_id: int) -> tuple[int, int]:
        """A district's students (its schools' pupils): (not exempt, exempt), A8.1."""
        row = await self.db.fetchone(
            f"{SUBTREE_CTE} SELECT COALESCE(SUM(r.students), 0), COALESCE(SUM(r.exempt), 0)"
            " FROM school_rollups r WHERE r.school_id IN (SELECT id FROM subtree)",
            (district_id,),
        )
        total, exempt = (int(row[0]), int(row[1])) if row else (0, 0)
        return total - exempt, exempt

    async def exempted_since(self, district_id: int, since: datetime) -> int:
        """Cases of a district's pupils closed as exempt (A3) since an instant."""
        value = await self.db.fetchval(
            f"{SUBTREE_CTE} SELECT COUNT(DISTINCT c.student_id) FROM cases c"
            " JOIN students s ON s.id = c.student_id"
            " WHERE c.status = 'exempt' AND c.closed_at >= ?"
            " AND s.school_id IN (SELECT id FROM subtree)",
            (district_id, to_iso(since)),
        )
        return int(value or 0)

    async def closed_between(self, start: datetime, end: datetime) -> list[datetime]:
        """The instants cases were closed in ``[start, end)``."""
        rows = await self.db.fetchall(
            "SELECT closed_at FROM cases WHERE closed_at >= ? AND closed_at < ?",
            (to_iso(start), to_iso(end)),
        )
        return [from_iso(r[0]) for r in rows]

    async def enrolled_by_school(self, scope: ReportScope) -> dict[int, int]:
        """Students of the scope per school.

        A unit's scope is counted in two disjoint parts: the pupils of its schools (their
        rows of ``school_rollups``, kcbx/storage/rollups.py), and the children of its
        households at schools outside it (through an index). For the second part the small
        side drives: at the top of the tree the few schools outside it, below it the unit's
        own households. A unary ``+`` (a no-op in any SQL) keeps SQLite from choosing the
        other index.
        """
        if await self.whole(scope) is EVERYONE:
            rows = await self.db.fetchall(
                "SELECT school_id, students FROM school_rollups WHERE students > 0"
            )
            return {int(r[0]): int(r[1]) for r in rows}
        if scope.subtree is None:
            rows = await self.db.fetchall(
                f"SELECT s.school_id, COUNT(*) FROM students s WHERE {scope.clause}"
                " GROUP BY s.school_id",
                scope.params,
            )
            return {int(r[0]): int(r[1]) for r in rows}
        inside = f"({SUBTREE_CTE} SELECT id FROM subtree)"
        unit = scope.subtree
        rows = await self.db.fetchall(  # the pupils of its schools: the rollups (0026)
            f"SELECT school_id, students FROM school_rollups WHERE school_id IN {inside}"
            " AND students > 0",
            (unit,),
        )
        if scope.top:
            outside = (
                "SELECT s.school_id, COUNT(*) FROM students s WHERE s.school_id IN"
                f" (SELECT id FROM units WHERE kind = 'school' AND id NOT IN {inside})"
                f" AND +s.household_unit_id IN {inside} GROUP BY s.school_id"
            )
        else:
            outside = (
                f"SELECT s.school_id, COUNT(*) FROM students s WHERE s.household_unit_id IN"
                f" {inside} AND +s.school_id NOT IN {inside} GROUP BY s.school_id"
            )
        rows += await self.db.fetchall(outside, (unit, unit))
        return {int(r[0]): int(r[1]) for r in rows}

    async def activity_by_school(
        self,
        scope: ReportScope,
        *,
        today: datetime,
        week: datetime,
        month: datetime,
        year: datetime,
    ) -> dict[int, SchoolActivity]:
        """Per school: cases reported since ``today`` and ``week``, returned since ``month``,
        closed as exempt, transferred or returned since ``year`` (the starts of those
        periods)."""
        scope = await self.whole(scope)
        t, w, m, y = (to_iso(x) for x in (today, week, month, year))
        earliest = min(t, w, m, y)
        rows = await self.db.fetchall(
            "SELECT s.school_id,"
            " SUM(CASE WHEN c.reported_at >= ? THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN c.reported_at >= ? THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN c.status = 'returned' AND c.closed_at >= ? THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN c.status = 'exempt' AND c.closed_at >= ? THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN c.status = 'transferred' AND c.closed_at >= ? THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN c.status = 'returned' AND c.closed_at >= ? THEN 1 ELSE 0 END)"
            + CASES_THEN_STUDENTS
            + " WHERE s.id = c.student_id AND (c.reported_at >= ? OR c.closed_at >= ?)"
            f" AND ({scope.clause})"
            " GROUP BY s.school_id",
            [t, w, m, y, y, y, earliest, earliest, *scope.params],
        )
        return {
            int(r[0]): SchoolActivity(int(r[0]), *(int(v or 0) for v in tuple(r)[1:])) for r in rows
        }

    async def month_by_school(
        self, scope: ReportScope, *, start: datetime, end: datetime
    ) -> dict[int, MonthActivity]:
        """Per school, the month [start, end): new, returned, exempt, transferred, and the
        cases open at its end. Schools with none of these are left out."""
        s, e = to_iso(start), to_iso(end)
        rows = await self.db.fetchall(
            "SELECT s.school_id,"
            " SUM(CASE WHEN c.reported_at >= ? AND c.reported_at < ? THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN c.status = 'returned' AND c.closed_at >= ? AND c.closed_at < ?"
            " THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN c.status = 'exempt' AND c.closed_at >= ? AND c.closed_at < ?"
            " THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN c.status = 'transferred' AND c.closed_at >= ? AND c.closed_at < ?"
            " THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN c.reported_at < ? AND (c.closed_at IS NULL OR c.closed_at >= ?)"
            " THEN 1 ELSE 0 END)" + CASES_THEN_STUDENTS + " WHERE s.id = c.student_id"
            " AND c.reported_at < ? AND (c.closed_at IS NULL OR c.closed_at >= ?)"
            f" AND ({scope.clause}) GROUP BY s.school_id",
            [s, e, s, e, s, e, s, e, e, e, e, s, *scope.params],
        )
        return {
            int(r[0]): MonthActivity(int(r[0]), *(int(v or 0) for v in tuple(r)[1:])) for r in rows
        }

    async def open_trend(
        self, scope: ReportScope, points: Sequence[tuple[date, datetime]]
    ) -> list[int]:
        """Cases open at each point: absent since that day or before, not closed by the
        instant (one query, one SUM per point)."""
        if not points:
            return []
        sums = ", ".join(
            "SUM(CASE WHEN c.absent_since <= ? AND (c.closed_at IS NULL OR c.closed_at > ?)"
            " THEN 1 ELSE 0 END)"
            for _ in points
        )
        params: list[object] = []
        for day, instant in points:
            params += [day.isoformat(), to_iso(instant)]
        first = to_iso(min(instant for _day, instant in points))
        last = max(day for day, _instant in points).isoformat()
        row = await self.db.fetchone(
            f"SELECT {sums}" + CASES_THEN_STUDENTS + " WHERE s.id = c.student_id"
            " AND (c.closed_at IS NULL OR c.closed_at > ?) AND c.absent_since <= ?"
            f" AND ({scope.clause})",
            [*params, first, last, *scope.params],
        )
        assert row is not None
        return [int(v or 0) for v in tuple(row)]

    # --- people -----------------------------------------------------------------------------

    async def people_in_units(self, unit_ids: Iterable[int]) -> list[Person]:
        """Active people attached to any of the units, class teachers left out (a teacher is
        found through the class, and a school has dozens)."""
        return await DirectoryRepo(self.db).people_in_units(unit_ids, class_teachers=False)

    async def people_by_id(self, person_ids: Iterable[int]) -> dict[int, Person]:
        return await DirectoryRepo(self.db).people(person_ids)

    async def first_report(self) -> datetime | None:
        """When the first case was reported (the first month worth freezing)."""
        value = await self.db.fetchval("SELECT MIN(reported_at) FROM cases")
        return from_iso(value) if value else None


__all__ = [
    "ActionRecord",
    "CaseRow",
    "MonthActivity",
    "ReportScope",
    "ReportsRepo",
    "SchoolActivity",
    "person_scope",
    "unit_scope",
]
