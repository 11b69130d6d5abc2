"""The reminder history of the tasks owed on cases (migration 0007), for the sweep.

Per (case, task key): when the sweep first saw the task due, each reminder round, the latest
acknowledgement, and the escalation that ended the plan; and who was told what in which
outbox message. The sweep writes these rows in the same transaction as the outbox rows it
queues, so a round is either queued and recorded, or neither (nothing lost, nothing
sent twice).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kcbx.bot.domain.clock import from_iso, to_iso
from kcbx.bot.domain.ladder.follow_up import FOLLOW_UP_RULE
from kcbx.storage.connection.rows import reader
from kcbx.storage.directory import _chunks, _marks
from kcbx.storage.records.audit import AuditedRepo

# What a row of reminder_sends says the person was told.
REMIND = "remind"  # a reminder round, to the task's role
CC = "cc"  # for information, to a cc role (round 1 only)
ESCALATED = "escalated"  # to the supervisor: the role left the task undone
UNREACHABLE = "unreachable"  # to the supervisor: nobody of the role can be reached
NO_ONE = "no_one"  # to the supervisor: nobody holds the role for this student
TOLD = "told"  # to the role: your task went to your supervisor
SEND_KINDS = (REMIND, CC, ESCALATED, UNREACHABLE, NO_ONE, TOLD)

# Outbox keys of the reminders (kcbx.bot.engine.sweep); pending ones are withdrawn when a case
# closes.
REMINDER_KEY_PREFIXES = ("r:", "e:", "u:", "n:")
# ... except the A4.2 check-ins, which a return opens: ``r:{case}:A4.2-7@...``
_FOLLOW_UP_KEYS = f"%:{FOLLOW_UP_RULE}-%"


@dataclass(frozen=True)
class TaskHistory:
    """What has happened about one task of one case."""

    case_id: int
    task_key: str
    task_code: str
    first_due_at: datetime
    rounds: tuple[datetime, ...] = ()
    acknowledged_at: datetime | None = None  # unused so far: "Received" is an action
    escalated_at: datetime | None = None
    escalated_to: str | None = None
    escalation_reason: str | None = None


@dataclass(frozen=True)
class Escalation:
    """A task handed to a supervisor's role (its plan ends)."""

    case_id: int
    task_key: str
    to_role: str
    reason: str  # ESCALATED, UNREACHABLE or NO_ONE


@dataclass(frozen=True)
class SendRow:
    """Who is told about which task in which outbox message (to record)."""

    case_id: int
    task_key: str
    task_code: str
    round: int
    kind: str
    person_id: int
    role: str
    from_person: int | None
    outbox_key: str


@dataclass(frozen=True)
class SendRecord(SendRow):
    """One person told about one task (a row of reminder_sends): the send, and when."""

    at: datetime


def _time(value: Any) -> datetime | None:
    return from_iso(value) if value else None


_send = reader(SendRecord, at=from_iso)


