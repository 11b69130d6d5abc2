"""The model: the people, units, students, cases and notices the rules talk about.

Plain frozen dataclasses with no infrastructure: the storage layer reads rows into them and the
rules, services and texts take them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kcbx.bot.domain.roles import Role


class Staff:
    """Someone on the staff list: active, or revoked (locked out at once)."""

    status: str

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True)
class Person(Staff):
    id: int
    name: str
    phone: str | None
    role: Role
    unit_id: int | None
    telegram_id: int | None
    chat_id: int | None
    lang: str | None
    status: str
    unreachable_at: str | None
    office_id: int | None = None  # a district role's department (区教育局), A3


@dataclass(frozen=True)
class Unit:
    id: int
    kind: str
    name: str
    parent_id: int | None
    section: str | None
    code: str | None
    latitude: float | None = None  # a village's place on the map (roster, optional)
    longitude: float | None = None


@dataclass(frozen=True)
class Guardian:
    name: str
    relation: str | None
    phone: str | None


@dataclass(frozen=True)
class Student:
    id: int
    registry_no: str
    name: str
    gender: str | None
    birth_date: str | None
    school_id: int
    class_id: int | None
    grade: int | None
    class_name: str | None
    household_unit_id: int | None
    a9_flags: tuple[str, ...]
    exempt: bool
    note: str | None


@dataclass(frozen=True)
class Case:
    id: int
    number: str
    student_id: int
    reported_by: int | None
    absent_since: date
    reported_at: datetime
    cause: str
    guardian_contact: str | None
    note: str | None
    status: str
    closed_at: datetime | None
    reopened_from: int | None
    carried_days: int = 0  # ladder days carried from the case it reopens (relapse, 0003)
    actions_recorded: int = 0  # grows with every action: the sweep sees the case changed (0021)

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True)
class Action:
    id: int
    case_id: int
    kind: str
    actor_id: int | None
    at: datetime
    recorded_at: datetime
    rule: str | None
    detail: dict[str, Any] = field(default_factory=dict)
    corrects_id: int | None = None


@dataclass(frozen=True)
class Notice:
    """One numbered document of the register (a row of ``notices``)."""

    id: int
    case_id: int
    kind: str  # notice (A7.4) | correction (A7.5)
    year: int
    seq: int
    number: str
    replaces_id: int | None
    cites_id: int | None
    task: str | None
    status: str  # drafted | issued | delivered | replaced
    created_at: datetime
    created_by: str
    issue_date: date
    issued_by: int | None
    issued_at: datetime | None
    deadline: date | None
    delivered_on: date | None
    delivered_to: str | None
    delivered_by: int | None
    receipt_blob_id: int | None
    pdf_blob_id: int | None
    docx_blob_id: int | None
    action_id: int | None

    @property
    def delivered(self) -> bool:
        return self.status == "delivered"

    @property
    def replaced(self) -> bool:
        return self.status == "replaced"

    @property
    def has_documents(self) -> bool:
        return self.pdf_blob_id is not None and self.docx_blob_id is not None
