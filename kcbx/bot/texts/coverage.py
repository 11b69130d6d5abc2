"""The 三包 coverage report (A5.1) as lines: for a chat (HTML, escaped) or for the terminal
(``kcbx coverage``, plain). Counts, units and cadres only: no child's name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from html import escape

from kcbx.bot.domain.i18n import Translate
from kcbx.bot.domain.roles import ROLE_LABELS
from kcbx.bot.services.coverage import GAP_TEXTS, CoverageReport, unit_path
from kcbx.storage.coverage import UnitRow

NOT_JOINED_SHOWN = 20  # cadres named in the "not joined yet" line


def _gap_lines(
    report: CoverageReport,
    units: Mapping[int, UnitRow],
    t: Translate,
    e: Callable[[str], str],
    households: bool,
) -> list[str]:
    sep = t(", ")
    if not report.gaps:
        return ["", t("No gaps: every household has a group, village and township cadre.")]
    lines = ["", t("Households with a gap ({count}):").format(count=report.households_with_gaps)]
    for gap in report.gaps:
        lines.append(
            "• "
            + t("{unit}: {households} households ({students} students): {missing}").format(
                unit=e(unit_path(gap.unit_id, units)),
                households=gap.households,
                students=gap.students,
                missing=sep.join(t(GAP_TEXTS[level]) for level in gap.missing),
            )
        )
        if households:  # the operator's list (no child's name goes to a chat)
            for row in gap.rows:
                key = row.key if not row.key.startswith("student:") else t("no phone")
                lines.append(f"    {e(key)}: {e(sep.join(row.names))}")
    return lines


def _load_lines(
    report: CoverageReport,
    units: Mapping[int, UnitRow],
    t: Translate,
    e: Callable[[str], str],
    b: Callable[[str], str],
) -> list[str]:
    over = report.overloaded
    if not over:
        return [
            t("No group cadre carries more than {limit} households.").format(limit=report.limit)
        ]
    lines = [t("Group cadres over {limit} households:").format(limit=report.limit)]
    for load in sorted(over, key=lambda item: -item.households):
        lines.append(
            "• "
            + t("{name} ({unit}): {households} households").format(
                name=b(load.cadre.name or "—"),
                unit=e(unit_path(load.cadre.unit_id, units)),
                households=load.households,
            )
        )
    return lines


def render_coverage(
    report: CoverageReport,
    units: Mapping[int, UnitRow],
    gettext: Translate,
    *,
    scope: str,
    html: bool = True,
    households: bool = False,
) -> list[str]:
    """The report as lines (HTML-escaped when ``html``; a caller pages them)."""

    def e(text: str) -> str:
        return escape(text) if html else text

    def b(text: str) -> str:
        return f"<b>{escape(text)}</b>" if html else text

    t = gettext
    lines = [
        t("Contact-duty coverage of {scope}").format(scope=b(scope or t("the district"))),
        t(
            "{households} households ({students} students); {covered} covered at every level."
        ).format(households=report.households, students=report.students, covered=report.covered),
        *_gap_lines(report, units, t, e, households),
    ]
    if report.without_household:
        lines.append(
            t("Students whose household is not on the roster: {count}").format(
                count=report.without_household
            )
        )
    lines += ["", *_load_lines(report, units, t, e, b)]
    if report.not_joined:
        named = report.not_joined[:NOT_JOINED_SHOWN]
        lines.append(
            t("Cadres on the roster who have not joined the bot yet: {names}").format(
                names=t(", ").join(
                    t("{name} ({role})").format(name=e(c.name or "—"), role=t(ROLE_LABELS[c.role]))
                    for c in named
                )
                + (" …" if len(report.not_joined) > NOT_JOINED_SHOWN else "")
            )
        )
    return lines
