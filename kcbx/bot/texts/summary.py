"""The summary's words: view models of :mod:`kcbx.bot.services.summary` -> HTML and buttons.

The only place the summary, its drill-down and its chart's labels are written. In a group
chat the summary shows counts only: no child's name, no staff names, no list of cases.
"""

from __future__ import annotations

from html import escape

from kcbx.bot.documents.chart_rows import ChartLabels, StageRow
from kcbx.bot.domain.caseactions import case_data
from kcbx.bot.domain.grades import class_words
from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.domain.ladder.state import STAGE_NAMES, Stage
from kcbx.bot.domain.policy.tree import Policy
from kcbx.bot.domain.roles import ROLE_LABELS
from kcbx.bot.services.summary import (
    TREND_WEEKS,
    CaseLine,
    ChartData,
    Counts,
    SchoolCases,
    Summary,
    stage_counts,
)
from kcbx.bot.texts.accountability import flag_text, warning_text
from kcbx.bot.texts.paging import MAX_BUTTONS, more_button
from kcbx.bot.texts.reply import Buttons, Reply, fit, format_when

OWED_LINES = 6
WARNING_LINES = 5
CHART_ROWS = 14  # townships or schools drawn; the rest are summed into one bar


def stage_labels(policy: Policy, t: Translate) -> dict[Stage, str]:
    """The buckets' names with the policy's day numbers."""
    ladder = policy.ladder
    return {
        Stage.DAY0: t("day {first}–{last}").format(first=0, last=ladder.persuasion_day - 1),
        Stage.PERSUASION: t("day {first}–{last}").format(
            first=ladder.persuasion_day, last=ladder.dropout_day - 1
        ),
        Stage.DROPOUT: t("dropout, no notice yet"),
        Stage.NOTICE: t("notice to enrol issued"),
        Stage.CORRECTION: t("ordered to correct"),
    }


def rate_text(rate: float) -> str:
    """A dropout rate in percent, as the summary and the chart print it: '0.25'."""
    return f"{rate:.2f}"


def case_line_text(line: CaseLine, t: Translate, *, with_school: bool = True) -> str:
    """'<b>张三</b> 3年级1班 · day 16 · notice to enrol · KC-2024-0001' (escaped)."""
    where = []
    if with_school and line.school:
        where.append(escape(line.school))
    if line.grade is not None and line.class_name:
        where.append(escape(class_words(line.grade, line.class_name, t)))
    text = f"<b>{escape(line.student)}</b>"
    if len(where) == 2:  # 滨河小学三年级1班 (school, grade in English)
        where = [t("{school}, {grade}").format(school=where[0], grade=where[1])]
    if where:
        text += " " + where[0]
    text += " · " + t("day {day}").format(day=line.day)
    text += " · " + t(STAGE_NAMES[line.stage])
    text += f" · <b>{escape(line.number)}</b>"
    if line.a9:
        text += " · " + t("A9")
    return text


# --- the summary -----------------------------------------------------------------------------


def render_summary(
    summary: Summary,
    policy: Policy,
    t: Translate,
    lang: str,
    *,
    page: int = 0,
    in_group: bool,
    parent_id: int | None = None,
) -> Reply:
    """The summary as one message with its drill-down buttons."""
    unit = summary.unit
    lines = _figures(summary, policy, t, lang)
    lines += _owed(summary, t, in_group=in_group)
    lines += _a8(summary, policy, t, lang)
    buttons: list[tuple[tuple[str, str], ...]] = []
    last: list[tuple[str, str]] = [(t("Chart"), f"sum:g:{unit.id}")]
    if unit.kind == "school" and not in_group:
        last.append((t("Open cases"), f"sum:c:{unit.id}:0"))
    if parent_id is not None:
        last.append((t("Up"), f"sum:u:{parent_id}:0"))
    if summary.lines:
        lines += _breakdown(summary, t, page, buttons, MAX_BUTTONS - len(last))
    if summary.attention and not in_group:
        lines.append("")
        lines.append(t("<b>Longest open:</b>"))
        for case in summary.attention:
            lines.append(" · " + case_line_text(case, t))
    buttons.append(tuple(last))
    return Reply(fit(lines), tuple(buttons))


