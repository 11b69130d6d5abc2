"""The ledger (台账) the offices file, as an Excel workbook: ``/export`` in chat and
``kcbx export FILE.xlsx [--scope UNIT]``.

Sheets, scoped like ``/summary``:

1. the dropout ledger: every case of the school year that reached A7.3 (open, or closed since
   the school year began, with how it closed);
2. the suspected-dropout ledger: open cases before day 7 (A7.1, A7.2);
3. the record of actions: every action on those cases, when, what, who recorded it;
4. the A8 flags: this month's (live) and the frozen months' of the school year;
5. notes: scope, time, who exported, the definitions.

Each case row carries its student, school, household, cause, stage, dates, its recorded
actions with who recorded them, and its A8 flags. Chinese headers (the reader's language),
frozen header row, column widths, real dates with a date format, A4 landscape, one page wide,
the header row repeated on every printed page. Every export is written to the audit log (who,
when, what scope, how many rows).
"""

from __future__ import annotations

import asyncio
import io
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from kcbx.bot.domain.accountability import CONSEQUENCES, LEVEL_NAMES, Level, Rule
from kcbx.bot.domain.caseactions import ACTION_NAMES
from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.domain.ladder import STAGE_NAMES, ActionKind, Stage, TaskCode, ladder_state
from kcbx.bot.domain.model import Person, Unit
from kcbx.bot.domain.policy import CAUSES, DEPARTMENTS
from kcbx.bot.domain.roles import ROLE_LABELS
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.accountability import live_a8
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
from kcbx.bot.texts.cases import A9_FLAG_NAMES, CASE_STATUS
from kcbx.storage.reports_repo import ActionRecord, CaseRow, ReportScope, unit_scope

MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FORMAT = "yyyy-mm-dd"
TIME_FORMAT = "yyyy-mm-dd hh:mm"
CELL_LIMIT = 32000  # Excel holds 32,767 characters in a cell

# (msgid of the header, column width in characters)
CASE_COLUMNS: tuple[tuple[str, float], ...] = (
    (N_("No."), 5),
    (N_("Case number"), 14),
    (N_("Student"), 9),
    (N_("Sex"), 5),
    (N_("Registry number"), 21),
    (N_("School"), 14),
    (N_("Grade and class"), 10),
    (N_("Household"), 18),
    (N_("Vulnerable (A9)"), 12),
    (N_("Cause of absence"), 14),
    (N_("Stage"), 14),
    (N_("Status"), 12),
    (N_("Absent since"), 11),
    (N_("Reported on"), 11),
    (N_("Dropout mark"), 11),
    (N_("Closed on"), 11),
    (N_("Days"), 6),
    (N_("Actions recorded (when, what, who)"), 48),
    (N_("A8 flags"), 22),
)
ACTION_COLUMNS: tuple[tuple[str, float], ...] = (
    (N_("Case number"), 14),
    (N_("Student"), 9),
    (N_("School"), 14),
    (N_("When"), 16),
    (N_("Action"), 22),
    (N_("Rule"), 7),
    (N_("Recorded by"), 10),
    (N_("Role"), 14),
    (N_("Recorded at"), 16),
    (N_("Details"), 40),
)
FLAG_COLUMNS: tuple[tuple[str, float], ...] = (
    (N_("Month"), 12),
    (N_("Rule"), 7),
    (N_("Unit"), 16),
    (N_("Level"), 12),
    (N_("Consequence"), 40),
    (N_("Cases (evidence)"), 50),
)


@dataclass(frozen=True)
class Ledger:
    """An exported workbook and what it holds."""

    data: bytes
    filename: str
    dropouts: int
    suspected: int
    actions: int
    flags: int


@dataclass(frozen=True)
class FlagRow:
    """A flag in the ledger: frozen (its month) or this month's, live (period "")."""

    period: str
    rule: Rule
    unit: str
    level: Level
    cases: tuple[str, ...]


@dataclass(frozen=True)
class LedgerCase:
    row: CaseRow
    actions: tuple[ActionRecord, ...]
    stage: Stage  # now, or when it closed
    day: int
    marked_on: date | None
    flags: tuple[str, ...]  # "A8.2", "A8.4 (2024-03)" ...


# --- gathering -------------------------------------------------------------------------------


