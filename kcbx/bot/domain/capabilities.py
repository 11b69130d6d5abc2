"""The command menu: which commands each role sees, in which language, and the keyboard."""

from __future__ import annotations

from dataclasses import dataclass

from kcbx.bot.domain.i18n import LANGUAGES, N_, Translate, translator
from kcbx.bot.domain.roles import Role

ALL = frozenset(Role)


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # msgid
    roles: frozenset[Role] = ALL
    button: str | None = None  # msgid of its main-keyboard label, if it has one


# Order is the order of the menu and of /help. Features add their commands here.
COMMANDS: list[Command] = [
    Command("help", N_("What I can do for you")),
    Command("lang", N_("Switch language (中文 / English)")),
    Command("invite", N_("Invite a person: /invite ROLE UNIT [NAME]"), frozenset({Role.ADMIN})),
    Command("revoke", N_("Revoke a person: /revoke PHONE"), frozenset({Role.ADMIN})),
    Command("import", N_("Import a roster: send the .xlsx or .csv file"), frozenset({Role.ADMIN})),
    Command("audit", N_("Who did or saw what of a student: /audit ID"), frozenset({Role.ADMIN})),
    Command(  # class teachers (their classes), principals and leads (their school)
        "report",
        N_("Report a student absent without reason"),
        frozenset({Role.CLASS_TEACHER, Role.PRINCIPAL, Role.SCHOOL_LEAD}),
        button=N_("Report absence"),
    ),
    Command("cases", N_("My open cases and their deadlines"), button=N_("My cases")),
    Command("find", N_("Find a student or case: /find NAME, initials or case number")),
    Command(  # A7.4, A7.5
        "notices",
        N_("Notices to enrol and orders to correct: issue, delivery, documents"),
        frozenset({Role.BUREAU_STAFF, Role.TOWNSHIP_LEADER, Role.TOWNSHIP_CADRE}),
    ),
    Command(  # what was done on a case (A7.1, A7.2, A5.1, A6)
        "visit",
        N_("Record a call, a home visit or an action on a case"),
        frozenset(
            {
                Role.CLASS_TEACHER,
                Role.PRINCIPAL,
                Role.SCHOOL_LEAD,
                Role.GROUP_CADRE,
                Role.VILLAGE_CADRE,
                Role.TOWNSHIP_CADRE,
                Role.TOWNSHIP_LEADER,
                Role.BUREAU_STAFF,
                Role.DEPARTMENT_LIAISON,
            }
        ),
        button=N_("Record a visit"),
    ),
    Command(  # a department's referrals (A6, A9)
        "inbox",
        N_("Cases referred to my department"),
        frozenset({Role.DEPARTMENT_LIAISON}),
        button=N_("Referrals"),
    ),
    Command(  # the 三包 chain's gaps and loads (A5.1)
        "coverage",
        N_("三包 coverage: households without a cadre, cadres with too many"),
        frozenset({Role.TOWNSHIP_LEADER, Role.BUREAU_STAFF, Role.DISTRICT_LEADER, Role.ADMIN}),
    ),
    Command(  # A3
        "exempt",
        N_("Close a case as exempt (A3), with evidence"),
        frozenset({Role.BUREAU_STAFF}),
    ),
    Command(
        "transfer",
        N_("Close a case: the child is enrolled at another school"),
        frozenset({Role.BUREAU_STAFF, Role.PRINCIPAL, Role.SCHOOL_LEAD, Role.CLASS_TEACHER}),
    ),
    Command(  # leaders' summary of their scope, with drill-down and chart
        "summary",
        N_("Summary of my district, township or school"),
        frozenset(
            {
                Role.ADMIN,
                Role.DISTRICT_LEADER,
                Role.BUREAU_STAFF,
                Role.TOWNSHIP_LEADER,
                Role.PRINCIPAL,
                Role.SCHOOL_LEAD,
            }
        ),
        button=N_("Summary"),
    ),
    Command(  # the ledger (台账) as Excel
        "export",
        N_("The dropout ledger of my scope as an Excel file"),
        frozenset(
            {
                Role.ADMIN,
                Role.DISTRICT_LEADER,
                Role.BUREAU_STAFF,
                Role.TOWNSHIP_LEADER,
                Role.PRINCIPAL,
                Role.SCHOOL_LEAD,
            }
        ),
    ),
    Command(  # A8, the school year so far
        "accountability",
        N_("Accountability flags (A8) of the school year"),
        frozenset({Role.ADMIN, Role.DISTRICT_LEADER, Role.BUREAU_STAFF}),
    ),
]

STRANGER_COMMANDS = [Command("start", N_("Start with your invitation link")), COMMANDS[0]]


def commands_for(role: Role | None) -> list[Command]:
    if role is None:
        return STRANGER_COMMANDS
    return [c for c in COMMANDS if role in c.roles]


def keyboard_rows(role: Role, gettext: Translate) -> list[list[str]]:
    """The main reply keyboard: the role's buttons, two a row."""
    labels = [gettext(c.button) for c in commands_for(role) if c.button]
    return [labels[i : i + 2] for i in range(0, len(labels), 2)]


def button_labels(name: str) -> list[str]:
    """A command's keyboard label in every language (to route a pressed button)."""
    for command in COMMANDS:
        if command.name == name and command.button:
            return sorted({translator(lang)(command.button) for lang in LANGUAGES})
    return []
