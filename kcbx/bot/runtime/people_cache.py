"""Who is behind an update, without a database read for every press: Telegram id -> person
(role, unit, status: what the scope of everything they see is computed from).

Every change to a person (revocation, a new role or unit from the roster, a binding, a
language) bumps a shared counter in its own transaction (kcbx.storage.people.people_changed).
The cache is dropped whole when that counter moves:

- a change committed through this process drops it at once, before the next update is
  looked at (no read needed): a person revoked here is locked out at their next press;
- a change committed by another process (another instance on the same PostgreSQL database,
  ``kcbx import`` beside the bot) is seen when the counter is read again, at most
  ``shared_seconds`` after the last read (:data:`SHARED_SECONDS`; 0 reads it at every update).

Only people found are kept (a stranger's id is looked up each time, so a binding made by hand
is seen at once), at most :data:`MOST` of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from kcbx.bot.domain.model import Person
from kcbx.storage.db import Database
from kcbx.storage.people import PeopleRepo, changes_committed_here

SHARED_SECONDS = 1.0  # the bound on seeing another process's change to a person
MOST = 20_000  # people kept at most (the oldest entry goes first)


class PersonCache:
    def __init__(
        self,
        people: PeopleRepo,
        db: Database,
        *,
        shared_seconds: float = SHARED_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._people = people
        self._db = db
        self._shared_seconds = shared_seconds
        self._monotonic = monotonic
        self._by_telegram: dict[int, Person] = {}
        self._here = -1  # changes_committed_here when last checked
        self._shared = -1  # the shared counter when last read
        self._read_at = float("-inf")

    async def by_telegram(self, telegram_id: int) -> Person | None:
        """The person bound to this Telegram account, as the database has it now."""
        await self._check()
        person = self._by_telegram.get(telegram_id)
        if person is None:
            person = await self._people.by_telegram(telegram_id)
            if person is not None:
                if len(self._by_telegram) >= MOST:
                    del self._by_telegram[next(iter(self._by_telegram))]
                self._by_telegram[telegram_id] = person
        return person

    def clear(self) -> None:
        self._by_telegram.clear()
        self._read_at = float("-inf")

    async def _check(self) -> None:
        """Drop everything if people changed: here (at once) or anywhere (read again)."""
        here = changes_committed_here(self._db)
        now = self._monotonic()
        if here == self._here and now - self._read_at < self._shared_seconds:
            return
        shared = await self._people.generation()
        if shared != self._shared or here != self._here:
            self._by_telegram.clear()
        self._here, self._shared, self._read_at = here, shared, now