async def gather(
    services: Services, scope: ReportScope, tree: UnitTree
) -> tuple[list[LedgerCase], list[FlagRow]]:
    """The cases of the ledger with their stage and flags, and the flags of the school year
    (frozen months, then this month's)."""
    now = services.clock.now()
    p = periods(services, now)
    tz = services.policy.time.tz
    rows = await services.reports.ledger_cases(scope, closed_since=p.year)
    await tree.ensure(services, {r.school_id for r in rows} | {r.household_unit_id for r in rows})
    actions = await services.reports.actions_of([r.id for r in rows])
    cases: list[LedgerCase] = []
    open_views = []
    for row in rows:
        records = tuple(actions.get(row.id, ()))
        facts = action_facts_of(records)
        if row.status == "open":
            state = ladder_state(
                case_facts_of(row, tree), facts, services.policy, services.calendar, now
            )
            open_views.append(CaseView(row, records, state))
        else:
            closed = row.closed_at or now
            state = ladder_state(
                case_facts_of(row, tree, as_open=True),
                facts,
                services.policy,
                services.calendar,
                closed - timedelta(seconds=1),
            )
        mark = state.task(TaskCode.MARK)
        marked_on = (
            mark.opens_at.astimezone(tz).date()
            if mark is not None and state.stage in DROPOUT_STAGES
            else None
        )
        cases.append(LedgerCase(row, records, state.stage, state.day, marked_on, ()))
    top = tree.get(scope.unit_id)
    enrolled = None
    if top is not None and top.kind == "district":  # A8.1 is the district's
        enrolled = {top.id: sum((await services.reports.enrolled_by_school(scope)).values())}
    live, _warnings = await live_a8(services, open_views, tree, enrolled=enrolled)
    year_start, _ = services.policy.accountability.school_year(now.astimezone(tz).date())
    months = await services.a8.months(school_year=year_start.year)
    by_number: dict[str, list[str]] = defaultdict(list)
    flag_rows: list[FlagRow] = []
    for month in months:
        for frozen in month.flags:
            if not _flag_in_scope(frozen.unit_id, scope.unit_id, tree):
                continue
            numbers = tuple(str(c.get("number", "")) for c in frozen.evidence.get("cases", []))
            flag_rows.append(
                FlagRow(
                    month.period,
                    Rule(frozen.rule),
                    str(frozen.evidence.get("unit", "")),
                    Level(frozen.level),
                    numbers,
                )
            )
            for number in numbers:
                by_number[number].append(f"{frozen.rule} ({month.period})")
    for flag in live:
        if not _flag_in_scope(flag.unit_id, scope.unit_id, tree):
            continue
        unit = tree.get(flag.unit_id)
        numbers = tuple(c.number for c in flag.cases)
        flag_rows.append(FlagRow("", flag.rule, unit.name if unit else "", flag.level, numbers))
        for number in numbers:
            by_number[number].append(flag.rule.value)
    cases = [
        LedgerCase(c.row, c.actions, c.stage, c.day, c.marked_on, tuple(by_number[c.row.number]))
        for c in cases
    ]
    return cases, flag_rows


def _flag_in_scope(unit_id: int, scope_unit: int, tree: UnitTree) -> bool:
    unit, top = tree.get(unit_id), tree.get(scope_unit)
    if unit is None or top is None:
        return False
    if unit.kind in ("district", "department"):
        return top.kind == "district"
    return tree.within(unit_id, scope_unit)


def _reached_dropout(case: LedgerCase) -> bool:
    return case.stage in DROPOUT_STAGES or case.marked_on is not None


# --- the workbook ----------------------------------------------------------------------------


def _sheet(
    book: Workbook, title: str, columns: Sequence[tuple[str, float]], t: Translate, heading: str
) -> Worksheet:
    sheet = book.create_sheet(title[:31])
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE7F0")
    thin = Side(style="thin", color="999999")
    for index, (msgid, width) in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index, value=t(msgid))
        cell.font = bold
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = Border(bottom=thin)
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    setup = sheet.page_setup
    setup.orientation = "landscape"
    setup.paperSize = sheet.PAPERSIZE_A4
    setup.fitToWidth = 1
    setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.6
    sheet.print_options.gridLines = True
    sheet.oddHeader.center.text = heading
    sheet.oddFooter.center.text = t("Page &P of &N")
    return sheet


# Named styles: a cell takes one by name, far cheaper than setting its parts cell by cell.
CELL_STYLE, DATE_STYLE, TIME_STYLE = "kcbx-cell", "kcbx-date", "kcbx-time"


