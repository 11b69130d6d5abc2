"""Units of the district: townships, villages, groups, schools, departments."""

from __future__ import annotations

import time

from kcbx.bot.domain.model import Unit
from kcbx.storage.connection.rows import reader
from kcbx.storage.db import Database

SUBTREE_CTE = (
    "WITH RECURSIVE subtree(id) AS ("
    " SELECT id FROM units WHERE id = ?"
    " UNION ALL SELECT u.id FROM units u JOIN subtree s ON u.parent_id = s.id)"
)


_unit = reader(Unit)


class UnitRepo:
    """Units change only with a roster import, while every message names a few of them:
    looked-up units are kept for CACHE_SECONDS (a sweep that renders thousands of reminders
    would otherwise make tens of thousands of queries). Writes here clear the cache; an
    import in this process calls `invalidate()`; one in another process shows within
    CACHE_SECONDS."""

    CACHE_SECONDS = 300.0

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: dict[int, Unit] = {}
        self._cached_since = time.monotonic()

    def invalidate(self) -> None:
        self._cache.clear()
        self._cached_since = time.monotonic()

    async def get(self, unit_id: int) -> Unit | None:
        if time.monotonic() - self._cached_since > self.CACHE_SECONDS:
            self.invalidate()
        cached = self._cache.get(unit_id)
        if cached is not None:
            return cached
        row = await self.db.fetchone("SELECT * FROM units WHERE id = ?", (unit_id,))
        if row is None:
            return None
        unit = self._cache[unit_id] = _unit(row)
        return unit

    async def add(
        self,
        kind: str,
        name: str,
        parent_id: int | None = None,
        section: str | None = None,
        code: str | None = None,
    ) -> int:
        """Create a unit (or return the existing one with that parent, kind and name)."""
        find = "SELECT id FROM units WHERE parent_id IS ? AND kind = ? AND name = ?"
        async with self.db.transaction():
            existing = await self.db.fetchval(find, (parent_id, kind, name))
            if existing:
                return int(existing)
            self.invalidate()
            # two importers at once: the unique index (parent, kind, name) decides, and the
            # one that lost reads the winner's row (migration 0024 covers the root units)
            await self.db.executemany(
                "INSERT INTO units (kind, name, parent_id, section, code) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                [(kind, name, parent_id, section, code)],
            )
            return int(await self.db.fetchval(find, (parent_id, kind, name)))

    async def ancestors(self, unit_id: int) -> list[Unit]:
        """The unit and its ancestors, nearest first."""
        out: list[Unit] = []
        current: int | None = unit_id
        while current is not None and len(out) < 16:
            unit = await self.get(current)
            if unit is None:
                break
            out.append(unit)
            current = unit.parent_id
        return out

    async def path_name(self, unit_id: int | None) -> str:
        """'滨河镇/新墩村/一组' (the district left out)."""
        if unit_id is None:
            return ""
        names = [u.name for u in reversed(await self.ancestors(unit_id)) if u.kind != "district"]
        return "/".join(names)

    async def find(self, text: str, kinds: tuple[str, ...] | None = None) -> list[Unit]:
        """Units matching a name or a path '滨河镇/新墩村' (last part exact, parents checked)."""
        parts = [p.strip() for p in text.replace("／", "/").split("/") if p.strip()]
        if not parts:
            return []
        rows = await self.db.fetchall("SELECT * FROM units WHERE name = ?", (parts[-1],))
        matches = []
        for row in rows:
            unit = _unit(row)
            if kinds and unit.kind not in kinds:
                continue
            if len(parts) > 1:
                chain = [u.name for u in reversed(await self.ancestors(unit.id))]
                if chain[-len(parts) :] != parts:
                    continue
            matches.append(unit)
        return matches

    async def children(self, unit_id: int, kind: str | None = None) -> list[Unit]:
        sql = "SELECT * FROM units WHERE parent_id = ?"
        params: list[object] = [unit_id]
        if kind:
            sql += " AND kind = ?"
            params.append(kind)
        return await _unit.all(self.db, sql + " ORDER BY name", params)

    async def of_kind(self, kind: str) -> list[Unit]:
        return await _unit.all(self.db, "SELECT * FROM units WHERE kind = ? ORDER BY id", (kind,))

    async def nearest(self, unit_id: int, kind: str) -> Unit | None:
        """The unit itself or its nearest ancestor of a kind (e.g. a group's township)."""
        for unit in await self.ancestors(unit_id):
            if unit.kind == kind:
                return unit
        return None

    async def villages_on_map(self) -> list[Unit]:
        """The villages the roster gave coordinates (a visit's location is named by them)."""
        return await _unit.all(
            self.db,
            "SELECT * FROM units WHERE kind = 'village' AND latitude IS NOT NULL"
            " AND longitude IS NOT NULL ORDER BY id",
            (),
        )
