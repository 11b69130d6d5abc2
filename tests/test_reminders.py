"""The reminder plan: first reminder when due, again after 24 h, then the supervisor; never at
night (RULES.md A7 defaults: reminders between 08:00 and 20:00 Asia/Shanghai)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from kcbx.bot.domain.ladder import Task, TaskCode
from kcbx.bot.domain.policy import default_policy
from kcbx.bot.domain.reminders import (
    Escalate,
    ReminderHistory,
    Send,
    decide,
    in_quiet_hours,
    plan,
    quiet_hours_next_send,
    supervisor_role,
)

SH = ZoneInfo("Asia/Shanghai")
POLICY = default_policy()


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
    assert decide(t, history, POLICY, at(10, 21, 30)) is None
    assert decide(t, history, POLICY, at(11, 7, 59)) is None
    assert decide(t, history, POLICY, at(11, 8)) == Send(1, ("class_teacher",))
    step = plan(t, history, POLICY)
    assert step is not None and step.at == at(11, 8)


def test_nothing_before_the_task_is_due() -> None:
    assert decide(task(at(12, 18)), ReminderHistory(), POLICY, at(12, 17, 59)) is None


def test_re_remind_after_24_h_then_escalate_after_another_24_h() -> None:
    t = task(at(12, 18))
    assert decide(t, ReminderHistory(), POLICY, at(12, 18)) == Send(1, ("class_teacher",))
    once = ReminderHistory(sent=(at(12, 18),))
    assert decide(t, once, POLICY, at(13, 17, 59)) is None
    assert decide(t, once, POLICY, at(13, 18)) == Send(2, ("class_teacher",))
    twice = ReminderHistory(sent=(at(12, 18), at(13, 18)))
    assert decide(t, twice, POLICY, at(14, 17, 59)) is None
    assert decide(t, twice, POLICY, at(14, 18)) == Escalate("principal", "class_teacher")
    escalated = replace(twice, escalated_at=at(14, 18))
    assert decide(t, escalated, POLICY, at(20, 12)) is None


def test_an_acknowledgement_restarts_the_interval_once_per_round() -> None:
    t = task(at(12, 9))
    acked = ReminderHistory(sent=(at(12, 9),), acknowledged_at=at(12, 11))
    assert decide(t, acked, POLICY, at(13, 9)) is None
    assert decide(t, acked, POLICY, at(13, 11)) == Send(2, ("class_teacher",))
    # an acknowledgement of round 1 does not stop the escalation after round 2
    twice = replace(acked, sent=(at(12, 9), at(13, 11)))
    assert decide(t, twice, POLICY, at(14, 11)) == Escalate("principal", "class_teacher")
    # the acknowledgement recorded as an action reaches the plan through the task
    t_acked = replace(t, acknowledged_at=at(13, 12))
    assert decide(t_acked, twice, POLICY, at(14, 11)) is None
    assert decide(t_acked, twice, POLICY, at(14, 12)) == Escalate("principal", "class_teacher")


def test_a_re_reminder_that_falls_at_night_waits_for_the_morning() -> None:
    t = task(at(12, 9))
    acked = ReminderHistory(sent=(at(12, 9),), acknowledged_at=at(12, 21))
    assert decide(t, acked, POLICY, at(13, 21)) is None
    assert decide(t, acked, POLICY, at(14, 8)) == Send(2, ("class_teacher",))


def test_a_done_task_needs_no_reminder() -> None:
    t = task(at(12, 18), done=True, done_at=at(12, 17))
    assert decide(t, ReminderHistory(), POLICY, at(13, 9)) is None
    assert plan(t, ReminderHistory(), POLICY) is None


def test_reminders_go_to_the_cc_roles_too() -> None:
    t = task(at(17, 8), code=TaskCode.JOINT, role="bureau_staff", cc=("township_leader",))
    assert decide(t, ReminderHistory(), POLICY, at(17, 8)) == Send(
        1, ("bureau_staff", "township_leader")
    )


def test_the_top_of_the_chain_is_not_escalated() -> None:
    t = task(at(12, 9), role="district_leader")
    twice = ReminderHistory(sent=(at(12, 9), at(13, 9)))
    assert decide(t, twice, POLICY, at(20, 9)) is None


@pytest.mark.parametrize(
    ("role", "supervisor"),
    [
        ("class_teacher", "principal"),
        ("school_lead", "principal"),
        ("principal", "bureau_staff"),
        ("group_cadre", "township_leader"),
        ("village_cadre", "township_leader"),
        ("township_cadre", "township_leader"),
        ("township_leader", "district_leader"),
        ("department_liaison", "bureau_staff"),
        ("bureau_staff", "district_leader"),
        ("district_leader", None),
    ],
)
def test_supervisor_roles(role: str, supervisor: str | None) -> None:
    assert supervisor_role(role) == supervisor


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        quiet_hours_next_send(datetime(2025, 3, 10, 9), POLICY)  # noqa: DTZ001