def _add_styles(book: Workbook) -> None:
    top = Alignment(vertical="top", wrap_text=True)
    for name, number_format in (
        (CELL_STYLE, "General"),
        (DATE_STYLE, DATE_FORMAT),
        (TIME_STYLE, TIME_FORMAT),
    ):
        book.add_named_style(NamedStyle(name=name, alignment=top, number_format=number_format))


def _finish_rows(
    sheet: Worksheet, date_columns: Sequence[int], time_columns: Sequence[int]
) -> None:
    """Top-aligned, wrapped cells with real dates; a filter on the header row."""
    styles = [
        DATE_STYLE if index in date_columns else TIME_STYLE if index in time_columns else CELL_STYLE
        for index in range(1, sheet.max_column + 1)
    ]
    for row in sheet.iter_rows(min_row=2):
        for cell, style in zip(row, styles, strict=False):
            cell.style = style
    if sheet.max_row > 1:
        sheet.auto_filter.ref = f"A1:{get_column_letter(sheet.max_column)}{sheet.max_row}"


def _local(instant: datetime | None, services: Services) -> datetime | None:
    if instant is None:
        return None
    return instant.astimezone(services.policy.time.tz).replace(tzinfo=None, second=0)


def _detail_text(record: ActionRecord, t: Translate) -> str:
    parts: list[str] = []
    department = record.detail.get("department")
    if isinstance(department, str):
        parts.append(t(DEPARTMENTS.get(department, department)))
    for key in ("outcome", "met", "cause", "deadline", "delivered_on", "number"):
        value = record.detail.get(key)
        if isinstance(value, str | int) and value != "":
            parts.append(f"{value}")
    note = record.detail.get("note") or record.detail.get("text")
    if isinstance(note, str) and note:
        parts.append(note[:500])
    return "; ".join(parts)


def _role(role: str | None, t: Translate) -> str:
    if not role:
        return ""
    label = ROLE_LABELS.get(role)  # type: ignore[call-overload]
    return t(label) if label else role


