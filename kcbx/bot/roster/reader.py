"""Reading a roster file: .xlsx or .csv bytes in, records and every error at once.

Pure. ``read_roster`` finds each sheet's header (below any title rows, one row or two),
normalizes every cell (NFKC, trimmed) and checks each row on its own and against the other
rows of the file (duplicate phones and registry numbers); ``resolver.resolve`` then checks the
names the rows use against the stored units.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from typing import Any

from kcbx.bot.domain.geo import Point
from kcbx.bot.domain.i18n import N_
from kcbx.bot.domain.roles import Role
from kcbx.bot.roster import cells as c
from kcbx.bot.roster.errors import Invalid, Msg, RosterError
from kcbx.bot.roster.fields import SECTION_WORDS, FieldParsers
from kcbx.bot.roster.layout import (
    CADRE_FIELDS,
    DEFAULT_MAX_BYTES,
    HEADER_NAMES,
    HEADER_SEARCH_ROWS,
    REQUIRED,
    Origin,
    RowSource,
    Sheet,
    csv_sheet,
    find_header,
    open_xlsx,
    sheet_hint,
    under_header,
    xlsx_sheet,
)
from kcbx.bot.roster.records import (
    Cadre,
    Probe,
    Progress,
    Roster,
    StaffRecord,
    StudentRecord,
    UnitRecord,
)
from kcbx.bot.roster.tree import KIND_LABELS
from kcbx.bot.roster.vocabulary import STAFF, STUDENTS, UNITS, Vocabulary, default_vocabulary
from kcbx.storage.roster_repo import GuardianUpsert

_NO_ROSTER = N_("No roster found: no sheet has the columns of units, staff or students")
_CADRE_ROLES = {
    "township_cadre": Role.TOWNSHIP_CADRE,
    "village_cadre": Role.VILLAGE_CADRE,
    "group_cadre": Role.GROUP_CADRE,
}


def check_size(size: int, filename: str, max_bytes: int = DEFAULT_MAX_BYTES) -> RosterError | None:
    """An error if a file of ``size`` bytes is over the limit, else None."""
    if size <= max_bytes:
        return None
    return RosterError(
        N_("The file is {size}; files over {limit} are refused. Split it into smaller files."),
        {"size": c.file_size(size), "limit": c.file_size(max_bytes)},
        filename,
    )


def _sources(data: bytes, filename: str, max_bytes: int) -> tuple[Any, list[RowSource]]:
    """(the open workbook or None, the file's sheets); Invalid if it is not a roster file."""
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if suffix in ("xlsx", "xlsm"):
        book = open_xlsx(data, max_bytes)
        return book, [xlsx_sheet(sheet) for sheet in book.worksheets]
    if suffix in ("csv", "txt"):
        return None, [csv_sheet(data)]
    if suffix in ("xls", "et", "wps"):
        raise Invalid(N_("This is an old Excel (.xls) file: save it as .xlsx and send it again"))
    raise Invalid(N_("Only .xlsx and .csv files can be imported"))


def read_roster(
    data: bytes,
    filename: str,
    *,
    today: date,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Progress | None = None,
    vocabulary: Vocabulary | None = None,
) -> Roster:
    """Read an .xlsx or .csv roster: the records of every valid row and every error found."""
    roster = Roster(filename)
    too_big = check_size(len(data), filename, max_bytes)
    if too_big is not None:
        roster.errors.append(too_big)
        return roster
    book = None
    try:
        book, sources = _sources(data, filename, max_bytes)
        total = sum(estimate for _, estimate, _ in sources)
        reader = _Reader(roster, today, progress, total, vocabulary or default_vocabulary())
        for name, _, rows in sources:
            reader.read_sheet(name, rows)
    except Invalid as bad:
        roster.errors.append(RosterError(bad.problem, bad.params, filename))
        return roster
    finally:
        if book is not None:
            book.close()
    if not roster.sheets and not roster.errors:
        roster.errors.append(RosterError(_NO_ROSTER, {}, filename))
    return roster


class _Reader:
    """Reads the sheets of one file into a Roster, remembering keys seen for duplicates."""

    def __init__(
        self,
        roster: Roster,
        today: date,
        progress: Progress | None,
        total: int,
        vocabulary: Vocabulary,
    ) -> None:
        self.roster = roster
        self.today = today
        self.progress = progress
        self.total = total
        self.done = 0
        self.vocabulary = vocabulary
        self.fields = FieldParsers(vocabulary)
        self.registry_rows: dict[str, tuple[str, int]] = {}
        self.memo: dict[tuple[Any, ...], Any] = {}
        self.phone_rows: dict[str, tuple[str, int]] = {}

    def _find_sheet(
        self, name: str | None, rows: Iterator[Sequence[Any]]
    ) -> tuple[Sheet | None, Iterator[Sequence[Any]]]:
        """The sheet's header in its first rows, and the rows below it."""
        hint = sheet_hint(name)
        above: Sequence[Any] | None = None
        for number, row in enumerate(rows, start=1):
            self._tick(1)
            sheet = find_header(self.roster.file, name, number, row, hint, self.vocabulary, above)
            if sheet is not None:
                below = next(rows, None)
                if below is None:
                    return sheet, rows
                stacked = under_header(sheet, row, below, self.vocabulary)
                if stacked is not None:
                    self._tick(1)
                    return stacked, rows
                return sheet, itertools.chain([below], rows)
            if number >= HEADER_SEARCH_ROWS:
                break
            above = row
        if hint is not None:
            needed = "、".join(HEADER_NAMES[hint][f] for f in REQUIRED[hint])
            self.roster.errors.append(
                RosterError(
                    N_("No header row in the first {rows} rows; it needs the columns {columns}"),
                    {"rows": HEADER_SEARCH_ROWS, "columns": needed},
                    self.roster.file,
                    name,
                )
            )
        elif name is None:
            self.roster.errors.append(RosterError(_NO_ROSTER, {}, self.roster.file))
        return None, rows

    def read_sheet(self, name: str | None, rows: Iterable[Sequence[Any]]) -> None:
        roster = self.roster
        sheet, below = self._find_sheet(name, iter(rows))
        if sheet is None:
            return
        roster.sheets.append(sheet)
        parse = {UNITS: self._unit, STAFF: self._staff, STUDENTS: self._student}[sheet.kind]
        fields = list(sheet.columns.items())
        for number, row in enumerate(below, start=sheet.header_row + 1):
            self._tick(1)
            found = c.read_cells(row, fields)
            if not found:
                continue  # blank, or only cells we do not read (a pre-numbered 序号 column)
            roster.rows += 1
            errors: list[RosterError] = []
            parse(Cells(Origin(sheet, number, found), errors, self.memo))
            if errors:
                roster.errors.extend(errors)
                roster.bad_rows.add((sheet.label, number))

    def _unique(self, seen: dict[str, tuple[str, int]], key: str, cells: Cells, name: str) -> None:
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
        if self.progress is not None and self.done % 500 == 0:
            self.progress(self.done, max(self.total, self.done))

    # -- the three kinds of row ----------------------------------------------------------------

    def _unit(self, cells: Cells) -> None:
        origin, errors = cells.origin, cells.errors
        kind, implied = cells.parse("kind", self.fields.unit_kind, required=True, memo=()) or (
            None,
            None,
        )
        name = cells.parse("name", c.unit_name, required=True)
        parent = cells.parse("parent", c.path, memo=())
        section = cells.parse("section", self.fields.section, memo=()) or implied
        code = cells.parse("code", self.fields.department, memo=())
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
                        "section",
                        N_("A school needs its section ({primary}, {junior} or {nine_year})"),
                        **SECTION_WORDS,
                    )
                )
            if kind != "school" and section is not None:
                errors.append(origin.error("section", N_("Only schools have a section")))
            if kind != "department" and code is not None:
                errors.append(origin.error("code", N_("Only departments have a code")))
        if kind is None or name is None:
            return
        given = code is not None
        if kind == "department" and code is None and "code" not in cells.failed:
            code = self.vocabulary.department_of(name)  # A6/A9: 区民政局 is civil affairs
        point = self._point(cells)
        record = UnitRecord(
            origin.slim(), kind, name, parent or (), section, code, not errors, given, point
        )
        self.roster.units.append(record)

    def _point(self, cells: Cells) -> Point | None:
        """A unit's 经度 and 纬度 (or one 坐标 cell). A wrong value is a warning on its row:
        the unit is imported without them; a map pin does not refuse the file."""
        pair, lon, lat = (cells.text(f) for f in ("coordinates", "longitude", "latitude"))
        if not (pair or lon or lat):
            return None
        field = "coordinates" if pair else "latitude" if lon and not lat else "longitude"
        try:
            return c.read_point(pair) if pair else c.read_degrees(lon, lat)
        except Invalid as bad:
            self.roster.warnings.append(cells.origin.error(field, bad.problem, **bad.params))
            return None

    def _staff(self, cells: Cells) -> None:
        origin, errors = cells.origin, cells.errors
        name = cells.parse("name", c.person_name, required=True)
        phone = cells.parse("phone", c.mobile, required=True)
        role = cells.parse("role", self.fields.role, required=True, memo=())
        unit = cells.parse("unit", c.path, required=True, memo=())
        has_classes = "classes" in origin.sheet.columns
        classes = cells.parse("classes", self.fields.class_list, memo=()) or ()
        if role == Role.CLASS_TEACHER and not classes and "classes" not in cells.failed:
            errors.append(
                origin.error(
                    "classes",
                    N_("A class teacher needs at least one class (e.g. {example})"),
                    example="3年级2班",
                )
            )
        if role is not None and role != Role.CLASS_TEACHER and classes:
            errors.append(
                origin.error(
                    "classes",
                    N_("Only class teachers have classes; leave this cell empty"),
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

    def _student(self, cells: Cells) -> None:
        origin, errors = cells.origin, cells.errors
        registry_no = cells.parse("registry_no", c.registry_no, required=True)
        name = cells.parse("name", c.person_name, required=True)
        gender = cells.parse("gender", c.gender, memo=())
        birth = cells.parse("birth_date", lambda v, t: c.birth_date(v, t, self.today), memo=())
        school = cells.parse("school", c.path, required=True, memo=())
        grade = cells.parse("grade", self.fields.grade, required=True, memo=())
        class_name = cells.parse(
            "class",
            lambda v, t: self.fields.class_name(v, t, grade),
            required=True,
            memo=(grade,),
        )
        household = tuple(c.unit_name_text(cells.text(f)) for f in ("township", "village", "group"))
        guardians = self._guardians(cells)
        flags = cells.parse("flags", self.fields.flags, memo=()) or ()
        cadres = self._cadres(cells)
        note = cells.text("note") or None
        if registry_no is not None:
            self._unique(self.registry_rows, registry_no, cells, "registry_no")
        where = (household[0], household[1], household[2])
        if errors or registry_no is None or name is None or school is None:
            self.roster.probes.append(Probe(origin.slim(), school, None, grade, where))
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
                where,
                guardians,
                flags,
                note,
                origin.sheet.optional,
                cadres,
            )
        )

    def _guardians(self, cells: Cells) -> tuple[GuardianUpsert, ...]:
        names = [c.person_name_text(n) for n in c.split(cells.text("guardian"), c.LIST_SEPARATORS)]
        relations = cells.parse("relation", self.fields.relations, memo=()) or ()
        phones = cells.parse("guardian_phone", c.guardian_phones) or ()
        origin = cells.origin
        if not names:
            if phones:
                cells.errors.append(
                    origin.error(
                        "guardian_phone", N_("A guardian phone is given but no guardian name")
                    )
                )
            return ()
        for name, found, problem in (
            ("relation", relations, N_("{count} relations for {names} guardians")),
            ("guardian_phone", phones, N_("{count} phone numbers for {names} guardians")),
        ):
            if len(found) > len(names):
                cells.errors.append(origin.error(name, problem, count=len(found), names=len(names)))
        return tuple(
            GuardianUpsert(
                name,
                relations[i] if i < len(relations) else None,
                phones[i] if i < len(phones) else None,
            )
            for i, name in enumerate(names)
        )

    def _cadres(self, cells: Cells) -> tuple[Cadre, ...]:
        """The 三包 cadres the row names for its household (A5), each with its phone."""
        found: list[Cadre] = []
        for field in CADRE_FIELDS:
            named = cells.parse(field, c.name_and_phone, memo=())
            phone = cells.parse(f"{field}_phone", c.mobile, memo=())
            if named is None:
                if phone is not None:
                    cells.errors.append(
                        cells.origin.error(
                            f"{field}_phone", N_("A cadre's phone is given but no name")
                        )
                    )
                continue
            found.append(Cadre(_CADRE_ROLES[field], named[0], phone or named[1], field))
        return tuple(found)


class Cells:
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
            except Invalid as bad:
                result = bad
            if key is not None:
                self.memo[key] = result
        if isinstance(result, Invalid):
            self.failed.add(name)
            self.errors.append(self.origin.error(name, result.problem, **result.params))
            return None
        return result


_MISSING = object()
