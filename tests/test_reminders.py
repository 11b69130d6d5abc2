"""The reminder plan: first notice before the deadline, again 4 working hours after it, then
the supervisor; in working hours on working days, never at night (RULES.md A7 defaults)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from kcbx.bot.domain.ladder.reminders import (
    Escalate,
    ReminderHistory,
    Send,
    decide,
    in_quiet_hours,
    next_send,
    plan,
    quiet_hours_next_send,
    supervisor_role,
)
from kcbx.bot.domain.ladder.state import Task, TaskCode
from kcbx.bot.domain.policy.reading import default_policy
from kcbx.bot.domain.schoolcal import SchoolCalendar

SH = ZoneInfo("Asia/Shanghai")
POLICY = default_policy()
CAL = SchoolCalendar(POLICY)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant in March 2025, Asia/Shanghai."""
    return datetime(2025, 3, day, hour, minute, tzinfo=SH)


def task(due: datetime, **changes: object) -> Task:
    base = Task(
        code=TaskCode.VISIT,
        rule="A7.1",
        role="class_teacher",
        what="Visit the home",
        opens_at=at(10, 9),
        due_at=due,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_quiet_hours_are_20_to_8_in_shanghai() -> None:
    assert not in_quiet_hours(at(10, 19, 59), POLICY)
    assert in_quiet_hours(at(10, 20), POLICY)
    assert in_quiet_hours(at(11, 7, 59), POLICY)
    assert not in_quiet_hours(at(11, 8), POLICY)
    # 13:00 UTC is 21:00 in Shanghai
    assert in_quiet_hours(datetime(2025, 3, 10, 13, tzinfo=UTC), POLICY)


def test_what_falls_due_at_night_waits_for_8_next_morning() -> None:
    assert quiet_hours_next_send(at(10, 21, 30), POLICY) == at(11, 8)
    assert quiet_hours_next_send(at(11, 3), POLICY) == at(11, 8)
    assert quiet_hours_next_send(at(11, 10), POLICY) == at(11, 10)
    assert quiet_hours_next_send(at(11, 10), POLICY).tzinfo is UTC


def test_quiet_hours_within_one_day_also_work() -> None:
    lunch = replace(
        POLICY, reminders=replace(POLICY.reminders, quiet_start=time(12), quiet_end=time(14))
    )
    assert quiet_hours_next_send(at(10, 12, 30), lunch) == at(10, 14)
    assert quiet_hours_next_send(at(10, 21), lunch) == at(10, 21)


def test_a_task_due_at_21_30_is_sent_at_8_next_day() -> None:
    t = task(at(10, 21, 30))
    history = ReminderHistory()
    assert decide(t, history, POLICY, CAL, at(10, 21, 30)) is None
    assert decide(t, history, POLICY, CAL, at(11, 7, 59)) is None
    assert decide(t, history, POLICY, CAL, at(11, 8)) == Send(1, ("class_teacher",))
    step = plan(t, history, POLICY, CAL)
    assert step is not None and step.at == at(11, 8)


def test_nothing_before_the_first_notice() -> None:
    t = task(at(12, 18), notify_at=at(11, 16))
    assert decide(t, ReminderHistory(), POLICY, CAL, at(11, 15, 59)) is None
    assert decide(t, ReminderHistory(), POLICY, CAL, at(11, 16)) == Send(1, ("class_teacher",))


def test_re_remind_and_escalate_in_working_hours_after_the_deadline() -> None:
    """Due Wednesday 18:00: again Thursday 12:00 (4 working hours), then the school lead
    Thursday 16:00 (teacher -> school lead)."""
    t = task(at(12, 18), notify_at=at(11, 16))
    once = ReminderHistory(sent=(at(11, 16),))
    assert decide(t, once, POLICY, CAL, at(13, 11, 59)) is None
    assert decide(t, once, POLICY, CAL, at(13, 12)) == Send(2, ("class_teacher",))
    twice = ReminderHistory(sent=(at(11, 16), at(13, 12)))
    assert decide(t, twice, POLICY, CAL, at(13, 15, 59)) is None
    assert decide(t, twice, POLICY, CAL, at(13, 16)) == Escalate("school_lead", "class_teacher")
    escalated = replace(twice, escalated_at=at(13, 16))
    assert decide(t, escalated, POLICY, CAL, at(20, 12)) is None


def test_nothing_escalates_on_a_rest_day() -> None:
    """Due Friday 17:00: the re-reminder counts 1 hour on Friday and 3 on Monday."""
    t = task(at(14, 17))
    once = ReminderHistory(sent=(at(14, 17),))
    step = plan(t, once, POLICY, CAL)
    assert step is not None and step.at == at(17, 11)
    assert decide(t, once, POLICY, CAL, at(15, 12)) is None  # Saturday


def test_an_acknowledgement_restarts_the_interval_once_per_round() -> None:
    t = task(at(12, 9))
    acked = ReminderHistory(sent=(at(12, 9),), acknowledged_at=at(12, 11))
    assert decide(t, acked, POLICY, CAL, at(12, 14, 59)) is None
    assert decide(t, acked, POLICY, CAL, at(12, 15)) == Send(2, ("class_teacher",))
    # an acknowledgement of round 1 does not stop the escalation after round 2
    twice = replace(acked, sent=(at(12, 9), at(12, 15)))
    assert decide(t, twice, POLICY, CAL, at(13, 9)) == Escalate("school_lead", "class_teacher")
    # the acknowledgement recorded as an action reaches the plan through the task
    t_acked = replace(t, acknowledged_at=at(13, 8))
    assert decide(t_acked, twice, POLICY, CAL, at(13, 11, 59)) is None
    assert decide(t_acked, twice, POLICY, CAL, at(13, 12)) == Escalate(
        "school_lead", "class_teacher"
    )


def test_a_snooze_holds_the_next_step() -> None:
    t = task(at(12, 9), snoozed_until=at(12, 16), snoozes=1)
    once = ReminderHistory(sent=(at(12, 9),))
    assert decide(t, once, POLICY, CAL, at(12, 13)) is None
    assert decide(t, once, POLICY, CAL, at(12, 16)) == Send(2, ("class_teacher",))


def test_a_done_task_needs_no_reminder() -> None:
    t = task(at(12, 18), done=True, done_at=at(12, 17))
    assert decide(t, ReminderHistory(), POLICY, CAL, at(13, 9)) is None
    assert plan(t, ReminderHistory(), POLICY, CAL) is None


def test_reminders_go_to_the_cc_roles_too() -> None:
    t = task(at(17, 8), code=TaskCode.JOINT, role="bureau_staff", cc=("township_leader",))
    assert decide(t, ReminderHistory(), POLICY, CAL, at(17, 8)) == Send(
        1, ("bureau_staff", "township_leader")
    )


def test_the_top_of_the_chain_is_not_escalated() -> None:
    for top in ("bureau_leader", "township_leader", "department_leader"):
        t = task(at(12, 9), role=top)
        twice = ReminderHistory(sent=(at(12, 9), at(13, 9)))
        assert decide(t, twice, POLICY, CAL, at(20, 9)) is None


@pytest.mark.parametrize(
    ("role", "supervisor"),
    [
        ("class_teacher", "school_lead"),
        ("school_lead", "principal"),
        ("principal", "bureau_staff"),
        ("bureau_staff", "bureau_leader"),
        ("bureau_leader", None),
        ("group_cadre", "township_leader"),
        ("village_cadre", "township_leader"),
        ("township_cadre", "township_leader"),
        ("township_leader", None),
        ("department_liaison", "department_leader"),
        ("department_leader", None),
        ("district_leader", None),
    ],
)
def test_supervisor_roles(role: str, supervisor: str | None) -> None:
    assert supervisor_role(role) == supervisor


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        quiet_hours_next_send(datetime(2025, 3, 10, 9), POLICY)  # noqa: DTZ001


def test_a_catch_up_on_a_rest_day_waits_for_the_working_morning() -> None:
    """A bot down from Friday to Saturday finds Friday's reminder overdue: nothing goes on
    the weekend; it goes on Monday at 08:00 (the rest day counts like the quiet hours)."""
    t = task(at(14, 18))  # Friday 14 March 2025, 18:00
    assert decide(t, ReminderHistory(), POLICY, CAL, at(15, 10)) is None  # Saturday
    assert decide(t, ReminderHistory(), POLICY, CAL, at(16, 19)) is None  # Sunday
    assert next_send(at(15, 10), POLICY, CAL) == at(17, 8)
    assert decide(t, ReminderHistory(), POLICY, CAL, at(17, 8)) == Send(1, ("class_teacher",))
