"""Who is where, read in batches for the sweep: students, the units above them, role holders.

The sweep walks thousands of open cases at once, so nothing here is one query per case:
every method takes many ids and answers in a few chunked queries (portable SQL, a recursive
CTE for the units above a unit).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from kcbx.bot.domain.model import Person, Student, Unit
from kcbx.bot.domain.roles import Role
from kcbx.storage.connection.rows import Repo
from kcbx.storage.people import _person as person_of_row
from kcbx.storage.students import _SELECT as STUDENT_SELECT
from kcbx.storage.students import _student as student_of_row
from kcbx.storage.units import _unit as unit_of_row

# Rows per IN (...) list: well under SQLite's and PostgreSQL's parameter limits.
CHUNK = 500


class Enrolled(NamedTuple):
    """A student and the person id of their class teacher (None: no class or no teacher)."""

    student: Student
    teacher_id: int | None


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    unique = sorted(set(ids))
    return [unique[i : i + CHUNK] for i in range(0, len(unique), CHUNK)]


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


class DirectoryRepo(Repo):
    async def students(self, student_ids: Iterable[int]) -> dict[int, Enrolled]:
        """Students by id, each with their class teacher's person id."""
        found: dict[int, Enrolled] = {}
        for chunk in _chunks(student_ids):
            rows = await self.db.fetchall(
                STUDENT_SELECT + f" WHERE s.id IN ({_marks(chunk)})", chunk
            )
            for row in rows:
                student = student_of_row(row)
                found[student.id] = Enrolled(student, row["teacher_id"])
        return found

    async def lineages(self, unit_ids: Iterable[int]) -> dict[int, tuple[Unit, ...]]:
        """Each unit with the units above it, nearest first (a group, its village, ...)."""
        depth: dict[int, list[tuple[int, Unit]]] = {}
        for chunk in _chunks(unit_ids):
            rows = await self.db.fetchall(
                "WITH RECURSIVE up(start_id, id, depth) AS ("
                f" SELECT id, id, 0 FROM units WHERE id IN ({_marks(chunk)})"
                " UNION ALL SELECT up.start_id, u.parent_id, up.depth + 1 FROM up"
                " JOIN units u ON u.id = up.id WHERE u.parent_id IS NOT NULL AND up.depth < 16)"
                " SELECT up.start_id, up.depth, u.* FROM up JOIN units u ON u.id = up.id",
                chunk,
            )
            for row in rows:
                unit = unit_of_row(row)
                depth.setdefault(int(row["start_id"]), []).append((int(row["depth"]), unit))
        return {
            start: tuple(unit for _, unit in sorted(chain, key=lambda pair: pair[0]))
            for start, chain in depth.items()
        }

    async def departments(self) -> list[Unit]:
        """Every department unit (A6), with its code."""
        return await unit_of_row.all(
            self.db, "SELECT * FROM units WHERE kind = 'department' ORDER BY id", ()
        )

    async def people_in_units(
        self, unit_ids: Iterable[int], *, class_teachers: bool = True
    ) -> list[Person]:
        """Active people attached to any of the units, whatever their role (but a class
        teacher, unless ``class_teachers``)."""
        roles = "" if class_teachers else " AND role <> 'class_teacher'"
        found: list[Person] = []
        for chunk in _chunks(unit_ids):
            rows = await self.db.fetchall(
                f"SELECT * FROM people WHERE status = 'active' AND unit_id IN ({_marks(chunk)})"
                f"{roles} ORDER BY id",
                chunk,
            )
            found.extend(person_of_row(r) for r in rows)
        return found

    async def people(self, person_ids: Iterable[int]) -> dict[int, Person]:
        """People by id, active or not (the caller decides what a revoked person means)."""
        found: dict[int, Person] = {}
        for chunk in _chunks(person_ids):
            rows = await self.db.fetchall(
                f"SELECT * FROM people WHERE id IN ({_marks(chunk)})", chunk
            )
            for row in rows:
                person = person_of_row(row)
                found[person.id] = person
        return found

    async def reachable_people(self, roles: Iterable[Role]) -> list[Person]:
        """Active, bound, reachable people of the roles."""
        wanted = [r.value for r in roles]
        return await person_of_row.all(
            self.db,
            "SELECT * FROM people WHERE status = 'active' AND chat_id IS NOT NULL"
            f" AND unreachable_at IS NULL AND role IN ({_marks(wanted)}) ORDER BY id",
            wanted,
        )

    async def reachable_without_key(
        self, roles: Iterable[Role], *, prefix: str, suffix: str
    ) -> list[Person]:
        """Active, bound, reachable people of the roles who have no outbox row with key
        ``prefix + person id + suffix`` yet (the digests' "not sent this period")."""
        wanted = [r.value for r in roles]
        return await person_of_row.all(
            self.db,
            "SELECT p.* FROM people p WHERE p.status = 'active' AND p.chat_id IS NOT NULL"
            f" AND p.unreachable_at IS NULL AND p.role IN ({_marks(wanted)})"
            " AND NOT EXISTS (SELECT 1 FROM outbox o"
            " WHERE o.dedup_key = ? || CAST(p.id AS TEXT) || ?) ORDER BY p.id",
            [*wanted, prefix, suffix],
        )
