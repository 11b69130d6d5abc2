"""What the rows of a roster file hold once read: units, staff and students, still named by
the names the file uses (resolved against the stored units by ``resolver``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kcbx.bot.domain.geo import Point
from kcbx.bot.domain.roles import Role
from kcbx.bot.roster.cells import ClassRef
from kcbx.bot.roster.errors import RosterError
from kcbx.bot.roster.layout import Origin, Sheet
from kcbx.storage.roster_repo import GuardianUpsert

Progress = Callable[[int, int], None]
"""progress(done, total): rows read so far, of an estimated total."""


@dataclass(frozen=True, slots=True)
class UnitRecord:
    origin: Origin
    kind: str
    name: str
    parent: tuple[str, ...]  # a path of names; empty for the root
    section: str | None
    code: str | None  # a department's A6/A9 role (civil_affairs ...), from 代码 or its name
    ok: bool = True  # False: the row has errors; kept so its units' rows resolve
    code_given: bool = False  # True: the file's 代码 cell says it; False: found from the name
    point: Point | None = None  # 经度/纬度 or 坐标, where the file gives them


@dataclass(frozen=True, slots=True)
class Cadre:
    """A 三包 cadre a student's row names for its household (A5): by name, phone if given."""

    role: Role
    name: str
    phone: str | None
    field: str  # the column it was read from


@dataclass(frozen=True, slots=True)
class Probe:
    """The names used by a row that has errors, still checked so that all errors show at once."""

    origin: Origin
    path: tuple[str, ...] | None  # the staff member's unit, or the student's school
    role: Role | None = None
    grade: int | None = None
    household: tuple[str, str, str] = ("", "", "")


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
    cadres: tuple[Cadre, ...] = ()


@dataclass
class Roster:
    """What a file holds: records that passed the row checks, and every error found."""

    file: str
    units: list[UnitRecord] = field(default_factory=list)
    staff: list[StaffRecord] = field(default_factory=list)
    students: list[StudentRecord] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)  # rows with errors, names still checked
    errors: list[RosterError] = field(default_factory=list)
    warnings: list[RosterError] = field(default_factory=list)  # rows imported all the same
    bad_rows: set[tuple[str, int]] = field(default_factory=set)
    rows: int = 0  # data rows read (blank rows not counted)
    lines: int = 0  # every row read, title, header and blank rows included
    sheets: list[Sheet] = field(default_factory=list)

    @property
    def fatal(self) -> bool:
        """True when the file as a whole could not be read (nothing to import)."""
        return any(e.row is None and e.sheet is None for e in self.errors)
