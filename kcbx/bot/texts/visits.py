"""The texts of recording a visit (A7.1, A7.2, A5.1, A6): the answers so far, the record to
confirm, what is said once it is saved, and a recorded visit in one line.

Pure: each takes the person's ``gettext`` and language; user text is escaped here.
"""

from __future__ import annotations

from datetime import tzinfo
from html import escape

from kcbx.bot.domain.dates import format_date
from kcbx.bot.domain.i18n import Translate
from kcbx.bot.domain.model import Action, Case, Student
from kcbx.bot.domain.policy.tree import CAUSES, DEPARTMENTS, Policy
from kcbx.bot.services.visits import (
    KINDS,
    MET,
    OUTCOMES,
    VisitDraft,
    VisitLocation,
    VisitPlace,
    VisitResult,
)
from kcbx.bot.texts.cases import case_heading


def kind_question(case: Case, student: Student, correcting: bool, t: Translate) -> str:
    """The first question: what was done on the case (again, for a correction)."""
    text = t("Case <b>{number}</b>: <b>{name}</b>. What did you do?").format(
        number=escape(case.number), name=escape(student.name)
    )
    if correcting:
        text += "\n" + t(
            "Enter the record again as it should be. It will replace your last one in the "
            "ladder; both stay in the history."
        )
    return text


def with_progress(draft: VisitDraft, question: str, t: Translate, lang: str) -> str:
    """The next question under the answers so far (in italics)."""
    done = progress_line(draft, t, lang)
    return f"<i>{done}</i>\n{question}" if done else question


def not_back_noted(case: Case, student: Student, t: Translate) -> str:
    """After "Not back" on a return check."""
    return t(
        "Noted: <b>{name}</b> is not back (case <b>{number}</b>). Please call or visit again."
    ).format(name=escape(student.name), number=escape(case.number))


def progress_line(draft: VisitDraft, t: Translate, lang: str) -> str:
    """The answers so far, on one line (shown above the next question; escaped)."""
    parts: list[str] = []
    if draft.corrects_id is not None:
        parts.append(t("correction"))
    if draft.kind:
        parts.append(t(KINDS[draft.kind]))
    if draft.on:
        parts.append(format_date(draft.on, t, lang))
    if draft.met:
        parts.append(t(MET[draft.met]))
    if draft.outcome:
        parts.append(t(OUTCOMES[draft.outcome]))
    if draft.return_on:
        parts.append(format_date(draft.return_on, t, lang))
    if draft.place:
        parts.append(escape(draft.place))
    if draft.cause:
        parts.append(t(CAUSES[draft.cause]))
    if draft.location:
        parts.append(t("location"))
    if draft.photos:
        parts.append(t("Photos: {count}").format(count=len(draft.photos)))
    return " · ".join(parts)


def summary_lines(
    draft: VisitDraft,
    case: Case,
    student: Student,
    t: Translate,
    lang: str,
    place: VisitPlace | None = None,
) -> list[str]:
    """The record to confirm, one fact a line (escaped); ``place``: the pin's village."""
    lines = [case_heading(case, student, t)]
    if draft.corrects_id is not None:
        lines.append(t("This record corrects the last one."))
    if draft.kind:
        lines.append(t("What: {kind}").format(kind=t(KINDS[draft.kind])))
    if draft.on:
        lines.append(t("When: {date}").format(date=format_date(draft.on, t, lang)))
    if draft.met:
        lines.append(t("Met: {who}").format(who=t(MET[draft.met])))
    if draft.outcome:
        outcome = t(OUTCOMES[draft.outcome])
        if draft.return_on:
            outcome = t("{outcome} on {date}").format(
                outcome=outcome, date=format_date(draft.return_on, t, lang)
            )
        if draft.place:
            outcome = t("{outcome}: {place}").format(outcome=outcome, place=escape(draft.place))
        lines.append(t("Outcome: {outcome}").format(outcome=outcome))
    if draft.cause:
        lines.append(t("Cause found: {cause}").format(cause=t(CAUSES[draft.cause])))
    if draft.location:
        lines.append(location_line(place, t) if place else t("Location: shared"))
    if draft.photos:
        lines.append(t("Photos: {count}").format(count=len(draft.photos)))
    if draft.note:
        lines.append(t("Note: {note}").format(note=escape(draft.note)))
    return lines


