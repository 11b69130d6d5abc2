"""The summary of the test roster as the district leader sees it, and its chart (issue 5).

    python tools/summary_example.py [--png docs/summary-example.png] [--lang zh_CN|en]

Seeds the test roster (kcbx/testing/seed.py: two townships, two schools, eight pupils) in a
temporary database, reports absences over the weeks before Thursday 28 March 2024 (some
children come back, some are persuaded, one is the subject of a notice), then prints the
district leader's /summary as the chat shows it and writes the chart's PNG.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kcbx.bot.domain.clock import FakeClock  # noqa: E402
from kcbx.bot.domain.i18n import translator  # noqa: E402
from kcbx.bot.runtime.config import Config  # noqa: E402
from kcbx.bot.runtime.services import Services  # noqa: E402
from kcbx.bot.services.summary import summary_chart, summary_view  # noqa: E402
from kcbx.testing.seed import small_district  # noqa: E402

NOW = datetime(2024, 3, 28, 0, 30, tzinfo=UTC)  # Thursday 28 March 2024, 08:30 in Shanghai

# (pupil, first day absent, cause, actions as (kind, day, teacher phone), returned on)
STORY = [
    ("张三", date(2024, 3, 4), "weariness", [("phone_call", date(2024, 3, 4))], None),
    ("李四", date(2024, 2, 26), "unknown", [("phone_call", date(2024, 2, 26))], date(2024, 3, 8)),
    ("王五", date(2024, 3, 25), "poverty", [], None),
    ("赵六", date(2024, 3, 27), "unknown", [("phone_call", date(2024, 3, 27))], None),
    (
        "钱七",
        date(2024, 2, 19),
        "parents_unwilling",
        [("home_visit", date(2024, 2, 21))],
        date(2024, 3, 1),
    ),
    ("孙八", date(2024, 3, 1), "child_labour", [("notice_issued", date(2024, 3, 16))], None),
    ("周九", date(2024, 3, 12), "unknown", [], None),
]


def plain(text: str) -> str:
    """What the chat shows of an HTML message."""
    return html.unescape(re.sub(r"</?b>", "", text))


async def main(lang: str) -> tuple[bytes, str]:
    """Print the summary; return the chart's PNG and caption."""
    folder = Path(tempfile.mkdtemp(prefix="kcbx-example-"))
    clock = FakeClock(NOW)
    services = await Services.open(Config(db_path=str(folder / "kcbx.db")), clock)
    try:
        district = await small_district(services, NOW)
        teacher = district.people["13900000022"]
        for name, since, cause, actions, returned in STORY:
            reported = datetime.combine(since, datetime.min.time(), tzinfo=UTC).replace(hour=2)
            clock.set(reported)
            case = await services.cases.open_case(
                student_id=district.students[name],
                reported_by=teacher,
                absent_since=since,
                cause=cause,
                guardian_contact=None,
                note=None,
                now=reported,
                year=2024,
                actor=f"person:{teacher}",
            )
            for kind, day in actions:
                at = datetime.combine(day, datetime.min.time(), tzinfo=UTC).replace(hour=3)
                await services.cases.record_action(
                    case.id, kind=kind, actor_id=teacher, at=at, now=at
                )
            if returned is not None:
                closed = datetime.combine(returned, datetime.min.time(), tzinfo=UTC)
                await services.cases.close(
                    case.id, status="returned", now=closed.replace(hour=1), actor="cli:example"
                )
        clock.set(NOW)
        leader = await services.people.by_phone("13900000002")
        assert leader is not None and leader.unit_id is not None
        t = translator(lang)
        view = await summary_view(services, leader, None, in_group=False, gettext=t, lang=lang)
        assert view is not None
        print(plain(view.text))
        print()
        print("buttons:", " | ".join(label for row in view.buttons for label, _data in row))
        drawn = await summary_chart(services, leader, leader.unit_id, gettext=t, lang=lang)
        assert drawn is not None
        return drawn
    finally:
        await services.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--png", type=Path, default=ROOT / "docs" / "summary-example.png")
    parser.add_argument("--lang", default="zh_CN", choices=("zh_CN", "en"))
    args = parser.parse_args()
    png, caption = asyncio.run(main(args.lang))
    args.png.parent.mkdir(parents=True, exist_ok=True)
    args.png.write_bytes(png)
    print(f"\nchart: {args.png} ({len(png) // 1024} KiB); caption: {plain(caption)}")
