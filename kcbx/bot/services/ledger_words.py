"""The ledger's words: what the codes of a case's record mean, in the reader's language.

A case's actions keep codes (``outcome: refused``, ``met: guardians``, ``cause:
parents_unwilling``, ``rule: A7.1``); a county's ledger says them in the measures' words
(劝返无果, 见到监护人, 家长不愿送学, 第七条). Everything here is pure: records in, text out. A
code this module does not know is left out rather than printed as a code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from kcbx.bot.documents.ledger import ActionRow, FlagLine
from kcbx.bot.domain.a8.rules import CONSEQUENCES, LEVEL_NAMES, Level, Rule
from kcbx.bot.domain.caseactions import ACTION_NAMES
from kcbx.bot.domain.glossary import ARTICLES
from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.domain.ladder.state import ActionKind
from kcbx.bot.domain.policy.tree import CAUSES, DEPARTMENTS
from kcbx.bot.domain.roles import ROLE_LABELS, Role
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.caseviews import Counts
from kcbx.bot.services.visits import MET, OUTCOMES
from kcbx.storage.reports_repo import ActionRecord, CaseRow

DAY_PATTERN = N_("YYYY-MM-DD")  # zh_CN: YYYY年M月D日
MONTH_PATTERN = N_("YYYY-MM")  # zh_CN: YYYY年M月

ARTICLE_OF = re.compile(r"^A(\d{1,2})(?:\.\d+)?$")

CATEGORY: dict[bool, str] = {True: N_("dropout"), False: N_("suspected dropout")}
STATUS: dict[str, str] = {
    "returned": N_("closed: back at school"),
    "exempt": N_("closed: exempt from school (Article 3)"),
    "transferred": N_("closed: transferred"),
}
RULE_WORDS: dict[str, str] = {
    Rule.ATTRITION: N_("bureau: attrition over the threshold"),
    Rule.PRIMARY: N_("primary school: a dropout without persuasion"),
    Rule.JUNIOR: N_("junior middle school: dropouts without persuasion"),
    Rule.TOWNSHIP: N_("township: a school with more than two dropouts"),
    Rule.DEPARTMENT: N_("department: more than two dropouts in its area"),
}


@dataclass(frozen=True)
class FlagRow:
    """A flag in the ledger: frozen (its month) or this month's, live (period "")."""

    period: str
    rule: str
    unit: str
    level: str
    cases: tuple[str, ...]


def day_text(day: date, t: Translate) -> str:
    """``2024年3月4日`` (2024-03-04 in English)."""
    return _pattern(t(DAY_PATTERN), day.year, day.month, day.day)


def month_text(period: str, t: Translate) -> str:
    """``2024年3月`` from ``2024-03``."""
    try:
        year, month = (int(part) for part in period.split("-"))
    except ValueError:
        return period
    return _pattern(t(MONTH_PATTERN), year, month, 1)


def _pattern(pattern: str, year: int, month: int, day: int) -> str:
    text = pattern.replace("YYYY", f"{year:04d}")
    text = text.replace("MM", f"{month:02d}").replace("DD", f"{day:02d}")
    return text.replace("M", str(month)).replace("D", str(day))


def article(rule: str | None, t: Translate) -> str:
    """``第七条`` for A7.1 (Article 7 in English); empty for no rule or an unknown one."""
    match = ARTICLE_OF.match(rule or "")
    if match is None or int(match.group(1)) not in ARTICLES:
        return ""
    return t(ARTICLES[int(match.group(1))])


def _named(table: dict[str, str], code: Any, t: Translate) -> str:
    return t(table[code]) if isinstance(code, str) and code in table else ""


def detail_text(detail: dict[str, Any], t: Translate) -> str:
    """What an action's detail says, in words: who was met, the outcome, the documents."""
    parts: list[str] = []
    department = _named(DEPARTMENTS, detail.get("department"), t)
    if department:
        parts.append(department)
    met = _named(MET, detail.get("met"), t)
    if met:
        parts.append(t("met {who}").format(who=met))
    outcome = _named(OUTCOMES, detail.get("outcome"), t)
    place = detail.get("place")
    if outcome and isinstance(place, str) and place:
        parts.append(t("{outcome}: {place}").format(outcome=outcome, place=place))
    elif outcome:
        parts.append(outcome)
    cause = _named(CAUSES, detail.get("cause"), t) if detail.get("cause") != "unknown" else ""
    if cause:
        parts.append(t("cause found: {cause}").format(cause=cause))
    for key, msgid in (
        ("return_on", N_("return agreed for {date}")),
        ("delivered_on", N_("delivered {date}")),
        ("deadline", N_("due {date}")),
    ):
        value = detail.get(key)
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            parts.append(t(msgid).format(date=day_text(date.fromisoformat(value), t)))
    for key, msgid in (
        ("number", N_("document {number}")),
        ("delivered_to", N_("received by {name}")),
        ("new_school", N_("now at {school}")),
    ):
        value = detail.get(key)
        if isinstance(value, str | int) and value != "":
            parts.append(t(msgid).format(number=value, name=value, school=value))
    if isinstance(detail.get("replaced"), str) and isinstance(detail.get("by"), str):
        parts.append(
            t("document {old} replaced by {new}").format(old=detail["replaced"], new=detail["by"])
        )
    note = detail.get("note") or detail.get("text")
    if isinstance(note, str) and note.strip():
        parts.append(note.strip()[:500])
    return t("; ").join(parts)


