"""The outbox keys of what the sweep queues: one key per message, so each goes at most once.

``r:{case}:{task key}:{round}:{person}`` a reminder (or its cc copy), ``e:`` an escalation,
``u:`` a hand-over, ``n:`` the note to the person escalated past, ``d:`` a digest page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from kcbx.storage import reminder_history as kinds

# The outbox keys of what the sweep queues: reminders, escalations, hand-overs, notes, digests.
OUTBOX_PREFIXES = (*kinds.REMINDER_KEY_PREFIXES, "d:")


def reminder_key(case_id: int, task_key: str, round: int, person_id: int) -> str:
    return f"r:{case_id}:{task_key}:{round}:{person_id}"


def notification_key(kind: str, case_id: int, task_key: str, round: int, person_id: int) -> str:
    """The key of one person told about one task, when it goes as a message of its own."""
    if kind in (kinds.REMIND, kinds.CC):
        return reminder_key(case_id, task_key, round, person_id)
    prefix = {kinds.ESCALATED: "e", kinds.TOLD: "n"}.get(kind, "u")
    return f"{prefix}:{case_id}:{task_key}:{person_id}"


def digest_key(person_id: int, keys: Iterable[str], page: int) -> str:
    """One key per (person, set of reminders, page): the same digest is never queued twice."""
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:20]
    return f"d:{person_id}:{digest}:{page}"
