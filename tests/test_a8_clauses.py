"""第八条 clause by clause, as pure rules: whose measure counts, and the open readings as the
policy chooses them. Each test quotes the clause it reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from kcbx.bot.domain.a8.rules import (
    CHIEF,
    DEPUTY,
    STEP_RANKS,
    CaseA8,
    Level,
    Persuasion,
    Rule,
    evaluate,
)
from kcbx.bot.domain.model import Person
from kcbx.bot.domain.policy.reading import default_policy
from kcbx.bot.domain.policy.tree import Policy
from kcbx.bot.domain.roles import Role
from kcbx.bot.services.a8year import by_rank, parse_school_year

TZ = ZoneInfo("Asia/Shanghai")
DISTRICT, TOWNSHIP, VILLAGE, SCHOOL, JUNIOR, DEPARTMENT, OTHER_DEPARTMENT = (
    1,
    10,
    11,
    100,
    200,
    50,
    51,
)
POLICY = default_policy()


def local(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2024, month, day, hour, tzinfo=TZ)


MARK = local(3, 4)  # the dropout mark (A7.3) of every case below

TEACHER_CALL = Persuasion(
    "phone_call", local(2, 26, 10), "李老师", "class_teacher", (SCHOOL, TOWNSHIP, DISTRICT)
)


def cadre_visit(at: datetime) -> Persuasion:
    return Persuasion("home_visit", at, "包村干部", "township_cadre", (VILLAGE, TOWNSHIP, DISTRICT))


def liaison_action(at: datetime, department: int = DEPARTMENT) -> Persuasion:
    return Persuasion(
        "department_action", at, "民政联络员", "department_liaison", (department, DISTRICT)
    )


def dropout(
    n: int,
    *measures: Persuasion,
    school: int = SCHOOL,
    section: str = "primary",
    departments: tuple[int, ...] = (),
) -> CaseA8:
    return CaseA8(
        case_id=n,
        number=f"KC-2024-{n:04d}",
        school_id=school,
        section=section,
        township_id=TOWNSHIP,
        marked_at=MARK,
        persuasion=measures,
        departments=departments,
    )


def flags(cases: list[CaseA8], at: datetime, policy: Policy = POLICY) -> set[tuple[str, int, str]]:
    return {
        (f.rule.value, f.unit_id, f.level.value)
        for f in evaluate(cases, policy, at, district_id=DISTRICT, enrolled=100_000)
    }


def reading(**changes: object) -> Policy:
    return replace(POLICY, accountability=replace(POLICY.accountability, **changes))


def test_a8_4_the_class_teachers_day_0_call_does_not_spare_the_townships_talk() -> None:
    """A8.4 "乡镇辖区内每个学校辍学学生超过两名，第一个月内未采取措施劝返的，对分管领导进行约谈"
    asks what the township did: three dropouts whose only record is the class teacher's call
    before the mark give the township its talk after month 1; the school is spared (A8.2)."""
    cases = [dropout(n, TEACHER_CALL) for n in (1, 2, 3)]
    assert flags(cases, local(4, 4)) == {("A8.4", TOWNSHIP, "talk")}
    # a township cadre's visit within the first month is the township's measure
    visited = [dropout(n, TEACHER_CALL, cadre_visit(local(3, 20))) for n in (1, 2, 3)]
    assert flags(visited, local(4, 4)) == set()
    # before the mark it is not "第一个月内" (measure_window = "mark"); "report" counts it
    early = [dropout(n, cadre_visit(local(3, 1))) for n in (1, 2, 3)]
    assert ("A8.4", TOWNSHIP, "talk") in flags(early, local(4, 4))
    assert ("A8.4", TOWNSHIP, "talk") not in flags(
        early, local(4, 4), reading(measure_window="report")
    )
    # the old reading: anyone's measure, at any time, is the township's
    assert (
        flags(cases, local(4, 4), reading(measures_count="any", measure_window="report")) == set()
    )


def test_a8_3_a_township_cadres_visit_is_not_the_schools_measure() -> None:
    """A8.3 "初中学年内出现两名学生辍学，且未采取措施劝返的，所属学校…最低档次": the measure is
    the school's (its class teacher, lead or principal)."""
    cases = [dropout(n, cadre_visit(local(3, 5)), school=JUNIOR, section="junior") for n in (1, 2)]
    assert ("A8.3", JUNIOR, "flagged") in flags(cases, local(3, 6))
    taught = [dropout(n, TEACHER_CALL, school=JUNIOR, section="junior") for n in (1, 2)]
    taught = [
        replace(c, persuasion=(replace(TEACHER_CALL, units=(JUNIOR, TOWNSHIP, DISTRICT)),))
        for c in taught
    ]
    assert ("A8.3", JUNIOR, "flagged") not in flags(taught, local(3, 6))


