"""Students, their classes and guardians, and where each belongs (for scope checks)."""

from __future__ import annotations

from kcbx.bot.domain.model import Guardian, Person, Student
from kcbx.bot.domain.roles import (
    CADRE_ROLES,
    DEPARTMENT_ROLES,
    DISTRICT_ROLES,
    SCHOOL_ROLES,
    Role,
)
from kcbx.bot.domain.scope import StudentPlace
from kcbx.storage.connection.rows import Repo, comma_list, reader
from kcbx.storage.units import SUBTREE_CTE

_SELECT = (
    "SELECT s.*, c.name AS class_name, c.teacher_id AS teacher_id FROM students s"
    " LEFT JOIN classes c ON c.id = s.class_id"
)


_student = reader(Student, {"class_name": None}, a9_flags=comma_list, exempt=bool)


def scope_clause(person: Person, alias: str = "s") -> tuple[str, list[object]]:
    """SQL condition (on students `alias`) selecting the students a person may see."""
    role, unit = person.role, person.unit_id
    if not person.active or (unit is None and role != Role.CLASS_TEACHER):
        return "1 = 0", []
    if role in DISTRICT_ROLES or role == Role.TOWNSHIP_LEADER:
        return (
            f"({alias}.school_id IN ({SUBTREE_CTE} SELECT id FROM subtree)"
            f" OR {alias}.household_unit_id IN ({SUBTREE_CTE} SELECT id FROM subtree))",
            [unit, unit],
        )
    if role in CADRE_ROLES:
        return f"{alias}.household_unit_id IN ({SUBTREE_CTE} SELECT id FROM subtree)", [unit]
    if role in SCHOOL_ROLES:
        return f"{alias}.school_id = ?", [unit]
    if role == Role.CLASS_TEACHER:
        return (
            f"{alias}.class_id IN (SELECT id FROM classes WHERE teacher_id = ?)",
            [person.id],
        )
    if role in DEPARTMENT_ROLES:
        return (
            f"{alias}.id IN (SELECT c.student_id FROM cases c JOIN referrals r"
            " ON r.case_id = c.id WHERE r.department_id = ? AND r.status <> 'withdrawn')",
            [unit],
        )
    return "1 = 0", []


