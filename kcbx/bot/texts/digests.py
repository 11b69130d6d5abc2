"""The digests' words: the weekly summary's heading and a school's month for the bureau."""

from __future__ import annotations

from datetime import date
from html import escape

from kcbx.bot.domain.dates import format_date
from kcbx.bot.domain.i18n import Translate
from kcbx.bot.domain.policy.tree import Policy
from kcbx.bot.services.caseviews import UnitTree
from kcbx.bot.services.summary import SummaryView
from kcbx.bot.texts.accountability import frozen_flag_text
from kcbx.bot.texts.reply import Reply, fit
from kcbx.bot.texts.summary import render_summary
from kcbx.storage.accountability_repo import FrozenFlag
from kcbx.storage.reports_repo import MonthActivity

DROPOUTS_LISTED = 10


def weekly_text(view: SummaryView, monday: date, policy: Policy, t: Translate, lang: str) -> Reply:
    """The week's summary to a leader: a heading, then the summary of their scope."""
    summary = render_summary(
        view.summary, policy, t, lang, in_group=False, parent_id=view.parent_id
    )
    heading = t("<b>Weekly summary</b>, the week from {monday}").format(
        monday=format_date(monday, t, lang)
    )
    return Reply(fit([heading, summary.text]), summary.buttons)


def school_month_text(
    tree: UnitTree,
    school_id: int,
    period: str,
    activity: MonthActivity,
    dropouts: list[tuple[str, str, int]],
    flags: list[FrozenFlag],
    t: Translate,
) -> str:
    """One school's month for the bureau: counts, its dropouts at the month's end, its A8."""
    school = tree.get(school_id)
    year, month = (int(x) for x in period.split("-"))
    lines = [
        t("<b>Monthly report: {school}, {year}-{month}</b>").format(
            school=escape(tree.path(school_id) or (school.name if school else "")),
            year=year,
            month=month,
        ),
        t(
            "Reported this month: {new}. Back at school: {returned}. Exempt (Article 3): {exempt}. "
            "Transferred: {transferred}."
        ).format(
            new=activity.new,
            returned=activity.returned,
            exempt=activity.exempt,
            transferred=activity.transferred,
        ),
        t("Open at the month's end: {open}, of which dropouts: {dropouts}.").format(
            open=activity.open_at_end, dropouts=len(dropouts)
        ),
    ]
    for number, name, day in sorted(dropouts, key=lambda d: -d[2])[:DROPOUTS_LISTED]:
        lines.append(
            " · "
            + t("<b>{name}</b> <b>{number}</b>, day {day}").format(
                name=escape(name), number=escape(number), day=day
            )
        )
    if len(dropouts) > DROPOUTS_LISTED:
        lines.append(" · " + t("and {count} more").format(count=len(dropouts) - DROPOUTS_LISTED))
    if flags:
        lines.append(t("A8 flags frozen at the month's end:"))
        lines += [" · " + frozen_flag_text(f, t) for f in flags]
    else:
        lines.append(t("No A8 flag at the month's end."))
    return fit(lines)


__all__ = ["DROPOUTS_LISTED", "school_month_text", "weekly_text"]
