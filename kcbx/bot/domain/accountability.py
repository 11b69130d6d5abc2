"""Article 8 (A8.1-A8.5) as pure functions: who has earned an accountability flag at an
instant, and who is about to.

No I/O here: :mod:`kcbx.bot.services.accountability` loads the facts as they stood at the
instant (cases, their dropout marks, the persuasion recorded, referrals), calls
:func:`evaluate` and :func:`warnings`, freezes the flags at each month's end and sends the
warnings through the outbox. Tests walk a school through three months in microseconds.

Definitions (RULES.md, the defaults under A8; the numbers are ``[accountability]`` of the
policy):

* a *dropout* is a case past A7.3 (its dropout mark, the moment the ladder reached the
  dropout stage) and not closed at the instant;
* *persuasion recorded* is at least one standing action of a persuading kind
  (:data:`PERSUADING_KINDS`: phone call, home visit, school persuasion, joint persuasion,
  department action) on the case;
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
  sanction. The text's "第二个月仍未劝返" is read as "still not back" (the talk's condition,
  no persuasion, is not required again), and each step counts the school's dropouts that meet
  it. **A8.5** a department: the same ladder over the dropouts of the cases referred to it.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from kcbx.bot.domain.i18n import N_
from kcbx.bot.domain.ladder import ActionKind
from kcbx.bot.domain.policy import Policy

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


@dataclass(frozen=True)
class Persuasion:
    """One recorded persuading action: what, when, by whom (a display name)."""

    kind: str
    at: datetime
    actor: str = ""


@dataclass(frozen=True)
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

    def persuaded_by(self, until: datetime) -> bool:
        return any(p.at <= until for p in self.persuasion)


@dataclass(frozen=True)
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


class WarningKind(StrEnum):
    BEFORE = "before"  # the flag will be earned at ``deadline`` unless something is done
    FREEZE = "freeze"  # the flag is earned now and is frozen at ``deadline`` (month's end)
    NEAR = "near"  # A8.1: attrition close to the threshold


@dataclass(frozen=True)
class Warning:
    """A flag about to be earned (or to be frozen), to tell the responsible leaders."""

    rule: Rule
    unit_id: int
    level: Level
    kind: WarningKind
    cases: tuple[CaseA8, ...]
    deadline: datetime | None
    count: int
    threshold: float
    percent: float = 0.0

    @property
    def case(self) -> CaseA8 | None:
        """The case a per-case warning is about (A8.2/A8.3)."""
        return self.cases[0] if len(self.cases) == 1 else None


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


# --- flags -----------------------------------------------------------------------------------


def evaluate(
    cases: Iterable[CaseA8],
    policy: Policy,
    at: datetime,
    *,
    district_id: int,
    enrolled: int,
) -> list[Flag]:
    """Every A8 flag earned at ``at`` by the open cases given (as they stood at ``at``)."""
    acc = policy.accountability
    dropouts = [c for c in cases if c.is_dropout(at)]
    flags: list[Flag] = []
    # A8.1: dropouts not returned / students enrolled
    percent = 100.0 * len(dropouts) / enrolled if enrolled else 0.0
    if percent > acc.attrition_percent:
        flags.append(
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
        )
    # A8.2 / A8.3: dropouts without persuasion, per school and section
    unpersuaded: dict[tuple[int, str], list[CaseA8]] = defaultdict(list)
    for case in dropouts:
        if not case.persuaded_by(at):
            unpersuaded[(case.school_id, case.section)].append(case)
    for (school_id, section), found in sorted(unpersuaded.items()):
        rule, threshold = _school_rule(section, policy)
        if len(found) >= threshold:
            flags.append(Flag(rule, school_id, Level.FLAGGED, tuple(found), len(found), threshold))
    # A8.4: per township, the worst of its schools; A8.5: per department
    by_school: dict[int, list[CaseA8]] = defaultdict(list)
    township_of: dict[int, int] = {}
    for case in dropouts:
        if case.township_id is not None:
            by_school[case.school_id].append(case)
            township_of[case.school_id] = case.township_id
    per_township: dict[int, list[tuple[int, Level, list[CaseA8]]]] = defaultdict(list)
    for school_id, found in by_school.items():
        step = _month_ladder(found, acc.township_dropouts_over, policy, at)
        if step is not None:
            per_township[township_of[school_id]].append((school_id, *step))
    for township_id, steps in sorted(per_township.items()):
        worst = max(LADDER.index(level) for _school, level, _cases in steps)
        level = LADDER[worst]
        chosen = [(s, c) for s, lv, c in steps if lv == level]
        evidence = tuple(case for _s, found in chosen for case in found)
        flags.append(
            Flag(
                Rule.TOWNSHIP,
                township_id,
                level,
                evidence,
                max(len(found) for _s, found in chosen),
                acc.township_dropouts_over,
                schools=tuple(sorted(s for s, _c in chosen)),
            )
        )
    by_department: dict[int, list[CaseA8]] = defaultdict(list)
    for case in dropouts:
        for department in case.departments:
            by_department[department].append(case)
    for department, found in sorted(by_department.items()):
        step = _month_ladder(found, acc.department_dropouts_over, policy, at)
        if step is not None:
            level, evidence_cases = step
            flags.append(
                Flag(
                    Rule.DEPARTMENT,
                    department,
                    level,
                    tuple(evidence_cases),
                    len(evidence_cases),
                    acc.department_dropouts_over,
                )
            )
    return flags


def _school_rule(section: str, policy: Policy) -> tuple[Rule, int]:
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


def qualifies_at(case: CaseA8, level: Level, policy: Policy) -> datetime | None:
    """When a dropout counts towards a step of the A8.4/A8.5 ladder if nothing changes.

    Talk: when its first month ends without persuasion (never, once persuasion is recorded in
    it). Reprimand and sanction: when its second or third month ends (it is still away).
    """
    if case.marked_at is None:
        return None
    zone = policy.time.tz
    when = add_months(case.marked_at, _months_for(level, policy), zone)
    if level == Level.TALK and case.persuaded_by(when):
        return None
    return when


def _month_ladder(
    dropouts: Sequence[CaseA8], over: int, policy: Policy, at: datetime
) -> tuple[Level, list[CaseA8]] | None:
    """The highest step of the 1/2/3-month ladder that more than ``over`` dropouts meet."""
    if len(dropouts) <= over:
        return None
    for level in reversed(LADDER):
        meeting = []
        for case in dropouts:
            when = qualifies_at(case, level, policy)
            if when is not None and when <= at:
                meeting.append(case)
        if len(meeting) > over:
            return level, meeting
    return None


# --- warnings --------------------------------------------------------------------------------


def warnings(
    cases: Iterable[CaseA8],
    policy: Policy,
    at: datetime,
    *,
    district_id: int,
    enrolled: int,
    ahead: timedelta | None = None,
) -> list[Warning]:
    """What the responsible leaders should hear at ``at``, before a flag is earned or frozen.

    * A8.2/A8.3, per case: from A7.2 (day 3) until its dropout mark, a case with no persuasion
      recorded that would make (or add to) the school's flag: "record persuasion by the mark";
      and once the school is flagged, each unpersuaded dropout: "record it before the month
      ends, when the flag is frozen".
    * A8.4/A8.5, per township or department: the next step of the ladder that will be earned
      within ``ahead`` if nothing changes, with the date and the cases.
    * A8.1: attrition at or above ``attrition_warn_share`` of the threshold.
    """
    cases = list(cases)
    zone = policy.time.tz
    acc = policy.accountability
    if ahead is None:
        ahead = timedelta(days=acc.warn_days_ahead)
    out: list[Warning] = []
    dropouts = [c for c in cases if c.is_dropout(at)]
    earned = evaluate(cases, policy, at, district_id=district_id, enrolled=enrolled)
    earned_levels = {(f.rule, f.unit_id): f.level for f in earned}
    # A8.1
    percent = 100.0 * len(dropouts) / enrolled if enrolled else 0.0
    if (Rule.ATTRITION, district_id) not in earned_levels and (
        percent >= acc.attrition_warn_share * acc.attrition_percent and dropouts
    ):
        out.append(
            Warning(
                Rule.ATTRITION,
                district_id,
                Level.FLAGGED,
                WarningKind.NEAR,
                (),
                None,
                len(dropouts),
                acc.attrition_percent,
                percent=percent,
            )
        )
    # A8.2 / A8.3
    flagged_now: dict[tuple[int, str], list[CaseA8]] = defaultdict(list)
    for case in dropouts:
        if not case.persuaded_by(at):
            flagged_now[(case.school_id, case.section)].append(case)
    coming: dict[tuple[int, str], list[CaseA8]] = defaultdict(list)
    for case in cases:
        if (
            case.marked_at is None
            and case.mark_due is not None
            and case.warn_from is not None
            and case.warn_from <= at < case.mark_due
            and not case.persuaded_by(at)
        ):
            coming[(case.school_id, case.section)].append(case)
    end = month_end(period_of(at, zone), zone)
    for key in sorted(set(flagged_now) | set(coming)):
        school_id, section = key
        rule, threshold = _school_rule(section, policy)
        now_count = len(flagged_now[key])
        if now_count >= threshold:
            for case in flagged_now[key]:
                out.append(
                    Warning(
                        rule,
                        school_id,
                        Level.FLAGGED,
                        WarningKind.FREEZE,
                        (case,),
                        end,
                        now_count,
                        threshold,
                    )
                )
        if now_count + len(coming[key]) >= threshold:
            for case in coming[key]:
                assert case.mark_due is not None
                out.append(
                    Warning(
                        rule,
                        school_id,
                        Level.FLAGGED,
                        WarningKind.BEFORE,
                        (case,),
                        case.mark_due,
                        now_count + len(coming[key]),
                        threshold,
                    )
                )
    # A8.4 / A8.5
    groups: list[tuple[Rule, int, list[CaseA8], int]] = []
    by_school: dict[int, list[CaseA8]] = defaultdict(list)
    township_of: dict[int, int] = {}
    for case in dropouts:
        if case.township_id is not None:
            by_school[case.school_id].append(case)
            township_of[case.school_id] = case.township_id
    for school_id, found in sorted(by_school.items()):
        groups.append((Rule.TOWNSHIP, township_of[school_id], found, acc.township_dropouts_over))
    by_department: dict[int, list[CaseA8]] = defaultdict(list)
    for case in dropouts:
        for department in case.departments:
            by_department[department].append(case)
    for department, found in sorted(by_department.items()):
        groups.append((Rule.DEPARTMENT, department, found, acc.department_dropouts_over))
    seen: set[tuple[Rule, int, Level]] = set()
    for rule, unit_id, found, over in groups:
        if len(found) <= over:
            continue
        current = earned_levels.get((rule, unit_id))
        for level in LADDER:
            if current is not None and LADDER.index(level) <= LADDER.index(current):
                continue
            times = sorted(
                (when, case.case_id, case)
                for case in found
                if (when := qualifies_at(case, level, policy)) is not None
            )
            if len(times) <= over:
                continue
            due = times[over][0]
            if at < due <= at + ahead and (rule, unit_id, level) not in seen:
                seen.add((rule, unit_id, level))
                out.append(
                    Warning(
                        rule,
                        unit_id,
                        level,
                        WarningKind.BEFORE,
                        tuple(c for _w, _i, c in times[: over + 1]),
                        due,
                        len(times),
                        over,
                    )
                )
            break  # only the next step of the ladder
    return out


__all__ = [
    "CONSEQUENCES",
    "LADDER",
    "LEVEL_NAMES",
    "PERSUADING_KINDS",
    "RULE_UNITS",
    "CaseA8",
    "Flag",
    "Level",
    "Persuasion",
    "Rule",
    "Warning",
    "WarningKind",
    "add_months",
    "evaluate",
    "month_end",
    "month_start",
    "next_period",
    "period_of",
    "qualifies_at",
    "section_of",
    "warnings",
]
