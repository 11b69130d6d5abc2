"""A8's words: flags, warnings and the school year's list -> HTML.

Views from :mod:`kcbx.bot.services.accountability`; the frozen flags speak from their
evidence (names as they were when frozen).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from html import escape

from kcbx.bot.domain.a8.rules import (
    CHIEF,
    CONSEQUENCES,
    DEPUTY,
    LEVEL_NAMES,
    Flag,
    Level,
    Rule,
)
from kcbx.bot.domain.a8.warnings import Warning, WarningKind
from kcbx.bot.domain.caseactions import ACTION_NAMES, case_data
from kcbx.bot.domain.dates import format_date
from kcbx.bot.domain.glossary import cited
from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.domain.policy.tree import Policy
from kcbx.bot.services.a8year import Addressee, FindingLine, YearRecord
from kcbx.bot.services.accountability import AccountabilityView
from kcbx.bot.texts.reply import Reply, fit, format_when, nav_row
from kcbx.storage.accountability_repo import FrozenFlag, FrozenMonth

CASES_SHOWN = 5  # case numbers listed in one line of text


def _numbers(numbers: Sequence[str], t: Translate) -> str:
    shown = ", ".join(f"<b>{escape(n)}</b>" for n in numbers[:CASES_SHOWN])
    if len(numbers) > CASES_SHOWN:
        shown += t(" and {count} more").format(count=len(numbers) - CASES_SHOWN)
    return shown


def _day_before(instant: datetime, policy: Policy, t: Translate, lang: str) -> str:
    """The last day before an instant that starts a day (a mark at midnight), or its day."""
    local = instant.astimezone(policy.time.tz)
    if local.hour == 0 and local.minute == 0:
        local -= timedelta(seconds=1)
    return format_date(local.date(), t, lang)


def _flag_body(
    rule: str,
    level: Level,
    *,
    count: object,
    numbers: str,
    schools: str,
    percent: float,
    enrolled: object,
    threshold: float,
    t: Translate,
) -> str:
    if rule == Rule.ATTRITION:
        return t(
            "attrition {percent}% ({count} dropouts of {enrolled} students), above {threshold}%"
        ).format(
            percent=f"{percent:.2f}", count=count, enrolled=enrolled, threshold=f"{threshold:g}"
        )
    if rule in (Rule.PRIMARY, Rule.JUNIOR):
        return t("dropouts with no persuasion recorded: {count} ({cases})").format(
            count=count, cases=numbers
        )
    if schools:
        return t("{level}: dropouts at {schools}: {count} ({cases})").format(
            level=t(LEVEL_NAMES[level]), schools=schools, count=count, cases=numbers
        )
    return t("{level}: dropouts: {count} ({cases})").format(
        level=t(LEVEL_NAMES[level]), count=count, cases=numbers
    )


def flag_text(flag: Flag, unit_names: Mapping[int, str], t: Translate) -> str:
    """One line about a flag earned (live)."""
    body = _flag_body(
        flag.rule,
        flag.level,
        count=flag.count,
        numbers=_numbers([c.number for c in flag.cases], t),
        schools=", ".join(escape(unit_names.get(s, "")) for s in flag.schools),
        percent=flag.percent,
        enrolled=flag.enrolled,
        threshold=flag.threshold,
        t=t,
    )
    return t("⚠ {rule} {unit}: {body} ({consequence})").format(
        rule=cited(flag.rule.value, t),
        unit=f"<b>{escape(unit_names.get(flag.unit_id, ''))}</b>",
        body=body,
        consequence=t(flag.consequence),
    )


def warning_text(
    warning: Warning,
    unit_names: Mapping[int, str],
    t: Translate,
    lang: str,
    policy: Policy,
) -> str:
    """One paragraph about a flag that is coming (or about to be frozen)."""
    unit = f"<b>{escape(unit_names.get(warning.unit_id, ''))}</b>"
    rule = cited(warning.rule.value, t)  # the article, never the rule ID
    case = warning.case
    if warning.kind == WarningKind.NEAR:
        return t(
            "District attrition is {percent}% ({count} dropouts); above {threshold}% the "
            "education bureau is flagged under {rule}."
        ).format(
            percent=f"{warning.percent:.2f}",
            count=warning.count,
            threshold=f"{warning.threshold:g}",
            rule=rule,
        )
    assert warning.deadline is not None
    by = _day_before(warning.deadline, policy, t, lang)
    if warning.rule in (Rule.PRIMARY, Rule.JUNIOR) and case is not None:
        number = f"<b>{escape(case.number)}</b>"
        if warning.kind == WarningKind.FREEZE:
            return t(
                "{unit} is flagged under {rule}: case {number} is a dropout with no persuasion "
                "recorded. Unless persuasion is recorded by {date}, the flag is frozen at the "
                "month's end."
            ).format(unit=unit, rule=rule, number=number, date=by)
        return t(
            "Case {number} has no persuasion recorded; {unit} will be flagged under {rule} if "
            "none is recorded by {date}."
        ).format(number=number, unit=unit, rule=rule, date=by)
    numbers = _numbers([c.number for c in warning.cases], t)
    if warning.level == Level.TALK:
        return t(
            "{unit} faces an admonitory talk under {rule} on {date}: {count} dropouts have no "
            "persuasion recorded in their first month ({cases}). Record persuasion before then."
        ).format(unit=unit, rule=rule, date=by, count=warning.count, cases=numbers)
    return t(
        "{unit} faces {level} under {rule} on {date}: {count} dropouts are still not back "
        "({cases})."
    ).format(
        unit=unit,
        level=t(LEVEL_NAMES[warning.level]),
        rule=rule,
        date=by,
        count=warning.count,
        cases=numbers,
    )


def frozen_flag_text(flag: FrozenFlag, t: Translate) -> str:
    """One line about a frozen flag, from its evidence (names as they were then)."""
    evidence = flag.evidence
    body = _flag_body(
        flag.rule,
        Level(flag.level),
        count=evidence.get("count", 0),
        numbers=_numbers([str(c.get("number", "")) for c in evidence.get("cases", [])], t),
        schools=", ".join(escape(str(s)) for s in evidence.get("schools", [])),
        percent=float(evidence.get("percent") or 0),
        enrolled=evidence.get("enrolled", 0),
        threshold=float(evidence.get("threshold") or 0),
        t=t,
    )
    unit = f"<b>{escape(str(evidence.get('unit', '')))}</b>"
    return t("{rule} {unit}: {body}").format(rule=cited(str(flag.rule), t), unit=unit, body=body)


DIGEST_BUTTONS = 8  # case cards offered under a digest


def warning_digest(
    warns: Sequence[Warning], unit_names: Mapping[int, str], t: Translate, lang: str, policy: Policy
) -> Reply:
    """A person's warnings as one message, unit by unit, with a button per case."""
    lines = [t("<b>Accountability warnings</b>: {count}").format(count=len(warns))]
    ordered = sorted(
        warns,
        key=lambda w: (
            w.rule,
            w.unit_id,
            w.deadline or datetime.max.replace(tzinfo=policy.time.tz),
        ),
    )
    unit = None
    for warning in ordered:
        if (warning.rule, warning.unit_id) != unit:
            unit = (warning.rule, warning.unit_id)
            lines.append("")
        lines.append(" · " + warning_text(warning, unit_names, t, lang, policy))
    cases = {c.case_id: c.number for w in ordered for c in w.cases if w.case is not None}
    buttons = tuple(
        ((t("Open {number}").format(number=number), case_data(case_id)),)
        for case_id, number in list(cases.items())[:DIGEST_BUTTONS]
    )
    return Reply(fit(lines), buttons)