def _figures(summary: Summary, policy: Policy, t: Translate, lang: str) -> list[str]:
    local = summary.now.astimezone(policy.time.tz)
    labels = stage_labels(policy, t)
    counts = summary.counts

    def parts(stages: tuple[Stage, ...]) -> str:
        """' (day 0–2: 1, day 3–6: 2)', the stages without a case left out."""
        found = [
            t("{stage}: {count}").format(stage=labels[s], count=summary.stages[s])
            for s in stages
            if summary.stages[s]
        ]
        return t(" ({stages})").format(stages=t(", ").join(found)) if found else ""

    lines = [
        t("<b>Dropout control summary: {unit}</b>").format(unit=escape(summary.title)),
        t("As of {when}").format(when=format_when(local, t, lang)),
        t(
            "Students: {enrolled}. Open cases: <b>{open}</b>, of which dropouts: <b>{dropouts}</b>."
        ).format(enrolled=summary.enrolled, open=counts.open, dropouts=counts.dropout),
        t("Suspected dropouts: {count}{stages}.").format(
            count=counts.suspected, stages=parts((Stage.DAY0, Stage.PERSUASION))
        ),
        t("Dropouts: {count}{stages}.").format(
            count=counts.dropout, stages=parts((Stage.DROPOUT, Stage.NOTICE, Stage.CORRECTION))
        ),
        t(
            "New: {today} today, {week} this week. Back at school: {month} this month, "
            "{year} this school year."
        ).format(
            today=summary.new_today,
            week=summary.new_week,
            month=summary.returned_month,
            year=counts.returned,
        ),
    ]
    rate = summary.rate
    if rate is not None:
        lines.append(
            t("Dropout rate: {rate}% (the limit of Article 8: {limit}%).").format(
                rate=rate_text(rate), limit=f"{policy.accountability.attrition_percent:g}"
            )
        )
    return [
        *lines,
        t(
            "This school year, counted apart (not dropouts): {exempt} exempt (Article 3), "
            "{transferred} transferred."
        ).format(exempt=summary.exempt_year, transferred=summary.transferred_year),
        t("Vulnerable students (Article 9) among the open cases: {count}.").format(
            count=summary.a9_open
        ),
    ]


def _owed(summary: Summary, t: Translate, *, in_group: bool) -> list[str]:
    lines = ["", t("<b>Overdue tasks: {count}</b>").format(count=summary.overdue)]
    for owed in summary.owed[:OWED_LINES]:
        who = t(ROLE_LABELS.get(owed.role, owed.role))  # type: ignore[call-overload]
        if owed.unit:
            who += t(" ({unit})").format(unit=escape(owed.unit))
        if owed.people and not in_group:
            who += " " + escape(t(", ").join(owed.people))
        elif not owed.people:
            who += t(" (nobody holds this role)")
        lines.append(" · " + t("{who}: {count}").format(who=who, count=owed.count))
    if summary.owed_groups > OWED_LINES:
        rest = summary.overdue - sum(o.count for o in summary.owed[:OWED_LINES])
        lines.append(" · " + t("others: {count}").format(count=rest))
    return lines


def _a8(summary: Summary, policy: Policy, t: Translate, lang: str) -> list[str]:
    lines = [
        "",
        t("<b>Accountability (Article 8)</b>: {flags} flags, {warnings} warnings").format(
            flags=len(summary.flags), warnings=len(summary.warnings)
        ),
    ]
    shown = 0
    for flag in summary.flags:
        if shown >= WARNING_LINES:
            break
        lines.append(" · " + flag_text(flag, summary.unit_names, t))
        shown += 1
    for warning in summary.warnings:
        if shown >= WARNING_LINES:
            break
        lines.append(" · " + warning_text(warning, summary.unit_names, t, lang, policy))
        shown += 1
    hidden = len(summary.flags) + len(summary.warnings) - shown
    if hidden > 0:
        lines.append(" · " + t("and {count} more: /accountability").format(count=hidden))
    return lines


