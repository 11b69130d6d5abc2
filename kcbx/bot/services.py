"""The services handlers and jobs share: config, database, repositories, clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kcbx.bot.clock import Clock, SystemClock
from kcbx.bot.config import Config
from kcbx.bot.policy import Policy, load_policy
from kcbx.bot.roster.vocabulary import Vocabulary, default_vocabulary, load_vocabulary
from kcbx.bot.schoolcal import SchoolCalendar
from kcbx.bot.taskhooks import TaskHooks
from kcbx.storage.accountability_repo import AccountabilityRepo
from kcbx.storage.audit import AuditRepo
from kcbx.storage.cases import CaseRepo
from kcbx.storage.coverage import CoverageRepo
from kcbx.storage.db import Database
from kcbx.storage.directory import DirectoryRepo
from kcbx.storage.invites import InviteRepo
from kcbx.storage.notices import NoticeRepo
from kcbx.storage.outbox import OutboxRepo
from kcbx.storage.people import PeopleRepo
from kcbx.storage.referrals import ReferralRepo
from kcbx.storage.reminder_history import ReminderHistoryRepo
from kcbx.storage.reports_repo import ReportsRepo
from kcbx.storage.students import StudentRepo
from kcbx.storage.units import UnitRepo
from kcbx.storage.visits import VisitRepo


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
    notices: NoticeRepo  # A7.4, A7.5 (issue 6)
    policy: Policy
    calendar: SchoolCalendar
    referrals: ReferralRepo  # A6, A9 (issue 4)
    visits: VisitRepo  # visits, exemptions, transfers with their evidence (issue 4)
    coverage: CoverageRepo  # 三包 coverage, A5.1 (issue 4)
    directory: DirectoryRepo  # who holds which role where, in batches (the sweep, issue 3)
    reminder_history: ReminderHistoryRepo  # rounds, escalations, who was told (issue 3)
    reports: ReportsRepo  # summaries, charts, ledgers, digests (issue 5)
    a8: AccountabilityRepo  # the frozen A8 flags, month by month (issue 5)
    task_hooks: TaskHooks = field(default_factory=TaskHooks)
    vocabulary: Vocabulary = field(default_factory=default_vocabulary)  # the roster's words

    @classmethod
    async def open(cls, config: Config, clock: Clock | None = None) -> Services:
        """Open the database (applying migrations) and wire the repositories."""
        policy_path = Path(config.policy_path) if config.policy_path else None
        policy = load_policy(policy_path)
        vocabulary = load_vocabulary(policy_path)
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
            notices=NoticeRepo(db, audit),
            policy=policy,
            calendar=SchoolCalendar(policy),
            referrals=ReferralRepo(db, audit),
            visits=VisitRepo(db, CaseRepo(db, audit), OutboxRepo(db), audit),
            coverage=CoverageRepo(db),
            directory=DirectoryRepo(db),
            reminder_history=ReminderHistoryRepo(db, audit),
            reports=ReportsRepo(db),
            a8=AccountabilityRepo(db, audit),
            vocabulary=vocabulary,
        )

    async def close(self) -> None:
        await self.db.close()
