"""`kcbx doctor [--repair]`: check what the summaries read against a recount.

The per-school counts (kcbx/storage/rollups.py, migration 0026) are kept in the transaction
of every write that changes them; the doctor recounts them from the students and cases,
prints each count that differs on one line, and with ``--repair`` writes the recount
(audited as ``repair_rollups``). The standings the sweep keeps per open case (migration
0033) that hold now are checked against the ladder computed again; ``--repair`` forgets
those that differ (the next sweep keeps them again). Exit 0 when all agree (or were
repaired), 1 otherwise.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable

from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.caseviews import stale_standings
from kcbx.storage import rollups

Work = Callable[[Services], Awaitable[int]]
Runner = Callable[[Config, Work], int]


def doctor(args: argparse.Namespace, config: Config, run: Runner, actor: str) -> int:
    async def work(services: Services) -> int:
        rollups_ok = await _rollups(args, services, actor)
        return 0 if await _standings(args, services) and rollups_ok else 1

    return run(config, work)


async def _rollups(args: argparse.Namespace, services: Services, actor: str) -> bool:
    stored, counted = await rollups.recount_all(services.db)
    found = rollups.differences(stored, counted)
    names = {u.id: u.name for u in (await services.reports.all_units()).values()}
    for d in found:
        name = names.get(d.school_id, "?")
        print(f"school {d.school_id} {name}: {d.measure} rollup {d.stored}, recount {d.counted}")
    schools = len(set(stored) | set(counted))
    if not found:
        print(f"rollups agree with a recount: {schools} schools")
        return True
    if not args.repair:
        print(f"{len(found)} counts differ ({schools} schools); kcbx doctor --repair")
        return False
    now = services.clock.now()
    repaired = await rollups.repair(services.db, services.audit, actor=actor, now=now)
    print(f"repaired {len(repaired)} counts (audited as repair_rollups)")
    return True


async def _standings(args: argparse.Namespace, services: Services) -> bool:
    holding, wrong = await stale_standings(services)
    for case, fresh in wrong:
        kept = case.standing
        print(
            f"case {case.row.id} {case.row.number}: standing kept {kept.stage.value}, "
            f"{len(kept.due)} due; ladder {fresh.stage.value}, {len(fresh.due)} due"
        )
    if not wrong:
        if holding:  # nothing kept, nothing to say
            print(f"standings agree with the ladder: {holding} open cases")
        return True
    if not args.repair:
        print(f"{len(wrong)} standings differ ({holding} kept); kcbx doctor --repair")
        return False
    await services.case_plans.drop_standings(case.row.id for case, _fresh in wrong)
    print(f"forgot {len(wrong)} standings (the next sweep keeps them again)")
    return True