def render_workbook(
    cases: Sequence[LedgerCase],
    flag_rows: Sequence[FlagRow],
    *,
    services: Services,
    tree: UnitTree,
    unit: Unit,
    exported_by: str,
    t: Translate,
) -> bytes:
    """The workbook's bytes (pure apart from reading the units and the policy)."""
    now = services.clock.now()
    local_now = _local(now, services)
    place = tree.path(unit.id) or unit.name
    book = Workbook()
    assert book.active is not None
    book.remove(book.active)
    _add_styles(book)
    dropouts = [c for c in cases if _reached_dropout(c)]
    suspected = [c for c in cases if c.row.status == "open" and not _reached_dropout(c)]
    titles = (
        (t("Dropout ledger"), dropouts),
        (t("Suspected dropout ledger"), suspected),
    )
    for title, chosen in titles:
        heading = t("{place} {title}").format(place=place, title=title)
        sheet = _sheet(book, title, CASE_COLUMNS, t, heading)
        for number, case in enumerate(chosen, start=1):
            sheet.append(_case_cells(number, case, services, tree, t))
        _finish_rows(sheet, date_columns=(13, 14, 15, 16), time_columns=())
    sheet = _sheet(book, t("Actions recorded"), ACTION_COLUMNS, t, t("Actions recorded"))
    action_count = 0
    for case in (*dropouts, *suspected):
        school = tree.get(case.row.school_id)
        for record in case.actions:
            sheet.append(
                [
                    case.row.number,
                    case.row.student_name,
                    school.name if school else "",
                    _local(record.at, services),
                    t(ACTION_NAMES.get(record.kind, record.kind)),
                    record.rule or "",
                    record.actor_name,
                    _role(record.actor_role, t),
                    _local(record.recorded_at, services),
                    _detail_text(record, t),
                ]
            )
            action_count += 1
    _finish_rows(sheet, date_columns=(), time_columns=(4, 9))
    sheet = _sheet(book, t("A8 flags"), FLAG_COLUMNS, t, t("Accountability (A8)"))
    for flag_row in flag_rows:
        sheet.append(
            [
                flag_row.period or t("this month (not frozen)"),
                flag_row.rule.value,
                flag_row.unit,
                t(LEVEL_NAMES[flag_row.level]),
                t(CONSEQUENCES[(flag_row.rule, flag_row.level)]),
                ", ".join(flag_row.cases)[:CELL_LIMIT],
            ]
        )
    _finish_rows(sheet, date_columns=(), time_columns=())
    notes = book.create_sheet(t("Notes")[:31])
    notes.column_dimensions["A"].width = 18
    notes.column_dimensions["B"].width = 90
    ladder = services.policy.ladder
    for key, value in (
        (t("Scope"), place),
        (t("Exported at"), local_now),
        (t("Exported by"), exported_by),
        (t("Dropouts"), len(dropouts)),
        (t("Suspected dropouts"), len(suspected)),
        (
            t("Dropout"),
            t(
                "a case past day {day} (A7.3); the ledger lists those of this school year, "
                "open or closed"
            ).format(day=ladder.dropout_day),
        ),
        (
            t("Suspected dropout"),
            t("an open case before day {day} (A7.1, A7.2)").format(day=ladder.dropout_day),
        ),
    ):
        notes.append([key, value])
    notes["B2"].number_format = TIME_FORMAT
    for row in notes.iter_rows():
        row[0].font = Font(bold=True)
        row[1].alignment = Alignment(wrap_text=True, vertical="top", horizontal="left")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _case_cells(
    number: int, case: LedgerCase, services: Services, tree: UnitTree, t: Translate
) -> list[object]:
    row = case.row
    school = tree.get(row.school_id)
    grade = ""
    if row.grade is not None:
        grade = t("grade {grade} {name}").format(grade=row.grade, name=row.class_name or "")
    flags = ", ".join(t(A9_FLAG_NAMES[f]) if f in A9_FLAG_NAMES else f for f in row.a9_flags)
    tz = services.policy.time.tz
    history = []
    for record in case.actions:
        if record.kind == ActionKind.ACKNOWLEDGED:
            continue
        local = record.at.astimezone(tz)
        history.append(
            t("{when} {what} ({who})").format(
                when=local.strftime("%Y-%m-%d %H:%M"),
                what=t(ACTION_NAMES.get(record.kind, record.kind)),
                who=record.actor_name or "—",
            )
        )
    sex = {"M": t("male"), "F": t("female")}.get(row.gender or "", "")
    stage = t(STAGE_NAMES[case.stage]) if case.stage != Stage.CLOSED else ""
    return [
        number,
        row.number,
        row.student_name,
        sex,
        row.registry_no,
        school.name if school else "",
        grade,
        tree.path(row.household_unit_id),
        flags,
        t(CAUSES.get(row.cause, row.cause)),
        stage,
        t(CASE_STATUS.get(row.status, row.status)),
        row.absent_since,
        row.reported_at.astimezone(tz).date(),
        case.marked_on,
        row.closed_at.astimezone(tz).date() if row.closed_at else None,
        case.day,
        "\n".join(history)[:CELL_LIMIT],
        ", ".join(case.flags),
    ]


# --- exporting -------------------------------------------------------------------------------


def ledger_filename(unit: Unit, when: datetime, t: Translate) -> str:
    safe = re.sub(r"[\\/:*?\"<>|\s]+", "_", unit.name).strip("_") or "kcbx"
    title = t("Dropout-control ledger")
    return f"{title}-{safe}-{when.strftime('%Y%m%d')}.xlsx"


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
    data = await asyncio.to_thread(
        render_workbook,
        cases,
        flag_rows,
        services=services,
        tree=tree,
        unit=unit,
        exported_by=exported_by,
        t=gettext,
    )
    now = services.clock.now()
    dropouts = sum(1 for c in cases if _reached_dropout(c))
    suspected = sum(1 for c in cases if c.row.status == "open" and not _reached_dropout(c))
    actions = sum(len(c.actions) for c in cases)
    filename = ledger_filename(unit, now.astimezone(services.policy.time.tz), gettext)
    await services.audit.record(
        at=now,
        actor=actor,
        action="export",
        entity="ledger",
        entity_id=unit.id,
        detail={
            "scope": tree.path(unit.id) or unit.name,
            "unit_kind": unit.kind,
            "via": via,
            "dropouts": dropouts,
            "suspected": suspected,
            "actions": actions,
            "flags": len(flag_rows),
            "file": filename,
        },
    )
    return Ledger(data, filename, dropouts, suspected, actions, len(flag_rows))


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
    return await build_ledger(
        services,
        summary_scope(person, unit, tree),
        unit,
        tree,
        actor=f"person:{person.id}",
        exported_by=person.name,
        gettext=gettext,
        via="chat",
    )


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


__all__ = [
    "MIME",
    "Ledger",
    "UnknownScope",
    "build_ledger",
    "export_for_person",
    "export_for_unit",
    "gather",
    "ledger_filename",
    "render_workbook",
]