def test_a8_5_only_the_departments_own_liaison_answers_for_it() -> None:
    """A8.5 "其他职能部门因职责履行不到位导致辍学学生超过两名，第一个月内未采取措施劝返的，
    对分管领导进行约谈": what the department did, not another department or the school."""
    others = [
        dropout(
            n,
            TEACHER_CALL,
            liaison_action(local(3, 10), OTHER_DEPARTMENT),
            school=SCHOOL + n,
            departments=(DEPARTMENT,),
        )
        for n in (1, 2, 3)
    ]
    assert ("A8.5", DEPARTMENT, "talk") in flags(others, local(4, 4))
    own = [
        dropout(n, liaison_action(local(3, 10)), school=SCHOOL + n, departments=(DEPARTMENT,))
        for n in (1, 2, 3)
    ]
    assert ("A8.5", DEPARTMENT, "talk") not in flags(own, local(4, 4))


def test_a8_4_month_2_still_not_back_is_a_reading_the_policy_chooses() -> None:
    """A8.4 "第二个月仍未劝返的，对分管领导进行通报批评": "away" (default) reads 劝返 as its
    result, the child back; "unpersuaded" also asks for no measure since the mark."""
    cases = [dropout(n, TEACHER_CALL, cadre_visit(local(3, 20))) for n in (1, 2, 3)]
    assert flags(cases, local(5, 4)) == {("A8.4", TOWNSHIP, "reprimand")}
    assert flags(cases, local(5, 4), reading(still_not_back="unpersuaded")) == set()


def test_each_step_addresses_the_leader_the_text_names() -> None:
    """A8.4 "对分管领导进行约谈…通报批评…建议组织对分管领导给予行政处分，并对乡镇主要领导予以
    问责"; A8.1 "对主要负责人进行问责，分管负责人予以行政处分"."""
    assert STEP_RANKS[(Rule.TOWNSHIP, Level.TALK)] == (DEPUTY,)
    assert STEP_RANKS[(Rule.TOWNSHIP, Level.REPRIMAND)] == (DEPUTY,)
    assert STEP_RANKS[(Rule.TOWNSHIP, Level.SANCTION)] == (DEPUTY, CHIEF)
    assert STEP_RANKS[(Rule.ATTRITION, Level.FLAGGED)] == (CHIEF, DEPUTY)
    chief = Person(1, "镇长", None, Role.TOWNSHIP_LEADER, TOWNSHIP, 1, 1, None, "active", None)
    deputy = replace(chief, id=2, name="副镇长")
    ranks = {1: CHIEF, 2: DEPUTY}
    assert [a.person.name for a in by_rank([chief, deputy], ranks, (DEPUTY,))] == ["副镇长"]
    assert [a.person.name for a in by_rank([chief, deputy], ranks, (DEPUTY, CHIEF))] == [
        "副镇长",
        "镇长",
    ]
    # no rank set yet: every leader of the township is addressed
    assert len(by_rank([chief, deputy], {}, (DEPUTY,))) == 2


def test_a_school_year_is_named_as_the_bureau_names_it() -> None:
    assert parse_school_year("2023-2024") == 2023
    assert parse_school_year("2023") == 2023
    assert parse_school_year("2023-2025") is None
    assert parse_school_year("last year") is None
