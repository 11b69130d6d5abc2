"""Showing the policy: the effective ladder and tables, one fact a line
(``kcbx policy check``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from pathlib import Path
from typing import TypeVar

from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.domain.policy.reading import PolicyError, load_policy, number_text
from kcbx.bot.domain.policy.tree import CAUSES, DEFAULTS, DEPARTMENTS, DayCounting, Policy

T = TypeVar("T")

_MODE_NAMES = {
    DayCounting.CALENDAR: N_("calendar days"),
    DayCounting.SCHOOL_DAYS: N_("school days (no weekends, public holidays or vacations)"),
}


def _hm(value: time) -> str:
    return value.strftime("%H:%M")


def render_policy(policy: Policy, gettext: Translate) -> str:
    """The effective ladder and tables, one fact a line, for ``kcbx policy check``."""
    return "\n".join([*_ladder_lines(policy, gettext), *_table_lines(policy, gettext)])


def _ladder_lines(policy: Policy, gettext: Translate) -> list[str]:
    t = gettext
    ladder, reminders, times = policy.ladder, policy.reminders, policy.time
    return [
        t("Policy: {source}").format(
            source=t(N_("built-in defaults")) if policy.source == DEFAULTS else policy.source
        ),
        t("Days are counted as: {mode}").format(mode=t(_MODE_NAMES[ladder.day_counting])),
        t(
            "Business day {start}-{end} ({zone}); no reminders from {quiet_start} to {quiet_end}"
        ).format(
            start=_hm(times.business_day_start),
            end=_hm(times.business_day_end),
            zone=times.zone,
            quiet_start=_hm(reminders.quiet_start),
            quiet_end=_hm(reminders.quiet_end),
        ),
        t(
            "A7.1 class teacher: phone the guardians within {hours} h of the report; "
            "home visit within {days} days"
        ).format(hours=number_text(ladder.call_within_hours), days=ladder.visit_within_days),
        t("A7.2 day {day}: the school organises a persuasion team").format(
            day=ladder.persuasion_day
        ),
        t(
            "A7.3 day {day}: dropout mark in the student registry, report to the education "
            "bureau and the township, joint persuasion with the departments"
        ).format(day=ladder.dropout_day),
        t(
            "A7.4 day {day}: notice to enrol by a deadline, delivered within {delivery} days; "
            "its deadline is {deadline} days after delivery"
        ).format(
            day=ladder.notice_day,
            delivery=ladder.notice_delivery_days,
            deadline=ladder.notice_deadline_days,
        ),
        t(
            "A7.5 when the notice's deadline passes: reprimand and order to correct "
            "within {days} days"
        ).format(days=ladder.correction_deadline_days),
        t("A7.6 the child is back at school: the case closes"),
        t("Relapse: a new absence within {days} days of a return continues the ladder").format(
            days=ladder.relapse_window_days
        ),
        t(
            "Reminders: again after {again} h without acknowledgement or action; "
            "to the supervisor after another {escalate} h"
        ).format(
            again=number_text(reminders.re_remind_hours),
            escalate=number_text(reminders.escalate_hours),
        ),
    ]


def _table_lines(policy: Policy, gettext: Translate) -> list[str]:
    t = gettext
    sep = t(", ")
    acc, validity = policy.accountability, policy.validity
    lines = [t("A6 causes and the departments brought in at A7.3:")]
    for cause, departments in policy.departments.routing:
        names = sep.join(t(DEPARTMENTS[d]) for d in departments)
        lines.append(
            "  " + t("{name}: {departments}").format(name=t(CAUSES[cause]), departments=names)
        )
    relief = sep.join(t(DEPARTMENTS[d]) for d in policy.departments.a9_relief)
    lines += [
        t("A9 vulnerable students: from day 0 bring in {departments}").format(
            departments=relief or "-"
        ),
        t("A8 school year starts on {start}; education bureau: attrition above {percent}%").format(
            start=acc.school_year_start, percent=number_text(acc.attrition_percent)
        ),
        t(
            "A8 flags a primary school at {primary} and a junior middle school at {junior} "
            "dropouts without persuasion"
        ).format(primary=acc.primary_dropouts, junior=acc.junior_dropouts),
        t(
            "A8 township above {township} or department above {department} dropouts: "
            "admonitory talk at month {talk}, public reprimand at month {reprimand}, "
            "sanction at month {sanction}"
        ).format(
            township=acc.township_dropouts_over,
            department=acc.department_dropouts_over,
            talk=acc.talk_after_months,
            reprimand=acc.reprimand_after_months,
            sanction=acc.sanction_after_months,
        ),
        t("A10 in force {start} to {end}; administrators are warned from {warn}").format(
            start=validity.in_force_from.isoformat(),
            end=validity.ends_on.isoformat(),
            warn=validity.warn_from.isoformat(),
        ),
        t("Notice numbers look like {example}").format(
            example=policy.notice.number(validity.in_force_from.year, 1)
        ),
        t("A group cadre covers at most {count} households").format(
            count=policy.cadres.max_households_per_group_cadre
        ),
        t("A5.1 at A7.3 the household's contact-duty chain visits within {days} days").format(
            days=policy.cadres.visit_within_days
        ),
        t("Term starts: {dates}").format(
            dates=sep.join(d.isoformat() for d in policy.school.term_starts) or "-"
        ),
        t("School vacations:"),
    ]
    lines += [
        f"  {v.start.isoformat()} - {v.end.isoformat()} {v.name}".rstrip()
        for v in policy.school.vacations
    ]
    return lines


def check_policy_file(path: Path, gettext: Translate) -> tuple[int, str]:
    """Check a policy file for ``kcbx policy check FILE``.

    Returns:
        The exit code and the text to print: 0 and the effective ladder when the file is good;
        1 and every problem (dotted key: why) when it has bad values; 2 when it cannot be read
        or is not TOML.
    """
    return check_file(path, load_policy, render_policy, gettext)


def check_file(
    path: Path, load: Callable[[Path], T], render: Callable[[T, Translate], str], gettext: Translate
) -> tuple[int, str]:
    """``render`` of what ``load`` reads from the file (exit code 0), or its problems: 1 for
    bad values, 2 when it cannot be read or is not TOML."""
    try:
        loaded = load(path)
    except PolicyError as error:
        heading = gettext("The policy file {source} has problems:").format(source=error.source)
        return (2 if error.unreadable else 1), heading + "\n" + error.render(gettext)
    return 0, render(loaded, gettext)


__all__ = ["check_file", "check_policy_file", "render_policy"]
