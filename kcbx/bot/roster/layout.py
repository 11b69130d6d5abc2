"""Where a roster's tables are: the files' sheets as rows, each sheet's header and columns.

A header is found in the first rows of a sheet, below any title rows, by the vocabulary's
column headers. A header of two rows (a merged 监护人 over 姓名 | 关系 | 电话, or 三包责任人
over 包村干部 | 包组干部 | 包户干部) is read as one: each lower cell with the merged cell
above it (监护人姓名), else alone.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from kcbx.bot.domain.i18n import N_
from kcbx.bot.roster.cells import Cell, cell_text, column_letter, header_key
from kcbx.bot.roster.errors import Invalid, RosterError
from kcbx.bot.roster.vocabulary import ROSTER_KINDS, STAFF, STUDENTS, UNITS, Vocabulary

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
HEADER_SEARCH_ROWS = 10
# an .xlsx is a zip; refuse one that would inflate beyond this many times the size limit
MAX_INFLATION = 25

REQUIRED = {
    UNITS: ("kind", "name", "parent"),
    STAFF: ("name", "phone", "role", "unit"),
    STUDENTS: ("registry_no", "name", "school", "grade", "class"),
}
# the header to name in an error about a column the sheet lacks
HEADER_NAMES = {
    UNITS: {"kind": "类型", "name": "名称", "parent": "上级"},
    STAFF: {"name": "姓名", "phone": "手机", "role": "角色", "unit": "单位", "classes": "班级"},
    STUDENTS: {"registry_no": "学籍号", "name": "姓名", "school": "学校", "grade": "年级"}
    | {"class": "班级", "guardian": "监护人"},
}
_SHEET_HINTS = (
    ("学生", STUDENTS),
    ("student", STUDENTS),
    ("教职工", STAFF),
    ("人员", STAFF),
    ("staff", STAFF),
    ("单位", UNITS),
    ("unit", UNITS),
)
CADRE_FIELDS = ("township_cadre", "village_cadre", "group_cadre")  # A5 三包, in chain order

# the fields whose cells `resolve` may name in an error
_RESOLVED_FIELDS = {
    UNITS: frozenset({"name", "parent", "code"}),
    STAFF: frozenset({"unit", "classes"}),
    STUDENTS: frozenset({"school", "grade", "township", "village", "group", *CADRE_FIELDS}),
}


@dataclass(frozen=True, eq=False)
class Sheet:
    """Where a record came from: a sheet (or CSV file), its kind and its columns."""

    file: str
    name: str | None  # None for a CSV file
    kind: str
    header_row: int
    columns: Mapping[str, tuple[int, ...]]  # field -> column indexes, in priority order
    headers: Mapping[int, str]  # column index -> header text as written

    @cached_property
    def optional(self) -> frozenset[str]:
        """The optional fields this sheet has columns for, as the upsert names them."""
        have = self.columns.keys()
        fields: set[str] = {f for f in ("gender", "birth_date", "note") if f in have}
        fields |= {"a9_flags"} if "flags" in have else set()
        fields |= {"guardians"} if "guardian" in have else set()
        fields |= {"household"} if have & {"township", "village", "group"} else set()
        return frozenset(fields)

    @property
    def label(self) -> str:
        return self.name if self.name is not None else self.file

    def error(
        self, row: int | None, column: int | None, problem: str, text: str, params: dict[str, Any]
    ) -> RosterError:
        """An error at a row (and column) of this sheet; ``text`` is the cell as read."""
        letter = header = None
        if column is not None:
            letter, header = column_letter(column), self.headers.get(column, "")
        params.setdefault("value", text)
        value = str(params["value"]) if column is not None else None
        return RosterError(problem, params, self.file, self.name, row, letter, header, value)


@dataclass(frozen=True, slots=True)
class Origin:
    sheet: Sheet
    row: int
    cells: Mapping[str, Cell]  # field -> the cell read for it (fields left empty are absent)

    def error(self, name: str | None, problem: str, **params: Any) -> RosterError:
        """An error in this row, in the cell of field ``name`` (or the row as a whole)."""
        if name is None:
            return self.sheet.error(self.row, None, problem, "", params)
        cell = self.cells.get(name)
        if cell is None:
            column = (self.sheet.columns.get(name) or (None,))[0]
            return self.sheet.error(self.row, column, problem, "", params)
        return self.sheet.error(self.row, cell[0], problem, cell[2], params)

    @property
    def key(self) -> tuple[str, int]:
        return (self.sheet.label, self.row)

    def slim(self) -> Origin:
        """This origin keeping only the cells that resolving names may report on."""
        keep = _RESOLVED_FIELDS[self.sheet.kind]
        return Origin(self.sheet, self.row, {k: v for k, v in self.cells.items() if k in keep})


# -- finding the header ---------------------------------------------------------------------

Candidates = Sequence[tuple[str, ...]]
"""Per column, the texts its header may be read as, best first."""


def _single(row: Sequence[Any]) -> list[tuple[str, ...]]:
    return [(cell_text(v),) if cell_text(v) else () for v in row]


def _stacked(upper: Sequence[Any], lower: Sequence[Any]) -> list[tuple[str, ...]]:
    """A two-row header: each lower cell with the merged cell above it, then alone."""
    out: list[tuple[str, ...]] = []
    parent = ""
    for i in range(max(len(upper), len(lower))):
        above = cell_text(upper[i]) if i < len(upper) else ""
        below = cell_text(lower[i]) if i < len(lower) else ""
        if above and below:
            parent = above  # a merged cell starts here
        elif above or not below:
            parent = ""  # a header merged down over both rows, or a gap
        if not below:
            out.append((above,) if above else ())
        else:
            out.append((parent + below, below) if parent else (below,))
    return out


def _field(aliases: Mapping[str, str], texts: tuple[str, ...]) -> str | None:
    for text in texts:
        key = header_key(text)
        found = aliases.get(key)
        if found is None and "(" in key:
            found = aliases.get(re.sub(r"\(.*?\)$", "", key))
        if found is not None:
            return found
    return None


def _layout(
    candidates: Candidates, hint: str | None, vocabulary: Vocabulary
) -> tuple[str, dict[str, list[int]]] | None:
    """The kind of sheet these headers make, with each field's columns; None if no kind fits."""
    best: tuple[int, str, dict[str, list[int]]] | None = None
    for kind in (hint,) if hint else ROSTER_KINDS:
        aliases = vocabulary.headers(kind)
        columns: dict[str, list[int]] = {}
        for index, texts in enumerate(candidates):
            found = _field(aliases, texts)
            if found is not None:
                columns.setdefault(found, []).append(index)
        if all(f in columns for f in REQUIRED[kind]) and (best is None or len(columns) > best[0]):
            best = (len(columns), kind, columns)
    return None if best is None else (best[1], best[2])


