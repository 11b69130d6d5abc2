"""The daily retention pass: reduce what closed cases no longer need (PIPL art. 19).

The periods are policy (``[retention]``); what is removed and what stays is
:mod:`kcbx.bot.domain.retention`. Every reduction is audited; a dry run writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kcbx.bot.domain.retention import KINDS, cutoffs
from kcbx.bot.runtime.services import Services
from kcbx.storage.retention_repo import Reduction, RetentionRepo

BATCH = 200


@dataclass
class RetentionReport:
    dry_run: bool
    done: dict[str, list[Reduction]] = field(default_factory=lambda: {k: [] for k in KINDS})

    def cases(self, kind: str) -> int:
        return len(self.done[kind])

    def files(self, kind: str) -> int:
        return sum(r.files for r in self.done[kind])

    def size(self, kind: str) -> int:
        return sum(r.size for r in self.done[kind])

    def fields(self, kind: str) -> int:
        return sum(r.fields for r in self.done[kind])


async def apply_retention(
    services: Services, *, actor: str = "system", dry_run: bool = False
) -> RetentionReport:
    """One pass over the closed cases that are due; in batches, each case in a transaction."""
    repo = RetentionRepo(services.db, services.audit)
    now = services.clock.now()
    report = RetentionReport(dry_run)
    for kind, before in cutoffs(services.policy.retention, now).items():
        seen: set[int] = set()
        while True:
            batch = [c for c in await repo.due(kind, before, BATCH + len(seen)) if c.id not in seen]
            if not batch:
                break
            for case in batch[:BATCH]:
                seen.add(case.id)
                if dry_run:
                    report.done[kind].append(await repo.plan(kind, case))
                else:
                    report.done[kind].append(await repo.reduce(kind, case, now=now, actor=actor))
    return report
