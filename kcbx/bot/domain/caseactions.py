"""What a press on a case's button means, pure: the one-press action of each task, who may
record it, the callback data of the reminder buttons, and the names of actions.

The sweep's renderer labels a reminder's buttons with :func:`reminder_buttons`; the handlers
in ``kcbx/handlers/cases.py`` read them back with :func:`parse_callback` and the services in
``kcbx/bot/services/cases.py`` check :func:`may_record` before anything is written.

Callback data (always < 64 bytes, and forgeable: every handler re-checks scope):

* ``ack:{case_id}:{task_code}``: "Received" (an ``acknowledged`` action, detail task=code);
* ``do:{case_id}:{task_code}``: the task's one-press action (:func:`one_press_action`);
* ``cal:{case_id}:{outcome}``: the phone call, with what it came to (reached and agreed,
  refused or undecided; not reached): the one question that makes a call evidence (A7.1);
* ``vis:{case_id}``: record a home visit (A7.1; the visits feature asks for the details);
* ``fu:{case_id}:{task_code}:{outcome}``: an A4.2 check-in after a return, with what it came
  to (:data:`~kcbx.bot.domain.ladder.follow_up.FOLLOW_UP_OUTCOMES`), one tap;
* ``snz:{case_id}:{task_code}:{l|m}``: "remind me later" (two working hours, or the next
  working morning), limited per task;
* ``ret:{case_id}``: "Back at school" (A7.6); ``ret:{case_id}:y`` confirms it, ``:n`` not;
* ``case:{case_id}``: open the case card.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kcbx.bot.domain.capabilities import SCHOOL_STAFF, roles_of
from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.domain.ladder.follow_up import FOLLOW_UP_OUTCOMES, is_follow_up
from kcbx.bot.domain.ladder.state import ActionKind, TaskCode
from kcbx.bot.domain.roles import CADRE_ROLES, Role

SCHOOL_LEADERS = frozenset({Role.PRINCIPAL, Role.SCHOOL_LEAD})
# Who reports an absence: class teachers (their classes), principals and leads.
REPORTERS = roles_of("report")
# Who confirms a return (A7.6): the class teacher or the school.
RETURN_CONFIRMERS = SCHOOL_STAFF

# The task a button may record, by task code (A7.1-A7.3); department tasks: see below.
_ONE_PRESS: dict[str, ActionKind] = {
    TaskCode.CALL: ActionKind.PHONE_CALL,
    TaskCode.PERSUASION: ActionKind.PERSUASION,
    TaskCode.MARK: ActionKind.REGISTRY_MARK,
    TaskCode.REPORT: ActionKind.REPORTED_UP,
    TaskCode.JOINT: ActionKind.JOINT_PERSUASION,
}

# Who may record a task's action. A7.1 is the class teacher's (the school may record it
# too); A7.2 and the A7.3 mark and report are the school's; A7.3 joint persuasion is
# organised by the bureau and the township. A home visit may be made by the 三包 cadres too.
_RECORDERS: dict[str, frozenset[Role]] = {
    TaskCode.CALL: SCHOOL_STAFF,
    TaskCode.VISIT: SCHOOL_STAFF | CADRE_ROLES | {Role.TOWNSHIP_LEADER},
    TaskCode.PERSUASION: SCHOOL_LEADERS,
    TaskCode.MARK: SCHOOL_LEADERS,
    TaskCode.REPORT: SCHOOL_LEADERS,
    TaskCode.JOINT: frozenset({Role.BUREAU_STAFF, Role.TOWNSHIP_LEADER}),
}

# A6/A9 department codes that are not a department unit, and who acts for them.
_DEPARTMENT_RECORDERS: dict[str, frozenset[Role]] = {
    "school": SCHOOL_LEADERS,
    "township": frozenset({Role.TOWNSHIP_LEADER, Role.TOWNSHIP_CADRE}),
    "education_bureau": frozenset({Role.BUREAU_STAFF}),
}

# Button labels of the one-press actions (msgids).
DO_LABELS: dict[str, str] = {
    ActionKind.PHONE_CALL: N_("Guardians phoned"),
    ActionKind.PERSUASION: N_("Persuasion done"),
    ActionKind.REGISTRY_MARK: N_("Dropout mark made"),
    ActionKind.REPORTED_UP: N_("Reported up"),
    ActionKind.JOINT_PERSUASION: N_("Joint persuasion done"),
    ActionKind.DEPARTMENT_ACTION: N_("Our department acted"),
}
FOLLOW_UP_LABEL = N_("Record the check-in")
RECEIVED_LABEL = N_("Received")
VISIT_LABEL = N_("Record a home visit")
RETURN_LABEL = N_("Back at school")
CASE_LABEL = N_("Open the case")

# What each kind of action is called in a case's history (msgids).
ACTION_NAMES: dict[str, str] = {
    ActionKind.PHONE_CALL: N_("phoned the guardians"),
    ActionKind.HOME_VISIT: N_("home visit"),
    ActionKind.PERSUASION: N_("school persuasion"),
    ActionKind.REGISTRY_MARK: N_("dropout mark in the student registry"),
    ActionKind.REPORTED_UP: N_("reported to the education bureau and the township"),
    ActionKind.JOINT_PERSUASION: N_("joint persuasion"),
    ActionKind.DEPARTMENT_ACTION: N_("department action"),
    ActionKind.NOTICE_ISSUED: N_("notice to enrol by a deadline issued"),
    ActionKind.NOTICE_DELIVERED: N_("notice to enrol by a deadline delivered"),
    ActionKind.CORRECTION_ORDERED: N_("reprimand and order to correct"),
    ActionKind.RETURNED: N_("back at school"),
    ActionKind.EXEMPTED: N_("exempted"),
    ActionKind.TRANSFERRED: N_("transferred"),
    ActionKind.ACKNOWLEDGED: N_("received a reminder"),
    ActionKind.NOTE: N_("note"),
}

# What the guardians said when phoned at the report (cases.guardian_contact), by code.
CONTACTS: dict[str, str] = {
    "agreed": N_("Reached: they agreed to send the child back"),
    "refused": N_("Reached: they refused"),
    "unreached": N_("Phoned, not reached"),
    "notyet": N_("Not phoned yet"),
}
REACHED = frozenset({"agreed", "refused"})  # a phone call that counts for A7.1
# The same answers inside a line that has its own colon ("电话联系监护人：已联系上，拒绝返校").
CONTACT_RESULTS: dict[str, str] = {
    "agreed": N_("reached, they agreed to send the child back"),
    "refused": N_("reached, they refused"),
    "unreached": N_("phoned, not reached"),
    "notyet": N_("not phoned yet"),
}

Buttons = tuple[tuple[tuple[str, str], ...], ...]  # an inline keyboard: rows of (label, data)

# What a phone call came to (the ``cal:`` buttons; ``actions.detail.outcome``), one tap each.
CALL_OUTCOMES: dict[str, str] = {
    "agreed": N_("Reached: they will send the child back"),
    "refused": N_("Reached: they refuse"),
    "undecided": N_("Reached: not decided yet"),
    "unreached": N_("Not reached"),
}
CALL_QUESTION = N_("Did you reach the guardians? What did they say?")

_CODE = r"[A-Za-z0-9._-]{1,40}"
_CALLBACK = re.compile(rf"^(ack|do|cal|vis|ret|case):(\d{{1,12}})(?::({_CODE}))?$")
_SNOOZE = re.compile(rf"^snz:(\d{{1,12}}):({_CODE}):([lm])$")
_FOLLOW_UP = re.compile(rf"^fu:(\d{{1,12}}):({_CODE}):([a-z]{{1,12}})$")
CALLBACK_PATTERN = r"^(ack|do|cal|fu|snz|ret|case):"  # what kcbx/handlers/cases.py answers
SNOOZE_LATER, SNOOZE_MORNING = "l", "m"  # in two working hours; the next working morning
SNOOZE_LABELS = {
    SNOOZE_LATER: N_("Remind me in 2 hours"),
    SNOOZE_MORNING: N_("Remind me tomorrow morning"),
}


@dataclass(frozen=True)
class CaseCallback:
    """A parsed case button: the verb, the case and the task code (``y``/``n`` for ret)."""

    verb: str
    case_id: int
    arg: str | None = None
    option: str | None = None  # snz: SNOOZE_LATER or SNOOZE_MORNING


def department_of(task_code: str) -> str | None:
    """The department code of an A6/A9 task (``A6-public_security`` -> ``public_security``)."""
    for prefix in ("A6-", "A9-"):
        if task_code.startswith(prefix) and len(task_code) > len(prefix):
            return task_code[len(prefix) :]
    return None


def one_press_action(task_code: str) -> ActionKind | None:
    """The action a single press records for a task (None: it needs more, e.g. a visit)."""
    if department_of(task_code) is not None:
        return ActionKind.DEPARTMENT_ACTION
    if is_follow_up(task_code):  # A4.2: a check-in call, with what it came to
        return ActionKind.PHONE_CALL
    return _ONE_PRESS.get(task_code)


def may_record(role: Role, task_code: str, unit_department: str | None = None) -> bool:
    """Whether a person of ``role`` may record the action of ``task_code``.

    Args:
        role: the person's role (their scope is checked separately).
        task_code: the task (``A7.2``, ``A6-justice``...).
        unit_department: the department code of a liaison's unit; a liaison records only
            their own department's task (A6).
    """
    department = department_of(task_code)
    if is_follow_up(task_code):  # A4.2: the class teacher, or the school
        return role in SCHOOL_STAFF
    if department is None:
        return role in _RECORDERS.get(task_code, frozenset())
    if department in _DEPARTMENT_RECORDERS:
        return role in _DEPARTMENT_RECORDERS[department]
    return role == Role.DEPARTMENT_LIAISON and unit_department == department


def may_report(role: Role) -> bool:
    return role in REPORTERS


def may_confirm_return(role: Role) -> bool:
    """A7.6: the class teacher or the school confirms that the child is back."""
    return role in RETURN_CONFIRMERS


def _data(*parts: object) -> str:
    data = ":".join(str(p) for p in parts)
    if len(data.encode("utf-8")) >= 64:
        raise ValueError(f"callback_data too long: {data!r}")
    return data


def ack_data(case_id: int, task_code: str) -> str:
    return _data("ack", case_id, task_code)


def do_data(case_id: int, task_code: str) -> str:
    return _data("do", case_id, task_code)


def call_data(case_id: int, outcome: str) -> str:
    return _data("cal", case_id, outcome)


def call_buttons(case_id: int, gettext: Translate) -> Buttons:
    """The answers to :data:`CALL_QUESTION`, one a row."""
    return tuple(
        ((gettext(label), call_data(case_id, code)),) for code, label in CALL_OUTCOMES.items()
    )


def follow_up_data(case_id: int, task_code: str, outcome: str) -> str:
    return _data("fu", case_id, task_code, outcome)


def follow_up_buttons(case_id: int, task_code: str, gettext: Translate) -> Buttons:
    """The answers to the A4.2 check-in's question, one a row."""
    return tuple(
        ((gettext(label), follow_up_data(case_id, task_code, code)),)
        for code, label in FOLLOW_UP_OUTCOMES.items()
    )


