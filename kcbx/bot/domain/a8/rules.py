"""Article 8 (A8.1-A8.5) as pure functions: who has earned an accountability flag at an
instant, and who is about to.

No I/O here: :mod:`kcbx.bot.services.accountability` loads the facts as they stood at the
instant (cases, their dropout marks, the persuasion recorded, referrals), calls
:func:`evaluate` and the warnings (:mod:`kcbx.bot.domain.a8.warnings`),
freezes the flags at each month's end, keeps the school year's record and sends the
warnings through the outbox. Tests walk a school through three months in microseconds.

Definitions (RULES.md, the defaults under A8; the numbers are ``[accountability]`` of the
policy):

* a *dropout* is a case past A7.3 (its dropout mark, the moment the ladder reached the
  dropout stage) and not closed at the instant;
* a *measure* is a standing action of a persuading kind (:data:`PERSUADING_KINDS`: phone
  call, home visit, school persuasion, joint persuasion, department action) on the case; it
  counts for a clause when the body that clause holds to account took it (policy
  ``measures_count``, :func:`answers_for`): A8.2/A8.3 the school's class teacher, lead or
  principal; A8.4 the township's leaders and its 三包 chain; A8.5 the department's liaison;
  A8.1 has no measure clause (its trigger is the attrition itself);
* months are counted from the dropout mark, in the policy's time zone (the 3rd of March to
  the 3rd of April is one month; the 31st of January to the 29th of February too).

The rules:

* **A8.1** the district (its education bureau): dropouts / students enrolled above
  ``attrition_percent``.
* **A8.2** a primary school: ``primary_dropouts`` (1) or more dropouts of its primary section
  with no persuasion recorded; **A8.3** a junior middle school: ``junior_dropouts`` (2) of its
  junior section. A nine-year school answers under both, by the student's grade.
* **A8.4** a township: a school in its area has more than ``township_dropouts_over`` (2)
  dropouts that went their first month without persuasion → admonitory talk; more than that
  many not back two months after the mark → public reprimand; three months → proposal of a
  sanction. Month 1 counts the township's measures from the mark (``measure_window``); "第二
  个月仍未劝返" is read as "still not back" (``still_not_back = "away"``: the talk's condition,
  no measure, is not required again), and each step counts the school's dropouts that meet
  it. **A8.5** a department: the same ladder over the dropouts of the cases referred to it.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from kcbx.bot.domain.i18n import N_
from kcbx.bot.domain.ladder.state import ActionKind
from kcbx.bot.domain.policy.tree import Policy
from kcbx.bot.domain.roles import Role

PERSUADING_KINDS = frozenset(
    {
        ActionKind.PHONE_CALL,
        ActionKind.HOME_VISIT,
        ActionKind.PERSUASION,
        ActionKind.JOINT_PERSUASION,
        ActionKind.DEPARTMENT_ACTION,
    }
)

# How long before a flag would be earned the responsible leaders are warned, and at which
# share of the A8.1 threshold the bureau is warned, are policy settings ([accountability]
# warn_days_ahead, attrition_warn_share: ours, A8 asks to warn "before" without a number).
# A8.2/A8.3 warnings start when the case reaches A7.2 (day 3), whatever they say.


class Rule(StrEnum):
    ATTRITION = "A8.1"
    PRIMARY = "A8.2"
    JUNIOR = "A8.3"
    TOWNSHIP = "A8.4"
    DEPARTMENT = "A8.5"


class Level(StrEnum):
    """What a flag means; the township and department ladder has three steps."""

    FLAGGED = "flagged"  # A8.1-A8.3
    TALK = "talk"  # A8.4/A8.5 month 1: admonitory talk
    REPRIMAND = "reprimand"  # month 2: public reprimand
    SANCTION = "sanction"  # month 3: propose a sanction and accountability


LADDER = (Level.TALK, Level.REPRIMAND, Level.SANCTION)

# Whose measure counts for each clause (measures_count = "own"): the people of the body the
# clause holds to account. A8.1 has no measure clause; the bureau's measures are listed in
# its evidence only.
ANSWERING_ROLES: dict[Rule, frozenset[str]] = {
    Rule.ATTRITION: frozenset({Role.BUREAU_STAFF, Role.DISTRICT_LEADER}),
    Rule.PRIMARY: frozenset({Role.CLASS_TEACHER, Role.SCHOOL_LEAD, Role.PRINCIPAL}),
    Rule.JUNIOR: frozenset({Role.CLASS_TEACHER, Role.SCHOOL_LEAD, Role.PRINCIPAL}),
    Rule.TOWNSHIP: frozenset(
        {Role.TOWNSHIP_LEADER, Role.TOWNSHIP_CADRE, Role.VILLAGE_CADRE, Role.GROUP_CADRE}
    ),
    Rule.DEPARTMENT: frozenset({Role.DEPARTMENT_LIAISON}),
}

CHIEF, DEPUTY = "chief", "deputy"  # 主要领导 / 分管领导 (people.leader_rank)
# Whom each step names: A8.4/A8.5 talk and reprimand the leader in charge (分管领导); month 3
# proposes a sanction for them and holds the main leader (主要领导) accountable; A8.1 holds
# the bureau's main leader accountable and sanctions its leader in charge.
STEP_RANKS: dict[tuple[Rule, Level], tuple[str, ...]] = {
    (Rule.ATTRITION, Level.FLAGGED): (CHIEF, DEPUTY),
    (Rule.TOWNSHIP, Level.TALK): (DEPUTY,),
    (Rule.TOWNSHIP, Level.REPRIMAND): (DEPUTY,),
    (Rule.TOWNSHIP, Level.SANCTION): (DEPUTY, CHIEF),
    (Rule.DEPARTMENT, Level.TALK): (DEPUTY,),
    (Rule.DEPARTMENT, Level.REPRIMAND): (DEPUTY,),
    (Rule.DEPARTMENT, Level.SANCTION): (DEPUTY, CHIEF),
}

RULE_UNITS: dict[Rule, str] = {
    Rule.ATTRITION: "district",
    Rule.PRIMARY: "school",
    Rule.JUNIOR: "school",
    Rule.TOWNSHIP: "township",
    Rule.DEPARTMENT: "department",
}

# What each flag brings (RULES.md A8), msgids.
CONSEQUENCES: dict[tuple[Rule, Level], str] = {
    (Rule.ATTRITION, Level.FLAGGED): N_(
        "the bureau's main leader is held accountable; the leader in charge is sanctioned"
    ),
    (Rule.PRIMARY, Level.FLAGGED): N_(
        "lowest year-end rating; the principal and class teacher lose the year's allowance; "
        "no awards this year"
    ),
    (Rule.JUNIOR, Level.FLAGGED): N_(
        "lowest year-end rating; the principal and class teacher lose the year's allowance; "
        "no awards this year"
    ),
    (Rule.TOWNSHIP, Level.TALK): N_("admonitory talk with the leader in charge"),
    (Rule.TOWNSHIP, Level.REPRIMAND): N_("public reprimand of the leader in charge"),
    (Rule.TOWNSHIP, Level.SANCTION): N_(
        "proposal to sanction the leader in charge and hold the township's main leader accountable"
    ),
    (Rule.DEPARTMENT, Level.TALK): N_("admonitory talk with the leader in charge"),
    (Rule.DEPARTMENT, Level.REPRIMAND): N_("public reprimand of the leader in charge"),
    (Rule.DEPARTMENT, Level.SANCTION): N_(
        "proposal to sanction the leader in charge and hold the department's main leader "
        "accountable"
    ),
}

LEVEL_NAMES: dict[Level, str] = {
    Level.FLAGGED: N_("flagged"),
    Level.TALK: N_("admonitory talk"),
    Level.REPRIMAND: N_("public reprimand"),
    Level.SANCTION: N_("sanction proposed"),
}


@dataclass(frozen=True, slots=True)
class Persuasion:
    """One recorded persuading action: what, when, by whom (a display name, the role they
    held, and their unit with the units above it)."""

    kind: str
    at: datetime
    actor: str = ""
    role: str | None = None
    units: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class CaseA8:
    """What A8 needs to know about one open case, as it stood at the instant evaluated.

    ``marked_at`` is the dropout mark (the instant the ladder reached A7.3), None before it;
    ``mark_due`` is when the mark will come if the child stays away (for warnings), and
    ``warn_from`` when A8.2/A8.3 warnings may start (A7.2, day 3).
    """

    case_id: int
    number: str
    school_id: int
    section: str  # "primary" or "junior": the student's section (A8.2 or A8.3)
    township_id: int | None  # the township whose area holds the school (A8.4)
    marked_at: datetime | None
    persuasion: tuple[Persuasion, ...] = ()
    departments: tuple[int, ...] = ()  # department units the case is referred to (A8.5)
    mark_due: datetime | None = None
    warn_from: datetime | None = None

    def is_dropout(self, at: datetime) -> bool:
        return self.marked_at is not None and self.marked_at <= at


@dataclass(frozen=True, slots=True)
class Flag:
    """A flag earned at an instant, with its evidence (the cases that earn it)."""

    rule: Rule
    unit_id: int
    level: Level
    cases: tuple[CaseA8, ...]
    count: int  # the figure compared with the threshold (cases, or dropouts for A8.1)
    threshold: float
    schools: tuple[int, ...] = ()  # A8.4: the schools that earn it
    enrolled: int = 0  # A8.1
    percent: float = 0.0  # A8.1

    @property
    def consequence(self) -> str:
        return CONSEQUENCES[(self.rule, self.level)]


# --- time ------------------------------------------------------------------------------------


def add_months(instant: datetime, months: int, zone: ZoneInfo) -> datetime:
    """The same local time ``months`` months later (the day clamped to the month's end)."""
    local = instant.astimezone(zone)
    year, month0 = divmod(local.month - 1 + months, 12)
    year += local.year
    day = min(local.day, calendar.monthrange(year, month0 + 1)[1])
    return local.replace(year=year, month=month0 + 1, day=day)


def period_of(instant: datetime, zone: ZoneInfo) -> str:
    """The month an instant falls in, locally: '2024-03'."""
    local = instant.astimezone(zone)
    return f"{local.year:04d}-{local.month:02d}"


def month_start(period: str, zone: ZoneInfo) -> datetime:
    year, month = (int(part) for part in period.split("-"))
    return datetime.combine(date(year, month, 1), time(0), tzinfo=zone)


def month_end(period: str, zone: ZoneInfo) -> datetime:
    """The instant a month ends: midnight starting the next month, locally."""
    return add_months(month_start(period, zone), 1, zone)


def next_period(period: str) -> str:
    """'2024-12' -> '2025-01'."""
    year, month = (int(part) for part in period.split("-"))
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def section_of(school_section: str | None, grade: int | None) -> str:
    """Which of A8.2 (primary) or A8.3 (junior) a student answers under."""
    if school_section == "junior":
        return "junior"
    if school_section == "primary":
        return "primary"
    return "junior" if grade is not None and grade >= 7 else "primary"


# --- whose measure counts --------------------------------------------------------------------


def answers_for(measure: Persuasion, rule: Rule, unit_id: int, policy: Policy) -> bool:
    """Whether a measure is the answering body's own (A8.2-A8.5 ask what *it* did)."""
    if policy.accountability.measures_count == "any":
        return True
    return measure.role in ANSWERING_ROLES[rule] and unit_id in measure.units


def measured(
    case: CaseA8,
    rule: Rule,
    unit_id: int,
    policy: Policy,
    until: datetime,
    since: datetime | None = None,
) -> bool:
    """A measure by the answering body on the case, taken in ``[since, until]``."""
    return any(
        p.at <= until and (since is None or p.at >= since) and answers_for(p, rule, unit_id, policy)
        for p in case.persuasion
    )


def school_measured(case: CaseA8, policy: Policy, until: datetime) -> bool:
    """A8.2/A8.3: the school took a measure by ``until`` (any time since the report)."""
    rule, _threshold = school_rule(case.section, policy)
    return measured(case, rule, case.school_id, policy, until)


# --- flags -----------------------------------------------------------------------------------


def evaluate(
    cases: Iterable[CaseA8],
    policy: Policy,
    at: datetime,
    *,
    district_id: int,
    enrolled: int,
) -> list[Flag]:
    """Every A8 flag earned at ``at`` by the open cases given (as they stood at ``at``).

    ``enrolled``: A8.1's denominator, the students enrolled at the start of the school year
    (exempt children left out, as they are of the dropouts)."""
    dropouts = [c for c in cases if c.is_dropout(at)]
    flags = attrition_flags(dropouts, policy, district_id, enrolled)
    flags += school_flags(dropouts, policy, at)
    return flags + wide_flags(dropouts, policy, at)


def wide_flags(dropouts: Sequence[CaseA8], policy: Policy, at: datetime) -> list[Flag]:
    """A8.4 and A8.5, the rules that look across schools: townships, then departments."""
    return _township_flags(dropouts, policy, at) + department_flags(dropouts, policy, at)


def attrition_percent(dropouts: int, enrolled: int) -> float:
    return 100.0 * dropouts / enrolled if enrolled else 0.0


def attrition_flags(
    dropouts: Sequence[CaseA8], policy: Policy, district_id: int, enrolled: int
) -> list[Flag]:
    """A8.1: dropouts not returned / students enrolled at the start of the year."""
    acc = policy.accountability
    percent = attrition_percent(len(dropouts), enrolled)
    if percent <= acc.attrition_percent:
        return []
    return [
        Flag(
            Rule.ATTRITION,
            district_id,
            Level.FLAGGED,
            tuple(dropouts),
            len(dropouts),
            acc.attrition_percent,
            enrolled=enrolled,
            percent=percent,
        )
    ]


def unmeasured_by_school(
    dropouts: Iterable[CaseA8], policy: Policy, at: datetime
) -> dict[tuple[int, str], list[CaseA8]]:
    found: dict[tuple[int, str], list[CaseA8]] = defaultdict(list)
    for case in dropouts:
        if not school_measured(case, policy, at):
            found[(case.school_id, case.section)].append(case)
    return found


def school_flags(dropouts: Sequence[CaseA8], policy: Policy, at: datetime) -> list[Flag]:
    """A8.2 / A8.3: dropouts without the school's measure, per school and section."""
    flags = []
    for (school_id, section), found in sorted(unmeasured_by_school(dropouts, policy, at).items()):
        rule, threshold = school_rule(section, policy)
        if len(found) >= threshold:
            flags.append(Flag(rule, school_id, Level.FLAGGED, tuple(found), len(found), threshold))
    return flags


def per_school(dropouts: Iterable[CaseA8]) -> list[tuple[int, int, list[CaseA8]]]:
    """(township, school, its dropouts) for the schools in a township's area (A8.4)."""
    by_school: dict[int, list[CaseA8]] = defaultdict(list)
    township_of: dict[int, int] = {}
    for case in dropouts:
        if case.township_id is not None:
            by_school[case.school_id].append(case)
            township_of[case.school_id] = case.township_id
    return [(township_of[s], s, found) for s, found in sorted(by_school.items())]


def per_department(dropouts: Iterable[CaseA8]) -> list[tuple[int, list[CaseA8]]]:
    """(department, the dropouts of the cases referred to it) (A8.5)."""
    by_department: dict[int, list[CaseA8]] = defaultdict(list)
    for case in dropouts:
        for department in case.departments:
            by_department[department].append(case)
    return sorted(by_department.items())


SchoolStep = tuple[int, int, Level, list[CaseA8]]  # township, school, step, its cases


def township_steps(dropouts: Iterable[CaseA8], policy: Policy, at: datetime) -> list[SchoolStep]:
    """A8.4 school by school: the step of the township's ladder each school of its area
    reaches (a school with no more than ``township_dropouts_over`` dropouts reaches none)."""
    over = policy.accountability.township_dropouts_over
    steps = []
    for township_id, school_id, found in per_school(dropouts):
        step = _month_ladder(found, over, policy, at, Rule.TOWNSHIP, township_id)
        if step is not None:
            steps.append((township_id, school_id, *step))
    return steps


def township_flags(steps: Iterable[SchoolStep], policy: Policy) -> list[Flag]:
    """A8.4: per township, the highest step any school of its area reaches."""
    over = policy.accountability.township_dropouts_over
    per_township: dict[int, list[tuple[int, Level, list[CaseA8]]]] = defaultdict(list)
    for township_id, school_id, level, found in steps:
        per_township[township_id].append((school_id, level, found))
    flags = []
    for township_id, found_steps in sorted(per_township.items()):
        level = LADDER[max(LADDER.index(level) for _school, level, _cases in found_steps)]
        chosen = sorted((s, c) for s, lv, c in found_steps if lv == level)
        flags.append(
            Flag(
                Rule.TOWNSHIP,
                township_id,
                level,
                tuple(case for _s, found in chosen for case in found),
                max(len(found) for _s, found in chosen),
                over,
                schools=tuple(s for s, _c in chosen),
            )
        )
    return flags


def _township_flags(dropouts: Sequence[CaseA8], policy: Policy, at: datetime) -> list[Flag]:
    return township_flags(township_steps(dropouts, policy, at), policy)


def department_flags(dropouts: Sequence[CaseA8], policy: Policy, at: datetime) -> list[Flag]:
    """A8.5: the same ladder over each department's referred dropouts."""
    over = policy.accountability.department_dropouts_over
    flags = []
    for department, found in per_department(dropouts):
        step = _month_ladder(found, over, policy, at, Rule.DEPARTMENT, department)
        if step is not None:
            level, evidence = step
            flags.append(
                Flag(Rule.DEPARTMENT, department, level, tuple(evidence), len(evidence), over)
            )
    return flags


def school_rule(section: str, policy: Policy) -> tuple[Rule, int]:
    acc = policy.accountability
    if section == "junior":
        return Rule.JUNIOR, acc.junior_dropouts
    return Rule.PRIMARY, acc.primary_dropouts


def _months_for(level: Level, policy: Policy) -> int:
    acc = policy.accountability
    return {
        Level.TALK: acc.talk_after_months,
        Level.REPRIMAND: acc.reprimand_after_months,
        Level.SANCTION: acc.sanction_after_months,
    }[level]


def qualifies_at(
    case: CaseA8,
    level: Level,
    policy: Policy,
    rule: Rule = Rule.TOWNSHIP,
    unit_id: int | None = None,
) -> datetime | None:
    """When a dropout counts towards a step of the A8.4/A8.5 ladder if nothing changes.

    Talk: when its first month ends without the answering body's measure in it (never, once
    one is recorded). Reprimand and sanction: when its second or third month ends, the child
    still away (``still_not_back = "unpersuaded"``: and still no measure since the mark).
    """
    if case.marked_at is None:
        return None
    acc = policy.accountability
    when = add_months(case.marked_at, _months_for(level, policy), policy.time.tz)
    since = case.marked_at if acc.measure_window == "mark" else None
    unit = unit_id if unit_id is not None else (case.township_id or 0)
    again = level == Level.TALK or acc.still_not_back == "unpersuaded"
    if again and measured(case, rule, unit, policy, when, since):
        return None
    return when


def _month_ladder(
    dropouts: Sequence[CaseA8],
    over: int,
    policy: Policy,
    at: datetime,
    rule: Rule,
    unit_id: int,
) -> tuple[Level, list[CaseA8]] | None:
    """The highest step of the 1/2/3-month ladder that more than ``over`` dropouts meet."""
    if len(dropouts) <= over:
        return None
    for level in reversed(LADDER):
        meeting = []
        for case in dropouts:
            when = qualifies_at(case, level, policy, rule, unit_id)
            if when is not None and when <= at:
                meeting.append(case)
        if len(meeting) > over:
            return level, meeting
    return None


__all__ = [
    "ANSWERING_ROLES",
    "CHIEF",
    "CONSEQUENCES",
    "DEPUTY",
    "LADDER",
    "LEVEL_NAMES",
    "PERSUADING_KINDS",
    "RULE_UNITS",
    "STEP_RANKS",
    "CaseA8",
    "Flag",
    "Level",
    "Persuasion",
    "Rule",
    "SchoolStep",
    "add_months",
    "answers_for",
    "attrition_flags",
    "attrition_percent",
    "department_flags",
    "evaluate",
    "measured",
    "month_end",
    "month_start",
    "next_period",
    "per_department",
    "per_school",
    "period_of",
    "qualifies_at",
    "school_flags",
    "school_measured",
    "school_rule",
    "section_of",
    "township_flags",
    "township_steps",
    "unmeasured_by_school",
    "wide_flags",
]