# --- the school year's record ---------------------------------------------------------------


RANK_NAMES = {CHIEF: N_("main leader"), DEPUTY: N_("leader in charge")}
CLOSED_NAMES = {
    "returned": N_("back at school"),
    "exempt": N_("exempt (Article 3)"),
    "transferred": N_("transferred"),
}


def named_text(named: tuple[Addressee, ...], t: Translate) -> str:
    """'leader in charge 张三, main leader 李四' (names escaped)."""
    parts = []
    for a in named:
        name = f"<b>{escape(a.person.name)}</b>"
        parts.append(
            t("{rank} {name}").format(rank=t(RANK_NAMES[a.rank]), name=name) if a.rank else name
        )
    return t(", ").join(parts)


def finding_lines(line: FindingLine, policy: Policy, t: Translate, lang: str) -> list[str]:
    """One finding: when, the clause, the unit, what it brings, whom it names, and what
    happened to its cases afterwards."""
    f = line.finding
    tz = policy.time.tz
    earned = format_date(f.earned_at.astimezone(tz).date(), t, lang)
    body = frozen_flag_text(FrozenFlag(f.rule, f.unit_id, f.level, f.evidence), t)
    out = [
        t("{date}: {finding}").format(date=earned, finding=body),
        "   " + t(CONSEQUENCES[(Rule(f.rule), Level(f.level))]),
    ]
    if line.named:
        out.append("   " + t("Named: {people}").format(people=named_text(line.named, t)))
    for note in line.notes:
        day = format_date(note.at.astimezone(tz).date(), t, lang)
        if note.what in CLOSED_NAMES:
            what = t(CLOSED_NAMES[note.what])
        else:
            what = t("{action} recorded later").format(
                action=t(ACTION_NAMES.get(note.what, note.what))
            )
        out.append(
            "   ↳ "
            + t("{date}: case {number} {what} (the finding stands)").format(
                date=day, number=f"<b>{escape(note.number)}</b>", what=what
            )
        )
    return out


