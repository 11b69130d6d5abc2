"""An import's outcome as text a person can act on: counts, then the problems grouped.

The same problem on many rows is one line ("工作表“人员”C列（角色），共99行（第15、17、19…行）：
“包组干部”不是已知的角色；是否指“村干部”？"), the largest groups first; a cap keeps the list
short and says how much is left out. :func:`render_message` fits it all in one chat message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.roster.errors import RosterError
from kcbx.bot.roster.importer import ImportReport
from kcbx.storage.roster_repo import Counts

KIND_LABELS = {
    "units": N_("units"),
    "staff": N_("staff"),
    "classes": N_("classes"),
    "students": N_("students"),
}
SHOWN_ROWS = 5  # a group names at most this many of its rows
CLI_GROUPS = 100  # the command line lists at most this many groups of problems
MESSAGE_LIMIT = 4096  # Telegram's limit on a message's text


@dataclass
class ProblemGroup:
    """One problem (the same words, in the same column) and the rows that have it."""

    first: RosterError
    rows: list[int] = field(default_factory=list)
    count: int = 0

    def render(self, gettext: Translate, bare: bool = False) -> str:
        """The group as one line; ``bare``: a problem of the file as a whole says no more
        than what it is (a warning about the district, not about a place in the file)."""
        if bare and self.first.sheet is None and self.first.row is None:
            return self.first.describe(gettext)
        if self.count == 1 or not self.rows:
            return self.first.render(gettext)
        t = gettext
        e = self.first
        shown = t(", ").join(str(r) for r in self.rows[:SHOWN_ROWS])
        shown += "…" if len(self.rows) > SHOWN_ROWS else ""
        rows = t("{count} rows (rows {rows})").format(count=len(self.rows), rows=shown)
        places = {"file": e.file, "sheet": e.sheet, "column": e.column, "header": e.header}
        if e.sheet is not None:
            if e.column is not None:
                where = t("Sheet {sheet}, column {column} ({header})").format(**places)
            else:
                where = t("Sheet {sheet}").format(**places)
        elif e.column is not None:
            where = t("File {file}, column {column} ({header})").format(**places)
        else:
            where = t("File {file}").format(**places)
        return t("{where}, {rows}: {problem}").format(where=where, rows=rows, problem=e.describe(t))


def group_problems(errors: Iterable[RosterError]) -> list[ProblemGroup]:
    """The errors grouped by what they say and where, the largest group first."""
    groups: dict[tuple[object, ...], ProblemGroup] = {}
    for error in errors:
        params = tuple(sorted((k, repr(v)) for k, v in error.params.items()))
        key = (error.file, error.sheet, error.column, error.header, error.problem, params)
        group = groups.setdefault(key, ProblemGroup(error))
        group.count += 1
        if error.row is not None and error.row not in group.rows:
            group.rows.append(error.row)
    ordered = list(groups.values())
    ordered.sort(key=lambda g: -g.count)  # stable: equal groups keep the file's order
    return ordered


def _counts(report: ImportReport, t: Translate) -> list[str]:
    lines = []
    for kind, label in KIND_LABELS.items():
        c = report.counts.get(kind, Counts())
        lines.append(
            t("{kind}: {created} new, {updated} updated, {unchanged} unchanged").format(
                kind=t(label), created=c.created, updated=c.updated, unchanged=c.unchanged
            )
        )
    return lines


def _heading(report: ImportReport, t: Translate) -> list[str]:
    """What happened: imported (with counts), checked, or refused."""
    rows = len({(e.sheet, e.row) for e in report.errors if e.row is not None})
    if report.written:
        lines = [t("Imported {file}:").format(file=report.file), *_counts(report, t)]
        if report.errors:
            lines.append(
                t("{count} rows were skipped because of these problems:").format(
                    count=len(report.skipped)
                )
            )
        return lines
    if report.checked and not report.errors:
        return [
            t("Checked {file}: no problems; nothing was written. Importing it would make:").format(
                file=report.file
            ),
            *_counts(report, t),
        ]
    if report.checked:
        return [
            t("Checked {file}: {count} problems in {rows} rows; nothing was written.").format(
                file=report.file, count=len(report.errors), rows=rows
            )
        ]
    return [
        t(
            "Nothing was imported from {file}: {count} problems. Correct them and send it again."
        ).format(file=report.file, count=len(report.errors))
    ]


def _section(groups: Sequence[ProblemGroup], t: Translate, bare: bool = False) -> list[str]:
    return [g.render(t, bare) for g in groups]


def _more(groups: Sequence[ProblemGroup], t: Translate) -> str:
    return t("… and {count} more kinds of problem ({errors} in all), not shown").format(
        count=len(groups), errors=sum(g.count for g in groups)
    )


def render_report(
    report: ImportReport, gettext: Translate, max_groups: int | None = CLI_GROUPS
) -> list[str]:
    """The outcome as lines of plain text: what happened, the problems grouped (at most
    ``max_groups`` of them, then how many more), then the warnings."""
    t = gettext
    lines = _heading(report, t)
    groups = group_problems(report.errors)
    cap = len(groups) if max_groups is None else max_groups
    lines += _section(groups[:cap], t)
    if len(groups) > cap:
        lines.append(_more(groups[cap:], t))
    warnings = group_problems(report.warnings)
    if warnings:
        lines.append(t("Warnings (the import is not stopped by these):"))
        lines += _section(warnings[:cap], t, bare=True)
        if len(warnings) > cap:
            lines.append(_more(warnings[cap:], t))
    return lines


def _same(text: str) -> str:
    return text


def render_message(
    report: ImportReport,
    gettext: Translate,
    limit: int = MESSAGE_LIMIT,
    escape: Callable[[str], str] = _same,
) -> str:
    """The outcome as one chat message of at most ``limit`` characters once each line is
    passed through ``escape`` (the channel's, e.g. HTML): as many groups of problems (then
    warnings) as fit, and a count of the rest."""
    t = gettext

    def size(lines: Sequence[str]) -> int:
        return len("\n".join(lines))

    shown = [escape(line) for line in _heading(report, t)]
    for groups, title in (
        (group_problems(report.errors), None),
        (group_problems(report.warnings), t("Warnings (the import is not stopped by these):")),
    ):
        block = [escape(title)] if title is not None and groups else []
        count = 0
        for i, group in enumerate(groups):
            line = escape(group.render(t, bare=title is not None))
            rest = [escape(_more(groups[i + 1 :], t))] if i + 1 < len(groups) else []
            if size([*shown, *block, line, *rest]) > limit:
                break
            block.append(line)
            count = i + 1
        if count < len(groups):
            block.append(escape(_more(groups[count:], t)))
        if size([*shown, *block]) <= limit:
            shown += block
    while size(shown) > limit and len(shown) > 1:
        shown.pop()
    return "\n".join(shown)
