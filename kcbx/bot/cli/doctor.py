"""`kcbx doctor [--repair]`: check that the summaries' rollups equal a recount.

The per-school counts (kcbx/storage/rollups.py, migration 0026) are kept in the transaction
of every write that changes them; the doctor recounts them from the students and cases,
prints each count that differs on one line, and with ``--repair`` writes the recount
(audited as ``repair_rollups``). Exit 0 when they agree (or were repaired), 1 otherwise.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable

from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.storage import rollups

Work = Callable[[Services], Awaitable[int]]
Runner = Callable[[Config, Work], int]


def doctor(args: argparse.Namespace, config: Config, run: Runner, actor: str) -> int:
    async def work(services: Services) -> int:
        stored, counted = await rollups.recount_all(services.db)
        found = rollups.differences(stored, counted)
        names = {u.id: u.name for u in (await services.reports.all_units()).values()}
        for d in found:
            name = names.get(d.school_id, "?")
            print(
                f"school {d.school_id} {name}: {d.measure} rollup {d.stored}, recount {d.counted}"
            )
        schools = len(set(stored) | set(counted))
        if not found:
            print(f"rollups agree with a recount: {schools} schools")
            return 0
        if not args.repair:
            print(f"{len(found)} counts differ ({schools} schools); kcbx doctor --repair")
            return 1
        now = services.clock.now()
        repaired = await rollups.repair(services.db, services.audit, actor=actor, now=now)
        print(f"repaired {len(repaired)} counts (audited as repair_rollups)")
        return 0

    return run(config, work)