def year_lines(record: YearRecord, policy: Policy, t: Translate, lang: str) -> list[str]:
    """The year's list, heading first."""
    lines = [
        t(
            "<b>A8 findings of the school year {start}–{end}</b> (for the year-end review): {count}"
        ).format(start=record.start.year, end=record.end.year, count=len(record.lines)),
        t("Each is kept as earned; a later return or measure is noted beside it."),
    ]
    if not record.lines:
        lines.append(t("No finding this school year."))
    for line in record.lines:
        lines += [
            " · " + text if i == 0 else text
            for i, text in enumerate(finding_lines(line, policy, t, lang))
        ]
    return lines


def finding_message(line: FindingLine, policy: Policy, t: Translate, lang: str) -> str:
    """The message a new finding sends to the people it names."""
    return "\n".join(
        [t("<b>Accountability finding (Article 8)</b>"), *finding_lines(line, policy, t, lang)]
    )


# --- /accountability -------------------------------------------------------------------------


def render_accountability(
    view: AccountabilityView, page: int, policy: Policy, t: Translate, lang: str
) -> Reply:
    """The school year so far: its findings (the year's record), each frozen month's flags,
    then this month (not frozen)."""
    tz = policy.time.tz
    lines = [
        t("<b>Accountability (Article 8), school year {start}–{end}</b>").format(
            start=view.year_start.year, end=view.year_end.year
        ),
        t("Frozen at each month's end with their evidence; they cannot be changed."),
    ]
    if view.record is not None:
        lines += ["", *year_lines(view.record, policy, t, lang)]
    for month in view.months:
        lines.append("")
        lines.append(
            t("<b>{month}</b> (frozen {when}): {count} flags").format(
                month=_month_name(month, t),
                when=format_when(month.frozen_at.astimezone(tz), t, lang),
                count=len(month.flags),
            )
        )
        lines += [" · " + frozen_flag_text(f, t) for f in month.flags]
    lines.append("")
    lines.append(
        t("<b>This month so far</b> (not frozen yet, as of {when}): {count} flags").format(
            when=format_when(view.now.astimezone(tz), t, lang), count=len(view.flags)
        )
    )
    lines += [" · " + flag_text(f, view.unit_names, t) for f in view.flags]
    chunks = _pages(lines)
    page = min(max(page, 0), len(chunks) - 1)
    nav = nav_row(t, page, len(chunks), "acc:")
    text = chunks[page]
    if len(chunks) > 1:
        text += "\n" + t("Page {page} of {pages}").format(page=page + 1, pages=len(chunks))
    return Reply(text, (nav,) if nav else ())


def _month_name(month: FrozenMonth, t: Translate) -> str:
    year, number = month.period.split("-")
    return t("{year}-{month}").format(year=year, month=int(number))


def _pages(lines: Sequence[str], limit: int = 3800) -> list[str]:
    out: list[list[str]] = [[]]
    size = 0
    for line in lines:
        if out[-1] and size + len(line) + 1 > limit:
            out.append([])
            size = 0
        out[-1].append(line[:limit])
        size += len(line) + 1
    return [fit(chunk) for chunk in out]


__all__ = [
    "CASES_SHOWN",
    "CLOSED_NAMES",
    "RANK_NAMES",
    "finding_lines",
    "finding_message",
    "flag_text",
    "frozen_flag_text",
    "named_text",
    "render_accountability",
    "warning_digest",
    "warning_text",
    "year_lines",
]
