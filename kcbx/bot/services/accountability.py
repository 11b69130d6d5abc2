"""A8 in the running bot: live flags and warnings, the month-end freeze, ``/accountability``.

The rules are pure (:mod:`kcbx.bot.domain.accountability`); this module loads the facts, as they
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

from kcbx.bot.domain.accountability import (
    CaseA8,
    Flag,
    Rule,
    add_months,
    evaluate,
    month_end,
    next_period,
    period_of,
)
from kcbx.bot.domain.accountability_warnings import Warning, warnings
from kcbx.bot.domain.model import Person
from kcbx.bot.domain.recipients import Directory, holders_of, reachable
from kcbx.bot.domain.roles import DISTRICT_ROLES, Role
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.caseviews import CaseView, UnitTree, a8_case, case_views, unit_tree
from kcbx.storage.accountability_repo import FrozenFlag, FrozenMonth
from kcbx.storage.reports_repo import unit_scope

ACCOUNTABILITY_ROLES = DISTRICT_ROLES
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

    ``enrolled``: students per district (A8.1's denominator); a district without it is not
    evaluated under A8.1 (a township's summary does not need it).
    """
    now = services.clock.now()
    facts = await a8_cases(services, views, tree)
    by_district: dict[int, list[CaseA8]] = defaultdict(list)
    for view, case in zip(views, facts, strict=True):
        district = tree.nearest(view.row.school_id, "district")
        by_district[district.id if district else 0].append(case)
    flags: list[Flag] = []
    warns: list[Warning] = []
    for district_id, cases in sorted(by_district.items()):
        count = (enrolled or {}).get(district_id, 0)
        flags += evaluate(cases, services.policy, now, district_id=district_id, enrolled=count)
        warns += warnings(cases, services.policy, now, district_id=district_id, enrolled=count)
    return flags, warns


async def _district_enrolled(services: Services, tree: UnitTree) -> dict[int, int]:
    out: dict[int, int] = {}
    for district in (u for u in tree.units.values() if u.kind == "district"):
        counts = await services.reports.enrolled_by_school(unit_scope(district))
        out[district.id] = sum(counts.values())
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
    """Evaluate one month as of its last instant and freeze it (False: frozen already)."""
    tz = services.policy.time.tz
    as_of = month_end(period, tz)
    year_start, _ = services.policy.accountability.school_year(
        (as_of - timedelta(seconds=1)).astimezone(tz).date()
    )
    views = await district_views(services, tree, as_of=as_of)
    facts = await a8_cases(services, views, tree, as_of=as_of)
    enrolled = await _baseline_enrolled(services, tree, year_start.year)
    by_district: dict[int, list[CaseA8]] = defaultdict(list)
    for view, case in zip(views, facts, strict=True):
        district = tree.nearest(view.row.school_id, "district")
        by_district[district.id if district else 0].append(case)
    flags: list[Flag] = []
    for district_id in sorted(set(by_district) | set(enrolled)):
        flags += evaluate(
            by_district.get(district_id, []),
            services.policy,
            as_of,
            district_id=district_id,
            enrolled=enrolled.get(district_id, 0),
        )
    frozen = [
        FrozenFlag(f.rule, f.unit_id, f.level, evidence_of(f, tree, services, as_of))
        for f in flags
        if f.unit_id
    ]
    return await services.a8.freeze_month(
        period=period,
        school_year=year_start.year,
        as_of=as_of,
        enrolled=sum(enrolled.values()),
        dropouts=sum(1 for c in facts if c.is_dropout(as_of)),
        flags=frozen,
        now=services.clock.now(),
    )


async def _baseline_enrolled(
    services: Services, tree: UnitTree, school_year: int
) -> dict[int, int]:
    """A8.1's denominator: students enrolled at the start of the school year. The roster has
    no history, so the first frozen month of the year keeps the count it saw; before that,
    today's count stands in."""
    counts = await _district_enrolled(services, tree)
    months = await services.a8.months(school_year=school_year)
    if months and len(counts) == 1 and months[0].enrolled:
        return {next(iter(counts)): months[0].enrolled}
    return counts


# --- warnings to the responsible leaders -----------------------------------------------------


def _recipients(
    warning: Warning, views: Mapping[int, CaseView], tree: UnitTree, directory: Directory
) -> list[Person]:
    """Who answers for the flag a warning is about (A8's "responsible leaders")."""
    people: list[Person] = []
    if warning.rule in (Rule.PRIMARY, Rule.JUNIOR):
        for case in warning.cases:
            view = views.get(case.case_id)
            if view is None:
                continue
            place = tree.place(view.row)
            for role in (Role.PRINCIPAL, Role.SCHOOL_LEAD, Role.CLASS_TEACHER):
                people += holders_of(role, place, directory)
    elif warning.rule == Rule.TOWNSHIP:
        people += directory.holders(Role.TOWNSHIP_LEADER, tree.get(warning.unit_id))
    elif warning.rule == Rule.DEPARTMENT:
        people += directory.holders(Role.DEPARTMENT_LIAISON, tree.get(warning.unit_id))
    else:
        for role in (Role.DISTRICT_LEADER, Role.BUREAU_STAFF):
            people += directory.holders(role, tree.get(warning.unit_id))
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
    enrolled = await _district_enrolled(services, tree)
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
    out = tuple((w, tuple(_recipients(w, by_id, tree, directory))) for w in warns)
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
    flags, _warns = await live_a8(
        services, views, tree, enrolled=await _district_enrolled(services, tree)
    )
    names = {u.id: u.name for u in tree.units.values()}
    return AccountabilityView(year_start, year_end, tuple(months), now, tuple(flags), names)


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
