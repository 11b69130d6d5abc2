"""The sweep: finds what is due on the open cases and for whom, and queues the reminders.

Rules A7.1-A7.6 and A5/A6/A9 through the ladder. The sweep holds no state: the
ladder (:mod:`kcbx.bot.domain.ladder.state`) says which tasks are due from the recorded actions, the
reminder history (migration 0007) says what was already sent, the reminder plan
(:mod:`kcbx.bot.domain.ladder.reminders`) says what to do now, and
:mod:`kcbx.bot.domain.ladder.recipients`
says who (:mod:`kcbx.bot.engine.planning`).
A restart, a crash or a week offline loses nothing: the next sweep catches up.

Exactly once. Everything one sweep decides is written in one transaction
(:mod:`kcbx.bot.engine.queueing`); each outbox row has a unique key
(:mod:`kcbx.bot.engine.keys`), so the outbox sends each at most once and retries it until
delivered (:mod:`kcbx.bot.engine.delivery`).

Scale. Each open case has a row in the plan index (migration 0011): the next instant anything
about it can change, and whether it was written since the sweep last looked. A minute's sweep
reads only the cases whose instant has come or which changed, so an idle minute costs two
indexed queries whatever the number of open cases, and a restart reads the same index.

Features plug in through ``services.task_hooks``: a renderer per task-code prefix (default:
:mod:`kcbx.bot.texts.reminders`), and first-due hooks that run once per (case, task key), in
one transaction with the mark that they ran.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from kcbx.bot.domain.ladder.follow_up import follow_up_horizon
from kcbx.bot.domain.ladder.reminders import (
    Decision,
    ReminderHistory,
    next_send,
    plan,
    quiet_hours_next_send,
)
from kcbx.bot.domain.ladder.standing import dumps, standing_of
from kcbx.bot.domain.ladder.state import LadderState, Task, ladder_state
from kcbx.bot.domain.model import Case
from kcbx.bot.domain.policy.tree import Policy
from kcbx.bot.engine.loading import CaseFiles, history_of, load_case_files, load_places
from kcbx.bot.engine.planning import ESCALATED, TaskStep, history_after, plan_task
from kcbx.bot.engine.queueing import YIELD_EVERY, budgeted, write_sweep
from kcbx.bot.engine.wake import PROBE, appearing, next_recorded, rules_fingerprint
from kcbx.bot.runtime.services import Services
from kcbx.storage import reminder_history as kinds
from kcbx.storage.case_plans import PlanMark
from kcbx.storage.directory import Enrolled

log = logging.getLogger(__name__)

RETRY = timedelta(hours=1)  # a case whose ladder failed is tried again (the error is logged)


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
    deferred: int = 0  # steps held for the next working morning: the person's day is full
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


def following_up(case: Case, now: datetime, horizon: timedelta) -> bool:
    """A case closed by a return, recently enough to owe an A4.2 check-in."""
    closed_at = case.closed_at
    return case.status == "returned" and closed_at is not None and now < closed_at + horizon


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
    wakes: dict[int, datetime | None] = field(default_factory=dict)
    waiting: set[int] = field(default_factory=set)  # a task due with nobody to tell
    returns: list[int] = field(default_factory=list)  # returned cases looked at (A4.2)
    alive: set[int] = field(default_factory=set)  # ... of which a check-in has a step ahead
    standings: dict[int, str] = field(default_factory=dict)  # what a summary reads (0033)
    rules: str = ""  # the rules' fingerprint the standings are computed under

    @property
    def ended(self) -> list[int]:
        """Returned cases with no check-in left to remind: they leave the plan."""
        return [i for i in self.returns if i not in self.alive]

    def wake(self, case_id: int, instant: datetime) -> None:
        current = self.wakes.get(case_id)
        self.wakes[case_id] = instant if current is None else min(current, instant)

    def held(self, case_id: int, instant: datetime) -> None:
        """Something of the case is still to come at ``instant`` (a notice, the next step of a
        plan, a step held for a full day, a retry): a returned case stays in the plan."""
        self.wake(case_id, instant)
        self.alive.add(case_id)


class Sweeper:
    """Sweeps one database again and again (the job keeps one per application).

    Each pass reads, from the plan index (:mod:`kcbx.storage.case_plans`), the cases whose
    next instant has come or which were written since they were last looked at: two indexed
    queries, whatever the number of open cases. What a case's next instant is:
    :mod:`kcbx.bot.engine.wake`. A restart reads the same index; it looks at every open case
    once only when the rules or the policy changed since the plans were written. ``full``
    looks at every open case at each pass (operators' sweeps; the clock going back).

    Many cases due at once (a catch-up after an outage) are swept ``CHUNK`` cases at a time,
    a school's cases together, each chunk written in its own transaction, so that the first
    reminders are queued within seconds; a person with cases in several chunks then gets a
    digest per chunk.
    """

    CHUNK = 500  # cases per transaction (and per digest) in a catch-up

    def __init__(self, services: Services, *, full: bool = False) -> None:
        self.services = services
        self.full = full
        self._started = False
        self._last: datetime | None = None

    async def run(self, now: datetime) -> SweepReport:
        services, plans = self.services, self.services.case_plans
        report = SweepReport(now)
        full = self.full or (self._last is not None and now < self._last)
        self._last = now
        fingerprint = ""
        if not self._started:
            fingerprint = rules_fingerprint(services.policy)
            # Once per process: cases written around the repositories, reminders of cases
            # closed meanwhile, and plans written under other rules.
            await plans.adopt_missing()
            report.withdrawn = await services.reminder_history.withdraw_for_closed_cases()
            full = full or await plans.fingerprint() != fingerprint
        seen = await plans.every_case() if full else await plans.to_look_at(now)
        found = await services.cases.by_ids(seen)
        horizon = follow_up_horizon(services.policy)
        cases = [c for c in found.values() if c.is_open or following_up(c, now, horizon)]
        closed = [i for i in seen if i not in found or not found[i].is_open]
        if closed:  # what they owed before (a returned case's A4.2 check-ins stay)
            report.withdrawn += await services.reminder_history.withdraw_for_cases(closed)
        cases = await self._without_relapses(cases)
        looked = {c.id for c in cases}
        closed = [i for i in closed if i not in looked]  # these leave the plan
        report.cases = await plans.count() - len(closed)
        report.skipped = report.cases - len(cases)
        # A catch-up goes out in chunks of cases (a school's together), each written in its
        # own transaction: the first reminders leave before the last cases are read.
        ordered = sorted(cases, key=lambda c: (c.student_id, c.id))
        chunks = [ordered[i : i + self.CHUNK] for i in range(0, len(ordered), self.CHUNK)]
        if closed and not chunks:
            chunks = [[]]  # only closed cases to forget
        for index, chunk in enumerate(chunks):
            await self._sweep(chunk, seen, closed if index == 0 else [], now, report)
        if fingerprint:
            if full:
                await plans.set_fingerprint(fingerprint)
            self._started = True
        return report

    async def _without_relapses(self, cases: list[Case]) -> list[Case]:
        """A returned child absent again has a newer case: its ladder, not the old case's
        check-ins, is owed now (A4.2 gives way; the relapse watch carries the days)."""
        returns = [c for c in cases if not c.is_open]
        if not returns:
            return cases
        latest = await self.services.cases.latest_of_students(c.student_id for c in returns)
        return [c for c in cases if c.is_open or latest.get(c.student_id, c.id) <= c.id]

    async def _sweep(
        self,
        cases: list[Case],
        seen: dict[int, int],
        closed: list[int],
        now: datetime,
        report: SweepReport,
    ) -> None:
        services = self.services
        files = await load_case_files(services, cases)
        sweep = _Pass(report, files, rules=rules_fingerprint(services.policy))
        for index, case in enumerate(cases):
            if index % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)  # let the handlers answer people during a long sweep
            await self._look_at(sweep, case, now)
        places, directory = await load_places(services, (d.enrolled for d in sweep.due))
        quiet_end = quiet_hours_next_send(now, services.policy)
        steps: list[TaskStep] = []  # this chunk's
        for d in sweep.due:
            place = places[d.enrolled.student.id]
            step = plan_task(
                d.case, d.enrolled, d.state, d.task, d.decision, d.history, place, directory, now
            )
            if step is None:  # nobody at all to tell: again when the people change
                report.unassigned.append(f"{d.case.number} {d.task.code}")
                sweep.waiting.add(d.case.id)
                sweep.alive.add(d.case.id)
                continue
            steps.append(step)
            after = history_after(d.history, step, now)
            following = plan(d.task, after, services.policy, services.calendar)
            if following is not None:
                sweep.held(d.case.id, max(following.at, quiet_end))
        if report.unassigned:
            log.warning(
                "nobody to tell about %d due tasks: %s",
                len(report.unassigned),
                ", ".join(report.unassigned[:20]),
            )
        outgoing = await budgeted(services, report, steps, places, directory, sweep.held)
        report.steps += steps
        report.digests += sum(1 for o in outgoing if o.digest)
        ended = sweep.ended
        marks = [
            PlanMark(
                c.id,
                sweep.wakes.get(c.id),
                c.id in sweep.waiting,
                seen[c.id],
                sweep.standings.get(c.id),
            )
            for c in cases
            if c.id not in ended
        ]
        report.queued += await write_sweep(
            services, steps, outgoing, now, sweep.marks, marks, [*closed, *ended]
        )

    async def _look_at(self, sweep: _Pass, case: Case, now: datetime) -> None:
        """The due tasks of one case, and when to look at it again."""
        services, policy, report = self.services, self.services.policy, sweep.report
        enrolled = sweep.files.enrolled.get(case.student_id)
        sweep.wake(case.id, now + PROBE)
        if not case.is_open and case.closed_at is not None:  # A4.2: until the last check-in
            sweep.wake(case.id, case.closed_at + follow_up_horizon(policy))
            sweep.returns.append(case.id)
        if enrolled is None:
            sweep.held(case.id, now + PROBE)  # a returned case stays until its horizon
            return
        try:
            facts, actions = sweep.files.facts(case)
            state = ladder_state(facts, actions, policy, services.calendar, now)
            later = ladder_state(facts, actions, policy, services.calendar, now + PROBE)
        except Exception as exc:  # one bad case must not stop the others' reminders
            log.exception("ladder of case %s failed", case.number)
            report.errors.append(f"{case.number}: {exc}")
            sweep.held(case.id, now + RETRY)
            return
        appears = appearing(state, later)
        for instant in (appears, next_recorded(sweep.files.actions.get(case.id, ()), now)):
            if instant is not None:
                sweep.wake(case.id, instant)
        if case.is_open:  # kept with the plan; looked at again when it stops holding
            standing = standing_of(facts, actions, state, later, appears=appears)
            sweep.standings[case.id] = dumps(standing, sweep.rules)
            if standing.until is not None:
                sweep.wake(case.id, standing.until)
        quiet_end = next_send(now, policy, services.calendar)  # not at night, not on a rest day
        quiet = quiet_end > now
        plans = {key: history_of(h) for key, h in sweep.files.histories_of(case.id).items()}
        for task in state.open_tasks:
            if not task.is_live(now):
                sweep.held(case.id, task.first_notice)
                continue
            report.due += 1
            key = task.key
            if key not in plans:
                if not await self._first_seen(sweep, case, enrolled, task, now):
                    continue
                plans[key] = ReminderHistory()
            upcoming = plan(task, plans[key], policy, services.calendar)  # and what next
            if upcoming is None:
                continue
            if upcoming.at <= now and not quiet:
                decision = upcoming.decision
                sweep.due.append(_Due(case, enrolled, state, task, key, plans[key], decision))
            else:
                sweep.held(case.id, max(upcoming.at, quiet_end))

    async def _first_seen(
        self, sweep: _Pass, case: Case, enrolled: Enrolled, task: Task, now: datetime
    ) -> bool:
        """A task due for the first time: its first-due hooks run now (or it is marked with
        the sweep's writes). False if the hooks failed: tried again at the next sweep."""
        services = self.services
        if not services.task_hooks.first_due_for(task.code):
            sweep.marks.append((case.id, task.key, task.code))
            return True
        try:
            await _first_due(services, case, enrolled, task, now)
        except Exception as exc:
            log.exception("first-due hooks of %s %s failed", case.number, task.key)
            sweep.report.errors.append(f"{case.number} {task.code}: {exc}")
            sweep.held(case.id, now)
            return False
        sweep.report.hooks_run += 1
        return True


async def sweep(services: Services, now: datetime) -> SweepReport:
    """One full pass over the open cases at ``now`` (operators, tests): first-due hooks,
    then everything due queued in one transaction."""
    return await Sweeper(services, full=True).run(now)


__all__ = ["SweepReport", "Sweeper", "next_tick", "sweep"]