def snooze_data(case_id: int, task_code: str, option: str) -> str:
    return _data("snz", case_id, task_code, option)


def snooze_row(case_id: int, task_code: str, gettext: Translate) -> tuple[tuple[str, str], ...]:
    """The "remind me later" buttons of a reminder (offered while the limit allows)."""
    return tuple(
        (gettext(label), snooze_data(case_id, task_code, option))
        for option, label in SNOOZE_LABELS.items()
    )


def visit_data(case_id: int) -> str:
    return _data("vis", case_id)


def return_data(case_id: int, answer: str | None = None) -> str:
    """``ret:{id}`` asks; ``answer`` "y" confirms the return, "n" leaves the case open."""
    return _data("ret", case_id, answer) if answer else _data("ret", case_id)


def not_back_data(case_id: int) -> str:
    """``rck:{id}``: "Not back" on the morning check of an agreed return (A7.6)."""
    return _data("rck", case_id)


def case_data(case_id: int) -> str:
    return _data("case", case_id)


def parse_callback(data: str | None) -> CaseCallback | None:
    """Read a case button's data; None for anything malformed (a forged or stale press)."""
    snoozed = _SNOOZE.match(data or "")
    if snoozed is not None:
        return CaseCallback("snz", int(snoozed.group(1)), snoozed.group(2), snoozed.group(3))
    checked = _FOLLOW_UP.match(data or "")
    if checked is not None:
        code, outcome = checked.group(2), checked.group(3)
        if not is_follow_up(code) or outcome not in FOLLOW_UP_OUTCOMES:
            return None
        return CaseCallback("fu", int(checked.group(1)), code, outcome)
    match = _CALLBACK.match(data or "")
    if match is None:
        return None
    verb, case_id, arg = match.groups()
    if verb in ("ack", "do") and arg is None:
        return None
    if verb == "cal" and arg not in CALL_OUTCOMES:
        return None
    if verb in ("vis", "case") and arg is not None:
        return None
    if verb == "ret" and arg not in (None, "y", "n"):
        return None
    return CaseCallback(verb, int(case_id), arg)