class StudentRepo(Repo):
    async def get(self, student_id: int) -> Student | None:
        return await _student.one(self.db, _SELECT + " WHERE s.id = ?", (student_id,))

    async def by_registry(self, registry_no: str) -> Student | None:
        return await _student.one(self.db, _SELECT + " WHERE s.registry_no = ?", (registry_no,))

    async def guardians(self, student_id: int) -> list[Guardian]:
        rows = await self.db.fetchall(
            "SELECT name, relation, phone FROM guardians WHERE student_id = ? ORDER BY id",
            (student_id,),
        )
        return [Guardian(r["name"], r["relation"], r["phone"]) for r in rows]

    async def place(self, student_id: int) -> StudentPlace | None:
        """Where a student belongs: school, class teacher, household, referred departments."""
        row = await self.db.fetchone(
            "SELECT s.id, s.school_id, s.household_unit_id, c.teacher_id FROM students s"
            " LEFT JOIN classes c ON c.id = s.class_id WHERE s.id = ?",
            (student_id,),
        )
        if row is None:
            return None
        school_units = await self._ancestry(row["school_id"])
        household_units = await self._ancestry(row["household_unit_id"])
        deps = await self.db.fetchall(
            "SELECT r.department_id FROM referrals r JOIN cases c ON c.id = r.case_id"
            " WHERE c.student_id = ? AND r.status <> 'withdrawn'",
            (student_id,),
        )
        return StudentPlace(
            student_id=row["id"],
            school_id=row["school_id"],
            class_teacher_id=row["teacher_id"],
            school_units=frozenset(school_units),
            household_units=frozenset(household_units),
            departments=frozenset(int(d[0]) for d in deps),
        )

    async def _ancestry(self, unit_id: int | None) -> list[int]:
        if unit_id is None:
            return []
        rows = await self.db.fetchall(
            "WITH RECURSIVE up(id, parent_id) AS ("
            " SELECT id, parent_id FROM units WHERE id = ?"
            " UNION ALL SELECT u.id, u.parent_id FROM units u JOIN up ON u.id = up.parent_id)"
            " SELECT id FROM up",
            (unit_id,),
        )
        return [int(r[0]) for r in rows]

    async def visible(
        self, person: Person, *, class_id: int | None = None, limit: int = 50, offset: int = 0
    ) -> list[Student]:
        """Students a person may see, by class then name."""
        clause, params = scope_clause(person)
        sql = _SELECT + f" WHERE {clause}"
        if class_id is not None:
            sql += " AND s.class_id = ?"
            params.append(class_id)
        # NULLS FIRST: the same order on SQLite and PostgreSQL (which puts NULLs last)
        sql += " ORDER BY s.grade NULLS FIRST, c.name NULLS FIRST, s.name, s.id LIMIT ? OFFSET ?"
        return await _student.all(self.db, sql, [*params, limit, offset])

    async def names_in_class(
        self, person: Person, class_id: int, *, limit: int, offset: int = 0
    ) -> list[tuple[int, str]]:
        """(id, name) of a class's students a person may see, in :meth:`visible`'s order (the
        class's name is the same for all): the two columns a page of buttons shows."""
        clause, params = scope_clause(person)
        rows = await self.db.fetchall(
            f"SELECT s.id, s.name FROM students s WHERE {clause} AND s.class_id = ?"
            " ORDER BY s.grade NULLS FIRST, s.name, s.id LIMIT ? OFFSET ?",
            [*params, class_id, limit, offset],
        )
        return [(r[0], r[1]) for r in rows]

    async def named_in_scope(
        self, person: Person, fragment: str, *, limit: int = 20
    ) -> list[Student]:
        """Students a person may see whose name contains `fragment`, by name."""
        clause, params = scope_clause(person)
        escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return await _student.all(
            self.db,
            _SELECT
            + f" WHERE {clause} AND s.name LIKE ? ESCAPE '\\' ORDER BY s.name, s.id LIMIT ?",
            [*params, f"%{escaped}%", limit],
        )

    async def names_in_scope(self, person: Person) -> list[tuple[int, str]]:
        """(id, name) of every student a person may see: the small rows a pinyin search reads."""
        clause, params = scope_clause(person)
        rows = await self.db.fetchall(f"SELECT s.id, s.name FROM students s WHERE {clause}", params)
        return [(int(r[0]), r[1]) for r in rows]

    async def many(self, ids: list[int]) -> list[Student]:
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        return await _student.all(self.db, _SELECT + f" WHERE s.id IN ({marks})", ids)

    async def count_visible(self, person: Person) -> int:
        clause, params = scope_clause(person)
        return int(
            await self.db.fetchval(f"SELECT COUNT(*) FROM students s WHERE {clause}", params)
        )

    async def classes_in_scope(self, person: Person) -> list[tuple[int, int, str]]:
        """(class id, grade, name) of the classes with students a person may see."""
        clause, params = scope_clause(person)
        rows = await self.db.fetchall(
            "SELECT DISTINCT c.id, c.grade, c.name FROM classes c"
            f" JOIN students s ON s.class_id = c.id WHERE {clause} ORDER BY c.grade, c.name",
            params,
        )
        return [(r["id"], r["grade"], r["name"]) for r in rows]

    async def classes_of_teacher(self, person_id: int) -> list[tuple[int, int, str]]:
        """(class id, grade, name) of the classes a teacher leads."""
        rows = await self.db.fetchall(
            "SELECT id, grade, name FROM classes WHERE teacher_id = ? ORDER BY grade, name",
            (person_id,),
        )
        return [(r["id"], r["grade"], r["name"]) for r in rows]
