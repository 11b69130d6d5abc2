"""Roster files (issue 2): read an .xlsx or .csv into normalized records and every error at once.

Pure: bytes in, records and errors out. ``read_roster`` finds each sheet's header (below any
title rows), normalizes every cell (NFKC, trimmed) and checks each row on its own and against
the other rows of the file; ``resolve`` then checks the names the rows use (parent units,
schools, households) against a snapshot of the stored units and produces the plan that
``kcbx.storage.roster_repo`` writes.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.domain.roles import ROLE_LABELS, ROLE_UNIT_KINDS, Role
from kcbx.storage.roster_repo import (
    ClassKey,
    ExistingUnit,
    GuardianUpsert,
    RosterPlan,
    StaffUpsert,
    StudentUpsert,
    UnitKey,
    UnitUpsert,
    unit_keys,
)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
HEADER_SEARCH_ROWS = 10
# an .xlsx is a zip; refuse one that would inflate beyond this many times the size limit
MAX_INFLATION = 25

UNITS, STAFF, STUDENTS = "units", "staff", "students"
ROSTER_KINDS = (UNITS, STAFF, STUDENTS)

# A9: the vulnerable-student flags, in the order of the measures
A9_FLAGS = (
    "sudden_hardship",
    "unstable_poverty_exit",
    "rural_subsistence",
    "disabled_child",
    "child_of_disabled",
    "child_of_prisoner",
    "left_behind",
    "single_parent",
    "orphan",
)
_FLAG_WORDS = {
    "突发严重困难户": "sudden_hardship",
    "突发严重困难": "sudden_hardship",
    "脱贫不稳定户": "unstable_poverty_exit",
    "农村低保户": "rural_subsistence",
    "低保户": "rural_subsistence",
    "低保": "rural_subsistence",
    "残疾儿童": "disabled_child",
    "残疾": "disabled_child",
    "残疾人子女": "child_of_disabled",
    "服刑人员子女": "child_of_prisoner",
    "留守儿童": "left_behind",
    "留守": "left_behind",
    "单亲": "single_parent",
    "单亲家庭": "single_parent",
    "孤儿": "orphan",
    **{code: code for code in A9_FLAGS},
}
_FLAG_NAMES = {  # the word to suggest for each flag: the first one listed above
    code: next(w for w, c in _FLAG_WORDS.items() if c == code) for code in A9_FLAGS
}
_NO_FLAGS = {"无", "否", "-", "/", "none"}

_UNIT_KIND_WORDS = {
    "区": "district",
    "县": "district",
    "区县": "district",
    "乡镇": "township",
    "镇": "township",
    "乡": "township",
    "街道": "township",
    "村": "village",
    "社区": "village",
    "行政村": "village",
    "组": "group",
    "队": "group",
    "村民小组": "group",
    "小组": "group",
    "学校": "school",
    "部门": "department",
    **{k: k for k in ("district", "township", "village", "group", "school", "department")},
}
# the kinds a unit of each kind may hang under (A5: district > township > village > group)
_PARENT_KINDS = {
    "district": ("district",),
    "township": ("district",),
    "village": ("township",),
    "group": ("village",),
    "school": ("district", "township", "village"),
    "department": ("district", "department"),
}
_SECTION_WORDS = {
    "小学": "primary",
    "初中": "junior",
    "初级中学": "junior",
    "九年一贯制": "nine_year",
    "九年一贯制学校": "nine_year",
    "primary": "primary",
    "junior": "junior",
    "nine_year": "nine_year",
}
SECTION_GRADES = {"primary": range(1, 7), "junior": range(7, 10), "nine_year": range(1, 10)}

_ROLE_WORDS = {
    "管理员": Role.ADMIN,
    "区领导": Role.DISTRICT_LEADER,
    "教育局": Role.BUREAU_STAFF,
    "教育局工作人员": Role.BUREAU_STAFF,
    "部门联络员": Role.DEPARTMENT_LIAISON,
    "乡镇领导": Role.TOWNSHIP_LEADER,
    "乡镇干部": Role.TOWNSHIP_CADRE,
    "村干部": Role.VILLAGE_CADRE,
    "组干部": Role.GROUP_CADRE,
    "队干部": Role.GROUP_CADRE,
    "校长": Role.PRINCIPAL,
    "控辍专干": Role.SCHOOL_LEAD,
    "控辍保学专干": Role.SCHOOL_LEAD,
    "班主任": Role.CLASS_TEACHER,
    **{r.value: r for r in Role},
}
_GENDER_WORDS = {"男": "M", "女": "F", "男性": "M", "女性": "F", "m": "M", "f": "F"}
_GENDER_WORDS |= {"male": "M", "female": "F"}

# header aliases, per kind: normalized header text -> field
_HEADERS: dict[str, dict[str, str]] = {
    UNITS: {
        "类型": "kind",
        "单位类型": "kind",
        "类别": "kind",
        "type": "kind",
        "kind": "kind",
        "名称": "name",
        "单位名称": "name",
        "name": "name",
        "上级": "parent",
        "上级单位": "parent",
        "所属": "parent",
        "隶属": "parent",
        "parent": "parent",
        "学段": "section",
        "section": "section",
        "代码": "code",
        "部门代码": "code",
        "code": "code",
    },
    STAFF: {
        "姓名": "name",
        "name": "name",
        "手机": "phone",
        "手机号": "phone",
        "手机号码": "phone",
        "联系电话": "phone",
        "电话": "phone",
        "phone": "phone",
        "角色": "role",
        "role": "role",
        "单位": "unit",
        "所在单位": "unit",
        "工作单位": "unit",
        "unit": "unit",
        "班级": "classes",
        "任教班级": "classes",
        "所带班级": "classes",
        "classes": "classes",
    },
    STUDENTS: {
        "学籍号": "registry_no",
        "学籍编号": "registry_no",
        "全国学籍号": "registry_no",
        "学籍辅号": "registry_no",
        "registry_no": "registry_no",
        "姓名": "name",
        "学生姓名": "name",
        "name": "name",
        "性别": "gender",
        "gender": "gender",
        "出生日期": "birth_date",
        "出生年月日": "birth_date",
        "birth_date": "birth_date",
        "学校": "school",
        "学校名称": "school",
        "就读学校": "school",
        "school": "school",
        "年级": "grade",
        "grade": "grade",
        "班级": "class",
        "class": "class",
        "乡镇": "township",
        "乡(镇)": "township",
        "township": "township",
        "村": "village",
        "村(社区)": "village",
        "行政村": "village",
        "village": "village",
        "组": "group",
        "组(队)": "group",
        "村民小组": "group",
        "group": "group",
        "监护人": "guardian",
        "监护人姓名": "guardian",
        "家长姓名": "guardian",
        "guardian": "guardian",
        "关系": "relation",
        "与学生关系": "relation",
        "监护人关系": "relation",
        "relation": "relation",
        "监护人电话": "guardian_phone",
        "联系电话": "guardian_phone",
        "家长电话": "guardian_phone",
        "监护人手机": "guardian_phone",
        "监护人手机号": "guardian_phone",
        "guardian_phone": "guardian_phone",
        "困难类别": "flags",
        "困难类型": "flags",
        "a9_flags": "flags",
        "备注": "note",
        "note": "note",
    },
}
_REQUIRED = {
    UNITS: ("kind", "name", "parent"),
    STAFF: ("name", "phone", "role", "unit"),
    STUDENTS: ("registry_no", "name", "school", "grade", "class"),
}
# the header to name in an error about a column the sheet lacks
_HEADER_NAMES = {
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

KIND_LABELS = {
    "district": N_("district"),
    "township": N_("township"),
    "village": N_("village"),
    "group": N_("group"),
    "school": N_("school"),
    "department": N_("department"),
}
SECTION_LABELS = {
    "primary": N_("primary school"),
    "junior": N_("junior middle school"),
    "nine_year": N_("nine-year school"),
}


class Msg(str):
    """A format parameter that is itself a msgid, translated when the error is rendered."""

    __slots__ = ()


@dataclass(frozen=True)
class RosterError:
    """One problem in a roster file, where it is and what is wrong; rendered per language."""

    problem: str  # msgid
    params: Mapping[str, Any] = field(default_factory=dict)
    file: str = ""
    sheet: str | None = None  # sheet name, or None for a CSV file or the file as a whole
    row: int | None = None  # as Excel shows it, 1-based
    column: str | None = None  # letter, as Excel shows it
    header: str | None = None  # the header text of that column
    value: str | None = None  # the offending cell, as read

    def render(self, gettext: Translate) -> str:
        """The error in the language of ``gettext``."""
        params = {k: _render_param(v, gettext) for k, v in self.params.items()}
        problem = gettext(self.problem).format(**params)
        where = {"file": self.file, "sheet": self.sheet, "row": self.row, "problem": problem}
        where |= {"column": self.column, "header": self.header}
        if self.row is None:
            if self.sheet is None:
                return gettext(N_("File {file}: {problem}")).format(**where)
            return gettext(N_("Sheet {sheet}: {problem}")).format(**where)
        if self.sheet is None:
            if self.column is None:
                return gettext(N_("File {file}, row {row}: {problem}")).format(**where)
            return gettext(
                N_("File {file}, row {row}, column {column} ({header}): {problem}")
            ).format(**where)
        if self.column is None:
            return gettext(N_("Sheet {sheet}, row {row}: {problem}")).format(**where)
        return gettext(
            N_("Sheet {sheet}, row {row}, column {column} ({header}): {problem}")
        ).format(**where)


def _render_param(value: Any, gettext: Translate) -> Any:
    if isinstance(value, Msg):
        return gettext(value)
    if isinstance(value, tuple):
        return " / ".join(str(_render_param(v, gettext)) for v in value)
    return value


class _Invalid(Exception):
    """A cell's value is wrong: ``problem`` is a msgid, ``params`` its fields."""

    def __init__(self, problem: str, **params: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.params = params


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
            letter, header = _column_letter(column), self.headers.get(column, "")
        params.setdefault("value", text)
        value = str(params["value"]) if column is not None else None
        return RosterError(problem, params, self.file, self.name, row, letter, header, value)


Cell = tuple[int, Any, str]
"""(column index, raw value, normalized text) of a cell."""


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


# the fields whose cells `resolve` may name in an error
_RESOLVED_FIELDS = {
    UNITS: frozenset({"name", "parent"}),
    STAFF: frozenset({"unit", "classes"}),
    STUDENTS: frozenset({"school", "grade", "township", "village", "group"}),
}


@dataclass(frozen=True, slots=True)
class UnitRecord:
    origin: Origin
    kind: str
    name: str
    parent: tuple[str, ...]  # a path of names; empty for the root
    section: str | None
    code: str | None
    ok: bool = True  # False: the row has errors; kept so its units' rows resolve


@dataclass(frozen=True, slots=True)
class Probe:
    """The names used by a row that has errors, still checked so that all errors show at once."""

    origin: Origin
    path: tuple[str, ...] | None  # the staff member's unit, or the student's school
    role: Role | None = None
    grade: int | None = None
    household: tuple[str, str, str] = ("", "", "")


@dataclass(frozen=True, slots=True)
class ClassRef:
    grade: int
    name: str
    text: str


@dataclass(frozen=True, slots=True)
class StaffRecord:
    origin: Origin
    name: str
    phone: str
    role: Role
    unit: tuple[str, ...]
    classes: tuple[ClassRef, ...] | None  # None when the sheet has no class column


@dataclass(frozen=True, slots=True)
class StudentRecord:
    origin: Origin
    registry_no: str
    name: str
    gender: str | None
    birth_date: str | None
    school: tuple[str, ...]
    grade: int
    class_name: str
    household: tuple[str, str, str]  # township, village, group as written ('' when empty)
    guardians: tuple[GuardianUpsert, ...]
    flags: tuple[str, ...]
    note: str | None
    fields: frozenset[str]


@dataclass
class Roster:
    """What a file holds: records that passed the row checks, and every error found."""

    file: str
    units: list[UnitRecord] = field(default_factory=list)
    staff: list[StaffRecord] = field(default_factory=list)
    students: list[StudentRecord] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    errors: list[RosterError] = field(default_factory=list)
    bad_rows: set[tuple[str, int]] = field(default_factory=set)
    rows: int = 0  # data rows read (blank rows not counted)
    lines: int = 0  # every row read, title, header and blank rows included
    sheets: list[Sheet] = field(default_factory=list)

    @property
    def fatal(self) -> bool:
        """True when the file as a whole could not be read (nothing to import)."""
        return any(e.row is None and e.sheet is None for e in self.errors)


Progress = Callable[[int, int], None]


# ---------------------------------------------------------------------------------------------
# reading


def check_size(size: int, filename: str, max_bytes: int = DEFAULT_MAX_BYTES) -> RosterError | None:
    """An error if a file of ``size`` bytes is over the limit, else None."""
    if size <= max_bytes:
        return None
    return RosterError(
        N_("The file is {size}; files over {limit} are refused. Split it into smaller files."),
        {"size": _file_size(size), "limit": _file_size(max_bytes)},
        filename,
    )


def read_roster(
    data: bytes,
    filename: str,
    *,
    today: date,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Progress | None = None,
) -> Roster:
    """Read an .xlsx or .csv roster: the records of every valid row and every error found."""
    roster = Roster(filename)
    too_big = check_size(len(data), filename, max_bytes)
    if too_big is not None:
        roster.errors.append(too_big)
        return roster
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    book = None
    try:
        if suffix in ("xlsx", "xlsm"):
            book = _open_xlsx(data, max_bytes)
            sources = [_xlsx_sheet(sheet) for sheet in book.worksheets]
        elif suffix in ("csv", "txt"):
            sources = [_csv_sheet(data)]
        elif suffix in ("xls", "et", "wps"):
            raise _Invalid(
                N_("This is an old Excel (.xls) file: save it as .xlsx and send it again")
            )
        else:
            raise _Invalid(N_("Only .xlsx and .csv files can be imported"))
        reader = _Reader(roster, today, progress, sum(estimate for _, estimate, _ in sources))
        for name, _, rows in sources:
            reader.read_sheet(name, rows)
    except _Invalid as bad:
        roster.errors.append(RosterError(bad.problem, bad.params, filename))
        return roster
    finally:
        if book is not None:
            book.close()
    if not roster.sheets and not roster.errors:
        roster.errors.append(
            RosterError(
                N_("No roster found: no sheet has the columns of units, staff or students"),
                {},
                filename,
            )
        )
    return roster


RowSource = tuple[str | None, int, Iterable[Sequence[Any]]]


def _open_xlsx(data: bytes, max_bytes: int) -> Any:
    """The workbook in read-only (streaming) mode, or _Invalid if it is not one."""
    import openpyxl  # imported here: reading a CSV should not pay for it

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _Invalid(N_("This is not an Excel workbook (.xlsx), or it is damaged")) from exc
    if inflated > max_bytes * MAX_INFLATION:
        raise _Invalid(N_("This workbook is too large once unpacked; split it into smaller files"))
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise _Invalid(N_("This is not an Excel workbook (.xlsx), or it is damaged")) from exc
    return book


def _xlsx_sheet(sheet: Any) -> RowSource:
    """A worksheet as (name, estimated rows, rows), streamed."""
    estimate = sheet.max_row or 0
    sheet.reset_dimensions()  # some writers record wrong dimensions; read every row
    return sheet.title, estimate, _guarded(sheet.iter_rows(values_only=True))


def _guarded(rows: Iterator[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    """Rows of a sheet, with a damaged sheet reported as a clear error."""
    try:
        yield from rows
    except Exception as exc:  # a damaged part of the zip, bad XML, ...
        raise _Invalid(N_("This is not an Excel workbook (.xlsx), or it is damaged")) from exc


def _csv_sheet(data: bytes) -> RowSource:
    """A CSV file (UTF-8 with or without BOM, or GBK/GB18030) as one sheet."""
    if b"\x00" in data[:65536]:
        raise _Invalid(N_("This is not a text (CSV) file"))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _Invalid(N_("The file's text encoding is neither UTF-8 nor GBK"))
    lines = text.splitlines()
    sample = lines[:HEADER_SEARCH_ROWS]
    delimiter = max((",", "\t", ";"), key=lambda d: sum(line.count(d) for line in sample))
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return None, len(lines), rows


class _Reader:
    """Reads the sheets of one file into a Roster, remembering keys seen for duplicates."""

    def __init__(self, roster: Roster, today: date, progress: Progress | None, total: int) -> None:
        self.roster = roster
        self.today = today
        self.progress = progress
        self.total = total
        self.done = 0
        self.registry_rows: dict[str, tuple[str, int]] = {}
        self.memo: dict[tuple[Any, ...], Any] = {}
        self.phone_rows: dict[str, tuple[str, int]] = {}

    def read_sheet(self, name: str | None, rows: Iterable[Sequence[Any]]) -> None:
        roster = self.roster
        hint = _sheet_hint(name)
        head: list[tuple[int, Sequence[Any]]] = []
        iterator = iter(rows)
        sheet: Sheet | None = None
        for number, row in enumerate(iterator, start=1):
            head.append((number, row))
            sheet = _header(roster.file, name, number, row, hint)
            if sheet is not None or number >= HEADER_SEARCH_ROWS:
                break
        self._tick(len(head))
        if sheet is None:
            if hint is not None:
                needed = "、".join(_HEADER_NAMES[hint][f] for f in _REQUIRED[hint])
                roster.errors.append(
                    RosterError(
                        N_(
                            "No header row in the first {rows} rows; it needs the columns {columns}"
                        ),
                        {"rows": HEADER_SEARCH_ROWS, "columns": needed},
                        roster.file,
                        name,
                    )
                )
            elif name is None:
                roster.errors.append(
                    RosterError(
                        N_("No roster found: no sheet has the columns of units, staff or students"),
                        {},
                        roster.file,
                    )
                )
            return
        roster.sheets.append(sheet)
        parse = {UNITS: self._unit, STAFF: self._staff, STUDENTS: self._student}[sheet.kind]
        fields = list(sheet.columns.items())
        for number, row in enumerate(iterator, start=sheet.header_row + 1):
            self._tick(1)
            cells = _read_cells(row, fields)
            if not cells:
                continue  # blank, or only cells we do not read (a pre-numbered 序号 column)
            roster.rows += 1
            errors: list[RosterError] = []
            parse(_Cells(Origin(sheet, number, cells), errors, self.memo))
            if errors:
                roster.errors.extend(errors)
                roster.bad_rows.add((sheet.label, number))

    def _unique(self, seen: dict[str, tuple[str, int]], key: str, cells: _Cells, name: str) -> None:
        """Record an error if ``key`` was on an earlier row (a phone, a registry number)."""
        origin = cells.origin
        first = seen.setdefault(key, origin.key)
        if first == origin.key:
            return
        if first[0] == origin.sheet.label:
            cells.errors.append(
                origin.error(name, N_("“{value}” is also on row {first}"), first=first[1])
            )
        else:
            cells.errors.append(
                origin.error(
                    name,
                    N_("“{value}” is also in {sheet}, row {first}"),
                    sheet=first[0],
                    first=first[1],
                )
            )

    def _tick(self, n: int) -> None:
        self.done += n
        self.roster.lines = self.done
        if self.progress is not None and (self.done % 500 == 0 or n > 1):
            self.progress(self.done, max(self.total, self.done))

    # -- the three kinds of row ----------------------------------------------------------------

    def _unit(self, cells: _Cells) -> None:
        origin, errors = cells.origin, cells.errors
        kind = cells.parse("kind", _unit_kind, required=True, memo=())
        name = cells.parse("name", _unit_name, required=True)
        parent = cells.parse("parent", _path, memo=())
        section = cells.parse("section", _section, memo=())
        code = cells.parse("code", _department_code, memo=())
        if kind is not None:
            if not parent and kind != "district" and "parent" not in cells.failed:
                errors.append(
                    origin.error(
                        "parent", N_("A {kind} needs its parent unit"), kind=Msg(KIND_LABELS[kind])
                    )
                )
            if kind == "school" and section is None and "section" not in cells.failed:
                errors.append(
                    origin.error(
                        "section", N_("A school needs its section (小学, 初中 or 九年一贯制)")
                    )
                )
            if kind != "school" and section is not None:
                errors.append(origin.error("section", N_("Only schools have a section")))
            if kind != "department" and code is not None:
                errors.append(origin.error("code", N_("Only departments have a code")))
        if kind is None or name is None:
            return
        self.roster.units.append(
            UnitRecord(origin.slim(), kind, name, parent or (), section, code, not errors)
        )

    def _staff(self, cells: _Cells) -> None:
        origin, errors = cells.origin, cells.errors
        name = cells.parse("name", _person_name, required=True)
        phone = cells.parse("phone", _mobile, required=True)
        role = cells.parse("role", _role, required=True, memo=())
        unit = cells.parse("unit", _path, required=True, memo=())
        has_classes = "classes" in origin.sheet.columns
        classes = cells.parse("classes", _class_list, memo=()) or ()
        if role == Role.CLASS_TEACHER and not classes and "classes" not in cells.failed:
            errors.append(
                origin.error(
                    "classes", N_("A class teacher needs at least one class (e.g. 3年级2班)")
                )
            )
        if role is not None and role != Role.CLASS_TEACHER and classes:
            errors.append(
                origin.error(
                    "classes",
                    N_("Only class teachers (班主任) have classes; leave this cell empty"),
                )
            )
        if phone is not None:
            self._unique(self.phone_rows, phone, cells, "phone")
        if errors or name is None or phone is None or role is None or unit is None:
            self.roster.probes.append(Probe(origin.slim(), unit, role=role))
            return
        self.roster.staff.append(
            StaffRecord(origin.slim(), name, phone, role, unit, classes if has_classes else None)
        )

    def _student(self, cells: _Cells) -> None:
        origin, errors = cells.origin, cells.errors
        registry_no = cells.parse("registry_no", _registry_no, required=True)
        name = cells.parse("name", _person_name, required=True)
        gender = cells.parse("gender", _gender, memo=())
        birth = cells.parse("birth_date", lambda v, t: _birth_date(v, t, self.today), memo=())
        school = cells.parse("school", _path, required=True, memo=())
        grade = cells.parse("grade", _grade, required=True, memo=())
        class_name = cells.parse(
            "class", lambda v, t: _class_name(v, t, grade), required=True, memo=(grade,)
        )
        township, village, group = (
            _unit_name_text(cells.text(f)) for f in ("township", "village", "group")
        )
        if group and not village:
            errors.append(
                origin.error("village", N_("The group is given but the village is empty"))
            )
        guardians = self._guardians(cells)
        flags = cells.parse("flags", _flags, memo=()) or ()
        note = cells.text("note") or None
        if registry_no is not None:
            self._unique(self.registry_rows, registry_no, cells, "registry_no")
        if errors or registry_no is None or name is None or school is None:
            self.roster.probes.append(
                Probe(origin.slim(), school, None, grade, (township, village, group))
            )
            return
        if grade is None or class_name is None:
            return
        self.roster.students.append(
            StudentRecord(
                origin.slim(),
                registry_no,
                name,
                gender,
                birth,
                school,
                grade,
                class_name,
                (township, village, group),
                guardians,
                flags,
                note,
                origin.sheet.optional,
            )
        )

    def _guardians(self, cells: _Cells) -> tuple[GuardianUpsert, ...]:
        names = [_person_name_text(n) for n in _split(cells.text("guardian"), _LIST_SEPARATORS)]
        relations = cells.parse("relation", _relations, memo=()) or ()
        phones = cells.parse("guardian_phone", _guardian_phones) or ()
        origin = cells.origin
        if not names:
            if phones:
                cells.errors.append(
                    origin.error(
                        "guardian_phone", N_("A guardian phone is given but no guardian name")
                    )
                )
            return ()
        if len(relations) > len(names):
            cells.errors.append(
                origin.error(
                    "relation",
                    N_("{count} relations for {names} guardians"),
                    count=len(relations),
                    names=len(names),
                )
            )
        if len(phones) > len(names):
            cells.errors.append(
                origin.error(
                    "guardian_phone",
                    N_("{count} phone numbers for {names} guardians"),
                    count=len(phones),
                    names=len(names),
                )
            )
        return tuple(
            GuardianUpsert(
                name,
                relations[i] if i < len(relations) else None,
                phones[i] if i < len(phones) else None,
            )
            for i, name in enumerate(names)
        )


class _Cells:
    """The cells of one row, by field, with errors collected rather than raised."""

    def __init__(
        self, origin: Origin, errors: list[RosterError], memo: dict[tuple[Any, ...], Any]
    ) -> None:
        self.origin = origin
        self.cells = origin.cells
        self.errors = errors
        self.memo = memo
        self.failed: set[str] = set()

    def text(self, name: str) -> str:
        cell = self.cells.get(name)
        return "" if cell is None else cell[2]

    def parse(
        self,
        name: str,
        parser: Callable[[Any, str], Any],
        required: bool = False,
        memo: tuple[Any, ...] | None = None,
    ) -> Any:
        """The parsed value of a field, or None (recording an error) when it is wrong or missing.

        With ``memo`` (what else the parser depends on), results are remembered per value:
        a column of 50,000 rows holds a few dozen schools, grades and classes.
        """
        cell = self.cells.get(name)
        if cell is None:
            if required:
                self.failed.add(name)
                self.errors.append(
                    self.origin.error(name, N_("This cell is empty; it is required"))
                )
            return None
        _, raw, text = cell
        key = (name, raw.__class__, raw, *memo) if memo is not None else None
        result = self.memo.get(key, _MISSING) if key is not None else _MISSING
        if result is _MISSING:
            try:
                result = parser(raw, text)
            except _Invalid as bad:
                result = bad
            if key is not None:
                self.memo[key] = result
        if isinstance(result, _Invalid):
            self.failed.add(name)
            self.errors.append(self.origin.error(name, result.problem, **result.params))
            return None
        return result


_MISSING = object()


def _header(
    file: str, name: str | None, number: int, row: Sequence[Any], hint: str | None
) -> Sheet | None:
    """The sheet's layout if ``row`` is a header row (of the hinted kind, if any)."""
    texts = [_header_key(v) for v in row]
    best: tuple[int, str, dict[str, list[int]]] | None = None
    for kind in (hint,) if hint else ROSTER_KINDS:
        aliases = _HEADERS[kind]
        columns: dict[str, list[int]] = {}
        for index, text in enumerate(texts):
            found = aliases.get(text)
            if found is None and "(" in text:
                found = aliases.get(re.sub(r"\(.*?\)$", "", text))
            if found is not None:
                columns.setdefault(found, []).append(index)
        if all(f in columns for f in _REQUIRED[kind]) and (best is None or len(columns) > best[0]):
            best = (len(columns), kind, columns)
    if best is None:
        return None
    _, kind, columns = best
    headers = {i: _text(v) for i, v in enumerate(row) if _text(v)}
    return Sheet(file, name, kind, number, {f: tuple(c) for f, c in columns.items()}, headers)


def _sheet_hint(name: str | None) -> str | None:
    if name is None:
        return None
    key = _header_key(name)
    for word, kind in _SHEET_HINTS:
        if word in key:
            return kind
    return None


# ---------------------------------------------------------------------------------------------
# cells

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_INVISIBLE_CHARS = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")
_LIST_SEPARATORS = re.compile(r"[、,;/|]+")
_FLAG_SEPARATORS = re.compile(r"[、,;/|\s]+")


def _text(value: Any) -> str:
    """A cell as trimmed NFKC text (full-width digits, spaces and punctuation made plain)."""
    if value is None:
        return ""
    if isinstance(value, str):
        if value.isascii():
            return value.strip()
        if not unicodedata.is_normalized("NFKC", value):  # keep the shared string if it is
            value = unicodedata.normalize("NFKC", value)
        if _INVISIBLE_CHARS.search(value):
            value = value.translate(_INVISIBLE)
        return value.strip()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    return str(value)


def _read_cells(row: Sequence[Any], fields: Iterable[tuple[str, Sequence[int]]]) -> dict[str, Cell]:
    """The cell of each field: the first of its columns that holds something."""
    cells: dict[str, Cell] = {}
    width = len(row)
    for name, columns in fields:
        for column in columns:
            if column >= width:
                continue
            value = row[column]
            if value is None:
                continue
            if value.__class__ is str and value.isascii():  # most cells: skip the call
                text = value.strip()
            elif value.__class__ is int:
                text = str(value)
            else:
                text = _text(value)
            if text:
                cells[name] = (column, value, text)
                break
    return cells


def _header_key(value: Any) -> str:
    return re.sub(r"[\s*:]+", "", _text(value)).lower()


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _file_size(size: int) -> str:
    """1.9 MB, 512 KB."""
    unit, scale = ("MB", 1024 * 1024) if size >= 1024 * 1024 else ("KB", 1024)
    return f"{size / scale:.1f}".rstrip("0").rstrip(".") + " " + unit


def _split(text: str, separators: re.Pattern[str]) -> list[str]:
    return [part.strip() for part in separators.split(text) if part.strip()]


_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_CN_DIGITS |= {"五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUMBER = re.compile(r"^([一二三四五六七八九])?(十)?([一二三四五六七八九])?$")
_NUM = r"(\d{1,3}|[一二两三四五六七八九十]{1,3})"


def _number(text: str) -> int | None:
    """1..99 from ASCII digits or Chinese numerals (三, 十二, 二十一)."""
    if re.fullmatch(r"\d{1,3}", text):
        return int(text)
    match = _CN_NUMBER.match(text)
    if not text or match is None:
        return None
    tens, ten, ones = match.groups()
    if ten is None:
        return _CN_DIGITS[tens] if tens and not ones else None
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


def _show(value: Any, text: str) -> str:
    return repr(value) if isinstance(value, float) else text


# -- field parsers: (raw value, normalized text) -> value, or raise _Invalid ------------------


def _unit_kind(raw: Any, text: str) -> str:
    kind = _UNIT_KIND_WORDS.get(text.lower())
    if kind is None:
        raise _Invalid(N_("“{value}” is not a unit type (区, 乡镇, 村, 组, 学校 or 部门)"))
    return kind


def _unit_name(raw: Any, text: str) -> str:
    if "/" in text:
        raise _Invalid(N_("A unit name cannot contain “/”"))
    return _CJK_GAP.sub("", text)


def _unit_name_text(text: str) -> str:
    return text if text.isalnum() else _CJK_GAP.sub("", text)


def _path(raw: Any, text: str) -> tuple[str, ...]:
    """A unit name, or a path of names such as 滨河镇/新墩村."""
    parts = tuple(_CJK_GAP.sub("", p.strip()) for p in re.split(r"[/\\>]", text) if p.strip())
    if not parts:
        raise _Invalid(N_("“{value}” is not a unit name or path (e.g. 滨河镇/新墩村)"))
    return parts


def _section(raw: Any, text: str) -> str:
    section = _SECTION_WORDS.get(text.lower())
    if section is None:
        raise _Invalid(N_("“{value}” is not a school section (小学, 初中 or 九年一贯制)"))
    return section


def _department_code(raw: Any, text: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", text):
        raise _Invalid(N_("“{value}” is not a department code (lower-case letters, digits and _)"))
    return text


def _relations(raw: Any, text: str) -> tuple[str, ...]:
    return tuple(_split(text, _LIST_SEPARATORS))


def _person_name_text(text: str) -> str:
    """A name with the spaces some offices put inside two-character names removed."""
    if text.isalnum():
        return text
    return re.sub(r"\s+", " ", _CJK_GAP.sub("", text))


def _person_name(raw: Any, text: str) -> str:
    name = _person_name_text(text)
    if len(name) > 50:
        raise _Invalid(N_("“{value}” is too long for a name"))
    return name


def _digits(raw: Any, text: str) -> str:
    """A number cell as its digits (13912345678.0 -> 13912345678), text as written."""
    if isinstance(raw, bool):
        return text
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        if raw.is_integer() and abs(raw) < 1e15:
            return str(int(raw))
        return repr(raw)
    return text


_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"(0\d{2,3})-?(\d{7,8})")


def _clean_phone(raw: Any, text: str) -> str:
    phone = re.sub(r"[\s\-()]", "", _digits(raw, text))
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("86") and len(phone) == 13:
        phone = phone[2:]
    return phone


def _mobile(raw: Any, text: str) -> str:
    phone = _clean_phone(raw, text)
    if not _MOBILE.fullmatch(phone):
        raise _Invalid(N_("“{value}” is not an 11-digit mobile number"), value=_show(raw, text))
    return phone


def _guardian_phones(raw: Any, text: str) -> tuple[str, ...]:
    phones = []
    pieces = [_digits(raw, text)] if not isinstance(raw, str) else _split(text, _LIST_SEPARATORS)
    for piece in pieces:
        phone = _clean_phone(piece, piece)
        landline = _LANDLINE.fullmatch(re.sub(r"[\s()]", "", piece))
        if _MOBILE.fullmatch(phone):
            phones.append(phone)
        elif landline:
            phones.append(f"{landline.group(1)}-{landline.group(2)}")
        else:
            raise _Invalid(N_("“{value}” is not a phone number"), value=_show(raw, piece))
    return tuple(phones)


def _role(raw: Any, text: str) -> Role:
    role = _ROLE_WORDS.get(re.sub(r"\s+", "", text)) or _ROLE_WORDS.get(text.lower())
    if role is None:
        words = "、".join(w for w in _ROLE_WORDS if not w.isascii())
        raise _Invalid(N_("“{value}” is not a role; use one of {roles}"), roles=words)
    return role


_REGISTRY = re.compile(r"[GL][0-9A-Z]{18}|\d{10,19}")
_SCIENTIFIC = re.compile(r"\d+(\.\d+)?E\+?\d+")


def _registry_no(raw: Any, text: str) -> str:
    """学籍号 as text: G or L and 18 letters or digits (or a plain number of 10-19 digits)."""
    if isinstance(raw, float) and (abs(raw) >= 1e15 or not raw.is_integer()):
        raise _Invalid(_LOST_DIGITS, value=repr(raw))
    number = re.sub(r"\s+", "", _digits(raw, text)).upper()
    if _SCIENTIFIC.fullmatch(number):
        raise _Invalid(_LOST_DIGITS, value=text)
    if not _REGISTRY.fullmatch(number):
        raise _Invalid(
            N_("“{value}” is not a registry number (G or L followed by 18 digits or letters)")
        )
    return number


_LOST_DIGITS = N_(
    "“{value}” is a number that Excel has rounded: its last digits are lost. "
    "Format the column as text and type the registry number again"
)


def _gender(raw: Any, text: str) -> str:
    gender = _GENDER_WORDS.get(text.lower())
    if gender is None:
        raise _Invalid(N_("“{value}” is not a gender (男 or 女)"))
    return gender


_DATE_TEXT = re.compile(r"(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*[日号]?(\s.*)?")
_YEAR_MONTH = re.compile(r"(\d{4})\s*[-./年]\s*(\d{1,2})\s*月?")


def _birth_date(raw: Any, text: str, today: date) -> str:
    """A birth date from an Excel date, an Excel serial number or text; as YYYY-MM-DD."""
    value = _date(raw, text)
    if value > today:
        raise _Invalid(N_("The birth date {value} is in the future"), value=value.isoformat())
    if value.year < today.year - 30:
        raise _Invalid(
            N_("The birth date {value} is not plausible for a pupil"), value=value.isoformat()
        )
    return value.isoformat()


def _date(raw: Any, text: str) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    digits = _digits(raw, text) if isinstance(raw, int | float) else text
    try:
        if re.fullmatch(r"\d{8}", digits):
            return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
        if re.fullmatch(r"\d{5}", digits):
            # an Excel serial day number (these are all after Excel's phantom 1900-02-29)
            return date(1899, 12, 30) + timedelta(days=int(digits))
        match = _DATE_TEXT.fullmatch(text)
        if match:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError as exc:
        raise _Invalid(N_("“{value}” is not a date (write it like 2012-03-05)")) from exc
    if _YEAR_MONTH.fullmatch(text):
        raise _Invalid(N_("“{value}” is not a full date: give the year, month and day"))
    raise _Invalid(N_("“{value}” is not a date (write it like 2012-03-05)"))


_GRADE_WORD = re.compile(r"(?:小学)?" + _NUM + r"年级|初中?([一二三])(?:年级)?|" + r"(\d{1,2})")


def _grade_of(text: str) -> int | None:
    match = _GRADE_WORD.fullmatch(text)
    if match is None:
        return None
    word, junior, plain = match.groups()
    if junior:
        return 6 + _CN_DIGITS[junior]
    return _number(word or plain)


def _grade(raw: Any, text: str) -> int:
    grade = _grade_of(re.sub(r"\s+", "", _digits(raw, text)))
    if grade is None:
        raise _Invalid(N_("“{value}” is not a grade (1-9, 三年级 or 初一)"))
    if not 1 <= grade <= 9:
        raise _Invalid(N_("Grade {value} is out of range (1-9)"))
    return grade


_CLASS_ONLY = re.compile(r"\(?" + _NUM + r"\)?班?")
_CLASS_FULL = re.compile(
    r"((?:小学)?" + _NUM + r"年级|初中?[一二三](?:年级)?|高[一二三])\(?" + _NUM + r"\)?班?"
)


def _class_name(raw: Any, text: str, grade: int | None) -> str:
    """A class as 'N班' from 2, '2班', '(2)班', or a full '3年级2班' that agrees with the grade."""
    compact = re.sub(r"\s+", "", _digits(raw, text))
    match = _CLASS_ONLY.fullmatch(compact)
    if match and _number(match.group(1)) is not None:
        return f"{_number(match.group(1))}班"
    full = _CLASS_FULL.fullmatch(compact)
    if full:
        ref = _class_ref(compact)
        if grade is not None and ref.grade != grade:
            raise _Invalid(N_("The class {value} is not in grade {grade}"), grade=grade)
        return ref.name
    if len(compact) > 20:
        raise _Invalid(N_("“{value}” is too long for a class name"))
    return compact


def _class_ref(text: str) -> ClassRef:
    full = _CLASS_FULL.fullmatch(text)
    if full is None:
        raise _Invalid(
            N_("“{value}” is not a class; write it like 3年级2班 or 初一(2)班"), value=text
        )
    grade_text, grade_number, class_number = full.groups()
    grade = _grade_of(grade_text)
    number = _number(class_number)
    if grade_text.startswith("高") or grade is None or not 1 <= grade <= 9 or number is None:
        raise _Invalid(
            N_("“{value}” is not a class; write it like 3年级2班 or 初一(2)班"), value=text
        )
    del grade_number
    return ClassRef(grade, f"{number}班", text)


def _class_list(raw: Any, text: str) -> tuple[ClassRef, ...]:
    refs = []
    for part in _split(text, _FLAG_SEPARATORS):
        ref = _class_ref(part)
        if ref not in refs:
            refs.append(ref)
    return tuple(refs)


def _flags(raw: Any, text: str) -> tuple[str, ...]:
    """A9 flag codes from the words in the cell, in the measures' order."""
    found: set[str] = set()
    for word in _split(text, _FLAG_SEPARATORS):
        if word.lower() in _NO_FLAGS:
            continue
        code = _FLAG_WORDS.get(word) or _FLAG_WORDS.get(word.lower())
        if code is None:
            known = "、".join(_FLAG_NAMES.values())
            raise _Invalid(
                N_("“{value}” is not a hardship category; use {flags}"), value=word, flags=known
            )
        found.add(code)
    return tuple(f for f in A9_FLAGS if f in found)


# ---------------------------------------------------------------------------------------------
# resolving names against the stored units


class _Node:
    __slots__ = ("broken", "children", "key", "kind", "name", "parent", "section")

    def __init__(self, key: UnitKey, parent: _Node | None, section: str | None) -> None:
        self.key = key
        self.kind, self.name = key[-1]
        self.parent = parent
        self.section = section
        self.children: list[_Node] = []
        self.broken: Origin | None = None  # the row with errors that declares this unit

    def broken_row(self) -> Origin | None:
        """The row with errors that declares this unit or one of its ancestors, if any."""
        node: _Node | None = self
        while node is not None:
            if node.broken is not None:
                return node.broken
            node = node.parent
        return None

    def path(self) -> str:
        names = []
        node: _Node | None = self
        while node is not None:
            if node.kind != "district":
                names.append(node.name)
            node = node.parent
        return "/".join(reversed(names)) or self.name


class UnitTree:
    """The stored units plus those a file adds, found by name or by path."""

    def __init__(self, units: Iterable[ExistingUnit]) -> None:
        self.by_key: dict[UnitKey, _Node] = {}
        self.by_name: dict[str, list[_Node]] = {}
        units = list(units)
        keys = unit_keys(units)
        for unit in sorted(units, key=lambda u: len(keys.get(u.id, ()))):
            key = keys.get(unit.id)
            if key is not None and key not in self.by_key:
                self.add(key, unit.section)

    def add(self, key: UnitKey, section: str | None) -> _Node:
        """The node of ``key``, created if new (its parent must be known)."""
        node = self.by_key.get(key)
        if node is not None:
            if section is not None:
                node.section = section
            return node
        parent = self.by_key[key[:-1]] if len(key) > 1 else None
        node = _Node(key, parent, section)
        self.by_key[key] = node
        self.by_name.setdefault(node.name, []).append(node)
        if parent is not None:
            parent.children.append(node)
        return node

    def find(self, path: Sequence[str]) -> list[_Node]:
        """Units whose name is the path's last part and whose nearest ancestors are the rest."""
        found = []
        for node in self.by_name.get(path[-1], ()):
            ancestor = node.parent
            for name in reversed(path[:-1]):
                if ancestor is None or ancestor.name != name:
                    break
                ancestor = ancestor.parent
            else:
                found.append(node)
        return found


@dataclass
class Resolution:
    plan: RosterPlan
    errors: list[RosterError]
    bad_rows: set[tuple[str, int]]


def resolve(roster: Roster, units: Iterable[ExistingUnit]) -> Resolution:
    """Check the names the records use and build the plan of what to write."""
    return _Resolver(UnitTree(units)).run(roster)


class _Resolver:
    def __init__(self, tree: UnitTree) -> None:
        self.tree = tree
        self.errors: list[RosterError] = []
        self.bad: set[tuple[str, int]] = set()
        self.cache: dict[tuple[Any, ...], _Node | _Invalid] = {}

    def run(self, roster: Roster) -> Resolution:
        plan = RosterPlan()
        declared: dict[UnitKey, Origin] = {}
        for unit in roster.units:
            key = self._unit(unit, declared)
            if key is not None:
                # a blank section or code leaves the stored one alone (A6 routing uses codes)
                given = (("section", unit.section), ("code", unit.code))
                fields = frozenset(f for f, v in given if v is not None)
                plan.units.append(UnitUpsert(key, unit.section, unit.code, fields))
        classes: dict[ClassKey, Origin] = {}
        for person in roster.staff:
            staff = self._staff(person, classes)
            if staff is not None:
                plan.staff.append(staff)
        self.cache.clear()
        for student in roster.students:
            upsert = self._student(student)
            if upsert is not None:
                plan.students.append(upsert)
        for probe in roster.probes:
            self._probe(probe)
        return Resolution(plan, self.errors, self.bad)

    def _probe(self, probe: Probe) -> None:
        """Check the names a row with errors uses (that row is never written)."""
        if probe.origin.sheet.kind == STAFF:
            if probe.path is not None:
                self._staff_unit(probe.origin, probe.path, probe.role)
            return
        if probe.path is not None:
            self._school(probe.origin, probe.path, probe.grade)
        self._household(probe.origin, probe.household)

    def _fail(self, origin: Origin, name: str | None, problem: str, **params: Any) -> None:
        self.errors.append(origin.error(name, problem, **params))
        self.bad.add(origin.key)

    def _find(self, path: Sequence[str], kinds: Sequence[str], what: str) -> _Node:
        """The one unit of one of ``kinds`` at ``path``, or raise _Invalid saying why not."""
        cache_key = (tuple(path), tuple(kinds))
        hit = self.cache.get(cache_key)
        if hit is None:
            try:
                hit = self._find_uncached(path, kinds, what)
            except _Invalid as bad:
                hit = bad
            self.cache[cache_key] = hit
        if isinstance(hit, _Invalid):
            raise _copy_invalid(hit)
        return hit

    def _find_uncached(self, path: Sequence[str], kinds: Sequence[str], what: str) -> _Node:
        found = self.tree.find(path)
        if not found:
            raise _Invalid(what)
        fitting = [n for n in found if n.kind in kinds]
        if not fitting:
            raise _Invalid(
                N_("“{value}” is a {kind}, not a {wanted}"),
                kind=Msg(KIND_LABELS[found[0].kind]),
                wanted=tuple(Msg(KIND_LABELS[k]) for k in kinds),
            )
        if len(fitting) > 1:
            paths = "、".join(sorted(n.path() for n in fitting))
            raise _Invalid(
                N_("“{value}” names {count} units ({paths}); write the path, e.g. {example}"),
                count=len(fitting),
                paths=paths,
                example=fitting[0].path(),
            )
        broken = fitting[0].broken_row()
        if broken is not None:
            raise _Invalid(
                N_("“{value}” is declared on row {row} of {sheet}, which has errors"),
                row=broken.row,
                sheet=broken.sheet.label,
            )
        return fitting[0]

    def _unit(self, unit: UnitRecord, declared: dict[UnitKey, Origin]) -> UnitKey | None:
        origin = unit.origin
        parent: _Node | None = None
        if unit.parent:
            try:
                parent = self._find(
                    unit.parent,
                    _PARENT_KINDS[unit.kind],
                    N_("No unit named “{value}”: list a parent above its units, or add it first"),
                )
            except _Invalid as bad:
                self._fail(origin, "parent", bad.problem, **bad.params)
                return None
        key: UnitKey = (*(parent.key if parent else ()), (unit.kind, unit.name))
        first = declared.setdefault(key, origin)
        if first is not origin:
            self._fail(origin, "name", N_("This unit is also on row {first}"), first=first.row)
            return None
        node = self.tree.add(key, unit.section)
        self.cache.clear()  # a new unit can make a short name ambiguous
        if not unit.ok:
            node.broken = origin
            return None
        return key

    def _staff_unit(self, origin: Origin, path: Sequence[str], role: Role | None) -> _Node | None:
        """The unit a staff member belongs to, of a kind that fits the role (A3-A6)."""
        kinds = ROLE_UNIT_KINDS[role] if role is not None else tuple(KIND_LABELS)
        try:
            return self._find(path, kinds, N_("No unit named “{value}”"))
        except _Invalid as bad:
            if role is not None and bad.problem == N_("“{value}” is a {kind}, not a {wanted}"):
                bad = _Invalid(
                    N_("“{value}” is a {kind}; a {role} belongs to a {wanted}"),
                    **bad.params,
                    role=Msg(ROLE_LABELS[role]),
                )
            self._fail(origin, "unit", bad.problem, **bad.params)
            return None

    def _staff(self, person: StaffRecord, classes: dict[ClassKey, Origin]) -> StaffUpsert | None:
        origin = person.origin
        unit = self._staff_unit(origin, person.unit, person.role)
        if unit is None:
            return None
        keys: list[ClassKey] = []
        ok = True
        for ref in person.classes or ():
            grades = SECTION_GRADES.get(unit.section or "nine_year", range(1, 10))
            if ref.grade not in grades:
                self._fail(
                    origin,
                    "classes",
                    N_("{school} is a {section}: it has no class {value}"),
                    value=ref.text,
                    school=unit.name,
                    section=Msg(SECTION_LABELS[unit.section or "nine_year"]),
                )
                ok = False
                continue
            key = (unit.key, ref.grade, ref.name)
            first = classes.setdefault(key, origin)
            if first is not origin:
                self._fail(
                    origin,
                    "classes",
                    N_("Class {value} is already given to the teacher on row {first}"),
                    value=ref.text,
                    first=first.row,
                )
                ok = False
                continue
            keys.append(key)
        if not ok:
            return None
        return StaffUpsert(
            person.phone,
            person.name,
            person.role.value,
            unit.key,
            None if person.classes is None else tuple(keys),
        )

    def _school(self, origin: Origin, path: Sequence[str], grade: int | None) -> _Node | None:
        """The student's school, if it exists and teaches the grade."""
        try:
            school = self._find(path, ("school",), N_("No school named “{value}”"))
        except _Invalid as bad:
            self._fail(origin, "school", bad.problem, **bad.params)
            return None
        if grade is not None and grade not in SECTION_GRADES.get(
            school.section or "", range(1, 10)
        ):
            self._fail(
                origin,
                "grade",
                N_("{school} is a {section}: it has no grade {value}"),
                school=school.name,
                section=Msg(SECTION_LABELS[school.section or "nine_year"]),
            )
            return None
        return school

    def _student(self, s: StudentRecord) -> StudentUpsert | None:
        school = self._school(s.origin, s.school, s.grade)
        ok, household = self._household(s.origin, s.household)
        if school is None or not ok:
            return None
        return StudentUpsert(
            registry_no=s.registry_no,
            name=s.name,
            school=school.key,
            grade=s.grade,
            class_key=(school.key, s.grade, s.class_name),
            gender=s.gender,
            birth_date=s.birth_date,
            household=household.key if household is not None else None,
            a9_flags=",".join(s.flags),
            note=s.note,
            guardians=s.guardians,
            fields=s.fields,
        )

    def _household(self, origin: Origin, where: tuple[str, str, str]) -> tuple[bool, _Node | None]:
        """(ok, the household's group, village or township; None when the row gives none)."""
        township, village, group = where
        if not (township or village or group):
            return True, None
        cache_key = ("household", *where)
        hit = self.cache.get(cache_key)
        if hit is None:
            try:
                hit = self._household_uncached(township, village, group)
            except _Invalid as bad:
                hit = bad
            self.cache[cache_key] = hit
        if isinstance(hit, _Invalid):
            params = dict(hit.params)
            column = params.pop("column")
            self._fail(origin, column, hit.problem, **params)
            return False, None
        return True, hit

    def _household_uncached(self, township: str, village: str, group: str) -> _Node:
        town: _Node | None = None
        if township:
            try:
                town = self._find((township,), ("township",), N_("No township named “{value}”"))
            except _Invalid as bad:
                raise _Invalid(bad.problem, column="township", **bad.params) from None
            if not village:
                return town
        path = (township, village) if township else (village,)
        try:
            place = self._find(path, ("village",), N_("No village named “{value}”"))
        except _Invalid as bad:
            if town is not None and bad.problem == N_("No village named “{value}”"):
                bad = _Invalid(N_("{township} has no village named “{value}”"), township=town.name)
            raise _Invalid(bad.problem, column="village", value=village, **bad.params) from None
        if not group:
            return place
        children = [c for c in place.children if c.kind == "group"]
        exact = [c for c in children if c.name == group]
        if not exact:
            wanted = _group_number(group)
            exact = [c for c in children if wanted is not None and _group_number(c.name) == wanted]
        if len(exact) != 1:
            raise _Invalid(
                N_("{village} has no group named “{value}”"), column="group", village=place.name
            )
        return exact[0]


def _copy_invalid(bad: _Invalid) -> _Invalid:
    return _Invalid(bad.problem, **bad.params)


def _group_number(name: str) -> int | None:
    """3 from '3', '3组', '三组', '第三村民小组', '3队' (so a file may write a group either way)."""
    match = re.fullmatch(r"第?" + _NUM + r"(?:组|队|村民小组|小组)?", name)
    return _number(match.group(1)) if match else None
