"""The facts behind 三包 coverage (A5.1): units, households and the cadres who hold them.

A household is a distinct guardian phone within a household unit (the group), or the
student alone when no guardian phone is on the roster. The rules (who covers whom, what is
a gap, what is too much) are pure: :mod:`kcbx.bot.services.coverage`.
"""

from __future__ import annotations

from dataclasses import dataclass

from kcbx.bot.domain.roles import CADRE_ROLES, Role
from kcbx.storage.connection.rows import Repo
from kcbx.storage.units import SUBTREE_CTE


@dataclass(frozen=True)
class UnitRow:
    id: int
    kind: str
    name: str
    parent_id: int | None


@dataclass(frozen=True)
class HouseholdRow:
    unit_id: int  # the household unit (a group; a village or township when no group is known)
    key: str  # the guardian phone, or 'student:<id>'
    students: int
    names: tuple[str, ...] = ()  # the students' names (for the operator's detailed list)


@dataclass(frozen=True)
class CadreRow:
    person_id: int
    name: str
    phone: str | None
    role: Role
    unit_id: int
    joined: bool  # bound to Telegram


_FIRST_PHONE = (
    "(SELECT g.phone FROM guardians g WHERE g.student_id = s.id AND g.phone IS NOT NULL"
    " AND g.phone <> '' ORDER BY g.id LIMIT 1)"
)


class CoverageRepo(Repo):
    async def units(self, root_id: int | None) -> list[UnitRow]:
        """The townships, villages and groups (under ``root_id``, or all), with ancestors."""
        kinds = "('district', 'township', 'village', 'group')"
        if root_id is None:
            rows = await self.db.fetchall(
                f"SELECT id, kind, name, parent_id FROM units WHERE kind IN {kinds} ORDER BY id"
            )
        else:
            rows = await self.db.fetchall(
                f"{SUBTREE_CTE}, up(id, parent_id) AS ("
                " SELECT id, parent_id FROM units WHERE id = ?"
                " UNION ALL SELECT p.id, p.parent_id FROM units p JOIN up ON p.id = up.parent_id)"
                " SELECT u.id, u.kind, u.name, u.parent_id FROM units u"
                f" WHERE u.kind IN {kinds} AND (u.id IN (SELECT id FROM subtree)"
                " OR u.id IN (SELECT id FROM up)) ORDER BY u.id",
                (root_id, root_id),
            )
        return [UnitRow(r["id"], r["kind"], r["name"], r["parent_id"]) for r in rows]

    async def households(self, root_id: int | None) -> list[HouseholdRow]:
        """Every household, by household unit and key, with its students' names."""
        sql = (
            f"SELECT s.household_unit_id AS unit_id, COALESCE({_FIRST_PHONE},"
            " 'student:' || CAST(s.id AS TEXT)) AS hkey, s.name AS name"
            " FROM students s WHERE s.household_unit_id IS NOT NULL"
        )
        params: list[object] = []
        if root_id is not None:
            sql = f"{SUBTREE_CTE} {sql} AND s.household_unit_id IN (SELECT id FROM subtree)"
            params.append(root_id)
        grouped: dict[tuple[int, str], list[str]] = {}
        for row in await self.db.fetchall(sql + " ORDER BY 1, 2, s.id", params):
            grouped.setdefault((row["unit_id"], row["hkey"]), []).append(row["name"])
        return [
            HouseholdRow(unit_id, key, len(names), tuple(names))
            for (unit_id, key), names in grouped.items()
        ]

    async def students_without_household(self, root_id: int | None) -> int:
        """Students whose household is not on the roster (under ``root_id``: by school)."""
        sql = "SELECT COUNT(*) FROM students s WHERE s.household_unit_id IS NULL"
        params: list[object] = []
        if root_id is not None:
            sql = f"{SUBTREE_CTE} {sql} AND s.school_id IN (SELECT id FROM subtree)"
            params.append(root_id)
        return int(await self.db.fetchval(sql, params))

    async def cadres(self, root_id: int | None) -> list[CadreRow]:
        """The active cadres of the 三包 chain (under ``root_id``, or all)."""
        marks = ",".join("?" * len(CADRE_ROLES))
        roles = sorted(r.value for r in CADRE_ROLES)
        sql = (
            "SELECT id, name, phone, role, unit_id, telegram_id FROM people"
            f" WHERE status = 'active' AND role IN ({marks}) AND unit_id IS NOT NULL"
        )
        params: list[object] = [*roles]
        if root_id is not None:
            sql = f"{SUBTREE_CTE} {sql} AND unit_id IN (SELECT id FROM subtree)"
            params.insert(0, root_id)
        rows = await self.db.fetchall(sql + " ORDER BY id", params)
        return [
            CadreRow(
                person_id=r["id"],
                name=r["name"],
                phone=r["phone"],
                role=Role(r["role"]),
                unit_id=r["unit_id"],
                joined=r["telegram_id"] is not None,
            )
            for r in rows
        ]
