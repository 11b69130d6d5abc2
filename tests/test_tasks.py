"""What satisfies a task: the policy's [tasks.satisfied_by] read by a pure function (A7.1,
A5.1, A6): any contact that reached the guardians satisfies the call; any saved home visit
the visit; a department's own action its referral."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kcbx.bot.domain.ladder.tasks import (
    ActionFact,
    ActionKind,
    parse_requirement,
    satisfying_action,
)
from kcbx.bot.domain.policy.reading import PolicyError, default_policy, policy_from_data

RULES = default_policy().tasks.rules
AT = datetime(2024, 3, 5, 10, tzinfo=ZoneInfo("Asia/Shanghai"))


def act(kind: str, actor_role: str | None = None, **detail: Any) -> ActionFact:
    return ActionFact(1, kind, AT, detail=detail, actor_role=actor_role)


@pytest.mark.parametrize(
    ("action", "call", "visit"),
    [
        (act(ActionKind.PHONE_CALL, outcome="agreed"), True, False),
        (act(ActionKind.PHONE_CALL, outcome="refused"), True, False),
        (act(ActionKind.PHONE_CALL, outcome="unreached"), False, False),
        (act(ActionKind.PHONE_CALL, met="nobody"), False, False),
        (act(ActionKind.HOME_VISIT, met="guardians", outcome="agreed"), True, True),
        (act(ActionKind.HOME_VISIT, met="both"), True, True),
        (act(ActionKind.HOME_VISIT, met="child"), False, True),  # a visit, not a contact
        (act(ActionKind.HOME_VISIT, outcome="nobody_home"), False, True),
        (act(ActionKind.ACKNOWLEDGED, task="A7.1-call"), False, False),  # received is not done
    ],
)
def test_what_satisfies_the_call_and_the_visit(action: ActionFact, call: bool, visit: bool) -> None:
    assert (satisfying_action("A7.1-call", [action], RULES) is not None) is call
    assert (satisfying_action("A7.1-visit", [action], RULES) is not None) is visit


def test_a_department_task_is_satisfied_by_its_own_departments_action() -> None:
    police = act(ActionKind.DEPARTMENT_ACTION, department="public_security")
    assert satisfying_action("A6-public_security", [police], RULES, "public_security")
    assert satisfying_action("A6-justice", [police], RULES, "justice") is None
    assert satisfying_action("A9-civil_affairs", [police], RULES, "civil_affairs") is None


def test_the_chain_visit_needs_a_cadre_of_the_chain() -> None:
    teacher = act(ActionKind.HOME_VISIT, actor_role="class_teacher")
    cadre = act(ActionKind.HOME_VISIT, actor_role="village_cadre")
    assert satisfying_action("A5-visit", [teacher], RULES) is None
    assert satisfying_action("A5-visit", [teacher, cadre], RULES) is cadre


def test_a_county_may_say_otherwise_and_a_bad_requirement_is_reported() -> None:
    strict = policy_from_data({"tasks": {"satisfied_by": {"A7.1-call": ["home_visit"]}}})
    reached = act(ActionKind.PHONE_CALL, outcome="agreed")
    assert satisfying_action("A7.1-call", [reached], strict.tasks.rules) is None
    with pytest.raises(PolicyError) as error:
        policy_from_data({"tasks": {"satisfied_by": {"A7.2": ["meeting"]}}})
    assert "tasks.satisfied_by.A7.2[0]" in str(error.value)
    with pytest.raises(ValueError):
        parse_requirement("phone_call:outcome")
