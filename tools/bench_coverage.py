"""Time `kcbx coverage` (issue 4, A5.1) on the generated demo district.

    python tools/bench_coverage.py [--students N] [--keep DIR]

Builds the demo roster (kcbx/demo/roster.py: 11 townships, every household with a group,
village and township cadre) with N students (50,000 by default), imports it into a fresh
SQLite file, then times the coverage of the whole district and of one township.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kcbx.bot.domain.clock import FakeClock  # noqa: E402
from kcbx.bot.domain.i18n import translator  # noqa: E402
from kcbx.bot.importer import import_roster  # noqa: E402
from kcbx.bot.runtime.config import Config  # noqa: E402
from kcbx.bot.runtime.services import Services  # noqa: E402
from kcbx.bot.services.coverage import coverage_of, render_coverage  # noqa: E402
from kcbx.bot.texts.paging import pages  # noqa: E402
from kcbx.demo.roster import build_roster  # noqa: E402


async def bench(students: int, where: Path) -> None:
    clock = FakeClock(datetime(2024, 3, 4, 1, tzinfo=UTC))
    services = await Services.open(Config(db_path=str(where / "coverage.db")), clock)
    data = build_roster(students=students).to_xlsx()
    start = time.perf_counter()
    await import_roster(services.db, data, "demo.xlsx", actor="cli:bench", clock=clock)
    imported = time.perf_counter()
    view = await coverage_of(services, None)
    district = time.perf_counter()
    report = view.report
    lines = render_coverage(report, view.units, translator("zh_CN"), scope=view.scope)
    township = (await services.units.find("滨河镇", ("township",)))[0]
    before = time.perf_counter()
    local = await coverage_of(services, township.id)
    after = time.perf_counter()
    most = max((load.households for load in report.loads if load.limit is not None), default=0)
    print(f"students: {students}; import {imported - start:.1f} s")
    print(
        f"district: {report.households} households, {report.covered} covered, "
        f"{len(report.gaps)} units with gaps, {len(report.loads)} cadres, "
        f"{len(report.overloaded)} group cadres over {report.limit} (most: {most}), "
        f"{len(pages(lines, cut=''))} chat pages; {district - imported:.2f} s"
    )
    print(f"滨河镇: {local.report.households} households; {after - before:.2f} s")
    await services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--keep", type=Path, help="keep the database in this directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        where = args.keep or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        asyncio.run(bench(args.students, where))


if __name__ == "__main__":
    main()