class ReminderHistoryRepo(AuditedRepo):
    async def of_cases(self, case_ids: Iterable[int]) -> dict[tuple[int, str], TaskHistory]:
        """The history of every task of these cases, by (case id, task key)."""
        tasks: dict[tuple[int, str], dict[str, Any]] = {}
        rounds: dict[tuple[int, str], list[tuple[int, datetime]]] = {}
        for chunk in _chunks(case_ids):
            marks = _marks(chunk)
            for row in await self.db.fetchall(
                f"SELECT * FROM reminder_tasks WHERE case_id IN ({marks})", chunk
            ):
                tasks[(row["case_id"], row["task_key"])] = dict(row)
            for row in await self.db.fetchall(
                "SELECT case_id, task_key, round, sent_at FROM reminder_rounds"
                f" WHERE case_id IN ({marks})",
                chunk,
            ):
                key = (row["case_id"], row["task_key"])
                rounds.setdefault(key, []).append((row["round"], from_iso(row["sent_at"])))
        out: dict[tuple[int, str], TaskHistory] = {}
        for key, task in tasks.items():
            sent = tuple(at for _, at in sorted(rounds.get(key, [])))
            out[key] = TaskHistory(
                case_id=task["case_id"],
                task_key=task["task_key"],
                task_code=task["task_code"],
                first_due_at=from_iso(task["first_due_at"]),
                rounds=sent,
                acknowledged_at=_time(task["acknowledged_at"]),
                escalated_at=_time(task["escalated_at"]),
                escalated_to=task["escalated_to"],
                escalation_reason=task["escalation_reason"],
            )
        return out

    async def by_case(self, case_ids: Iterable[int]) -> dict[int, dict[str, TaskHistory]]:
        """The same, grouped by case id, then task key."""
        out: dict[int, dict[str, TaskHistory]] = {}
        for (case_id, key), history in (await self.of_cases(case_ids)).items():
            out.setdefault(case_id, {})[key] = history
        return out

    async def mark_first_due(
        self, case_id: int, *, task_key: str, task_code: str, now: datetime
    ) -> None:
        """The task is due and its first-due hooks have run (call in their transaction)."""
        async with self.db.transaction():
            await self.db.execute(
                "INSERT INTO reminder_tasks (case_id, task_key, task_code, first_due_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (case_id, task_key, task_code, to_iso(now)),
            )

    async def save_sweep(
        self,
        *,
        now: datetime,
        first_due: Sequence[tuple[int, str, str]] = (),
        rounds: Sequence[tuple[int, str, int]] = (),
        escalations: Sequence[Escalation] = (),
        sends: Sequence[SendRow] = (),
    ) -> None:
        """Record what one sweep did, in the caller's transaction, in a few statements.

        ``first_due``: (case id, task key, task code) of tasks first seen due; ``rounds``:
        (case id, task key, round) sent now; ``escalations`` end their tasks' plans (each is
        audited); ``sends``: who was told what, in which outbox message. Rows already there
        are left alone (``ON CONFLICT DO NOTHING``: SQLite and PostgreSQL), so a retried
        sweep changes nothing twice.
        """
        stamp = to_iso(now)
        async with self.db.transaction():
            if first_due:
                await self.db.executemany(
                    "INSERT INTO reminder_tasks (case_id, task_key, task_code, first_due_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    [(c, k, code, stamp) for c, k, code in first_due],
                )
            if rounds:
                await self.db.executemany(
                    "INSERT INTO reminder_rounds (case_id, task_key, round, sent_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    [(c, k, r, stamp) for c, k, r in rounds],
                )
            for escalation in escalations:
                await self.mark_escalated(escalation, now=now)
            if sends:
                await self.db.executemany(
                    "INSERT INTO reminder_sends (case_id, task_key, task_code, round, kind,"
                    " person_id, role, from_person, outbox_key, at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    [
                        (
                            *(s.case_id, s.task_key, s.task_code, s.round, s.kind),
                            *(s.person_id, s.role, s.from_person, s.outbox_key, stamp),
                        )
                        for s in sends
                    ],
                )

    async def mark_escalated(self, escalation: Escalation, *, now: datetime) -> bool:
        """The task went to a supervisor: its reminder plan ends. Audited; False if it had."""
        e = escalation
        async with self.db.transaction():
            changed = await self.db.execute(
                "UPDATE reminder_tasks SET escalated_at = ?, escalated_to = ?,"
                " escalation_reason = ? WHERE case_id = ? AND task_key = ?"
                " AND escalated_at IS NULL",
                (to_iso(now), e.to_role, e.reason, e.case_id, e.task_key),
            )
            if changed:
                detail = {"task": e.task_key, "to_role": e.to_role}
                await self.audit.record(
                    now, "system", f"escalate:{e.reason}", "case", e.case_id, detail
                )
        return bool(changed)

    async def sends_of_message(self, outbox_key: str) -> list[SendRecord]:
        """The tasks one outbox message told its recipient about."""
        return await _send.all(
            self.db, "SELECT * FROM reminder_sends WHERE outbox_key = ? ORDER BY id", (outbox_key,)
        )

    async def withdraw_for_closed_cases(self) -> int:
        """Cancel reminders still waiting in the outbox for cases that have closed since."""
        like = " OR ".join("dedup_key LIKE ?" for _ in REMINDER_KEY_PREFIXES)
        async with self.db.transaction():
            return await self.db.execute(
                "UPDATE outbox SET status = 'cancelled' WHERE status = 'pending'"
                f" AND ({like}) AND dedup_key NOT LIKE ?"
                " AND case_id IN (SELECT id FROM cases WHERE status <> 'open')",
                [*(f"{p}%" for p in REMINDER_KEY_PREFIXES), _FOLLOW_UP_KEYS],
            )

    async def withdraw_for_cases(self, case_ids: Sequence[int]) -> int:
        """Cancel the reminders still waiting in the outbox for these (closed) cases."""
        like = " OR ".join("dedup_key LIKE ?" for _ in REMINDER_KEY_PREFIXES)
        count = 0
        async with self.db.transaction():
            for chunk in _chunks(case_ids):
                count += await self.db.execute(
                    "UPDATE outbox SET status = 'cancelled' WHERE status = 'pending'"
                    f" AND ({like}) AND dedup_key NOT LIKE ? AND case_id IN ({_marks(chunk)})",
                    [*(f"{p}%" for p in REMINDER_KEY_PREFIXES), _FOLLOW_UP_KEYS, *chunk],
                )
        return count

    async def record_sweep(self, *, now: datetime, detail: dict[str, Any]) -> None:
        """One audit entry per sweep that queued anything (counts; the rows say the rest)."""
        await self.audit.record(now, "system", "sweep", "reminders", detail=detail)
