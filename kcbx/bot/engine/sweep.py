"""The sweep: finds what is due on the open cases and for whom, and queues the reminders.

Rules A7.1-A7.6 and A5/A6/A9 through the ladder. The sweep holds no state: the
ladder (:mod:`kcbx.bot.domain.ladder`) says which tasks are due from the recorded actions, the
reminder history (migration 0007) says what was already sent, the reminder plan
(:mod:`kcbx.bot.domain.reminders`) says what to do now, and :mod:`kcbx.bot.domain.recipients`
says who (:mod:`kcbx.bot.engine.planning`).
A restart, a crash or a week offline loses nothing: the next sweep catches up.

Exactly once. Everything one sweep decides is written in one transaction
(:mod:`kcbx.bot.engine.queueing`); each outbox row has a unique key
(:mod:`kcbx.bot.engine.keys`), so the outbox sends each at most once and retries it until
delivered (:mod:`kcbx.bot.engine.delivery`).

Scale. The job keeps one :class:`Sweeper`, which looks again only at the cases that changed
or whose next event has come; a province's idle minute costs two queries and a loop.

Features plug in through ``services.task_hooks``: a renderer per task-code prefix (default:
:mod:`kcbx.bot.texts.reminders`), and first-due hooks that run once per (case, task key), in
one transaction with the mark that they ran.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from kcbx.bot.domain.ladder import LadderState, Task
from kcbx.bot.domain.model import Case
from kcbx.bot.domain.policy import Policy
from kcbx.bot.domain.reminders import (
    Decision,
    ReminderHistory,
    in_quiet_hours,
    plan,
    quiet_hours_next_send,
)
from kcbx.bot.engine.loading import CaseFiles, history_of, load_case_files, load_places
from kcbx.bot.engine.planning import ESCALATED, TaskStep, history_after, plan_task
from kcbx.bot.engine.queueing import YIELD_EVERY, render_messages, write_sweep
from kcbx.bot.runtime.services import Services
from kcbx.storage import reminder_history as kinds
from kcbx.storage.directory import Enrolled

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    """What one sweep saw and did."""

    now: datetime
    cases: int = 0  # open cases walked
    due: int = 0  # tasks due and not done
    hooks_run: int = 0  # tasks whose first-due hooks ran
    steps: list[TaskStep] = field(default_factory=list)
    queued: int = 0  # outbox rows written
    digests: int = 0  # of which digest pages
    withdrawn: int = 0  # pending reminders of closed cases cancelled
    skipped: int = 0  # open cases not looked at: unchanged, and nothing can be due yet
    unassigned: list[str] = field(default_factory=list)  # due, nobody at all to tell
    errors: list[str] = field(default_factory=list)

    @property
    def reminders(self) -> int:
        return sum(1 for s in self.steps if s.escalate_to is None)

    @property
    def escalations(self) -> int:
        return sum(1 for s in self.steps if s.reason == ESCALATED)

    @property
    def handovers(self) -> int:
        return sum(1 for s in self.steps if s.reason in (kinds.UNREACHABLE, kinds.NO_ONE))

    def summary(self) -> str:
        return (
            f"{self.cases} open cases, {self.due} tasks due: {self.reminders} reminders, "
            f"{self.escalations} escalations, {self.handovers} hand-overs; "
            f"{self.queued} messages queued ({self.digests} digest pages); "
            f"{len(self.unassigned)} with nobody to tell; {len(self.errors)} errors"
        )


async def _first_due(
    services: Services, case: Case, enrolled: Enrolled, task: Task, now: datetime
) -> None:
    """Run the task's first-due hooks and mark that they ran, in one transaction."""
    async with services.db.transaction():
        for hook in services.task_hooks.first_due_for(task.code):
            await hook(services, case, enrolled.student, task)
        await services.reminder_history.mark_first_due(
            case.id, task_key=task.key, task_code=task.code, now=now
        )


def next_tick(now: datetime, policy: Policy) -> datetime:
    """The next instant a task can appear or fall due without anyone acting: a midnight,
    the start or end of the business day, or the end of the quiet hours."""
    marks = (
        time(0),
        policy.time.business_day_start,
        policy.time.business_day_end,
        policy.reminders.quiet_end,
    )
    tz = policy.time.tz
    day = now.astimezone(tz).date()
    instants = [
        datetime.combine(day + timedelta(days=d), m, tzinfo=tz) for d in (0, 1) for m in marks
    ]
    return min(i for i in instants if i > now)


@dataclass
class _Watch:
    """What the sweeper knew of a case when it last looked, and when to look again."""

    case: Case
    wake: datetime


@dataclass
class _Due:
    """A task owed now, with its reminder history and what the plan says to do."""

    case: Case
    enrolled: Enrolled
    state: LadderState
    task: Task
    key: str
    history: ReminderHistory
    decision: Decision


@dataclass
class _Pass:
    """What one sweep collects before it plans and writes."""

    report: SweepReport
    files: CaseFiles
    due: list[_Due] = field(default_factory=list)
    marks: list[tuple[int, str, str]] = field(default_factory=list)  # first due, no hooks
    wakes: dict[int, datetime] = field(default_factory=dict)


