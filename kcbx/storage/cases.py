"""Cases (one episode of unexplained absence, A7) and their append-only actions."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from kcbx.bot.domain.clock import from_iso, to_iso
from kcbx.bot.domain.model import Action, Case, Person
from kcbx.storage import rollups
from kcbx.storage.case_plans import mark_changed, mark_planned_changed
from kcbx.storage.connection.rows import json_dict, optional, reader, written, zero_if_null
from kcbx.storage.counters import take_next
from kcbx.storage.records.audit import AuditedRepo
from kcbx.storage.students import scope_clause

_case = reader(
    Case,
    absent_since=date.fromisoformat,
    reported_at=from_iso,
    closed_at=optional(from_iso),
    carried_days=zero_if_null,
    actions_recorded=zero_if_null,
)


_action = reader(Action, at=from_iso, recorded_at=from_iso, detail=json_dict)


class CaseExists(Exception):
    """The student already has an open case (a student is not reported twice)."""

    def __init__(self, case: Case) -> None:
        super().__init__(case.number)
        self.case = case


class CaseRepo(AuditedRepo):
    async def open_case(
        self,
        *,
        student_id: int,
        reported_by: int | None,
        absent_since: date,
        cause: str,
        guardian_contact: str | None,
        note: str | None,
        now: datetime,
        year: int,
        reopened_from: int | None = None,
        carried_days: int = 0,
        actor: str,
    ) -> Case:
        """Open a case with the next readable number of the year (KC-2024-0042), in one
        transaction with its audit entry; CaseExists if the student has an open one."""
        async with self.db.transaction():
            # one opening per student at a time: a second report of the same child waits
            # here, then finds the first one's case (SQLite: BEGIN IMMEDIATE already did)
            await self.db.fetchval(
                "SELECT id FROM students WHERE id = ?" + self.db.for_update(), (student_id,)
            )
            existing = await self.open_case_of(student_id)
            if existing is not None:
                raise CaseExists(existing)
            highest = await self.db.fetchval(
                "SELECT COALESCE(MAX(seq), 0) FROM cases WHERE year = ?", (year,)
            )
            seq = await take_next(self.db, f"case:{year}", highest=int(highest))
            number = f"KC-{year}-{seq:04d}"
            # the row as written comes back with the INSERT (no read after it)
            case = await _case.one(
                self.db,
                "INSERT INTO cases (number, year, seq, student_id, reported_by, absent_since,"
                " reported_at, cause, guardian_contact, note, reopened_from, carried_days)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
                (
                    number,
                    year,
                    seq,
                    student_id,
                    reported_by,
                    absent_since.isoformat(),
                    to_iso(now),
                    cause,
                    guardian_contact,
                    note,
                    reopened_from,
                    carried_days,
                ),
            )
            case_id = written(case).id
            await mark_changed(self.db, [case_id])
            earlier = "SELECT id FROM cases WHERE student_id = ? AND id <> ?"
            # a return's check-ins (A4.2) give way to the new case
            await mark_planned_changed(self.db, earlier, (student_id, case_id))
            await rollups.case_opened(self.db, case_id)
            detail = {
                "number": number,
                "student_id": student_id,
                "cause": cause,
                "reopened_from": reopened_from,
                "carried_days": carried_days,
            }
            await self.audit.record(now, actor, "open_case", "case", case_id, detail)
        return written(case)

    async def get(self, case_id: int) -> Case | None:
        return await _case.one(self.db, "SELECT * FROM cases WHERE id = ?", (case_id,))

    async def by_number(self, number: str) -> Case | None:
        return await _case.one(self.db, "SELECT * FROM cases WHERE number = ?", (number,))

    async def open_case_of(self, student_id: int) -> Case | None:
        return await _case.one(
            self.db, "SELECT * FROM cases WHERE student_id = ? AND status = 'open'", (student_id,)
        )

    async def last_closed_of(self, student_id: int) -> Case | None:
        return await _case.one(
            self.db,
            "SELECT * FROM cases WHERE student_id = ? AND status <> 'open'"
            " ORDER BY closed_at DESC, id DESC LIMIT 1",
            (student_id,),
        )

    async def by_ids(self, case_ids: Iterable[int]) -> dict[int, Case]:
        """Many cases by id, in a few queries (the sweep)."""
        out: dict[int, Case] = {}
        ids = sorted(set(case_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in await self.db.fetchall(f"SELECT * FROM cases WHERE id IN ({marks})", chunk):
                case = _case(row)
                out[case.id] = case
        return out

    async def open_cases(self) -> list[Case]:
        """Every open case (the sweep walks them; open cases are few even in a province)."""
        return await _case.all(self.db, "SELECT * FROM cases WHERE status = 'open' ORDER BY id")

    async def returned_since(self, since: datetime) -> list[Case]:
        """Cases closed by a return since ``since`` (A4.2: they owe check-ins)."""
        rows = await self.db.fetchall(
            "SELECT * FROM cases WHERE status = 'returned' AND closed_at >= ? ORDER BY id",
            (to_iso(since),),
        )
        return [_case(r) for r in rows]

    async def latest_of_students(self, student_ids: Iterable[int]) -> dict[int, int]:
        """The id of each student's latest case: a return followed by a new absence has a
        later one (A4.2: its check-ins give way to the new case's ladder)."""
        ids = sorted(set(student_ids))
        out: dict[int, int] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = await self.db.fetchall(
                "SELECT student_id, MAX(id) FROM cases"
                f" WHERE student_id IN ({','.join('?' * len(chunk))}) GROUP BY student_id",
                chunk,
            )
            out.update({int(r[0]): int(r[1]) for r in rows})
        return out

    async def visible(
        self, person: Person, *, status: str | None = "open", limit: int = 20, offset: int = 0
    ) -> list[Case]:
        """Cases of the students a person may see, newest first."""
        clause, params = scope_clause(person)
        sql = f"SELECT c.* FROM cases c JOIN students s ON s.id = c.student_id WHERE {clause}"
        if status:
            sql += " AND c.status = ?"
            params.append(status)
        sql += " ORDER BY c.absent_since, c.id LIMIT ? OFFSET ?"
        return await _case.all(self.db, sql, [*params, limit, offset])

    async def count_visible(self, person: Person, *, status: str | None = "open") -> int:
        clause, params = scope_clause(person)
        sql = f"SELECT COUNT(*) FROM cases c JOIN students s ON s.id = c.student_id WHERE {clause}"
        if status:
            sql += " AND c.status = ?"
            params.append(status)
        return int(await self.db.fetchval(sql, params))

    async def record_action(
        self,
        case_id: int,
        *,
        kind: str,
        actor_id: int | None,
        now: datetime,
        at: datetime | None = None,
        rule: str | None = None,
        detail: dict[str, Any] | None = None,
        corrects_id: int | None = None,
    ) -> Action:
        """Append an action (never update or delete one: a correction points at the old),
        done ``at`` (by default as it is recorded, ``now``)."""
        async with self.db.transaction():
            row = await self.db.fetchone(
                "INSERT INTO actions (case_id, kind, actor_id, at, recorded_at, rule, detail,"
                " corrects_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
                (
                    case_id,
                    kind,
                    actor_id,
                    to_iso(now if at is None else at),
                    to_iso(now),
                    rule,
                    json.dumps(detail or {}, ensure_ascii=False, sort_keys=True),
                    corrects_id,
                ),
            )
            action = _action(row)
            action_id = action.id
            await mark_changed(self.db, [case_id])
            await self.db.execute(
                "UPDATE cases SET actions_recorded = actions_recorded + 1 WHERE id = ?",
                (case_id,),
            )
            await self.audit.record(
                at=now,
                actor=f"person:{actor_id}" if actor_id is not None else "system",
                action=f"action:{kind}",
                entity="case",
                entity_id=case_id,
                detail={"action_id": action_id, "rule": rule, "corrects": corrects_id},
            )
        return action

    async def actions(self, case_id: int) -> list[Action]:
        return await _action.all(
            self.db, "SELECT * FROM actions WHERE case_id = ? ORDER BY at, id", (case_id,)
        )

    async def actions_of_cases(self, case_ids: list[int]) -> dict[int, list[Action]]:
        """Actions of many cases in one query (the sweep)."""
        out: dict[int, list[Action]] = {cid: [] for cid in case_ids}
        for start in range(0, len(case_ids), 500):
            chunk = case_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = await self.db.fetchall(
                f"SELECT * FROM actions WHERE case_id IN ({marks}) ORDER BY at, id", chunk
            )
            for row in rows:
                out[row["case_id"]].append(_action(row))
        return out

    async def set_cause(self, case_id: int, cause: str, *, actor: str, now: datetime) -> None:
        async with self.db.transaction():
            await self.db.execute("UPDATE cases SET cause = ? WHERE id = ?", (cause, case_id))
            await mark_changed(self.db, [case_id])
            await self.audit.record(now, actor, "set_cause", "case", case_id, {"cause": cause})

    async def close(self, case_id: int, *, status: str, now: datetime, actor: str) -> bool:
        """Close an open case as returned, exempt or transferred; False if it was not open."""
        if status not in ("returned", "exempt", "transferred"):
            raise ValueError(status)
        async with self.db.transaction():
            changed = await self.db.execute(
                "UPDATE cases SET status = ?, closed_at = ? WHERE id = ? AND status = 'open'",
                (status, to_iso(now), case_id),
            )
            if changed:
                await mark_changed(self.db, [case_id])
                await rollups.case_closed(self.db, case_id, status)
                await self.audit.record(now, actor, f"close:{status}", "case", case_id)
        return bool(changed)
