"""The ledger (控辍保学台账) as an Excel workbook: rows in, the file's bytes out.

The rows are view models, gathered and translated by kcbx/bot/services/ledger.py; nothing
here reads the database. Sheets:

1. the ledger: one row per child per case, every case of the school year from its report
   (suspected, dropout, back at school, closed otherwise), with the guardians, the class
   teacher and the three 三包 cadres by name, the notices' numbers, delivery dates and
   deadlines, the return date, the whereabouts and the follow-up after the return;
2. the record of actions: every action on those cases, when, what, who, under which article;
3. the A8 flags of the school year (frozen months, then this month's);
4. notes: scope, time, who exported, the definitions.

Printable as offices print their ledgers: A4 landscape, one page wide, the header row
repeated on every page and frozen on screen, wrapped top-aligned cells, dates as dates shown
the reader's way (2024年3月4日), an auto-filter on the header.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from kcbx.bot.domain.i18n import N_, Translate

if TYPE_CHECKING:  # openpyxl is imported when a ledger is written, not by every process
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FORMAT = N_("yyyy-mm-dd")  # zh_CN: yyyy"年"m"月"d"日"
TIME_FORMAT = "yyyy-mm-dd hh:mm"
CELL_LIMIT = 32000  # Excel holds 32,767 characters in a cell


@dataclass(frozen=True)
class LedgerRow:
    """One child's case as the ledger prints it: every value already in the reader's words."""

    case_number: str
    township: str
    school: str
    grade_class: str
    student: str
    sex: str
    birth_date: date | None
    registry_no: str
    household: str
    guardians: str  # one a line, in the order of the next two columns
    relations: str
    phones: str
    class_teacher: str
    township_cadre: str  # 包村干部 (A5.1)
    village_cadre: str  # 包组干部
    group_cadre: str  # 包户干部
    vulnerable: str  # A9 categories
    cause: str
    absent_since: date
    reported_on: date
    category: str  # suspected dropout / dropout
    status: str  # where the case stands, or how it closed
    marked_on: date | None
    persuasion: str  # the actions, one a line: date, what, who, outcome
    notice_number: str
    notice_delivered: date | None
    notice_deadline: date | None
    correction: str  # the order to correct: number, delivery, deadline
    returned_on: date | None
    whereabouts: str
    follow_up: str
    flags: str  # A8


# (msgid of the header, width in characters, the LedgerRow field)
COLUMNS: tuple[tuple[str, float, str], ...] = (
    (N_("No."), 5, ""),
    (N_("Case number"), 13, "case_number"),
    (N_("Township"), 9, "township"),
    (N_("School"), 14, "school"),
    (N_("Grade and class"), 10, "grade_class"),
    (N_("Student"), 8, "student"),
    (N_("Sex"), 5, "sex"),
    (N_("Date of birth"), 12, "birth_date"),
    (N_("Registry number (ID number)"), 20, "registry_no"),
    (N_("Household address"), 16, "household"),
    (N_("Guardian"), 9, "guardians"),
    (N_("Relation to the child"), 7, "relations"),
    (N_("Guardian's phone"), 13, "phones"),
    (N_("Class teacher"), 10, "class_teacher"),
    (N_("Township cadre (covers the village)"), 9, "township_cadre"),
    (N_("Village cadre (covers the group)"), 9, "village_cadre"),
    (N_("Group cadre (covers the household)"), 9, "group_cadre"),
    (N_("Vulnerable group (Article 9)"), 12, "vulnerable"),
    (N_("Cause of absence"), 13, "cause"),
    (N_("Absent since"), 12, "absent_since"),
    (N_("Reported on"), 12, "reported_on"),
    (N_("Category"), 8, "category"),
    (N_("Status"), 14, "status"),
    (N_("Dropout mark"), 12, "marked_on"),
    (N_("Persuasion and measures (date, what, who, outcome)"), 46, "persuasion"),
    (N_("Notice to enrol: number"), 15, "notice_number"),
    (N_("Notice to enrol: delivered on"), 12, "notice_delivered"),
    (N_("Notice to enrol: deadline"), 12, "notice_deadline"),
    (N_("Order to correct (number, delivered, deadline)"), 20, "correction"),
    (N_("Back at school on"), 12, "returned_on"),
    (N_("Whereabouts"), 14, "whereabouts"),
    (N_("Follow-up after return"), 20, "follow_up"),
    (N_("Accountability (Article 8)"), 18, "flags"),
)


@dataclass(frozen=True)
class ActionRow:
    case_number: str
    student: str
    school: str
    at: datetime  # local time, naive
    action: str
    article: str  # 第七条
    actor: str
    role: str
    recorded_at: datetime
    details: str


ACTION_COLUMNS: tuple[tuple[str, float], ...] = (
    (N_("Case number"), 13),
    (N_("Student"), 9),
    (N_("School"), 14),
    (N_("When"), 16),
    (N_("Action"), 22),
    (N_("Article"), 8),
    (N_("Recorded by"), 10),
    (N_("Role"), 14),
    (N_("Recorded at"), 16),
    (N_("Details"), 44),
)


@dataclass(frozen=True)
class FlagLine:
    """An A8 flag as printed: its month ("" for this month's, live), article and words."""

    period: str
    article: str
    rule: str  # the A8 rule's words
    unit: str
    level: str
    consequence: str
    cases: str


FLAG_COLUMNS: tuple[tuple[str, float], ...] = (
    (N_("Month"), 12),
    (N_("Article"), 8),
    (N_("Rule"), 24),
    (N_("Unit"), 16),
    (N_("Level"), 12),
    (N_("Consequence"), 40),
    (N_("Cases (evidence)"), 50),
)


@dataclass(frozen=True)
class LedgerBook:
    """Everything the workbook shows."""

    place: str  # the scope, e.g. 沙坡头区/滨河镇
    rows: Iterable[LedgerRow]  # read once, as the sheet is written
    actions: Iterable[ActionRow]
    flags: Sequence[FlagLine]
    notes: Sequence[tuple[str, str | datetime]]


def render_workbook(book: LedgerBook, *, t: Translate) -> bytes:
    """The workbook's bytes (pure: the rows are already gathered and translated).

    Written with openpyxl's write-only workbook: each row goes to the file as it is
    appended, so a province's ledger never holds its cells in memory at once."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    workbook = Workbook(write_only=True)
    _add_styles(workbook, t)
    title = t("Dropout-control ledger")
    heading = t("{place} {title}").format(place=book.place, title=title)
    sheet = _sheet(workbook, title, [(m, w) for m, w, _ in COLUMNS], t, heading)
    dates = [i for i, (_m, _w, f) in enumerate(COLUMNS, start=1) if f in _DATE_FIELDS]
    rows = (
        [number, *(_cell(getattr(row, f)) for _m, _w, f in COLUMNS[1:])]
        for number, row in enumerate(book.rows, start=1)
    )
    _write_rows(sheet, rows, len(COLUMNS), date_columns=dates, time_columns=())

    sheet = _sheet(workbook, t("Actions recorded"), ACTION_COLUMNS, t, t("Actions recorded"))
    actions = ([_cell(value) for value in _values(action)] for action in book.actions)
    _write_rows(sheet, actions, len(ACTION_COLUMNS), date_columns=(), time_columns=(4, 9))

    sheet = _sheet(workbook, t("A8 flags"), FLAG_COLUMNS, t, t("Accountability (Article 8)"))
    flags = (
        [line[0] or t("this month (not frozen)"), *line[1:]]
        for line in (_values(flag) for flag in book.flags)
    )
    _write_rows(sheet, flags, len(FLAG_COLUMNS), date_columns=(), time_columns=())

    notes = workbook.create_sheet(t("Notes")[:31])
    notes.column_dimensions["A"].width = 18
    notes.column_dimensions["B"].width = 90
    bold = Font(bold=True)
    wrapped = Alignment(wrap_text=True, vertical="top", horizontal="left")
    for key, value in book.notes:
        first, second = _styled(notes, key, font=bold), _styled(notes, value, alignment=wrapped)
        if isinstance(value, datetime):
            second.number_format = TIME_FORMAT
        notes.append([first, second])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


_DATE_FIELDS = frozenset(
    f for f, kind in LedgerRow.__annotations__.items() if kind in ("date", "date | None")
)


def _values(item: ActionRow | FlagLine) -> list[object]:
    return [getattr(item, name) for name in type(item).__dataclass_fields__]


def _cell(value: object) -> object:
    if isinstance(value, str):
        return value[:CELL_LIMIT]
    return value


def _styled(sheet: Any, value: object, **style: Any) -> WriteOnlyCell:
    """A cell of a write-only sheet with its font, fill, alignment, border or style."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    for name, part in style.items():
        setattr(cell, name, part)
    return cell


def _sheet(
    book: Workbook, title: str, columns: Sequence[tuple[str, float]], t: Translate, heading: str
) -> Any:
    """A write-only sheet with its widths, print setup and header row (appended first)."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.worksheet import Worksheet

    sheet = book.create_sheet(title[:31])
    header = {
        "font": Font(bold=True),
        "fill": PatternFill("solid", fgColor="DDE7F0"),
        "alignment": Alignment(horizontal="center", vertical="center", wrap_text=True),
        "border": Border(bottom=Side(style="thin", color="999999")),
    }
    for index, (_msgid, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    setup = sheet.page_setup
    setup.orientation = "landscape"
    setup.paperSize = Worksheet.PAPERSIZE_A4
    setup.fitToWidth = 1
    setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.6
    sheet.print_options.gridLines = True
    sheet.oddHeader.center.text = heading
    sheet.oddFooter.center.text = t("Page &P of &N")
    sheet.append([_styled(sheet, t(msgid), **header) for msgid, _width in columns])
    return sheet


# Named styles: a cell takes one by name, far cheaper than setting its parts cell by cell.
CELL_STYLE, DATE_STYLE, TIME_STYLE = "kcbx-cell", "kcbx-date", "kcbx-time"


def _add_styles(book: Workbook, t: Translate) -> None:
    from openpyxl.styles import Alignment, NamedStyle

    top = Alignment(vertical="top", wrap_text=True)
    for name, number_format in (
        (CELL_STYLE, "General"),
        (DATE_STYLE, t(DATE_FORMAT)),
        (TIME_STYLE, TIME_FORMAT),
    ):
        book.add_named_style(NamedStyle(name=name, alignment=top, number_format=number_format))


def _write_rows(
    sheet: Any,
    rows: Iterable[Sequence[object]],
    width: int,
    date_columns: Sequence[int],
    time_columns: Sequence[int],
) -> None:
    """Append the rows as top-aligned, wrapped cells with real dates, one at a time; a filter
    on the header row."""
    from openpyxl.utils import get_column_letter

    styles = [
        DATE_STYLE if index in date_columns else TIME_STYLE if index in time_columns else CELL_STYLE
        for index in range(1, width + 1)
    ]
    count = 0
    for row in rows:
        sheet.append(
            [_styled(sheet, v, style=style) for v, style in zip(row, styles, strict=False)]
        )
        count += 1
    if count:
        sheet.auto_filter.ref = f"A1:{get_column_letter(width)}{count + 1}"


__all__ = [
    "COLUMNS",
    "MIME",
    "ActionRow",
    "FlagLine",
    "LedgerBook",
    "LedgerRow",
    "render_workbook",
]