class Sweeper:
    """Sweeps one database again and again (the job keeps one per application).

    Each pass reads the open cases (one query) and which of them have new actions (one
    query). A case is looked at again when it changed, when its next event has come (the
    earliest of: a task falls due, a reminder plan's next step, the next tick of
    :func:`next_tick`), and in any case after ``RECHECK`` (staggered by case), so that a
    change the sweeper cannot see (a student's A9 flags from a roster import) is not missed
    for long. A new sweeper (a restart, an operator's sweep) looks at every case.
    """

    RECHECK = timedelta(minutes=30)

    def __init__(self, services: Services) -> None:
        self.services = services
        self._watch: dict[int, _Watch] = {}
        self._action_mark = 0
        self._last: datetime | None = None

    async def run(self, now: datetime) -> SweepReport:
        services = self.services
        report = SweepReport(now)
        if self._last is not None and now < self._last:
            self._watch.clear()  # the clock went back (an operator, a test): look at all
        self._last = now
        report.withdrawn = await services.reminder_history.withdraw_for_closed_cases()
        cases = await services.cases.open_cases()
        report.cases = len(cases)
        acted, self._action_mark = await services.reminder_history.cases_acted_on_since(
            self._action_mark
        )
        look = [c for c in cases if self._changed(c, now, acted)]
        report.skipped = len(cases) - len(look)
        open_ids = {c.id for c in cases}
        self._watch = {k: w for k, w in self._watch.items() if k in open_ids}
        for case in look:
            self._watch.pop(case.id, None)  # kept again only once its sweep is written
        if look:
            await self._sweep(look, now, report)
        return report

    def _changed(self, case: Case, now: datetime, acted: set[int]) -> bool:
        watch = self._watch.get(case.id)
        return watch is None or watch.case != case or case.id in acted or now >= watch.wake

    def _recheck(self, case: Case, now: datetime) -> datetime:
        """Between half of RECHECK and all of it, spread by case id."""
        return now + self.RECHECK * (16 + case.id % 16) / 32

    async def _sweep(self, cases: list[Case], now: datetime, report: SweepReport) -> None:
        services = self.services
        sweep = _Pass(report, await load_case_files(services, cases))
        for index, case in enumerate(cases):
            if index % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)  # let the handlers answer people during a long sweep
            await self._look_at(sweep, case, now)
        places, directory = await load_places(services, (d.enrolled for d in sweep.due))
        quiet_end = quiet_hours_next_send(now, services.policy)
        for d in sweep.due:
            place = places[d.enrolled.student.id]
            step = plan_task(
                d.case, d.enrolled, d.state, d.task, d.decision, d.history, place, directory, now
            )
            if step is None:  # nobody at all to tell: try again at every sweep
                report.unassigned.append(f"{d.case.number} {d.task.code}")
                sweep.wakes[d.case.id] = now
                continue
            report.steps.append(step)
            following = plan(d.task, history_after(d.history, step, now), services.policy)
            if following is not None:
                wake = max(following.at, quiet_end)
                sweep.wakes[d.case.id] = min(sweep.wakes[d.case.id], wake)
        if report.unassigned:
            log.warning(
                "nobody to tell about %d due tasks: %s",
                len(report.unassigned),
                ", ".join(report.unassigned[:20]),
            )
        notifications = [n for s in report.steps for n in s.notifications]
        outgoing = await render_messages(services, notifications, places)
        report.digests = sum(1 for o in outgoing if o.digest)
        report.queued = await write_sweep(services, report.steps, outgoing, now, sweep.marks)
        for case in cases:  # written: remember when to look at each case again
            if case.id in sweep.wakes and sweep.wakes[case.id] > now:
                self._watch[case.id] = _Watch(case, sweep.wakes[case.id])

    async def _look_at(self, sweep: _Pass, case: Case, now: datetime) -> None:
        """The due tasks of one case, and when to look at it again."""
        services, policy, report = self.services, self.services.policy, sweep.report
        enrolled = sweep.files.enrolled.get(case.student_id)
        if enrolled is None:
            return
        try:
            state = sweep.files.state(case, services, now)
        except Exception as exc:  # one bad case must not stop the others' reminders
            log.exception("ladder of case %s failed", case.number)
            report.errors.append(f"{case.number}: {exc}")
            return
        quiet = in_quiet_hours(now, policy)
        quiet_end = quiet_hours_next_send(now, policy)
        wake = min(next_tick(now, policy), self._recheck(case, now))
        plans = {key: history_of(h) for key, h in sweep.files.histories_of(case.id).items()}
        for task in state.open_tasks:
            if not task.is_due(now):
                wake = min(wake, task.due_at)
                continue
            report.due += 1
            key = task.key
            if key not in plans:
                if services.task_hooks.first_due_for(task.code):
                    try:
                        await _first_due(services, case, enrolled, task, now)
                        report.hooks_run += 1
                    except Exception as exc:  # tried again at the next sweep
                        log.exception("first-due hooks of %s %s failed", case.number, key)
                        report.errors.append(f"{case.number} {task.code}: {exc}")
                        wake = now
                        continue
                else:
                    sweep.marks.append((case.id, key, task.code))
                plans[key] = ReminderHistory()
            upcoming = plan(task, plans[key], policy)  # reminders.decide, and what next
            if upcoming is None:
                continue
            if upcoming.at <= now and not quiet:
                sweep.due.append(
                    _Due(case, enrolled, state, task, key, plans[key], upcoming.decision)
                )
            else:
                wake = min(wake, max(upcoming.at, quiet_end))
        sweep.wakes[case.id] = wake


async def sweep(services: Services, now: datetime) -> SweepReport:
    """One full pass over the open cases at ``now`` (operators, tests): first-due hooks,
    then everything due queued in one transaction."""
    return await Sweeper(services).run(now)


__all__ = ["SweepReport", "Sweeper", "next_tick", "sweep"]
