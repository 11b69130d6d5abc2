"""The ledger (台账) the offices file: ``/export`` in chat and ``kcbx export FILE.xlsx``.

Scoped like ``/summary``. Every case of the school year appears from its report, one row per
child per case: suspected dropouts, dropouts (past A7.3), children back at school (before
day 7 too) and cases closed otherwise. This module gathers the cases, their students,
guardians, class teachers, 三包 cadres (A5.1), notices (A7.4, A7.5) and A8 flags, and turns
them into the view models of kcbx/bot/documents/ledger.py in the reader's words: causes,
outcomes and departments named, articles as 第七条, dates as 2024年3月4日, no codes. Every
export is written to the audit log (who, when, what scope, how many rows).
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from kcbx.bot.documents.ledger import LedgerBook, LedgerRow, render_workbook  # openpyxl: lazy
from kcbx.bot.domain.grades import grade_class, grade_style
from kcbx.bot.domain.i18n import Translate
from kcbx.bot.domain.ladder.state import STAGE_NAMES, Stage, TaskCode, ladder_state
from kcbx.bot.domain.model import Guardian, Notice, Person, Student, Unit
from kcbx.bot.domain.policy.tree import CAUSES
from kcbx.bot.domain.roles import Role
from kcbx.bot.runtime.memory import give_back
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.accountability import live_a8
from kcbx.bot.services.caseviews import Counts, open_counts
from kcbx.bot.services.ledger_words import (
    ARTICLE_OF,
    CATEGORY,
    STATUS,
    FlagRow,
    action_rows,
    article,
    day_text,
    flag_lines,
    flag_text,
    notes_of,
    persuasion_text,
    whereabouts,
)
from kcbx.bot.services.summary import (
    DROPOUT_STAGES,
    SUMMARY_ROLES,
    CaseView,
    UnitTree,
    action_facts_of,
    case_facts_of,
    periods,
    summary_scope,
    unit_tree,
)
from kcbx.bot.texts.cases import A9_FLAG_NAMES
from kcbx.storage.reports_repo import ActionRecord, CaseRow, ReportScope, unit_scope

__all__ = [
    "ARTICLE_OF",
    "FlagRow",
    "Ledger",
    "LedgerCase",
    "UnknownScope",
    "article",
    "build_ledger",
    "export_for_person",
    "export_for_unit",
    "gather",
    "ledger_counts",
    "ledger_filename",
]


@dataclass(frozen=True)
class Ledger:
    """An exported workbook and what it holds (``counts`` as every report counts them)."""

    data: bytes
    filename: str
    counts: Counts
    actions: int
    flags: int
    cases: int = 0
    place: str = ""

    @property
    def dropouts(self) -> int:
        return self.counts.dropout

    @property
    def suspected(self) -> int:
        return self.counts.suspected


@dataclass(frozen=True)
class LedgerCase:
    row: CaseRow
    actions: tuple[ActionRecord, ...]
    stage: Stage  # now, or when it closed
    day: int
    marked_on: date | None
    flags: tuple[tuple[str, str], ...]  # (rule, period): ("A8.4", "2024-03"), ("A8.2", "")

    @property
    def reached_dropout(self) -> bool:
        return self.stage in DROPOUT_STAGES or self.marked_on is not None


# --- gathering -------------------------------------------------------------------------------


async def gather(
    services: Services, scope: ReportScope, tree: UnitTree
) -> tuple[list[LedgerCase], list[FlagRow]]:
    """The cases of the school year with their stage and flags, and the year's flags
    (frozen months, then this month's)."""
    now = services.clock.now()
    tz = services.policy.time.tz
    rows = await services.reports.ledger_cases(scope, closed_since=periods(services, now).year)
    await tree.ensure(services, {r.school_id for r in rows} | {r.household_unit_id for r in rows})
    actions = await services.reports.actions_of([r.id for r in rows])
    cases: list[LedgerCase] = []
    open_views = []
    for row in rows:
        records = tuple(actions.get(row.id, ()))
        facts = action_facts_of(records)
        as_of = now if row.status == "open" else (row.closed_at or now) - timedelta(seconds=1)
        state = ladder_state(
            case_facts_of(row, tree, as_open=row.status != "open"),
            facts,
            services.policy,
            services.calendar,
            as_of,
        )
        if row.status == "open":
            open_views.append(CaseView(row, records, state))
        mark = state.task(TaskCode.MARK)
        marked_on = (
            mark.opens_at.astimezone(tz).date()
            if mark is not None and state.stage in DROPOUT_STAGES
            else None
        )
        cases.append(LedgerCase(row, records, state.stage, state.day, marked_on, ()))
    flag_rows, by_number = await _flags(services, scope, tree, open_views)
    return [
        LedgerCase(c.row, c.actions, c.stage, c.day, c.marked_on, tuple(by_number[c.row.number]))
        for c in cases
    ], flag_rows


async def _flags(
    services: Services, scope: ReportScope, tree: UnitTree, open_views: list[CaseView]
) -> tuple[list[FlagRow], dict[str, list[tuple[str, str]]]]:
    now = services.clock.now()
    top = tree.get(scope.unit_id)
    enrolled = None
    if top is not None and top.kind == "district":  # A8.1 is the district's
        enrolled = {top.id: sum((await services.reports.enrolled_by_school(scope)).values())}
    live, _warnings = await live_a8(services, open_views, tree, enrolled=enrolled)
    year_start, _ = services.policy.accountability.school_year(
        now.astimezone(services.policy.time.tz).date()
    )
    by_number: dict[str, list[tuple[str, str]]] = defaultdict(list)
    flag_rows: list[FlagRow] = []
    for month in await services.a8.months(school_year=year_start.year):
        for frozen in month.flags:
            if not _flag_in_scope(frozen.unit_id, scope.unit_id, tree):
                continue
            numbers = tuple(str(c.get("number", "")) for c in frozen.evidence.get("cases", []))
            unit = str(frozen.evidence.get("unit", ""))
            flag_rows.append(FlagRow(month.period, frozen.rule, unit, frozen.level, numbers))
            for number in numbers:
                by_number[number].append((frozen.rule, month.period))
    for flag in live:
        if not _flag_in_scope(flag.unit_id, scope.unit_id, tree):
            continue
        unit_of = tree.get(flag.unit_id)
        numbers = tuple(c.number for c in flag.cases)
        name = unit_of.name if unit_of else ""
        flag_rows.append(FlagRow("", flag.rule.value, name, flag.level.value, numbers))
        for number in numbers:
            by_number[number].append((flag.rule.value, ""))
    return flag_rows, by_number


def _flag_in_scope(unit_id: int, scope_unit: int, tree: UnitTree) -> bool:
    unit, top = tree.get(unit_id), tree.get(scope_unit)
    if unit is None or top is None:
        return False
    if unit.kind in ("district", "department"):
        return top.kind == "district"
    return tree.within(unit_id, scope_unit)


@dataclass(frozen=True)
class _People:
    """What the rows need besides the cases, fetched in batches once per export."""

    students: dict[int, Student]
    guardians: dict[int, list[Guardian]]
    teachers: dict[int, Person]
    cadres: dict[tuple[int, Role], list[Person]]  # by the unit they are attached to
    notices: dict[int, list[Notice]]


async def _people(services: Services, cases: Sequence[LedgerCase], tree: UnitTree) -> _People:
    student_ids = sorted({c.row.student_id for c in cases})
    enrolled = await services.directory.students(student_ids)
    students = {student_id: found.student for student_id, found in enrolled.items()}
    guardians = {i: await services.students.guardians(i) for i in student_ids}
    teacher_ids = {c.row.teacher_id for c in cases if c.row.teacher_id is not None}
    teachers = await services.directory.people(teacher_ids)
    units = {u.id for c in cases for u in tree.ancestors(c.row.household_unit_id)}
    cadres: dict[tuple[int, Role], list[Person]] = defaultdict(list)
    for person in await services.directory.people_in_units(units):
        if person.unit_id is not None:
            cadres[(person.unit_id, person.role)].append(person)
    notices = {c.row.id: await services.notices.of_case(c.row.id) for c in cases}
    return _People(students, guardians, teachers, cadres, notices)


def _chain(household: int | None, tree: UnitTree, people: _People) -> tuple[str, str, str]:
    """The 三包 cadres of a household (A5.1): who covers its village, its group, itself."""
    group, village = _nearest(tree, household, "group"), _nearest(tree, household, "village")

    def names(*places: tuple[Unit | None, Role]) -> str:
        for unit, role in places:
            found = people.cadres.get((unit.id, role), []) if unit is not None else []
            if found:
                return "、".join(p.name for p in found)
        return ""

    return (
        names((village, Role.TOWNSHIP_CADRE)),
        names((group, Role.VILLAGE_CADRE), (village, Role.VILLAGE_CADRE)),
        names((group, Role.GROUP_CADRE)),
    )


def _nearest(tree: UnitTree, unit_id: int | None, kind: str) -> Unit | None:
    return next((u for u in tree.ancestors(unit_id) if u.kind == kind), None)


def _with_phone(person: Person | None) -> str:
    if person is None:
        return ""
    return f"{person.name}\n{person.phone}" if person.phone else person.name


def ledger_rows(
    services: Services, cases: Sequence[LedgerCase], tree: UnitTree, people: _People, t: Translate
) -> Iterator[LedgerRow]:
    """The cases as the ledger prints them, in the reader's words, one at a time (the
    workbook writes each as it comes)."""
    tz = services.policy.time.tz
    today = services.clock.now().astimezone(tz).date()
    later: dict[int, list[CaseRow]] = defaultdict(list)
    for case in cases:
        later[case.row.student_id].append(case.row)
    style = grade_style(services.config.grade_style)
    for case in cases:
        row = case.row
        student = people.students.get(row.student_id)
        guardians = [g for g in people.guardians.get(row.student_id, []) if g.name.strip()]
        township = next(
            (u for u in tree.ancestors(row.household_unit_id) if u.kind == "township"), None
        )
        school = tree.get(row.school_id)
        closed_on = row.closed_at.astimezone(tz).date() if row.closed_at else None
        notices = [n for n in people.notices.get(row.id, []) if n.status != "replaced"]
        notice = next((n for n in notices if n.kind == "notice"), None)
        corrections = [n for n in notices if n.kind == "correction"]
        yield LedgerRow(
            case_number=row.number,
            township=township.name if township else "",
            school=school.name if school else "",
            grade_class=grade_class(row.grade, row.class_name, style),
            student=row.student_name,
            sex={"M": t("male"), "F": t("female")}.get(row.gender or "", ""),
            birth_date=_date(student.birth_date) if student else None,
            registry_no=row.registry_no,
            household=tree.path(row.household_unit_id).replace("/", ""),
            guardians="\n".join(g.name for g in guardians),
            relations="\n".join(g.relation or "" for g in guardians),
            phones="\n".join(g.phone or "" for g in guardians),
            class_teacher=_with_phone(people.teachers.get(row.teacher_id or 0)),
            **dict(
                zip(
                    ("township_cadre", "village_cadre", "group_cadre"),
                    _chain(row.household_unit_id, tree, people),
                    strict=True,
                )
            ),
            vulnerable="、".join(
                t(A9_FLAG_NAMES[f]) if f in A9_FLAG_NAMES else f for f in row.a9_flags
            ),
            cause=t(CAUSES.get(row.cause, row.cause)),
            absent_since=row.absent_since,
            reported_on=row.reported_at.astimezone(tz).date(),
            category=t(CATEGORY[case.reached_dropout]),
            status=_status(case, t),
            marked_on=case.marked_on,
            persuasion=persuasion_text(case.actions, tz, t),
            notice_number=notice.number if notice else "",
            notice_delivered=notice.delivered_on if notice else None,
            notice_deadline=notice.deadline if notice else None,
            correction="\n".join(_document_text(n, t) for n in corrections),
            returned_on=closed_on if row.status == "returned" else None,
            whereabouts=whereabouts(row, case.actions, t),
            follow_up=_follow_up(row, closed_on, later[row.student_id], today, t),
            flags="\n".join(flag_text(rule, period, t) for rule, period in case.flags),
        )


def _school_name(tree: UnitTree, school_id: int) -> str:
    school = tree.get(school_id)
    return school.name if school else ""


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _status(case: LedgerCase, t: Translate) -> str:
    if case.row.status != "open":
        return t(STATUS.get(case.row.status, case.row.status))
    return t("in progress: {stage}").format(stage=t(STAGE_NAMES[case.stage]))


def _document_text(notice: Notice, t: Translate) -> str:
    parts = [notice.number]
    if notice.delivered_on:
        parts.append(t("delivered {date}").format(date=day_text(notice.delivered_on, t)))
    if notice.deadline:
        parts.append(t("due {date}").format(date=day_text(notice.deadline, t)))
    return t(", ").join(parts)


def _follow_up(
    row: CaseRow, closed_on: date | None, cases: list[CaseRow], today: date, t: Translate
) -> str:
    """After a return (A4.2): a later absence of the same child, or none since the return."""
    if row.status != "returned" or closed_on is None:
        return ""
    again = sorted(
        (c for c in cases if c.id != row.id and c.absent_since >= closed_on),
        key=lambda c: c.absent_since,
    )
    if again:
        return t("absent again from {date} (case {number})").format(
            date=day_text(again[0].absent_since, t), number=again[0].number
        )
    return t("no absence recorded since the return (as of {date})").format(date=day_text(today, t))


# --- exporting -------------------------------------------------------------------------------


def ledger_filename(unit: Unit, when: datetime, t: Translate) -> str:
    """``控辍保学台账_沙坡头区_20240304.xlsx``; in English ``Dropout-control-ledger_...``:
    the place keeps its name, nothing else is in another language than the reader's."""
    safe = re.sub(r"[\\/:*?\"<>|\s]+", "_", unit.name).strip("_") or "kcbx"
    return t("Dropout-control-ledger_{place}_{date}.xlsx").format(
        place=safe, date=when.strftime("%Y%m%d")
    )


async def build_ledger(
    services: Services,
    scope: ReportScope,
    unit: Unit,
    tree: UnitTree,
    *,
    actor: str,
    exported_by: str,
    gettext: Translate,
    via: str,
) -> Ledger:
    """Gather, write the workbook, and record the export in the audit log."""
    cases, flag_rows = await gather(services, scope, tree)
    people = await _people(services, cases, tree)
    now = services.clock.now()
    place = tree.path(unit.id) or unit.name
    counts = ledger_counts(cases)
    book = LedgerBook(
        place=place,
        rows=ledger_rows(services, cases, tree, people, gettext),
        actions=action_rows(
            [(c.row, c.actions, _school_name(tree, c.row.school_id)) for c in cases],
            services.policy.time.tz,
            gettext,
        ),
        flags=flag_lines(flag_rows, gettext),
        notes=notes_of(services, place, exported_by, len(cases), counts, gettext),
    )
    data = await asyncio.to_thread(render_workbook, book, t=gettext)  # consumes the rows
    actions = sum(len(c.actions) for c in cases)
    filename = ledger_filename(unit, now.astimezone(services.policy.time.tz), gettext)
    detail = {
        "scope": place,
        "unit_kind": unit.kind,
        "via": via,
        "cases": len(cases),
        "open": counts.open,
        "dropouts": counts.dropout,
        "suspected": counts.suspected,
        "returned": counts.returned,
        "actions": actions,
        "flags": len(flag_rows),
        "file": filename,
    }
    await services.audit.record(now, actor, "export", "ledger", unit.id, detail)
    return Ledger(data, filename, counts, actions, len(flag_rows), len(cases), place)


def ledger_counts(cases: Sequence[LedgerCase]) -> Counts:
    """The open cases now by where the ladder puts them, and the returns of the year's rows:
    the summary's counts of the same scope."""
    returned = sum(1 for c in cases if c.row.status == "returned")
    return open_counts((c.stage for c in cases if c.row.status == "open"), returned)


async def export_for_person(
    services: Services, person: Person, *, gettext: Translate
) -> Ledger | None:
    """The ledger of a leader's scope (None for anyone else)."""
    if not person.active or person.role not in SUMMARY_ROLES or person.unit_id is None:
        return None
    tree = await unit_tree(services, person.unit_id)
    unit = tree.get(person.unit_id)
    if unit is None:
        return None
    ledger = await build_ledger(
        services,
        summary_scope(person, unit, tree),
        unit,
        tree,
        actor=f"person:{person.id}",
        exported_by=person.name,
        gettext=gettext,
        via="chat",
    )
    give_back()  # the cases and the workbook's rows: the process need not keep their peak
    return ledger


class UnknownScope(Exception):
    """``--scope`` names no district, township or school (or more than one)."""


async def export_for_unit(
    services: Services, unit_text: str | None, *, actor: str, gettext: Translate
) -> Ledger:
    """The ledger of a unit (the district when none is given), for the CLI."""
    tree = await unit_tree(services)
    kinds = ("district", "township", "school")
    if unit_text:
        found = await services.units.find(unit_text, kinds)
    else:
        found = [u for u in tree.units.values() if u.kind == "district"]
    if len(found) != 1:
        raise UnknownScope(unit_text or "")
    unit = found[0]
    return await build_ledger(
        services,
        unit_scope(unit),
        unit,
        tree,
        actor=actor,
        exported_by=actor,
        gettext=gettext,
        via="cli",
    )
