"""What a summary reads of an open case's ladder, and until when it holds with nobody acting.

A summary needs of each open case its stage, the tasks due and not done (who owes them),
the dropout mark and the standing persuasion (A8). The ladder gives them
(:func:`kcbx.bot.domain.ladder.state.ladder_state`); a :class:`Standing` keeps just them,
with the facts they were computed from and the instant ``until`` before which time alone
cannot change them: the first of a task falling due, a task appearing, a stage being
reached, an action recorded ahead of time taking effect. Anything else that changes them
is a write (an action, a report, a return, a transfer, an import).

The sweep computes one per case it looks at and keeps it in the plan index with the plan,
in the same transaction (migration 0033); a summary uses it only while the case is unchanged
since, its facts are the same and ``at <= now < until``, and computes the ladder otherwise.
The day number is not kept: it moves every midnight and is counted from ``ladder_start``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from kcbx.bot.domain.a8.rules import PERSUADING_KINDS
from kcbx.bot.domain.ladder.state import (
    DETAIL_ACTOR_ROLE,
    ActionFact,
    CaseFacts,
    LadderState,
    Stage,
    TaskCode,
    standing_actions,
)

DROPOUT_STAGES = frozenset({Stage.DROPOUT, Stage.NOTICE, Stage.CORRECTION})
VERSION = 1  # of the stored form: another one is not read


@dataclass(frozen=True)
class Measure:
    """A standing persuading action (A8): its actor by id (their name, role and unit are
    read when shown) and the role recorded with it, if any."""

    kind: str
    at: datetime
    actor_id: int | None
    role: str | None = None


@dataclass(frozen=True)
class Standing:
    """An open case's ladder as a summary reads it, valid for ``at <= now < until``."""

    stage: Stage
    ladder_start: date
    due: tuple[tuple[str, str | None], ...]  # (role, department) of each task due, in order
    marked_at: datetime | None  # the dropout mark (A7.3) once reached
    measures: tuple[Measure, ...]
    facts: str  # :func:`facts_key` of what it was computed from
    at: datetime
    until: datetime | None  # None: only a write can change it

    def holds(self, facts: CaseFacts, now: datetime) -> bool:
        """Whether it still says where the case stands at ``now`` (the case unchanged)."""
        return (
            self.facts == facts_key(facts)
            and self.at <= now
            and (self.until is None or now < self.until)
        )


def facts_key(facts: CaseFacts) -> str:
    """The case's facts the ladder reads, as one string (the number and section it does not)."""
    closed = facts.closed_at.isoformat() if facts.closed_at else ""
    return "|".join(
        (
            facts.absent_since.isoformat(),
            facts.reported_at.astimezone(UTC).isoformat(),
            facts.status,
            facts.cause,
            ",".join(facts.a9_flags),
            closed,
            str(facts.reopened_from or ""),
            str(facts.carried_days),
        )
    )


def dropout_marked_at(state: LadderState) -> datetime | None:
    """When the A7.3 dropout mark came due, for a case at the dropout stage or past it."""
    mark = state.task(TaskCode.MARK)
    return mark.opens_at if mark is not None and state.stage in DROPOUT_STAGES else None


def persuading_actions(actions: Iterable[ActionFact], now: datetime) -> list[ActionFact]:
    """The standing actions at ``now`` that are persuasion (A8 counts them)."""
    return [a for a in standing_actions(actions, now) if a.kind in PERSUADING_KINDS]


def standing_of(
    facts: CaseFacts,
    actions: Iterable[ActionFact],
    state: LadderState,
    later: LadderState | None = None,
    *,
    appears: datetime | None = None,
) -> Standing:
    """The standing of a case at ``state.now``; with ``later`` (the ladder at a later
    instant) and ``appears`` (when the first task of ``later`` appears that ``state`` does not
    have), until when it holds (None without ``later``: not to be kept)."""
    now = state.now
    actions = list(actions)
    measures = tuple(
        Measure(a.kind, a.at, a.actor_id, a.detail.get(DETAIL_ACTOR_ROLE))
        for a in persuading_actions(actions, now)
    )
    until = None
    if later is not None:
        ahead = [a.at for a in actions if a.at > now]  # recorded ahead: takes effect then
        ahead += [t.due_at for t in state.tasks if not t.done and t.due_at > now]
        ahead += [i for i in (appears, state.next_stage_at, later.now) if i is not None]
        until = min(i for i in ahead if i > now) if any(i > now for i in ahead) else None
    return Standing(
        stage=state.stage,
        ladder_start=state.ladder_start,
        due=tuple((t.role, t.department) for t in state.due_tasks),
        marked_at=dropout_marked_at(state),
        measures=measures,
        facts=facts_key(facts),
        at=now,
        until=until,
    )


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None  # written in UTC


def _text(when: datetime | None) -> str | None:
    return when.astimezone(UTC).isoformat() if when is not None else None


def dumps(standing: Standing, rules: str) -> str:
    """The stored form (JSON, instants in UTC to the microsecond), computed under ``rules``
    (the rules' fingerprint: another one is not read)."""
    return json.dumps(
        {
            "v": VERSION,
            "rules": rules,
            "stage": standing.stage.value,
            "start": standing.ladder_start.isoformat(),
            "due": [list(d) for d in standing.due],
            "mark": _text(standing.marked_at),
            "m": [[m.kind, _text(m.at), m.actor_id, m.role] for m in standing.measures],
            "facts": standing.facts,
            "at": _text(standing.at),
            "until": _text(standing.until),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def loads(text: str, rules: str) -> Standing | None:
    """A stored standing, or None when it is of another version or other rules."""
    data = json.loads(text)
    if data.get("v") != VERSION or data.get("rules") != rules:
        return None
    at = _instant(data["at"])
    assert at is not None
    return Standing(
        stage=Stage(data["stage"]),
        ladder_start=date.fromisoformat(data["start"]),
        due=tuple((role, department) for role, department in data["due"]),
        marked_at=_instant(data["mark"]),
        measures=tuple(
            Measure(kind, _instant(when) or at, actor, role)
            for kind, when, actor, role in data["m"]
        ),
        facts=data["facts"],
        at=at,
        until=_instant(data["until"]),
    )


__all__ = [
    "Measure",
    "Standing",
    "dropout_marked_at",
    "dumps",
    "facts_key",
    "loads",
    "persuading_actions",
    "standing_of",
]
