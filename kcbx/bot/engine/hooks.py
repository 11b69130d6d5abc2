"""How features plug into the sweep without the sweep knowing them.

The sweep (kcbx/bot/engine/sweep.py) walks the open cases, asks the pure ladder which tasks are due,
finds who must act, and queues reminders through the outbox. Features add to that here:

- a *renderer* turns a due task into the messages for one recipient (the default renderer
  writes the generic reminder; the notice feature attaches the documents to A7.4-notice; the
  visits feature writes the 三包 chain's and the departments' need-to-know referral texts);
- a *first-due hook* runs once per (case, task key) the first time the task is due, inside
  the sweep (e.g. opening a referral row for a department, A6);
- a *card section* adds lines to a case card (e.g. the notices with their delivery proof).

Registration is explicit, from the composition root (`kcbx.bot.engine.wiring.register_features`),
so a newcomer can see in one place what plugs in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kcbx.bot.domain.i18n import Translate
from kcbx.storage.outbox import OutgoingMessage

if TYPE_CHECKING:
    from kcbx.bot.domain.ladder import LadderState, Task
    from kcbx.bot.runtime.services import Services
    from kcbx.storage.cases import Case
    from kcbx.storage.people import Person
    from kcbx.storage.students import Student


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


Renderer = Callable[["Services", DueTask, Translate], Awaitable[list[OutgoingMessage]]]
FirstDueHook = Callable[["Services", "Case", "Student", "Task"], Awaitable[None]]
CardSection = Callable[["Services", "Case", Translate, str], Awaitable[str | None]]


class TaskHooks:
    """Renderers and first-due hooks by task-code prefix; the longest prefix wins."""

    def __init__(self) -> None:
        self._renderers: dict[str, Renderer] = {}
        self._first_due: list[tuple[str, FirstDueHook]] = []
        self.card_sections: list[CardSection] = []

    def renderer(self, prefix: str, fn: Renderer) -> None:
        self._renderers[prefix] = fn

    def first_due(self, prefix: str, fn: FirstDueHook) -> None:
        self._first_due.append((prefix, fn))

    def card_section(self, fn: CardSection) -> None:
        """fn(services, case, gettext, lang) -> HTML lines for the case card, or None."""
        self.card_sections.append(fn)

    def renderer_for(self, code: str) -> Renderer | None:
        best = [p for p in self._renderers if code.startswith(p)]
        return self._renderers[max(best, key=len)] if best else None

    def first_due_for(self, code: str) -> list[FirstDueHook]:
        return [fn for prefix, fn in self._first_due if code.startswith(prefix)]