def _breakdown(
    summary: Summary,
    t: Translate,
    page: int,
    buttons: list[tuple[tuple[str, str], ...]],
    room: int,
) -> list[str]:
    """The townships or schools with open cases, in the roster's order, a page of them with a
    button each (added to ``buttons``, ``room`` buttons at most with the page's [更多]); the
    others folded into one line."""
    unit = summary.unit
    heading = {
        "district": N_("<b>By township</b> (open / dropouts):"),
        "township": N_("<b>By school</b> (open / dropouts):"),
    }.get(unit.kind, N_("<b>By unit</b> (open / dropouts):"))
    shown = [line for line in summary.lines if line.open]
    folded = len(summary.lines) - len(shown)
    townships = unit.kind == "district"
    if not shown:
        none = N_("No township has cases.") if townships else N_("No school has cases.")
        return ["", t(none)]
    per = room if len(shown) <= room else max(1, room - 1)  # six buttons a message
    pages = max(1, -(-len(shown) // per))
    page = min(max(page, 0), pages - 1)
    chunk = shown[page * per : (page + 1) * per]
    lines = ["", t(heading)]
    row_buttons: list[tuple[str, str]] = []
    for line in chunk:
        lines.append(
            " · "
            + t("{name}: {open} / {dropouts}").format(
                name=escape(line.unit.name), open=line.open, dropouts=line.dropouts
            )
        )
        kind = "s" if line.unit.kind == "school" else "t"
        if line.unit.kind in ("school", "township"):
            row_buttons.append(
                (
                    t("{name} ({count})").format(name=line.unit.name, count=line.open)[:40],
                    f"sum:{kind}:{line.unit.id}",
                )
            )
    if folded:
        rest = N_("Other townships without cases: {count}.")
        if not townships:
            rest = N_("Other schools without cases: {count}.")
        lines.append(t(rest).format(count=folded))
    for i in range(0, len(row_buttons), 2):
        buttons.append(tuple(row_buttons[i : i + 2]))
    if pages > 1:
        lines.append(t("Page {page} of {pages}").format(page=page + 1, pages=pages))
        more = more_button(t, f"sum:u:{unit.id}:{{}}", page, page + 1 < pages)
        buttons.append((more,) if more else ())
    return lines


# --- a school's open cases -------------------------------------------------------------------


def render_school_cases(view: SchoolCases, t: Translate) -> Reply:
    """One page of a school's open cases (names), each with a button to its case card."""
    school = view.school
    lines = [
        t("<b>Open cases of {school}</b> ({count})").format(
            school=escape(school.name), count=view.total
        )
    ]
    buttons: list[tuple[tuple[str, str], ...]] = []
    if not view.total:
        lines.append(t("No open cases."))
    for index, line in enumerate(view.lines, start=view.first):
        lines.append(f"{index}. " + case_line_text(line, t, with_school=False))
        buttons.append(((f"{line.number} {line.student}"[:40], case_data(line.case_id)),))
    if view.pages > 1:
        lines.append(t("Page {page} of {pages}").format(page=view.page + 1, pages=view.pages))
    more = more_button(t, f"sum:c:{school.id}:{{}}", view.page, view.page + 1 < view.pages)
    back = (t("Back to the summary"), f"sum:s:{school.id}")
    buttons.append((more, back) if more else (back,))
    return Reply(fit(lines), tuple(buttons))


def counts_lines(counts: Counts, t: Translate) -> list[str]:
    """The five counts in the words every caption uses (the chart's, the ledger's)."""
    return [
        t("Open cases: {open}, of which dropouts: {dropouts}; suspected: {suspected}.").format(
            open=counts.open, dropouts=counts.dropout, suspected=counts.suspected
        ),
        t("Notices to enrol issued: {notice}. Back at school this school year: {returned}.").format(
            notice=counts.notice, returned=counts.returned
        ),
    ]


def ledger_caption(place: str, counts: Counts, cases: int, actions: int, t: Translate) -> str:
    """The /export document's caption (HTML, sent with the parse mode set)."""
    return "\n".join(
        [
            t("<b>Ledger: {place}</b>, {cases} cases of this school year").format(
                place=escape(place), cases=cases
            ),
            *counts_lines(counts, t),
            t(
                "Actions recorded: {actions}. The file is encrypted: its password follows in "
                "the next message. This export is recorded in the audit log."
            ).format(actions=actions),
        ]
    )


# --- the chart -------------------------------------------------------------------------------


def chart_rows(data: ChartData, t: Translate) -> list[StageRow]:
    """The townships or schools in the roster's order (the first ones; the rest summed into
    one bar), each with its open cases by stage, its returns and its dropout rate."""
    rows = []
    counted = stage_counts(data.summary)
    for line, stages in counted[:CHART_ROWS]:
        rate = line.counts.rate(line.enrolled)
        rows.append(StageRow(line.unit.name, stages, line.returned, rate))
    rest: dict[str, int] = {}
    returned = 0
    for line, stages in counted[CHART_ROWS:]:
        returned += line.returned
        for stage, count in stages.items():
            rest[stage] = rest.get(stage, 0) + count
    if rest or returned:
        rows.append(StageRow(t("others"), rest, returned))
    return rows


def chart_labels(policy: Policy, data: ChartData, t: Translate, lang: str) -> ChartLabels:
    local = data.now.astimezone(policy.time.tz)
    panel = {
        "district": N_("Open cases by township and stage"),
        "township": N_("Open cases by school and stage"),
    }.get(data.unit.kind, N_("Open cases by stage"))
    limit = policy.accountability.attrition_percent
    return ChartLabels(
        stages={k.value: v for k, v in stage_labels(policy, t).items()},
        cases=t("cases"),
        no_cases=t("No open cases."),
        stage_panel=t(panel),
        trend_panel=t("Open cases over the last {weeks} weeks").format(weeks=TREND_WEEKS),
        date_format=t("{d.month}/{d.day}"),
        footnote=t("As of {when}").format(when=format_when(local, t, lang)),
        returned=t("back at school this school year"),
        rate_panel=t("Dropout rate (dropouts not returned per 100 students)"),
        rate_axis=t("dropout rate (%)"),
        rate_line=t("Article 8: {limit}%").format(limit=f"{limit:g}"),
        rate_limit=limit,
        rate_total=data.title,
        total_rate=data.summary.rate,
    )


def chart_title(data: ChartData, t: Translate) -> str:
    return t("Dropout control: {unit}").format(unit=data.title)


def chart_caption(data: ChartData, policy: Policy, t: Translate) -> str:
    """The photo's caption (HTML, sent with the parse mode set): the summary's counts."""
    summary = data.summary
    lines = [
        t("<b>Dropout control: {unit}</b>").format(unit=escape(data.title)),
        *counts_lines(summary.counts, t),
    ]
    if summary.rate is not None:
        lines.append(
            t("Dropout rate: {rate}% (the limit of Article 8: {limit}%).").format(
                rate=rate_text(summary.rate),
                limit=f"{policy.accountability.attrition_percent:g}",
            )
        )
    return "\n".join(lines)


__all__ = [
    "Buttons",
    "Reply",
    "case_line_text",
    "chart_caption",
    "chart_labels",
    "chart_rows",
    "chart_title",
    "counts_lines",
    "fit",
    "format_when",
    "ledger_caption",
    "rate_text",
    "render_school_cases",
    "render_summary",
    "stage_labels",
]
