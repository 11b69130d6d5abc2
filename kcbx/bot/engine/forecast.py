"""Looking ahead, for operators (``kcbx sweep --dry-run``): what will fire, and to whom.

Reads only: no hooks run, nothing is queued or recorded.
"""

from __future__ import annotations

import heapq
from datetime import datetime, time, timedelta

from kcbx.bot.domain.ladder.follow_up import follow_up_horizon
from kcbx.bot.domain.ladder.recipients import CasePlace, Directory
from kcbx.bot.domain.ladder.reminders import ReminderHistory, decide, plan
from kcbx.bot.domain.model import Case
from kcbx.bot.domain.policy.tree import Policy
from kcbx.bot.engine.loading import CaseFiles, history_of, load_case_files, load_places
from kcbx.bot.engine.planning import TaskStep, history_after, plan_task
from kcbx.bot.runtime.services import Services


def _ticks(start: datetime, end: datetime, policy: Policy) -> list[datetime]:
    """The instants of each day at which tasks appear or fall due, or quiet hours end."""
    tz = policy.time.tz
    marks = {
        time(0),
        policy.time.business_day_start,
        policy.time.business_day_end,
        policy.reminders.quiet_end,
    }
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    out = []
    while day <= last:
        out += [datetime.combine(day, m, tzinfo=tz) for m in marks]
        day += timedelta(days=1)
    return sorted(t for t in out if start < t <= end)


async def forecast(services: Services, start: datetime, days: float) -> list[TaskStep]:
    """What will fire from ``start`` for ``days`` days, and to whom, if nobody acts.

    Recorded actions are taken as they are; acknowledgements and actions still to come are
    not foreseen.
    """
    end = start + timedelta(days=days)
    cases = await services.cases.open_cases()
    # and the recent returns, for their A4.2 check-ins
    cases += await services.cases.returned_since(start - follow_up_horizon(services.policy))
    files = await load_case_files(services, cases)
    places, directory = await load_places(services, files.enrolled.values())
    ticks = _ticks(start, end, services.policy)
    steps: list[TaskStep] = []
    for case in cases:
        steps += _case_forecast(services, files, case, places, directory, [start, *ticks], end)
    steps.sort(key=lambda s: (s.at, s.case.number, s.task.code))
    return steps


def _case_forecast(
    services: Services,
    files: CaseFiles,
    case: Case,
    places: dict[int, CasePlace],
    directory: Directory,
    queue: list[datetime],
    end: datetime,
) -> list[TaskStep]:
    """One case walked from instant to instant, as the sweep would if nobody acted."""
    policy, calendar = services.policy, services.calendar
    enrolled = files.enrolled.get(case.student_id)
    if enrolled is None:
        return []
    histories = {key: history_of(h) for key, h in files.histories_of(case.id).items()}
    heapq.heapify(queue)
    seen: set[datetime] = set()
    nobody: set[str] = set()
    steps: list[TaskStep] = []
    closed_at = None if case.is_open else case.closed_at
    horizon = follow_up_horizon(policy)
    while queue:
        now = heapq.heappop(queue)
        if now in seen or (closed_at is not None and now >= closed_at + horizon):
            continue  # the sweep leaves a return alone once its check-ins are past
        seen.add(now)
        state = files.state(case, services, now)
        for task in state.open_tasks:
            history = histories.get(task.key, ReminderHistory())
            live = task.is_live(now)
            decision = decide(task, history, policy, calendar, now) if live else None
            if decision is not None:
                place = places[enrolled.student.id]
                step = plan_task(
                    case, enrolled, state, task, decision, history, place, directory, now
                )
                if step is not None:
                    steps.append(step)
                    history = history_after(history, step, now)
                    histories[task.key] = history
                elif task.key not in nobody:  # listed once; the sweep keeps trying
                    nobody.add(task.key)
                    steps.append(TaskStep(case, enrolled.student.name, task, now, decision))
            upcoming = plan(task, history, policy, calendar)
            if upcoming is not None and now < upcoming.at <= end:
                heapq.heappush(queue, upcoming.at)
    return steps
