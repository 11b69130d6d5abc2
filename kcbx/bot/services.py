"""The services handlers and jobs share: config, database, repositories, clock."""

from __future__ import annotations

from dataclasses import dataclass

from kcbx.bot.clock import Clock, SystemClock
from kcbx.bot.config import Config
from kcbx.storage.audit import AuditRepo
from kcbx.storage.cases import CaseRepo
from kcbx.storage.db import Database
from kcbx.storage.invites import InviteRepo
from kcbx.storage.outbox import OutboxRepo
from kcbx.storage.people import PeopleRepo
from kcbx.storage.students import StudentRepo
from kcbx.storage.units import UnitRepo


@dataclass
class Services:
    config: Config
    db: Database
    clock: Clock
    audit: AuditRepo
    people: PeopleRepo
    units: UnitRepo
    students: StudentRepo
    invites: InviteRepo
    outbox: OutboxRepo
    cases: CaseRepo

    @classmethod
    async def open(cls, config: Config, clock: Clock | None = None) -> Services:
        """Open the database (applying migrations) and wire the repositories."""
        db = await Database.open(config.db_path)
        audit = AuditRepo(db)
        return cls(
            config=config,
            db=db,
            clock=clock or SystemClock(),
            audit=audit,
            people=PeopleRepo(db, audit),
            units=UnitRepo(db),
            students=StudentRepo(db),
            invites=InviteRepo(db, audit),
            outbox=OutboxRepo(db),
            cases=CaseRepo(db, audit),
        )

    async def close(self) -> None:
        await self.db.close()
