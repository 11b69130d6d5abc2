"""Roster upsert: units, staff, classes, students and guardians in one transaction.

The caller hands over a resolved plan (``kcbx.bot.roster.resolver.resolve``) in which units
are named by their key, the path of (kind, name) pairs from the root; this module turns keys
into ids, compares with what is stored and writes only the differences, with bulk reads and
``executemany``, and one summary row in ``audit_log`` for the whole import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kcbx.bot.domain.clock import to_iso
from kcbx.bot.domain.geo import Point
from kcbx.bot.domain.model import Guardian, Staff, Unit
from kcbx.storage import rollups
from kcbx.storage.case_plans import (
    mark_actors_changed,
    mark_students_changed,
    mark_waiting_changed,
)
from kcbx.storage.db import Database
from kcbx.storage.people import people_changed
from kcbx.storage.records.audit import AuditRepo

UnitKey = tuple[tuple[str, str], ...]
"""A unit named by its ancestry: ((kind, name) of the root, ..., (kind, name) of the unit)."""

ClassKey = tuple[UnitKey, int, str]
"""A class named by (school key, grade, class name)."""

KINDS = ("units", "staff", "classes", "students")

_STUDENT_BATCH = 5000
_IN_CHUNK = 500  # values per IN (...) list


ExistingUnit = Unit
"""A stored unit, as the roster's resolver compares it (the model's own)."""


@dataclass(frozen=True)
class ExistingPerson(Staff):
    """A stored staff member, as the roster's 三包 columns may name them (A5)."""

    phone: str | None
    name: str
    role: str
    unit_id: int | None
    status: str = "active"


@dataclass(frozen=True)
class UnitUpsert:
    key: UnitKey
    section: str | None = None
    code: str | None = None
    fields: frozenset[str] = frozenset()  # which of section/code/point the file sets
    point: Point | None = None  # a village's place on the map (经度, 纬度)


@dataclass(frozen=True)
class StaffUpsert:
    phone: str
    name: str
    role: str
    unit: UnitKey
    classes: tuple[ClassKey, ...] | None = None  # None: the file says nothing about classes
    office: UnitKey | None = None  # the department a district role works in (区教育局, A3)


GuardianUpsert = Guardian
"""A guardian as a roster file names them (the model's own)."""


@dataclass(frozen=True)
class StudentUpsert:
    registry_no: str
    name: str
    school: UnitKey
    grade: int
    class_key: ClassKey
    gender: str | None = None
    birth_date: str | None = None
    household: UnitKey | None = None
    a9_flags: str = ""
    note: str | None = None
    guardians: tuple[GuardianUpsert, ...] = ()
    # optional columns the file has: gender, birth_date, household, a9_flags, note, guardians;
    # a column the file lacks leaves the stored value alone
    fields: frozenset[str] = frozenset()


@dataclass
class RosterPlan:
    units: list[UnitUpsert] = field(default_factory=list)
    staff: list[StaffUpsert] = field(default_factory=list)
    students: list[StudentUpsert] = field(default_factory=list)

    def size(self) -> int:
        """Records to write, for progress."""
        return len(self.units) + len(self.staff) + len(self.students)


@dataclass(frozen=True)
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class _Tally:
    """What an import changed, per kind: ids created, ids updated with the fields changed."""

    created: dict[str, list[int]] = field(default_factory=lambda: {k: [] for k in KINDS})
    updated: dict[str, dict[int, list[str]]] = field(default_factory=lambda: {k: {} for k in KINDS})
    unchanged: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))

    def counts(self) -> dict[str, Counts]:
        return {
            k: Counts(len(self.created[k]), len(self.updated[k]), self.unchanged[k]) for k in KINDS
        }

    def detail(self) -> dict[str, Any]:
        return {
            "counts": {
                k: {"created": c.created, "updated": c.updated, "unchanged": c.unchanged}
                for k, c in self.counts().items()
            },
            "created": {k: id_ranges(v) for k, v in self.created.items() if v},
            "updated": {
                k: {str(i): f for i, f in sorted(v.items())} for k, v in self.updated.items() if v
            },
        }


