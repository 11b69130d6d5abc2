"""A due task for one recipient: what the sweep hands to a renderer."""

from __future__ import annotations

from dataclasses import dataclass

from kcbx.bot.domain.ladder import LadderState, Task
from kcbx.bot.domain.model import Case, Person, Student


@dataclass(frozen=True)
class DueTask:
    """One due task for one recipient, as the sweep sees it."""

    case: Case
    student: Student
    state: LadderState
    task: Task
    round: int
    recipient: Person
    escalated_from: Person | None = None  # set when the recipient is the supervisor
    reason: str = ""  # 'escalated' | 'unreachable' | 'no_one' when not the first choice