def record_line(action: Action, t: Translate, lang: str, tz: tzinfo) -> str:
    """One recorded visit in a line: date, kind, outcome (for the 三包 chain's message)."""
    detail = action.detail
    text = t("{date}: {kind}").format(
        date=format_date(action.at.astimezone(tz).date(), t, lang),
        kind=t(KINDS.get(action.kind, action.kind)),
    )
    outcome = detail.get("outcome")
    if outcome in OUTCOMES:
        text += t(", ") + t(OUTCOMES[outcome])
    place = detail.get("place")
    if isinstance(place, str) and place:
        text += t(": ") + escape(place)
    return text


def saved_text(result: VisitResult, t: Translate, lang: str) -> str:
    """What the person is told after saving."""
    lines = [
        t("Saved: {kind} on case <b>{number}</b> (<b>{name}</b>).").format(
            kind=t(KINDS[result.action.kind]),
            number=escape(result.case.number),
            name=escape(result.student.name),
        )
    ]
    if result.cause_changed:
        lines.append(
            t("The cause is now: {cause}. The referrals follow it.").format(
                cause=t(CAUSES[result.case.cause])
            )
        )
        if result.rerouted.withdrawn:
            lines.append(
                t("Withdrawn from: {departments}").format(
                    departments=t(", ").join(t(DEPARTMENTS[d]) for d in result.rerouted.withdrawn)
                )
            )
    if result.check_on is not None and result.check_to_me:  # never oneself in the third person
        lines.append(
            t("On {date} I will ask you whether the child is back.").format(
                date=format_date(result.check_on, t, lang)
            )
        )
    elif result.check_on is not None and result.check_to:
        lines.append(
            t("On {date} I will ask {name} whether the child is back.").format(
                date=format_date(result.check_on, t, lang), name=escape(result.check_to)
            )
        )
    return "\n".join(lines)


# --- where a visit was: the village its pin is near ----------------------------------------


def _km(km: float) -> str:
    return f"{km:.1f}" if km < 10 else f"{km:.0f}"


def place_text(place: VisitPlace, t: Translate) -> str:
    """银坪村附近（约0.8公里），是该生所在村; the numbers only where no village has any."""
    if place.village is None:
        return t(
            "shared, but no village on the roster has coordinates to name the place "
            "({lat:.5f}, {lon:.5f})"
        ).format(lat=place.point.latitude, lon=place.point.longitude)
    fields = {"village": escape(place.village), "km": _km(place.km), "home": escape(place.home)}
    if place.own:
        return t("near {village} (about {km} km), the child's own village").format(**fields)
    if place.home:
        return t("near {village} (about {km} km), not the child's village ({home})").format(
            **fields
        )
    return t("near {village} (about {km} km)").format(**fields)


def location_line(place: VisitPlace, t: Translate) -> str:
    """位置：银坪村附近（约0.8公里），是该生所在村."""
    return t("Location: {place}").format(place=place_text(place, t))


def locations_section(
    locations: list[VisitLocation], t: Translate, lang: str, policy: Policy
) -> str | None:
    """The card's record of where each visit was: its date, kind and recorder, then the place."""
    lines = []
    for found in locations:
        action = found.action
        day = action.at.astimezone(policy.time.tz).date()
        lines.append(
            t("{kind} of {date} ({name})").format(
                kind=t(KINDS.get(action.kind, action.kind)),
                date=format_date(day, t, lang),
                name=escape(found.recorder or "—"),
            )
        )
        lines.append(location_line(found.place, t))
    return "\n".join(lines) or None


def map_label(count: int, t: Translate) -> str:
    """The [详情] button that sends the visits' map pins again (at most 12 characters)."""
    return t("Map ({count})").format(count=count)
