"""People: staff who may use the bot, their Telegram binding and their state."""

from __future__ import annotations

import weakref
from datetime import datetime

from kcbx.bot.domain.clock import to_iso
from kcbx.bot.domain.model import Person
from kcbx.bot.domain.roles import Role
from kcbx.storage.case_plans import mark_waiting_changed
from kcbx.storage.connection.rows import reader, written
from kcbx.storage.db import Database, after_commit
from kcbx.storage.records.audit import AuditedRepo

_person = reader(Person, role=Role)

# The counters row (migration 0020) that every change to a person bumps in its own
# transaction: the people caches of every process (kcbx.bot.runtime.people_cache) reload
# when it moves. _COMMITTED counts the same changes committed through this process, so that
# its own cache drops them at once, without a read.
GENERATION = "people"
_COMMITTED: weakref.WeakKeyDictionary[Database, int] = weakref.WeakKeyDictionary()


async def people_changed(db: Database) -> None:
    """Call inside the transaction that changes a person's role, unit, status, binding or
    language (a revoked person is locked out at their next update)."""
    await db.execute(
        "INSERT INTO counters (name, value) VALUES (?, 1)"
        " ON CONFLICT (name) DO UPDATE SET value = counters.value + 1",
        (GENERATION,),
    )
    after_commit(db, lambda: _COMMITTED.__setitem__(db, _COMMITTED.get(db, 0) + 1))


def changes_committed_here(db: Database) -> int:
    """How many changes to people this process has committed on ``db``."""
    return _COMMITTED.get(db, 0)


class PeopleRepo(AuditedRepo):
    async def get(self, person_id: int) -> Person | None:
        return await _person.one(self.db, "SELECT * FROM people WHERE id = ?", (person_id,))

    async def by_telegram(self, telegram_id: int) -> Person | None:
        return await _person.one(
            self.db, "SELECT * FROM people WHERE telegram_id = ?", (telegram_id,)
        )

    async def generation(self) -> int:
        """The shared count of changes to people (:func:`people_changed`)."""
        value = await self.db.fetchval("SELECT value FROM counters WHERE name = ?", (GENERATION,))
        return int(value or 0)

    async def by_phone(self, phone: str) -> Person | None:
        return await _person.one(self.db, "SELECT * FROM people WHERE phone = ?", (phone,))

    async def find_unbound(self, role: Role, unit_id: int, name: str | None) -> Person | None:
        """An imported person of that role and unit not yet bound to Telegram."""
        sql = "SELECT * FROM people WHERE role = ? AND unit_id = ? AND telegram_id IS NULL"
        params: list[object] = [role.value, unit_id]
        if name:
            sql += " AND name = ?"
            params.append(name)
        rows = await self.db.fetchall(sql + " ORDER BY id", params)
        return _person(rows[0]) if len(rows) == 1 or (rows and name) else None

    async def create(
        self, *, name: str, role: Role, unit_id: int, phone: str | None, actor: str, now: datetime
    ) -> Person:
        async with self.db.transaction():
            person_id = await self.db.execute(
                "INSERT INTO people (name, phone, role, unit_id, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (name, phone, role.value, unit_id, to_iso(now)),
            )
            await mark_waiting_changed(self.db)  # someone may now be told of a waiting task
            detail = {"role": role.value, "unit_id": unit_id, "name": name}
            await self.audit.record(now, actor, "create", "person", person_id, detail)
        return written(await self.get(person_id))

    async def bind_telegram(
        self, person_id: int, *, telegram_id: int, chat_id: int, lang: str, name: str, now: datetime
    ) -> None:
        """Tie a Telegram account to a person (an account binds to one person at most)."""
        async with self.db.transaction():
            await self.db.execute(
                "UPDATE people SET telegram_id = NULL, chat_id = NULL"
                " WHERE telegram_id = ? AND id <> ?",
                (telegram_id, person_id),
            )
            await self.db.execute(
                "UPDATE people SET telegram_id = ?, chat_id = ?, lang = ?,"
                " name = CASE WHEN name = '' THEN ? ELSE name END, unreachable_at = NULL"
                " WHERE id = ?",
                (telegram_id, chat_id, lang, name, person_id),
            )
            await people_changed(self.db)
            await mark_waiting_changed(self.db)
            detail = {"telegram_id": telegram_id}
            await self.audit.record(now, f"person:{person_id}", "bind", "person", person_id, detail)

    async def set_language(self, person_id: int, lang: str, now: datetime) -> None:
        async with self.db.transaction():
            await self.db.execute("UPDATE people SET lang = ? WHERE id = ?", (lang, person_id))
            await people_changed(self.db)
            detail = {"lang": lang}
            await self.audit.record(
                now, f"person:{person_id}", "set_language", "person", person_id, detail
            )

    async def revoke(self, person_id: int, *, actor: str, now: datetime) -> bool:
        """Lock a person out at once; True if they were active."""
        async with self.db.transaction():
            changed = await self.db.execute(
                "UPDATE people SET status = 'revoked' WHERE id = ? AND status = 'active'",
                (person_id,),
            )
            if changed:
                await people_changed(self.db)
                await self.db.execute(
                    "UPDATE invites SET used_at = ? WHERE person_id = ? AND used_at IS NULL",
                    (to_iso(now), person_id),
                )
                await self.audit.record(now, actor, "revoke", "person", person_id)
        return bool(changed)

    async def mark_unreachable(self, person_id: int, now: datetime) -> None:
        """The person blocked the bot (403): reminders go to their supervisor instead."""
        async with self.db.transaction():
            if await self.db.execute(
                "UPDATE people SET unreachable_at = ? WHERE id = ? AND unreachable_at IS NULL",
                (to_iso(now), person_id),
            ):
                await people_changed(self.db)
            await self.audit.record(now, "system", "unreachable", "person", person_id)

    async def mark_reachable(self, person_id: int) -> None:
        async with self.db.transaction():
            if await self.db.execute(
                "UPDATE people SET unreachable_at = NULL"
                " WHERE id = ? AND unreachable_at IS NOT NULL",
                (person_id,),
            ):
                await people_changed(self.db)
            await mark_waiting_changed(self.db)

    async def in_units(self, unit_ids: list[int], roles: list[Role]) -> list[Person]:
        """Active people holding one of the roles in one of the units, or working in one of
        them (the bureau staff of 区教育局 belong to the district, A3)."""
        if not unit_ids or not roles:
            return []
        marks_u = ",".join("?" * len(unit_ids))
        marks_r = ",".join("?" * len(roles))
        return await _person.all(
            self.db,
            f"SELECT * FROM people WHERE status = 'active'"
            f" AND (unit_id IN ({marks_u}) OR office_id IN ({marks_u}))"
            f" AND role IN ({marks_r}) ORDER BY id",
            [*unit_ids, *unit_ids, *[r.value for r in roles]],
        )

    async def list_all(self) -> list[Person]:
        return await _person.all(self.db, "SELECT * FROM people ORDER BY id")