def _when(instant: datetime, tz: tzinfo, t: Translate) -> str:
    local = instant.astimezone(tz)
    return f"{day_text(local.date(), t)} {local:%H:%M}"


def persuasion_text(actions: Sequence[ActionRecord], tz: tzinfo, t: Translate) -> str:
    """The case's actions, one a line: when, what, who, and what came of it."""
    lines = []
    for record in actions:
        if record.kind == ActionKind.ACKNOWLEDGED:
            continue
        line = t("{when} {what} ({who})").format(
            when=_when(record.at, tz, t),
            what=t(ACTION_NAMES.get(record.kind, N_("note"))),
            who=record.actor_name or "—",
        )
        details = detail_text(record.detail, t)
        lines.append(f"{line}{t(': ')}{details}" if details else line)
    return "\n".join(lines)


def whereabouts(row: CaseRow, actions: Sequence[ActionRecord], t: Translate) -> str:
    """Where the child is: at school, at the new school, where a visit found them, or what
    the cause says (missing, working); empty when nothing is known."""
    if row.status == "returned":
        return t("at school")
    if row.status == "transferred":
        moved = next((a for a in reversed(actions) if a.kind == ActionKind.TRANSFERRED), None)
        school = moved.detail.get("new_school") if moved else None
        return t("now at {school}").format(school=school) if school else t("transferred")
    if row.status != "open":
        return ""
    for record in reversed(actions):
        outcome = record.detail.get("outcome")
        if outcome in ("moved", "working", "nobody_home"):
            place = record.detail.get("place")
            words = t(OUTCOMES[outcome])
            return t("{outcome}: {place}").format(outcome=words, place=place) if place else words
    if row.cause in ("missing", "child_labour"):
        return t(CAUSES[row.cause])
    return ""


def _role(role: str | None, t: Translate) -> str:
    try:
        return t(ROLE_LABELS[Role(role)]) if role else ""
    except ValueError:
        return ""


def action_rows(
    cases: Sequence[tuple[CaseRow, Sequence[ActionRecord], str]], tz: tzinfo, t: Translate
) -> Iterator[ActionRow]:
    """Every action of the cases (case row, its actions, its school's name) as a row, one at
    a time (the workbook writes each as it comes)."""
    for row, actions, school in cases:
        for record in actions:
            yield ActionRow(
                case_number=row.number,
                student=row.student_name,
                school=school,
                at=_naive(record.at, tz),
                action=t(ACTION_NAMES.get(record.kind, N_("note"))),
                article=article(record.rule, t),
                actor=record.actor_name,
                role=_role(record.actor_role, t),
                recorded_at=_naive(record.recorded_at, tz),
                details=detail_text(record.detail, t),
            )


def _naive(instant: datetime, tz: tzinfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)


def flag_text(rule: str, period: str, t: Translate) -> str:
    """``第八条：乡镇辖区学校辍学超过两名（2024年3月）`` for a case's flag."""
    words = _named(RULE_WORDS, rule, t)
    if period:
        return t("{article}: {rule} ({month})").format(
            article=article(rule, t), rule=words, month=month_text(period, t)
        )
    return t("{article}: {rule} (this month)").format(article=article(rule, t), rule=words)


def flag_lines(flags: Sequence[FlagRow], t: Translate) -> list[FlagLine]:
    out = []
    for flag in flags:
        try:
            rule, level = Rule(flag.rule), Level(flag.level)
        except ValueError:
            continue
        out.append(
            FlagLine(
                period=month_text(flag.period, t) if flag.period else "",
                article=article(flag.rule, t),
                rule=t(RULE_WORDS[rule]),
                unit=flag.unit,
                level=t(LEVEL_NAMES[level]),
                consequence=t(CONSEQUENCES[(rule, level)]),
                cases=t(", ").join(flag.cases),
            )
        )
    return out


def notes_of(
    services: Services, place: str, exported_by: str, cases: int, counts: Counts, t: Translate
) -> list[tuple[str, str | datetime]]:
    """The notes sheet: scope, time, who, counts and what the words mean."""
    day = services.policy.ladder.dropout_day
    return [
        (t("Scope"), place),
        (t("Exported at"), _naive(services.clock.now(), services.policy.time.tz)),
        (t("Exported by"), exported_by),
        (t("Cases"), str(cases)),
        (t("Open cases"), str(counts.open)),
        (t("Dropouts (open)"), str(counts.dropout)),
        (t("Suspected dropouts (open)"), str(counts.suspected)),
        (t("Notices to enrol issued (open)"), str(counts.notice)),
        (t("Back at school this school year"), str(counts.returned)),
        (
            t("Ledger"),
            t(
                "every case of this school year from its report, one row per child per case: "
                "open, back at school (also before day {day}) or closed otherwise"
            ).format(day=day),
        ),
        (
            t("Dropout"),
            t("a case that reached day {day} (Article 7: the dropout mark)").format(day=day),
        ),
        (t("Suspected dropout"), t("a case before day {day} (Article 7)").format(day=day)),
    ]
