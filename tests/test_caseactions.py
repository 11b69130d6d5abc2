"""Pure rules of case buttons and case texts (issue 3): what a press records and who may
press it (A7.1-A7.3, A6, A7.6), callback data, absence dates, message pages."""

from __future__ import annotations

from datetime import date

import pytest

from kcbx.bot.domain.caseactions import (
    CaseCallback,
    ack_data,
    do_data,
    may_confirm_return,
    may_record,
    may_report,
    one_press_action,
    parse_callback,
    reminder_buttons,
    return_data,
    without,
)
from kcbx.bot.domain.i18n import translator
from kcbx.bot.domain.ladder import ActionKind, TaskCode
from kcbx.bot.domain.roles import Role
from kcbx.bot.services.cases import absence_date_problem
from kcbx.bot.texts.paging import pages

ZH = translator("zh_CN")


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (TaskCode.CALL, ActionKind.PHONE_CALL),  # A7.1
        (TaskCode.PERSUASION, ActionKind.PERSUASION),  # A7.2
        (TaskCode.MARK, ActionKind.REGISTRY_MARK),  # A7.3
        (TaskCode.REPORT, ActionKind.REPORTED_UP),  # A7.3
        (TaskCode.JOINT, ActionKind.JOINT_PERSUASION),  # A7.3
        ("A6-public_security", ActionKind.DEPARTMENT_ACTION),  # A6
        ("A9-civil_affairs", ActionKind.DEPARTMENT_ACTION),  # A9
        (TaskCode.VISIT, None),  # a visit needs its details (issue 4)
        (TaskCode.NOTICE, None),  # A7.4: a document, not a press
        ("A6-", None),
    ],
)
def test_one_press_action_of_each_task(code: str, kind: ActionKind | None) -> None:
    assert one_press_action(code) == kind


def test_who_may_record_which_step() -> None:
    # A7.1: the class teacher (the school may record it too)
    assert may_record(Role.CLASS_TEACHER, TaskCode.CALL)
    assert may_record(Role.PRINCIPAL, TaskCode.CALL)
    assert not may_record(Role.DEPARTMENT_LIAISON, TaskCode.CALL, "public_security")
    # A7.2 and A7.3's mark and report: the school, not the class teacher alone
    for code in (TaskCode.PERSUASION, TaskCode.MARK, TaskCode.REPORT):
        assert may_record(Role.SCHOOL_LEAD, code) and may_record(Role.PRINCIPAL, code)
        assert not may_record(Role.CLASS_TEACHER, code)
    # A7.3 joint persuasion: the bureau and the township
    assert may_record(Role.BUREAU_STAFF, TaskCode.JOINT)
    assert may_record(Role.TOWNSHIP_LEADER, TaskCode.JOINT)
    assert not may_record(Role.SCHOOL_LEAD, TaskCode.JOINT)
    # A6: a liaison records only their own department's task
    assert may_record(Role.DEPARTMENT_LIAISON, "A6-justice", "justice")
    assert not may_record(Role.DEPARTMENT_LIAISON, "A6-justice", "public_security")
    assert may_record(Role.SCHOOL_LEAD, "A6-school")
    assert may_record(Role.TOWNSHIP_LEADER, "A6-township")
    assert may_record(Role.BUREAU_STAFF, "A6-education_bureau")
    assert not may_record(Role.CLASS_TEACHER, "A6-education_bureau")
    # A7.6 and reporting: the class teacher or the school
    assert may_confirm_return(Role.CLASS_TEACHER) and may_confirm_return(Role.SCHOOL_LEAD)
    assert not may_confirm_return(Role.BUREAU_STAFF)
    assert may_report(Role.PRINCIPAL) and not may_report(Role.VILLAGE_CADRE)


def test_callback_data_round_trips_and_forgeries_are_refused() -> None:
    assert parse_callback(ack_data(12, "A7.1-call")) == CaseCallback("ack", 12, "A7.1-call")
    assert parse_callback(do_data(12, "A6-hr_social_security")) == CaseCallback(
        "do", 12, "A6-hr_social_security"
    )
    assert parse_callback(return_data(12)) == CaseCallback("ret", 12)
    assert parse_callback(return_data(12, "y")) == CaseCallback("ret", 12, "y")
    assert parse_callback("case:7") == CaseCallback("case", 7)
    for forged in (
        None,
        "",
        "ack:12",
        "do:abc:A7.2",
        "ret:12:maybe",
        "case:7:x",
        "do:12:A7.2;DROP",
        "do:-1:A7.2",
        "ack:1234567890123:A7.2",
        "do:12:" + "x" * 41,
    ):
        assert parse_callback(forged) is None, forged


def test_reminder_buttons_fit_telegram() -> None:
    rows = reminder_buttons(999_999_999, "A6-hr_social_security", ZH)
    assert [[label for label, _ in row] for row in rows] == [
        ["收到", "本部门已介入"],
        ["已返校", "查看案件"],
    ]
    assert all(len(data.encode()) < 64 for row in rows for _, data in row)
    visit = reminder_buttons(5, TaskCode.VISIT, ZH, can_return=False)
    assert visit == (
        (("收到", "ack:5:A7.1-visit"), ("记录家访", "vis:5")),
        (("查看案件", "case:5"),),
    )
    assert without(visit, "vis:5", "case:5") == ((("收到", "ack:5:A7.1-visit"),),)
    with pytest.raises(ValueError):
        do_data(1, "A6-" + "x" * 60)


def test_an_absence_is_not_in_the_future_nor_before_the_term() -> None:
    term = date(2024, 3, 1)
    today = date(2024, 3, 7)
    assert absence_date_problem(date(2024, 3, 5), today, term) is None
    assert absence_date_problem(today, today, term) is None
    assert absence_date_problem(term, today, term) is None
    future = absence_date_problem(date(2024, 3, 8), today, term)
    assert future is not None and "future" in future.message
    before = absence_date_problem(date(2024, 2, 29), today, term)
    assert before is not None and before.params == {"term_start": term}
    assert "2024年3月1日（周五）" in before.render(ZH, "zh_CN")
    assert absence_date_problem(date(2020, 1, 1), today, None) is None  # no term configured


def test_pages_keep_every_message_under_the_limit() -> None:
    lines = [f"第{i}行 " + "字" * 90 for i in range(200)]
    chunks = pages(lines, 3800)
    assert len(chunks) > 1 and all(len(c) <= 3800 for c in chunks)
    assert "\n".join(chunks).split("\n") == lines  # nothing lost, order kept
    assert pages(["x" * 5000], 100) == ["x" * 99 + "…"]
    assert pages([]) == []
