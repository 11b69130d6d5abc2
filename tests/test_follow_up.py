"""A4.2 after a return (加强复学学生心理疏导): the class teacher's check-ins as pure tasks.

A return closes the case (A7.6) and opens one check-in per ``[tasks] follow_up_days`` (7 and
30): calendar days from the return, due at the end of that working day (moved past rest
days), first told the working day before at 16:00; satisfied by what the policy's
``[tasks.satisfied_by] "A4.2"`` names (a home visit, a call that reached the guardians)
recorded after the return; reminded, then escalated once, to the school lead, and no higher.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kcbx.bot.domain.ladder.follow_up import follow_up_horizon, follow_up_tasks, is_follow_up
from kcbx.bot.domain.ladder.reminders import (
    Escalate,
    ReminderHistory,
    Send,
    decide,
    plan,
)
from kcbx.bot.domain.ladder.state import ActionFact, ActionKind, CaseFacts, Task, ladder_state
from kcbx.bot.domain.policy.reading import default_policy, policy_from_data
from kcbx.bot.domain.roles import Role
from kcbx.bot.domain.schoolcal import SchoolCalendar

SH = ZoneInfo("Asia/Shanghai")
POLICY = default_policy()
CAL = SchoolCalendar(POLICY)


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=SH)


CASE = CaseFacts(
    id=1, number="KC-2024-0001", absent_since=date(2024, 3, 4), reported_at=at(3, 4, 9)
)


class Log:
    def __init__(self) -> None:
        self.actions: list[ActionFact] = []

    def add(self, kind: str, when: datetime, **detail: Any) -> ActionFact:
        action = ActionFact(len(self.actions) + 1, kind, when, detail=detail)
        self.actions.append(action)
        return action


def returned(when: datetime) -> Log:
    log = Log()
    log.add(ActionKind.PHONE_CALL, at(3, 4, 10), outcome="agreed")  # before: not a check-in
    log.add(ActionKind.HOME_VISIT, at(3, 5, 10), met="guardians")
    log.add(ActionKind.RETURNED, when)
    return log


def check_ins(log: Log, now: datetime) -> list[Task]:
    state = ladder_state(CASE, log.actions, POLICY, CAL, now)
    return [t for t in state.tasks if is_follow_up(t.code)]


def test_a_return_opens_a_check_in_a_week_and_a_month_later() -> None:
    """Back Monday 11 March: the week's check-in is due Monday 18 March 18:00, told Friday
    15 March at 16:00; the month's (10 April, a Wednesday) told Tuesday 9 April 16:00."""
    week, month = check_ins(returned(at(3, 11, 10)), at(3, 11, 11))
    assert (week.code, week.rule, week.role) == ("A4.2-7", "A4.2", Role.CLASS_TEACHER)
    assert week.due_at == at(3, 18, 18) and week.notify_at == at(3, 15, 16)
    assert month.code == "A4.2-30"
    assert month.due_at == at(4, 10, 18) and month.notify_at == at(4, 9, 16)
    assert not week.done and not month.done  # the call and the visit before the return


def test_a_check_in_on_a_holiday_moves_to_the_next_working_day() -> None:
    """Back Thursday 28 March: day 7 is 4 April, 清明 (4-6 April off); Sunday 7 April is a
    swapped working day, so it is due then and told on Wednesday 3 April."""
    week = check_ins(returned(at(3, 28, 10)), at(3, 28, 11))[0]
    assert week.due_at == at(4, 7, 18)
    assert week.notify_at == at(4, 3, 16)


def test_what_satisfies_a_check_in_and_each_contact_does_one() -> None:
    log = returned(at(3, 11, 10))
    log.add(ActionKind.PHONE_CALL, at(3, 15, 17), task="A4.2-7", outcome="unreached")
    assert not any(t.done for t in check_ins(log, at(3, 16)))
    call = log.add(ActionKind.PHONE_CALL, at(3, 18, 9), task="A4.2-7", outcome="settled")
    week, month = check_ins(log, at(3, 19))
    assert week.done_by == call and not month.done  # one contact, one check-in
    log.add(ActionKind.PHONE_CALL, at(3, 18, 15), outcome="support")  # the same day: no
    assert not check_ins(log, at(3, 19))[1].done
    visit = log.add(ActionKind.HOME_VISIT, at(4, 8, 15), met="both")
    assert check_ins(log, at(4, 9))[1].done_by == visit


def test_a_late_first_check_in_does_not_also_do_the_second() -> None:
    log = returned(at(3, 11, 10))
    late = log.add(ActionKind.HOME_VISIT, at(3, 25, 10), met="child")
    week, month = check_ins(log, at(3, 26))
    assert week.done_by == late and not month.done


def test_a_case_closed_by_status_follows_up_from_its_closing_and_other_closings_do_not() -> None:
    closed = CaseFacts(
        id=1,
        number="KC-2024-0001",
        absent_since=date(2024, 3, 4),
        reported_at=at(3, 4, 9),
        status="returned",
        closed_at=at(3, 11, 10),
    )
    state = ladder_state(closed, [], POLICY, CAL, at(3, 12))
    assert [t.due_at for t in state.open_tasks] == [at(3, 18, 18), at(4, 10, 18)]
    exempt = Log()
    exempt.add(ActionKind.EXEMPTED, at(3, 11, 10))
    assert check_ins(exempt, at(3, 12)) == []
    assert ladder_state(CASE, [], POLICY, CAL, at(3, 12)).task("A4.2-7") is None  # open


def test_the_check_in_is_reminded_then_escalated_once_to_the_school_lead() -> None:
    week = check_ins(returned(at(3, 11, 10)), at(3, 11, 11))[0]
    history = ReminderHistory()
    assert decide(week, history, POLICY, CAL, at(3, 15, 15)) is None  # before its notice
    first = plan(week, history, POLICY, CAL)
    assert (
        first is not None
        and first.at == at(3, 15, 16)
        and first.decision == Send(1, ("class_teacher",))
    )
    history = ReminderHistory(sent=(at(3, 15, 16),))
    again = plan(week, history, POLICY, CAL)
    assert again is not None and again.at == at(3, 19, 12)  # 4 working hours after due
    history = ReminderHistory(sent=(at(3, 15, 16), at(3, 19, 12)))
    up = plan(week, history, POLICY, CAL)
    assert up is not None and up.decision == Escalate(Role.SCHOOL_LEAD, Role.CLASS_TEACHER)
    assert up.at == at(3, 19, 16)
    done = ReminderHistory(history.sent, escalated_at=at(3, 19, 16))
    assert plan(week, done, POLICY, CAL) is None  # never the principal


def test_a_county_sets_its_own_days_and_the_horizon_follows() -> None:
    county = policy_from_data({"tasks": {"follow_up_days": [14]}})
    tasks = follow_up_tasks(at(3, 11, 10), [], county, SchoolCalendar(county))
    assert [(t.code, t.due_at) for t in tasks] == [("A4.2-14", at(3, 25, 18))]
    assert follow_up_horizon(county) < follow_up_horizon(POLICY)


@pytest.mark.parametrize("days", [[], [0]])
def test_no_follow_up_days_no_check_ins(days: list[int]) -> None:
    county = policy_from_data({"tasks": {"follow_up_days": days}})
    assert follow_up_tasks(at(3, 11, 10), [], county, SchoolCalendar(county)) == []