def id_ranges(ids: Iterable[int]) -> list[list[int]]:
    """Ids as [first, last] runs: 50,000 new students are one short entry in the audit log."""
    runs: list[list[int]] = []
    for i in sorted(ids):
        if runs and runs[-1][1] == i - 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return runs


def unit_keys(units: Iterable[ExistingUnit]) -> dict[int, UnitKey]:
    """The key of every unit (a unit whose ancestry is broken or cyclic gets none)."""
    by_id = {u.id: u for u in units}
    keys: dict[int, UnitKey] = {}
    for start in by_id.values():
        chain: list[ExistingUnit] = []
        current: ExistingUnit | None = start
        seen: set[int] = set()
        while current is not None and current.id not in keys and current.id not in seen:
            seen.add(current.id)
            chain.append(current)
            current = by_id.get(current.parent_id) if current.parent_id is not None else None
        if current is not None and current.id in seen:
            continue  # a cycle: leave these units out
        base: UnitKey = keys[current.id] if current is not None else ()
        if current is None and chain and chain[-1].parent_id is not None:
            continue  # parent missing
        for unit in reversed(chain):
            base = (*base, (unit.kind, unit.name))
            keys[unit.id] = base
    return keys


class RosterRepo:
    def __init__(self, db: Database, audit: AuditRepo | None = None) -> None:
        self.db = db
        self.audit = audit or AuditRepo(db)

    async def units(self) -> list[ExistingUnit]:
        """Every unit, for resolving the names in a roster file."""
        rows = await self.db.fetchall(
            "SELECT id, kind, name, parent_id, section, code, latitude, longitude"
            " FROM units ORDER BY id"
        )
        return [ExistingUnit(*tuple(r)) for r in rows]

    async def people(self) -> list[ExistingPerson]:
        """Every staff member, for the names a roster's 三包 columns use (A5)."""
        rows = await self.db.fetchall(
            "SELECT phone, name, role, unit_id, status FROM people ORDER BY id"
        )
        return [ExistingPerson(*tuple(r)) for r in rows]

    async def apply(
        self,
        plan: RosterPlan,
        *,
        actor: str,
        now: datetime,
        source: Mapping[str, Any],
        progress: Callable[[int], None] | None = None,
    ) -> dict[str, Counts]:
        """Upsert the plan and write one audit row describing what changed; all or nothing."""
        tally = _Tally()
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress(done)

        async with self.db.transaction():
            unit_ids = await self._upsert_units(plan.units, tally)
            advance(len(plan.units))
            class_ids, teachers = await self._ensure_classes(plan, unit_ids, tally)
            person_ids = await self._upsert_staff(plan.staff, unit_ids, now, tally)
            await self._link_teachers(plan.staff, unit_ids, class_ids, teachers, person_ids, tally)
            advance(len(plan.staff))
            await self._upsert_students(plan.students, unit_ids, class_ids, now, tally, advance)
            await rollups.recount(self.db)  # schools gained, lost or moved students
            # what is owed on their open cases, and who can be told, may have changed
            await mark_students_changed(self.db, tally.updated["students"])
            await mark_waiting_changed(self.db)
            detail = {**source, **tally.detail()}
            await self.audit.record(now, actor, "import", "roster", detail=detail)
        return tally.counts()

    async def _upsert_units(self, units: Sequence[UnitUpsert], tally: _Tally) -> dict[UnitKey, int]:
        existing = await self.units()
        by_id = {u.id: u for u in existing}
        ids = {key: uid for uid, key in unit_keys(existing).items()}
        for unit in units:
            uid = ids.get(unit.key)
            if uid is None:
                kind, name = unit.key[-1]
                parent_id = ids[unit.key[:-1]] if len(unit.key) > 1 else None
                point = unit.point
                lat, lon = (point.latitude, point.longitude) if point else (None, None)
                uid = await self.db.execute(
                    "INSERT INTO units (kind, name, parent_id, section, code, latitude, longitude)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (kind, name, parent_id, unit.section, unit.code, lat, lon),
                )
                ids[unit.key] = uid
                tally.created["units"].append(uid)
                continue
            current = by_id[uid]
            stored = None
            if current.latitude is not None and current.longitude is not None:
                stored = Point(current.latitude, current.longitude)
            wanted: dict[str, object] = {"section": unit.section, "code": unit.code}
            held: dict[str, object] = {"section": current.section, "code": current.code}
            wanted["point"], held["point"] = unit.point, stored
            changed = sorted(f for f in unit.fields if wanted[f] != held[f])
            if not changed:
                tally.unchanged["units"] += 1
                continue
            section = unit.section if "section" in changed else current.section
            code = unit.code if "code" in changed else current.code
            point = unit.point if "point" in changed else stored
            await self.db.execute(
                "UPDATE units SET section = ?, code = ?, latitude = ?, longitude = ? WHERE id = ?",
                (
                    section,
                    code,
                    point.latitude if point else None,
                    point.longitude if point else None,
                    uid,
                ),
            )
            tally.updated["units"][uid] = changed
        return ids

    async def _ensure_classes(
        self, plan: RosterPlan, unit_ids: Mapping[UnitKey, int], tally: _Tally
    ) -> tuple[dict[ClassKey, int], dict[int, int | None]]:
        """Create the classes the plan names; return their ids and every class's teacher."""
        wanted: dict[tuple[int, int, str], ClassKey] = {}
        for person in plan.staff:
            for key in person.classes or ():
                wanted[(unit_ids[key[0]], key[1], key[2])] = key
        for student in plan.students:
            key = student.class_key
            wanted[(unit_ids[key[0]], key[1], key[2])] = key
        stored, teachers = await self._classes()
        missing = [k for k in wanted if k not in stored]
        if missing:
            await self.db.executemany(
                "INSERT INTO classes (school_id, grade, name) VALUES (?, ?, ?)", missing
            )
            # read back by key (not "id above the highest before": another writer's rows
            # may have taken ids in between)
            added = set(missing)
            schools = sorted({school for school, _, _ in missing})
            for start in range(0, len(schools), _IN_CHUNK):
                chunk = schools[start : start + _IN_CHUNK]
                rows = await self.db.fetchall(
                    "SELECT id, school_id, grade, name FROM classes"
                    f" WHERE school_id IN ({', '.join('?' * len(chunk))}) ORDER BY id",
                    chunk,
                )
                for r in rows:
                    found = (r["school_id"], r["grade"], r["name"])
                    if found in added:
                        stored[found] = r["id"]
                        teachers[r["id"]] = None
                        tally.created["classes"].append(r["id"])
        return {key: stored[ids] for ids, key in wanted.items()}, teachers

    async def _classes(self) -> tuple[dict[tuple[int, int, str], int], dict[int, int | None]]:
        rows = await self.db.fetchall("SELECT id, school_id, grade, name, teacher_id FROM classes")
        stored = {(r["school_id"], r["grade"], r["name"]): r["id"] for r in rows}
        return stored, {r["id"]: r["teacher_id"] for r in rows}

    async def _upsert_staff(
        self,
        staff: Sequence[StaffUpsert],
        unit_ids: Mapping[UnitKey, int],
        now: datetime,
        tally: _Tally,
    ) -> dict[str, int]:
        """Staff keyed by phone; an update never touches the Telegram binding or the status."""
        ids = await self._people_by_phone()
        rows = await self.db.fetchall(
            "SELECT id, name, role, unit_id, office_id FROM people WHERE phone IS NOT NULL"
        )
        current = {r["id"]: (r["name"], r["role"], r["unit_id"], r["office_id"]) for r in rows}
        new: list[tuple[object, ...]] = []
        changed: list[tuple[object, ...]] = []
        for person in staff:
            office = unit_ids[person.office] if person.office is not None else None
            wanted = (person.name, person.role, unit_ids[person.unit], office)
            pid = ids.get(person.phone)
            if pid is None:
                new.append((person.name, person.phone, person.role, *wanted[2:], to_iso(now)))
                continue
            fields = [
                f for f, a, b in zip(_STAFF_FIELDS, wanted, current[pid], strict=True) if a != b
            ]
            if fields:
                changed.append((*wanted, pid))
                tally.updated["staff"][pid] = fields
            else:
                tally.unchanged["staff"] += 1
        if changed:
            await self.db.executemany(
                "UPDATE people SET name = ?, role = ?, unit_id = ?, office_id = ? WHERE id = ?",
                changed,
            )
            await people_changed(self.db)  # a new role or unit: a new scope at the next update
            moved = [p for p, fields in tally.updated["staff"].items() if "role" in fields]
            await mark_actors_changed(self.db, moved)  # a new role: what they recorded (A6)
        if new:
            await self.db.executemany(
                "INSERT INTO people (name, phone, role, unit_id, office_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                new,
            )
            ids = await self._people_by_phone()
            tally.created["staff"].extend(ids[str(row[1])] for row in new)
        return ids

    async def _people_by_phone(self) -> dict[str, int]:
        rows = await self.db.fetchall("SELECT id, phone FROM people WHERE phone IS NOT NULL")
        return {r["phone"]: r["id"] for r in rows}

    async def _link_teachers(
        self,
        staff: Sequence[StaffUpsert],
        unit_ids: Mapping[UnitKey, int],
        class_ids: Mapping[ClassKey, int],
        teachers: Mapping[int, int | None],
        person_ids: Mapping[str, int],
        tally: _Tally,
    ) -> None:
        """A listed person's classes become exactly the ones the file gives them."""
        listed = {person_ids[p.phone] for p in staff if p.classes is not None}
        wanted: dict[int, int | None] = {
            cid: None for cid, teacher in teachers.items() if teacher in listed
        }
        for person in staff:
            for key in person.classes or ():
                wanted[class_ids[key]] = person_ids[person.phone]
        created = set(tally.created["classes"])
        changes = [(t, cid) for cid, t in wanted.items() if teachers.get(cid) != t]
        if changes:
            await self.db.executemany("UPDATE classes SET teacher_id = ? WHERE id = ?", changes)
        changed = {cid for _, cid in changes}
        for cid in changed - created:
            tally.updated["classes"][cid] = ["teacher"]
        referenced = set(class_ids.values()) | set(wanted)
        tally.unchanged["classes"] += len(referenced - changed - created)

    async def _upsert_students(
        self,
        students: Sequence[StudentUpsert],
        unit_ids: Mapping[UnitKey, int],
        class_ids: Mapping[ClassKey, int],
        now: datetime,
        tally: _Tally,
        advance: Callable[[int], None],
    ) -> None:
        """Students keyed by registry number; guardians of a changed student are replaced."""
        rows = await self.db.fetchall(
            "SELECT id, registry_no, name, gender, birth_date, school_id, class_id, grade,"
            " household_unit_id, a9_flags, note FROM students"
        )
        stored = {r["registry_no"]: tuple(r) for r in rows}
        guardians: dict[int, list[tuple[str, str | None, str | None]]] = {}
        if stored and any("guardians" in s.fields for s in students):
            for g in await self.db.fetchall(
                "SELECT student_id, name, relation, phone FROM guardians ORDER BY student_id, id"
            ):
                guardians.setdefault(g[0], []).append((g[1], g[2], g[3]))
        stamp = to_iso(now)
        new, updates, replace = self._student_changes(
            students, stored, guardians, unit_ids, class_ids, stamp, tally
        )
        if updates:
            await self.db.executemany(
                "UPDATE students SET "
                + ", ".join(f"{c} = ?" for c in _STUDENT_COLUMNS)
                + ", updated_at = ? WHERE id = ?",
                updates,
            )
        if replace:
            await self.db.executemany(
                "DELETE FROM guardians WHERE student_id = ?", [(sid,) for sid, _ in replace]
            )
            await self._add_guardians(replace)
        advance(len(students) - len(new))
        for start in range(0, len(new), _STUDENT_BATCH):
            batch = new[start : start + _STUDENT_BATCH]
            values = []
            for s in batch:
                wanted = _student_values(s, unit_ids, class_ids)
                values.append(
                    (
                        s.registry_no,
                        *(wanted.get(c, "" if c == "a9_flags" else None) for c in _STUDENT_COLUMNS),
                        stamp,
                    )
                )
            await self.db.executemany(
                "INSERT INTO students (registry_no, "
                + ", ".join(_STUDENT_COLUMNS)
                + ", updated_at) VALUES (?, "
                + ", ".join("?" for _ in _STUDENT_COLUMNS)
                + ", ?)",
                values,
            )
            advance(len(batch))
        if new:
            # the new students' ids, by registry number (ids are not a range: another
            # writer may have inserted rows in between)
            added: list[tuple[int, StudentUpsert]] = []
            for start in range(0, len(new), _IN_CHUNK):
                chunk = new[start : start + _IN_CHUNK]
                by_no = {s.registry_no: s for s in chunk}
                rows = await self.db.fetchall(
                    "SELECT id, registry_no FROM students"
                    f" WHERE registry_no IN ({', '.join('?' * len(chunk))})",
                    list(by_no),
                )
                added.extend((r[0], by_no[r[1]]) for r in rows)
            added.sort(key=lambda pair: pair[0])
            tally.created["students"].extend(sid for sid, _ in added)
            await self._add_guardians(added)

    @staticmethod
    def _student_changes(
        students: Sequence[StudentUpsert],
        stored: Mapping[str, tuple[Any, ...]],
        guardians: Mapping[int, list[tuple[str, str | None, str | None]]],
        unit_ids: Mapping[UnitKey, int],
        class_ids: Mapping[ClassKey, int],
        stamp: str,
        tally: _Tally,
    ) -> tuple[list[StudentUpsert], list[tuple[object, ...]], list[tuple[int, StudentUpsert]]]:
        """New students, the changed ones' rows, and those whose guardians are replaced."""
        new: list[StudentUpsert] = []
        updates: list[tuple[object, ...]] = []
        replace: list[tuple[int, StudentUpsert]] = []
        for s in students:
            row = stored.get(s.registry_no)
            if row is None:
                new.append(s)
                continue
            sid = row[0]
            old = dict(zip(_STUDENT_COLUMNS, row[2:], strict=True))
            wanted = _student_values(s, unit_ids, class_ids)
            fields = [c for c in _STUDENT_COLUMNS if c in wanted and wanted[c] != old[c]]
            if "guardians" in s.fields:
                mine = [(g.name, g.relation, g.phone) for g in s.guardians]
                if mine != guardians.get(sid, []):
                    fields.append("guardians")
                    replace.append((sid, s))
            if not fields:
                tally.unchanged["students"] += 1
                continue
            final = {**old, **wanted}
            updates.append((*(final[c] for c in _STUDENT_COLUMNS), stamp, sid))
            tally.updated["students"][sid] = fields
        return new, updates, replace

    async def _add_guardians(self, students: Iterable[tuple[int, StudentUpsert]]) -> None:
        rows = [(sid, g.name, g.relation, g.phone) for sid, s in students for g in s.guardians]
        if rows:
            await self.db.executemany(
                "INSERT INTO guardians (student_id, name, relation, phone) VALUES (?, ?, ?, ?)",
                rows,
            )


_STAFF_FIELDS = ("name", "role", "unit", "office")

_STUDENT_COLUMNS = (
    "name",
    "gender",
    "birth_date",
    "school_id",
    "class_id",
    "grade",
    "household_unit_id",
    "a9_flags",
    "note",
)


def _student_values(
    s: StudentUpsert, unit_ids: Mapping[UnitKey, int], class_ids: Mapping[ClassKey, int]
) -> dict[str, object]:
    """The columns this import sets for a student (a column missing from the file is left out)."""
    values: dict[str, object] = {
        "name": s.name,
        "school_id": unit_ids[s.school],
        "class_id": class_ids[s.class_key],
        "grade": s.grade,
    }
    if "gender" in s.fields:
        values["gender"] = s.gender
    if "birth_date" in s.fields:
        values["birth_date"] = s.birth_date
    if "household" in s.fields:
        values["household_unit_id"] = None if s.household is None else unit_ids[s.household]
    if "a9_flags" in s.fields:
        values["a9_flags"] = s.a9_flags
    if "note" in s.fields:
        values["note"] = s.note
    return values