def _sheet(
    file: str, name: str | None, number: int, candidates: Candidates, found: tuple[str, Any]
) -> Sheet:
    kind, columns = found
    headers = {i: texts[0] for i, texts in enumerate(candidates) if texts}
    return Sheet(file, name, kind, number, {f: tuple(c) for f, c in columns.items()}, headers)


def find_header(
    file: str,
    name: str | None,
    number: int,
    row: Sequence[Any],
    hint: str | None,
    vocabulary: Vocabulary,
    above: Sequence[Any] | None = None,
) -> Sheet | None:
    """The sheet's layout if ``row`` is a header row (alone, else with the row ``above``)."""
    candidates: Candidates = _single(row)
    found = _layout(candidates, hint, vocabulary)
    if found is None and above is not None:
        candidates = _stacked(above, row)
        found = _layout(candidates, hint, vocabulary)
    return None if found is None else _sheet(file, name, number, candidates, found)


def under_header(
    sheet: Sheet, upper: Sequence[Any], row: Sequence[Any], vocabulary: Vocabulary
) -> Sheet | None:
    """The two-row layout, if ``row`` (just below the header) is the lower row of the header:
    text only, empty below the required columns (merged down over both rows), and naming at
    least one column of this kind of sheet under its merged cell (监护人 over 姓名)."""
    texts = [v for v in row if cell_text(v)]
    if not texts or not all(isinstance(v, str) for v in texts):
        return None
    for name in REQUIRED[sheet.kind]:
        column = sheet.columns[name][0]
        if column < len(row) and cell_text(row[column]):
            return None  # a data row: the first row of the table
    candidates = _stacked(upper, row)
    found = _layout(candidates, sheet.kind, vocabulary)
    if found is None or len(found[1]) <= len(sheet.columns):
        return None
    return _sheet(sheet.file, sheet.name, sheet.header_row + 1, candidates, found)


def sheet_hint(name: str | None) -> str | None:
    if name is None:
        return None
    key = header_key(name)
    for word, kind in _SHEET_HINTS:
        if word in key:
            return kind
    return None


# -- the files' rows ------------------------------------------------------------------------

RowSource = tuple[str | None, int, Iterable[Sequence[Any]]]
"""A sheet as (name, estimated rows, rows); a CSV file has no sheet name."""


def open_xlsx(data: bytes, max_bytes: int) -> Any:
    """The workbook in read-only (streaming) mode, or Invalid if it is not one."""
    import openpyxl  # imported here: reading a CSV should not pay for it

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise Invalid(N_("This is not an Excel workbook (.xlsx), or it is damaged")) from exc
    if inflated > max_bytes * MAX_INFLATION:
        raise Invalid(N_("This workbook is too large once unpacked; split it into smaller files"))
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise Invalid(N_("This is not an Excel workbook (.xlsx), or it is damaged")) from exc
    return book


def xlsx_sheet(sheet: Any) -> RowSource:
    """A worksheet, streamed."""
    estimate = sheet.max_row or 0
    sheet.reset_dimensions()  # some writers record wrong dimensions; read every row
    return sheet.title, estimate, _guarded(sheet.iter_rows(values_only=True))


def _guarded(rows: Iterator[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    """Rows of a sheet, with a damaged sheet reported as a clear error."""
    try:
        yield from rows
    except Exception as exc:  # a damaged part of the zip, bad XML, ...
        raise Invalid(N_("This is not an Excel workbook (.xlsx), or it is damaged")) from exc


def csv_sheet(data: bytes) -> RowSource:
    """A CSV file (UTF-8 with or without BOM, or GBK/GB18030) as one sheet."""
    if b"\x00" in data[:65536]:
        raise Invalid(N_("This is not a text (CSV) file"))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Invalid(N_("The file's text encoding is neither UTF-8 nor GBK"))
    lines = text.splitlines()
    sample = lines[:HEADER_SEARCH_ROWS]
    delimiter = max((",", "\t", ";"), key=lambda d: sum(line.count(d) for line in sample))
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return None, len(lines), rows
