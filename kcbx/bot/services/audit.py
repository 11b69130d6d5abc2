"""Who did or saw what of a child's record: the audit history, for the CLI and administrators.

PIPL art. 28-31 treat a child's information as sensitive; a county's security review asks who
opened a child's record. The history joins the audit rows of the student, of its cases and of
the reads noted by the handlers, and names each actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kcbx.bot.domain.clock import from_iso
from kcbx.bot.domain.model import Person, Student
from kcbx.bot.runtime.services import Services
from kcbx.storage.audit import Verdict


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    actor: str  # the audit actor: person:12, cli:root, system
    person: Person | None  # the person behind person:N, when known
    action: str  # e.g. view:card, visit, close:returned, export
    entity: str
    entity_id: str | None
    chat_id: int | None


@dataclass(frozen=True)
class History:
    subject: str  # the student's name and registry number, or the person's name and phone
    lines: list[HistoryLine]


class NotFound(Exception):
    """No student with that registry number, or no person with that phone."""


async def _lines(services: Services, rows: list[dict[str, Any]]) -> list[HistoryLine]:
    ids = {int(r["actor"].split(":", 1)[1]) for r in rows if r["actor"].startswith("person:")}
    people = {pid: p for pid in ids if (p := await services.people.get(pid)) is not None}
    lines = []
    for r in rows:
        pid = int(r["actor"].split(":", 1)[1]) if r["actor"].startswith("person:") else None
        lines.append(
            HistoryLine(
                at=from_iso(r["at"]),
                actor=r["actor"],
                person=people.get(pid) if pid is not None else None,
                action=r["action"],
                entity=r["entity"],
                entity_id=r["entity_id"],
                chat_id=r.get("chat_id"),
            )
        )
    return lines


async def student_history(services: Services, registry_no: str, *, limit: int = 1000) -> History:
    """Everything done to or seen of one student, oldest first."""
    await services.audit.flush()  # the reads noted a moment ago belong in the answer
    student: Student | None = await services.students.by_registry(registry_no.strip())
    if student is None:
        raise NotFound(registry_no)
    rows = await services.audit.of_student(student.id, limit=limit)
    return History(f"{student.name} {student.registry_no}", await _lines(services, rows))


async def person_history(services: Services, phone: str, *, limit: int = 1000) -> History:
    """Everything one person did or saw, oldest first."""
    await services.audit.flush()
    person = await services.people.by_phone(phone.strip())
    if person is None:
        raise NotFound(phone)
    rows = await services.audit.of_actor(f"person:{person.id}", limit=limit)
    return History(f"{person.name} {person.phone}", await _lines(services, rows))


async def verify_log(services: Services) -> Verdict:
    await services.audit.flush()
    return await services.audit.verify()
