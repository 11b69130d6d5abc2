"""When the sweep must look at a case again: the next instant anything about it can change.

Without anyone acting, a case's ladder changes only as time passes: an open task falls due
(``Task.due_at``), a reminder plan's next step comes (a re-reminder, an escalation, the end
of the quiet hours), a new task appears (a stage is reached at midnight, a deadline passes
at the end of its business day), or an action recorded ahead of time takes effect. The first
two the sweep reads off the tasks it has; the third it finds by asking the ladder where the
case will stand at ``now + PROBE``: the tasks that have appeared by then say when they
appear (``Task.opens_at``), because the ladder only ever adds tasks as time passes. A case
with nothing foreseen within ``PROBE`` is looked at again then, and probed further.

A case closed by a return stays in the plan while an A4.2 check-in can still be reminded
(:mod:`kcbx.bot.domain.ladder.follow_up`): it wakes at each check-in's first notice and its
reminder plan, and leaves the plan once every check-in is done or its plan has ended (at the
latest when ``follow_up_horizon`` has passed since the return).

Whatever else can change a case (an action, a visit, a referral, a notice, an import) is a
write, and every such write marks the case changed in its own transaction
(:mod:`kcbx.storage.case_plans`).

The rules' fingerprint: the wake instants are computed by the ladder and the reminder plan
under one policy; a restart under other rules (a new release, an edited policy) looks at
every open case once (:func:`rules_fingerprint`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
from collections.abc import Iterable
from datetime import datetime, timedelta

from kcbx.bot.domain.ladder import follow_up, reminders, standing, steps
from kcbx.bot.domain.ladder import state as ladder
from kcbx.bot.domain.ladder.state import LadderState
from kcbx.bot.domain.model import Action
from kcbx.bot.domain.policy.tree import Policy

PROBE = timedelta(days=60)


def appearing(state: LadderState, later: LadderState) -> datetime | None:
    """The first instant after ``state.now`` at which a task of ``later`` appears that
    ``state`` does not have yet (or is first told, if it says it appeared already)."""
    now = state.now
    known = {t.key for t in state.tasks}
    new = [t for t in later.tasks if t.key not in known]
    instants = [t.opens_at if t.opens_at > now else t.first_notice for t in new]
    return min((i for i in instants if i > now), default=None)


def next_recorded(actions: Iterable[Action], now: datetime) -> datetime | None:
    """The first action recorded ahead of time that takes effect after ``now``."""
    return min((a.at for a in actions if a.at > now), default=None)


def rules_fingerprint(policy: Policy) -> str:
    """What the wake instants (and the standings kept with them) depend on besides the
    database: the ladder's and the reminder plan's code, this module's, and the policy.
    Computed once a policy (it is frozen): every sweep and every summary asks."""
    known = _FINGERPRINTS.get(id(policy))
    if known is not None and known[0] is policy:
        return known[1]
    digest = hashlib.sha256(_code().encode())
    digest.update(_canonical(policy).encode())
    if len(_FINGERPRINTS) >= 8:  # a process loads a policy or two; tests load many
        _FINGERPRINTS.clear()
    _FINGERPRINTS[id(policy)] = (policy, digest.hexdigest()[:32])
    return _FINGERPRINTS[id(policy)][1]


# id(policy) -> the policy (kept, so that its id is not reused) and its fingerprint
_FINGERPRINTS: dict[int, tuple[Policy, str]] = {}


def _canonical(value: object) -> str:
    """``repr`` with sets in sorted order: the same policy gives the same text in every
    process (a set's order follows the process's hash seed)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        inner = ", ".join(
            f"{f.name}={_canonical(getattr(value, f.name))}" for f in dataclasses.fields(value)
        )
        return f"{type(value).__name__}({inner})"
    if isinstance(value, set | frozenset):
        return "{" + ", ".join(sorted(_canonical(v) for v in value)) + "}"
    if isinstance(value, dict):
        items = sorted((_canonical(k), _canonical(v)) for k, v in value.items())
        return "{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_canonical(v) for v in value) + "]"
    return repr(value)


@functools.cache
def _code() -> str:
    """The code's part of the fingerprint (read once per process)."""
    digest = hashlib.sha256()
    for module in (ladder, steps, reminders, follow_up, standing):
        digest.update(inspect.getsource(module).encode())
    digest.update(inspect.getsource(appearing).encode())
    return digest.hexdigest()
