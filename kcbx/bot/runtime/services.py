"""The services handlers and jobs share: config, database, repositories, clock, and the plug-in
points through which features join the sweep and the case card.

The sweep (kcbx/bot/engine/sweep.py) looks at the open cases whose next instant has come,
asks the pure ladder which tasks are due, finds who must act, and queues reminders through
the outbox. Features add to that here:

- a *renderer* turns a due task into the messages for one recipient (the default renderer
  writes the generic reminder; the notice feature attaches the documents to A7.4-notice; the
  visits feature writes the 三包 chain's and the departments' need-to-know referral texts);
- a *first-due hook* runs once per (case, task key) the first time the task is due, inside
  the sweep (e.g. opening a referral row for a department, A6);
- a *card section* adds lines to a case card (e.g. the notices with their delivery proof).

Registration is explicit, from the composition root (`kcbx.bot.engine.wiring.register_features`),
so a newcomer can see in one place what plugs in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kcbx.bot.domain.clock import Clock, SystemClock
from kcbx.bot.domain.dates import use_today
from kcbx.bot.domain.grades import grade_style, use_grade_style
from kcbx.bot.domain.i18n import Translate
from kcbx.bot.domain.ladder.due import DueTask
from kcbx.bot.domain.ladder.state import Task
from kcbx.bot.domain.model import Case, Student
from kcbx.bot.domain.policy.reading import load_policy
from kcbx.bot.domain.policy.tree import Policy
from kcbx.bot.domain.schoolcal import SchoolCalendar
from kcbx.bot.roster.vocabulary import Vocabulary, default_vocabulary, load_vocabulary
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.people_cache import PersonCache
from kcbx.storage.accountability_repo import AccountabilityRepo, ClosureReviewRepo
from kcbx.storage.case_plans import CasePlanRepo
from kcbx.storage.cases import CaseRepo
from kcbx.storage.coverage import CoverageRepo
from kcbx.storage.db import Database
from kcbx.storage.directory import DirectoryRepo
from kcbx.storage.invites import InviteRepo
from kcbx.storage.notices import NoticeFileRepo, NoticeRepo
from kcbx.storage.outbox import OutboxRepo, OutgoingMessage
from kcbx.storage.people import PeopleRepo
from kcbx.storage.records.audit import AuditRepo
from kcbx.storage.records.ephemeral import EphemeralRepo
from kcbx.storage.referrals import ReferralRepo
from kcbx.storage.reminder_history import ReminderHistoryRepo
from kcbx.storage.reports_repo import ReportsRepo
from kcbx.storage.students import StudentRepo
from kcbx.storage.units import UnitRepo
from kcbx.storage.visits import VisitRepo

Renderer = Callable[["Services", DueTask, Translate], Awaitable[list[OutgoingMessage]]]
FirstDueHook = Callable[["Services", Case, Student, Task], Awaitable[None]]
CardSection = Callable[["Services", Case, Translate, str], Awaitable[str | None]]


class TaskHooks:
    """Renderers and first-due hooks by task-code prefix; the longest prefix wins."""

    def __init__(self) -> None:
        self._renderers: dict[str, Renderer] = {}
        self._first_due: list[tuple[str, FirstDueHook]] = []
        self.card_sections: list[CardSection] = []

    def renderer(self, prefix: str, fn: Renderer) -> None:
        self._renderers[prefix] = fn

    def first_due(self, prefix: str, fn: FirstDueHook) -> None:
        self._first_due.append((prefix, fn))

    def card_section(self, fn: CardSection) -> None:
        """fn(services, case, gettext, lang) -> HTML lines for the case card, or None."""
        self.card_sections.append(fn)

    def renderer_for(self, code: str) -> Renderer | None:
        best = [p for p in self._renderers if code.startswith(p)]
        return self._renderers[max(best, key=len)] if best else None

    def first_due_for(self, code: str) -> list[FirstDueHook]:
        return [fn for prefix, fn in self._first_due if code.startswith(prefix)]


@dataclass
class Kept:
    """What the summaries keep between requests in this process, while it holds
    (kcbx.bot.services.summary_parts): at most one entry per school or per root."""

    parts: dict[int, Any] = field(default_factory=dict)  # each school's share of a summary
    activity: dict[int, Any] = field(default_factory=dict)  # each school's counts of cases
    trees: dict[int, Any] = field(default_factory=dict)  # the units down to the schools

    def clear(self) -> None:
        self.parts.clear()
        self.activity.clear()
        self.trees.clear()


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
    notices: NoticeRepo  # A7.4, A7.5
    policy: Policy
    calendar: SchoolCalendar
    referrals: ReferralRepo  # A6, A9
    visits: VisitRepo  # visits, exemptions, transfers with their evidence
    coverage: CoverageRepo  # 三包 coverage, A5.1
    directory: DirectoryRepo  # who holds which role where, in batches (the sweep)
    reminder_history: ReminderHistoryRepo  # rounds, escalations, who was told
    reports: ReportsRepo  # summaries, charts, ledgers, digests
    a8: AccountabilityRepo  # the frozen A8 flags, month by month
    case_plans: CasePlanRepo  # when the sweep looks at each open case again
    notice_files: NoticeFileRepo  # the notices' files owed, rendered off the sweep
    closure_reviews: ClosureReviewRepo  # transfers and exemptions awaiting a second person
    ephemeral: EphemeralRepo  # messages deleted after a while (export passwords)
    persons: PersonCache  # who is behind an update (the gate), dropped when people change
    task_hooks: TaskHooks = field(default_factory=TaskHooks)
    vocabulary: Vocabulary = field(default_factory=default_vocabulary)  # the roster's words
    kept: Kept = field(default_factory=Kept)  # the summaries', between requests

    @classmethod
    async def open(cls, config: Config, clock: Clock | None = None) -> Services:
        """Open the database (applying migrations) and wire the repositories."""
        policy_path = Path(config.policy_path) if config.policy_path else None
        policy = load_policy(policy_path)
        vocabulary = load_vocabulary(policy_path)
        db = await Database.open(config.db_path, config.durability)
        db.audit_key = config.audit_key
        audit = AuditRepo(db)
        await audit.seal()  # rows from before the chain existed, once
        people = PeopleRepo(db, audit)
        clock = clock or SystemClock()
        use_today(lambda: policy.time.local_date(clock.now()))  # no year in the current year
        use_grade_style(grade_style(config.grade_style))  # 八年级2班, or 初二(2)班
        return cls(
            config=config,
            db=db,
            clock=clock,
            audit=audit,
            people=people,
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
            case_plans=CasePlanRepo(db),
            notice_files=NoticeFileRepo(db),
            closure_reviews=ClosureReviewRepo(db, audit),
            ephemeral=EphemeralRepo(db),
            persons=PersonCache(people, db),
            vocabulary=vocabulary,
        )

    async def close(self) -> None:
        use_today(None)
        use_grade_style("year")
        await self.db.close()
