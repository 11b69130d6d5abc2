"""The A7 ladder as a pure function: stages, tasks, due times, corrections, relapse."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from kcbx.bot.domain.ladder.state import (
    ActionFact,
    ActionKind,
    CaseFacts,
    LadderState,
    Stage,
    Step,
    TaskCode,
    expected_steps,
    ladder_state,
    relapse_carry,
    stage_for_day,
)
from kcbx.bot.domain.policy.reading import default_policy
from kcbx.bot.domain.policy.tree import DayCounting, Policy
from kcbx.bot.domain.schoolcal import SchoolCalendar

SH = ZoneInfo("Asia/Shanghai")
POLICY = default_policy()
CAL = SchoolCalendar(POLICY)


def at(month: int, day: int, hour: int = 9, minute: int = 0, year: int = 2025) -> datetime:
    """An instant in Asia/Shanghai."""
    return datetime(year, month, day, hour, minute, tzinfo=SH)


def case(**changes: Any) -> CaseFacts:
    """A case: absent since Monday 10 March 2025 (day 0), reported that day at 09:00."""
    base = CaseFacts(
        id=1,
        number="KC-2025-0001",
        absent_since=date(2025, 3, 10),
        reported_at=at(3, 10, 9),
        cause="weariness",
        section="primary",
    )
    return replace(base, **changes)


class Log:
    """Actions recorded on a case, with ids in order."""

    def __init__(self) -> None:
        self.actions: list[ActionFact] = []

    def add(self, kind: str, when: datetime, corrects: int | None = None, **detail: Any) -> int:
        action_id = len(self.actions) + 1
        self.actions.append(ActionFact(action_id, kind, when, detail=detail, corrects=corrects))
        return action_id


def state(
    facts: CaseFacts,
    log: Log,
    now: datetime,
    policy: Policy = POLICY,
    calendar: SchoolCalendar = CAL,
) -> LadderState:
    return ladder_state(facts, log.actions, policy, calendar, now)


def due_codes(s: LadderState) -> set[str]:
    return {t.code for t in s.due_tasks}


def live_codes(s: LadderState) -> set[str]:
    """Open tasks whose first notice has come (before or after their deadline)."""
    return {t.code for t in s.open_tasks if t.is_live(s.now)}


def open_codes(s: LadderState) -> set[str]:
    return {t.code for t in s.open_tasks}


def test_one_case_walks_the_whole_ladder_in_60_days() -> None:
    c = case()
    log = Log()

    # Day 0, 09:00: reported. A7.1: phone within 4 h, visit within 2 days.
    s = state(c, log, at(3, 10, 9, 5))
    assert (s.stage, s.day) == (Stage.DAY0, 0)
    assert open_codes(s) == {TaskCode.CALL, TaskCode.VISIT}
    assert due_codes(s) == set()
    call, visit = s.task(TaskCode.CALL), s.task(TaskCode.VISIT)
    assert call is not None and call.due_at == at(3, 10, 13) and call.role == "class_teacher"
    assert visit is not None and visit.due_at == at(3, 12, 18)  # end of business, day 2
    assert due_codes(state(c, log, at(3, 10, 13, 30))) == {TaskCode.CALL}
    log.add(ActionKind.PHONE_CALL, at(3, 10, 14))
    s = state(c, log, at(3, 10, 15))
    assert due_codes(s) == set()
    done_call = s.task(TaskCode.CALL)
    assert done_call is not None and done_call.done and done_call.done_at == at(3, 10, 14)

    # Day 1: home visit.
    log.add(ActionKind.HOME_VISIT, at(3, 11, 16))

    # Day 3 (A7.2): the stage turns at midnight, told at 08:00, due at 18:00.
    s = state(c, log, at(3, 13, 7))
    assert (s.stage, s.day) == (Stage.PERSUASION, 3)
    assert open_codes(s) == {TaskCode.PERSUASION}
    assert live_codes(s) == set()
    s = state(c, log, at(3, 13, 8))
    assert live_codes(s) == {TaskCode.PERSUASION} and due_codes(s) == set()
    task = s.task(TaskCode.PERSUASION)
    assert task is not None and task.rule == "A7.2" and task.role == "school_lead"
    assert task.notify_at == at(3, 13, 8) and task.due_at == at(3, 13, 18)
    log.add(ActionKind.PERSUASION, at(3, 13, 15))

    # Day 7 (A7.3): mark, report, joint persuasion, and the A6 departments for the cause.
    s = state(c, log, at(3, 17, 8))
    assert (s.stage, s.day) == (Stage.DROPOUT, 7)
    assert live_codes(s) == {
        TaskCode.MARK,
        TaskCode.REPORT,
        TaskCode.JOINT,
        "A6-school",
        "A6-youth_league",
        "A6-womens_federation",
        TaskCode.CHAIN_VISIT,
    }
    joint = s.task(TaskCode.JOINT)
    assert joint is not None and joint.role == "bureau_staff"
    assert joint.cc == ("township_leader",)
    league = s.task("A6-youth_league")
    assert league is not None and league.role == "department_liaison"
    assert league.department == "youth_league" and league.rule == "A6"
    log.add(ActionKind.REGISTRY_MARK, at(3, 17, 10))
    log.add(ActionKind.REPORTED_UP, at(3, 17, 10, 30))
    log.add(ActionKind.DEPARTMENT_ACTION, at(3, 18, 10), department="school")
    log.add(ActionKind.HOME_VISIT, at(3, 18, 15), actor_role="group_cadre")  # A5.1
    log.add(ActionKind.JOINT_PERSUASION, at(3, 19, 10))
    log.add(ActionKind.DEPARTMENT_ACTION, at(3, 20, 10), department="youth_league")
    s = state(c, log, at(3, 24, 12))
    assert (s.stage, s.day) == (Stage.DROPOUT, 14)
    assert due_codes(s) == {"A6-womens_federation"}

    # Day 15 (A7.4): the notice to enrol by a deadline.
    s = state(c, log, at(3, 25, 8))
    assert (s.stage, s.day) == (Stage.NOTICE, 15)
    assert live_codes(s) == {"A6-womens_federation", TaskCode.NOTICE}
    log.add(ActionKind.DEPARTMENT_ACTION, at(3, 25, 9), department="womens_federation")
    log.add(ActionKind.NOTICE_ISSUED, at(3, 26, 10), number="沙教控辍〔2025〕第001号")
    s = state(c, log, at(3, 26, 11))
    deliver = s.task(TaskCode.DELIVER)
    assert deliver is not None and not deliver.done
    assert deliver.due_at == at(3, 28, 18) and deliver.role == "township_cadre"
    assert s.notice_deadline is None  # the deadline runs from delivery
    # an undelivered notice is a task of its own
    assert due_codes(state(c, log, at(3, 29, 9))) == {TaskCode.DELIVER}
    log.add(ActionKind.NOTICE_DELIVERED, at(3, 29, 11), delivered_on="2025-03-29")
    s = state(c, log, at(4, 5, 17, 59))
    assert s.stage is Stage.NOTICE
    assert s.notice_deadline == date(2025, 4, 5)  # 7 days from delivery
    assert due_codes(s) == set()

    # The notice's deadline (Saturday 5 April) has passed when the day is over (A7.5); the
    # task is due on the next working day (Monday 7 April).
    assert state(c, log, at(4, 5, 23, 59)).stage is Stage.NOTICE
    s = state(c, log, at(4, 6, 0))
    assert s.stage is Stage.CORRECTION
    correction = s.task(TaskCode.CORRECTION)
    assert correction is not None and correction.due_at == at(4, 7, 18)
    assert correction.notify_at == at(4, 7, 8)
    log.add(ActionKind.CORRECTION_ORDERED, at(4, 7, 10), delivered_on="2025-04-07")
    s = state(c, log, at(4, 8, 9))
    assert s.correction_deadline == date(2025, 4, 14)
    assert due_codes(s) == set()

    # The correction deadline passes too: reprimand again, set a new deadline.
    assert state(c, log, at(4, 14, 18)).task(TaskCode.CORRECTION_AGAIN) is None
    s = state(c, log, at(4, 15, 8))
    assert live_codes(s) == {TaskCode.CORRECTION_AGAIN}
    again = s.task(TaskCode.CORRECTION_AGAIN)
    assert again is not None and again.rule == "A7.5" and again.due_at == at(4, 15, 18)

    # A7.6: the child is back; everything closes but the check-ins after it (A4.2).
    log.add(ActionKind.RETURNED, at(4, 16, 9))
    s = state(c, log, at(5, 9, 12))  # day 60
    assert s.stage is Stage.CLOSED and s.closed_by == "returned"
    assert s.day == 37  # frozen at the return
    assert [t.code for t in s.open_tasks] == ["A4.2-7", "A4.2-30"]
    assert [t.code for t in s.due_tasks] == ["A4.2-7"]  # 23 April passed, 16 May ahead
    closing = s.task(TaskCode.RETURNED)
    assert closing is not None and closing.done_at == at(4, 16, 9) and closing.rule == "A7.6"
    assert TaskCode.CORRECTION_AGAIN not in {t.code for t in s.tasks}  # left undone: dropped


def test_the_day_0_to_60_stages_by_time_alone() -> None:
    c, log = case(), Log()
    stages: dict[int, Stage] = {}
    for day in range(61):
        now = datetime.combine(CAL.add_days(c.absent_since, day), datetime.min.time(), SH)
        stages[day] = state(c, log, now.replace(hour=12)).stage
    assert stages[0] is stages[2] is Stage.DAY0
    assert stages[3] is stages[6] is Stage.PERSUASION
    assert stages[7] is stages[14] is Stage.DROPOUT
    assert stages[15] is stages[60] is Stage.NOTICE  # no delivery, so no A7.5


def test_school_days_mode_moves_the_steps_past_national_day() -> None:
    policy = replace(POLICY, ladder=replace(POLICY.ladder, day_counting=DayCounting.SCHOOL_DAYS))
    cal = SchoolCalendar(policy)
    c = case(absent_since=date(2024, 9, 27), reported_at=at(9, 27, 9, year=2024))
    log = Log()
    s = state(c, log, at(10, 5, 12, year=2024), policy, cal)
    assert (s.stage, s.day) == (Stage.DAY0, 2)  # Sun 29 Sep worked, Mon 30; then the holiday
    s = state(c, log, at(10, 8, 8, year=2024), policy, cal)
    assert (s.stage, s.day) == (Stage.PERSUASION, 3)
    task = s.task(TaskCode.PERSUASION)
    assert task is not None and task.due_at == at(10, 8, 18, year=2024)
    assert task.notify_at == at(10, 8, 8, year=2024)
    s = state(c, log, at(10, 12, 8, year=2024), policy, cal)  # the Saturday worked
    assert (s.stage, s.day) == (Stage.DROPOUT, 7)
    # in calendar mode the same case would be at day 15 and past A7.3 long before
    s = state(c, log, at(10, 12, 8, year=2024))
    assert (s.stage, s.day) == (Stage.NOTICE, 15)


def test_a_corrected_action_is_replaced_by_its_correction() -> None:
    c, log = case(), Log()
    wrong = log.add(ActionKind.HOME_VISIT, at(3, 11, 10))
    log.add(ActionKind.NOTE, at(3, 11, 10), corrects=wrong)  # retracted: it was not a visit
    s = state(c, log, at(3, 12, 19))
    assert due_codes(s) == {TaskCode.CALL, TaskCode.VISIT}
    first = log.add(ActionKind.PHONE_CALL, at(3, 10, 11))
    log.add(ActionKind.PHONE_CALL, at(3, 10, 12), corrects=first)  # the time was wrong
    call = state(c, log, at(3, 12, 19)).task(TaskCode.CALL)
    assert call is not None and call.done_at == at(3, 10, 12)


def test_a_return_recorded_by_mistake_and_corrected_reopens_the_ladder() -> None:
    c, log = case(), Log()
    mistake = log.add(ActionKind.RETURNED, at(3, 18, 9))
    assert state(c, log, at(3, 19, 9)).stage is Stage.CLOSED
    log.add(ActionKind.NOTE, at(3, 19, 10), corrects=mistake)
    s = state(c, log, at(3, 19, 11))
    assert (s.stage, s.day) == (Stage.DROPOUT, 9)
    assert TaskCode.MARK in due_codes(s)


def test_a_closed_status_closes_without_an_action() -> None:
    s = state(case(status="exempt", closed_at=at(3, 12, 10)), Log(), at(4, 1))
    assert (s.stage, s.closed_by, s.day) == (Stage.CLOSED, "exempt", 2)
    assert s.open_tasks == ()


def test_an_exemption_closes_with_an_a3_task() -> None:
    log = Log()
    log.add(ActionKind.EXEMPTED, at(3, 14, 10))
    s = state(case(), log, at(3, 20))
    assert s.stage is Stage.CLOSED and s.closed_by == "exempt"
    exempt = s.task(TaskCode.EXEMPT)
    assert exempt is not None and exempt.done and exempt.rule == "A3"


def test_actions_after_now_are_not_yet_known() -> None:
    log = Log()
    log.add(ActionKind.RETURNED, at(3, 20, 9))
    assert state(case(), log, at(3, 19, 9)).stage is Stage.DROPOUT
    assert state(case(), log, at(3, 20, 9)).stage is Stage.CLOSED


def test_a_late_report_makes_the_earlier_steps_open_at_once() -> None:
    c = case(reported_at=at(3, 20, 15))  # day 10
    s = state(c, Log(), at(3, 20, 15))
    assert (s.stage, s.day) == (Stage.DROPOUT, 10)
    persuasion = s.task(TaskCode.PERSUASION)
    assert persuasion is not None and persuasion.notify_at == at(3, 20, 15)
    assert persuasion.due_at == at(3, 20, 18)  # never due before it is told
    assert {TaskCode.PERSUASION, TaskCode.MARK, TaskCode.REPORT} <= live_codes(s)


def test_an_early_notice_reaches_the_notice_stage_early() -> None:
    log = Log()
    log.add(ActionKind.NOTICE_ISSUED, at(3, 22, 10))  # day 12
    s = state(case(), log, at(3, 22, 11))
    assert s.stage is Stage.NOTICE
    notice = s.task(TaskCode.NOTICE)
    assert notice is not None and notice.done and notice.opens_at == at(3, 22, 10)
    assert TaskCode.DELIVER in open_codes(s)


def test_a_deadline_written_on_the_notice_wins() -> None:
    log = Log()
    log.add(ActionKind.NOTICE_ISSUED, at(3, 25, 10), deadline="2025-04-01")
    log.add(ActionKind.NOTICE_DELIVERED, at(3, 26, 10))
    s = state(case(), log, at(4, 1, 18))
    assert s.notice_deadline == date(2025, 4, 1)
    assert s.stage is Stage.NOTICE  # the guardians have the whole deadline day
    assert state(case(), log, at(4, 2, 0)).stage is Stage.CORRECTION


def test_a_renewed_order_before_the_deadline_is_not_an_overdue_task() -> None:
    log = Log()
    log.add(ActionKind.NOTICE_ISSUED, at(3, 25, 10))
    log.add(ActionKind.NOTICE_DELIVERED, at(3, 25, 15))
    log.add(ActionKind.CORRECTION_ORDERED, at(4, 2, 10))  # deadline 9 Apr
    log.add(ActionKind.CORRECTION_ORDERED, at(4, 8, 10))  # renewed early: deadline 15 Apr
    s = state(case(), log, at(4, 12))
    assert s.correction_deadline == date(2025, 4, 15)
    assert s.task(TaskCode.CORRECTION_AGAIN) is None
    late = state(case(), log, at(4, 16, 8))
    assert TaskCode.CORRECTION_AGAIN in live_codes(late)


def test_a_vulnerable_student_brings_in_a9_departments_from_day_0() -> None:
    c = case(a9_flags=("left_behind",), cause="poverty")
    s = state(c, Log(), at(3, 10, 9))
    a9 = {t.code for t in s.tasks if t.rule == "A9"}
    assert a9 == {
        "A9-civil_affairs",
        "A9-rural_revitalisation",
        "A9-youth_league",
        "A9-womens_federation",
    }
    # told at once, owed by the end of the next working day
    assert all(t.notify_at == c.reported_at for t in s.tasks if t.rule == "A9")
    assert all(t.due_at == at(3, 11, 18) for t in s.tasks if t.rule == "A9")
    # at A7.3 the poverty departments are already in under A9: not brought in twice
    s = state(c, Log(), at(3, 17, 9))
    assert {t.code for t in s.tasks if t.rule == "A6"} == set()


def test_an_unknown_cause_goes_to_the_education_bureau_to_decide() -> None:
    s = state(case(cause="unknown"), Log(), at(3, 17, 9))
    task = s.task("A6-education_bureau")
    assert task is not None and task.role == "bureau_staff"
    assert "decide which departments" in task.what


def test_acknowledgements_are_attached_to_their_task() -> None:
    log = Log()
    log.add(ActionKind.ACKNOWLEDGED, at(3, 10, 14), task=TaskCode.CALL)
    call = state(case(), log, at(3, 10, 15)).task(TaskCode.CALL)
    assert call is not None and call.acknowledged_at == at(3, 10, 14) and not call.done


def test_expected_steps_give_the_dates_ahead() -> None:
    assert expected_steps(case(), POLICY, CAL) == [
        Step("A7.1", date(2025, 3, 12)),
        Step("A7.2", date(2025, 3, 13)),
        Step("A7.3", date(2025, 3, 17)),
        Step("A7.4", date(2025, 3, 25)),
    ]


def test_a_relapse_within_the_window_continues_from_the_day_reached() -> None:
    previous = case(status="returned", closed_at=at(3, 20, 9))
    log = Log()
    log.add(ActionKind.RETURNED, at(3, 20, 9))  # day 10
    relapse = relapse_carry(previous, log.actions, date(2025, 4, 1), POLICY, CAL)
    assert relapse is not None
    assert (relapse.carried_days, relapse.stage) == (10, Stage.DROPOUT)
    assert relapse.returned_on == date(2025, 3, 20)
    new = case(
        id=2,
        absent_since=date(2025, 4, 1),
        reported_at=at(4, 1, 9),
        reopened_from=previous.id,
        carried_days=relapse.carried_days,
    )
    s = state(new, Log(), at(4, 1, 9, 30))
    assert (s.stage, s.day, s.ladder_start) == (Stage.DROPOUT, 10, date(2025, 3, 22))
    assert {TaskCode.MARK, TaskCode.REPORT, TaskCode.JOINT} <= live_codes(s)
    # outside the 30-day window, or a case that did not close with a return: a fresh start
    assert relapse_carry(previous, log.actions, date(2025, 4, 20), POLICY, CAL) is None
    exempt = case(status="exempt", closed_at=at(3, 20, 9))
    assert relapse_carry(exempt, [], date(2025, 4, 1), POLICY, CAL) is None


def test_stage_for_day_follows_the_policy() -> None:
    assert [stage_for_day(d, POLICY) for d in (0, 3, 7, 15)] == [
        Stage.DAY0,
        Stage.PERSUASION,
        Stage.DROPOUT,
        Stage.NOTICE,
    ]


def test_the_households_chain_is_told_on_day_7_and_only_a_cadres_visit_does_it() -> None:
    """A5.1: at A7.3 the group cadre must visit, the village and township cadres are told."""
    c = case(cause="poverty")
    log = Log()
    log.add(ActionKind.HOME_VISIT, at(3, 11, 16), actor_role="class_teacher")  # A7.1 only
    s = state(c, log, at(3, 17, 7, 59))
    chain = s.task(TaskCode.CHAIN_VISIT)
    assert chain is not None and not chain.is_live(s.now)
    s = state(c, log, at(3, 17, 8))
    chain = s.task(TaskCode.CHAIN_VISIT)
    assert chain is not None and chain.is_live(s.now) and chain.rule == "A5.1"
    assert chain.due_at == at(3, 19, 18)  # within [cadres] visit_within_days
    assert chain.role == "group_cadre" and chain.cc == ("village_cadre", "township_cadre")
    # a village cadre's visit (the role may come from the person or from the detail) does it
    log.actions.append(
        ActionFact(9, ActionKind.HOME_VISIT, at(3, 18, 10), actor_role="village_cadre")
    )
    done = state(c, log, at(3, 18, 11)).task(TaskCode.CHAIN_VISIT)
    assert done is not None and done.done and done.done_at == at(3, 18, 10)


def test_the_chain_visit_waits_for_the_policys_dropout_day() -> None:
    policy = replace(POLICY, ladder=replace(POLICY.ladder, dropout_day=5, notice_day=12))
    s = state(case(), Log(), at(3, 15, 8), policy=policy)  # day 5 is a Saturday
    assert TaskCode.CHAIN_VISIT in open_codes(s) and TaskCode.CHAIN_VISIT not in live_codes(s)
    s = state(case(), Log(), at(3, 17, 8), policy=policy)  # told on the next working morning
    assert TaskCode.CHAIN_VISIT in live_codes(s)
    assert TaskCode.CHAIN_VISIT not in open_codes(state(case(), Log(), at(3, 14, 23)))
