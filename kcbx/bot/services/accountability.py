"""A8 in the running bot: live flags and warnings, the month-end freeze, ``/accountability``.

The rules are pure (:mod:`kcbx.bot.domain.accountability`); this module loads the facts, as they
stand now or as they stood at a month's end, and writes what follows:

* :func:`live_a8`: the flags earned now and the warnings due, for the summaries;
* :func:`freeze_due_months`: every month that has ended and is not frozen yet is evaluated
  *as of its last instant* (cases open then, actions recorded by then, referrals made by
  then) and frozen with its evidence (insert-only, 0005). Run late, after a week offline,
  it writes what it would have written on time; a later change of the cases (a persuasion
  recorded afterwards, back-dated or not; a return) does not change a frozen month;
* :func:`queue_warnings`: the warnings to the responsible leaders through the outbox, once
  per case (or unit), rule and period (key ``a8:{rule}:{kind}:{subject}:{period}:{person}``);
* :func:`accountability_view`: the school year so far, month by month, for district
  leaders and the bureau.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from html import escape
from typing import Any

from kcbx.bot.domain.accountability import (
    LEVEL_NAMES,
    CaseA8,
    Flag,
    Level,
    Rule,
    Warning,
    WarningKind,
    add_months,
    evaluate,
    month_end,
    next_period,
    period_of,
    warnings,
)
from kcbx.bot.domain.caseactions import case_data
from kcbx.bot.domain.dates import format_date
from kcbx.bot.domain.i18n import Translate, translator
from kcbx.bot.domain.model import Person
from kcbx.bot.domain.recipients import Directory, holders_of, reachable
from kcbx.bot.domain.reminders import quiet_hours_next_send
from kcbx.bot.domain.roles import DISTRICT_ROLES, Role
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.summary import (
    CaseView,
    Reply,
    UnitTree,
    a8_case,
    case_views,
    fit,
    format_when,
    unit_tree,
)
from kcbx.storage.accountability_repo import FrozenFlag, FrozenMonth
from kcbx.storage.outbox import OutgoingMessage
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


async def queue_warnings(services: Services) -> int:
    """Queue the warnings due now (each once per key); how many were queued."""
    now = services.clock.now()
    tree = await unit_tree(services)
    views = await district_views(services, tree)
    enrolled = await _district_enrolled(services, tree)
    _flags, warns = await live_a8(services, views, tree, enrolled=enrolled)
    if not warns:
        return 0
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
    names = {u.id: u.name for u in tree.units.values()}
    not_before = quiet_hours_next_send(now, services.policy)
    tz = services.policy.time.tz
    queued = 0
    for warning in warns:
        for person in _recipients(warning, by_id, tree, directory):
            key = warning_key(warning, person.id, tz, now)
            if await services.outbox.has_key(key):
                continue
            lang = person.lang or services.config.default_language
            t = translator(lang)
            text = (
                t("<b>Accountability warning</b>")
                + "\n"
                + warning_text(warning, names, t, lang, services)
            )
            subject = warning.case
            buttons = (((t("Open the case"), case_data(subject.case_id)),),) if subject else ()
            assert person.chat_id is not None
            if await services.outbox.enqueue(
                key=key,
                chat_id=person.chat_id,
                message=OutgoingMessage(text=text, buttons=buttons),
                now=now,
                not_before=not_before,
                person_id=person.id,
                case_id=subject.case_id if subject else None,
            ):
                queued += 1
    return queued


# --- texts -----------------------------------------------------------------------------------


def _numbers(numbers: Sequence[str], t: Translate) -> str:
    shown = ", ".join(f"<b>{escape(n)}</b>" for n in numbers[:CASES_SHOWN])
    if len(numbers) > CASES_SHOWN:
        shown += t(" and {count} more").format(count=len(numbers) - CASES_SHOWN)
    return shown


def _day_before(instant: datetime, services: Services, t: Translate, lang: str) -> str:
    """The last day before an instant that starts a day (a mark at midnight), or its day."""
    local = instant.astimezone(services.policy.time.tz)
    if local.hour == 0 and local.minute == 0:
        local -= timedelta(seconds=1)
    return format_date(local.date(), t, lang)


def _flag_body(
    rule: str,
    level: Level,
    *,
    count: object,
    numbers: str,
    schools: str,
    percent: float,
    enrolled: object,
    threshold: float,
    t: Translate,
) -> str:
    if rule == Rule.ATTRITION:
        return t(
            "attrition {percent}% ({count} dropouts of {enrolled} students), above {threshold}%"
        ).format(
            percent=f"{percent:.2f}", count=count, enrolled=enrolled, threshold=f"{threshold:g}"
        )
    if rule in (Rule.PRIMARY, Rule.JUNIOR):
        return t("dropouts with no persuasion recorded: {count} ({cases})").format(
            count=count, cases=numbers
        )
    if schools:
        return t("{level}: dropouts at {schools}: {count} ({cases})").format(
            level=t(LEVEL_NAMES[level]), schools=schools, count=count, cases=numbers
        )
    return t("{level}: dropouts: {count} ({cases})").format(
        level=t(LEVEL_NAMES[level]), count=count, cases=numbers
    )


def flag_text(
    flag: Flag, unit_names: Mapping[int, str], t: Translate, lang: str, services: Services
) -> str:
    """One line about a flag earned (live)."""
    del lang, services
    body = _flag_body(
        flag.rule,
        flag.level,
        count=flag.count,
        numbers=_numbers([c.number for c in flag.cases], t),
        schools=", ".join(escape(unit_names.get(s, "")) for s in flag.schools),
        percent=flag.percent,
        enrolled=flag.enrolled,
        threshold=flag.threshold,
        t=t,
    )
    return t("⚠ {rule} {unit}: {body} ({consequence})").format(
        rule=flag.rule.value,
        unit=f"<b>{escape(unit_names.get(flag.unit_id, ''))}</b>",
        body=body,
        consequence=t(flag.consequence),
    )


def warning_text(
    warning: Warning,
    unit_names: Mapping[int, str],
    t: Translate,
    lang: str,
    services: Services,
) -> str:
    """One paragraph about a flag that is coming (or about to be frozen)."""
    unit = f"<b>{escape(unit_names.get(warning.unit_id, ''))}</b>"
    rule = warning.rule.value
    case = warning.case
    if warning.kind == WarningKind.NEAR:
        return t(
            "District attrition is {percent}% ({count} dropouts); above {threshold}% the "
            "education bureau is flagged under {rule}."
        ).format(
            percent=f"{warning.percent:.2f}",
            count=warning.count,
            threshold=f"{warning.threshold:g}",
            rule=rule,
        )
    assert warning.deadline is not None
    by = _day_before(warning.deadline, services, t, lang)
    if warning.rule in (Rule.PRIMARY, Rule.JUNIOR) and case is not None:
        number = f"<b>{escape(case.number)}</b>"
        if warning.kind == WarningKind.FREEZE:
            return t(
                "{unit} is flagged under {rule}: case {number} is a dropout with no persuasion "
                "recorded. Unless persuasion is recorded by {date}, the flag is frozen at the "
                "month's end."
            ).format(unit=unit, rule=rule, number=number, date=by)
        return t(
            "Case {number} has no persuasion recorded; {unit} will be flagged under {rule} if "
            "none is recorded by {date}."
        ).format(number=number, unit=unit, rule=rule, date=by)
    numbers = _numbers([c.number for c in warning.cases], t)
    if warning.level == Level.TALK:
        return t(
            "{unit} faces an admonitory talk under {rule} on {date}: {count} dropouts have no "
            "persuasion recorded in their first month ({cases}). Record persuasion before then."
        ).format(unit=unit, rule=rule, date=by, count=warning.count, cases=numbers)
    return t(
        "{unit} faces {level} under {rule} on {date}: {count} dropouts are still not back "
        "({cases})."
    ).format(
        unit=unit,
        level=t(LEVEL_NAMES[warning.level]),
        rule=rule,
        date=by,
        count=warning.count,
        cases=numbers,
    )


def frozen_flag_text(flag: FrozenFlag, t: Translate) -> str:
    """One line about a frozen flag, from its evidence (names as they were then)."""
    evidence = flag.evidence
    body = _flag_body(
        flag.rule,
        Level(flag.level),
        count=evidence.get("count", 0),
        numbers=_numbers([str(c.get("number", "")) for c in evidence.get("cases", [])], t),
        schools=", ".join(escape(str(s)) for s in evidence.get("schools", [])),
        percent=float(evidence.get("percent") or 0),
        enrolled=evidence.get("enrolled", 0),
        threshold=float(evidence.get("threshold") or 0),
        t=t,
    )
    unit = f"<b>{escape(str(evidence.get('unit', '')))}</b>"
    return t("{rule} {unit}: {body}").format(rule=flag.rule, unit=unit, body=body)


# --- /accountability -------------------------------------------------------------------------


async def accountability_view(
    services: Services, person: Person, page: int, *, gettext: Translate, lang: str
) -> Reply | None:
    """The school year so far: each frozen month's flags, then this month (not frozen)."""
    if not person.active or person.role not in ACCOUNTABILITY_ROLES:
        return None
    t = gettext
    tz = services.policy.time.tz
    now = services.clock.now()
    year_start, year_end = services.policy.accountability.school_year(now.astimezone(tz).date())
    months = await services.a8.months(school_year=year_start.year)
    lines = [
        t("<b>Accountability (A8), school year {start}–{end}</b>").format(
            start=year_start.year, end=year_end.year
        ),
        t("Frozen at each month's end with their evidence; they cannot be changed."),
    ]
    for month in months:
        lines.append("")
        lines.append(
            t("<b>{month}</b> (frozen {when}): {count} flags").format(
                month=_month_name(month, t),
                when=format_when(month.frozen_at.astimezone(tz), t, lang),
                count=len(month.flags),
            )
        )
        lines += [" · " + frozen_flag_text(f, t) for f in month.flags]
    tree = await unit_tree(services)
    views = await district_views(services, tree)
    flags, _warns = await live_a8(
        services, views, tree, enrolled=await _district_enrolled(services, tree)
    )
    names = {u.id: u.name for u in tree.units.values()}
    lines.append("")
    lines.append(
        t("<b>This month so far</b> (not frozen yet, as of {when}): {count} flags").format(
            when=format_when(now.astimezone(tz), t, lang), count=len(flags)
        )
    )
    lines += [" · " + flag_text(f, names, t, lang, services) for f in flags]
    chunks = _pages(lines)
    page = min(max(page, 0), len(chunks) - 1)
    nav: list[tuple[str, str]] = []
    if page > 0:
        nav.append((t("◀ Previous"), f"acc:{page - 1}"))
    if page + 1 < len(chunks):
        nav.append((t("Next ▶"), f"acc:{page + 1}"))
    text = chunks[page]
    if len(chunks) > 1:
        text += "\n" + t("Page {page} of {pages}").format(page=page + 1, pages=len(chunks))
    return Reply(text, (tuple(nav),) if nav else ())


def _month_name(month: FrozenMonth, t: Translate) -> str:
    year, number = month.period.split("-")
    return t("{year}-{month}").format(year=year, month=int(number))


def _pages(lines: Sequence[str], limit: int = 3800) -> list[str]:
    out: list[list[str]] = [[]]
    size = 0
    for line in lines:
        if out[-1] and size + len(line) + 1 > limit:
            out.append([])
            size = 0
        out[-1].append(line[:limit])
        size += len(line) + 1
    return [fit(chunk) for chunk in out]


__all__ = [
    "ACCOUNTABILITY_ROLES",
    "a8_cases",
    "accountability_view",
    "district_views",
    "evidence_of",
    "flag_text",
    "freeze_due_months",
    "freeze_month",
    "frozen_flag_text",
    "live_a8",
    "queue_warnings",
    "warning_key",
    "warning_text",
]
