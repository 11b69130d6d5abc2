"""The services handlers and jobs share: config, database, repositories, clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kcbx.bot.clock import Clock, SystemClock
from kcbx.bot.config import Config
from kcbx.bot.policy import Policy, load_policy
from kcbx.bot.schoolcal import SchoolCalendar
from kcbx.bot.taskhooks import TaskHooks
from kcbx.storage.audit import AuditRepo
from kcbx.storage.cases import CaseRepo
from kcbx.storage.db import Database
from kcbx.storage.directory import DirectoryRepo
from kcbx.storage.invites import InviteRepo
from kcbx.storage.outbox import OutboxRepo
from kcbx.storage.people import PeopleRepo
from kcbx.storage.reminder_history import ReminderHistoryRepo
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
    policy: Policy
    calendar: SchoolCalendar
    directory: DirectoryRepo  # who holds which role where, in batches (the sweep, issue 3)
    reminder_history: ReminderHistoryRepo  # rounds, escalations, who was told (issue 3)
    task_hooks: TaskHooks = field(default_factory=TaskHooks)

    @classmethod
    async def open(cls, config: Config, clock: Clock | None = None) -> Services:
        """Open the database (applying migrations) and wire the repositories."""
        policy = load_policy(Path(config.policy_path) if config.policy_path else None)
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
            policy=policy,
            calendar=SchoolCalendar(policy),
            directory=DirectoryRepo(db),
            reminder_history=ReminderHistoryRepo(db, audit),
        )

    async def close(self) -> None:
        await self.db.close()