def action_button(case_id: int, task_code: str, gettext: Translate) -> tuple[str, str] | None:
    """The button that records a task: its one-press action, or a home visit (A7.1)."""
    if task_code == TaskCode.VISIT or task_code.endswith("-visit"):  # A7.1, the 三包 chain
        return gettext(VISIT_LABEL), visit_data(case_id)
    if is_follow_up(task_code):  # A4.2: asks what the check-in came to
        return gettext(FOLLOW_UP_LABEL), do_data(case_id, task_code)
    kind = one_press_action(task_code)
    if kind is None:
        return None
    return gettext(DO_LABELS[kind]), do_data(case_id, task_code)


def reminder_buttons(
    case_id: int, task_code: str, gettext: Translate, *, can_return: bool = True
) -> Buttons:
    """The inline buttons of a reminder about one task (for an ``OutgoingMessage``).

    Row 1: "Received" and the task's action (if a press can record it). Row 2: "Back at
    school" (A7.6; only for the school's people: ``can_return``) and "Open the case".
    """
    first: list[tuple[str, str]] = [(gettext(RECEIVED_LABEL), ack_data(case_id, task_code))]
    action = action_button(case_id, task_code, gettext)
    if action is not None:
        first.append(action)
    second: list[tuple[str, str]] = []
    if can_return:
        second.append((gettext(RETURN_LABEL), return_data(case_id)))
    second.append((gettext(CASE_LABEL), case_data(case_id)))
    return (tuple(first), tuple(second))


def without(rows: Sequence[Sequence[tuple[str, str]]], *drop: str) -> Buttons:
    """The rows with the buttons whose data is in ``drop`` removed (empty rows too)."""
    kept = (tuple(b for b in row if b[1] not in drop) for row in rows)
    return tuple(row for row in kept if row)


__all__ = [
    "ACTION_NAMES",
    "CALLBACK_PATTERN",
    "CALL_OUTCOMES",
    "CALL_QUESTION",
    "CONTACTS",
    "DO_LABELS",
    "FOLLOW_UP_LABEL",
    "REACHED",
    "SNOOZE_LATER",
    "SNOOZE_MORNING",
    "CaseCallback",
    "ack_data",
    "action_button",
    "call_buttons",
    "call_data",
    "case_data",
    "department_of",
    "do_data",
    "follow_up_buttons",
    "follow_up_data",
    "may_confirm_return",
    "may_record",
    "may_report",
    "one_press_action",
    "parse_callback",
    "reminder_buttons",
    "return_data",
    "snooze_data",
    "snooze_row",
    "visit_data",
    "without",
]
