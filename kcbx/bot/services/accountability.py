"""A8 in the running bot: live flags and warnings, the month-end freeze, ``/accountability``.

The rules are pure (:mod:`kcbx.bot.domain.a8.rules`); this module loads the facts, as they
stand now or as they stood at a month's end, and writes what follows:

* :func:`live_a8`: the flags earned now and the warnings due, for the summaries;
* :func:`freeze_due_months`: every month that has ended and is not frozen yet is evaluated
  *as of its last instant* (cases open then, actions recorded by then, referrals made by
  then) and frozen with its evidence (insert-only, 0005). Run late, after a week offline,
  it writes what it would have written on time; a later change of the cases (a persuasion
  recorded afterwards, back-dated or not; a return) does not change a frozen month;
* :func:`warnings_due`: the warnings due now and who answers for each (the engine,
  :mod:`kcbx.bot.engine.a8_warnings`, words and queues them);
* :func:`accountability_view`: the school year so far, month by month, for district
  leaders and the bureau (:mod:`kcbx.bot.texts.accountability` writes it).

It returns view models and writes no text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from kcbx.bot.domain.a8.rules import (
    STEP_RANKS,
    CaseA8,
    Flag,
    Rule,
    add_months,
    evaluate,
    month_end,
    next_period,
    period_of,
    qualifies_at,
)
from kcbx.bot.domain.a8.warnings import Warning, warnings
from kcbx.bot.domain.capabilities import roles_of
from kcbx.bot.domain.ladder.recipients import Directory, holders_of, reachable
from kcbx.bot.domain.model import Person
from kcbx.bot.domain.policy.tree import Policy
from kcbx.bot.domain.roles import Role
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.a8year import LEADER_ROLES, YearRecord, by_rank, year_record
from kcbx.bot.services.caseviews import CaseView, UnitTree, a8_case, case_views, unit_tree
from kcbx.storage.accountability_repo import FrozenFlag, FrozenMonth, YearFinding
from kcbx.storage.reports_repo import unit_scope

ACCOUNTABILITY_ROLES = roles_of("accountability")
CATCH_UP_MONTHS = 24  # a freeze looks back at most this far
CASES_SHOWN = 5  # case numbers listed in one line of text


# --- live ------------------------------------------------------------------------------------


async def a8_cases(
    services: Services,
    views: Sequence[CaseView],
    tree: UnitTree,
    *,
    as_of: datetime | None = None,
) -> list[CaseA8]:
    """The A8 facts of open cases (referrals made by ``as_of``, if given)."""
    departments = await services.reports.referred_departments(
        [v.row.id for v in views], until=as_of
    )
    await tree.ensure(services, {a.actor_unit_id for v in views for a in v.actions})
    return [a8_case(v, tree, services, departments.get(v.row.id, ())) for v in views]


async def live_a8(
    services: Services,
    views: Sequence[CaseView],
    tree: UnitTree,
    *,
    enrolled: Mapping[int, int] | None = None,
) -> tuple[list[Flag], list[Warning]]:
    """The flags earned now and the warnings due now, district by district.

    ``enrolled``: A8.1's denominator per district (:func:`year_enrolment`); a district
    without it is not evaluated under A8.1 (a township's summary does not need it).
    """
    return live_flags(services, await a8_cases(services, views, tree), tree, enrolled=enrolled)


def live_flags(
    services: Services,
    facts: Sequence[CaseA8],
    tree: UnitTree,
    *,
    enrolled: Mapping[int, int] | None = None,
) -> tuple[list[Flag], list[Warning]]:
    """:func:`live_a8` of the A8 facts of the open cases."""
    now = services.clock.now()
    flags: list[Flag] = []
    warns: list[Warning] = []
    for district_id, cases in sorted(_by_district(facts, tree).items()):
        count = (enrolled or {}).get(district_id, 0)
        earned = evaluate(cases, services.policy, now, district_id=district_id, enrolled=count)
        warns += warnings(
            cases, services.policy, now, district_id=district_id, enrolled=count, earned=earned
        )
        flags += earned
    return flags, warns


def _by_district(facts: Sequence[CaseA8], tree: UnitTree) -> dict[int, list[CaseA8]]:
    by_district: dict[int, list[CaseA8]] = defaultdict(list)
    for case in facts:
        district = tree.nearest(case.school_id, "district")
        by_district[district.id if district else 0].append(case)
    return by_district


def school_year_of(services: Services, at: datetime) -> int:
    """The school year an instant belongs to (an instant that ends a month: the month's)."""
    tz = services.policy.time.tz
    start, _ = services.policy.accountability.school_year(
        (at - timedelta(microseconds=1)).astimezone(tz).date()
    )
    return start.year


async def year_enrolment(services: Services, tree: UnitTree, school_year: int) -> dict[int, int]:
    """A8.1's denominator per district: the students enrolled when the school year began
    (taken on the year's first pass, its first day or first import), exempt children out,
    including those exempted since (they leave the dropouts too, A3)."""
    now = services.clock.now()
    current = school_year_of(services, now + timedelta(microseconds=1)) == school_year
    taken = await services.a8.enrolment(school_year=school_year)
    out: dict[int, int] = {}
    for district in (u for u in tree.units.values() if u.kind == "district"):
        snapshot = taken.get(district.id)
        if snapshot is not None:
            enrolled, since = snapshot.enrolled, snapshot.taken_at
        else:
            enrolled, exempt = await services.reports.district_enrolment(district.id)
            since = now
            if current and enrolled + exempt:
                await services.a8.take_enrolment(
                    school_year, district.id, enrolled=enrolled, exempt=exempt, now=now
                )
        later = await services.reports.exempted_since(district.id, since)
        out[district.id] = max(enrolled - later, 0)
    return out


async def district_views(
    services: Services, tree: UnitTree, *, as_of: datetime | None = None
) -> list[CaseView]:
    """The open cases of every district (now, or as of an instant)."""
    views: list[CaseView] = []
    for district in (u for u in tree.units.values() if u.kind == "district"):
        views += await case_views(services, unit_scope(district), tree, as_of=as_of)
    return views


# --- the month-end freeze --------------------------------------------------------------------


def _name(tree: UnitTree, unit_id: int) -> str:
    unit = tree.get(unit_id)
    return unit.name if unit else ""


def evidence_of(flag: Flag, tree: UnitTree, services: Services, at: datetime) -> dict[str, Any]:
    """What a frozen flag keeps: its figures, unit names, and each case with its actions."""
    tz = services.policy.time.tz
    cases = []
    for case in flag.cases:
        school = tree.get(case.school_id)
        months = 0
        if case.marked_at is not None:
            while add_months(case.marked_at, months + 1, tz) <= at and months < 120:
                months += 1
        cases.append(
            {
                "number": case.number,
                "school": school.name if school else "",
                "marked_on": case.marked_at.astimezone(tz).date().isoformat()
                if case.marked_at
                else None,
                "months": months,
                "persuasion": [
                    [p.kind, p.at.astimezone(tz).isoformat(timespec="minutes"), p.actor]
                    for p in case.persuasion
                ],
            }
        )
    unit = tree.get(flag.unit_id)
    return {
        "unit": unit.name if unit else "",
        "count": flag.count,
        "threshold": flag.threshold,
        "enrolled": flag.enrolled,
        "percent": round(flag.percent, 3),
        "schools": [_name(tree, s) for s in flag.schools],
        "cases": cases,
    }


async def freeze_due_months(services: Services) -> list[str]:
    """Freeze every ended month not frozen yet (oldest first); the periods frozen."""
    first = await services.reports.first_report()
    if first is None:
        return []
    tz = services.policy.time.tz
    now = services.clock.now()
    current = period_of(now, tz)
    earliest = period_of(max(first, now - timedelta(days=31 * CATCH_UP_MONTHS)), tz)
    frozen = await services.a8.frozen_periods()
    done: list[str] = []
    period = earliest
    tree: UnitTree | None = None
    while period < current:
        if period not in frozen:
            tree = tree or await unit_tree(services)
            await freeze_month(services, period, tree)
            done.append(period)
        period = next_period(period)
    return done


async def freeze_month(services: Services, period: str, tree: UnitTree) -> bool:
    """Evaluate one month as of its last instant and freeze it (False: frozen already).
    Its flags join the school year's record too, if it does not hold them yet."""
    as_of = month_end(period, services.policy.time.tz)
    school_year = school_year_of(services, as_of)
    flags, facts, enrolled = await district_flags(services, tree, as_of=as_of)
    frozen = [
        FrozenFlag(f.rule, f.unit_id, f.level, evidence_of(f, tree, services, as_of))
        for f in flags
        if f.unit_id
    ]
    done = await services.a8.freeze_month(
        period=period,
        school_year=school_year,
        as_of=as_of,
        enrolled=sum(enrolled.values()),
        dropouts=sum(1 for c in facts if c.is_dropout(as_of)),
        flags=frozen,
        now=services.clock.now(),
    )
    if done:
        await services.a8.record_findings(
            findings_of(flags, tree, services, as_of), now=services.clock.now()
        )
    return done


async def district_flags(
    services: Services, tree: UnitTree, *, as_of: datetime | None = None
) -> tuple[list[Flag], list[CaseA8], dict[int, int]]:
    """Every district's flags now or as they stood at ``as_of``, with the facts and the
    year-start enrolment they were counted against."""
    at = as_of or services.clock.now()
    views = await district_views(services, tree, as_of=as_of)
    facts = await a8_cases(services, views, tree, as_of=as_of)
    enrolled = await year_enrolment(services, tree, school_year_of(services, at))
    by_district = _by_district(facts, tree)
    flags: list[Flag] = []
    for district_id in sorted(set(by_district) | set(enrolled)):
        flags += evaluate(
            by_district.get(district_id, []),
            services.policy,
            at,
            district_id=district_id,
            enrolled=enrolled.get(district_id, 0),
        )
    return flags, facts, enrolled


# --- the school year's record ----------------------------------------------------------------


def earned_at(flag: Flag, policy: Policy, at: datetime) -> datetime:
    """When a flag was earned: A8.2/A8.3 the last dropout mark that made the count; A8.4/A8.5
    the instant the step's count passed the threshold; A8.1 the instant evaluated."""
    if flag.rule in (Rule.PRIMARY, Rule.JUNIOR):
        marks = sorted(c.marked_at for c in flag.cases if c.marked_at is not None)
        return marks[int(flag.threshold) - 1] if len(marks) >= flag.threshold else at
    if flag.rule in (Rule.TOWNSHIP, Rule.DEPARTMENT):
        times = sorted(
            when
            for c in flag.cases
            if (when := qualifies_at(c, flag.level, policy, flag.rule, flag.unit_id)) is not None
        )
        over = int(flag.threshold)
        return times[over] if len(times) > over else at
    return at


def findings_of(
    flags: Sequence[Flag], tree: UnitTree, services: Services, at: datetime
) -> list[YearFinding]:
    school_year = school_year_of(services, at)
    out = []
    for flag in flags:
        if not flag.unit_id:
            continue
        evidence = evidence_of(flag, tree, services, at)
        evidence["case_ids"] = [c.case_id for c in flag.cases]
        when = earned_at(flag, services.policy, at)
        out.append(YearFinding(school_year, flag.rule, flag.unit_id, flag.level, when, evidence))
    return out


YEAR_CHECK = "a8_year"


async def record_year(services: Services) -> list[YearFinding]:
    """Add to the school year's record every finding earned since the last pass: now, and
    just before each case closed since then (a child back before the pass keeps the finding
    the case carried). The findings recorded (new only)."""
    now = services.clock.now()
    last = await services.a8.checked_until(YEAR_CHECK)
    instants: list[datetime | None] = [None]
    if last is not None:
        closed = await services.reports.closed_between(last, now)
        instants += sorted({c - timedelta(microseconds=1) for c in closed})
    tree = await unit_tree(services)
    new: list[YearFinding] = []
    for as_of in instants:
        flags, _facts, _enrolled = await district_flags(services, tree, as_of=as_of)
        found = findings_of(flags, tree, services, as_of or now)
        new += await services.a8.record_findings(found, now=now)
    await services.a8.set_checked(YEAR_CHECK, now)
    return new


# --- warnings to the responsible leaders -----------------------------------------------------


def _recipients(
    warning: Warning,
    views: Mapping[int, CaseView],
    tree: UnitTree,
    directory: Directory,
    ranks: dict[int, str],
) -> list[Person]:
    """Who answers for the flag a warning is about: the school's principal, lead and class
    teacher (A8.2/A8.3), or the leader the coming step names (分管 or 主要, :func:`by_rank`)."""
    people: list[Person] = []
    if warning.rule in (Rule.PRIMARY, Rule.JUNIOR):
        for case in warning.cases:
            view = views.get(case.case_id)
            if view is None:
                continue
            place = tree.place(view.row)
            for role in (Role.PRINCIPAL, Role.SCHOOL_LEAD, Role.CLASS_TEACHER):
                people += holders_of(role, place, directory)
    else:
        leaders: list[Person] = []
        for role in LEADER_ROLES[warning.rule]:
            leaders += directory.holders(role, tree.get(warning.unit_id))
        wanted = STEP_RANKS.get((warning.rule, warning.level), ())
        people = [a.person for a in by_rank(leaders, ranks, wanted)]
    unique = {p.id: p for p in people if reachable(p)}
    return [unique[k] for k in sorted(unique)]


def warning_key(warning: Warning, person_id: int, tz: Any, now: datetime) -> str:
    """One warning per case (or unit and step), rule, kind and period, per recipient."""
    case = warning.case
    subject = f"c{case.case_id}" if case is not None else f"u{warning.unit_id}:{warning.level}"
    period = period_of(warning.deadline or now, tz)
    return f"a8:{warning.rule}:{warning.kind}:{subject}:{period}:{person_id}"


@dataclass(frozen=True)
class WarningsDue:
    """The warnings due now, each with the people who answer for it."""

    now: datetime
    warnings: tuple[tuple[Warning, tuple[Person, ...]], ...]
    unit_names: dict[int, str]


async def warnings_due(services: Services) -> WarningsDue:
    """The warnings due now across the districts, with their reachable recipients."""
    now = services.clock.now()
    tree = await unit_tree(services)
    views = await district_views(services, tree)
    enrolled = await year_enrolment(services, tree, school_year_of(services, now))
    _flags, warns = await live_a8(services, views, tree, enrolled=enrolled)
    names = {u.id: u.name for u in tree.units.values()}
    if not warns:
        return WarningsDue(now, (), names)
    by_id = {v.row.id: v for v in views}
    unit_ids: set[int] = {u.id for u in tree.units.values() if u.kind in ("district", "department")}
    teachers: set[int] = set()
    for warning in warns:
        unit_ids.add(warning.unit_id)
        for case in warning.cases:
            view = by_id.get(case.case_id)
            if view is not None:
                unit_ids |= tree.place(view.row).unit_ids()
                if view.row.teacher_id is not None:
                    teachers.add(view.row.teacher_id)
    people = await services.reports.people_in_units(unit_ids)
    people += list((await services.reports.people_by_id(teachers)).values())
    directory = Directory(people, tree.departments())
    ranks = await services.a8.leader_ranks(p.id for p in people)
    out = tuple((w, tuple(_recipients(w, by_id, tree, directory, ranks))) for w in warns)
    return WarningsDue(now, out, names)


# --- /accountability -------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountabilityView:
    """The school year so far: each frozen month with its flags, then this month's live."""

    year_start: date
    year_end: date
    months: tuple[FrozenMonth, ...]
    now: datetime
    flags: tuple[Flag, ...]
    unit_names: dict[int, str]
    record: YearRecord | None = None  # the year's findings (for 年终考核)


async def accountability_view(services: Services, person: Person) -> AccountabilityView | None:
    """The school year so far, for district leaders and the bureau (None for others)."""
    if not person.active or person.role not in ACCOUNTABILITY_ROLES:
        return None
    tz = services.policy.time.tz
    now = services.clock.now()
    year_start, year_end = services.policy.accountability.school_year(now.astimezone(tz).date())
    months = await services.a8.months(school_year=year_start.year)
    tree = await unit_tree(services)
    views = await district_views(services, tree)
    enrolled = await year_enrolment(services, tree, year_start.year)
    flags, _warns = await live_a8(services, views, tree, enrolled=enrolled)
    names = {u.id: u.name for u in tree.units.values()}
    record = await year_record(services, year_start.year, tree=tree)
    return AccountabilityView(year_start, year_end, tuple(months), now, tuple(flags), names, record)


__all__ = [
    "ACCOUNTABILITY_ROLES",
    "AccountabilityView",
    "WarningsDue",
    "a8_cases",
    "accountability_view",
    "district_views",
    "evidence_of",
    "freeze_due_months",
    "freeze_month",
    "live_a8",
    "warning_key",
    "warnings_due",
]
